// Operations: $SYS topics, Prometheus metrics, health checks and the admin HTTP API.

export { createOpsServer, type OpsServer } from './server.js';
export { prettyLine, prettyLog } from './pretty-log.js';
export { BatchedLog, stdoutLog } from './log-destination.js';
export { SysTopics, SYS_PREFIX } from './sys.js';
export type { HttpOptions, OpsOptions, ReloadResult } from './types.js';
export type { DashboardOptions } from './dashboard/index.js';
