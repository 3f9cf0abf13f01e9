// The admin JSON API under /api/v1/ (docs/admin-api.yaml): clients, subscriptions, retained
// messages, publishing, the effective config and reload. Every request needs the configured
// bearer token; without a token configured the whole API answers 404, so a broker that
// nobody set up for administration exposes none.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { clusterClient, clusterNodes } from '../cluster/ops.js';
import type { Broker } from '../broker/broker.js';
import type { Message } from '../broker/types.js';
import type { QoS } from '../codec/types.js';
import { validateTopicFilter, validateTopicName } from '../topics/index.js';
import type { OpsOptions } from './types.js';

export const API_PREFIX = '/api/v1/';
const DEFAULT_LIMIT = 1000;

/** Each endpoint (`:id` a client id) and the methods it answers. */
export const ROUTES: Readonly<Record<string, readonly string[]>> = {
  clients: ['GET'],
  'clients/:id': ['GET'],
  'clients/:id/disconnect': ['POST'],
  subscriptions: ['GET'],
  retained: ['GET', 'DELETE'],
  publish: ['POST'],
  config: ['GET'],
  reload: ['POST'],
  stats: ['GET'],
  bridges: ['GET'],
  'cluster/nodes': ['GET'],
  'cluster/clients/:id': ['GET'],
};

function routeOf(path: readonly string[]): string | undefined {
  if (path.length === 1) return path[0];
  if (path[0] === 'clients' && path.length === 2) return 'clients/:id';
  if (path[0] === 'clients' && path.length === 3 && path[2] === 'disconnect') return 'clients/:id/disconnect';
  if (path[0] === 'cluster' && path.length === 2 && path[1] === 'nodes') return 'cluster/nodes';
  if (path[0] === 'cluster' && path.length === 3 && path[1] === 'clients') return 'cluster/clients/:id';
  return undefined;
}

/** An error answered as `{ "error": message }` with its HTTP status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

export class AdminApi {
  private readonly tokenDigest: Buffer | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly options: OpsOptions,
    token: string | undefined,
  ) {
    this.tokenDigest = token === undefined || token === '' ? undefined : digest(token);
  }

  get enabled(): boolean {
    return this.tokenDigest !== undefined;
  }

  /**
   * Answers one request under API_PREFIX; `body` is the parsed JSON body, if any.
   * `authorized`: the caller already checked a dashboard login (its cookie and CSRF token).
   */
  async handle(req: IncomingMessage, url: URL, readBody: () => Promise<unknown>, authorized = false): Promise<Reply> {
    if (!authorized) {
      if (this.tokenDigest === undefined) throw new HttpError(404, 'the admin API is off: set http.adminToken to turn it on');
      this.authorize(req.headers.authorization);
    }
    const path = url.pathname.slice(API_PREFIX.length).split('/').map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    const route = routeOf(path);
    const allowed = route === undefined ? undefined : ROUTES[route];
    if (allowed === undefined) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
    if (!allowed.includes(method)) throw new HttpError(405, `${method} is not allowed on ${url.pathname}`, { allow: allowed.join(', ') });
    switch (`${method} ${route}`) {
      case 'GET clients':
        return ok(this.listClients(limitOf(q)));
      case 'GET clients/:id':
        return ok(this.client(path[1]!));
      case 'POST clients/:id/disconnect':
        return ok(this.disconnect(path[1]!));
      case 'GET subscriptions':
        return ok(this.subscriptions(q.get('clientId') ?? undefined, limitOf(q)));
      case 'GET retained':
        return ok(this.retained(q.get('filter') ?? '#', limitOf(q)));
      case 'DELETE retained':
        return ok(this.deleteRetained(q.get('topic')));
      case 'POST publish':
        return ok(this.publish(await readBody()));
      case 'GET config':
        if (this.options.config === undefined) throw new HttpError(501, 'no config to show: the broker was not started from a config');
        return ok(this.options.config());
      case 'POST reload': {
        if (this.options.reload === undefined) throw new HttpError(501, 'reload is not available: the broker was not started from a config');
        const result = await this.options.reload();
        return { status: result.ok ? 200 : 422, body: result };
      }
      case 'GET stats':
        return ok(this.broker.stats);
      case 'GET bridges':
        return ok(this.options.bridges?.() ?? []);
      case 'GET cluster/nodes':
        return ok(orNotClustered(await clusterNodes(this.broker)));
      case 'GET cluster/clients/:id':
        return ok(orNotClustered(await clusterClient(this.broker, path[2]!)));
      default:
        throw new HttpError(404, `no such endpoint: ${url.pathname}`);
    }
  }

  /** True for the configured token (the dashboard's login form sends it). */
  checkToken(token: string): boolean {
    return this.tokenDigest !== undefined && timingSafeEqual(digest(token), this.tokenDigest);
  }

  private authorize(header: string | undefined): void {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    // Digests of equal length make the comparison constant-time whatever the token's length.
    if (m === null || !timingSafeEqual(digest(m[1]!), this.tokenDigest!)) {
      throw new HttpError(401, 'a valid bearer token is required', { 'www-authenticate': 'Bearer realm="starling"' });
    }
  }

  private listClients(limit: number): unknown {
    return this.broker.views.clients(limit);
  }

  private client(id: string): unknown {
    const view = this.broker.views.client(id);
    if (view === undefined) throw new HttpError(404, `no client or session ${JSON.stringify(id)}`);
    return view;
  }

  private disconnect(id: string): unknown {
    // A 5.0 client is told why: DISCONNECT 0x98 Administrative action.
    if (!this.broker.views.disconnect(id, 0x98)) throw new HttpError(404, `no connected client ${JSON.stringify(id)}`);
    return { disconnected: id };
  }

  private subscriptions(clientId: string | undefined, limit: number): unknown {
    return this.broker.views.subscriptions(clientId, limit);
  }

  private retained(filter: string, limit: number): unknown {
    const bad = validateTopicFilter(filter);
    if (bad !== undefined) throw new HttpError(400, `filter: ${bad}`);
    return this.broker.views.retained(filter, limit);
  }

  private deleteRetained(topic: string | null): unknown {
    if (topic === null) throw new HttpError(400, 'the topic query parameter is required');
    const bad = validateTopicName(topic);
    if (bad !== undefined) throw new HttpError(400, `topic: ${bad}`);
    if (!this.broker.views.deleteRetained(topic)) throw new HttpError(404, `no retained message on ${JSON.stringify(topic)}`);
    return { deleted: topic };
  }

  private publish(body: unknown): unknown {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object');
    const b = body as Record<string, unknown>;
    const { topic, payload = '', encoding = 'utf8', qos = 0, retain = false, messageExpiryInterval, contentType } = b;
    if (typeof topic !== 'string') throw new HttpError(400, 'topic: a string is required');
    const bad = validateTopicName(topic, { maxLength: this.broker.limits.maxTopicLength, maxLevels: this.broker.limits.maxTopicLevels });
    if (bad !== undefined) throw new HttpError(400, `topic: ${bad}`);
    if (typeof payload !== 'string') throw new HttpError(400, 'payload: a string is required');
    if (encoding !== 'utf8' && encoding !== 'base64') throw new HttpError(400, 'encoding: utf8 or base64');
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new HttpError(400, 'qos: 0, 1 or 2');
    if (typeof retain !== 'boolean') throw new HttpError(400, 'retain: a boolean');
    const properties: { messageExpiryInterval?: number; contentType?: string } = {};
    if (messageExpiryInterval !== undefined) {
      if (!Number.isInteger(messageExpiryInterval) || (messageExpiryInterval as number) < 0 || (messageExpiryInterval as number) > 0xffffffff) {
        throw new HttpError(400, 'messageExpiryInterval: an integer of seconds');
      }
      properties.messageExpiryInterval = messageExpiryInterval as number;
    }
    if (contentType !== undefined) {
      if (typeof contentType !== 'string') throw new HttpError(400, 'contentType: a string');
      properties.contentType = contentType;
    }
    const message: Message = {
      topic,
      payload: Buffer.from(payload, encoding),
      qos: qos as QoS,
      retain: retain && this.broker.options.retainAvailable !== false,
      ...(Object.keys(properties).length > 0 && { properties }),
    };
    return { deliveredTo: this.broker.publish(message) };
  }
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function limitOf(q: URLSearchParams): number {
  const text = q.get('limit');
  if (text === null) return DEFAULT_LIMIT;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new HttpError(400, 'limit: a non-negative integer');
  return n;
}

/** A cluster endpoint on a standalone broker. */
function orNotClustered(body: unknown): unknown {
  if (body === undefined) throw new HttpError(404, 'this broker is not a cluster member: set cluster.redis');
  return body;
}
