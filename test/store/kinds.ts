// The stores every store test runs against, once each: one behaviour for all of them.

import { spawn } from 'node:child_process';
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, SqliteStore, type Store } from '../../src/index.js';
import { RedisStore } from '../../src/store/index.js';
import { canConnect, CI, freePort } from '../helpers/tools.js';
import { redisServer } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

/** Stores over one data set: each call opens it again (for SQLite, the directory `dir`). */
export type StoreFactory = (() => Store) & { readonly dir?: string };

export interface StoreKind {
  readonly name: 'memory' | 'sqlite' | 'redis';
  /** A new, empty data set. */
  fresh(): StoreFactory;
}

// One exit listener for all the data sets a test file makes.
const cleanups: Array<() => void> = [];
process.once('exit', () => {
  for (const c of cleanups) c();
});

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
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return Object.assign(() => new SqliteStore({ dir }), { dir });
    },
  },
  ...(await redisKind()),
];

/**
 * One redis-server for the whole test file (each data set is a key prefix of its own),
 * killed when the process exits. Without redis-server the kind is left out, except under CI.
 */
async function redisKind(): Promise<StoreKind[]> {
  if (redisServer.path === undefined) {
    if (CI) throw new Error(`redis-server not found: ${redisServer.hint}`);
    process.stderr.write(`# store kinds: redis left out (redis-server not found: ${redisServer.hint})\n`);
    return [];
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'starling-redis-'));
  const child = spawn(redisServer.path, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  child.unref();
  cleanups.push(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await until(`redis-server on port ${port}`, () => canConnect(port), 10_000);
  let sets = 0;
  // A store a test opens only to read it back is never closed: its connection would keep the
  // test file's process alive.
  const opened: RedisStore[] = [];
  after(() => {
    for (const store of opened) store.redis.disconnect();
  });
  return [
    {
      name: 'redis',
      fresh: () => {
        const prefix = `t${++sets}:`;
        return () => {
          const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix, node: 'n1' });
          opened.push(store);
          return store;
        };
      },
    },
  ];
}
