// SUBSCRIBE (section 3.8) and SUBACK (3.9): each filter is validated and authorized on its
// own and gets its own return code; a subscription to a filter the session already has
// replaces it [MQTT-3.8.4-3]; SUBACK goes before any retained message, and
// retained messages follow the 5.0 Retain Handling option.

import type { QoS, SubscribePacket, Subscription } from '../../codec/types.js';
import { parseSharedFilter, validateTopicFilter } from '../../topics/index.js';
import type { Connection } from '../connection.js';
import { admitSubscription } from '../bounds.js';
import { isPromise } from '../hooks.js';
import type { SubscriptionEntry } from '../session.js';
import type { Verdict } from '../types.js';

export function handleSubscribe(conn: Connection, p: SubscribePacket): void | Promise<void> {
  const broker = conn.broker;
  const subs = p.subscriptions;
  const verdicts: Array<Verdict | QoS | Promise<Verdict | QoS>> = subs.map((sub) => broker.hooks.authorizeSubscribe(conn, sub));
  if (verdicts.some(isPromise)) {
    return Promise.all(verdicts).then((v) => (conn.state !== 'closed' ? subscribe(conn, p, v) : undefined));
  }
  return subscribe(conn, p, verdicts as Array<Verdict | QoS>);
}

function subscribe(conn: Connection, p: SubscribePacket, verdicts: Array<Verdict | QoS>): void | Promise<void> {
  const broker = conn.broker;
  const session = conn.session!;
  const v5 = conn.protocolVersion === 5;
  const limits = broker.limits;
  const subscriptionId = p.properties?.subscriptionIdentifier;
  const fail = (code: number): number => (v5 ? code : 0x80);
  const codes: number[] = [];
  const retained: Array<{ sub: Subscription; existed: boolean; entry: SubscriptionEntry }> = [];

  p.subscriptions.forEach((sub, i) => {
    const invalid = validateTopicFilter(sub.topicFilter, { maxLength: limits.maxTopicLength, maxLevels: limits.maxTopicLevels });
    if (invalid !== undefined) {
      broker.log.debug({ clientId: conn.id, filter: sub.topicFilter, reason: invalid }, 'invalid topic filter');
      codes.push(fail(0x8f));
      return;
    }
    const verdict = verdicts[i]!;
    if (typeof verdict !== 'number' && !verdict.ok) {
      codes.push(fail(verdict.reasonCode));
      return;
    }
    const existed = session.subscriptions.has(sub.topicFilter);
    if (!existed && !admitSubscription(broker, session, sub.topicFilter)) {
      codes.push(fail(0x97));
      return;
    }
    const maxQos = Math.min(typeof verdict === 'number' ? verdict : sub.qos, sub.qos, broker.options.maximumQoS ?? 2) as QoS;
    const entry = broker.subscribe(session, {
      filter: sub.topicFilter,
      qos: maxQos,
      noLocal: sub.noLocal ?? false,
      retainAsPublished: sub.retainAsPublished ?? false,
      retainHandling: sub.retainHandling ?? 0,
      ...(subscriptionId !== undefined && { subscriptionId }),
    });
    codes.push(maxQos);
    retained.push({ sub, existed, entry });
  });

  // A stored subscription is acknowledged once durable: a message accepted after SUBACK
  // must find it after a crash too.
  const durable = broker.persistence?.flush();
  if (durable !== undefined) return durable.then(() => (conn.state === 'connected' ? suback(conn, p, codes, retained) : undefined));
  suback(conn, p, codes, retained);
}

function suback(conn: Connection, p: SubscribePacket, codes: number[], retained: Array<{ sub: Subscription; existed: boolean; entry: SubscriptionEntry }>): void {
  const broker = conn.broker;
  const session = conn.session!;
  const subscriptionId = p.properties?.subscriptionIdentifier;
  conn.send({ type: 'suback', packetId: p.packetId, reasonCodes: codes });

  // Retained messages [MQTT-3.3.1-9]: sent with RETAIN set; Retain Handling 1 only for a new
  // subscription, 2 never [MQTT-3.3.1-10]; never for a shared subscription (section 4.8.2).
  for (const { sub, existed, entry } of retained) {
    if (entry.retainHandling === 2 || (entry.retainHandling === 1 && existed)) continue;
    if (parseSharedFilter(sub.topicFilter) !== undefined) continue;
    const allow = broker.hooks.deliveryCheck;
    for (const m of broker.retained.match(sub.topicFilter)) {
      if (entry.noLocal && m.origin === conn.id) continue;
      if (allow !== undefined && !allow(session, m)) continue;
      session.deliver(m, (m.qos < entry.qos ? m.qos : entry.qos) as QoS, true, subscriptionId !== undefined ? [subscriptionId] : undefined);
    }
  }
  broker.notify(broker.hooks.onSubscribe(conn, p.subscriptions, codes));
}
