// The cluster's router: a decorator of the local one (the Router seam, src/broker/router.ts).
//
// Every node holds the whole cluster's route table in memory: for each other node, the set
// of filters its sessions subscribe to (a filter counts once per node however many sessions
// hold it: this node reference-counts its own and announces only 0 -> 1 and 1 -> 0). A
// PUBLISH is matched locally as before, then against the table; each node with a matching
// filter gets one copy, whatever the number of its subscribers, and delivers it locally
// only: a forwarded message is never forwarded again. With no other node holding a
// matching filter, nothing touches Redis.
//
// Forwards are batched: everything published while the event loop runs one turn leaves in
// one frame per node and QoS class (QoS 0 on the node's pub/sub channel, QoS 1/2 as entries
// of the node's inbox stream, MAX_ENTRY_RECORDS messages at most in one), so one Redis round
// trip carries many messages, and one frame keeps the origin's order.
//
// Flow control (docs/clustering.md): the receiving node reads its inbox only as fast as its
// sessions take (node.ts, InboxFlow); QoS 0 frames carry pings, answered once the receiver
// has processed what came before them. A QoS 0 publish that takes the bytes unanswered for
// by a node beyond cluster.volatileWindow is still sent, and its publisher stops being read
// until the node catches up (back-pressure, as TCP slows the publishers of a standalone
// node that cannot keep up), for cluster.volatileMaxWait at most; a node that stays behind
// longer is shed instead (QoS 0 to it dropped here), until it answers again.
//
// Shared subscriptions are cluster-wide: a `$share/{group}/{filter}` subscription is
// announced like any filter, and the origin node picks one node holding the group (in
// turn), so the group gets one copy across the cluster; that node gives it to one of its
// members. Locally each group lives in a router of its own so that a forwarded "to group g"
// reaches that group only.
//
// Route changes: a node's filters are a Redis set (`keys.routes(node)`) with a version
// (`keys.routeVersion(node)`), changed by one script that also broadcasts the change with
// its version. A receiver applies a change whose version follows the one it holds and
// otherwise re-reads the set, so a lost or reordered broadcast costs one read, never a
// wrong table for long.

import { randomBytes } from 'node:crypto';
import { LocalRouter, type Router, type SubscriptionEntry } from '../broker/router.js';
import type { Session } from '../broker/session.js';
import type { Message } from '../message.js';
import type { StoredSubscription } from '../store/types.js';
import { MatchResult, SubscriptionIndex, SHARE_PREFIX, type SharedGroup } from '../topics/index.js';
import { encodeMessage, decodeMessage, hasProperties, messageBound, writeMessage } from './wire.js';
import { Ghosts } from './handover.js';

/** The frame kinds of a forward batch. */
const TO_SUBSCRIBERS = 0;
const TO_GROUP = 1;
/** QoS 0 flow control: "tell me when you got this far" (key: a sequence number), last in a frame; and its answer. */
const PING = 2;
const PONG = 3;
/** A message for one session only (key: client id and forward id), passed on after a handover. */
const TO_CLIENT = 4;

/**
 * Messages in one inbox entry at most: the receiving node's flow control reads an entry only
 * while its sessions have room for this many more (node.ts, InboxFlow).
 */
export const MAX_ENTRY_RECORDS = 64;

/** While shedding, a ping unanswered this long is sent again on its own (router.pingAgain). */
const PING_TIMEOUT_MS = 2000;

export interface ForwardSink {
  /** Sends one QoS 0 frame to `node` (pub/sub: may be lost). */
  sendVolatile(node: string, frame: Buffer): void;
  /** Appends one QoS 1/2 frame to `node`'s inbox; resolves once Redis acknowledged it. */
  sendDurable(node: string, frame: Buffer): Promise<unknown>;
  /** Whether Redis is reachable now (QoS 0 is not held while it is not). */
  readonly connected: boolean;
  /** Writes this node's filter changes (`full`: the whole set replaces what Redis holds). */
  announce(add: string[], del: string[], full: boolean): void;
}

export interface ClusterRouterStats {
  /** Messages and bytes sent to other nodes (one per node a message went to). */
  forwardedMessages: number;
  forwardedBytes: number;
  /** Frames (Redis commands) that carried them. */
  forwardedFrames: number;
  receivedMessages: number;
  receivedBytes: number;
  /** Forwards not sent: QoS 0 while Redis was away, QoS 1/2 beyond cluster.maxPendingForwards. */
  forwardsDropped: number;
  /** Forwarded messages that found nobody here (the group or filter left meanwhile). */
  undeliverable: number;
  /** QoS 1/2 forwards Redis has not acknowledged yet. */
  pendingForwards: number;
  /** QoS 0 forwards dropped here because the receiving node had not caught up (cluster.volatileWindow). */
  volatileShed: number;
  /** QoS 0 publishes whose publisher was paused because a node they went to had not caught up. */
  volatileWaits: number;
  /** Times a node stayed behind for cluster.volatileMaxWait: its publishers were let go, and it is shed until it answers. */
  volatileWaitTimeouts: number;
}

/** QoS 0 flow control towards one node: bytes sent, and how far it has been seen to process. */
interface Window {
  sent: number;
  /** `sent` at the end of the last turn: what shedding counts (this turn's frames do not). */
  settled: number;
  /** `sent` as it was when the last answered ping left: the receiver has processed that much. */
  confirmed: number;
  /** Pings not answered yet, oldest first; `mark`: `sent` once the frame carrying it left. */
  pings: Array<{ seq: number; at: number; mark: number }>;
  /** Publishers waiting for this node to catch up: resolved by a pong, or by the timer. */
  gate: Gate | undefined;
  /** Waited for in vain (cluster.volatileMaxWait): not waited for again until it catches up. */
  stuck: boolean;
}

interface Gate {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly timer: NodeJS.Timeout;
}

/** Per shared group (the index's own object): whose turn it was, and the group's routing key. */
interface GroupTurn {
  last: string | undefined;
  readonly key: string;
  readonly keyBytes: Buffer;
}

/**
 * What one node gets from the current turn. QoS 0 records are written straight into one
 * frame buffer per node (grown by doubling, first sized like the node's last frame), so a
 * forwarded message costs no allocation of its own; QoS 1/2 records are kept apart, as
 * they leave in entries of MAX_ENTRY_RECORDS.
 */
interface Outgoing {
  /** The QoS 0 frame being written: the origin header, then records; undefined when empty. */
  frame: Buffer | undefined;
  length: number;
  /** Bytes of QoS 0 records in `frame` (the window counts these). */
  volatileBytes: number;
  /** Size of the last frame sent to the node. */
  hint: number;
  durable: Buffer[];
}

interface NodeRoutes {
  version: number;
  readonly filters: Set<string>;
}

export class ClusterRouter implements Router {
  readonly stats: ClusterRouterStats = {
    forwardedMessages: 0,
    forwardedBytes: 0,
    forwardedFrames: 0,
    receivedMessages: 0,
    receivedBytes: 0,
    forwardsDropped: 0,
    undeliverable: 0,
    pendingForwards: 0,
    volatileShed: 0,
    volatileWaits: 0,
    volatileWaitTimeouts: 0,
  };
  /** The cluster's filters: clientId and value are the node name; this node's shared groups too. */
  private readonly table = new SubscriptionIndex<string>();
  private readonly routes = new Map<string, NodeRoutes>();
  /** This node's filters with the number of local subscriptions to each. */
  private readonly own = new Map<string, number>();
  /** What Redis has been told of `own`; `dirty` lists filters that may differ from it. */
  private readonly announced = new Set<string>();
  private readonly dirty = new Set<string>();
  /** One router per local shared group, by its full `$share/g/f` filter. */
  private readonly shared = new Map<string, LocalRouter>();
  private readonly result = new MatchResult<string>();
  /** The nodes one publish has queued a copy for: reused, so a forward allocates no set. */
  private readonly seen = new Set<string>();
  private readonly turns = new WeakMap<SharedGroup<string>, GroupTurn>();
  /** Set by a QoS 0 publish that took a node beyond its window: what its publisher waits for. */
  private gate: Promise<void> | undefined;
  private readonly out = new Map<string, Outgoing>();
  /** The frame header: [u16 origin length][origin]. */
  private readonly head: Buffer;
  /** The message whose TO_SUBSCRIBERS record was written last, and where (a view): copied to the next node it goes to. */
  private recordOf: Message | undefined;
  private record: Buffer = EMPTY;
  private readonly windows = new Map<string, Window>();
  private pingSeq = 0;
  private flushing: NodeJS.Immediate | undefined;
  private announcing = false;
  /** Settles once every QoS 1/2 forward queued so far is acknowledged by Redis (or one failed). */
  private tail: Promise<unknown> = Promise.resolve();
  /** The batch now being gathered: resolved or rejected with its XADDs. */
  private batch: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | undefined;
  private refused = false;
  /** Whether the last message routed queued a QoS 1/2 forward (durable()'s exact answer). */
  private lastForwarded = false;
  sink: ForwardSink | undefined;
  /**
   * Sees the id of each QoS 1/2 message this node forwards or receives while `active`
   * (dead-inbox.ts, SeenForwards): only then is a received record's id read at all.
   */
  forwardIds: { readonly active: boolean; note(id: string): void } | undefined;
  /**
   * Set by ClusterSessions: `copied(id)` says whether the QoS 1/2 forward with that id
   * reached some session here another way first (a dead node's inbox, a copy passed on at a
   * handover); only then does `deliver` run the delivery (`deliver` does it), keeping the
   * forward from those sessions. Most forwards take the plain path, with no closure.
   */
  forwardFilter: { copied(id: string): boolean; deliver(id: string, deliver: () => number): number } | undefined;
  private readonly run = `${randomBytes(6).toString('base64url')}.`;
  private forwardSeq = 0;
  /** The forward id of the QoS 1/2 message being routed, made when first needed. */
  private fid: string | undefined;

  /** Sessions handed to another node lately, still routed here and passed on (handover.ts). */
  readonly ghosts = new Ghosts();
  /** A message for one session handed to this node (a TO_CLIENT record): the session side delivers it. */
  onClientRecord: ((clientId: string, id: string, message: Message) => void) | undefined;

  /** Passes a QoS 1/2 message on to the nodes that lately took sessions it matches, one record each. */
  private toGhosts(message: Message, id: string): void {
    for (const g of this.ghosts.match(message.topic)) {
      if (g.node === this.self) continue;
      this.queue(g.node, TO_CLIENT, Buffer.from(`${g.clientId}\n${id}`, 'utf8'), message);
    }
  }

  /** A record for a session that moved on from here too: after it, to the node this one gave it to. */
  passOn(clientId: string, id: string, message: Message): boolean {
    const node = this.ghosts.nodeOf(clientId);
    if (node === undefined || node === this.self) return false;
    return this.queue(node, TO_CLIENT, Buffer.from(`${clientId}\n${id}`, 'utf8'), message);
  }

  /** Keeps a filter announced (+1) or lets it go (-1) without a subscription: a ghost's routes. */
  holdRoute(filter: string, delta: 1 | -1): void {
    this.hold(filter, delta);
  }

  /** The forward id of the message being delivered locally now, when it has one. */
  deliveringId: string | undefined;

  /** Local deliveries of a message with forward id `id`: deliveringId says which, meanwhile (no closure per message). */
  private deliverLocally(message: Message, id: string | undefined): number {
    if (id === undefined) return this.local.publish(message);
    const outer = this.deliveringId;
    this.deliveringId = id;
    try {
      return this.local.publish(message);
    } finally {
      this.deliveringId = outer;
    }
  }

  /** Runs `deliver` with deliveringId set to `id` (nested routing keeps its own). */
  delivering<T>(id: string, deliver: () => T): T {
    const outer = this.deliveringId;
    this.deliveringId = id;
    try {
      return deliver();
    } finally {
      this.deliveringId = outer;
    }
  }

  private forwardId(): string {
    const id = this.run + (++this.forwardSeq).toString(36);
    if (this.forwardIds?.active === true) this.forwardIds.note(id);
    return id;
  }

  constructor(
    readonly local: Router,
    readonly self: string,
    private readonly access: { readonly deliveryCheck?: ((session: Session, message: Message) => boolean) | undefined },
    private readonly maxPendingForwards: number,
    private readonly volatileWindow = Infinity,
    private readonly volatileMaxWait = 2000,
  ) {
    const origin = Buffer.from(self, 'utf8');
    this.head = Buffer.allocUnsafe(2 + origin.length);
    this.head.writeUInt16BE(origin.length, 0);
    origin.copy(this.head, 2);
  }

  get size(): number {
    let n = this.local.size;
    for (const r of this.shared.values()) n += r.size;
    return n;
  }

  /** Filters held by other nodes (each node's filter once). */
  get remoteRoutes(): number {
    let n = 0;
    for (const [node, r] of this.routes) if (node !== this.self) n += r.filters.size;
    return n;
  }

  /** Distinct filters held on this node. */
  get ownRoutes(): number {
    return this.own.size;
  }

  /** The nodes whose routes are known, with their counts. */
  routeCounts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const [node, r] of this.routes) m.set(node, r.filters.size);
    return m;
  }

  subscribe(session: Session, sub: StoredSubscription): SubscriptionEntry {
    const target = this.routerFor(sub.filter, true)!;
    const before = target.size;
    const entry = target.subscribe(session, sub);
    if (target.size > before) this.hold(sub.filter, 1);
    return entry;
  }

  unsubscribe(session: Session, filter: string): boolean {
    const target = this.routerFor(filter, false);
    if (target === undefined || !target.unsubscribe(session, filter)) return false;
    if (target !== this.local && target.size === 0) this.shared.delete(filter);
    this.hold(filter, -1);
    return true;
  }

  private routerFor(filter: string, create: boolean): Router | undefined {
    if (!filter.startsWith(SHARE_PREFIX)) return this.local;
    let r = this.shared.get(filter);
    if (r === undefined && create) {
      r = new LocalRouter(this.access);
      this.shared.set(filter, r);
    }
    return r;
  }

  private hold(filter: string, delta: 1 | -1): void {
    const n = (this.own.get(filter) ?? 0) + delta;
    if (n > 0) {
      this.own.set(filter, n);
      if (n > 1) return;
      // This node's groups are in the table too: the origin picks among all holders.
      if (filter.startsWith(SHARE_PREFIX)) this.tableAdd(this.self, filter);
    } else {
      this.own.delete(filter);
      if (filter.startsWith(SHARE_PREFIX)) this.tableRemove(this.self, filter);
    }
    this.dirty.add(filter);
    if (!this.announcing) {
      this.announcing = true;
      queueMicrotask(() => this.announceChanges());
    }
  }

  private announceChanges(): void {
    this.announcing = false;
    const add: string[] = [];
    const del: string[] = [];
    for (const f of this.dirty) {
      const has = this.own.has(f);
      if (has === this.announced.has(f)) continue;
      if (has) {
        add.push(f);
        this.announced.add(f);
      } else {
        del.push(f);
        this.announced.delete(f);
      }
    }
    this.dirty.clear();
    if (add.length + del.length > 0) this.sink?.announce(add, del, false);
  }

  /** Every filter of this node, to re-announce whole (join, Redis back). */
  ownFilters(): string[] {
    this.dirty.clear();
    this.announced.clear();
    for (const f of this.own.keys()) this.announced.add(f);
    return [...this.own.keys()];
  }

  publish(message: Message): number {
    // `$` topics are the server's own ($SYS): each member has its own under the same names.
    const own = message.topic.charCodeAt(0) === 0x24;
    // While sessions that moved here may get passed-on copies (SeenForwards active), a QoS
    // 1/2 message has its forward id before its local deliveries, which note it.
    const fid = !own && message.qos > 0 && this.forwardIds?.active === true ? this.forwardId() : undefined;
    // Local deliveries first: one may route another message (a closing connection's will),
    // and `lastForwarded` must end up describing this one.
    // A member whose clients subscribe to nothing (all its traffic goes to others) skips
    // matching against its empty index.
    let count = this.local.size === 0 && this.local instanceof LocalRouter ? 0 : this.deliverLocally(message, fid);
    this.lastForwarded = false;
    this.gate = undefined;
    if (own) return count;
    const pendingBefore = this.stats.pendingForwards;
    this.fid = fid;
    if (this.table.size > 0) count += this.toMembers(message);
    // Sessions this node just handed to another keep getting what reaches here for a while
    // (handover.ts). After the direct copies: a member that gets both reads the direct one
    // first (one frame, in order) and drops the passed-on one by its forward id.
    if (this.ghosts.size > 0 && message.qos > 0) this.toGhosts(message, (this.fid ??= this.forwardId()));
    this.lastForwarded = this.stats.pendingForwards > pendingBefore;
    return count;
  }

  /** Queues `message` for the other members with matching routes. */
  private toMembers(message: Message): number {
    let count = 0;
    const result = this.table.match(message.topic, this.result);
    this.recordOf = undefined;
    // A node holding several matching filters gets one copy. Nothing below routes again
    // (queue() only appends to a batch), so the set is not reused under itself.
    const seen = this.seen;
    let subscribersKey: Buffer | undefined;
    for (const sub of result.subscriptions) {
      const node = sub.value;
      if (node === this.self || seen.has(node)) continue;
      seen.add(node);
      // QoS 1/2: an id of its own (the record's key), so a member can tell a copy it already
      // delivered (dead-inbox.ts, handover.ts).
      subscribersKey ??= message.qos > 0 ? Buffer.from((this.fid ??= this.forwardId()), 'latin1') : EMPTY;
      if (this.queue(node, TO_SUBSCRIBERS, subscribersKey, message)) count++;
    }
    seen.clear();
    const groups = result.groups.length > 0 ? result.groups.slice() : undefined;
    if (groups !== undefined) {
      for (const g of groups) {
        const turn = this.turnOf(g);
        const node = pick(g, turn);
        if (node === undefined) continue;
        if (node === this.self) count += this.shared.get(turn.key)?.publish(message) ?? 0;
        else if (this.queue(node, TO_GROUP, turn.keyBytes, message)) count++;
      }
    }
    this.recordOf = undefined;
    return count;
  }

  private turnOf(g: SharedGroup<string>): GroupTurn {
    let t = this.turns.get(g);
    if (t === undefined) {
      const key = `${SHARE_PREFIX}${g.group}/${g.filter}`;
      t = { last: undefined, key, keyBytes: Buffer.from(key, 'utf8') };
      this.turns.set(g, t);
    }
    return t;
  }

  /**
   * What the publisher of the message routed last waits for before it is read again: set
   * when that QoS 0 message took a node beyond cluster.volatileWindow. The caller pauses
   * the publisher (a connection stops reading its socket while a publish is pending).
   */
  backpressure(): Promise<void> | undefined {
    const g = this.gate;
    this.gate = undefined;
    return g;
  }

  private queue(node: string, kind: number, key: Buffer, message: Message): boolean {
    const qos = message.qos;
    const sink = this.sink;
    if (sink === undefined) return false;
    if (qos === 0) {
      if (!sink.connected) {
        this.stats.forwardsDropped++;
        return false;
      }
      // The receiver has not caught up with what earlier turns sent: dropped here, where it
      // costs nothing, rather than piling up in Redis until it cuts the receiver's pub/sub
      // connection (and everything in its buffer with it). This turn's own messages do not
      // count: a busy node gathers megabytes in one turn, and its pongs are read between turns.
      const w = this.windows.get(node);
      if (w !== undefined && w.settled - w.confirmed > this.volatileWindow) {
        this.stats.volatileShed++;
        this.pingAgain(node, w, sink);
        // A publisher not yet paused: paused now, so that it loses this one message only.
        if (!w.stuck) this.waitFor(w);
        return false;
      }
    } else if (this.stats.pendingForwards >= this.maxPendingForwards) {
      // Not acknowledged to its publisher: the next durable() rejects, so the connection
      // closes without PUBACK/PUBREC and the client sends it again later.
      this.stats.forwardsDropped++;
      this.refused = true;
      return false;
    }
    let o = this.out.get(node);
    if (o === undefined) {
      o = { frame: undefined, length: 0, volatileBytes: 0, hint: 0, durable: [] };
      this.out.set(node, o);
    }
    // One record per message and kind, written once, copied for each further node.
    const again = kind === TO_SUBSCRIBERS && this.recordOf === message;
    let size: number;
    if (qos === 0) {
      if (again) {
        const b = this.reserve(o, this.record.length);
        size = this.record.copy(b, o.length);
        o.length += size;
      } else {
        const encoded = hasProperties(message) ? encodeMessage(message) : undefined;
        const b = this.reserve(o, recordBound(key, message, encoded));
        const start = o.length;
        o.length = writeRecord(b, start, kind, key, message, encoded);
        size = o.length - start;
        if (kind === TO_SUBSCRIBERS) {
          this.recordOf = message;
          this.record = b.subarray(start, o.length);
        }
      }
      o.volatileBytes += size;
      // A turn can read megabytes (libuv reads a socket many times over in one turn): sent in
      // frames of MAX_FRAME_BYTES, so the receiver, which can hold forwards back only between
      // frames (volatile-flow.ts), never delivers much more at once than its clients can buffer.
      if (o.length >= MAX_FRAME_BYTES) this.sendFrame(node, o);
      // This turn's bytes count here (not for shedding): the publisher that takes the node
      // beyond its window is paused now, before it sends more.
      const w = this.windows.get(node);
      if (w !== undefined ? !w.stuck && w.sent + o.volatileBytes - w.confirmed > this.volatileWindow : o.volatileBytes > this.volatileWindow) {
        this.waitFor(w ?? this.window(node));
      }
    } else {
      let record: Buffer;
      if (again) record = this.record;
      else {
        const encoded = hasProperties(message) ? encodeMessage(message) : undefined;
        const b = Buffer.allocUnsafe(recordBound(key, message, encoded));
        record = b.subarray(0, writeRecord(b, 0, kind, key, message, encoded));
        if (kind === TO_SUBSCRIBERS) {
          this.recordOf = message;
          this.record = record;
        }
      }
      size = record.length;
      o.durable.push(record);
      this.stats.pendingForwards++;
      if (this.batch === undefined) {
        let resolve!: () => void;
        let reject!: (e: Error) => void;
        const promise = new Promise<void>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        promise.catch(() => {});
        this.batch = { promise, resolve, reject };
        const prev = this.tail;
        this.tail = Promise.all([prev, promise]);
        this.tail.catch(() => {});
      }
    }
    this.stats.forwardedMessages++;
    this.stats.forwardedBytes += size;
    this.flushing ??= setImmediate(() => this.flush());
    return true;
  }

  /** Sends the QoS 0 frame gathered for `node`, if any. */
  private sendFrame(node: string, o: Outgoing): void {
    const b = o.frame;
    const sink = this.sink;
    if (b !== undefined && sink !== undefined) {
      const w = this.window(node);
      const bytes = o.volatileBytes;
      // A ping every eighth of the window, so the window slides instead of stopping to wait;
      // not one per frame: at a low rate that would double the Redis commands and wake both
      // nodes once more per message (what is sent stays unconfirmed up to an eighth of the window).
      const last = w.pings.at(-1);
      if (w.sent + bytes - (last?.mark ?? w.confirmed) >= this.volatileWindow / 8) {
        const seq = ++this.pingSeq;
        o.length = writeControl(b, o.length, PING, seq);
        w.pings.push({ seq, at: Date.now(), mark: w.sent + bytes });
      }
      w.sent += bytes;
      sink.sendVolatile(node, b.subarray(0, o.length));
      this.stats.forwardedFrames++;
      o.hint = o.length;
    }
    o.frame = undefined;
    o.length = 0;
    o.volatileBytes = 0;
  }

  /** The QoS 0 frame of `o` with room for `n` more bytes (started with the header). */
  private reserve(o: Outgoing, n: number): Buffer {
    let b = o.frame;
    if (b === undefined) {
      b = Buffer.allocUnsafe(Math.max(o.hint, this.head.length + n + PING_ROOM, 4096));
      o.length = this.head.copy(b, 0);
    } else if (o.length + n + PING_ROOM > b.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * b.length, o.length + n + PING_ROOM));
      b.copy(grown, 0, 0, o.length);
      b = grown;
    }
    o.frame = b;
    return b;
  }

  /** Sends what the last loop turn gathered: one frame per node and class. */
  flush(): void {
    this.flushing = undefined;
    const sink = this.sink;
    const batch = this.batch;
    this.batch = undefined;
    const sends: Promise<unknown>[] = [];
    for (const [node, o] of this.out) {
      this.sendFrame(node, o);
      const w = this.windows.get(node);
      if (w !== undefined) w.settled = w.sent;
      if (o.durable.length === 0) continue;
      for (let i = 0; i < o.durable.length && sink !== undefined; i += MAX_ENTRY_RECORDS) {
        const records = o.durable.length <= MAX_ENTRY_RECORDS ? o.durable : o.durable.slice(i, i + MAX_ENTRY_RECORDS);
        const n = records.length;
        const p = sink.sendDurable(node, frame(this.self, records));
        this.stats.forwardedFrames++;
        const done = (): void => {
          this.stats.pendingForwards -= n;
        };
        p.then(done, done);
        sends.push(p);
      }
      o.durable = [];
    }
    if (batch !== undefined) Promise.all(sends).then(() => batch.resolve(), (err: Error) => batch.reject(err));
  }

  private window(node: string): Window {
    let w = this.windows.get(node);
    if (w === undefined) {
      w = { sent: 0, settled: 0, confirmed: 0, pings: [], gate: undefined, stuck: false };
      this.windows.set(node, w);
    }
    return w;
  }

  /**
   * Shedding and the oldest ping unanswered for PING_TIMEOUT_MS: it may be lost (the
   * receiver restarted, or its pub/sub connection dropped) or the receiver may still be far
   * behind. A ping of its own, covering everything sent, tells which: its answer reopens the
   * window; until then the shedding goes on, so a receiver that is only slow is not flooded.
   */
  private pingAgain(node: string, w: Window, sink: ForwardSink): void {
    const now = Date.now();
    const oldest = w.pings[0];
    if (oldest !== undefined && now - oldest.at <= PING_TIMEOUT_MS) return;
    const seq = ++this.pingSeq;
    w.pings = [{ seq, at: now, mark: w.sent }];
    sink.sendVolatile(node, frame(this.self, [frameRecord(PING, String(seq), EMPTY)]));
  }

  /** The message routed now makes its publisher wait for the node of `w` (one gate per node, shared). */
  private waitFor(w: Window): void {
    this.stats.volatileWaits++;
    if (w.gate === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      // The bound: a node that does not catch up (stalled, or its answers lost) must not
      // stop this node's publishers for ever; it is shed from then on, until it answers.
      const timer = setTimeout(() => {
        if (w.gate?.promise !== promise) return;
        this.stats.volatileWaitTimeouts++;
        w.stuck = true;
        this.open(w);
      }, this.volatileMaxWait);
      timer.unref();
      w.gate = { promise, resolve, timer };
    }
    this.gate = w.gate.promise;
  }

  /** Lets the publishers waiting for a node go. */
  private open(w: Window): void {
    const g = w.gate;
    if (g === undefined) return;
    w.gate = undefined;
    clearTimeout(g.timer);
    g.resolve();
  }

  /** A node answered a ping: everything sent to it before that ping is processed there. */
  private pong(node: string, seq: number): void {
    const w = this.windows.get(node);
    if (w === undefined) return;
    const i = w.pings.findIndex((p) => p.seq === seq);
    if (i === -1) return;
    w.confirmed = w.pings[i]!.mark;
    w.pings.splice(0, i + 1);
    if (w.sent - w.confirmed <= this.volatileWindow) {
      w.stuck = false;
      this.open(w);
    }
  }

  /**
   * Settles once every QoS 1/2 forward routed so far is in Redis: the publisher's
   * PUBACK/PUBREC waits for it (ClusterBroker.durable). Undefined when nothing is pending,
   * or (`exact`) when the message routed last forwarded nothing.
   */
  durable(exact: boolean): Promise<void> | undefined {
    if (this.refused) {
      this.refused = false;
      return Promise.reject(new Error('cluster: too many forwards waiting for Redis (cluster.maxPendingForwards)'));
    }
    if (this.stats.pendingForwards === 0) return undefined;
    // `exact`: the caller acknowledges the message routed last (publish hooks are
    // synchronous), so one that forwarded nothing (local traffic) does not wait for Redis.
    if (exact && !this.lastForwarded) return undefined;
    return this.tail.then(() => undefined);
  }

  /** Delivers a frame another node sent: locally only. Bad bytes are counted, never thrown. */
  receive(data: Buffer): number {
    let delivered = 0;
    try {
      const originLen = data.readUInt16BE(0);
      let o = 2 + originLen;
      while (o < data.length) {
        const kind = data[o]!;
        const keyLen = data.readUInt16BE(o + 1);
        const keyAt = o + 3;
        // A plain forward's key is its forward id, wanted only by a ghost or a seen-window:
        // not decoded per message otherwise.
        const key =
          keyLen === 0 || (kind === TO_SUBSCRIBERS && this.ghosts.size === 0 && this.forwardIds?.active !== true) ? '' : data.toString('utf8', keyAt, keyAt + keyLen);
        o = keyAt + keyLen;
        const len = data.readUInt32BE(o);
        o += 4;
        if (kind === PING || kind === PONG) {
          o += len;
          const origin = data.toString('utf8', 2, 2 + originLen);
          // Everything before the ping in this frame (and the frames before it) is processed.
          if (kind === PING) this.sink?.sendVolatile(origin, frame(this.self, [frameRecord(PONG, key, EMPTY)]));
          else this.pong(origin, Number(key));
          continue;
        }
        const message = decodeMessage(data, true, o, o + len);
        o += len;
        this.stats.receivedMessages++;
        this.stats.receivedBytes += len;
        if (kind === TO_CLIENT) {
          // For one session that was handed to this node (handover.ts): "<client id>\n<forward id>".
          const cut = key.indexOf('\n');
          this.onClientRecord?.(key.slice(0, cut), key.slice(cut + 1), message);
          delivered++;
          continue;
        }
        if (key !== '' && kind === TO_SUBSCRIBERS) {
          if (this.forwardIds?.active === true) this.forwardIds.note(key);
          if (this.ghosts.size > 0) this.toGhosts(message, key);
        }
        const n =
          kind === TO_GROUP
            ? (this.shared.get(key)?.publish(message) ?? 0)
            : key === ''
              ? this.deliverLocally(message, undefined)
              : this.forwardFilter?.copied(key) === true
                ? this.forwardFilter.deliver(key, () => this.deliverLocally(message, key))
                : this.deliverLocally(message, key);
        if (n === 0) this.stats.undeliverable++;
        delivered += n;
      }
    } catch {
      this.stats.undeliverable++;
    }
    return delivered;
  }

  // ---- the route table of other nodes ----

  /** A node's whole filter set replaces what was known of it. */
  replaceRoutes(node: string, version: number, filters: readonly string[], force = false): void {
    if (node === this.self) return;
    const old = this.routes.get(node);
    // A read older than the changes applied since is stale (those changes followed a
    // consistent state); `force` after the node re-announced whole (Redis may have restarted
    // empty, and its versions with it).
    if (old !== undefined && !force && version < old.version) return;
    if (old !== undefined) for (const f of old.filters) this.tableRemove(node, f);
    const r: NodeRoutes = { version, filters: new Set() };
    this.routes.set(node, r);
    for (const f of filters) if (this.tableAdd(node, f)) r.filters.add(f);
  }

  /** Applies a change; false when it does not follow the known version (re-read the set). */
  applyChange(node: string, version: number, add: readonly string[], del: readonly string[]): boolean {
    if (node === this.self) return true;
    const r = this.routes.get(node);
    if (r === undefined || version !== r.version + 1) return r !== undefined && version <= r.version;
    r.version = version;
    for (const f of add) if (!r.filters.has(f) && this.tableAdd(node, f)) r.filters.add(f);
    for (const f of del) if (r.filters.delete(f)) this.tableRemove(node, f);
    return true;
  }

  /** A node is gone: nothing more is forwarded to it. */
  dropNode(node: string): void {
    if (node === this.self) return;
    const r = this.routes.get(node);
    if (r === undefined) return;
    for (const f of r.filters) this.tableRemove(node, f);
    this.routes.delete(node);
    this.out.delete(node);
    const w = this.windows.get(node);
    if (w !== undefined) this.open(w);
    this.windows.delete(node);
  }

  /** The version of a node's routes applied here (-1: none). */
  routeVersion(node: string): number {
    return this.routes.get(node)?.version ?? -1;
  }

  knows(node: string): boolean {
    return this.routes.has(node);
  }

  private tableAdd(node: string, filter: string): boolean {
    try {
      this.table.add(node, filter, node);
      return true;
    } catch {
      return false; // a filter this node cannot read: not routed to, never thrown
    }
  }

  private tableRemove(node: string, filter: string): void {
    this.table.remove(node, filter);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The node that takes this message for the group: each holder in turn, by name (members come
 * in no particular order), without sorting or allocating: the smallest name after the last
 * one picked, else the smallest.
 */
function pick(g: SharedGroup<string>, turn: GroupTurn): string | undefined {
  const members = g.members;
  const last = turn.last;
  let next: string | undefined;
  let first: string | undefined;
  for (let i = 0; i < members.length; i++) {
    const name = members[i]!.value;
    if (first === undefined || name < first) first = name;
    if (last !== undefined && name > last && (next === undefined || name < next)) next = name;
  }
  const chosen = next ?? first;
  turn.last = chosen;
  return chosen;
}

/** Whether a frame is a lone answer to a ping (a PONG record, sent on its own): order does not matter for it. */
export function isAnswerFrame(data: Buffer): boolean {
  if (data.length < 2) return false;
  const at = 2 + data.readUInt16BE(0);
  return at < data.length && data[at] === PONG;
}

/** Size at which a QoS 0 frame is sent without waiting for the end of the turn. */
const MAX_FRAME_BYTES = 256 * 1024;

/** Room for a ping record (its key: a sequence number) at the end of a frame. */
const PING_ROOM = 7 + 16;

/** Room writeRecord needs at most (`encoded`: the message's bytes, when it has properties). */
function recordBound(key: Buffer, m: Message, encoded: Buffer | undefined): number {
  return 7 + key.length + (encoded !== undefined ? encoded.length : messageBound(m));
}

/**
 * [u8 kind][u16 key length][key][u32 message length][message] written at `p`; returns its
 * end. A message with properties (5.0) comes `encoded` by the general encoder; the rest is
 * written in place.
 */
function writeRecord(b: Buffer, p: number, kind: number, key: Buffer, m: Message, encoded: Buffer | undefined): number {
  b[p] = kind;
  b.writeUInt16BE(key.length, p + 1);
  const at = p + 3 + key.copy(b, p + 3);
  const start = at + 4;
  const end = encoded !== undefined ? start + encoded.copy(b, start) : writeMessage(b, start, m);
  b.writeUInt32BE(end - start, at);
  return end;
}

/** A ping or pong record whose key is `seq` in decimal, at `p`; returns its end. */
function writeControl(b: Buffer, p: number, kind: number, seq: number): number {
  b[p] = kind;
  const n = b.write(String(seq), p + 3, 'latin1');
  b.writeUInt16BE(n, p + 1);
  b.writeUInt32BE(0, p + 3 + n);
  return p + 7 + n;
}

/** [u8 kind][u16 key length][key][u32 message length][message] */
function frameRecord(kind: number, key: string, message: Buffer): Buffer {
  return frameRecordBytes(kind, key.length === 0 ? EMPTY : Buffer.from(key, 'utf8'), message);
}

function frameRecordBytes(kind: number, k: Buffer, message: Buffer): Buffer {
  const b = Buffer.allocUnsafe(7 + k.length + message.length);
  b[0] = kind;
  b.writeUInt16BE(k.length, 1);
  k.copy(b, 3);
  b.writeUInt32BE(message.length, 3 + k.length);
  message.copy(b, 7 + k.length);
  return b;
}

/** [u16 origin length][origin][records...] */
function frame(origin: string, records: Buffer[]): Buffer {
  const o = Buffer.from(origin, 'utf8');
  const head = Buffer.allocUnsafe(2 + o.length);
  head.writeUInt16BE(o.length, 0);
  o.copy(head, 2);
  return Buffer.concat([head, ...records]);
}
