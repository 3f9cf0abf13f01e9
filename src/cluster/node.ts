// One cluster member's side of Redis: three connections (commands, pub/sub, the blocking
// inbox reader), membership, the route announcements, the inbox of QoS 1/2 forwards, the
// retained replication, and what happens when Redis goes away and comes back.
//
// Redis away: local clients keep working (local routing never waits for Redis). QoS 0
// forwards are dropped and counted; QoS 1/2 forwards wait in memory (up to
// cluster.maxPendingForwards) and so do their publishers' acknowledgements. When Redis
// returns the node resyncs: membership, its whole route set, the others' route sets, the
// retained hash, the inbox group; the inbox's unacknowledged entries are read again.

import type { Broker } from '../broker/broker.js';
import type { Router } from '../broker/router.js';
import { decodeMessage, encodeMessage, ClusterKeys } from './wire.js';
import { connectRedis, parseRedisUrl, resolveClusterOptions, type ClusterOptions, type RedisClient, type ResolvedClusterOptions } from './config.js';
import { Membership } from './membership.js';
import { ClusterRouter, MAX_ENTRY_RECORDS, isAnswerFrame, type ForwardSink } from './router.js';
import type { Session } from '../broker/session.js';
import { ReplicatedRetained } from './retained.js';
import { VolatileFlow } from './volatile-flow.js';
import { RedisStore } from '../store/redis/index.js';
import { StoreKeys } from '../store/redis/keys.js';

const ROUTES_SCRIPT = `
local add = cjson.decode(ARGV[4])
local del = cjson.decode(ARGV[5])
if ARGV[3] == '1' then redis.call('DEL', KEYS[1]) end
for i = 1, #add, 1000 do redis.call('SADD', KEYS[1], unpack(add, i, math.min(i + 999, #add))) end
for i = 1, #del, 1000 do redis.call('SREM', KEYS[1], unpack(del, i, math.min(i + 999, #del))) end
local v = redis.call('INCR', KEYS[2])
if ARGV[3] == '1' then
  redis.call('PUBLISH', ARGV[1], 'R' .. cjson.encode({n = ARGV[2], v = v, f = 1}))
else
  redis.call('PUBLISH', ARGV[1], 'R' .. cjson.encode({n = ARGV[2], v = v, a = add, d = del}))
end
return v`;

/** The inbox stream's consumer group (one per inbox: only its node reads it). */
const GROUP = 'node';

export type ClusterState = 'joining' | 'connected' | 'degraded' | 'left';

export interface ClusterStats {
  /** Times the node re-read the cluster's state after Redis came back. */
  resyncs: number;
  /** Inbox entries acknowledged (XACK) after local delivery. */
  inboxAcked: number;
  /** Times the inbox reader paused for a local session with no room (flow control). */
  inboxWaits: number;
  /** Times it delivered past a session that took nothing for cluster.inboxMaxWait. */
  inboxWaitTimeouts: number;
}

/** What each node publishes of itself for the cluster totals. */
export interface NodeCounters {
  /** Distinct filters held on the node. */
  routes: number;
  forwardedMessages: number;
  forwardedBytes: number;
  receivedMessages: number;
}

export class ClusterNode implements ForwardSink {
  readonly options: ResolvedClusterOptions;
  readonly keys: ClusterKeys;
  /** The Redis store's names under the same prefix (a dead node's index of sessions). */
  private readonly storeKeys: StoreKeys;
  readonly cmd: RedisClient;
  readonly sub: RedisClient;
  readonly reader: RedisClient;
  readonly membership: Membership;
  readonly retained = new ReplicatedRetained();
  readonly stats: ClusterStats = { resyncs: 0, inboxAcked: 0, inboxWaits: 0, inboxWaitTimeouts: 0 };
  /** The inbox's flow control: what the sessions it delivered to can take. */
  private readonly flow = new InboxFlow(this);
  /** QoS 0 forwards held back while the clients they go to are behind (volatile-flow.ts). */
  readonly volatileFlow: VolatileFlow;
  router!: ClusterRouter;
  broker: Broker | undefined;
  state: ClusterState = 'joining';
  private joined = false;
  private stopped = false;
  private reading = false;
  private beats = 0;
  /** Set once the broker's own subscriptions are known (its store read back). */
  private routesReady = false;
  private readonly fetching = new Map<string, Promise<void>>();
  private readonly channel: string;
  private resyncing: Promise<void> | undefined;

  constructor(options: ClusterOptions) {
    this.options = resolveClusterOptions(options);
    const target = parseRedisUrl(this.options.redis);
    this.keys = new ClusterKeys(this.options.prefix);
    this.storeKeys = new StoreKeys(this.options.prefix);
    const name = `starling:${this.options.node}`;
    this.cmd = connectRedis(target, name);
    this.sub = connectRedis(target, `${name}:sub`);
    this.reader = connectRedis(target, `${name}:inbox`);
    for (const c of [this.cmd, this.sub, this.reader]) c.on('error', () => {}); // reconnection is ioredis's; state is ours
    this.cmd.defineCommand('starlingRoutes', { numberOfKeys: 2, lua: ROUTES_SCRIPT });
    this.channel = this.keys.channel(this.options.node);
    this.volatileFlow = new VolatileFlow(() => this.broker, (frame) => this.router.receive(frame), isAnswerFrame, this.options.volatileMaxWait);
    this.membership = new Membership(this.cmd, this.keys, this.options.node, this.options.heartbeatInterval, this.options.nodeTimeout, options.onNodeDown);
    this.membership.on('down', (n) => this.nodeDown(n));
    this.membership.on('up', (n) => void this.fetchRoutes(n));
    this.membership.onBeat = () => {
      this.exchangeCounters().catch(() => undefined);
      // A lost broadcast with no change after it would leave a table stale: compare versions now and then.
      if (++this.beats % 5 === 0) this.verifyRoutes().catch(() => undefined);
      for (const n of this.lingering) this.nodeDown(n);
    };
    this.retained.onLocalChange = (m) => this.retainedChanged(m);
  }

  /** The sums of every live node's counters, as last read (heartbeat). */
  totals: NodeCounters & { nodes: number } = { nodes: 1, routes: 0, forwardedMessages: 0, forwardedBytes: 0, receivedMessages: 0 };

  /** This node's counters, as it writes them for the totals. */
  counters(): NodeCounters {
    const r = this.router.stats;
    return { routes: this.router.ownRoutes, forwardedMessages: r.forwardedMessages, forwardedBytes: r.forwardedBytes, receivedMessages: r.receivedMessages };
  }

  /** Writes this node's counters and sums the live nodes' (one heartbeat's work). */
  async exchangeCounters(): Promise<void> {
    if (!this.connected) return;
    await this.cmd.hset(this.keys.stats, this.name, JSON.stringify(this.counters()));
    const all = await this.cmd.hgetall(this.keys.stats);
    const t = { nodes: 0, routes: 0, forwardedMessages: 0, forwardedBytes: 0, receivedMessages: 0 };
    for (const [node, json] of Object.entries(all)) {
      if (!this.membership.alive.has(node)) continue;
      try {
        const c = JSON.parse(json) as Partial<NodeCounters>;
        t.nodes++;
        t.routes += Number(c.routes) || 0;
        t.forwardedMessages += Number(c.forwardedMessages) || 0;
        t.forwardedBytes += Number(c.forwardedBytes) || 0;
        t.receivedMessages += Number(c.receivedMessages) || 0;
      } catch {
        // Another version's counters: not summed.
      }
    }
    this.totals = t;
  }

  get name(): string {
    return this.options.node;
  }

  get connected(): boolean {
    return this.cmd.status === 'ready';
  }

  /** The router factory's part: wraps the broker's local router. */
  wrap(local: Router): ClusterRouter {
    const node = this;
    const access = {
      get deliveryCheck() {
        return node.broker?.hooks.deliveryCheck;
      },
    };
    this.router = new ClusterRouter(local, this.options.node, access, this.options.maxPendingForwards, this.options.volatileWindow, this.options.volatileMaxWait);
    this.router.sink = this;
    return this.router;
  }

  attach(broker: Broker): void {
    this.broker = broker;
  }

  /** Waits for Redis up to `nodeTimeout`; without it the node starts degraded and joins when Redis comes. */
  async join(): Promise<void> {
    this.bindStore();
    this.cmd.on('ready', () => {
      if (this.joined) void this.resync();
    });
    // The pub/sub connection may drop alone: what was broadcast meanwhile is read again.
    this.sub.on('ready', () => {
      if (this.joined && this.state === 'connected') void this.resync();
    });
    this.cmd.on('close', () => {
      if (this.state === 'connected') this.state = 'degraded';
    });
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString(), message));
    const first = Promise.all([this.cmd.connect(), this.sub.connect(), this.reader.connect()]);
    first.catch((err: unknown) => this.broker?.log.debug({ err: (err as Error).message }, 'cluster: Redis connection failed'));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.options.nodeTimeout)));
    const outcome = await Promise.race([first.then(() => 'ok' as const, () => 'failed' as const), timeout]);
    clearTimeout(timer);
    this.joined = true;
    this.membership.start();
    if (outcome === 'ok') await this.resync();
    else {
      this.state = 'degraded';
      this.broker?.log.warn({ redis: redact(this.options.redis) }, 'cluster: Redis not reachable; serving local clients, joining when it comes');
    }
  }

  /**
   * Starts taking the inbox: only once the broker has read its store back, or what waited
   * there for its persistent sessions would find no session and be acknowledged unread.
   */
  startInbox(): void {
    if (!this.routesReady) {
      this.routesReady = true;
      if (this.connected) this.announce(this.router.ownFilters(), [], true);
    }
    if (this.reading || this.stopped) return;
    this.reading = true;
    void this.readInbox();
  }

  /** Writes and reads everything the cluster shares (join, and each time Redis comes back). */
  resync(): Promise<void> {
    this.resyncing ??= this.doResync().finally(() => (this.resyncing = undefined));
    return this.resyncing;
  }

  private async doResync(): Promise<void> {
    try {
      await this.sub.subscribe(this.keys.broadcast, this.channel);
      await this.createGroup();
      await this.membership.announce();
      this.membership.resynced();
      // Not before the store is read back: a restarted member would announce an empty set
      // and the others would stop forwarding to its persistent sessions meanwhile.
      if (this.routesReady) this.announce(this.router.ownFilters(), [], true);
      const names = await this.cmd.smembers(this.keys.nodes);
      const alive = await Promise.all(names.map((n) => (n === this.name ? 0 : this.cmd.exists(this.keys.node(n)))));
      await Promise.all(
        names.map((n, i) => {
          if (alive[i] !== 1) return undefined;
          this.membership.markUp(n);
          return this.fetchRoutes(n, true);
        }),
      );
      await this.loadRetained(false);
      await this.cmd.publish(this.keys.broadcast, Buffer.concat([Buffer.from('J'), Buffer.from(this.name)]));
      if (this.state !== 'joining') this.stats.resyncs++;
      this.state = 'connected';
      this.broker?.log.info({ node: this.name, nodes: this.membership.alive.size }, 'cluster: joined');
    } catch (err) {
      // Redis went away again mid-way: the next 'ready' runs it again.
      this.state = 'degraded';
      this.broker?.log.warn({ err: (err as Error).message }, 'cluster: resync failed; retrying when Redis is back');
    }
  }

  private async createGroup(): Promise<void> {
    try {
      await this.cmd.xgroup('CREATE', this.keys.inbox(this.name), GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  // ---- ForwardSink ----

  sendVolatile(node: string, frame: Buffer): void {
    this.cmd.publish(this.keys.channel(node), frame).catch(() => undefined);
  }

  sendDurable(node: string, frame: Buffer): Promise<unknown> {
    const store = this.sharedStore;
    if (store !== undefined) {
      // In the store's commit: the publisher's records (a QoS 2 packet id above all) and its
      // forwards are in Redis together or not at all. Otherwise a crash between them leaves
      // the id without the forward, and the publisher's resend, taken for a duplicate, is
      // acknowledged and never forwarded.
      store.commitWith([['xadd', this.keys.inbox(node), '*', 'm', frame]]);
      return store.flush()!;
    }
    return this.cmd.xadd(this.keys.inbox(node), '*', 'm', frame);
  }

  /** The broker's Redis store when one MULTI can hold its records and this node's stream commands. */
  private sharedStore: RedisStore | undefined;

  /** Joins the store's commits when they share the Redis server (join()). */
  private bindStore(): void {
    const store = this.broker?.persistence?.store;
    if (!(store instanceof RedisStore) || !store.strict || !store.sharesServerWith(this.cmd)) return;
    this.sharedStore = store;
    // A commit about to go takes the forwards routed so far with it.
    store.beforeCommit = () => this.router.flush();
  }

  announce(add: string[], del: string[], full: boolean): void {
    const run = (this.cmd as unknown as { starlingRoutes(...args: unknown[]): Promise<number> }).starlingRoutes(
      this.keys.routes(this.name),
      this.keys.routeVersion(this.name),
      this.keys.broadcast,
      this.name,
      full ? '1' : '0',
      JSON.stringify(add),
      JSON.stringify(del),
    );
    // A change lost with the connection is covered by the full announcement of the resync.
    run.catch(() => undefined);
  }

  // ---- receiving ----

  private onMessage(channel: string, data: Buffer): void {
    try {
      if (channel === this.channel) {
        this.volatileFlow.receive(data);
        return;
      }
      const kind = String.fromCharCode(data[0]!);
      if (kind === 'R') {
        const m = JSON.parse(data.toString('utf8', 1)) as { n: string; v: number; f?: number; a?: unknown; d?: unknown };
        if (m.n === this.name) return;
        const list = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
        if (m.f === 1) void this.fetchRoutes(m.n, true);
        else if (!this.router.applyChange(m.n, m.v, list(m.a), list(m.d))) void this.fetchRoutes(m.n);
        this.membership.markUp(m.n);
      } else if (kind === 'T') {
        // Its own changes too: every node applies them all in Redis's order, so two nodes
        // setting one topic at once end with the same message (the one Redis took last).
        const n = data.readUInt16BE(1);
        this.retained.applyRemote(decodeMessage(data.subarray(3 + n)));
      } else if (kind === 'J') {
        const node = data.toString('utf8', 1);
        if (node === this.name) return;
        this.membership.markUp(node);
        void this.fetchRoutes(node);
      } else if (kind === 'L') {
        this.membership.markDown(data.toString('utf8', 1), true);
      }
    } catch {
      // Bytes this node cannot read (another version, garbage on the channel): ignored.
    }
  }

  /** Dead nodes still routed to: their inbox holds messages for sessions not yet taken from them. */
  private readonly lingering = new Set<string>();

  /**
   * A node is gone. With the Redis store its persistent sessions stay in its index until a
   * client or a survivor takes them (sessions.ts), and what is forwarded to its inbox
   * meanwhile goes with each (dead-inbox.ts): dropping its routes at once would lose those
   * messages, where a standalone broker queues them for an offline session. So it keeps
   * being routed to until its index is empty (looked at each heartbeat).
   */
  private nodeDown(node: string): void {
    if (!this.membership.dead.has(node)) {
      this.lingering.delete(node);
      return;
    }
    this.cmd.scard(this.storeKeys.nodeSessions(node)).then(
      (n) => {
        if (!this.membership.dead.has(node)) return void this.lingering.delete(node);
        if (n > 0) {
          if (!this.lingering.has(node)) this.broker?.log.info({ node, sessions: n }, 'cluster: node down; still routed to while sessions are left in its index');
          this.lingering.add(node);
        } else {
          this.lingering.delete(node);
          this.router?.dropNode(node);
          this.broker?.log.info({ node }, 'cluster: node down; its routes dropped');
        }
      },
      () => this.lingering.add(node), // Redis away: looked at again next beat
    );
  }

  /** Re-reads the route set of every live node whose version is not the one applied here. */
  async verifyRoutes(): Promise<void> {
    const nodes = [...this.membership.alive].filter((n) => n !== this.name);
    const versions = await Promise.all(nodes.map((n) => this.cmd.get(this.keys.routeVersion(n))));
    nodes.forEach((n, i) => {
      if (Number(versions[i] ?? 0) !== this.router.routeVersion(n)) void this.fetchRoutes(n, true);
    });
  }

  /** Reads a node's whole route set and version in one transaction (one slot). */
  fetchRoutes(node: string, force = false): Promise<void> {
    if (node === this.name) return Promise.resolve();
    const running = this.fetching.get(node);
    if (running !== undefined) return running.then(() => this.fetchRoutes(node, force));
    const p = (async () => {
      try {
        const res = await this.cmd.multi().get(this.keys.routeVersion(node)).smembers(this.keys.routes(node)).exec();
        if (res === null) return;
        const version = Number(res[0]![1] ?? 0);
        const filters = (res[1]![1] ?? []) as string[];
        if (this.membership.dead.has(node)) return;
        this.router.replaceRoutes(node, version, filters, force);
      } catch {
        // Redis away: the resync reads it again.
      } finally {
        this.fetching.delete(node);
      }
    })();
    this.fetching.set(node, p);
    return p;
  }

  /**
   * The inbox: entries not yet acknowledged first (after a restart or a lost connection),
   * then new ones. An entry is acknowledged (XACK, then deleted) once what it delivered here
   * is durable in this node's store.
   */
  private async readInbox(): Promise<void> {
    let from = '0';
    const inbox = this.keys.inbox(this.name);
    while (!this.stopped) {
      if (this.reader.status !== 'ready' || this.state !== 'connected') {
        await sleep(100);
        from = '0';
        continue;
      }
      try {
        const read = this.reader as unknown as { xreadgroupBuffer(...args: string[]): Promise<unknown> };
        const res = (await read.xreadgroupBuffer('GROUP', GROUP, this.name, 'COUNT', '128', 'BLOCK', '1000', 'STREAMS', inbox, from)) as Array<[Buffer, Array<[Buffer, Buffer[] | null]>]> | null;
        const entries = res?.[0]?.[1] ?? [];
        if (entries.length === 0) {
          from = '>';
          continue;
        }
        const ids: string[] = [];
        for (const [id, fields] of entries) {
          // A deleted entry still pending reads as null fields: only acknowledged.
          if (fields !== null && fields.length >= 2) {
            await this.flow.room();
            if (this.stopped) return;
            this.flow.deliver(() => this.router.receive(fields[1]!));
          }
          ids.push(id.toString());
        }
        await this.acknowledge(inbox, ids);
      } catch (err) {
        if (this.stopped) return;
        const msg = String((err as Error).message);
        if (msg.includes('NOGROUP')) await this.createGroup().catch(() => undefined);
        else await sleep(200);
        from = '0';
      }
    }
  }

  /**
   * Takes delivered entries out of the inbox once what they delivered is durable. With the
   * Redis store on the same server, XACK and XDEL go in the store's own commit: a crash
   * cannot fall between the deliveries and the acknowledgement (which would deliver the
   * entries again after a restart: a QoS 2 duplicate), and what is left in the stream is
   * exactly what this node's sessions have not got (dead-inbox.ts relies on it).
   */
  private async acknowledge(inbox: string, ids: string[]): Promise<void> {
    const persistence = this.broker?.persistence;
    const store = this.sharedStore;
    if (store !== undefined) {
      store.commitWith([
        ['xack', inbox, GROUP, ...ids],
        ['xdel', inbox, ...ids],
      ]);
      await persistence!.flush();
    } else {
      await persistence?.flush();
      // Messages passed on to a node that took a session (handover.ts) are in Redis first.
      await this.router.durable(false);
      await this.cmd.xack(inbox, GROUP, ...ids);
      await this.cmd.xdel(inbox, ...ids);
    }
    this.stats.inboxAcked += ids.length;
    const last = ids[ids.length - 1]!;
    if (compareIds(last, this.inboxDone) > 0) this.inboxDone = last;
  }

  /** The highest inbox entry id whose deliveries are committed here ('0-0': none yet). */
  private inboxDone = '0-0';

  /**
   * Resolves once every entry in this node's inbox now has been delivered and committed here
   * (or after `timeoutMs`, false). A session handed to another node waits for it: messages
   * forwarded here for it before the handover travel with it instead of arriving after it
   * left (a restarted node hands sessions over before it has read its inbox otherwise).
   */
  async inboxCaughtUp(timeoutMs: number): Promise<boolean> {
    if (!this.connected || this.stopped) return false;
    const read = this.cmd as unknown as { xrevrange(...args: Array<string | number>): Promise<Array<[string, string[]]>> };
    const [last] = await read.xrevrange(this.keys.inbox(this.name), '+', '-', 'COUNT', 1);
    if (last === undefined) return true;
    const until = Date.now() + timeoutMs;
    while (compareIds(this.inboxDone, last[0]) < 0) {
      if (Date.now() >= until || this.stopped) return false;
      await sleep(5);
    }
    return true;
  }

  // ---- retained ----

  private retainedChanged(m: { topic: string; payload: Buffer }): void {
    if (!this.connected) return; // the resync's merge writes it
    const message = m as Parameters<typeof encodeMessage>[0];
    const enc = encodeMessage(message);
    const name = Buffer.from(this.name);
    const head = Buffer.allocUnsafe(3);
    head[0] = 0x54; // 'T'
    head.writeUInt16BE(name.length, 1);
    // One transaction: the hash and the broadcast in the same order on every node.
    if (this.restoring) {
      // Read back from this node's store: only what Redis lacks; the reload after it applies Redis's copy.
      if (m.payload.length > 0) this.cmd.hsetnx(this.keys.retained, m.topic, enc).catch(() => undefined);
      return;
    }
    const tx = this.cmd.multi();
    if (m.payload.length === 0) tx.hdel(this.keys.retained, m.topic);
    else tx.hset(this.keys.retained, m.topic, enc);
    tx.publish(this.keys.broadcast, Buffer.concat([head, name, enc]));
    tx.exec().catch(() => undefined);
  }

  /** While the broker reads its own store back, Redis's copy wins: only missing topics are written. */
  restoring = false;

  /**
   * Makes the local set the cluster's: Redis's entries are applied here; local ones Redis
   * lacks (it lost them, or they were set while it was away) are written there.
   */
  async loadRetained(redisWins: boolean): Promise<void> {
    const all = await this.cmd.hgetallBuffer(this.keys.retained);
    for (const [, enc] of Object.entries(all)) {
      try {
        this.retained.applyRemote(decodeMessage(enc));
      } catch {
        // An entry this node cannot read is left to the node that wrote it.
      }
    }
    if (redisWins) return;
    for (const m of this.retained.all()) {
      if (all[m.topic] === undefined) await this.cmd.hset(this.keys.retained, m.topic, encodeMessage(m));
    }
  }

  /** Leaves the cluster: the last forwards sent, membership removed, connections closed. */
  async leave(): Promise<void> {
    if (this.state === 'left') return;
    this.router.flush();
    const pending = this.router.durable(false);
    if (pending !== undefined && this.connected) await Promise.race([pending.catch(() => undefined), sleep(2000)]);
    this.stopped = true;
    this.membership.stop();
    if (this.connected) {
      // Bounded: Redis may have gone a moment ago without this node having seen it yet, and a
      // command queued for a reconnection would wait for ever (a broker's close hung on it).
      const goodbye = (async () => {
        await this.cmd.publish(this.keys.broadcast, Buffer.concat([Buffer.from('L'), Buffer.from(this.name)]));
        await this.membership.leave();
      })().catch(() => {
        // Gone anyway: its key expires within nodeTimeout.
      });
      await Promise.race([goodbye, sleep(2000)]);
    }
    this.state = 'left';
    this.volatileFlow.stop();
    this.reader.disconnect();
    this.sub.disconnect();
    // QUIT only on a live connection: queued while Redis is away it would wait for ever.
    if (this.connected) await Promise.race([this.cmd.quit().catch(() => undefined), sleep(1000)]);
    this.cmd.disconnect();
    // The reader's blocked XREADGROUP ends with its connection; its loop sees `stopped`.
  }

  /** SIGKILL in a test: connections dropped, nothing said or removed. */
  crash(): void {
    this.stopped = true;
    this.state = 'left';
    this.membership.stop();
    for (const c of [this.cmd, this.sub, this.reader]) c.disconnect();
  }
}

/**
 * Flow control of the inbox. Redis pushes nothing here: the reader asks for entries, so it
 * asks only while the local sessions that the previous entries went to have room in their
 * queues for one more entry (the sender puts at most MAX_ENTRY_RECORDS messages in one).
 * What they cannot take yet stays in the stream, durable, bounded by Redis's memory
 * (`maxmemory`; with `noeviction` a full Redis refuses the XADD and the publisher gets no
 * PUBACK), instead of being dropped for a full queue after its publisher was acknowledged.
 * Offline sessions are not waited for: they queue as on a standalone broker; nor is an
 * online one whose queue does not shrink for cluster.inboxMaxWait (a client that stopped
 * acknowledging must not hold every other session's traffic).
 */
class InboxFlow {
  /** Sessions delivered to since they last had room. */
  private readonly watched = new Set<Session>();
  /** Sessions waited for in vain: not waited for again until they have room. */
  private readonly ignored = new WeakSet<Session>();

  constructor(private readonly node: ClusterNode) {}

  /** Runs a delivery, noting every session it reaches (through the delivery check the router calls). */
  deliver(run: () => void): void {
    const hooks = this.node.broker?.hooks;
    if (hooks === undefined) {
      run();
      return;
    }
    const check = hooks.deliveryCheck;
    const watched = this.watched;
    hooks.deliveryCheck = (target, message) => {
      watched.add(target as Session);
      return check === undefined || check(target, message);
    };
    try {
      run();
    } finally {
      hooks.deliveryCheck = check;
    }
  }

  /** Resolves once every session watched has room for another entry (or was waited for long enough). */
  async room(): Promise<void> {
    if (this.watched.size === 0) return;
    const broker = this.node.broker;
    if (broker === undefined) return;
    const max = broker.limits.maxQueuedMessages;
    // Room for one more entry (with a queue smaller than one entry: empty).
    const high = Math.max(0, max - MAX_ENTRY_RECORDS);
    let last = -1;
    let since = Date.now();
    let waited = false;
    for (;;) {
      let behind = 0;
      let queued = 0;
      for (const s of this.watched) {
        if (s.peer === undefined || s.queued <= high) {
          this.watched.delete(s);
          this.ignored.delete(s);
        } else if (this.ignored.has(s)) this.watched.delete(s);
        else {
          behind++;
          queued += s.queued;
        }
      }
      if (behind === 0) return;
      if (!waited) {
        waited = true;
        this.node.stats.inboxWaits++;
      }
      const now = Date.now();
      if (last === -1 || queued < last) since = now;
      else if (now - since >= this.node.options.inboxMaxWait) {
        this.node.stats.inboxWaitTimeouts++;
        for (const s of this.watched) this.ignored.add(s);
        this.watched.clear();
        return;
      }
      last = queued;
      await sleep(2);
      if (this.node.state === 'left') return;
    }
  }
}

/** Orders two stream entry ids (`<ms>-<seq>`). */
function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** The URL without its password, for logs. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
