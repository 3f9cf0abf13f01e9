// Stores: the interface (types.ts), the memory store, the durable SQLite store, and the
// Redis store a cluster's nodes share.

import type { PersistenceConfig } from '../config/schema.js';
import { MemoryStore } from './memory/index.js';
import { SqliteStore } from './sqlite/index.js';
import { hostname } from 'node:os';
import { RedisStore } from './redis/index.js';
import type { Store } from './types.js';

export { MemoryStore } from './memory/index.js';
export { SqliteStore, STORE_FILE, StoreError, type SqliteStoreOptions } from './sqlite/index.js';
export { RedisStore, RedisStoreError, StoreKeys, type RedisStoreOptions, type LoadedSession } from './redis/index.js';
export type * from './types.js';

/** What createStore reads of the `persistence` section (`redis`, `node`, `prefix`: store `redis` only). */
export type StoreSettings = Pick<PersistenceConfig, 'store' | 'dataDir' | 'durability' | 'batchInterval'> & {
  readonly redis?: string | undefined;
  readonly node?: string | undefined;
  /** Redis key prefix; a cluster member passes its `cluster.prefix`. */
  readonly prefix?: string | undefined;
  /** `persistence.runGrace` (store `redis`). */
  readonly runGrace?: number | undefined;
};

/** The store the `persistence` config section asks for (opened by the broker's listen()). */
export function createStore(config: StoreSettings): Store {
  if (config.store === 'memory' || config.durability === 'none') return new MemoryStore();
  if (config.store === 'redis') {
    return new RedisStore({ url: config.redis, node: config.node ?? hostname(), durability: config.durability, batchInterval: config.batchInterval, ...(config.prefix !== undefined && { prefix: config.prefix }), ...(config.runGrace !== undefined && { runGrace: config.runGrace }) });
  }
  return new SqliteStore({ dir: config.dataDir, durability: config.durability, batchInterval: config.batchInterval });
}
