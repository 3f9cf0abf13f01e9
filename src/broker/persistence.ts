// The broker's side of the store: which changes of its in-memory state become records, how a
// message delivered to many sessions is stored once (reference counts), when a delivery may
// go out (not before its records are durable, so a crash can never make the broker resend a
// QoS 2 message under a new packet id), and how the state is rebuilt at start-up.
//
// Only persistent sessions (Session Expiry Interval > 0) are stored; a session that ends with
// its connection has nothing to recover. Wills are stored for every connection that has one:
// after a crash, the clients that were connected lost their connections abnormally, so their
// wills go out (after their delay, counted from the restart).

import type { Store, StoredSubscription, Snapshot } from '../store/types.js';
import type { Broker } from './broker.js';
import type { Connection } from './connection.js';
import type { Outbound, Session } from './session.js';
import type { Message } from '../message.js';
import type { ClientInfo } from './types.js';

export class Persistence {
  /** Deliveries made in batch `generation` go out once `durable` reaches it. */
  durable = 0;
  private generation = 0;
  private lastFlush: Promise<void> | undefined;
  private waiting = new Set<Session>();
  private readonly ids = new WeakMap<Message, number>();
  private readonly refs = new Map<number, number>();
  private nextMessageId = 1;
  private nextSeq = 1;
  private readonly willsStored = new Set<string>();
  /** Called after each delivery recorded (a cluster member notes which forwarded message it was). */
  onDeliveryAdded: ((session: Session) => void) | undefined;

  constructor(
    private readonly broker: Broker,
    readonly store: Store,
  ) {}

  /** Resolves once everything recorded so far is durable; undefined when it is. */
  flush(): Promise<void> | undefined {
    return this.store.flush();
  }

  /**
   * Ties a delivery just recorded to the commit that makes it durable: returns the
   * generation the session's pump must wait for (0: it may go now).
   */
  hold(session: Session): number {
    const f = this.store.flush();
    if (f === undefined) return 0;
    if (f !== this.lastFlush) {
      this.lastFlush = f;
      const generation = ++this.generation;
      const sessions = (this.waiting = new Set());
      f.then(
        () => {
          this.durable = generation;
          for (const s of sessions) s.pump();
        },
        (err: unknown) => this.broker.storeFailed(err as Error),
      );
    }
    this.waiting.add(session);
    return this.generation;
  }

  // Sessions.

  sessionSaved(session: Session, disconnectedAt?: number): void {
    session.stored = true;
    this.store.putSession({
      clientId: session.clientId,
      expiryInterval: session.expiryInterval,
      ...(session.username !== undefined && { username: session.username }),
      ...(disconnectedAt !== undefined && { disconnectedAt }),
    });
  }

  /** The session's records go, and its deliveries' hold on their messages. */
  forget(session: Session): void {
    if (!session.stored) return;
    session.stored = false;
    this.store.deleteSession(session.clientId);
    session.forEachOutbound((out) => {
      if (out.stored) {
        out.stored = false;
        this.release(out.message);
      }
    });
  }

  subscribed(session: Session, sub: StoredSubscription): void {
    if (session.stored) this.store.putSubscription(session.clientId, sub);
  }

  unsubscribed(session: Session, filter: string): void {
    if (session.stored) this.store.deleteSubscription(session.clientId, filter);
  }

  inboundAdded(session: Session, packetId: number): void {
    if (session.stored) this.store.putInbound(session.clientId, packetId);
  }

  inboundReleased(session: Session, packetId: number): void {
    if (session.stored) this.store.deleteInbound(session.clientId, packetId);
  }

  // Deliveries.

  deliveryAdded(session: Session, out: Outbound): void {
    const m = out.message;
    let id = this.ids.get(m);
    if (id === undefined) {
      id = this.nextMessageId++;
      this.ids.set(m, id);
      this.refs.set(id, 1);
      this.store.putMessage(id, m);
    } else {
      this.refs.set(id, this.refs.get(id)! + 1);
    }
    out.stored = true;
    this.store.putDelivery(session.clientId, {
      seq: this.nextSeq++,
      packetId: out.packetId,
      messageId: id,
      qos: out.qos,
      retain: out.retain,
      ...(out.subscriptionIds !== undefined && { subscriptionIds: out.subscriptionIds }),
      state: 'publish',
    });
    this.onDeliveryAdded?.(session);
  }

  deliveryReleased(session: Session, out: Outbound): void {
    if (out.stored) this.store.releaseDelivery(session.clientId, out.packetId);
  }

  deliveryDone(session: Session, out: Outbound): void {
    if (!out.stored) return;
    out.stored = false;
    this.store.deleteDelivery(session.clientId, out.packetId);
    this.release(out.message);
  }

  private release(m: Message): void {
    const id = this.ids.get(m);
    if (id === undefined) return;
    const n = this.refs.get(id)! - 1;
    if (n > 0) {
      this.refs.set(id, n);
      return;
    }
    this.refs.delete(id);
    this.ids.delete(m);
    this.store.deleteMessage(id);
  }

  // Retained messages and wills.

  retained(message: Message): void {
    // $SYS values describe this run; the next one publishes its own (Mosquitto does not save
    // them either). Only the broker publishes under $SYS, so nothing a client sent is lost.
    if (message.topic.startsWith('$SYS/')) return;
    if (message.payload.length === 0) this.store.deleteRetained(message.topic);
    else this.store.putRetained(message);
  }

  /** A connection with a will was accepted; its will is recorded until settled. */
  connected(conn: Connection, will: Message | undefined, delay: number): void {
    if (will !== undefined) {
      this.willsStored.add(conn.id);
      this.store.putWill(conn.id, {
        message: will,
        delay,
        ...(conn.username !== undefined && { username: conn.username }),
        protocolVersion: conn.protocolVersion,
      });
    } else {
      this.willSettled(conn.id);
    }
  }

  /** The will was published, cancelled, or cleared by a normal DISCONNECT. */
  willSettled(clientId: string): void {
    if (this.willsStored.delete(clientId)) this.store.deleteWill(clientId);
  }

  // Start-up.

  /** Rebuilds sessions, queues, retained messages and pending wills from the store. */
  restore(snapshot: Snapshot): { sessions: number; expired: number; deliveries: number; retained: number; wills: number } {
    const broker = this.broker;
    const now = Date.now();
    for (const m of snapshot.retained) {
      if (m.expiresAt !== undefined && m.expiresAt <= now) this.store.deleteRetained(m.topic);
      else broker.retained.set(m);
    }
    let deliveries = 0;
    let expired = 0;
    for (const stored of snapshot.sessions) {
      // A session whose expiry ran out while the broker was down is gone before any client
      // can connect: dropped here, not on a timer after listen() (its messages go below,
      // its will, if still pending, goes out below as its session has ended).
      const elapsed = stored.disconnectedAt === undefined ? 0 : now - stored.disconnectedAt;
      if (stored.expiryInterval < 0xffffffff && elapsed >= stored.expiryInterval * 1000) {
        this.store.deleteSession(stored.clientId);
        expired++;
        continue;
      }
      const session = broker.sessions.restore(stored.clientId, stored.expiryInterval, stored.username);
      for (const id of stored.inboundQos2) session.addInboundQos2(id);
      session.stored = true;
      for (const sub of stored.subscriptions) broker.subscribe(session, sub);
      for (const d of stored.deliveries) {
        const message = snapshot.messages.get(d.messageId);
        if (message === undefined) {
          this.store.deleteDelivery(stored.clientId, d.packetId);
          continue;
        }
        if (this.nextSeq <= d.seq) this.nextSeq = d.seq + 1;
        this.ids.set(message, d.messageId);
        this.refs.set(d.messageId, (this.refs.get(d.messageId) ?? 0) + 1);
        session.restoreDelivery(message, d.qos, d.retain, d.subscriptionIds, d.packetId, d.state);
        deliveries++;
      }
      // Connected when the broker stopped: the expiry counts from now.
      broker.sessions.scheduleExpiry(session, elapsed);
    }
    for (const id of snapshot.messages.keys()) {
      if (this.nextMessageId <= id) this.nextMessageId = id + 1;
      // refs holds exactly the messages a restored delivery uses (it was empty before).
      if (!this.refs.has(id)) this.store.deleteMessage(id);
    }
    for (const [clientId, will] of snapshot.wills) {
      this.willsStored.add(clientId);
      const client: ClientInfo = {
        id: clientId,
        protocolVersion: will.protocolVersion,
        username: will.username,
        remoteAddress: '',
        listener: '',
        keepalive: 0,
      };
      broker.sessions.restoreWill(client, will.message, will.delay);
    }
    return { sessions: snapshot.sessions.length - expired, expired, deliveries, retained: snapshot.retained.length, wills: snapshot.wills.size };
  }
}
