// A session: the state that outlives one network connection (section 4.1). Subscriptions,
// outbound QoS 1/2 messages in flight and queued, inbound QoS 2 packet ids awaiting PUBREL,
// and the session's expiry. It delivers through its peer (peer.ts: a network connection or an
// in-process client) while there is one.

import type { QoS, Subscription } from '../codec/types.js';
import type { Message } from '../message.js';
import type { DeliveryPeer } from './peer.js';
import { FilterBytes, queuedSize } from './bounds.js';
import type { Persistence } from './persistence.js';
import type { StoredSubscription } from '../store/types.js';

/** One message on its way to this session's client. */
export interface Outbound {
  readonly message: Message;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds: number[] | undefined;
  packetId: number;
  /** 'publish': PUBLISH sent (or to send), awaiting PUBACK/PUBREC; 'pubrel': PUBREL sent, awaiting PUBCOMP. */
  state: 'publish' | 'pubrel';
  /** Recorded in the store (its packet id was reserved when it was queued). */
  stored: boolean;
  /** The store batch that must be durable before it goes out (0: none). */
  generation: number;
  /** Maybe sent before the broker restarted: send with DUP set. */
  dup: boolean;
}

/** Why a message did not reach a session; the broker counts each. */
export type DropReason = 'queue_full' | 'offline_qos0' | 'backpressure' | 'expired' | 'too_large';

export interface SessionLimits {
  maxInflight: number;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
}

/** A subscription as its session keeps it. */
export type SessionSubscription = Subscription & { subscriptionId?: number };

/** A session's subscription as the store and the router take it (options made explicit). */
export function storedSubscription(s: SessionSubscription): StoredSubscription {
  return {
    filter: s.topicFilter,
    qos: s.qos,
    noLocal: s.noLocal ?? false,
    retainAsPublished: s.retainAsPublished ?? false,
    retainHandling: s.retainHandling ?? 0,
    ...(s.subscriptionId !== undefined && { subscriptionId: s.subscriptionId }),
  };
}

// Most sessions never subscribe, publish at QoS 2 or receive at QoS 1/2: their collections
// stay unallocated (an empty Map costs about 180 bytes) and read as these shared empty ones.
const NO_SUBSCRIPTIONS: ReadonlyMap<string, SessionSubscription> = new Map();
const NO_INFLIGHT: ReadonlyMap<number, Outbound> = new Map();
const NO_IDS: ReadonlySet<number> = new Set();
const NO_QUEUE: Outbound[] = Object.freeze([]) as unknown as Outbound[];

export class Session {
  private subs: Map<string, SessionSubscription> | undefined = undefined;
  private outbound: Map<number, Outbound> | undefined = undefined;
  private qos2: Set<number> | undefined = undefined;
  /** The connected client it delivers to; undefined while none is. */
  peer: DeliveryPeer | undefined = undefined;
  /** The user name of the connection that last took the session (read-access checks). */
  username: string | undefined = undefined;
  /** Seconds; 0 ends the session with the connection, 0xFFFFFFFF never ends it. */
  expiryInterval = 0;
  expiryTimer: NodeJS.Timeout | undefined = undefined;
  /** Set while a 5.0 Will Delay Interval runs after the connection closed. */
  willTimer: NodeJS.Timeout | undefined = undefined;
  willPublish: (() => void) | undefined = undefined;
  /** Its records are in the store (a persistent session of a broker with a store). */
  stored = false;

  private queue: Outbound[] = NO_QUEUE;
  private queueHead = 0;
  private queuedBytes = 0;
  private filterBytes = 0;
  private nextId = 1;
  /** Packet ids of stored deliveries still queued: reserved so a restart resends under the same id. */
  private reserved: Set<number> | undefined = undefined;

  constructor(
    readonly clientId: string,
    private readonly limits: SessionLimits,
    private readonly onDrop: (reason: DropReason, message: Message, clientId: string) => void,
    private readonly persistence: Persistence | undefined = undefined,
    /** The broker's total of filter bytes, which this session's subscriptions count in. */
    private readonly allFilterBytes: FilterBytes = new FilterBytes(),
  ) {}

  /** As a DeliveryTarget. */
  get id(): string {
    return this.clientId;
  }

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  /** Subscriptions by topic filter (change them with setSubscription and deleteSubscription). */
  get subscriptions(): ReadonlyMap<string, SessionSubscription> {
    return this.subs ?? NO_SUBSCRIPTIONS;
  }

  /** Characters of this session's filters (limits.maxSubscriptionBytesPerClient, bounds.ts). */
  get subscriptionBytes(): number {
    return this.filterBytes;
  }

  setSubscription(filter: string, sub: SessionSubscription): void {
    const subs = (this.subs ??= new Map());
    const size = subs.size;
    subs.set(filter, sub);
    if (subs.size > size) this.countFilter(filter.length);
  }

  /** False when there was no subscription with this filter. */
  deleteSubscription(filter: string): boolean {
    if (this.subs?.delete(filter) !== true) return false;
    this.countFilter(-filter.length);
    return true;
  }

  private countFilter(bytes: number): void {
    this.filterBytes += bytes;
    this.allFilterBytes.total += bytes;
  }

  /** Outbound QoS 1/2 in flight by packet id; Map order is send order, so resends keep it. */
  get inflight(): ReadonlyMap<number, Outbound> {
    return this.outbound ?? NO_INFLIGHT;
  }

  /** Inbound QoS 2 packet ids whose PUBREL has not come yet [MQTT-4.3.3-10]. */
  get inboundQos2(): ReadonlySet<number> {
    return this.qos2 ?? NO_IDS;
  }

  get inboundQos2Count(): number {
    return this.qos2?.size ?? 0;
  }

  /** A QoS 2 PUBLISH was received under this id; its PUBREL is to come. */
  addInboundQos2(packetId: number): void {
    (this.qos2 ??= new Set()).add(packetId);
    this.persistence?.inboundAdded(this, packetId);
  }

  /** The PUBREL for this id came; true when the id was waiting for it. */
  releaseInboundQos2(packetId: number): boolean {
    const known = this.qos2?.delete(packetId) ?? false;
    if (known) this.persistence?.inboundReleased(this, packetId);
    return known;
  }

  private push(out: Outbound): void {
    if (this.queue === NO_QUEUE) this.queue = [];
    this.queue.push(out);
    this.queuedBytes += queuedSize(out.message);
  }

  /** Delivers one message at the QoS and retain flag the router decided for this session. */
  deliver(message: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined): void {
    const conn = this.peer;
    if (qos === 0) {
      if (conn === undefined) this.onDrop('offline_qos0', message, this.clientId);
      else if (conn.congested) this.onDrop('backpressure', message, this.clientId);
      else conn.sendPublish(message, 0, retain, subscriptionIds, 0, false);
      return;
    }
    const out: Outbound = { message, qos, retain, subscriptionIds, packetId: 0, state: 'publish', stored: false, generation: 0, dup: false };
    if (this.stored) {
      this.deliverDurably(out, this.persistence!);
      return;
    }
    if (conn !== undefined && this.queued === 0 && (this.outbound?.size ?? 0) < conn.sendWindow && !conn.congested) {
      this.send(conn, out);
    } else {
      this.enqueue(out);
    }
  }

  /**
   * A persistent session's delivery: recorded with its packet id, queued, and sent once the
   * record is durable. A crash before then loses nothing: the publisher was not
   * acknowledged either, and a crash after it resends the message under the same id.
   */
  private deliverDurably(out: Outbound, persistence: Persistence): void {
    if (this.queueFull(out)) return;
    const id = this.allocateId();
    if (id === 0) {
      this.onDrop('queue_full', out.message, this.clientId);
      return;
    }
    out.packetId = id;
    (this.reserved ??= new Set()).add(id);
    persistence.deliveryAdded(this, out);
    out.generation = persistence.hold(this);
    this.push(out);
    this.pump();
  }

  private queueFull(out: Outbound): boolean {
    if (this.queued < this.limits.maxQueuedMessages && this.queuedBytes + queuedSize(out.message) <= this.limits.maxQueuedBytes) return false;
    // Overflow policy: the new message is dropped and counted; queued ones keep their order.
    this.onDrop('queue_full', out.message, this.clientId);
    return true;
  }

  private enqueue(out: Outbound): void {
    if (this.queueFull(out)) return;
    this.push(out);
  }

  private send(conn: DeliveryPeer, out: Outbound): void {
    if (out.stored) this.reserved!.delete(out.packetId);
    else out.packetId = this.allocateId();
    const inflight = (this.outbound ??= new Map());
    inflight.set(out.packetId, out);
    if (!conn.sendPublish(out.message, out.qos, out.retain, out.subscriptionIds, out.packetId, out.dup)) {
      // Too large for the client: discarded as if delivered [MQTT-3.1.2-25].
      inflight.delete(out.packetId);
      this.persistence?.deliveryDone(this, out);
    }
  }

  /** Start-up: a delivery read back from the store, queued (or, awaiting PUBCOMP, in flight). */
  restoreDelivery(message: Message, qos: QoS, retain: boolean, ids: readonly number[] | undefined, packetId: number, state: 'publish' | 'pubrel'): void {
    const out: Outbound = { message, qos, retain, subscriptionIds: ids && [...ids], packetId, state, stored: true, generation: 0, dup: true };
    if (state === 'pubrel') {
      (this.outbound ??= new Map()).set(packetId, out);
      return;
    }
    (this.reserved ??= new Set()).add(packetId);
    this.push(out);
  }

  /** Every delivery in flight or queued. */
  forEachOutbound(fn: (out: Outbound) => void): void {
    for (const out of this.inflight.values()) fn(out);
    for (let i = this.queueHead; i < this.queue.length; i++) fn(this.queue[i]!);
  }

  /** Moves queued messages into flight while the window and the socket allow. */
  pump(): void {
    const conn = this.peer;
    if (conn === undefined) return;
    const now = Date.now();
    const durable = this.persistence?.durable ?? 0;
    while (this.queueHead < this.queue.length && (this.outbound?.size ?? 0) < conn.sendWindow && !conn.congested) {
      const out = this.queue[this.queueHead]!;
      if (out.generation > durable) break; // its record is not on disk yet
      this.queue[this.queueHead++] = undefined as unknown as Outbound;
      this.queuedBytes -= queuedSize(out.message);
      const expiresAt = out.message.expiresAt;
      // [MQTT-3.3.2-5] an expired message not yet on its way to this subscriber is deleted.
      if (expiresAt !== undefined && expiresAt <= now) {
        this.onDrop('expired', out.message, this.clientId);
        if (out.stored) {
          this.reserved!.delete(out.packetId);
          this.persistence!.deliveryDone(this, out);
        }
      } else this.send(conn, out);
    }
    if (this.queueHead === this.queue.length && this.queueHead > 0) {
      // Drained: the array is kept for the next message (a persistent session queues every
      // one), but length 0 lets V8 drop its backing store, so an idle session holds none.
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2) completes a delivery. Returns false for an unknown id. */
  complete(packetId: number, expect: 'publish' | 'pubrel'): boolean {
    const out = this.outbound?.get(packetId);
    if (out === undefined || out.state !== expect || (expect === 'publish' && out.qos !== 1)) return false;
    this.outbound!.delete(packetId);
    this.persistence?.deliveryDone(this, out);
    this.pump();
    return true;
  }

  /** PUBREC: the QoS 2 delivery moves on to PUBREL. Returns false for an unknown id. */
  received(packetId: number, failed: boolean): boolean {
    const out = this.outbound?.get(packetId);
    if (out === undefined || out.qos !== 2) return false;
    if (failed) {
      // A PUBREC reason code >= 0x80 ends the exchange: no PUBREL follows [MQTT-4.3.3-4], and
      // the packet id is free again (section 2.2.1).
      this.outbound!.delete(packetId);
      this.persistence?.deliveryDone(this, out);
      this.pump();
      return true;
    }
    if (out.state === 'publish') this.persistence?.deliveryReleased(this, out);
    out.state = 'pubrel';
    return true;
  }

  /**
   * A peer takes the session over: unacknowledged PUBLISH packets go again with DUP
   * set and PUBRELs are resent, in their original order [MQTT-4.4.0-1], then the queue moves.
   */
  resume(conn: DeliveryPeer): void {
    this.peer = conn;
    const inflight = this.outbound;
    if (inflight !== undefined) for (const out of inflight.values()) {
      if (out.state === 'pubrel') conn.sendPubrel(out.packetId);
      else if (!conn.sendPublish(out.message, out.qos, out.retain, out.subscriptionIds, out.packetId, true)) {
        inflight.delete(out.packetId);
        this.persistence?.deliveryDone(this, out);
      }
    }
    this.pump();
  }

  /** Clean Start / Clean Session: everything but the id goes. */
  clear(): void {
    this.persistence?.forget(this);
    this.reserved = undefined;
    this.countFilter(-this.filterBytes);
    this.subs = undefined;
    this.outbound = undefined;
    this.qos2 = undefined;
    this.queue = NO_QUEUE;
    this.queueHead = 0;
    this.queuedBytes = 0;
  }

  /** A packet id used by no delivery in flight or reserved; 0 when all 65535 are taken. */
  private allocateId(): number {
    const reserved = this.reserved;
    const inflight = this.outbound;
    if ((inflight?.size ?? 0) + (reserved?.size ?? 0) >= 0xffff) return 0;
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 0xffff ? 1 : id + 1;
      if ((inflight === undefined || !inflight.has(id)) && (reserved === undefined || !reserved.has(id))) return id;
    }
  }
}
