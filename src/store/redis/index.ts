// The Redis store: the Store interface over a Redis 7, so that a cluster's nodes share their
// sessions and any node can take a client over (src/cluster/sessions.ts).
//
// Records queue in memory and go to Redis as one MULTI/EXEC per commit (group commit): the
// first record queued schedules a commit for the end of the current turn of the event loop,
// so every record the packets of that turn caused travels in one round trip. flush()
// resolves when Redis answered the EXEC. Commits are pipelined on one connection, so they
// apply in order. What "answered" means for a crash is Redis's `appendfsync`: docs/durability.md.
//
// Layout (key names in keys.ts; per-client keys tagged `{clientId}`, one slot each):
//   session:{id}  hash  s -> state JSON; sub:<filter> -> subscription JSON; in:<packetId>;
//                       d:<packetId> -> delivery JSON naming its message (ns, mid);
//                       r:<packetId> present once PUBREC came; dm:<packetId> -> the
//                       message itself, written when a session is handed to another node
//   will:{id}     string  the pending will (JSON, message as base64 of encodeMessage)
//   msg:{ns}      hash  mid -> encodeMessage: messages of one run of one node (ns = node/run),
//                       stored once however many deliveries name them (the broker counts
//                       references and deletes a message with its last delivery)
//   node-sessions:{node}  set  client ids with a session or will written by that node
//   runs:{node}   hash  the message namespaces of the node's runs -> when retired (0: live)
//   retained      hash  topic -> encodeMessage, shared with the cluster's retained replication

import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { connectRedis, keySlot, type RedisClient } from './connect.js';
import type { Message } from '../../message.js';
import { decodeMessage, encodeMessage } from '../../cluster/wire.js';
import type { Snapshot, Store, StoredDelivery, StoredSession, StoredSessionState, StoredSubscription, StoredWill } from '../types.js';
import { StoreKeys } from './keys.js';
import { claimOwner, readOwner } from './owner.js';
import { defineGuardedCommit, guardedCommit, type Op } from './guard.js';

export { StoreKeys } from './keys.js';

export interface RedisStoreOptions {
  /** redis://host:port[/db], redis-cluster://..., redis-sentinel://... (connect.ts); ignored when `redis` is given. */
  url?: string;
  /** A connection to use instead (not closed by close()). */
  redis?: RedisClient;
  /** This node's name: its sessions are found under it after a restart. Default 'standalone'. */
  node?: string;
  /** Key prefix (default `starling:`). */
  prefix?: string;
  /** 'strict' (default): flush() waits for Redis's answer. 'batched': it never waits. */
  durability?: 'strict' | 'batched';
  /** 'batched': the longest a record waits for its commit, ms (default 50). */
  batchInterval?: number;
  /**
   * How long the messages of this node's earlier runs are kept after a restart, ms (default
   * 10 minutes): far longer than another node takes between claiming a session and reading it.
   */
  runGrace?: number;
}

/** What Redis holds cannot be read back; the message says which key and what to do. */
export class RedisStoreError extends Error {
  override readonly name = 'RedisStoreError';
}

/** A delivery as one session's hash holds it. */
interface DeliveryRecord {
  seq: number;
  packetId: number;
  qos: 0 | 1 | 2;
  retain: boolean;
  sids?: number[];
  /** The message: hash msg:{ns}, field mid; '' when it is inline (dm:<packetId>). */
  ns: string;
  mid: number;
}

/** One session read from Redis, its deliveries naming messages in `messages`. */
export interface LoadedSession {
  readonly session: StoredSession | undefined;
  readonly will: StoredWill | undefined;
  /** Messages of the session's deliveries, by the ids its deliveries give. */
  readonly messages: Map<number, Message>;
}

interface RawSession {
  clientId: string;
  state: StoredSessionState | undefined;
  subscriptions: StoredSubscription[];
  inbound: number[];
  deliveries: Array<{ record: DeliveryRecord; released: boolean; inline: Buffer | undefined }>;
  will: StoredWill | undefined;
  /** Forward ids of messages delivered to it lately (f:<id>, noteForward). */
  forwards: string[];
}

interface Batch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}


export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly keys: StoreKeys;
  readonly node: string;
  /** This run's message namespace: `node/run`. */
  readonly ns: string;
  readonly redis: RedisClient;
  onCommit?: (durationMs: number, records: number) => void;
  /** Owner keys whose clients' writes a commit refused: another node holds them now. */
  onRefused?: (ownerKeys: string[]) => void;
  /** Run first by close(): what uses this store's connection stops (cluster sessions). */
  readonly beforeClose: Array<() => Promise<void>> = [];

  /** 'strict' durability: flush() waits for Redis (commitWith's commands are then acknowledged with the records). */
  readonly strict: boolean;
  /** Called as a commit starts: last-moment commitWith() calls join it. */
  beforeCommit: (() => void) | undefined;
  private readonly batchInterval: number;
  private readonly ownsConnection: boolean;
  private ops: Op[] = [];
  /** Per op, the owner key guarding it (a client's session or will), when guarded. */
  private guards: Array<string | undefined> = [];
  /**
   * Set by cluster sessions (src/cluster/sessions.ts): a client's session and will are
   * written only while its owner record names this node or nobody (guard.ts). Off, commits
   * are plain MULTI/EXEC as on a standalone Redis store.
   */
  guardOwners = false;
  /** Commits' writes of a client refused because another node owns it now (guard.ts). */
  readonly stats = { refusedWrites: 0 };
  private records = 0;
  /** The batch the queued records will commit in. */
  private next: Batch | undefined;
  /** The last batch sent and not yet answered. */
  private sent: Batch | undefined;
  private scheduled = false;
  private failure: Error | undefined;
  /** Client ids with a session or a will written here: their index entry stays while either does. */
  private readonly sessionsHere = new Set<string>();
  private readonly willsHere = new Set<string>();
  private readonly messagesKey: string;
  private readonly runGrace: number;
  /**
   * Per session read at start-up, the forward ids its last run recorded (noteForward): a
   * passed-on copy of one of them is a duplicate (src/cluster/sessions.ts).
   */
  readonly restoredForwards = new Map<string, Set<string>>();
  /** How long after start-up restoredForwards are kept, then deleted from Redis, ms. */
  forwardsWindow = 60_000;
  /** Called at start-up with the client ids that have restoredForwards, before their sessions are restored. */
  onRestoredForwards: ((clientIds: readonly string[]) => void) | undefined;
  private gcTimer: NodeJS.Timeout | undefined;

  constructor(options: RedisStoreOptions = {}) {
    this.keys = new StoreKeys(options.prefix);
    this.node = options.node ?? 'standalone';
    this.ns = `${this.node}/${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    this.messagesKey = this.keys.messages(this.ns);
    this.strict = options.durability !== 'batched';
    this.batchInterval = options.batchInterval ?? 50;
    this.runGrace = options.runGrace ?? 600_000;
    this.ownsConnection = options.redis === undefined;
    // No retry limit per command: a record waits for Redis to come back rather than being
    // dropped, and the acknowledgements that wait for it wait too.
    this.redis = options.redis ?? connectRedis(options.url ?? 'redis://127.0.0.1:6379', `${options.node ?? 'standalone'}:store`);
    // A lost connection is retried; what it costs shows in the commits that wait for it.
    if (this.ownsConnection) this.redis.on('error', () => {});
  }

  // Start-up.

  async open(): Promise<Snapshot> {
    if (this.ownsConnection && this.redis.status === 'wait') await this.redis.connect();
    const r = this.redis;
    const keys = this.keys;
    const retained: Message[] = [];
    const raw = await r.hgetallBuffer(keys.retained);
    for (const [topic, bytes] of Object.entries(raw)) retained.push(this.decode(bytes, `${keys.retained} field ${topic}`));

    // The sessions this node wrote, unless another node holds them now (it took the client
    // over while this one was down): those leave this node's index.
    const ids = await r.smembers(keys.nodeSessions(this.node));
    const mine: string[] = [];
    for (const id of ids) {
      const owner = await readOwner(r, keys.owner(id));
      if (owner.node !== '' && owner.node !== this.node) {
        await r.srem(keys.nodeSessions(this.node), id);
        continue;
      }
      const claim = await claimOwner(r, keys.owner(id), owner, this.node);
      if (claim.won) mine.push(id);
    }
    const loaded = await this.readSessions(mine);
    const messages = await this.readMessages(loaded);

    // Every message a delivery needs moves into this run's namespace, and the namespaces of
    // earlier runs go. A message of this node's last run keeps its id; one handed over by
    // another node gets a new one above them (the broker numbers on from the highest).
    const renumbered = new Map<Message, number>();
    const snapshotMessages = new Map<number, Message>();
    const own = `${this.node}/`;
    let top = 0;
    for (const s of loaded) {
      for (const d of s.deliveries) {
        if (!d.record.ns.startsWith(own)) continue;
        const m = messages.get(`${d.record.ns}\0${d.record.mid}`);
        if (m === undefined || renumbered.has(m) || snapshotMessages.has(d.record.mid)) continue;
        renumbered.set(m, d.record.mid);
        snapshotMessages.set(d.record.mid, m);
        this.op('hset', this.messagesKey, String(d.record.mid), encodeMessage(m));
        if (d.record.mid > top) top = d.record.mid;
      }
    }
    const sessions: StoredSession[] = [];
    const wills = new Map<string, StoredWill>();
    for (const s of loaded) {
      if (s.will !== undefined) {
        wills.set(s.clientId, s.will);
        this.willsHere.add(s.clientId);
      }
      if (s.state === undefined) {
        this.cop(s.clientId, 'del', keys.session(s.clientId));
        if (s.will === undefined) this.op('srem', keys.nodeSessions(this.node), s.clientId);
        continue;
      }
      this.sessionsHere.add(s.clientId);
      if (s.forwards.length > 0) this.restoredForwards.set(s.clientId, new Set(s.forwards));
      const deliveries: StoredDelivery[] = [];
      for (const d of s.deliveries) {
        const m = d.inline !== undefined ? this.decode(d.inline, `${keys.session(s.clientId)} dm:${d.record.packetId}`) : messages.get(`${d.record.ns}\0${d.record.mid}`);
        let id = 0; // no message: the broker drops the delivery
        if (m !== undefined) {
          id = renumbered.get(m) ?? 0;
          if (id === 0) {
            id = ++top;
            renumbered.set(m, id);
            snapshotMessages.set(id, m);
            this.op('hset', this.messagesKey, String(id), encodeMessage(m));
          }
          this.cop(s.clientId, 'hset', keys.session(s.clientId), `d:${d.record.packetId}`, JSON.stringify({ ...d.record, ns: this.ns, mid: id }));
          if (d.inline !== undefined) this.cop(s.clientId, 'hdel', keys.session(s.clientId), `dm:${d.record.packetId}`);
        }
        deliveries.push(toDelivery(d.record, d.released, id));
      }
      deliveries.sort((a, b) => a.seq - b.seq);
      sessions.push({ ...s.state, subscriptions: s.subscriptions, inboundQos2: s.inbound, deliveries });
    }
    // Earlier runs' messages are not deleted at once: a node that took one of this node's
    // sessions while it was down may be reading them right now (it claimed the session,
    // then reads). They go once retired for runGrace; until then only what no session
    // names any more is kept twice.
    this.op('hset', keys.runs(this.node), this.ns, '0');
    if (this.restoredForwards.size > 0) {
      this.onRestoredForwards?.([...this.restoredForwards.keys()]);
      setTimeout(() => this.dropRestoredForwards(), this.forwardsWindow).unref();
    }
    await this.flush();
    await this.retireRuns();
    this.gcTimer = setInterval(() => void this.retireRuns().catch(() => {}), Math.max(1000, this.runGrace / 2));
    this.gcTimer.unref();
    return { sessions, messages: snapshotMessages, retained, wills };
  }

  /**
   * Reads one client's session and will as they are in Redis now (the cluster's takeover:
   * the caller holds the client id and records the session as its own).
   */
  async loadSession(clientId: string): Promise<LoadedSession> {
    const [s] = await this.readSessions([clientId]);
    const found = await this.readMessages([s!]);
    const messages = new Map<number, Message>();
    const ids = new Map<Message, number>();
    const deliveries: StoredDelivery[] = [];
    for (const d of s!.deliveries) {
      const m = d.inline !== undefined ? this.decode(d.inline, `${this.keys.session(clientId)} dm:${d.record.packetId}`) : found.get(`${d.record.ns}\0${d.record.mid}`);
      if (m === undefined) continue; // its message is gone: nothing to deliver
      let id = ids.get(m);
      if (id === undefined) {
        id = ids.size + 1;
        ids.set(m, id);
        messages.set(id, m);
      }
      deliveries.push(toDelivery(d.record, d.released, id));
    }
    deliveries.sort((a, b) => a.seq - b.seq);
    const session = s!.state && { ...s!.state, subscriptions: s!.subscriptions, inboundQos2: s!.inbound, deliveries };
    return { session, will: s!.will, messages };
  }

  /**
   * Writes a session for another node to take: everything it owns, each delivery with its
   * message inline, so it no longer depends on this node's messages (which this node deletes
   * with their last local reference). Queued after the session's deletion it replaces.
   */
  handOver(session: StoredSession, messages: ReadonlyMap<number, Message>): void {
    const key = this.keys.session(session.clientId);
    const { subscriptions, inboundQos2, deliveries, ...state } = session;
    this.cop(session.clientId, 'hset', key, 's', JSON.stringify(state));
    for (const sub of subscriptions) this.cop(session.clientId, 'hset', key, `sub:${sub.filter}`, JSON.stringify(sub));
    for (const id of inboundQos2) this.cop(session.clientId, 'hset', key, `in:${id}`, '1');
    for (const d of deliveries) {
      const m = messages.get(d.messageId);
      if (m === undefined) continue;
      this.cop(session.clientId, 'hset', key, `d:${d.packetId}`, JSON.stringify(toRecord(d, '', 0)), `dm:${d.packetId}`, encodeMessage(m));
      if (d.state === 'pubrel') this.cop(session.clientId, 'hset', key, `r:${d.packetId}`, '1');
    }
  }

  /**
   * Records, in the commit that holds the delivery, that the message with forward id `id`
   * was delivered to `clientId`'s session (a cluster member, for a session that moved to it
   * lately: a copy its old member passes on may still come, and this run may not be the one
   * that reads it). Read back at start-up into restoredForwards.
   */
  noteForward(clientId: string, id: string): void {
    this.cop(clientId, 'hset', this.keys.session(clientId), `f:${id}`, '1');
  }

  /** Drops what noteForward recorded for `clientId` (its window is over). */
  forgetForwards(clientId: string, ids: readonly string[]): void {
    for (let i = 0; i < ids.length; i += 1000) {
      this.cop(clientId, 'hdel', this.keys.session(clientId), ...ids.slice(i, i + 1000).map((id) => `f:${id}`));
    }
  }

  private dropRestoredForwards(): void {
    for (const [clientId, ids] of this.restoredForwards) if (this.sessionsHere.has(clientId)) this.forgetForwards(clientId, [...ids]);
    this.restoredForwards.clear();
  }

  /** Client ids whose sessions or wills `node` wrote (a dead node's clients). */
  sessionsOf(node: string): Promise<string[]> {
    return this.redis.smembers(this.keys.nodeSessions(node));
  }

  /** Drops a client id from another node's index (its session moved here). */
  unindex(node: string, clientId: string): void {
    if (node === this.node) return;
    this.op('srem', this.keys.nodeSessions(node), clientId);
  }

  /** Marks this node's earlier runs retired, and deletes those retired for runGrace. */
  private async retireRuns(): Promise<void> {
    const key = this.keys.runs(this.node);
    const now = Date.now();
    for (const [ns, at] of Object.entries(await this.redis.hgetall(key))) {
      if (ns === this.ns) continue;
      if (at === '0') this.op('hset', key, ns, String(now));
      else if (now - Number(at) >= this.runGrace) {
        this.op('del', this.keys.messages(ns));
        this.op('hdel', key, ns);
      }
    }
    await this.flush();
  }

  /** Once a dead node's index is empty, its messages are no longer named by anyone. */
  async dropNodeIfEmpty(node: string): Promise<boolean> {
    if ((await this.redis.scard(this.keys.nodeSessions(node))) > 0) return false;
    for (const ns of await this.redis.hkeys(this.keys.runs(node))) this.op('del', this.keys.messages(ns));
    this.op('del', this.keys.runs(node));
    await this.flush();
    return true;
  }

  // Records.

  putSession(state: StoredSessionState): void {
    this.index(state.clientId, this.sessionsHere);
    this.cop(state.clientId, 'hset', this.keys.session(state.clientId), 's', JSON.stringify(state));
  }

  deleteSession(clientId: string): void {
    this.cop(clientId, 'del', this.keys.session(clientId));
    this.unindexHere(clientId, this.sessionsHere, this.willsHere);
  }

  putSubscription(clientId: string, sub: StoredSubscription): void {
    this.cop(clientId, 'hset', this.keys.session(clientId), `sub:${sub.filter}`, JSON.stringify(sub));
  }

  deleteSubscription(clientId: string, filter: string): void {
    this.cop(clientId, 'hdel', this.keys.session(clientId), `sub:${filter}`);
  }

  putInbound(clientId: string, packetId: number): void {
    this.cop(clientId, 'hset', this.keys.session(clientId), `in:${packetId}`, '1');
  }

  deleteInbound(clientId: string, packetId: number): void {
    this.cop(clientId, 'hdel', this.keys.session(clientId), `in:${packetId}`);
  }

  putMessage(id: number, message: Message): void {
    this.op('hset', this.messagesKey, String(id), encodeMessage(message));
  }

  deleteMessage(id: number): void {
    this.op('hdel', this.messagesKey, String(id));
  }

  putDelivery(clientId: string, delivery: StoredDelivery): void {
    const key = this.keys.session(clientId);
    this.cop(clientId, 'hset', key, `d:${delivery.packetId}`, JSON.stringify(toRecord(delivery, this.ns, delivery.messageId)));
    if (delivery.state === 'pubrel') this.cop(clientId, 'hset', key, `r:${delivery.packetId}`, '1');
    else this.cop(clientId, 'hdel', key, `r:${delivery.packetId}`, `dm:${delivery.packetId}`);
  }

  releaseDelivery(clientId: string, packetId: number): void {
    this.cop(clientId, 'hset', this.keys.session(clientId), `r:${packetId}`, '1');
  }

  deleteDelivery(clientId: string, packetId: number): void {
    this.cop(clientId, 'hdel', this.keys.session(clientId), `d:${packetId}`, `r:${packetId}`, `dm:${packetId}`);
  }

  putRetained(message: Message): void {
    this.op('hset', this.keys.retained, message.topic, encodeMessage(message));
  }

  deleteRetained(topic: string): void {
    this.op('hdel', this.keys.retained, topic);
  }

  putWill(clientId: string, will: StoredWill): void {
    this.index(clientId, this.willsHere);
    const { message, ...rest } = will;
    this.cop(clientId, 'set', this.keys.will(clientId), JSON.stringify({ ...rest, m: encodeMessage(message).toString('base64') }));
  }

  deleteWill(clientId: string): void {
    this.cop(clientId, 'del', this.keys.will(clientId));
    this.unindexHere(clientId, this.willsHere, this.sessionsHere);
  }

  /**
   * Queues raw commands into the next commit, so they apply in the same MULTI/EXEC as the
   * records queued with them (the cluster's inbox acknowledgement, node.ts): both or neither.
   */
  commitWith(commands: ReadonlyArray<[string, ...Array<string | Buffer>]>): void {
    for (const c of commands) this.op(...c);
  }

  /** Whether `other` talks to the same Redis server and database (one MULTI can hold both's keys). */
  sharesServerWith(other: RedisClient): boolean {
    if (this.redis instanceof Cluster || other instanceof Cluster) return false;
    const a = this.redis.options;
    const b = other.options;
    return a.host === b.host && a.port === b.port && (a.db ?? 0) === (b.db ?? 0) && a.path === b.path && a.name === b.name;
  }

  // Commits.

  flush(): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (!this.strict) return undefined;
    return this.next?.promise ?? this.sent?.promise;
  }

  async close(): Promise<void> {
    for (const stop of this.beforeClose.splice(0)) await stop();
    if (this.gcTimer) clearInterval(this.gcTimer);
    if (this.next !== undefined) this.commit();
    // Bounded: with Redis gone the last batch and QUIT would wait for a reconnection that
    // may never come. Nothing is lost by not waiting: what was acknowledged was committed.
    const up = this.redis.status === 'ready';
    if (this.sent !== undefined) await Promise.race([this.sent.promise.catch(() => {}), delay(up ? 5000 : 0)]);
    if (!this.ownsConnection) return;
    if (up) await Promise.race([this.redis.quit().catch(() => {}), delay(1000)]);
    this.redis.disconnect();
  }

  /** A write of `clientId`'s session or will: guarded by its owner record when guardOwners. */
  private cop(clientId: string, ...args: Op): void {
    this.op(...args);
    if (this.guardOwners) this.guards[this.guards.length - 1] = this.keys.owner(clientId);
  }

  private op(...args: Op): void {
    this.ops.push(args);
    this.guards.push(undefined);
    this.records++;
    if (this.next === undefined) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Nobody may be waiting for this batch; a failure is reported through flush().
      promise.catch(() => {});
      this.next = { promise, resolve, reject };
    }
    if (!this.scheduled) {
      this.scheduled = true;
      if (this.strict) setImmediate(this.commit);
      else setTimeout(this.commit, this.batchInterval).unref();
    }
  }

  private readonly commit = (): void => {
    // Writes that must land in this commit with the records (the cluster's forwards) come now.
    this.beforeCommit?.();
    this.scheduled = false;
    const batch = this.next;
    if (batch === undefined) return;
    this.next = undefined;
    const ops = this.ops;
    const guards = this.guards;
    const records = this.records;
    this.ops = [];
    this.guards = [];
    this.records = 0;
    this.sent = batch;
    const t0 = performance.now();
    Promise.resolve()
      .then(() => this.send(ops, guards))
      .then(() => {
        if (this.sent === batch) this.sent = undefined;
        this.onCommit?.(performance.now() - t0, records);
        batch.resolve();
      })
      .catch((err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
        if (this.sent === batch) this.sent = undefined;
        batch.reject(this.failure);
      });
  };

  /**
   * One MULTI/EXEC (a guarded Lua script instead when guardOwners: guard.ts); on a Redis
   * Cluster one per slot (a client's records share its slot), all sent at once: each
   * applies whole, but not all at one instant (docs/durability.md).
   */
  private async send(ops: Op[], guards: Array<string | undefined>): Promise<void> {
    const redis = this.redis;
    const groups: Array<{ ops: Op[]; guards: Array<string | undefined> }> = [];
    if (redis instanceof Cluster) {
      const bySlot = new Map<number, { ops: Op[]; guards: Array<string | undefined> }>();
      ops.forEach((op, i) => {
        const slot = keySlot(op[1] as string);
        let g = bySlot.get(slot);
        if (g === undefined) bySlot.set(slot, (g = { ops: [], guards: [] }));
        g.ops.push(op);
        // An id whose hash tag is empty puts its owner record in another slot: unguarded.
        const guard = guards[i];
        g.guards.push(guard !== undefined && keySlot(guard) === slot ? guard : undefined);
      });
      groups.push(...bySlot.values());
    } else groups.push({ ops, guards });
    const answers = await Promise.all(
      groups.map(async (g): Promise<Array<[Error | null, unknown]> | null> => {
        if (!g.guards.some((k) => k !== undefined)) return redis.multi(g.ops).exec();
        defineGuardedCommit(redis);
        const refused = await guardedCommit(redis, this.node, g.ops, g.guards);
        if (refused.length > 0) {
          this.stats.refusedWrites += refused.length;
          this.onRefused?.(refused);
        }
        return [];
      }),
    );
    for (const results of answers) {
      if (results === null) throw new Error('Redis aborted the store transaction');
      for (const [err] of results) if (err) throw err;
    }
  }

  private index(clientId: string, set: Set<string>): void {
    if (set.has(clientId)) return;
    set.add(clientId);
    this.op('sadd', this.keys.nodeSessions(this.node), clientId);
  }

  private unindexHere(clientId: string, set: Set<string>, other: Set<string>): void {
    set.delete(clientId);
    if (!other.has(clientId)) this.op('srem', this.keys.nodeSessions(this.node), clientId);
  }

  // Reading.

  private async readSessions(ids: readonly string[]): Promise<RawSession[]> {
    const out: RawSession[] = [];
    const CHUNK = 256;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      // Sent together (one write, answers in order); on a Redis Cluster each to its slot's node.
      const results = await Promise.all(chunk.map((id) => Promise.all([this.redis.hgetallBuffer(this.keys.session(id)), this.redis.get(this.keys.will(id))])));
      chunk.forEach((id, j) => {
        const [hash, will] = results[j]!;
        out.push(this.parseSession(id, hash, will));
      });
    }
    return out;
  }

  private parseSession(clientId: string, hash: Record<string, Buffer>, willJson: string | null): RawSession {
    const where = this.keys.session(clientId);
    const s: RawSession = { clientId, state: undefined, subscriptions: [], inbound: [], deliveries: [], will: undefined, forwards: [] };
    const released = new Set<string>();
    const inline = new Map<string, Buffer>();
    const records: DeliveryRecord[] = [];
    try {
      for (const [field, value] of Object.entries(hash)) {
        if (field === 's') s.state = JSON.parse(value.toString('utf8')) as StoredSessionState;
        else if (field.startsWith('sub:')) s.subscriptions.push(JSON.parse(value.toString('utf8')) as StoredSubscription);
        else if (field.startsWith('in:')) s.inbound.push(Number(field.slice(3)));
        else if (field.startsWith('d:')) records.push(JSON.parse(value.toString('utf8')) as DeliveryRecord);
        else if (field.startsWith('r:')) released.add(field.slice(2));
        else if (field.startsWith('dm:')) inline.set(field.slice(3), value);
        else if (field.startsWith('f:')) s.forwards.push(field.slice(2));
      }
      if (willJson !== null) {
        const w = JSON.parse(willJson) as Omit<StoredWill, 'message'> & { m: string };
        const { m, ...rest } = w;
        s.will = { ...rest, message: this.decode(Buffer.from(m, 'base64'), this.keys.will(clientId)) };
      }
    } catch (err) {
      if (err instanceof RedisStoreError) throw err;
      throw new RedisStoreError(`cannot read ${where}: ${(err as Error).message}; delete the key to drop that client's session`);
    }
    for (const record of records) {
      const id = String(record.packetId);
      s.deliveries.push({ record, released: released.has(id), inline: record.ns === '' ? inline.get(id) : undefined });
    }
    return s;
  }

  /** The messages the sessions' deliveries name, by `ns\0mid`. */
  private async readMessages(sessions: readonly RawSession[]): Promise<Map<string, Message>> {
    const wanted = new Map<string, Set<number>>();
    for (const s of sessions) {
      for (const d of s.deliveries) {
        if (d.record.ns === '') continue;
        let set = wanted.get(d.record.ns);
        if (set === undefined) wanted.set(d.record.ns, (set = new Set()));
        set.add(d.record.mid);
      }
    }
    const out = new Map<string, Message>();
    for (const [ns, mids] of wanted) {
      const list = [...mids];
      // An array, not spread: a session's queue can name more messages than a call takes arguments.
      const values = await this.redis.hmgetBuffer(this.keys.messages(ns), list.map(String));
      list.forEach((mid, i) => {
        const b = values[i];
        if (b != null) out.set(`${ns}\0${mid}`, this.decode(b, `${this.keys.messages(ns)} field ${mid}`));
      });
    }
    return out;
  }

  private decode(bytes: Buffer, where: string): Message {
    try {
      return decodeMessage(bytes);
    } catch (err) {
      throw new RedisStoreError(`cannot read ${where}: ${(err as Error).message}; a newer Starling may have written it`);
    }
  }
}

function toRecord(d: StoredDelivery, ns: string, mid: number): DeliveryRecord {
  return { seq: d.seq, packetId: d.packetId, qos: d.qos, retain: d.retain, ...(d.subscriptionIds !== undefined && { sids: [...d.subscriptionIds] }), ns, mid };
}

function toDelivery(r: DeliveryRecord, released: boolean, messageId: number): StoredDelivery {
  return {
    seq: r.seq,
    packetId: r.packetId,
    messageId,
    qos: r.qos,
    retain: r.retain,
    ...(r.sids !== undefined && { subscriptionIds: r.sids }),
    state: released ? 'pubrel' : 'publish',
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
