// The store's Redis connection, from the same URL forms as the cluster's (one server,
// Sentinel, Redis Cluster: src/cluster/config.ts), and the slot of a key.

import { connectRedis as connectTarget, parseRedisUrl, type RedisClient } from '../../cluster/config.js';

export type { RedisClient };

/** A connection for the store (the URL forms of cluster/config.ts; `persistence.redis` in errors). */
export function connectRedis(url: string, name: string): RedisClient {
  return connectTarget(parseRedisUrl(url, 'persistence.redis'), name);
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
