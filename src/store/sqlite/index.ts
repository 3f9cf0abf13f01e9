// The durable store: SQLite (better-sqlite3) in a worker thread, chosen by measurement
// (docs/storage-engines.md). Records queue up on the broker's thread; one commit at a time
// goes to the worker, and the records queued meanwhile form the next one (group commit), so
// the busier the broker, the more records each fsync covers.
//
// Durability:
// - 'strict': flush() resolves once the commit holding every record queued so far has
//   returned, synced to disk; the broker acknowledges QoS 1/2 messages only then.
// - 'batched': flush() never waits; commits (still synced) run at most `batchInterval` ms
//   after the first record queued, so a crash loses at most that window of acknowledged work.

import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Message } from '../../message.js';
import type { Snapshot, Store, StoredDelivery, StoredSessionState, StoredSubscription, StoredWill } from '../types.js';
import { Op, propertiesToJson } from './records.js';
import { SnapshotBuilder } from './snapshot.js';
import type { Reply, Request } from './worker.js';

export const STORE_FILE = 'starling.db';

export interface SqliteStoreOptions {
  /** The data directory; created when missing. */
  dir: string;
  /** Default 'strict'. */
  durability?: 'strict' | 'batched';
  /** 'batched': longest time a record waits for its commit, ms. Default 50. */
  batchInterval?: number;
}

/** The data directory cannot be used; the message says what is wrong and what to do. */
export class StoreError extends Error {}

interface Batch {
  id: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly dir: string;
  readonly file: string;
  onCommit?: (durationMs: number, records: number) => void;

  private readonly strict: boolean;
  private readonly batchInterval: number;
  private worker: Worker | undefined;
  private ops: unknown[] = [];
  /** The batch the queued records will commit in, once somebody waits for it. */
  private next: Batch | undefined;
  /** The batch in the worker now. */
  private inWorker: Batch | undefined;
  private batchIds = 0;
  private timer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private pendingReply: ((reply: Reply) => void) | undefined;
  /** While opening: the snapshot the worker's row batches go into. */
  private loading: SnapshotBuilder | undefined;
  private loadError: Error | undefined;
  /** The last open: rows read, the worker's ms to check and read them, and the whole open's ms. */
  lastOpen: { rows: number; readMs: number; totalMs: number } | undefined;

  constructor(options: SqliteStoreOptions) {
    this.dir = resolve(options.dir);
    this.file = join(this.dir, STORE_FILE);
    this.strict = (options.durability ?? 'strict') === 'strict';
    this.batchInterval = options.batchInterval ?? 50;
  }

  async open(): Promise<Snapshot> {
    this.checkDirectory();
    const worker = new Worker(new URL('./worker.js', import.meta.url));
    this.worker = worker;
    worker.on('message', (reply: Reply) => this.onReply(reply));
    // @types/node 22+ types a worker's 'error' as unknown: a worker can throw a non-Error.
    worker.on('error', (err: unknown) => this.fail(err instanceof Error ? err : new Error(`store worker: ${String(err)}`)));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.fail(new Error(`store worker exited with code ${code}`));
    });
    const t0 = performance.now();
    const builder = (this.loading = new SnapshotBuilder());
    this.loadError = undefined;
    const reply = await this.request({ type: 'open', file: this.file });
    this.loading = undefined;
    if (reply.type === 'error') {
      this.worker = undefined;
      await worker.terminate();
      throw new StoreError(advice(this.file, reply.code, reply.message));
    }
    if (reply.type !== 'opened') throw new StoreError(`${this.file}: unexpected reply ${reply.type}`);
    const err = this.loadError as Error | undefined; // set by onReply while awaiting
    if (err !== undefined) {
      this.loadError = undefined;
      this.worker = undefined;
      await worker.terminate();
      throw new StoreError(advice(this.file, 'CORRUPT', `a row could not be read back: ${err.message}`));
    }
    const snapshot = builder.finish();
    this.lastOpen = { rows: reply.rows, readMs: reply.ms, totalMs: performance.now() - t0 };
    return snapshot;
  }

  /** Refuses a path that is not a usable directory, and a directory that lost its database. */
  private checkDirectory(): void {
    if (existsSync(this.dir)) {
      if (!statSync(this.dir).isDirectory()) {
        throw new StoreError(`data directory ${this.dir} is not a directory. Set persistence.dataDir to a directory.`);
      }
      const files = readdirSync(this.dir);
      if (!files.includes(STORE_FILE) && files.some((f) => f.startsWith(`${STORE_FILE}-`))) {
        throw new StoreError(
          `data directory ${this.dir} has ${STORE_FILE}'s journal but not ${STORE_FILE} itself: the data is incomplete. ` +
            'Restore the directory from a backup, or move it aside to start with an empty store.',
        );
      }
    } else {
      mkdirSync(this.dir, { recursive: true });
    }
  }

  /** The worker keeps the process alive only while it has work: an idle broker can exit. */
  private request(req: Request): Promise<Reply> {
    return new Promise((resolveReply) => {
      this.pendingReply = resolveReply;
      this.worker!.ref();
      this.worker!.postMessage(req);
    });
  }

  private onReply(reply: Reply): void {
    if (reply.type === 'rows') {
      try {
        this.loading?.add(reply.batch);
      } catch (err) {
        this.loadError ??= err as Error;
      }
      return;
    }
    if (reply.type === 'committed') {
      const batch = this.inWorker!;
      this.inWorker = undefined;
      this.onCommit?.(reply.ms, reply.records);
      batch.resolve();
      this.startCommit();
      if (this.inWorker === undefined) this.worker?.unref();
      return;
    }
    if (reply.type === 'error' && reply.id !== undefined) {
      this.fail(new Error(`store commit failed: ${reply.message}`));
      return;
    }
    const waiting = this.pendingReply;
    this.pendingReply = undefined;
    this.worker?.unref();
    waiting?.(reply);
  }

  /** A failed commit leaves the disk state unknown: every waiter is refused, and so is what follows. */
  private fail(err: Error): void {
    this.failure ??= err;
    const waiting = this.pendingReply;
    this.pendingReply = undefined;
    waiting?.({ type: 'error', code: 'WORKER', message: err.message });
    this.inWorker?.reject(err);
    this.next?.reject(err);
    this.inWorker = undefined;
    this.next = undefined;
  }

  private push(...record: unknown[]): void {
    const ops = this.ops;
    for (let i = 0; i < record.length; i++) ops.push(record[i]);
    if (this.strict) {
      // The first record of a batch schedules it: everything queued in this turn joins.
      if (this.next === undefined) {
        this.next = this.newBatch();
        if (this.inWorker === undefined) setImmediate(() => this.startCommit());
      }
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.next ??= this.newBatch();
        this.startCommit();
      }, this.batchInterval);
    }
  }

  private newBatch(): Batch {
    let resolveBatch!: () => void;
    let rejectBatch!: (err: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolveBatch = res;
      rejectBatch = rej;
    });
    promise.catch(() => {}); // a batch nobody waits on still fails quietly here; fail() logs
    return { id: ++this.batchIds, promise, resolve: resolveBatch, reject: rejectBatch };
  }

  /** Sends the queued records to the worker, unless a commit is running (it calls again). */
  private startCommit(): void {
    if (this.inWorker !== undefined || this.worker === undefined) return;
    if (this.ops.length === 0) {
      this.next?.resolve();
      this.next = undefined;
      return;
    }
    const batch = (this.next ??= this.newBatch());
    this.next = undefined;
    if (this.failure !== undefined) {
      batch.reject(this.failure);
      this.ops = [];
      return;
    }
    this.inWorker = batch;
    const ops = this.ops;
    this.ops = [];
    this.worker.ref();
    this.worker.postMessage({ type: 'commit', id: batch.id, ops } satisfies Request);
  }

  flush(): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (!this.strict) return undefined;
    if (this.next !== undefined) return this.next.promise;
    return this.inWorker?.promise;
  }

  async close(): Promise<void> {
    if (this.worker === undefined) return;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // Commit what is queued, one batch after the other, until nothing is left.
    while (this.failure === undefined && (this.ops.length > 0 || this.inWorker !== undefined)) {
      if (this.inWorker === undefined) {
        this.next ??= this.newBatch();
        this.startCommit();
      }
      await this.inWorker?.promise.catch(() => {});
    }
    await this.request({ type: 'close' });
    const worker = this.worker;
    this.worker = undefined;
    await worker.terminate();
  }

  putSession(s: StoredSessionState): void {
    this.push(Op.PutSession, s.clientId, s.expiryInterval, s.username ?? null, s.disconnectedAt ?? null);
  }

  deleteSession(clientId: string): void {
    this.push(Op.DeleteSession, clientId);
  }

  putSubscription(clientId: string, sub: StoredSubscription): void {
    this.push(Op.PutSubscription, clientId, sub.filter, sub.qos, sub.noLocal ? 1 : 0, sub.retainAsPublished ? 1 : 0, sub.retainHandling, sub.subscriptionId ?? null);
  }

  deleteSubscription(clientId: string, filter: string): void {
    this.push(Op.DeleteSubscription, clientId, filter);
  }

  putInbound(clientId: string, packetId: number): void {
    this.push(Op.PutInbound, clientId, packetId);
  }

  deleteInbound(clientId: string, packetId: number): void {
    this.push(Op.DeleteInbound, clientId, packetId);
  }

  putMessage(id: number, m: Message): void {
    this.push(Op.PutMessage, id, m.topic, m.payload, m.qos, m.retain ? 1 : 0, propertiesToJson(m.properties), m.expiresAt ?? null, m.origin ?? null);
  }

  deleteMessage(id: number): void {
    this.push(Op.DeleteMessage, id);
  }

  putDelivery(clientId: string, d: StoredDelivery): void {
    const ids = d.subscriptionIds === undefined ? null : d.subscriptionIds.join(',');
    this.push(Op.PutDelivery, clientId, d.packetId, d.seq, d.messageId, d.qos, d.retain ? 1 : 0, ids, d.state === 'pubrel' ? 1 : 0);
  }

  releaseDelivery(clientId: string, packetId: number): void {
    this.push(Op.ReleaseDelivery, clientId, packetId);
  }

  deleteDelivery(clientId: string, packetId: number): void {
    this.push(Op.DeleteDelivery, clientId, packetId);
  }

  putRetained(m: Message): void {
    this.push(Op.PutRetained, m.topic, m.payload, m.qos, propertiesToJson(m.properties), m.expiresAt ?? null, m.origin ?? null);
  }

  deleteRetained(topic: string): void {
    this.push(Op.DeleteRetained, topic);
  }

  putWill(clientId: string, w: StoredWill): void {
    const m = w.message;
    this.push(Op.PutWill, clientId, m.topic, m.payload, m.qos, m.retain ? 1 : 0, propertiesToJson(m.properties), w.delay, w.username ?? null, w.protocolVersion, m.origin ?? null);
  }

  deleteWill(clientId: string): void {
    this.push(Op.DeleteWill, clientId);
  }
}

/** Turns the worker's error into what an operator can act on. */
function advice(file: string, code: string, message: string): string {
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return `${file} is in use by another process (${message}). Stop the other Starling, or give this one its own persistence.dataDir.`;
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return `cannot open ${file} for reading and writing (${message}). Check the directory's permissions and free space.`;
  }
  if (code === 'FORMAT') return `${file} cannot be read: ${message}. Run the Starling version that wrote it, or move the directory aside to start empty.`;
  // better-sqlite3 built for another Node.js (typically a Node upgrade without a rebuild): the
  // file was never opened, and advice to recover a "damaged" one could cost the operator data.
  if (code === 'ERR_DLOPEN_FAILED') {
    return (
      `the SQLite module (better-sqlite3) did not load on Node.js ${process.version}, so ${file} was not opened (${message}). ` +
      'Rebuild it for this Node.js with "npm rebuild better-sqlite3" where Starling is installed (for a Node.js installed from npm ' +
      'or unpacked by hand, with npm_config_nodedir set to its directory), or run the Node.js it was built for.'
    );
  }
  return (
    `${file} is damaged and was not opened (${code}: ${message}). Starling does not start over data it cannot read. ` +
    `To recover: stop, copy the directory somewhere safe, then try "sqlite3 ${file} .recover | sqlite3 recovered.db" and put recovered.db in its place, ` +
    'or move the directory aside to start with an empty store.'
  );
}
