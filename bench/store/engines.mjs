// Storage engine comparison for the durable store (issue 4). Not part of the build: the
// engines are not dependencies yet. Run in a scratch folder:
//   npm init -y && npm install better-sqlite3 lmdb classic-level && node engines.mjs
// Writes 64-byte messages (plus ~50 bytes of metadata) in commits of 1, 64 and 1024, each
// durable (fsync) before the next starts, for 2.5 s per case.
import Database from 'better-sqlite3';
import { open } from 'lmdb';
import { ClassicLevel } from 'classic-level';
import { rmSync, mkdirSync } from 'node:fs';
const SECONDS = 2.5;
const rec = (i) => Buffer.concat([Buffer.from(JSON.stringify({ t: 'site/42/device/17/temp', q: 1, i })), Buffer.alloc(64, 0x61)]);
const results = [];
async function run(name, batch, commit) {
  let n = 0; const lat = []; const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    const recs = []; for (let i = 0; i < batch; i++) recs.push([n + i, rec(n + i)]);
    const c0 = performance.now(); await commit(recs); lat.push(performance.now() - c0); n += batch;
  }
  const dt = (performance.now() - t0) / 1000; lat.sort((a, b) => a - b);
  results.push({ engine: name, batch, 'msg/s': Math.round(n / dt), 'commits/s': Math.round(lat.length / dt), 'p50 ms': lat[lat.length >> 1].toFixed(2), 'p99 ms': lat[Math.floor(lat.length * 0.99)].toFixed(2) });
}
for (const batch of [1, 64, 1024]) {
  rmSync('/tmp/engines/db', { recursive: true, force: true }); mkdirSync('/tmp/engines/db');
  const sq = new Database('/tmp/engines/db/s.sqlite'); sq.pragma('journal_mode = WAL'); sq.pragma('synchronous = FULL');
  sq.exec('create table m (id integer primary key, v blob)');
  const ins = sq.prepare('insert into m values (?, ?)');
  const tx = sq.transaction((recs) => { for (const [k, v] of recs) ins.run(k, v); });
  await run('sqlite WAL sync=FULL', batch, (recs) => tx(recs));
  sq.close();
  const lm = open({ path: '/tmp/engines/db/l', compression: false, encoding: 'binary' });
  await run('lmdb (durable commit)', batch, (recs) => lm.transaction(() => { for (const [k, v] of recs) lm.put(k, v); }));
  await lm.close();
  const lv = new ClassicLevel('/tmp/engines/db/lv', { keyEncoding: 'utf8', valueEncoding: 'buffer' }); await lv.open();
  await run('leveldb batch sync', batch, (recs) => lv.batch(recs.map(([k, v]) => ({ type: 'put', key: String(k).padStart(12, '0'), value: v })), { sync: true }));
  await lv.close();
}
console.table(results);
