// Random valid packets, for the mqtt-packet cross-check and as fuzz seeds. Every value obeys the
// rules the decoder enforces, so a random packet must survive encode -> decode unchanged.

import {
  AUTH_REASON_CODES,
  CONNACK_REASON_CODES,
  DISCONNECT_REASON_CODES,
  PUBACK_REASON_CODES,
  PUBREL_REASON_CODES,
  SUBACK_REASON_CODES,
  UNSUBACK_REASON_CODES,
} from '../../src/codec/reason-codes.js';
import type { AckPacket, Packet, Properties, ProtocolVersion, QoS, Subscription, UserProperty } from '../../src/codec/types.js';
import type { Role } from './fixtures.js';

export type Rand = () => number;

const int = (rand: Rand, min: number, max: number): number => min + Math.floor(rand() * (max - min + 1));
const chance = (rand: Rand, p = 0.5): boolean => rand() < p;
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

// Characters of 1, 2, 3 and 4 UTF-8 bytes; no U+0000, no wildcards, no '/'.
const CHARS = ['a', 'b', 'z', 'A', 'Q', '0', '9', '-', '_', '.', ' ', '$', 'é', 'ß', '温', '度', '\u{1F321}', '\uFEFF'];

function text(rand: Rand, min = 0, max = 12): string {
  let out = '';
  const n = int(rand, min, max);
  for (let i = 0; i < n; i++) out += pick(rand, CHARS);
  return out;
}

function bytes(rand: Rand, max = 48): Buffer {
  const b = Buffer.alloc(int(rand, 0, max));
  for (let i = 0; i < b.length; i++) b[i] = int(rand, 0, 255);
  return b;
}

/** A topic name: one or more levels, no wildcards, at least one character. */
function topicName(rand: Rand): string {
  const levels: string[] = [];
  const n = int(rand, 1, 4);
  for (let i = 0; i < n; i++) levels.push(text(rand, i === 0 ? 1 : 0, 6));
  return levels.join('/');
}

function topicFilter(rand: Rand): string {
  const levels: string[] = [];
  const n = int(rand, 1, 4);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.15) levels.push('+');
    else if (r < 0.25 && i === n - 1) levels.push('#');
    else levels.push(text(rand, 1, 6));
  }
  return levels.join('/');
}

const codes = (set: ReadonlySet<number>): number[] => [...set];

function userProperties(rand: Rand): UserProperty[] {
  const out: UserProperty[] = [];
  const n = int(rand, 1, 3);
  // Names repeat sometimes: the order of repeated names is part of what must survive.
  for (let i = 0; i < n; i++) out.push([chance(rand, 0.3) ? 'k' : text(rand, 0, 5), text(rand, 0, 8)]);
  return out;
}

/** Picks a random subset of the given property makers; undefined when none was picked. */
function props<P extends Properties>(rand: Rand, makers: { [K in keyof P]?: () => P[K] }): P | undefined {
  const out: Partial<P> = {};
  let any = false;
  for (const key of Object.keys(makers) as Array<keyof P>) {
    if (chance(rand, 0.35)) {
      out[key] = makers[key]!();
      any = true;
    }
  }
  return any ? (out as P) : undefined;
}

const u16 = (rand: Rand, min = 0): number => int(rand, min, 0xffff);
const u32 = (rand: Rand, min = 0): number => int(rand, min, 0xffffffff);
const varint = (rand: Rand): number => pick(rand, [1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455, int(rand, 1, 268_435_455)]);

export const SERVER_TYPES = [
  'connect', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'unsubscribe', 'pingreq', 'disconnect', 'auth',
] as const;
export const CLIENT_TYPES = [
  'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'suback', 'unsuback', 'pingresp', 'disconnect', 'auth',
] as const;

export interface RandomOptions {
  /** Only packets mqtt-packet can also generate (no 5.0 password without user name). */
  mqttPacketGenerable?: boolean;
}

/** A random packet that a decoder of the given role and version accepts. */
export function randomPacket(rand: Rand, version: ProtocolVersion, role: Role, opts: RandomOptions = {}): Packet {
  const types = (role === 'server' ? SERVER_TYPES : CLIENT_TYPES).filter(
    (t) => (version === 5 || t !== 'auth') && (version === 5 || role === 'server' || t !== 'disconnect'),
  );
  const type = pick(rand, types);
  const v5 = version === 5;
  const ack = (t: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'): Packet => {
    const p: AckPacket<typeof t> = { type: t, packetId: u16(rand, 1) };
    if (v5 && chance(rand)) {
      p.reasonCode = pick(rand, codes(t === 'pubrel' || t === 'pubcomp' ? PUBREL_REASON_CODES : PUBACK_REASON_CODES));
      const properties = props(rand, { reasonString: () => text(rand), userProperties: () => userProperties(rand) });
      if (properties) p.properties = properties;
    }
    return p;
  };

  switch (type) {
    case 'connect': {
      const clean = chance(rand);
      const p: Packet = {
        type: 'connect',
        protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: version,
        clean,
        keepalive: u16(rand),
        // 3.1 needs a client identifier; 3.1.1 and 5.0 allow an empty one with clean session.
        clientId: text(rand, version === 3 || !clean ? 1 : 0, 23),
      };
      if (v5) {
        const properties = props(rand, {
          sessionExpiryInterval: () => u32(rand),
          receiveMaximum: () => u16(rand, 1),
          maximumPacketSize: () => u32(rand, 1),
          topicAliasMaximum: () => u16(rand),
          requestResponseInformation: () => chance(rand),
          requestProblemInformation: () => chance(rand),
          userProperties: () => userProperties(rand),
          authenticationMethod: () => text(rand),
          authenticationData: () => bytes(rand),
        });
        // Authentication Data without an Authentication Method is a Protocol Error (5.0 §3.1.2.11.10).
        if (properties?.authenticationData && properties.authenticationMethod === undefined) properties.authenticationMethod = text(rand);
        if (properties) p.properties = properties;
      }
      if (chance(rand)) {
        p.will = { topic: topicName(rand), payload: bytes(rand), qos: int(rand, 0, 2) as QoS, retain: chance(rand) };
        if (v5) {
          const properties = props(rand, {
            payloadFormatIndicator: () => (chance(rand) ? 1 : 0),
            messageExpiryInterval: () => u32(rand),
            contentType: () => text(rand),
            responseTopic: () => topicName(rand),
            correlationData: () => bytes(rand),
            willDelayInterval: () => u32(rand),
            userProperties: () => userProperties(rand),
          });
          if (properties) p.will.properties = properties;
        }
      }
      if (chance(rand)) p.username = text(rand);
      if (chance(rand) && (p.username !== undefined || (v5 && !opts.mqttPacketGenerable))) p.password = bytes(rand);
      return p;
    }
    case 'connack': {
      const reasonCode = v5 ? pick(rand, codes(CONNACK_REASON_CODES)) : int(rand, 0, 5);
      // 3.1 has no session present flag; a refusal never has one [MQTT-3.2.2-6].
      const p: Packet = { type: 'connack', sessionPresent: version !== 3 && reasonCode === 0 && chance(rand), reasonCode };
      if (v5) {
        const properties = props(rand, {
          sessionExpiryInterval: () => u32(rand),
          receiveMaximum: () => u16(rand, 1),
          maximumQoS: () => (chance(rand) ? 1 : 0),
          retainAvailable: () => chance(rand),
          maximumPacketSize: () => u32(rand, 1),
          assignedClientIdentifier: () => text(rand),
          topicAliasMaximum: () => u16(rand),
          reasonString: () => text(rand),
          userProperties: () => userProperties(rand),
          wildcardSubscriptionAvailable: () => chance(rand),
          subscriptionIdentifiersAvailable: () => chance(rand),
          sharedSubscriptionAvailable: () => chance(rand),
          serverKeepAlive: () => u16(rand),
          responseInformation: () => text(rand),
          serverReference: () => text(rand),
          authenticationMethod: () => text(rand),
          authenticationData: () => bytes(rand),
        });
        // Authentication Data without an Authentication Method is a Protocol Error (5.0 §3.1.2.11.10).
        if (properties?.authenticationData && properties.authenticationMethod === undefined) properties.authenticationMethod = text(rand);
        if (properties) p.properties = properties;
      }
      return p;
    }
    case 'publish': {
      const qos = int(rand, 0, 2) as QoS;
      const p: Packet = {
        type: 'publish',
        topic: topicName(rand),
        payload: bytes(rand, 200),
        qos,
        retain: chance(rand),
        dup: qos > 0 && chance(rand),
      };
      if (qos > 0) p.packetId = u16(rand, 1);
      if (v5) {
        const properties = props(rand, {
          payloadFormatIndicator: () => (chance(rand) ? 1 : 0),
          messageExpiryInterval: () => u32(rand),
          contentType: () => text(rand),
          responseTopic: () => topicName(rand),
          correlationData: () => bytes(rand),
          topicAlias: () => u16(rand, 1),
          userProperties: () => userProperties(rand),
          // Only a server sends subscription identifiers [MQTT-3.3.4-6].
          ...(role === 'client' ? { subscriptionIdentifiers: () => Array.from({ length: int(rand, 1, 3) }, () => varint(rand)) } : {}),
        });
        if (properties) p.properties = properties;
        if (properties?.topicAlias !== undefined && chance(rand, 0.3)) p.topic = '';
      }
      return p;
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return ack(type);
    case 'subscribe': {
      const subscriptions: Subscription[] = Array.from({ length: int(rand, 1, 4) }, () => {
        const shared = v5 && chance(rand, 0.2);
        const s: Subscription = { topicFilter: shared ? `$share/${text(rand, 1, 4)}/${topicFilter(rand)}` : topicFilter(rand), qos: int(rand, 0, 2) as QoS };
        if (v5) {
          s.noLocal = !shared && chance(rand); // [MQTT-3.8.3-4]
          s.retainAsPublished = chance(rand);
          s.retainHandling = int(rand, 0, 2) as 0 | 1 | 2;
        }
        return s;
      });
      const p: Packet = { type: 'subscribe', packetId: u16(rand, 1), subscriptions };
      if (v5) {
        const properties = props(rand, { subscriptionIdentifier: () => varint(rand), userProperties: () => userProperties(rand) });
        if (properties) p.properties = properties;
      }
      return p;
    }
    case 'suback': {
      const n = int(rand, 1, 5);
      const p: Packet = {
        type: 'suback',
        packetId: u16(rand, 1),
        reasonCodes: Array.from({ length: n }, () => pick(rand, v5 ? codes(SUBACK_REASON_CODES) : [0, 1, 2, 0x80])),
      };
      if (v5) {
        const properties = props(rand, { reasonString: () => text(rand), userProperties: () => userProperties(rand) });
        if (properties) p.properties = properties;
      }
      return p;
    }
    case 'unsubscribe': {
      const p: Packet = {
        type: 'unsubscribe',
        packetId: u16(rand, 1),
        topicFilters: Array.from({ length: int(rand, 1, 4) }, () => topicFilter(rand)),
      };
      if (v5) {
        const properties = props(rand, { userProperties: () => userProperties(rand) });
        if (properties) p.properties = properties;
      }
      return p;
    }
    case 'unsuback': {
      const p: Packet = { type: 'unsuback', packetId: u16(rand, 1) };
      if (v5) {
        p.reasonCodes = Array.from({ length: int(rand, 1, 5) }, () => pick(rand, codes(UNSUBACK_REASON_CODES)));
        const properties = props(rand, { reasonString: () => text(rand), userProperties: () => userProperties(rand) });
        if (properties) p.properties = properties;
      }
      return p;
    }
    case 'pingreq':
      return { type: 'pingreq' };
    case 'pingresp':
      return { type: 'pingresp' };
    case 'disconnect': {
      const p: Packet = { type: 'disconnect' };
      if (v5 && chance(rand)) {
        p.reasonCode = pick(rand, codes(DISCONNECT_REASON_CODES));
        const properties = props(rand, {
          // The Session Expiry Interval MUST NOT be sent on a DISCONNECT by the Server [MQTT-3.14.2-2].
          ...(role === 'server' ? { sessionExpiryInterval: () => u32(rand) } : {}),
          reasonString: () => text(rand),
          userProperties: () => userProperties(rand),
          serverReference: () => text(rand),
        });
        if (properties) p.properties = properties;
      }
      return p;
    }
    case 'auth': {
      const p: Packet = { type: 'auth' };
      if (chance(rand, 0.8)) {
        p.reasonCode = pick(rand, codes(AUTH_REASON_CODES));
        // "It is a Protocol Error to omit the Authentication Method" (5.0 §3.15.2.2.2).
        p.properties = {
          authenticationMethod: text(rand),
          ...props(rand, {
            authenticationData: () => bytes(rand),
            reasonString: () => text(rand),
            userProperties: () => userProperties(rand),
          }),
        };
      }
      return p;
    }
  }
}
