// Stores: the interface (types.ts), the memory store, and the durable SQLite store.

import type { PersistenceConfig } from '../config/schema.js';
import { MemoryStore } from './memory/index.js';
import { SqliteStore } from './sqlite/index.js';
import type { Store } from './types.js';

export { MemoryStore } from './memory/index.js';
export { SqliteStore, STORE_FILE, StoreError, type SqliteStoreOptions } from './sqlite/index.js';
export type * from './types.js';

/** The store the `persistence` config section asks for (opened by the broker's listen()). */
export function createStore(config: PersistenceConfig): Store {
  if (config.store === 'memory' || config.durability === 'none') return new MemoryStore();
  return new SqliteStore({ dir: config.dataDir, durability: config.durability, batchInterval: config.batchInterval });
}
