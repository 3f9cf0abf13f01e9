// What makes a broker a cluster member, and the Redis connection it names. One URL says
// which of the three Redis deployments the cluster runs on, so one config key covers all:
//
//   redis://[user:password@]host:port[/db]          one Redis (or a primary behind a proxy)
//   rediss://...                                     the same over TLS
//   redis-sentinel://[user:password@]h1:p1,h2:p2/mymaster[/db]
//                                                    Sentinel: the sentinels, then the master name
//   redis-cluster://[user:password@]h1:p1,h2:p2      Redis Cluster: some of its masters (seeds)
//
// ioredis gives all three one client API; a Redis Cluster is reached through `Cluster`.

import { hostname } from 'node:os';
import { Redis, Cluster, type RedisOptions, type ClusterOptions as IoClusterOptions } from 'ioredis';

export interface ClusterOptions {
  /** The Redis URL (forms above). */
  readonly redis: string;
  /** This member's name, unique in the cluster. Default: `<hostname>-<pid>`. */
  readonly node?: string;
  /** Prefix of every Redis key and channel, so clusters can share a Redis. Default `starling:`. */
  readonly prefix?: string;
  /** How often the node refreshes its membership key (ms). Default 1000. */
  readonly heartbeatInterval?: number;
  /** How long a silent node stays a member: the membership key's TTL (ms). Default 5000. */
  readonly nodeTimeout?: number;
  /**
   * QoS 1/2 forwards held in memory while Redis has not acknowledged them (Redis away): the
   * publishers wait for their PUBACK/PUBREC. A forward beyond it is not sent and its
   * publisher is disconnected unacknowledged (0x83), so it resends later. Default 10,000.
   */
  readonly maxPendingForwards?: number;
  /**
   * How long (ms) the inbox reader waits for a local session that takes nothing (its queue
   * does not shrink) before delivering past it: a slow subscriber holds the inbox back, a
   * stuck one only this long. Default 5000.
   */
  readonly inboxMaxWait?: number;
  /**
   * QoS 0 bytes sent to one node and not yet seen processed there: beyond it QoS 0 forwards
   * to that node are dropped at the sender (counted), so a node that falls behind is never
   * cut off by Redis's pub/sub output buffer limit. Default 8 MiB (Redis's default soft limit).
   */
  readonly volatileWindow?: number;
  /**
   * How long (ms) a QoS 0 publisher whose message took a node beyond `volatileWindow` is
   * paused (its socket not read) waiting for that node to catch up. A node still behind
   * after it is shed (QoS 0 to it dropped at the sender, counted) until it catches up, so a
   * stalled member cannot stall this node's publishers for longer. Also how long this node
   * holds QoS 0 forwards back for local clients that do not drain (volatile-flow.ts).
   * Default 2000.
   */
  readonly volatileMaxWait?: number;
  /**
   * With cluster sessions (persistence.store: redis): a member that cannot renew its
   * membership for two thirds of nodeTimeout disconnects its persistent clients (0x9C) and
   * refuses CONNECTs until Redis answers again, so a netsplit cannot leave one client id
   * connected twice (src/cluster/fence.ts). Default true.
   */
  readonly fence?: boolean;
  /**
   * Called once for each node found dead (its membership key expired without a goodbye;
   * not for a node that left gracefully), on every member that sees it: where a program
   * hangs what survivors do for a dead node's clients (their wills). Each survivor is
   * called: what must happen once needs its own compare-and-set in Redis.
   */
  readonly onNodeDown?: (node: string) => void;
}

export const CLUSTER_DEFAULTS = Object.freeze({
  prefix: 'starling:',
  heartbeatInterval: 1000,
  nodeTimeout: 5000,
  maxPendingForwards: 10_000,
  inboxMaxWait: 5000,
  volatileWindow: 8 * 1024 * 1024,
  volatileMaxWait: 2000,
  fence: true,
});

export type ResolvedClusterOptions = Required<Omit<ClusterOptions, 'onNodeDown'>>;

export function resolveClusterOptions(o: ClusterOptions): ResolvedClusterOptions {
  return {
    redis: o.redis,
    node: o.node ?? `${hostname()}-${process.pid}`,
    prefix: o.prefix ?? CLUSTER_DEFAULTS.prefix,
    heartbeatInterval: o.heartbeatInterval ?? CLUSTER_DEFAULTS.heartbeatInterval,
    nodeTimeout: o.nodeTimeout ?? CLUSTER_DEFAULTS.nodeTimeout,
    maxPendingForwards: o.maxPendingForwards ?? CLUSTER_DEFAULTS.maxPendingForwards,
    inboxMaxWait: o.inboxMaxWait ?? CLUSTER_DEFAULTS.inboxMaxWait,
    volatileWindow: o.volatileWindow ?? CLUSTER_DEFAULTS.volatileWindow,
    volatileMaxWait: o.volatileMaxWait ?? CLUSTER_DEFAULTS.volatileMaxWait,
    fence: o.fence ?? CLUSTER_DEFAULTS.fence,
  };
}

export type RedisTarget =
  | { readonly kind: 'single'; readonly url: string }
  | { readonly kind: 'sentinel'; readonly sentinels: Array<{ host: string; port: number }>; readonly name: string; readonly db: number; readonly username?: string; readonly password?: string }
  | { readonly kind: 'cluster'; readonly seeds: Array<{ host: string; port: number }>; readonly username?: string; readonly password?: string };

export class ClusterUrlError extends Error {
  override readonly name = 'ClusterUrlError';
}

/** Parses the URL forms above; throws ClusterUrlError naming the config key and what is wrong. */
export function parseRedisUrl(url: string, key = 'cluster.redis'): RedisTarget {
  const m = /^([a-z-]+):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(\/[^?#]*)?$/.exec(url);
  if (m === null) throw new ClusterUrlError(`${key}: not a Redis URL: ${JSON.stringify(url)}`);
  const [, scheme, user, pass, hosts, path] = m;
  const credentials = { ...(user && { username: decodeURIComponent(user) }), ...(pass !== undefined && { password: decodeURIComponent(pass) }) };
  if (scheme === 'redis' || scheme === 'rediss') return { kind: 'single', url };
  const list = hosts!.split(',').map((h) => {
    const hm = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(h);
    if (hm === null) throw new ClusterUrlError(`${key}: bad host ${JSON.stringify(h)} in ${JSON.stringify(url)}`);
    return { host: hm[1]!.replace(/^\[|\]$/g, ''), port: hm[2] !== undefined ? Number(hm[2]) : scheme === 'redis-sentinel' ? 26379 : 6379 };
  });
  const parts = (path ?? '').split('/').filter((p) => p.length > 0);
  if (scheme === 'redis-sentinel') {
    if (parts.length === 0) throw new ClusterUrlError(`${key}: a Sentinel URL names its master after the hosts: redis-sentinel://host:26379/mymaster`);
    const db = parts[1] !== undefined ? Number(parts[1]) : 0;
    if (!Number.isInteger(db) || db < 0) throw new ClusterUrlError(`${key}: bad database number ${JSON.stringify(parts[1])}`);
    return { kind: 'sentinel', sentinels: list, name: decodeURIComponent(parts[0]!), db, ...credentials };
  }
  if (scheme === 'redis-cluster') {
    if (parts.length > 0) throw new ClusterUrlError(`${key}: a Redis Cluster has no database number or path`);
    return { kind: 'cluster', seeds: list, ...credentials };
  }
  throw new ClusterUrlError(`${key}: unknown scheme ${JSON.stringify(scheme)}: use redis://, rediss://, redis-sentinel:// or redis-cluster://`);
}

export type RedisClient = Redis | Cluster;

/**
 * A connection to the target. Commands wait while Redis is away (no retry limit) and
 * reconnection never stops: the cluster code decides what it may hold meanwhile.
 *
 * PUBLISH is left out of ioredis's auto-pipelining: the router already gathers a turn's QoS 0
 * forwards into one frame per node, and the pipeline would hold each frame for one more
 * event-loop turn (a setImmediate) and build a pipeline around it: latency and CPU per
 * message at low rates, for nothing.
 */
const NOT_PIPELINED = ['publish'];

export function connectRedis(target: RedisTarget, name: string): RedisClient {
  const common: RedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: NOT_PIPELINED,
    retryStrategy: (times) => Math.min(50 * times, 1000),
    lazyConnect: true,
  };
  if (target.kind === 'single') return new Redis(target.url, common);
  if (target.kind === 'sentinel') {
    return new Redis({
      ...common,
      sentinels: target.sentinels,
      name: target.name,
      db: target.db,
      ...(target.username !== undefined && { username: target.username }),
      ...(target.password !== undefined && { password: target.password, sentinelPassword: target.password }),
    });
  }
  const options: IoClusterOptions = {
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: NOT_PIPELINED,
    clusterRetryStrategy: (times) => Math.min(50 * times, 1000),
    lazyConnect: true,
    redisOptions: {
      connectionName: name,
      maxRetriesPerRequest: null,
      ...(target.username !== undefined && { username: target.username }),
      ...(target.password !== undefined && { password: target.password }),
    },
  };
  return new Cluster(target.seeds, options);
}
