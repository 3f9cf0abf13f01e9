// What an embedding program (or the CLI) hands to createOpsServer(): the $SYS interval, the
// HTTP server's address and admin token, and the callbacks behind the admin API's config and
// reload endpoints. Everything is optional; `{}` publishes $SYS every 10 s and serves no HTTP.

import type { FileAuthStats, LoginGuard } from '../auth/index.js';
import type { DashboardOptions } from './dashboard/index.js';
import type { BridgeStatus } from '../bridge/bridge.js';

export interface HttpOptions {
  /** 0 picks a free port (see OpsServer.address). */
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Bearer token of the admin API (/api/v1/); without one the admin API answers 404. */
  readonly adminToken?: string;
  /** Largest request body accepted (a publish's JSON), bytes. Default 1 MiB. */
  readonly maxBodySize?: number;
  /**
   * Connections open at once. A new one beyond it closes the oldest connection that has no
   * request in progress (or, when every one is busy, is itself closed). Default 64.
   */
  readonly maxConnections?: number;
  /**
   * A connection with nothing sent either way for this long is closed, ms; it bounds the
   * wait for a request's headers and between keep-alive requests too. Default 10,000.
   */
  readonly idleTimeout?: number;
  /** The web dashboard at `/` (docs/dashboard.md); on by default. */
  readonly dashboard?: DashboardOptions;
}

/** The ops HTTP server's connections, for /metrics. */
export interface HttpConnectionStats {
  open: number;
  readonly closed: Record<'idle' | 'evicted' | 'refused' | 'accept_error', number>;
}

/** What a reload did, as POST /api/v1/reload reports it. */
export interface ReloadResult {
  /**
   * False when the new config could not be loaded (the running one stays), or an auth file
   * could not (it keeps its previous rules and its key is not in `applied`); `error` says why.
   */
  readonly ok: boolean;
  /** Keys whose new value was applied. */
  readonly applied: readonly string[];
  /** Keys that changed but need a restart to take effect. */
  readonly needsRestart: readonly string[];
  readonly error?: string;
}

export interface OpsOptions {
  /** How often the $SYS topics are published, seconds; 0 publishes none. Default 10. */
  readonly sysInterval?: number;
  /** The HTTP server (metrics, health, admin API); absent: none. */
  readonly http?: HttpOptions;
  /** Behind POST /api/v1/reload (the CLI passes what SIGHUP does); absent: 501. */
  readonly reload?: () => ReloadResult | Promise<ReloadResult>;
  /** Behind GET /api/v1/config: the effective config, secrets already redacted; absent: 501. */
  readonly config?: () => unknown;
  /**
   * Checks a user name and password against the password file, for the dashboard's logins of
   * `http.dashboard.adminUsers` (the CLI passes the file auth's table); absent: only the token logs in.
   */
  readonly checkPassword?: (username: string, password: string, release: () => void) => Promise<boolean>;
  /**
   * The broker's login guard (fileAuth's `guard`): dashboard logins then share MQTT's back-off
   * per source and hashing bound (auth.failureDelay, auth.logins); absent: the dashboard
   * bounds its logins with a guard of its own, of the same defaults.
   */
  readonly loginGuard?: LoginGuard;
  /** fileAuth's counters (`auth.stats`), for the login and ACL families of /metrics; absent: not shown. */
  readonly authStats?: () => FileAuthStats;
  /** The bridges' state and counters, for /metrics and GET /api/v1/bridges; absent: not shown. */
  readonly bridges?: () => readonly BridgeStatus[];
  /** Shown in $SYS/broker/version and starling_info. Default: the package's version. */
  readonly version?: string;
}
