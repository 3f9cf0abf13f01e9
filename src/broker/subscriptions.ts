// Adding subscriptions for a client, network or in-process: each filter validated and
// authorized on its own with its own result code; a subscription to a filter the session
// has already replaces it [MQTT-3.8.4-3]; then the retained messages the 5.0 Retain Handling
// option asks for [MQTT-3.3.1-9], [MQTT-3.3.1-10]. handlers/subscribe.ts wraps this in
// SUBSCRIBE and SUBACK; in-process.ts in subscribe().

import type { QoS, SubscribePacket, Subscription } from '../codec/types.js';
import { parseSharedFilter, validateTopicFilter } from '../topics/index.js';
import type { Broker } from './broker.js';
import { admitSubscription } from './bounds.js';
import { isPromise } from './hooks.js';
import type { SubscriptionEntry } from './router.js';
import type { Session } from './session.js';
import type { ClientInfo, Verdict } from './types.js';

/** A subscription just added, for its retained messages. */
export interface Added {
  readonly sub: Subscription;
  /** The session had a subscription to this filter already. */
  readonly existed: boolean;
  readonly entry: SubscriptionEntry;
}

/** The authorizeSubscribe hooks' verdicts, one per subscription. */
export function authorizeSubscriptions(broker: Broker, client: ClientInfo, subs: readonly Subscription[]): Array<Verdict | QoS> | Promise<Array<Verdict | QoS>> {
  const verdicts = subs.map((sub) => broker.hooks.authorizeSubscribe(client, sub));
  return verdicts.some(isPromise) ? Promise.all(verdicts) : (verdicts as Array<Verdict | QoS>);
}

/**
 * Adds the subscriptions the verdicts allow. Returns one code per subscription (the QoS
 * granted, or a reason code >= 0x80; `v5` false maps every failure to 0x80) and the added ones.
 */
export function addSubscriptions(
  broker: Broker,
  client: ClientInfo,
  session: Session,
  subs: readonly Subscription[],
  verdicts: ReadonlyArray<Verdict | QoS>,
  subscriptionId: number | undefined,
  v5: boolean,
): { codes: number[]; added: Added[] } {
  const limits = broker.limits;
  const fail = (code: number): number => (v5 ? code : 0x80);
  const codes: number[] = [];
  const added: Added[] = [];
  subs.forEach((sub, i) => {
    const invalid = validateTopicFilter(sub.topicFilter, { maxLength: limits.maxTopicLength, maxLevels: limits.maxTopicLevels });
    if (invalid !== undefined) {
      broker.log.debug({ clientId: client.id, filter: sub.topicFilter, reason: invalid }, 'invalid topic filter');
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
    added.push({ sub, existed, entry });
  });
  return { codes, added };
}

/**
 * Delivers the retained messages of subscriptions just added, with RETAIN set: Retain
 * Handling 1 only for a new subscription, 2 never [MQTT-3.3.1-10]; never for a shared
 * subscription (section 4.8.2).
 */
export function deliverRetained(broker: Broker, client: ClientInfo, session: Session, added: readonly Added[], subscriptionId: number | undefined): void {
  const allow = broker.hooks.deliveryCheck;
  for (const { sub, existed, entry } of added) {
    if (entry.retainHandling === 2 || (entry.retainHandling === 1 && existed)) continue;
    if (parseSharedFilter(sub.topicFilter) !== undefined) continue;
    for (const m of broker.retainedMatching(sub.topicFilter)) {
      if (entry.noLocal && m.origin === client.id) continue;
      if (allow !== undefined && !allow(session, m)) continue;
      session.deliver(m, (m.qos < entry.qos ? m.qos : entry.qos) as QoS, true, subscriptionId !== undefined ? [subscriptionId] : undefined);
    }
  }
}

// Mosquitto's bridge flag, honoured: a 3.1/3.1.1 client whose CONNECT has the protocol level
// with 0x80 (Mosquitto's `try_private`, our bridges' `tryPrivate`) is another broker's bridge.
// As Mosquitto does, its subscriptions get No Local (what it publishes is not sent back to it:
// no loop) and Retain As Published (a retained message stays retained on the far side), the
// 5.0 options 3.1.1 cannot ask for.
export function asBridgeSubscribe(p: SubscribePacket): SubscribePacket {
  return { ...p, subscriptions: p.subscriptions.map((s) => ({ ...s, noLocal: true, retainAsPublished: true })) };
}
