// What one client can make the broker hold, and how it is counted: the bounds that are not
// simply a limit compared with a count.
//
// A bound in bytes that counts payloads only is no bound against a client that puts its bytes
// in names instead: 3,000 retained 1-byte messages under 60 KB topics held 180 MB of topic
// strings against a payload count of 3 KB. So names count wherever a bound is in bytes:
// retained messages (limits.maxRetainedBytes), queued messages (maxQueuedBytes) and
// subscriptions (maxSubscriptionBytesPerClient, maxSubscriptionBytes). A name counts by its
// length: one byte per character, which is what V8 stores for an ASCII (or Latin-1) string; a
// name with other characters takes twice that in memory. The length is read in O(1), so the
// queue, on the delivery path, pays nothing for it.

import { ProtocolError } from '../codec/errors.js';
import type { Broker } from './broker.js';
import type { Session } from './session.js';
import type { Limits, Message } from './types.js';

/**
 * A retained message's fixed cost beside its payload and topic: the message object, its
 * Buffer, the topic map's entry. Measured at about 100 bytes (heap growth over 100,000
 * messages with short topics); rounded up.
 */
export const RETAINED_MESSAGE_OVERHEAD = 128;

/**
 * One node of the retained trie (retained-trie.ts): a topic level, with the map of its
 * children. Measured at about 250 bytes. A topic of many new levels costs a node each, far
 * more than its characters: a 2-byte level ('a/') costs 256.
 */
export const RETAINED_NODE_OVERHEAD = 256;

/** What a queued message counts against limits.maxQueuedBytes: its payload and its topic. */
export function queuedSize(message: Message): number {
  return message.payload.length + message.topic.length;
}

/**
 * Filter bytes of every session's subscriptions together, against limits.maxSubscriptionBytes:
 * one per broker, kept by its sessions as their subscriptions come and go.
 */
export class FilterBytes {
  total = 0;
}

/**
 * Whether `session` may take a subscription to `filter`, which it does not have yet: within
 * limits.maxSubscriptionsPerClient and maxSubscriptionBytesPerClient for the session, and
 * maxSubscriptionBytes for the broker (0: no bound in bytes). A refusal is counted and logged.
 * A filter counts its length: 3,000 filters of 60 KB from one client held 180 MB in names.
 */
export function admitSubscription(broker: Broker, session: Session, filter: string): boolean {
  const limits = broker.limits;
  const perClient = limits.maxSubscriptionBytesPerClient;
  const total = limits.maxSubscriptionBytes;
  const bytes = filter.length;
  let limit: 'subscriptions' | 'subscription_bytes';
  if (session.subscriptions.size >= limits.maxSubscriptionsPerClient || (perClient > 0 && session.subscriptionBytes + bytes > perClient)) limit = 'subscriptions';
  else if (total > 0 && broker.filterBytes.total + bytes > total) limit = 'subscription_bytes';
  else return true;
  const fields = { clientId: session.clientId, filterBytes: bytes, subscriptions: session.subscriptions.size, subscriptionBytes: session.subscriptionBytes, allSubscriptionBytes: broker.filterBytes.total };
  broker.limitHit(
    limit,
    fields,
    limit === 'subscriptions'
      ? 'subscription refused: limits.maxSubscriptionsPerClient or maxSubscriptionBytesPerClient reached'
      : 'subscription refused: limits.maxSubscriptionBytes reached',
  );
  return false;
}

/**
 * Largest packet taken from a client not yet connected: its CONNECT (and 5.0 AUTH). Until the
 * CONNECT is accepted, a client is nobody, yet the decoder holds the whole of a packet it has
 * begun: at limits.maxPacketSize, 400 unfinished 1 MiB CONNECTs held 400 MB, which the
 * process did not give back. Mosquitto (100,000 bytes) and EMQX (64 KB) cap CONNECT too.
 */
export function connectPacketLimit(limits: Readonly<Limits>): number {
  return Math.min(limits.maxConnectPacketSize, limits.maxPacketSize);
}

/**
 * Inbound QoS 1/2 publishes a 3.1/3.1.1 client may leave unacknowledged. 3.1.1 has no Receive
 * Maximum: the bound is the packet identifier space. A client that keeps to [MQTT-2.3.1-2]
 * (a new publish takes an identifier not in use) cannot go past 65,535, so this closes only a
 * client that reuses the identifiers of publishes not yet acknowledged; what it bounds is the
 * broker's memory (the ids awaiting PUBREL, the acknowledgements waiting for the store).
 */
export const V3_MAX_UNACKNOWLEDGED = 65_535;

/**
 * The error that closes a client with `unacknowledged` QoS 1/2 publishes when it sends one
 * more, or undefined while it may: a 5.0 client is held to the Receive Maximum the broker
 * advertised [MQTT-3.3.4-9], a 3.1/3.1.1 client to V3_MAX_UNACKNOWLEDGED.
 */
export function inboundQuotaError(protocolVersion: number, unacknowledged: number, receiveMaximum: number): ProtocolError | undefined {
  if (protocolVersion === 5) {
    return unacknowledged >= receiveMaximum ? new ProtocolError(0x93, 'receive maximum exceeded', 'MQTT-3.3.4-9') : undefined;
  }
  if (unacknowledged < V3_MAX_UNACKNOWLEDGED) return undefined;
  return new ProtocolError(0x82, `more than ${V3_MAX_UNACKNOWLEDGED} unacknowledged QoS 1/2 publishes: packet identifiers reused`, 'MQTT-2.3.1-2');
}
