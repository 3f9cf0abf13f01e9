// The stores every store test runs against, once each: one behaviour for all of them.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, SqliteStore, type Store } from '../../src/index.js';

/** Stores over one data set: each call opens it again (for SQLite, the directory `dir`). */
export type StoreFactory = (() => Store) & { readonly dir?: string };

export interface StoreKind {
  readonly name: 'memory' | 'sqlite';
  /** A new, empty data set. */
  fresh(): StoreFactory;
}

export const storeKinds: readonly StoreKind[] = [
  {
    name: 'memory',
    fresh: () => {
      const store = new MemoryStore();
      return () => store;
    },
  },
  {
    name: 'sqlite',
    fresh: () => {
      const dir = mkdtempSync(join(tmpdir(), 'starling-store-'));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      return Object.assign(() => new SqliteStore({ dir }), { dir });
    },
  },
];
