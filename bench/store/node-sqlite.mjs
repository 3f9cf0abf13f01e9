// Could the built-in node:sqlite (Node 22.5+) replace better-sqlite3 in the durable store?
// Not part of the build (node:sqlite has no types in @types/node 20, and Node 20 lacks it).
// Run on Node 22.5 or newer, after `npm run build` (better-sqlite3 built for that Node):
//   node bench/store/node-sqlite.mjs [--seconds 2 --repeats 3 --rows 200000 --synchronous FULL]
// --synchronous OFF takes the fsync out, leaving each engine's own CPU cost per record.
// The commit workload is the store's own for a QoS 1 message to 2 persistent subscribers:
// one commit inserts the message and its 2 deliveries (worker.ts's statements and tables,
// WAL, synchronous=FULL, exclusive locking), the next deletes what was acknowledged, each
// durable before the next starts. The read is read.ts's start-up query shape: one
// group_concat row per range of 32,768 messages, plus a plain row-by-row scan.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' }, repeats: { type: 'string', default: '3' }, rows: { type: 'string', default: '200000' }, synchronous: { type: 'string', default: 'FULL' } } });
const SECONDS = Number(values.seconds);
const REPEATS = Number(values.repeats);
const ROWS = Number(values.rows);
const { DatabaseSync } = await import('node:sqlite');

const SCHEMA = `
CREATE TABLE messages (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL,
  retain INTEGER NOT NULL, properties TEXT, expires_at INTEGER, origin TEXT);
CREATE TABLE deliveries (client_id TEXT NOT NULL, packet_id INTEGER NOT NULL, seq INTEGER NOT NULL, message_id INTEGER NOT NULL,
  qos INTEGER NOT NULL, retain INTEGER NOT NULL, subscription_ids TEXT, state INTEGER NOT NULL, PRIMARY KEY (client_id, packet_id)) WITHOUT ROWID;`;
const PRAGMAS = ['locking_mode = EXCLUSIVE', 'journal_mode = WAL', `synchronous = ${values.synchronous}`, 'journal_size_limit = 67108864'];
const SQL = {
  putMessage: 'INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  putDelivery: 'INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  delDelivery: 'DELETE FROM deliveries WHERE client_id = ? AND packet_id = ?',
  delMessage: 'DELETE FROM messages WHERE id = ?',
};
const payload = Buffer.alloc(64, 0x61);

/** Both engines behind the same four calls; better-sqlite3 used as worker.ts uses it. */
function engines(dir) {
  return {
    'better-sqlite3': () => {
      const db = new Database(join(dir, `b${Math.random()}.db`));
      for (const p of PRAGMAS) db.pragma(p);
      db.exec(SCHEMA);
      const s = Object.fromEntries(Object.entries(SQL).map(([k, v]) => [k, db.prepare(v)]));
      return { s, tx: (fn) => db.transaction(fn)(), all: (sql) => db.prepare(sql).raw().all(), iterate: (sql) => db.prepare(sql).raw().iterate(), close: () => db.close() };
    },
    'node:sqlite': () => {
      const db = new DatabaseSync(join(dir, `n${Math.random()}.db`));
      for (const p of PRAGMAS) db.exec(`PRAGMA ${p}`);
      db.exec(SCHEMA);
      const s = Object.fromEntries(Object.entries(SQL).map(([k, v]) => [k, db.prepare(v)]));
      const raw = (sql) => {
        const st = db.prepare(sql);
        st.setReturnArrays?.(true);
        return st;
      };
      return {
        s,
        tx: (fn) => {
          db.exec('BEGIN');
          try {
            fn();
            db.exec('COMMIT');
          } catch (err) {
            if (db.isTransaction) db.exec('ROLLBACK');
            throw err;
          }
        },
        all: (sql) => raw(sql).all(),
        iterate: (sql) => raw(sql).iterate(),
        close: () => db.close(),
      };
    },
  };
}

function commits(open, batch) {
  const e = open();
  const { s } = e;
  let id = 0;
  let acked = [];
  let messages = 0;
  const lat = [];
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    const c0 = performance.now();
    const done = acked;
    const fresh = [];
    e.tx(() => {
      for (const m of done) {
        s.delDelivery.run('sub-a', m & 0xffff);
        s.delDelivery.run('sub-b', m & 0xffff);
        s.delMessage.run(m);
      }
      for (let i = 0; i < batch; i++) {
        const m = ++id;
        s.putMessage.run(m, `site/42/device/${m % 100}/temp`, payload, 1, 0, null, null, null);
        s.putDelivery.run('sub-a', m & 0xffff, m, m, 1, 0, null, 0);
        s.putDelivery.run('sub-b', m & 0xffff, m, m, 1, 0, null, 0);
        fresh.push(m);
      }
    });
    lat.push(performance.now() - c0);
    acked = fresh;
    messages += batch;
  }
  const dt = (performance.now() - t0) / 1000;
  e.close();
  lat.sort((a, b) => a - b);
  return { rate: messages / dt, p99: lat[Math.floor(lat.length * 0.99)] };
}

function reads(open) {
  const e = open();
  e.tx(() => {
    for (let m = 1; m <= ROWS; m++) e.s.putMessage.run(m, `site/42/device/${m % 100}/temp`, payload, 1, 0, null, null, null);
  });
  const a0 = performance.now();
  let n = 0;
  for (let lo = 0; lo < ROWS; lo += 32768) {
    const [row] = e.all(`SELECT count(*), group_concat(id, ','), group_concat(ifnull(topic, ''), char(0)), CAST(group_concat(payload, '') AS BLOB),
      group_concat(length(payload), ','), group_concat(char(48 + qos), '') FROM messages WHERE id > ${lo} AND id <= ${lo + 32768}`);
    n += Number(row[0]);
  }
  const aggregated = performance.now() - a0;
  const r0 = performance.now();
  let m = 0;
  for (const row of e.iterate('SELECT id, topic, payload, qos, retain, properties, expires_at, origin FROM messages')) m += row.length > 0 ? 1 : 0;
  const rows = performance.now() - r0;
  e.close();
  if (n !== ROWS || m !== ROWS) throw new Error(`read ${n} and ${m} rows of ${ROWS}`);
  return { aggregated, rows };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const dir = mkdtempSync(join(tmpdir(), 'starling-node-sqlite-'));
try {
  const open = engines(dir);
  const names = Object.keys(open);
  const results = new Map(names.map((n) => [n, { commit: new Map(), agg: [], rows: [] }]));
  for (let r = 0; r < REPEATS; r++) {
    // Alternate which engine goes first: the disk and the machine's load drift.
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const batch of [1, 16, 64, 256]) {
      for (const name of order) {
        const res = results.get(name).commit;
        if (!res.has(batch)) res.set(batch, []);
        res.get(batch).push(commits(open[name], batch));
      }
    }
    for (const name of order) {
      const { aggregated, rows } = reads(open[name]);
      results.get(name).agg.push(aggregated);
      results.get(name).rows.push(rows);
    }
  }
  console.log(`node ${process.version}, SQLite ${new DatabaseSync(':memory:').prepare('SELECT sqlite_version() v').get().v} (node:sqlite), ${new Database(':memory:').prepare('SELECT sqlite_version() v').get().v} (better-sqlite3); median of ${REPEATS} runs of ${SECONDS} s, synchronous=${values.synchronous}`);
  console.log('| engine | messages per commit | msg/s | p99 commit ms |');
  console.log('|---|---:|---:|---:|');
  for (const name of names) for (const [batch, runs] of results.get(name).commit) {
    console.log(`| ${name} | ${batch} | ${Math.round(median(runs.map((x) => x.rate))).toLocaleString('en')} | ${median(runs.map((x) => x.p99)).toFixed(2)} |`);
  }
  console.log(`\n| engine | read ${ROWS.toLocaleString('en')} messages, group_concat batches (ms) | row by row (ms) |`);
  console.log('|---|---:|---:|');
  for (const name of names) console.log(`| ${name} | ${median(results.get(name).agg).toFixed(0)} | ${median(results.get(name).rows).toFixed(0)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
