// One Redis connection from a URL, whatever the deployment: a single server or a replicated
// one (`redis://`, `rediss://`), a Redis Cluster (`redis-cluster://host:port,host:port`, any
// of its masters) or Sentinel (`redis-sentinel://host:port,host:port/masterName`).

import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

export function connectRedis(url: string, options: RedisOptions = {}): RedisClient {
  const m = /^(redis-cluster|redis-sentinel):\/\/(?:([^@/]*)@)?([^/]+)(?:\/([^/?]+))?/.exec(url);
  if (m === null) return new Redis(url, options);
  const [, scheme, auth, hostList, name] = m;
  const hosts = hostList!.split(',').map((h) => {
    const i = h.lastIndexOf(':');
    return i < 0 ? { host: h, port: 6379 } : { host: h.slice(0, i), port: Number(h.slice(i + 1)) };
  });
  const credentials = auth === undefined ? {} : parseAuth(auth);
  if (scheme === 'redis-cluster') return new Cluster(hosts, { redisOptions: { ...options, ...credentials }, lazyConnect: options.lazyConnect ?? false });
  if (name === undefined) throw new Error(`${url}: a Sentinel URL names the master after the hosts: redis-sentinel://host:port,host:port/mymaster`);
  return new Redis({ ...options, ...credentials, sentinels: hosts, name });
}

function parseAuth(auth: string): { username?: string; password: string } {
  const i = auth.indexOf(':');
  if (i < 0) return { password: decodeURIComponent(auth) };
  const username = decodeURIComponent(auth.slice(0, i));
  return { ...(username !== '' && { username }), password: decodeURIComponent(auth.slice(i + 1)) };
}

/** The Redis Cluster slot of a key (CRC16/XMODEM of its hash tag, or of the key), 0..16383. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
