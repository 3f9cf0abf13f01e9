// Routing: the subscription index and one published message to every matching
// subscription. A client whose several subscriptions match gets one copy at the highest QoS
// they grant, with every matching Subscription Identifier [MQTT-3.3.4-2], [MQTT-3.3.4-3];
// each shared group gets one copy, given to its members in turn, skipping members that are
// offline or congested when an online one is available.
//
// `Router` is the seam: the broker calls only these methods, so a decorator (a cluster
// router announcing its node's filters and forwarding to other nodes) can wrap the local
// one without the broker telling them apart (test/broker/router.test.ts runs one suite
// against both).

import { MatchResult, SubscriptionIndex, type SharedGroup } from '../topics/index.js';
import type { QoS } from '../codec/types.js';
import type { Message } from '../message.js';
import type { StoredSubscription } from '../store/types.js';
import type { Session } from './session.js';

export interface Router {
  /**
   * Adds the session's subscription to `sub.filter`, or replaces it [MQTT-3.8.4-3]; the
   * filter is valid (validated by the caller against the limits in force).
   */
  subscribe(session: Session, sub: StoredSubscription): SubscriptionEntry;
  /** Removes it; false when the session had no subscription to this filter. */
  unsubscribe(session: Session, filter: string): boolean;
  /** Hands the message to every matching session; returns how many. */
  publish(message: Message): number;
  /** Subscriptions held, shared members included. */
  readonly size: number;
}

/** The options of one subscription as the index stores them. */
export interface SubscriptionEntry {
  readonly session: Session;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly subscriptionId: number | undefined;
  /** Per-session routing scratch, shared by the session's entries (the router's, not the session's). */
  readonly slot: RouteSlot;
}

/**
 * What one publish has decided so far for one session, so overlapping subscriptions merge
 * into one copy without allocating: valid while `stamp` is the publish's.
 */
interface RouteSlot {
  readonly session: Session;
  /** Subscriptions of the session in the index that use this slot. */
  refs: number;
  stamp: number;
  qos: QoS;
  retain: boolean;
  ids: number[] | undefined;
}

export class LocalRouter implements Router {
  readonly index = new SubscriptionIndex<SubscriptionEntry>();
  private stamp = 0;
  private readonly hits: RouteSlot[] = [];
  private readonly result = new MatchResult<SubscriptionEntry>();
  private readonly cursors = new WeakMap<SharedGroup<SubscriptionEntry>, number>();
  private readonly slots = new Map<Session, RouteSlot>();

  constructor(
    /** Where the read access check per delivery (an ACL) is found, read at each publish; none costs nothing. */
    private readonly access: { readonly deliveryCheck?: ((session: Session, message: Message) => boolean) | undefined } = {},
  ) {}

  get size(): number {
    return this.index.size;
  }

  subscribe(session: Session, sub: StoredSubscription): SubscriptionEntry {
    let slot = this.slots.get(session);
    if (slot === undefined) {
      slot = { session, refs: 0, stamp: 0, qos: 0, retain: false, ids: undefined };
      this.slots.set(session, slot);
    }
    const entry: SubscriptionEntry = {
      session,
      qos: sub.qos,
      noLocal: sub.noLocal,
      retainAsPublished: sub.retainAsPublished,
      retainHandling: sub.retainHandling,
      subscriptionId: sub.subscriptionId,
      slot,
    };
    if (this.index.add(session.clientId, sub.filter, entry)) slot.refs++;
    return entry;
  }

  unsubscribe(session: Session, filter: string): boolean {
    if (!this.index.remove(session.clientId, filter)) return false;
    const slot = this.slots.get(session);
    if (slot !== undefined && --slot.refs === 0) this.slots.delete(session);
    return true;
  }

  publish(message: Message): number {
    // Matching fills a reused result; copy out what is needed before delivering, since a
    // delivery may (through a closing connection's will) route another message.
    const result = this.index.match(message.topic, this.result);
    const stamp = ++this.stamp;
    const hits = this.hits;
    const first = hits.length;
    for (const sub of result.subscriptions) {
      const e = sub.value;
      const s = e.slot;
      // [MQTT-3.8.3-3] No Local: not back to the client that published it.
      if (e.noLocal && message.origin === s.session.clientId) continue;
      const qos = (e.qos < message.qos ? e.qos : message.qos) as QoS;
      // [MQTT-3.3.1-12], [MQTT-3.3.1-13] Retain As Published, else the flag is cleared.
      const retain = e.retainAsPublished && message.retain;
      if (s.stamp !== stamp) {
        s.stamp = stamp;
        s.qos = qos;
        s.retain = retain;
        s.ids = e.subscriptionId !== undefined ? [e.subscriptionId] : undefined;
        hits.push(s);
      } else {
        if (qos > s.qos) s.qos = qos;
        if (retain) s.retain = true;
        if (e.subscriptionId !== undefined) (s.ids ??= []).push(e.subscriptionId);
      }
    }
    const groups = result.groups.length > 0 ? result.groups.slice() : undefined;
    const end = hits.length;
    const allow = this.access.deliveryCheck;
    let count = 0;
    for (let i = first; i < end; i++) {
      const s = hits[i]!;
      if (allow !== undefined && !allow(s.session, message)) continue;
      s.session.deliver(message, s.qos, s.retain, s.ids);
      count++;
    }
    hits.length = first;
    if (groups !== undefined) for (const g of groups) if (this.toGroup(g, message)) count++;
    return count;
  }

  private toGroup(group: SharedGroup<SubscriptionEntry>, message: Message): boolean {
    const members = group.members;
    const n = members.length;
    if (n === 0) return false;
    const start = (this.cursors.get(group) ?? 0) % n;
    const allow = this.access.deliveryCheck;
    let pick = -1;
    let fallback = -1;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const session = members[i]!.value.session;
      if (allow !== undefined && !allow(session, message)) continue;
      if (fallback === -1) fallback = i;
      const peer = session.peer;
      if (peer !== undefined && !peer.congested) {
        pick = i;
        break;
      }
    }
    // Nobody online: the next allowed member's session queues it (QoS 0 is dropped there).
    if (pick === -1) pick = fallback;
    if (pick === -1) return false;
    this.cursors.set(group, pick + 1);
    const e = members[pick]!.value;
    e.session.deliver(message, (e.qos < message.qos ? e.qos : message.qos) as QoS, false, e.subscriptionId !== undefined ? [e.subscriptionId] : undefined);
    return true;
  }
}
