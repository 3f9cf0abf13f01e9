// The SQLite worker: owns the database file on its own thread, so a commit's fsync never
// stalls the broker's event loop. It applies each batch of records in one transaction and
// answers when the transaction is durable (WAL, synchronous=FULL: the commit is on disk when
// COMMIT returns). At start-up it checks the file and sends back everything it holds.

import Database from 'better-sqlite3';
import { parentPort } from 'node:worker_threads';
import type { ColumnBatch } from './columns.js';
import { readAll } from './read.js';
import { ARITY, asBuffer, Op } from './records.js';

export const FORMAT = 1;

export type Request =
  | { type: 'open'; file: string }
  | { type: 'commit'; id: number; ops: unknown[] }
  | { type: 'close' };

export type Reply =
  /** Some of the file's rows, in columns; 'opened' follows the last batch. */
  | { type: 'rows'; batch: ColumnBatch }
  | { type: 'opened'; rows: number; ms: number }
  | { type: 'committed'; id: number; ms: number; records: number }
  | { type: 'closed' }
  | { type: 'error'; id?: number; code: string; message: string };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (client_id TEXT PRIMARY KEY, expiry INTEGER NOT NULL, username TEXT, disconnected_at INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriptions (client_id TEXT NOT NULL, filter TEXT NOT NULL, qos INTEGER NOT NULL, no_local INTEGER NOT NULL,
  retain_as_published INTEGER NOT NULL, retain_handling INTEGER NOT NULL, subscription_id INTEGER, PRIMARY KEY (client_id, filter)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbound (client_id TEXT NOT NULL, packet_id INTEGER NOT NULL, PRIMARY KEY (client_id, packet_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL,
  retain INTEGER NOT NULL, properties TEXT, expires_at INTEGER, origin TEXT);
CREATE TABLE IF NOT EXISTS deliveries (client_id TEXT NOT NULL, packet_id INTEGER NOT NULL, seq INTEGER NOT NULL, message_id INTEGER NOT NULL,
  qos INTEGER NOT NULL, retain INTEGER NOT NULL, subscription_ids TEXT, state INTEGER NOT NULL, PRIMARY KEY (client_id, packet_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL, properties TEXT,
  expires_at INTEGER, origin TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wills (client_id TEXT PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL,
  retain INTEGER NOT NULL, properties TEXT, delay INTEGER NOT NULL, username TEXT, protocol INTEGER NOT NULL, origin TEXT) WITHOUT ROWID;
`;

class SqliteFile {
  private readonly db: Database.Database;
  private readonly run: Array<((args: unknown[]) => void) | undefined> = [];
  private readonly apply: (ops: unknown[]) => number;

  constructor(file: string) {
    this.db = new Database(file, { fileMustExist: false });
    // One process owns the data directory: a second broker on it fails to open (SQLITE_BUSY)
    // instead of corrupting it. In exclusive mode WAL needs no shared-memory index.
    this.db.pragma('locking_mode = EXCLUSIVE');
    this.db.pragma('journal_mode = WAL');
    // FULL: a COMMIT returns once the WAL is synced, which is what `strict` promises.
    this.db.pragma('synchronous = FULL');
    // Freed pages are reused, and the WAL is truncated after checkpoints: the files stop
    // growing under a steady workload.
    this.db.pragma('journal_size_limit = 67108864');
    this.check();
    this.db.exec(SCHEMA);
    const format = this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get('format') as number | undefined;
    if (format === undefined) this.db.prepare('INSERT INTO meta VALUES (?, ?)').run('format', FORMAT);
    else if (format !== FORMAT) throw new StoreFileError('FORMAT', `it was written in store format ${format}, this Starling reads format ${FORMAT}`);
    this.prepare();
    this.apply = this.db.transaction((ops: unknown[]) => {
      let records = 0;
      for (let i = 0; i < ops.length; ) {
        const op = ops[i] as number;
        const n = ARITY[op]!;
        this.run[op]!(ops.slice(i + 1, i + 1 + n));
        i += n + 1;
        records++;
      }
      return records;
    });
  }

  /** quick_check reads every page: a torn or overwritten file is found here, not later. */
  private check(): void {
    const result = this.db.pragma('quick_check', { simple: true }) as string;
    if (result !== 'ok') throw new StoreFileError('CORRUPT', `the integrity check failed: ${result}`);
  }

  private prepare(): void {
    const db = this.db;
    const stmt = (sql: string): ((args: unknown[]) => void) => {
      const s = db.prepare(sql);
      return (args) => void s.run(...args);
    };
    const buffers = (sql: string, at: number[]): ((args: unknown[]) => void) => {
      const s = db.prepare(sql);
      return (args) => {
        for (const i of at) args[i] = asBuffer(args[i] as Uint8Array);
        s.run(...args);
      };
    };
    const delSession = [
      db.prepare('DELETE FROM sessions WHERE client_id = ?'),
      db.prepare('DELETE FROM subscriptions WHERE client_id = ?'),
      db.prepare('DELETE FROM inbound WHERE client_id = ?'),
      db.prepare('DELETE FROM deliveries WHERE client_id = ?'),
    ];
    this.run[Op.PutSession] = stmt('INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?)');
    this.run[Op.DeleteSession] = (args) => {
      for (const s of delSession) s.run(args[0]);
    };
    this.run[Op.PutSubscription] = stmt('INSERT OR REPLACE INTO subscriptions VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.run[Op.DeleteSubscription] = stmt('DELETE FROM subscriptions WHERE client_id = ? AND filter = ?');
    this.run[Op.PutInbound] = stmt('INSERT OR REPLACE INTO inbound VALUES (?, ?)');
    this.run[Op.DeleteInbound] = stmt('DELETE FROM inbound WHERE client_id = ? AND packet_id = ?');
    this.run[Op.PutMessage] = buffers('INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [2]);
    this.run[Op.DeleteMessage] = stmt('DELETE FROM messages WHERE id = ?');
    this.run[Op.PutDelivery] = stmt('INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.run[Op.ReleaseDelivery] = stmt('UPDATE deliveries SET state = 1 WHERE client_id = ? AND packet_id = ?');
    this.run[Op.DeleteDelivery] = stmt('DELETE FROM deliveries WHERE client_id = ? AND packet_id = ?');
    this.run[Op.PutRetained] = buffers('INSERT OR REPLACE INTO retained VALUES (?, ?, ?, ?, ?, ?)', [1]);
    this.run[Op.DeleteRetained] = stmt('DELETE FROM retained WHERE topic = ?');
    this.run[Op.PutWill] = buffers('INSERT OR REPLACE INTO wills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [2]);
    this.run[Op.DeleteWill] = stmt('DELETE FROM wills WHERE client_id = ?');
  }

  commit(ops: unknown[]): number {
    return this.apply(ops);
  }

  /** Sends everything the file holds, in column batches (read.ts). */
  read(send: (batch: ColumnBatch, transfer: ArrayBuffer[]) => void): number {
    return readAll(this.db, send);
  }

  close(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}

/** A problem with the file itself, with a code the main thread turns into advice. */
class StoreFileError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function errorReply(err: unknown, id?: number): Reply {
  const e = err as { code?: string; message?: string };
  return { type: 'error', ...(id !== undefined && { id }), code: e.code ?? 'UNKNOWN', message: e.message ?? String(err) };
}

if (parentPort !== null) {
  const port = parentPort;
  let file: SqliteFile | undefined;
  port.on('message', (req: Request) => {
    switch (req.type) {
      case 'open':
        try {
          const t0 = performance.now();
          file = new SqliteFile(req.file);
          const rows = file.read((batch, transfer) => port.postMessage({ type: 'rows', batch } satisfies Reply, transfer));
          port.postMessage({ type: 'opened', rows, ms: performance.now() - t0 } satisfies Reply);
        } catch (err) {
          port.postMessage(errorReply(err));
        }
        return;
      case 'commit': {
        const t0 = performance.now();
        try {
          const records = file!.commit(req.ops);
          port.postMessage({ type: 'committed', id: req.id, ms: performance.now() - t0, records } satisfies Reply);
        } catch (err) {
          port.postMessage(errorReply(err, req.id));
        }
        return;
      }
      case 'close':
        try {
          file?.close();
        } finally {
          port.postMessage({ type: 'closed' } satisfies Reply);
        }
        return;
    }
  });
}
