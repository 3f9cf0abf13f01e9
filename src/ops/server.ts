// createOpsServer(): what an operator needs beside MQTT. $SYS topics published by the broker
// itself, and, when an HTTP port is given, one node:http server with Prometheus /metrics,
// /healthz (the process answers), /readyz (store open and every listener listening) and the
// admin API under /api/v1/ (admin.ts), and the web dashboard at / (dashboard/).

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { clusterReadiness } from '../cluster/ops.js';
import type { Broker } from '../broker/broker.js';
import { AdminApi, API_PREFIX, HttpError } from './admin.js';
import { Dashboard } from './dashboard/index.js';
import { CONTENT_TYPE, Metrics } from './metrics.js';
import { SysTopics } from './sys.js';
import type { HttpConnectionStats, OpsOptions } from './types.js';

const DEFAULT_MAX_BODY = 1024 * 1024;

export interface OpsServer {
  readonly sys: SysTopics;
  readonly metrics: Metrics;
  /** Starts $SYS publishing and opens the HTTP server, if one is configured. */
  start(): Promise<void>;
  /** The HTTP server's bound address once started; undefined without one. */
  readonly address: { readonly host: string; readonly port: number } | undefined;
  /** Stops $SYS publishing and closes the HTTP server and its connections. */
  close(): Promise<void>;
}

let packageVersion: string | undefined;
function version(): string {
  packageVersion ??= (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return packageVersion;
}

/** Connections to the HTTP server at once: scrapers and operators need a handful. */
const DEFAULT_MAX_CONNECTIONS = 64;
/** Quiet time after which an HTTP connection is closed, ms: a probe takes milliseconds. */
const DEFAULT_IDLE_TIMEOUT = 10_000;

export function createOpsServer(broker: Broker, options: OpsOptions = {}): OpsServer {
  const v = options.version ?? version();
  const sys = new SysTopics(broker, options.sysInterval ?? 10, v);
  const httpStats: HttpConnectionStats = { open: 0, closed: { idle: 0, evicted: 0, refused: 0, accept_error: 0 } };
  const metrics = new Metrics(broker, v, options.http === undefined ? undefined : httpStats, options.authStats, options.bridges);
  const admin = new AdminApi(broker, options, options.http?.adminToken);
  const maxBody = options.http?.maxBodySize ?? DEFAULT_MAX_BODY;
  // The web dashboard at `/` (docs/dashboard.md): on by default with an HTTP server.
  const dashboard = options.http === undefined || options.http.dashboard?.enabled === false ? undefined : new Dashboard(broker, admin, options.http.dashboard ?? {}, v, options.checkPassword, options.http.maxConnections, options);
  let storeFailed = false;
  const onStoreError = (): void => {
    storeFailed = true;
  };
  broker.on('storeError', onStoreError);
  let server: Server | undefined;
  let address: { host: string; port: number } | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/metrics' || path === '/healthz' || path === '/readyz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not allowed on ${path}`, { allow: 'GET, HEAD' });
      if (path === '/metrics') return send(res, 200, metrics.render() + (dashboard?.metrics() ?? ''), CONTENT_TYPE);
      if (path === '/healthz') return json(res, 200, { status: 'ok' });
      const ready = readiness(broker, storeFailed);
      return json(res, ready.ready ? 200 : 503, ready);
    }
    if (path.startsWith(API_PREFIX)) {
      const reply = await admin.handle(req, url, () => readJson(req, maxBody), dashboard?.authorizeApi(req) ?? false);
      return json(res, reply.status, reply.body);
    }
    if (dashboard !== undefined && (await dashboard.handle(req, res, url, () => readJson(req, maxBody)))) return;
    throw new HttpError(404, `no such endpoint: ${path}`);
  };

  return {
    sys,
    metrics,
    get address() {
      return address;
    },
    async start() {
      sys.start();
      const http = options.http;
      if (http === undefined || server !== undefined) return;
      const idle = http.idleTimeout ?? DEFAULT_IDLE_TIMEOUT;
      const s = createServer(
        {
          // Node's defaults (60 s for headers, 5 min for a request, checked every 30 s) let a
          // few hundred idle sockets hold the port for minutes; health probes need it now.
          headersTimeout: idle,
          requestTimeout: Math.max(idle, 30_000),
          keepAliveTimeout: Math.min(idle, 5_000),
          connectionsCheckingInterval: Math.min(idle, 1_000),
        },
        (req, res) => {
          handle(req, res).catch((err: unknown) => {
            if (err instanceof HttpError) return json(res, err.status, { error: err.message }, err.headers);
            if (err instanceof URIError) return json(res, 400, { error: 'malformed percent-encoding in the path' });
            broker.log.error({ err }, 'HTTP request failed');
            return json(res, 500, { error: 'internal error' });
          });
        },
      );
      boundConnections(s, http.maxConnections ?? DEFAULT_MAX_CONNECTIONS, idle, httpStats, broker);
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        // exclusive: in `starling --workers` each worker serves its own metrics and admin
        // API; node:cluster would otherwise share one port (port 0 included) among them.
        s.listen({ port: http.port, host: http.host ?? '127.0.0.1', exclusive: true }, () => {
          s.off('error', reject);
          resolve();
        });
      });
      const a = s.address() as AddressInfo;
      address = { host: a.address, port: a.port };
      broker.log.info({ http: true, admin: admin.enabled }, `http listening on ${a.address}:${a.port}`);
    },
    async close() {
      sys.stop();
      metrics.stop();
      dashboard?.close();
      broker.off('storeError', onStoreError);
      const s = server;
      server = undefined;
      if (s === undefined) return;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections();
      await closed;
    },
  };
}

/**
 * Keeps the HTTP port answering under a flood of idle connections: a connection quiet for
 * `idleTimeout` is closed, and a new one beyond `max` closes the oldest connection that has
 * no request in progress, so a probe always finds room (net.Server's maxConnections would
 * refuse the probe instead). Only when every connection is busy is the new one refused.
 */
function boundConnections(s: Server, max: number, idleTimeout: number, stats: HttpConnectionStats, broker: Broker): void {
  /** Requests in progress per connection; insertion order is age. */
  const open = new Map<Socket, { busy: number }>();
  s.timeout = idleTimeout;
  s.on('timeout', (socket: Socket) => {
    stats.closed.idle++;
    socket.destroy();
  });
  s.on('connection', (socket: Socket) => {
    if (open.size >= max) {
      let idle: Socket | undefined;
      for (const [c, state] of open) {
        if (state.busy === 0) {
          idle = c;
          break;
        }
      }
      if (idle === undefined) {
        stats.closed.refused++;
        socket.destroy();
        return;
      }
      stats.closed.evicted++;
      open.delete(idle);
      idle.destroy();
    }
    open.set(socket, { busy: 0 });
    stats.open = open.size;
    socket.once('close', () => {
      open.delete(socket);
      stats.open = open.size;
    });
  });
  s.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const state = open.get(req.socket);
    if (state === undefined) return;
    state.busy++;
    res.once('close', () => state.busy--);
  });
  // After listen(), 'error' is a failed accept (EMFILE): unhandled it would end the process.
  let warned = 0;
  s.on('error', (err: NodeJS.ErrnoException) => {
    if (!s.listening) return;
    stats.closed.accept_error++;
    if (Date.now() - warned < 60_000) return;
    warned = Date.now();
    broker.log.warn({ code: err.code, failures: stats.closed.accept_error }, `http accept failed: ${err.message}`);
  });
}

function readiness(broker: Broker, storeFailed: boolean): Record<string, unknown> & { ready: boolean } {
  const configured = broker.options.listeners?.length ?? 1;
  const listeners = broker.addresses.map((l) => l.name);
  const store = broker.persistence === undefined ? 'none' : storeFailed ? 'failed' : broker.ready ? 'open' : 'not open';
  const ready = broker.ready && !storeFailed && listeners.length === configured;
  const { cluster, degraded } = clusterReadiness(broker);
  return { ready, status: !ready ? 'not ready' : degraded ? 'degraded' : 'ready', listeners, store, ...(cluster !== undefined && { cluster }) };
}

function send(res: ServerResponse, status: number, body: string, contentType: string, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  send(res, status, `${JSON.stringify(body, null, 2)}\n`, 'application/json; charset=utf-8', headers);
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new HttpError(413, `the body is larger than ${max} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}
