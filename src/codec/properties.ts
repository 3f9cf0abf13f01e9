// The MQTT 5.0 property table (section 2.2.2.2): identifier, wire type, the key it decodes
// to, and the packets that may carry it. Decoder and encoder both read this one table.

import type { Properties } from './types.js';

export type PropertyKind = 'byte' | 'bool' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pair';

/** Bit per packet type code (1..15); the will properties of CONNECT get their own bit. */
export const WILL_MASK = 1 << 16;
const bit = (...codes: number[]): number => codes.reduce((m, c) => m | (1 << c), 0);
const CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, PUBREC = 5, PUBREL = 6, PUBCOMP = 7;
const SUBSCRIBE = 8, SUBACK = 9, UNSUBSCRIBE = 10, UNSUBACK = 11, DISCONNECT = 14, AUTH = 15;

export interface PropertyDef {
  readonly id: number;
  readonly key: keyof Properties;
  readonly kind: PropertyKind;
  /** Packets (bits of packet type codes, plus WILL_MASK) allowed to carry it. */
  readonly packets: number;
  /** Index for the duplicate check: each property at most once, but see `repeatable`. */
  readonly index: number;
}

const defs: Array<Omit<PropertyDef, 'index'>> = [
  { id: 0x01, key: 'payloadFormatIndicator', kind: 'byte', packets: bit(PUBLISH) | WILL_MASK },
  { id: 0x02, key: 'messageExpiryInterval', kind: 'u32', packets: bit(PUBLISH) | WILL_MASK },
  { id: 0x03, key: 'contentType', kind: 'string', packets: bit(PUBLISH) | WILL_MASK },
  { id: 0x08, key: 'responseTopic', kind: 'string', packets: bit(PUBLISH) | WILL_MASK },
  { id: 0x09, key: 'correlationData', kind: 'binary', packets: bit(PUBLISH) | WILL_MASK },
  { id: 0x0b, key: 'subscriptionIdentifier', kind: 'varint', packets: bit(PUBLISH, SUBSCRIBE) },
  { id: 0x11, key: 'sessionExpiryInterval', kind: 'u32', packets: bit(CONNECT, CONNACK, DISCONNECT) },
  { id: 0x12, key: 'assignedClientIdentifier', kind: 'string', packets: bit(CONNACK) },
  { id: 0x13, key: 'serverKeepAlive', kind: 'u16', packets: bit(CONNACK) },
  { id: 0x15, key: 'authenticationMethod', kind: 'string', packets: bit(CONNECT, CONNACK, AUTH) },
  { id: 0x16, key: 'authenticationData', kind: 'binary', packets: bit(CONNECT, CONNACK, AUTH) },
  { id: 0x17, key: 'requestProblemInformation', kind: 'bool', packets: bit(CONNECT) },
  { id: 0x18, key: 'willDelayInterval', kind: 'u32', packets: WILL_MASK },
  { id: 0x19, key: 'requestResponseInformation', kind: 'bool', packets: bit(CONNECT) },
  { id: 0x1a, key: 'responseInformation', kind: 'string', packets: bit(CONNACK) },
  { id: 0x1c, key: 'serverReference', kind: 'string', packets: bit(CONNACK, DISCONNECT) },
  {
    id: 0x1f,
    key: 'reasonString',
    kind: 'string',
    packets: bit(CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH),
  },
  { id: 0x21, key: 'receiveMaximum', kind: 'u16', packets: bit(CONNECT, CONNACK) },
  { id: 0x22, key: 'topicAliasMaximum', kind: 'u16', packets: bit(CONNECT, CONNACK) },
  { id: 0x23, key: 'topicAlias', kind: 'u16', packets: bit(PUBLISH) },
  { id: 0x24, key: 'maximumQoS', kind: 'byte', packets: bit(CONNACK) },
  { id: 0x25, key: 'retainAvailable', kind: 'bool', packets: bit(CONNACK) },
  {
    id: 0x26,
    key: 'userProperties',
    kind: 'pair',
    packets:
      bit(CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP) |
      bit(SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT, AUTH) |
      WILL_MASK,
  },
  { id: 0x27, key: 'maximumPacketSize', kind: 'u32', packets: bit(CONNECT, CONNACK) },
  { id: 0x28, key: 'wildcardSubscriptionAvailable', kind: 'bool', packets: bit(CONNACK) },
  { id: 0x29, key: 'subscriptionIdentifiersAvailable', kind: 'bool', packets: bit(CONNACK) },
  { id: 0x2a, key: 'sharedSubscriptionAvailable', kind: 'bool', packets: bit(CONNACK) },
];

/** Indexed by property identifier; undefined for identifiers MQTT does not define. */
export const PROPERTY_BY_ID: ReadonlyArray<PropertyDef | undefined> = (() => {
  const table: Array<PropertyDef | undefined> = new Array(0x2b).fill(undefined);
  defs.forEach((d, index) => (table[d.id] = { ...d, index }));
  return table;
})();

/** In ascending identifier order: the order the encoder writes them in. */
export const PROPERTY_DEFS: readonly PropertyDef[] = PROPERTY_BY_ID.filter(
  (d): d is PropertyDef => d !== undefined,
);

/** By decoded key; both Subscription Identifier keys map to identifier 0x0B. */
export const PROPERTY_BY_KEY: Readonly<Record<keyof Properties, PropertyDef>> = (() => {
  const table = {} as Record<keyof Properties, PropertyDef>;
  for (const d of PROPERTY_DEFS) table[d.key] = d;
  table.subscriptionIdentifiers = { ...table.subscriptionIdentifier, key: 'subscriptionIdentifiers' };
  return table;
})();

/** The largest Variable Byte Integer (section 1.5.5). */
export const MAX_VARINT = 268_435_455;
