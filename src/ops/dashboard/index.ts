// The web dashboard (docs/dashboard.md), served by the ops HTTP server beside the admin API:
// the built page at `/`, a login with the admin token that sets a session cookie, the admin
// API usable with that cookie (and its CSRF token on verbs that change things), and the
// page's own endpoints under /dashboard/: a live stream of samples (server-sent events), a
// paged and searchable client list, the topic tree and a subscription watched by hand.

import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sourceKey } from '../../auth/backoff.js';
import { LoginGuard, type Outcome } from '../../auth/login-guard.js';
import type { Broker } from '../../broker/broker.js';
import type { InProcessClient } from '../../broker/in-process.js';
import type { ClientView } from '../../broker/views.js';
import type { QoS } from '../../codec/types.js';
import { validateTopicFilter } from '../../topics/index.js';
import { type AdminApi, HttpError } from '../admin.js';
import { Exposition } from '../metrics.js';
import type { OpsOptions } from '../types.js';
import { clusterSample } from './cluster.js';
import { Sampler, type Sample } from './sampler.js';
import { clearedCookie, csrfOk, type Login, LoginSessions, sessionCookie } from './sessions.js';
import { type Asset, loadAssets } from './static.js';
import { TopicTree } from './topic-tree.js';

export interface DashboardOptions {
  /** Serve the dashboard at `/` (it needs http.adminToken or adminUsers to log in). Default true. */
  readonly enabled?: boolean;
  /** Users of the password file who may log in with their password (needs OpsOptions.checkPassword). Default none. */
  readonly adminUsers?: readonly string[];
  /** Logins held at once; a new one beyond it ends the least recently used. Default 16. */
  readonly maxSessions?: number;
  /** A login unused for this long ends, seconds (an open page keeps it in use). Default 3600. */
  readonly sessionTimeout?: number;
  /** Nodes of the live topic tree; 0 turns the tree off. Default 10,000. */
  readonly maxTopics?: number;
  /** UTF-8 bytes of topic level names the topic tree holds. Default 1 MiB. */
  readonly maxTopicBytes?: number;
  /** Messages a second a subscription watched from the page shows; the rest are counted as skipped. Default 100. */
  readonly watchRate?: number;
}

export const DASHBOARD_DEFAULTS = { enabled: true, adminUsers: [] as readonly string[], maxSessions: 16, sessionTimeout: 3600, maxTopics: 10_000, maxTopicBytes: 1024 * 1024, watchRate: 100 } as const;

/** Paths under it are the page's own endpoints. */
export const DASHBOARD_PREFIX = '/dashboard/';
/** A page that has not read its stream for a while gets no more samples until it catches up, bytes. */
const STREAM_HIGH_WATER = 256 * 1024;
/** Largest page of the client list. */
const MAX_PAGE = 500;
/** The client list is rebuilt at most this often while a page is paged or searched, ms. */
const CLIENT_LIST_TTL = 1000;
/** Bytes of a watched message's payload sent to the page. */
const WATCH_PAYLOAD_BYTES = 4096;

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  // Everything the page loads is its own: no inline script, no other origin, no framing.
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

const SORT_KEYS = ['id', 'address', 'username', 'protocol', 'protocolVersion', 'keepAlive', 'connectedAt', 'queued', 'inflight', 'subscriptionCount'] as const;
type SortKey = (typeof SORT_KEYS)[number];

export interface DashboardStats {
  /** Samples not sent to a page that was not reading its stream. */
  streamSkipped: number;
  /** Streams closed for a newer one beyond maxStreams. */
  streamsEvicted: number;
  /** Messages of watched subscriptions not shown, beyond watchRate. */
  watchSkipped: number;
  /** Logins whose token or password was checked (the others were refused before any work). */
  loginsChecked: number;
  /** Logins refused unchecked: their source had logins in progress (429), or too many waited over all sources (503). */
  loginsRefused: { source: number; busy: number };
}

/** The (source, user) key of the admin token's failures: no MQTT user name contains a NUL. */
const TOKEN_USER = '\u0000dashboard-token';

export class Dashboard {
  readonly sessions: LoginSessions;
  readonly tree: TopicTree | undefined;
  readonly sampler: Sampler;
  readonly stats: DashboardStats = { streamSkipped: 0, streamsEvicted: 0, watchSkipped: 0, loginsChecked: 0, loginsRefused: { source: 0, busy: 0 } };
  private readonly assets: Map<string, Asset>;
  private readonly watches = new Map<Login, InProcessClient>();
  /** Open streams, oldest first. */
  private readonly streams = new Map<ServerResponse, () => void>();
  private readonly maxStreams: number;
  private readonly options: Required<DashboardOptions>;
  private clientCache: { at: number; key: string; count: number; list: ClientView[] } | undefined;
  private closed = false;
  /**
   * Every login goes through it, as an MQTT CONNECT's password does (login-guard.ts): one at
   * a time per source after the back-off of its failures, and within the hashing bound. With
   * the broker's own guard (OpsOptions.loginGuard) a guessing flood here cannot take more
   * than its source's turn of MQTT's hashing slots, and its failures back off MQTT logins
   * from that source too.
   */
  private readonly guard: LoginGuard;
  private loggingIn = 0;
  private readonly maxLoggingIn: number;

  constructor(
    private readonly broker: Broker,
    private readonly admin: AdminApi,
    options: DashboardOptions,
    private readonly version: string,
    private readonly checkPassword?: (username: string, password: string, release: () => void) => Promise<boolean>,
    /** http.maxConnections: streams hold a connection each, and may take at most half of them. */
    maxConnections = 64,
    /** OpsOptions: the broker's login guard, and the bridges' statuses for the overview. */
    ops: Pick<OpsOptions, 'loginGuard' | 'bridges'> = {},
  ) {
    this.guard = ops.loginGuard ?? new LoginGuard();
    this.options = { ...DASHBOARD_DEFAULTS, ...options };
    this.maxStreams = Math.max(1, Math.floor(maxConnections / 2));
    this.maxLoggingIn = Math.max(1, Math.floor(maxConnections / 4));
    this.sessions = new LoginSessions(this.options.maxSessions, this.options.sessionTimeout * 1000);
    this.assets = loadAssets();
    // Nobody can log in without a token or admin users: the tree would cost for nothing.
    if (this.options.maxTopics > 0 && (admin.enabled || this.usersLogIn)) {
      this.tree = new TopicTree(this.options.maxTopics, this.options.maxTopicBytes);
      broker.on('published', this.tree.record);
    }
    this.sampler = new Sampler(broker, this.tree, ops.bridges);
  }

  /**
   * For a request to the admin API without a bearer token: true when it carries a dashboard
   * login (and, on a verb that changes something, its CSRF token). A login without the CSRF
   * token is refused here with 403; no login at all is left to the API's own 401.
   */
  authorizeApi(req: IncomingMessage): boolean {
    if (req.headers.authorization !== undefined) return false;
    const login = this.sessions.get(req);
    if (login === undefined) return false;
    if (!safe(req.method) && !csrfOk(req, login)) throw new HttpError(403, 'the CSRF token header is missing or wrong');
    return true;
  }

  /** Answers the request if it is the dashboard's (the page, its assets, /dashboard/...); false otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL, readBody: () => Promise<unknown>): Promise<boolean> {
    const path = url.pathname;
    if (path.startsWith(DASHBOARD_PREFIX)) {
      await this.endpoint(req, res, url, path.slice(DASHBOARD_PREFIX.length), readBody);
      return true;
    }
    const asset = this.assets.get(path === '/' ? '/index.html' : path);
    if (asset === undefined) {
      if (path === '/') throw new HttpError(503, 'the dashboard was not built: run npm run build');
      return false;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not allowed on ${path}`, { allow: 'GET, HEAD' });
    const gzip = asset.gzip !== undefined && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? asset.gzip! : asset.body;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': asset.type,
      'content-length': body.length,
      'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-store',
      vary: 'accept-encoding',
      ...(gzip && { 'content-encoding': 'gzip' }),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  /**
   * Streams (samples, watched subscriptions) each hold an HTTP connection with a request in
   * progress, which the server never evicts: beyond half of http.maxConnections the oldest
   * stream is closed, so that probes and scrapers always find room.
   */
  private addStream(res: ServerResponse, end: () => void): void {
    while (this.streams.size >= this.maxStreams) {
      const [oldest, endOldest] = this.streams.entries().next().value!;
      this.streams.delete(oldest);
      this.stats.streamsEvicted++;
      endOldest();
    }
    this.streams.set(res, end);
  }

  /** The dashboard's families for /metrics. */
  metrics(): string {
    const out = new Exposition();
    const s = this.sessions.stats;
    out.gauge('starling_dashboard_sessions', 'Dashboard logins held (http.dashboard.maxSessions).', this.sessions.size);
    out.counter('starling_dashboard_logins_total', 'Dashboard logins accepted.', s.logins);
    out.counter('starling_dashboard_login_failures_total', 'Dashboard logins refused for a wrong token or password.', s.failures);
    out.counter('starling_dashboard_logins_checked_total', 'Dashboard logins whose token or password was checked (after the back-off of their source).', this.stats.loginsChecked);
    out.counter('starling_dashboard_logins_throttled_total', 'Dashboard logins refused unchecked, by reason: source (its source had auth.logins.maxPendingPerSource in progress), busy (auth.logins.maxPending waited).', Object.entries(this.stats.loginsRefused).map(([reason, n]) => [{ reason }, n] as const));
    out.counter('starling_dashboard_sessions_ended_total', 'Dashboard logins ended, by reason: expired (http.dashboard.sessionTimeout), evicted (beyond http.dashboard.maxSessions), logout.', Object.entries(s.ended).map(([reason, n]) => [{ reason }, n] as const));
    out.gauge('starling_dashboard_topics', 'Nodes of the dashboard topic tree (http.dashboard.maxTopics).', this.tree?.size ?? 0);
    out.gauge('starling_dashboard_topic_bytes', 'Bytes of topic level names held by the dashboard topic tree (http.dashboard.maxTopicBytes).', this.tree?.bytes ?? 0);
    out.counter('starling_dashboard_topics_untracked_total', 'Messages whose topic did not fit in the dashboard topic tree.', this.tree?.untracked ?? 0);
    out.counter('starling_dashboard_watch_skipped_total', 'Messages of subscriptions watched from the dashboard not shown (http.dashboard.watchRate).', this.stats.watchSkipped);
    out.counter('starling_dashboard_stream_skipped_total', 'Dashboard samples not sent to a page that was not reading them.', this.stats.streamSkipped);
    out.counter('starling_dashboard_streams_evicted_total', 'Dashboard streams closed for a newer one beyond half of http.maxConnections.', this.stats.streamsEvicted);
    return out.toString();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.tree !== undefined) this.broker.off('published', this.tree.record);
    this.sessions.endAll();
    for (const end of [...this.streams.values()]) end();
    this.sampler.stop();
  }

  private async endpoint(req: IncomingMessage, res: ServerResponse, url: URL, name: string, readBody: () => Promise<unknown>): Promise<void> {
    const method = req.method ?? 'GET';
    if (name === 'login') {
      if (method !== 'POST') throw new HttpError(405, `${method} is not allowed on ${url.pathname}`, { allow: 'POST' });
      return this.login(req, res, readBody);
    }
    const login = this.sessions.get(req);
    if (login === undefined) throw new HttpError(401, 'log in first');
    const route: Readonly<Record<string, string>> = { session: 'GET', logout: 'POST', info: 'GET', stream: 'GET', clients: 'GET', client: 'GET', topics: 'GET', watch: 'GET' };
    const allowed = route[name];
    if (allowed === undefined) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
    if (method !== allowed) throw new HttpError(405, `${method} is not allowed on ${url.pathname}`, { allow: allowed });
    if (!safe(method) && !csrfOk(req, login)) throw new HttpError(403, 'the CSRF token header is missing or wrong');
    const q = url.searchParams;
    switch (name) {
      case 'session':
        return reply(res, 200, { csrf: login.csrf, version: this.version, user: login.user });
      case 'logout':
        this.sessions.logout(req);
        return reply(res, 200, { loggedOut: true }, { 'set-cookie': clearedCookie() });
      case 'info':
        return reply(res, 200, this.info());
      case 'stream':
        return this.stream(req, res, login);
      case 'clients':
        return reply(res, 200, this.clients(q));
      case 'client':
        return reply(res, 200, this.client(q));
      case 'topics':
        return reply(res, 200, this.topics(q));
      case 'watch':
        return this.watch(req, res, login, q);
    }
  }

  private get usersLogIn(): boolean {
    return this.options.adminUsers.length > 0 && this.checkPassword !== undefined;
  }

  private async login(req: IncomingMessage, res: ServerResponse, readBody: () => Promise<unknown>): Promise<void> {
    if (!this.admin.enabled && !this.usersLogIn) throw new HttpError(404, 'the dashboard needs http.adminToken (or http.dashboard.adminUsers with a password file) to log in');
    // A cross-site form can POST here, but not with a JSON body: the browser would preflight it.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'send the login as application/json');
    const body = await readBody();
    const b = typeof body === 'object' && body !== null ? (body as { token?: unknown; username?: unknown; password?: unknown }) : {};
    const remote = req.socket.remoteAddress;
    const source = sourceKey(remote ?? '');
    const user = typeof b.username === 'string' && typeof b.password === 'string' ? b.username : undefined;
    let outcome: Outcome;
    // Each login waiting its turn holds an HTTP connection, which the server never evicts:
    // beyond a quarter of http.maxConnections more are refused, so probes find room.
    if (this.loggingIn >= this.maxLoggingIn) {
      this.stats.loginsRefused.busy++;
      throw new HttpError(503, 'too many logins waiting', { 'retry-after': '1' });
    }
    this.loggingIn++;
    try {
      outcome = await this.checkLogin(source, b);
    } finally {
      this.loggingIn--;
    }
    if (!outcome.ok) {
      if (outcome.why === 'failed') return this.refuse(remote, user, user !== undefined ? 'wrong user name or password' : 'wrong token');
      // Refused before any work: counted, not logged (a flood would fill the log).
      this.stats.loginsRefused[outcome.why]++;
      if (outcome.why === 'source') throw new HttpError(429, 'too many logins in progress from this address', { 'retry-after': '1' });
      throw new HttpError(503, 'too many logins waiting', { 'retry-after': '1' });
    }
    const { id, login } = this.sessions.create(user);
    this.broker.log.info({ remote, ...(user !== undefined && { username: user }) }, 'dashboard login');
    return reply(res, 200, { csrf: login.csrf, version: this.version, user: login.user }, { 'set-cookie': sessionCookie(id, this.options.sessionTimeout) });
  }

  /** A login's token or user name and password through the guard. */
  private checkLogin(source: string, b: { token?: unknown; username?: unknown; password?: unknown }): Promise<Outcome> {
    if (typeof b.username === 'string' && typeof b.password === 'string') {
      const name = b.username;
      const password = b.password;
      return this.guard.check(source, name, async (release) => {
        this.stats.loginsChecked++;
        if (!this.usersLogIn) {
          release();
          return false;
        }
        // A user outside adminUsers is checked all the same: the answer comes as late, and
        // its right password counts as a failure, so neither tells which users are admins.
        const ok = await this.checkPassword!(name, password, release).catch(() => false);
        return ok && this.options.adminUsers.includes(name);
      });
    } else {
      const token = b.token;
      return this.guard.check(source, TOKEN_USER, async (release) => {
        release(); // a token costs no hash
        this.stats.loginsChecked++;
        return typeof token === 'string' && this.admin.checkToken(token);
      });
    }
  }

  private refuse(remote: string | undefined, username: string | undefined, why: string): never {
    this.sessions.stats.failures++;
    this.broker.log.warn({ remote, ...(username !== undefined && { username }) }, 'dashboard login refused');
    throw new HttpError(401, why);
  }

  private info(): unknown {
    return {
      version: this.version,
      startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
      node: process.version,
      listeners: this.broker.addresses.map((l) => ({ name: l.name, type: l.type, host: l.host, port: l.port, ...(l.path !== undefined && { path: l.path }), ...(l.websocketPath !== undefined && { websocketPath: l.websocketPath }) })),
      limits: { maxTopics: this.options.maxTopics, watchRate: this.options.watchRate },
      // The Clients page asks the cluster where a client is only on a cluster member.
      clusterNode: clusterSample(this.broker)?.node ?? null,
    };
  }

  /** Server-sent events: one sample a second (event `sample`) while the page is open. */
  private stream(req: IncomingMessage, res: ServerResponse, login: Login): void {
    sse(res);
    const send = (s: Sample): void => {
      login.lastUsed = Date.now();
      if (res.writableLength > STREAM_HIGH_WATER) {
        this.stats.streamSkipped++;
        return;
      }
      res.write(`event: sample\ndata: ${JSON.stringify(s)}\n\n`);
    };
    const unsubscribe = this.sampler.subscribe(send);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      unsubscribe();
      this.streams.delete(res);
      login.onEnd.delete(end);
      if (!res.writableEnded) res.end();
    };
    this.addStream(res, end);
    login.onEnd.add(end);
    req.once('close', end);
  }

  private clients(q: URLSearchParams): unknown {
    const search = (q.get('q') ?? '').trim().toLowerCase();
    const sort = (q.get('sort') ?? 'id') as SortKey;
    if (!SORT_KEYS.includes(sort)) throw new HttpError(400, `sort: one of ${SORT_KEYS.join(', ')}`);
    const desc = q.get('dir') === 'desc';
    const offset = intParam(q, 'offset', 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(q, 'limit', 50, MAX_PAGE);
    const key = `${search}\n${sort}\n${desc}`;
    const now = Date.now();
    const count = this.broker.views.clientCount;
    let cache = this.clientCache;
    // Kept for paging through one search; a client come or gone shows at once.
    if (cache === undefined || cache.key !== key || cache.count !== count || now - cache.at > CLIENT_LIST_TTL) {
      const all = this.broker.views.clients(Number.POSITIVE_INFINITY).clients;
      const list = search === '' ? all : all.filter((c) => c.id.toLowerCase().includes(search) || (c.address ?? '').toLowerCase().includes(search) || (c.username ?? '').toLowerCase().includes(search));
      const sign = desc ? -1 : 1;
      const labels = this.protocolLabels();
      const value = sort === 'protocol' ? (c: ClientView) => labels(c) : (c: ClientView) => c[sort] ?? '';
      list.sort((a, b) => {
        const x = value(a);
        const y = value(b);
        return (x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0) * sign;
      });
      cache = { at: now, key, count, list };
      this.clientCache = cache;
    }
    const labels = this.protocolLabels();
    return { total: this.broker.views.clientCount, matched: cache.list.length, offset, clients: cache.list.slice(offset, offset + limit).map((c) => ({ ...c, protocol: labels(c) })) };
  }

  /** One client's detail (the admin API's view) with its protocol label. */
  private client(q: URLSearchParams): unknown {
    const id = q.get('id') ?? '';
    const view = this.broker.views.client(id);
    if (view === undefined) throw new HttpError(404, `no client or session ${JSON.stringify(id)}`);
    return { ...view, protocol: this.protocolLabels()(view) };
  }

  /**
   * The protocol a client speaks, as the page shows it. The views give an MQTT-SN client
   * 3.1.1's protocol version (the semantics the gateway gives it in the broker): its
   * listener's type tells it apart.
   */
  private protocolLabels(): (c: ClientView) => string {
    const sn = new Set(this.broker.addresses.filter((l) => l.type === 'mqtt-sn').map((l) => l.name));
    return (c) => {
      if (c.listener !== undefined && sn.has(c.listener)) return 'MQTT-SN 1.2';
      const v = c.protocolVersion;
      return v === 5 ? 'MQTT 5.0' : v === 4 ? 'MQTT 3.1.1' : v === 3 ? 'MQTT 3.1' : '–';
    };
  }

  private topics(q: URLSearchParams): unknown {
    if (this.tree === undefined) throw new HttpError(404, 'the topic tree is off (http.dashboard.maxTopics is 0)');
    const limit = intParam(q, 'limit', 200, 1000);
    const search = q.get('q');
    if (search !== null && search !== '') return { search, nodes: this.tree.search(search, limit), rate: this.tree.rate, size: this.tree.size, untracked: this.tree.untracked };
    const prefix = q.get('prefix');
    const found = this.tree.children(prefix === null || prefix === '' ? undefined : prefix, limit);
    if (found === undefined) throw new HttpError(404, `no topic ${JSON.stringify(prefix)} in the tree`);
    return { prefix: prefix ?? '', ...found, rate: this.tree.rate, size: this.tree.size, untracked: this.tree.untracked };
  }

  /**
   * Server-sent events of the messages matching `filter`, through an in-process client (one
   * per login: a new watch ends the previous one). Its subscription goes through the ACL and
   * hooks as an anonymous in-process client's would.
   */
  private async watch(req: IncomingMessage, res: ServerResponse, login: Login, q: URLSearchParams): Promise<void> {
    const filter = q.get('filter') ?? '';
    const bad = validateTopicFilter(filter);
    if (bad !== undefined) throw new HttpError(400, `filter: ${bad}`);
    const qos = intParam(q, 'qos', 0, 2) as QoS;
    await this.watches.get(login)?.close();
    // A random id: a network client's id could otherwise be taken over by a watch.
    const client = await this.broker.client({ clientId: `dashboard-${randomBytes(6).toString('hex')}` });
    this.watches.set(login, client);
    let window = 0;
    let shown = 0;
    let skipped = 0;
    let granted: QoS;
    // Retained messages arrive during subscribe(), before the stream's headers can be sent.
    let early: string[] | undefined = [];
    const write = (text: string): void => {
      if (early !== undefined) early.push(text);
      else res.write(text);
    };
    try {
      granted = await client.subscribe(filter, (m, d) => {
        const second = Math.floor(Date.now() / 1000);
        if (second !== window) {
          window = second;
          shown = 0;
        }
        if (shown >= this.options.watchRate || res.writableLength > STREAM_HIGH_WATER) {
          skipped++;
          this.stats.watchSkipped++;
          return;
        }
        shown++;
        const p = m.payload.subarray(0, WATCH_PAYLOAD_BYTES);
        const text = isUtf8(p);
        const event = { topic: m.topic, payload: p.toString(text ? 'utf8' : 'base64'), encoding: text ? 'utf8' : 'base64', size: m.payload.length, qos: d.qos, retain: d.retain, at: new Date().toISOString(), skipped };
        write(`event: message\ndata: ${JSON.stringify(event)}\n\n`);
      }, { qos });
    } catch (err) {
      await client.close();
      if (this.watches.get(login) === client) this.watches.delete(login);
      throw new HttpError(403, `subscription refused: ${(err as Error).message}`);
    }
    sse(res);
    res.write(`event: subscribed\ndata: ${JSON.stringify({ filter, qos: granted })}\n\n`);
    for (const text of early) res.write(text);
    early = undefined;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(poll);
      login.onEnd.delete(end);
      this.streams.delete(res);
      if (this.watches.get(login) === client) this.watches.delete(login);
      void client.close();
      if (!res.writableEnded) res.end();
    };
    // The broker ended the client (shutdown, an operator's disconnect): the page is told by the stream's end.
    const poll = setInterval(() => {
      login.lastUsed = Date.now();
      if (!client.connected) end();
    }, 1000);
    poll.unref();
    this.addStream(res, end);
    login.onEnd.add(end);
    req.once('close', end);
  }
}

function safe(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD';
}

function sse(res: ServerResponse): void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  // The page's EventSource reconnects after this long if the stream drops.
  res.write('retry: 2000\n\n');
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

function intParam(q: URLSearchParams, name: string, dflt: number, max: number): number {
  const text = q.get(name);
  if (text === null || text === '') return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new HttpError(400, `${name}: a non-negative integer`);
  return Math.min(n, max);
}
