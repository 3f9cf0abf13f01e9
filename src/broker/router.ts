// Routing: one published message to every matching subscription. A client whose several
// subscriptions match gets one copy at the highest QoS they grant, with every matching
// Subscription Identifier [MQTT-3.3.4-2], [MQTT-3.3.4-3]; each shared group gets one copy,
// given to its members in turn, skipping members that are offline or congested when an
// online one is available.

import { MatchResult, type SharedGroup, type SubscriptionIndex } from '../topics/index.js';
import type { QoS } from '../codec/types.js';
import type { Session, SubscriptionEntry } from './session.js';
import type { Message } from './types.js';

export class Router {
  private stamp = 0;
  private readonly hits: Session[] = [];
  private readonly result = new MatchResult<SubscriptionEntry>();
  private readonly cursors = new WeakMap<SharedGroup<SubscriptionEntry>, number>();

  constructor(
    private readonly index: SubscriptionIndex<SubscriptionEntry>,
    /** Read access per delivery (an ACL); undefined costs nothing. */
    private readonly allow?: (session: Session, message: Message) => boolean,
  ) {}

  /** Returns the number of sessions the message was handed to. */
  publish(message: Message): number {
    // Matching fills a reused result; copy out what is needed before delivering, since a
    // delivery may (through a closing connection's will) route another message.
    const result = this.index.match(message.topic, this.result);
    const stamp = ++this.stamp;
    const hits = this.hits;
    const first = hits.length;
    for (const sub of result.subscriptions) {
      const e = sub.value;
      const s = e.session;
      // [MQTT-3.8.3-3] No Local: not back to the client that published it.
      if (e.noLocal && message.origin === s.clientId) continue;
      const qos = (e.qos < message.qos ? e.qos : message.qos) as QoS;
      // [MQTT-3.3.1-12], [MQTT-3.3.1-13] Retain As Published, else the flag is cleared.
      const retain = e.retainAsPublished && message.retain;
      if (s.routeStamp !== stamp) {
        s.routeStamp = stamp;
        s.routeQos = qos;
        s.routeRetain = retain;
        s.routeIds = e.subscriptionId !== undefined ? [e.subscriptionId] : undefined;
        hits.push(s);
      } else {
        if (qos > s.routeQos) s.routeQos = qos;
        if (retain) s.routeRetain = true;
        if (e.subscriptionId !== undefined) (s.routeIds ??= []).push(e.subscriptionId);
      }
    }
    const groups = result.groups.length > 0 ? result.groups.slice() : undefined;
    const end = hits.length;
    const allow = this.allow;
    let count = 0;
    for (let i = first; i < end; i++) {
      const s = hits[i]!;
      if (allow !== undefined && !allow(s, message)) continue;
      s.deliver(message, s.routeQos, s.routeRetain, s.routeIds);
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
    const allow = this.allow;
    let pick = -1;
    let fallback = -1;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const session = members[i]!.value.session;
      if (allow !== undefined && !allow(session, message)) continue;
      if (fallback === -1) fallback = i;
      const conn = session.connection;
      if (conn !== undefined && !conn.congested) {
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
