// Cluster sessions: a client id lives on one node at a time, and its persistent session lives
// in Redis (the Redis store, src/store/redis/), so any node can take it over.
//
// - A CONNECT on node B for a client id that node A holds: B asks A (a control message on
//   A's session channel) to let it go. A disconnects its client (0x8E Session taken over),
//   settles the will the way the new CONNECT decides [MQTT-3.1.3-9], writes the session with
//   its in-flight and queued messages to Redis, drops it and answers. B then takes the
//   client id (compare-and-set on owner and epoch, src/store/redis/owner.ts), reads the
//   session and makes it its own; CONNACK follows as on one node.
// - A's heartbeat key is gone (A died): B takes the client id directly; the session is in
//   Redis as far as A's last commit, which is as far as A acknowledged anything.
// - Two nodes taking one client id at once: one compare-and-set wins; the other sees the
//   winner and asks it to let go, so the latest CONNECT ends up connected, once.
// - A dead node's clients: one survivor (SET NX lock with an expiry) takes every session of
//   the dead node's index, so their subscriptions keep collecting messages, and publishes
//   their wills once (publishWillsOf).
//
// Every wait is bounded (takeoverTimeout); a CONNECT that cannot get its client id in time
// is refused with 0x89 Server busy, never let in beside another connection.

import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../store/redis/connect.js';
import type { Broker } from '../broker/broker.js';
import type { Connection } from '../broker/connection.js';
import { storedSubscription, type Session } from '../broker/session.js';
import type { ClientInfo } from '../broker/types.js';
import { cancelWill, publishWill } from '../broker/will.js';
import type { Message } from '../message.js';
import { RedisStore } from '../store/redis/index.js';
import { ClusterBroker } from './broker.js';
import { claimOwner, dropOwner, readOwner, type Owner } from '../store/redis/owner.js';
import type { StoredDelivery, StoredSession } from '../store/types.js';
import { installFence } from './fence.js';
import { deliverDeadInbox, deliverTo, SeenForwards, type DeadInboxStats } from './dead-inbox.js';
import type { ClusterRouter } from './router.js';

export interface ClusterSessionsOptions {
  /** Longest wait for another node to let a client id go, ms (default 5000). */
  readonly takeoverTimeout?: number;
  /** How often to look for dead nodes whose clients need a survivor, ms (default 2000; 0: never). */
  readonly deadNodeCheck?: number;
  /** How long the survivor's lock on a dead node's wills holds, ms (default 30000). */
  readonly willsLockTtl?: number;
  /**
   * How long after a session left a dead node its inbox is read again for it, ms: by then
   * every member has seen the node dead and forwards nothing more to it (default 5000; a
   * cluster member's is its cluster.nodeTimeout).
   */
  readonly deadInboxGrace?: number;
}

export interface ClusterSessionStats {
  /** Client ids taken from another live node, from a dead one, and given away. */
  takenFromLive: number;
  takenFromDead: number;
  givenAway: number;
  /** Sessions of dead nodes this node took, and their wills it published. */
  adoptedFromDead: number;
  deadWillsPublished: number;
  /** CONNECTs refused because the client id could not be had in time. */
  refused: number;
  /** Owner records deleted as their sessions ended here. */
  ownersDropped: number;
}

interface Control {
  t: 'release' | 'released';
  id: string;
  cid: string;
  from: string;
  clean?: boolean;
}

const MAX_ATTEMPTS = 5;
/** Forward ids recorded per session that moved here lately (`recording`), and in all; beyond, not recorded. */
const MAX_RECORDED = 100_000;
const MAX_RECORDED_TOTAL = 1_000_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ClusterSessions {
  readonly stats: ClusterSessionStats = { takenFromLive: 0, takenFromDead: 0, givenAway: 0, adoptedFromDead: 0, deadWillsPublished: 0, refused: 0, ownersDropped: 0 };
  /** What dead nodes' inboxes gave the sessions that left them (dead-inbox.ts). */
  readonly inboxStats: DeadInboxStats = { entriesRead: 0, messagesDelivered: 0, inboxesRetired: 0, duplicatesSkipped: 0 };
  /** Forward ids seen while a session taken from a dead node may get more of its inbox (ClusterRouter.forwardIds). */
  readonly seen = new SeenForwards(1_000_000);
  private readonly deadInboxGrace: number;
  readonly node: string;
  private readonly redis: RedisClient;
  private readonly sub: RedisClient;
  private readonly takeoverTimeout: number;
  /**
   * While a holder is asked to let a client id go, how often its heartbeat key is looked at
   * (a tenth of deadInboxGrace, which is nodeTimeout on a member; 50 to 500 ms).
   */
  private readonly deadPoll: number;
  private readonly willsLockTtl: number;
  private readonly waiting = new Map<string, (ok: boolean) => void>();
  /** Per client id, the tail of the operations on it: one at a time on this node. */
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Client ids whose sessions are being handed to another node right now. */
  private readonly handing = new Set<string>();
  private readonly ready: Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  /** The cluster member's router (handover.ts: ghosts of sessions handed away, records for one session). */
  router: ClusterRouter | undefined;
  /** Handover counters: messages for a session that came here passed on by its old node: delivered, dropped as copies, passed on again (it moved on), or finding no session. */
  readonly handoverStats = { received: 0, delivered: 0, duplicates: 0, passedOn: 0, unclaimed: 0, dropped: 0 };
  /** Client ids being taken here now, with what their old node passed on before the session was loaded. */
  private readonly arriving = new Map<string, Array<{ id: string; message: Message }>>();
  /**
   * Per client id held here lately, its stays: SeenForwards marks from when its subscriptions
   * entered the router to when it left (Infinity: still here). A message seen within one
   * reached the session here.
   */
  private readonly stays = new Map<string, Array<{ from: number; to: number }>>();
  /**
   * Sessions that moved here lately, with the forward ids of what was delivered to them
   * since (recorded in Redis with each delivery, store.noteForward): a copy their old node
   * passes on is known for one even by the next run of this node, if it restarts before
   * reading it (it gets the store's restoredForwards). At most MAX_RECORDED per session and
   * MAX_RECORDED_TOTAL in all (`recorded`): beyond, such a copy can be delivered twice.
   */
  private readonly recording = new Map<string, string[]>();
  private recorded = 0;
  /** Waits (at most the given ms) until this member's inbox is delivered: set on a cluster member. */
  beforeRelease: ((timeoutMs: number) => Promise<unknown>) | undefined;
  private sweeping = false;
  private stopped = false;

  constructor(
    private readonly broker: Broker,
    readonly store: RedisStore,
    options: ClusterSessionsOptions = {},
  ) {
    this.node = store.node;
    this.redis = store.redis;
    const r = store.redis;
    this.sub = r instanceof Cluster ? r.duplicate() : r.duplicate({ lazyConnect: false });
    this.takeoverTimeout = options.takeoverTimeout ?? 5000;
    this.willsLockTtl = options.willsLockTtl ?? 30_000;
    this.deadInboxGrace = options.deadInboxGrace ?? 5000;
    this.deadPoll = Math.min(500, Math.max(50, Math.floor(this.deadInboxGrace / 10)));
    store.onRestoredForwards = this.restored;
    this.sub.on('messageBuffer', (_channel: Buffer, data: Buffer) => this.onControl(data));
    this.sub.on('error', (err: Error) => broker.log.warn({ err: err.message }, 'cluster sessions: Redis subscriber error'));
    this.ready = this.sub.subscribe(store.keys.sessionChannel(this.node)).then(() => undefined);
    this.ready.catch(() => {});
    const every = options.deadNodeCheck ?? 2000;
    if (every > 0) {
      this.timer = setInterval(() => void this.sweepDeadNodes(), every);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const done of this.waiting.values()) done(false);
    this.sub.disconnect();
  }

  /**
   * Takes `clientId` for this node (asking its live holder to let go, or straight from a
   * dead one) and makes its session from Redis local, then runs `open` while no other
   * takeover of the client id can run on this node. Rejects when it cannot in time.
   */
  acquire<T>(clientId: string, clean: boolean, open: () => T): Promise<T> {
    return this.serial(clientId, async () => {
      await this.ready;
      if (!this.arriving.has(clientId)) this.arriving.set(clientId, []);
      try {
        return await this.take(clientId, clean, open);
      } finally {
        this.arriving.delete(clientId);
      }
    });
  }

  private async take<T>(clientId: string, clean: boolean, open: () => T): Promise<T> {
    const key = this.store.keys.owner(clientId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const owner = await readOwner(this.redis, key);
      if (owner.node === this.node) return open();
      const live = owner.node !== '' && (await this.alive(owner.node));
      if (live) {
        const answer = await this.askRelease(owner.node, clientId, clean);
        // Died while asked (a killed node's clients reconnect before its heartbeat key
        // expires): taken from it dead, on the next attempt, not refused.
        if (answer === 'dead') continue;
        if (answer === 'timeout') break;
      }
      const claim = await claimOwner(this.redis, key, owner, this.node);
      if (!claim.won) continue;
      if (owner.node !== '') {
        if (live) this.stats.takenFromLive++;
        else this.stats.takenFromDead++;
      }
      // Taken from a dead node: what its inbox still holds for the session comes with it.
      await this.adopt(clientId, owner, clean, owner.node !== '' && !live);
      return open();
    }
    this.stats.refused++;
    throw new Error(`client id ${clientId} could not be taken over in time`);
  }

  /**
   * A message the old node of a session taken here passed on for it (handover.ts): to that
   * session alone, unless this node's router gave it the same message already.
   */
  clientRecord(clientId: string, id: string, message: Message): void {
    this.handoverStats.received++;
    const session = this.broker.sessions.get(clientId);
    const pending = this.arriving.get(clientId);
    if (this.deliveredHere(clientId, id)) {
      this.handoverStats.duplicates++;
      return;
    }
    if (session === undefined) {
      // Held until the session is loaded, as many as its queue could hold (limits.maxQueuedMessages).
      if (pending !== undefined) {
        if (pending.length < this.broker.limits.maxQueuedMessages) pending.push({ id, message });
        else this.handoverStats.dropped++;
      }
      else if (this.router?.passOn(clientId, id, message) === true) this.handoverStats.passedOn++;
      else this.handoverStats.unclaimed++;
      return;
    }
    const router = this.router;
    const n = router === undefined ? deliverTo(session, message, this.broker.hooks) : router.delivering(id, () => deliverTo(session, message, this.broker.hooks));
    if (n > 0) this.handoverStats.delivered++;
    // The same message passed on along another way is a copy now.
    this.noteCopy(clientId, id);
  }

  /**
   * The router's forwardFilter: a QoS 1/2 forward that reached some session that moved here
   * lately by another way first (a dead node's inbox, a copy passed on at a handover; both
   * note "<client id>\n<forward id>") is delivered to every matching session but those.
   * Without it, a message a sender routed both to a dead node and here, read for a session
   * from the dead node's inbox before it came through this node's own, reached that session
   * twice (a QoS 2 duplicate, the real cluster's crash test).
   */
  readonly copies = {
    /** Whether the forward `id` reached some session here another way (one look). */
    copied: (id: string): boolean => this.seen.at(`\n${id}`) > 0,
    deliver: (id: string, deliver: () => number): number => {
      let holders: Set<string> | undefined;
      for (const clientId of this.stays.keys()) if (this.seen.at(`${clientId}\n${id}`) > 0) (holders ??= new Set()).add(clientId);
      if (holders === undefined) return deliver();
      const hooks = this.broker.hooks;
      const check = hooks.deliveryCheck;
      const has = holders;
      hooks.deliveryCheck = (target, message) => !has.has(target.id) && (check === undefined || check(target, message));
      try {
        return deliver();
      } finally {
        hooks.deliveryCheck = check;
      }
    },
  };

  /** The message with forward id `id` reached `clientId`'s session here by another way than this node's router. */
  noteCopy(clientId: string, id: string): void {
    this.seen.note(`${clientId}\n${id}`);
    this.seen.note(`\n${id}`);
  }

  /** Whether the message with forward id `id` reached `clientId`'s session on this node already. */
  private deliveredHere(clientId: string, id: string): boolean {
    // Delivered by this node's last run (it restarted since): recorded with the delivery.
    if (this.store.restoredForwards.get(clientId)?.has(id) === true) return true;
    const stays = this.stays.get(clientId);
    if (stays === undefined) return false;
    if (this.seen.at(`${clientId}\n${id}`) > 0) return true;
    const at = this.seen.at(id);
    return at > 0 && stays.some((s) => at >= s.from && at <= s.to);
  }

  /** The session of `clientId` is in this node's router from now on (`from`) or left it (Infinity -> now). */
  private stay(clientId: string, from: number | undefined): void {
    let stays = this.stays.get(clientId);
    if (from === undefined) {
      const last = stays?.at(-1);
      if (last !== undefined && last.to === Infinity) last.to = this.seen.now;
      return;
    }
    if (stays === undefined) this.stays.set(clientId, (stays = []));
    const entry = { from, to: Infinity };
    stays.push(entry);
    setTimeout(() => {
      const list = this.stays.get(clientId);
      if (list === undefined) return;
      const i = list.indexOf(entry);
      if (i !== -1 && entry.to !== Infinity) list.splice(i, 1);
      if (list.length === 0) this.stays.delete(clientId);
    }, 4 * this.deadInboxGrace).unref();
  }

  /** Records for 4 x deadInboxGrace what reaches `session`, which just moved here (`recording`). */
  private record(clientId: string): void {
    const ids: string[] = [];
    this.recording.set(clientId, ids);
    setTimeout(() => {
      this.recorded -= ids.length;
      if (this.recording.get(clientId) !== ids) return;
      this.recording.delete(clientId);
      // Still here (release() ends the recording: a session handed on is written anew).
      if (ids.length > 0 && this.broker.sessions.get(clientId)?.stored === true) this.store.forgetForwards(clientId, ids);
    }, 4 * this.deadInboxGrace).unref();
  }

  /**
   * Start-up: sessions this node's last run had taken lately (the store read forward ids
   * recorded for them) may still get copies from their old nodes' ghosts, as well as the
   * same messages directly: they are treated as just arrived (a stay from now, recorded).
   */
  private readonly restored = (clientIds: readonly string[]): void => {
    const mark = this.seen.open(3 * this.deadInboxGrace);
    for (const clientId of clientIds) {
      this.stay(clientId, mark);
      this.record(clientId);
    }
  };

  /** Persistence's hook: a delivery to a session in `recording` notes its forward id. */
  readonly delivered = (session: Session): void => {
    const id = this.router?.deliveringId;
    if (id === undefined) return;
    const ids = this.recording.get(session.clientId);
    if (ids === undefined || ids.length >= MAX_RECORDED || this.recorded >= MAX_RECORDED_TOTAL) return;
    ids.push(id);
    this.recorded++;
    this.store.noteForward(session.clientId, id);
  };

  /**
   * A dead node's clients: this node takes their sessions (so they keep collecting their
   * messages until they reconnect, here or elsewhere) and publishes their wills. One
   * survivor does it: the lock is SET NX with an expiry, so a survivor that dies midway
   * leaves the rest to the next. Resolves to the wills published (0 when another has the lock).
   */
  async publishWillsOf(deadNode: string): Promise<number> {
    if (deadNode === this.node) return 0;
    const got = await this.redis.set(this.store.keys.willsLock(deadNode), this.node, 'PX', this.willsLockTtl, 'NX');
    if (got !== 'OK') return 0;
    let wills = 0;
    for (const clientId of await this.store.sessionsOf(deadNode)) {
      wills += await this.serial(clientId, async () => {
        const key = this.store.keys.owner(clientId);
        const owner = await readOwner(this.redis, key);
        if (owner.node !== '' && owner.node !== deadNode) {
          // Its client reconnected elsewhere already: that node took session and will. A live
          // one takes it out of the dead node's index itself, in the commit that records the
          // session as its own, after reading it: taken out here first, the index could empty
          // and dropNodeIfEmpty delete the dead node's messages before that node read the
          // deliveries naming them (they would be dropped, and their packet ids used again
          // for other messages while the client still waited for their PUBREL).
          if (!(await this.alive(owner.node))) this.store.unindex(deadNode, clientId);
          return 0;
        }
        const claim = await claimOwner(this.redis, key, owner, this.node);
        if (!claim.won) return 0;
        this.stats.adoptedFromDead++;
        return this.adopt(clientId, owner, false, owner.node === deadNode);
      });
    }
    await this.store.flush();
    if (await this.store.dropNodeIfEmpty(deadNode)) this.retireInboxLater(deadNode);
    this.stats.deadWillsPublished += wills;
    if (wills > 0) this.broker.log.info({ node: deadNode, wills }, 'cluster sessions: published the wills of a dead node');
    return wills;
  }

  // Taking a session.

  /**
   * Makes the session of `clientId` in Redis this node's: recorded again under this node
   * (its deliveries' messages moved to this node's messages), its subscriptions in the
   * router. A will left by a dead holder is settled as after a restart. Resolves to 1 when
   * a will went out at once.
   */
  private async adopt(clientId: string, from: Owner, clean: boolean, fromDead: boolean): Promise<number> {
    const broker = this.broker;
    const persistence = broker.persistence!;
    if (from.node !== '') broker.log.debug({ clientId, node: from.node, dead: fromDead }, 'cluster sessions: taking a session from another node');
    const stale = broker.sessions.get(clientId);
    if (stale !== undefined) broker.sessions.end(stale);
    const loaded = await this.store.loadSession(clientId);
    if (from.node !== '') this.store.unindex(from.node, clientId);
    const stored = loaded.session;
    let session: Session | undefined;
    if (stored !== undefined && clean) this.store.deleteSession(clientId);
    // From here on, a message this node sees forwarded reaches the session through its router
    // (remembered only for a session that comes from another node: its copies may follow it).
    const moved = from.node !== '';
    const mark = moved ? this.seen.open(3 * this.deadInboxGrace) : 0;
    this.router?.ghosts.remove(clientId, this.hold);
    if (stored !== undefined && !clean) session = this.restore(stored, loaded.messages);
    if (session !== undefined && moved) {
      this.stay(clientId, mark);
      this.record(clientId);
      // What its old node passed on before it was loaded here.
      for (const p of this.arriving.get(clientId)?.splice(0) ?? []) this.clientRecord(clientId, p.id, p.message);
    }
    if (session !== undefined && fromDead) await this.takeDeadInbox(clientId, session, from.node, '-', mark);
    let published = 0;
    const will = loaded.will;
    if (will !== undefined) {
      const client: ClientInfo = { id: clientId, protocolVersion: will.protocolVersion, username: will.username, remoteAddress: '', listener: '', keepalive: 0 };
      // Recorded under this node, so it is deleted here once settled.
      persistence.connected({ id: clientId, username: will.username, protocolVersion: will.protocolVersion } as Connection, will.message, will.delay);
      broker.sessions.restoreWill(client, will.message, will.delay);
      if (session === undefined || session.willPublish === undefined) published = 1;
    }
    await this.store.flush();
    return published;
  }

  /**
   * What a dead node's inbox holds for a session that left it: now, and once more after
   * deadInboxGrace (a sender that had not yet seen the node dead may have added to it), each
   * entry once, a message this node's router already gave the session skipped.
   */
  private async takeDeadInbox(clientId: string, session: Session, dead: string, after: string, mark: number): Promise<void> {
    const inbox = this.store.keys.inbox(dead);
    const stats = this.inboxStats;
    const [entries, skipped] = [stats.entriesRead, stats.duplicatesSkipped];
    // What it delivers is noted for the session: a copy of it coming through this node's own
    // inbox afterwards is kept from it (copies).
    const { delivered, last } = await deliverDeadInbox(this.redis, inbox, session, this.broker.hooks, stats, after, (id) => this.seen.since(id, mark), (id) => this.noteCopy(clientId, id));
    this.broker.log.debug(
      { clientId, node: dead, read: after === '-' ? 'first' : 'again', entries: stats.entriesRead - entries, delivered, skipped: stats.duplicatesSkipped - skipped, last },
      "cluster sessions: a dead node's inbox delivered to a session that left it",
    );
    if (after !== '-') return;
    const timer = setTimeout(() => {
      void this.serial(clientId, async () => {
        // Gone from here meanwhile (taken over, ended): what came later is lost for it (docs).
        if (this.stopped || this.broker.sessions.get(clientId) !== session) return;
        await this.takeDeadInbox(clientId, session, dead, last, mark);
        await this.store.flush();
      }).catch((err: unknown) => this.broker.log.warn({ err: (err as Error).message, clientId }, 'cluster sessions: reading a dead node\'s inbox again failed'));
    }, this.deadInboxGrace);
    timer.unref();
  }

  /** One session read from Redis, as Persistence.restore() rebuilds one at start-up. */
  private restore(stored: StoredSession, messages: ReadonlyMap<number, Message>): Session | undefined {
    const broker = this.broker;
    const persistence = broker.persistence!;
    const now = Date.now();
    const elapsed = stored.disconnectedAt === undefined ? 0 : now - stored.disconnectedAt;
    if (stored.expiryInterval < 0xffffffff && elapsed >= stored.expiryInterval * 1000) {
      this.store.deleteSession(stored.clientId);
      return undefined;
    }
    const session = broker.sessions.restore(stored.clientId, stored.expiryInterval, stored.username);
    persistence.sessionSaved(session, stored.disconnectedAt ?? now);
    for (const id of stored.inboundQos2) session.addInboundQos2(id);
    for (const sub of stored.subscriptions) broker.subscribe(session, sub);
    for (const d of stored.deliveries) {
      const m = messages.get(d.messageId);
      if (m !== undefined) session.restoreDelivery(m, d.qos, d.retain, d.subscriptionIds, d.packetId, d.state);
    }
    // Recorded again as this node's: same packet ids and order, messages in this node's run.
    session.forEachOutbound((out) => {
      out.stored = false;
      persistence.deliveryAdded(session, out);
      if (out.state === 'pubrel') persistence.deliveryReleased(session, out);
    });
    broker.sessions.scheduleExpiry(session, elapsed);
    return session;
  }

  // Giving a session away.

  /** Another node takes `clientId`: disconnect its client, write its session, drop it. */
  private readonly hold = (filter: string, delta: 1 | -1): void => this.router?.holdRoute(filter, delta);

  private async release(clientId: string, clean: boolean, to?: string): Promise<void> {
    const broker = this.broker;
    // Still starting: the sessions read back from Redis are not in the registry yet.
    for (let waited = 0; !broker.ready && !this.stopped && waited < this.takeoverTimeout; waited += 20) await sleep(20);
    const session = broker.sessions.get(clientId);
    if (session !== undefined) {
      broker.sessions.clients.get(clientId)?.disconnect(0x8e, 'session taken over by another node');
      // A will waiting on its delay: the new CONNECT decides it, as on one node [MQTT-3.1.3-9].
      if (session.willPublish !== undefined) {
        if (clean) publishWill(session);
        else {
          cancelWill(session);
          broker.persistence?.willSettled(clientId);
        }
      }
      // What this node's inbox holds for the session goes with it (a no-op but on a cluster member).
      await this.beforeRelease?.(this.takeoverTimeout / 2);
      if (broker.sessions.get(clientId) === session) {
        const handed = session.stored ? capture(session) : undefined;
        // Still routed here for a while, passed on to the new node (handover.ts).
        if (to !== undefined && handed !== undefined && this.router !== undefined) {
          this.router.ghosts.add(clientId, to, handed.session.subscriptions.map((sub) => sub.filter), this.deadInboxGrace, this.hold);
        }
        this.stay(clientId, undefined);
        this.recording.delete(clientId);
        this.handing.add(clientId);
        try {
          broker.sessions.end(session);
        } finally {
          this.handing.delete(clientId);
        }
        if (handed !== undefined) this.store.handOver(handed.session, handed.messages);
      }
      this.stats.givenAway++;
    }
    await this.store.flush();
  }

  /**
   * A session ended on this node (Clean Start, expiry, an operator's delete, a clean
   * session's client gone): the client id's owner record goes too, or Redis would keep one
   * for every client id ever seen. Not when the session is being handed to another node.
   */
  ended(clientId: string): void {
    if (this.handing.has(clientId) || this.stopped) return;
    void this.serial(clientId, async () => {
      if (this.broker.sessions.has(clientId) || this.broker.sessions.clients.has(clientId)) return;
      if (await dropOwner(this.redis, this.store.keys.owner(clientId), this.node)) this.stats.ownersDropped++;
    }).catch((err: unknown) => this.broker.log.warn({ err: (err as Error).message, clientId }, 'cluster sessions: dropping an owner record failed'));
  }

  // Control messages.

  /**
   * Asks `node` to let `clientId` go: 'released' once it answers, 'dead' when its heartbeat
   * key is gone meanwhile (looked at every deadPoll ms), 'timeout' after takeoverTimeout.
   * A node restarted under its name meanwhile (its key names another process) is asked
   * again: the new process was not listening when the first request went out.
   */
  private async askRelease(node: string, clientId: string, clean: boolean): Promise<'released' | 'dead' | 'timeout'> {
    const id = randomBytes(8).toString('hex');
    const key = this.store.keys.node(node);
    const request = JSON.stringify({ t: 'release', id, cid: clientId, from: this.node, clean } satisfies Control);
    const ask = (): Promise<number> => this.redis.publish(this.store.keys.sessionChannel(node), request);
    let holder = await this.redis.get(key);
    let poll: NodeJS.Timeout | undefined;
    const answered = new Promise<'released' | 'dead' | 'timeout'>((resolve) => {
      const done = (answer: 'released' | 'dead' | 'timeout'): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiting.delete(id);
        resolve(answer);
      };
      const timer = setTimeout(() => done('timeout'), this.takeoverTimeout);
      timer.unref();
      poll = setInterval(() => {
        this.redis.get(key).then(
          (now) => {
            if (!this.waiting.has(id)) return;
            if (now === null) return done('dead');
            if (now !== holder) {
              holder = now;
              void ask().catch(() => {});
            }
          },
          () => {}, // Redis away: the timeout decides
        );
      }, this.deadPoll);
      poll.unref();
      this.waiting.set(id, (ok) => done(ok ? 'released' : 'timeout'));
    });
    await ask();
    const answer = await answered;
    if (answer === 'timeout') this.broker.log.warn({ clientId, node, ms: this.takeoverTimeout }, 'cluster sessions: the node holding the client id did not let it go in time');
    else if (answer === 'dead') this.broker.log.debug({ clientId, node }, 'cluster sessions: the node holding the client id died while asked to let it go');
    return answer;
  }

  private onControl(data: Buffer): void {
    let msg: Control;
    try {
      msg = JSON.parse(data.toString('utf8')) as Control;
    } catch {
      return; // not ours
    }
    if (msg.t === 'released') {
      this.waiting.get(msg.id)?.(true);
      return;
    }
    if (msg.t !== 'release' || typeof msg.cid !== 'string' || typeof msg.from !== 'string') return;
    void this.serial(msg.cid, () => this.release(msg.cid, msg.clean === true, msg.from))
      .then(() => {
        const reply: Control = { t: 'released', id: msg.id, cid: msg.cid, from: this.node };
        return this.redis.publish(this.store.keys.sessionChannel(msg.from), JSON.stringify(reply));
      })
      .catch((err: unknown) => this.broker.log.error({ err, clientId: msg.cid }, 'cluster sessions: handing a session over failed'));
  }

  // Dead nodes.

  /**
   * Deletes a dead node's inbox once none of its sessions is left, after the members that took
   * them have read it a second time (deadInboxGrace after taking each) and a margin. Not at
   * once: a sender that has not yet seen the node's index empty still routes to it, and what
   * it adds between the first read and the second would be deleted unread (the crash test
   * lost such messages when the inbox went right after the first read).
   */
  private retireInboxLater(node: string): void {
    if (this.retiring.has(node)) return;
    this.retiring.add(node);
    const timer = setTimeout(() => {
      this.retiring.delete(node);
      if (!this.stopped) void this.retireInbox(node).catch(() => {});
    }, 2 * this.deadInboxGrace + 1000);
    timer.unref();
  }

  /** Dead nodes whose inbox is to be deleted once the grace above has passed. */
  private readonly retiring = new Set<string>();

  /**
   * Deletes a dead node's inbox (each of its sessions took what was there for it).
   * Not if the node came back meanwhile: it reads its inbox again.
   */
  private async retireInbox(node: string): Promise<void> {
    if (await this.alive(node)) return;
    if ((await this.redis.del(this.store.keys.inbox(node))) === 1) {
      this.inboxStats.inboxesRetired++;
      this.broker.log.info({ node }, "cluster sessions: a dead node's inbox deleted (none of its sessions is left)");
    }
  }

  private async alive(node: string): Promise<boolean> {
    return (await this.redis.exists(this.store.keys.node(node))) === 1;
  }

  /** Nodes that joined, have no heartbeat any more, and still have sessions in their index. */
  private async sweepDeadNodes(): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = true;
    try {
      if (!(await this.alive(this.node))) return; // not a member (yet): leave it to those that are
      for (const node of await this.redis.smembers(this.store.keys.nodes)) {
        if (node === this.node || (await this.alive(node))) continue;
        if ((await this.redis.scard(this.store.keys.nodeSessions(node))) === 0) {
          // Every session left it (taken by reconnecting clients, each recorded as its taker's):
          // its messages are named by nobody, and its inbox has nobody to serve.
          if ((await this.redis.exists(this.store.keys.runs(node))) === 1) await this.store.dropNodeIfEmpty(node);
          if ((await this.redis.exists(this.store.keys.inbox(node))) === 1) this.retireInboxLater(node);
          continue;
        }
        await this.publishWillsOf(node);
      }
    } catch (err) {
      this.broker.log.warn({ err: (err as Error).message }, 'cluster sessions: looking for dead nodes failed');
    } finally {
      this.sweeping = false;
    }
  }

  /** Runs `fn` after the operations on `clientId` queued before it (fence.ts uses it too). */
  serial<T>(clientId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(clientId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.chains.set(clientId, tail);
    void tail.then(() => {
      if (this.chains.get(clientId) === tail) this.chains.delete(clientId);
    });
    return run;
  }
}

/** A live session as records: what another node needs to carry it on. */
function capture(session: Session): { session: StoredSession; messages: Map<number, Message> } {
  const ids = new Map<Message, number>();
  const messages = new Map<number, Message>();
  const deliveries: StoredDelivery[] = [];
  let seq = 0;
  session.forEachOutbound((out) => {
    if (!out.stored) return;
    let id = ids.get(out.message);
    if (id === undefined) {
      id = ids.size + 1;
      ids.set(out.message, id);
      messages.set(id, out.message);
    }
    deliveries.push({
      seq: ++seq,
      packetId: out.packetId,
      messageId: id,
      qos: out.qos,
      retain: out.retain,
      ...(out.subscriptionIds !== undefined && { subscriptionIds: out.subscriptionIds }),
      state: out.state,
    });
  });
  const subscriptions = [...session.subscriptions.values()].map(storedSubscription);
  return {
    session: {
      clientId: session.clientId,
      expiryInterval: session.expiryInterval,
      ...(session.username !== undefined && { username: session.username }),
      disconnectedAt: Date.now(),
      subscriptions,
      inboundQos2: [...session.inboundQos2],
      deliveries,
    },
    messages,
  };
}

/** The cluster sessions' settings of the `persistence` config section. */
export function clusterSessionsOptions(p: { takeoverTimeout: number; deadNodeCheck: number; willsLockTtl: number }): ClusterSessionsOptions {
  return { takeoverTimeout: p.takeoverTimeout, deadNodeCheck: p.deadNodeCheck, willsLockTtl: p.willsLockTtl };
}

/**
 * Makes a broker whose store is a RedisStore a cluster member for sessions (call before
 * listen()); a broker with another store is left alone. Stopped when the broker closes.
 */
export function attachClusterSessions(broker: Broker, options: ClusterSessionsOptions = {}): ClusterSessions | undefined {
  const store = broker.persistence?.store;
  if (!(store instanceof RedisStore)) return undefined;
  // On a cluster member: its inbox and forwards take part (dead-inbox.ts), its nodeTimeout is the grace.
  const node = broker instanceof ClusterBroker ? broker.cluster : undefined;
  const cs = new ClusterSessions(broker, store, { ...(node !== undefined && { deadInboxGrace: node.options.nodeTimeout }), ...options });
  if (node !== undefined) {
    cs.beforeRelease = (ms) => node.inboxCaughtUp(ms);
    node.router.forwardIds = cs.seen;
    node.router.forwardFilter = cs.copies;
    cs.router = node.router;
    broker.persistence!.onDeliveryAdded = cs.delivered;
    store.forwardsWindow = 4 * node.options.nodeTimeout;
    node.router.onClientRecord = (clientId, id, message) => cs.clientRecord(clientId, id, message);
  }
  const registry = broker.sessions;
  registry.acquire = (clientId, clean, open) => cs.acquire(clientId, clean, open);
  // Every end of a session passes here (the registry has no event for it).
  const end = registry.end.bind(registry);
  registry.end = (session) => {
    end(session);
    if (!registry.has(session.clientId)) cs.ended(session.clientId);
  };
  store.beforeClose.push(() => cs.stop());
  installFence(broker, cs);
  return cs;
}
