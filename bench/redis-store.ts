// What a group commit of the Redis store costs (persistence.store: redis): the time from
// flush() to Redis's answer to the MULTI/EXEC, which is what a QoS 1/2 acknowledgement waits
// for, under each Redis fsync policy, beside the SQLite store's strict commit.
//   node dist/bench/redis-store.js [--commits 300] [--records 2,32,512] [--guarded]
//
// Each commit holds `records` records (half messages of 64 bytes, half deliveries), queued
// in one turn of the event loop like the records of a burst of PUBLISHes, then flush() is
// awaited; commits run one after the other. Redis is Debian's redis-server on loopback with
// its data in a temporary folder: `appendfsync always` (every answer after fsync),
// `everysec` (fsync once a second: an answer can be lost with the machine, not with the
// process), and no AOF at all (the answer means in Redis's memory only).
// --guarded: the store as cluster sessions run it, each commit a Lua script that writes a
// session's records only while its owner record names this node (src/store/redis/guard.ts)
// instead of a MULTI/EXEC.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { RedisStore, SqliteStore, type Store } from '../src/store/index.js';
import { freePort, startServer, stopServer } from './processes.js';

const { values: args } = parseArgs({
  options: {
    commits: { type: 'string', default: '300' },
    records: { type: 'string', default: '2,32,512' },
    guarded: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write('Usage: node dist/bench/redis-store.js [--commits 300] [--records 2,32,512] [--guarded]\n');
  process.exit(0);
}
const COMMITS = Number(args.commits);
const SIZES = args.records!.split(',').map(Number);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'starling-redis-bench-'));
process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));

interface Row {
  store: string;
  records: number;
  p50: number;
  p99: number;
  max: number;
  perSecond: number;
}

const payload = Buffer.alloc(64, 'x');
let messageId = 0;

async function measure(store: Store, records: number): Promise<Omit<Row, 'store'>> {
  const times: number[] = [];
  const started = performance.now();
  for (let c = 0; c < COMMITS; c++) {
    for (let r = 0; r < records / 2; r++) {
      const id = ++messageId;
      store.putMessage(id, { topic: `bench/${r}`, payload, qos: 1, retain: false });
      store.putDelivery('bench', { seq: id, packetId: (id % 65535) + 1, messageId: id, qos: 1, retain: false, state: 'publish' });
    }
    const t0 = performance.now();
    await store.flush();
    times.push(performance.now() - t0);
  }
  const elapsed = performance.now() - started;
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { records, p50: at(0.5), p99: at(0.99), max: times.at(-1)!, perSecond: (COMMITS / elapsed) * 1000 };
}

async function redisRun(label: string, extra: string[]): Promise<Row[]> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmp, 'redis-'));
  const server = await startServer(label, port, ['redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...extra]]);
  const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, node: 'bench' });
  await store.open();
  if (args.guarded) {
    store.guardOwners = true;
    await store.redis.hset(store.keys.owner('bench'), 'node', 'bench', 'epoch', '1');
  }
  store.putSession({ clientId: 'bench', expiryInterval: 3600 });
  const rows: Row[] = [];
  for (const n of SIZES) rows.push({ store: args.guarded ? `${label}, guarded` : label, ...(await measure(store, n)) });
  await store.close();
  await stopServer(server);
  return rows;
}

async function sqliteRun(): Promise<Row[]> {
  const store = new SqliteStore({ dir: mkdtempSync(path.join(tmp, 'sqlite-')) });
  await store.open();
  store.putSession({ clientId: 'bench', expiryInterval: 3600 });
  const rows: Row[] = [];
  for (const n of SIZES) rows.push({ store: 'sqlite, durability strict', ...(await measure(store, n)) });
  await store.close();
  return rows;
}

const rows = [
  ...(await redisRun('redis, appendfsync always', ['--appendonly', 'yes', '--appendfsync', 'always'])),
  ...(await redisRun('redis, appendfsync everysec', ['--appendonly', 'yes', '--appendfsync', 'everysec'])),
  ...(await redisRun('redis, no AOF', ['--appendonly', 'no'])),
  ...(await sqliteRun()),
];
const ms = (v: number): string => v.toFixed(2).padStart(7);
process.stdout.write(`${COMMITS} commits per row, one after the other; node ${process.version}, ${os.cpus().length} cores\n\n`);
process.stdout.write('| store | records/commit | p50 ms | p99 ms | max ms | commits/s |\n|---|---:|---:|---:|---:|---:|\n');
for (const r of rows) process.stdout.write(`| ${r.store} | ${r.records} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${Math.round(r.perSecond)} |\n`);
