// One parser per control packet body, each reading like its section of the specification.
// They run on a Reader positioned after the fixed header; the fixed header's flags were
// already checked by the Decoder. Section numbers are those of MQTT 5.0; 3.1.1 ids are named
// where they differ.

import { malformed, protocolError, ProtocolError } from './errors.js';
import {
  AUTH_REASON_CODES,
  CONNACK_REASON_CODES,
  DISCONNECT_REASON_CODES,
  PUBACK_REASON_CODES,
  PUBREL_REASON_CODES,
  SUBACK_REASON_CODES,
  UNSUBACK_REASON_CODES,
} from './reason-codes.js';
import { WILL_MASK, type Reader } from './reader.js';
import type {
  AckPacket,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  DisconnectPacket,
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
  Will,
} from './types.js';

const mask = (type: number): number => 1 << type;

/** 3.1 CONNECT. Returns the packet; the version is known once the protocol level is read. */
export function parseConnect(r: Reader, onVersion: (v: ProtocolVersion) => void): ConnectPacket {
  const name = r.string();
  const byte = r.u8();
  // Mosquitto's bridge flag (try_private) on a 3.1/3.1.1 level: 0x83, 0x84.
  const bridge = (byte & 0x80) !== 0 && (byte & 0x7f) !== 5;
  const level = bridge ? byte & 0x7f : byte;
  if (name !== 'MQTT' && name !== 'MQIsdp') {
    throw protocolError(`unknown protocol name ${JSON.stringify(name)}`, 'MQTT-3.1.2-1');
  }
  // [MQTT-3.1.2-2] an unsupported level is answered with CONNACK 0x84 (3.1.1: return code 1).
  if (name === 'MQTT' ? level !== 4 && level !== 5 : level !== 3) {
    throw new ProtocolError(0x84, `protocol ${name} level ${level} is not supported`, 'MQTT-3.1.2-2');
  }
  const version = level as ProtocolVersion;
  r.version = version;
  onVersion(version);

  const flags = r.u8();
  if (flags & 0x01) throw malformed('CONNECT reserved flag is set', 'MQTT-3.1.2-3');
  const clean = (flags & 0x02) !== 0;
  const willFlag = (flags & 0x04) !== 0;
  const willQoS = (flags >> 3) & 0x03;
  const willRetain = (flags & 0x20) !== 0;
  const passwordFlag = (flags & 0x40) !== 0;
  const usernameFlag = (flags & 0x80) !== 0;
  if (!willFlag && willQoS !== 0) throw malformed('will QoS set without will flag', 'MQTT-3.1.2-11');
  if (!willFlag && willRetain) throw malformed('will retain set without will flag', 'MQTT-3.1.2-13');
  if (willQoS === 3) throw malformed('will QoS 3', 'MQTT-3.1.2-12');
  if (version < 5 && passwordFlag && !usernameFlag) {
    // 3.1.1 [MQTT-3.1.2-22]; 5.0 allows a password without a user name.
    throw malformed('password flag set without user name flag', 'MQTT-3.1.2-22');
  }
  const keepalive = r.u16();
  const properties = version === 5 ? r.properties(mask(1)) : undefined;
  if (properties?.authenticationData !== undefined && properties.authenticationMethod === undefined) {
    throw protocolError('authentication data without an authentication method'); // 5.0 section 3.1.2.11.10
  }

  const packet: ConnectPacket = {
    type: 'connect',
    protocolName: name,
    protocolVersion: version,
    clean,
    keepalive,
    clientId: r.string(),
  };
  if (bridge) packet.bridge = true;
  if (properties) packet.properties = properties;
  if (willFlag) {
    const willProperties = version === 5 ? r.properties(WILL_MASK) : undefined;
    const topic = r.topic();
    if (topic.length === 0) throw new ProtocolError(0x90, 'empty will topic', 'MQTT-4.7.3-1');
    const will: Will = { topic, payload: r.binary(), qos: willQoS as QoS, retain: willRetain };
    if (willProperties) will.properties = willProperties;
    packet.will = will;
  }
  if (usernameFlag) packet.username = r.string();
  if (passwordFlag) packet.password = r.binary();
  if (r.remaining !== 0) throw malformed('bytes after the end of the CONNECT payload');
  return packet;
}

/** 3.2 CONNACK. */
export function parseConnack(r: Reader): ConnackPacket {
  const ackFlags = r.u8();
  if (ackFlags & 0xfe) throw malformed('CONNACK reserved flags are set', 'MQTT-3.2.2-1');
  const reasonCode = r.u8();
  if (r.version === 5 ? !CONNACK_REASON_CODES.has(reasonCode) : reasonCode > 5) {
    throw protocolError(`CONNACK reason code 0x${reasonCode.toString(16)}`);
  }
  const packet: ConnackPacket = {
    type: 'connack',
    sessionPresent: r.version !== 3 && (ackFlags & 0x01) === 1,
    reasonCode,
  };
  if (r.version === 5 && r.remaining > 0) {
    const properties = r.properties(mask(2));
    if (properties) packet.properties = properties;
  }
  return finish(r, packet);
}

/** 3.3 PUBLISH; `flags` are the fixed header's low four bits, already validated. */
export function parsePublish(r: Reader, flags: number, fromClient: boolean): PublishPacket {
  const qos = ((flags >> 1) & 0x03) as QoS;
  const topic = r.topic();
  const packet: PublishPacket = {
    type: 'publish',
    topic,
    payload: r.buf, // replaced below; keeps the object's shape stable
    qos,
    retain: (flags & 0x01) !== 0,
    dup: (flags & 0x08) !== 0,
  };
  if (qos > 0) packet.packetId = r.packetId();
  if (r.version === 5) {
    const properties = r.properties(mask(3));
    if (properties) {
      if (fromClient && properties.subscriptionIdentifiers) {
        throw protocolError('subscription identifier in a PUBLISH from a client', 'MQTT-3.3.4-6');
      }
      packet.properties = properties;
    }
  }
  if (topic.length === 0 && packet.properties?.topicAlias === undefined) {
    throw protocolError('empty topic name without a topic alias', 'MQTT-3.3.2-1');
  }
  packet.payload = r.rest();
  return packet;
}

type AckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
const ACK_CODES: Record<AckType, ReadonlySet<number>> = {
  puback: PUBACK_REASON_CODES,
  pubrec: PUBACK_REASON_CODES,
  pubrel: PUBREL_REASON_CODES,
  pubcomp: PUBREL_REASON_CODES,
};

/** 3.4 to 3.7: PUBACK, PUBREC, PUBREL, PUBCOMP. */
export function parseAck<T extends AckType>(r: Reader, type: T, code: number): AckPacket<T> {
  const packet: AckPacket<T> = { type, packetId: r.packetId() };
  if (r.version === 5 && r.remaining > 0) {
    const reasonCode = r.u8();
    if (!ACK_CODES[type].has(reasonCode)) {
      throw protocolError(`${type.toUpperCase()} reason code 0x${reasonCode.toString(16)}`);
    }
    packet.reasonCode = reasonCode;
    if (r.remaining > 0) {
      const properties = r.properties(mask(code));
      if (properties) packet.properties = properties;
    }
  }
  return finish(r, packet);
}

/** 3.8 SUBSCRIBE. */
export function parseSubscribe(r: Reader): SubscribePacket {
  const packetId = r.packetId();
  const properties = r.version === 5 ? r.properties(mask(8)) : undefined;
  const subscriptions: Subscription[] = [];
  while (r.remaining > 0) {
    const topicFilter = r.string();
    const options = r.u8();
    const qos = options & 0x03;
    if (r.version === 5) {
      if (options & 0xc0) throw malformed('subscription options reserved bits set', 'MQTT-3.8.3-5');
      if (qos === 3) throw protocolError('subscription QoS 3');
      const retainHandling = (options >> 4) & 0x03;
      if (retainHandling === 3) throw protocolError('retain handling 3');
      const noLocal = (options & 0x04) !== 0;
      if (noLocal && topicFilter.startsWith('$share/')) {
        throw protocolError('no local on a shared subscription', 'MQTT-3.8.3-4');
      }
      subscriptions.push({
        topicFilter,
        qos: qos as QoS,
        noLocal,
        retainAsPublished: (options & 0x08) !== 0,
        retainHandling: retainHandling as 0 | 1 | 2,
      });
    } else {
      // 3.1.1 [MQTT-3.8.3-4] (printed MQTT-3-8.3-4 in 3.1.1): reserved bits or QoS 3 are malformed.
      if (options & 0xfc) throw malformed('requested QoS byte reserved bits set', 'MQTT-3.8.3-4');
      if (qos === 3) throw malformed('subscription QoS 3', 'MQTT-3.8.3-4');
      subscriptions.push({ topicFilter, qos: qos as QoS });
    }
  }
  if (subscriptions.length === 0) throw protocolError('SUBSCRIBE without a topic filter', 'MQTT-3.8.3-3');
  const packet: SubscribePacket = { type: 'subscribe', packetId, subscriptions };
  if (properties) packet.properties = properties;
  return packet;
}

/** 3.9 SUBACK. */
export function parseSuback(r: Reader): SubackPacket {
  const packetId = r.packetId();
  const properties = r.version === 5 ? r.properties(mask(9)) : undefined;
  const reasonCodes: number[] = [];
  while (r.remaining > 0) {
    const code = r.u8();
    if (r.version === 5 ? !SUBACK_REASON_CODES.has(code) : code > 2 && code !== 0x80) {
      throw protocolError(`SUBACK return code 0x${code.toString(16)}`);
    }
    reasonCodes.push(code);
  }
  // One return code per filter, and a SUBSCRIBE has at least one [MQTT-3.9.3-1].
  if (reasonCodes.length === 0) throw protocolError('SUBACK without a return code', 'MQTT-3.9.3-1');
  const packet: SubackPacket = { type: 'suback', packetId, reasonCodes };
  if (properties) packet.properties = properties;
  return packet;
}

/** 3.10 UNSUBSCRIBE. */
export function parseUnsubscribe(r: Reader): UnsubscribePacket {
  const packetId = r.packetId();
  const properties = r.version === 5 ? r.properties(mask(10)) : undefined;
  const topicFilters: string[] = [];
  while (r.remaining > 0) topicFilters.push(r.string());
  if (topicFilters.length === 0) {
    throw protocolError('UNSUBSCRIBE without a topic filter', 'MQTT-3.10.3-2');
  }
  const packet: UnsubscribePacket = { type: 'unsubscribe', packetId, topicFilters };
  if (properties) packet.properties = properties;
  return packet;
}

/** 3.11 UNSUBACK. */
export function parseUnsuback(r: Reader): UnsubackPacket {
  const packet: UnsubackPacket = { type: 'unsuback', packetId: r.packetId() };
  if (r.version === 5) {
    const properties = r.properties(mask(11));
    if (properties) packet.properties = properties;
    const reasonCodes: number[] = [];
    while (r.remaining > 0) {
      const code = r.u8();
      if (!UNSUBACK_REASON_CODES.has(code)) throw protocolError(`UNSUBACK reason code 0x${code.toString(16)}`);
      reasonCodes.push(code);
    }
    if (reasonCodes.length === 0) throw protocolError('UNSUBACK without a reason code', 'MQTT-3.11.3-1');
    packet.reasonCodes = reasonCodes;
  }
  return finish(r, packet);
}

/** 3.14 DISCONNECT. */
export function parseDisconnect(r: Reader): DisconnectPacket {
  const packet: DisconnectPacket = { type: 'disconnect' };
  if (r.version === 5 && r.remaining > 0) {
    const reasonCode = r.u8();
    if (!DISCONNECT_REASON_CODES.has(reasonCode)) {
      throw protocolError(`DISCONNECT reason code 0x${reasonCode.toString(16)}`);
    }
    packet.reasonCode = reasonCode;
    if (r.remaining > 0) {
      const properties = r.properties(mask(14));
      if (properties) packet.properties = properties;
    }
  }
  return finish(r, packet);
}

/** 3.15 AUTH (5.0 only; the Decoder rejects type 15 for older levels). */
export function parseAuth(r: Reader): AuthPacket {
  const packet: AuthPacket = { type: 'auth' };
  if (r.remaining > 0) {
    const reasonCode = r.u8();
    if (!AUTH_REASON_CODES.has(reasonCode)) throw protocolError(`AUTH reason code 0x${reasonCode.toString(16)}`);
    packet.reasonCode = reasonCode;
    // Only the whole variable header may be left out (section 3.15.2.1); with it, the
    // Authentication Method is required (section 3.15.2.2.2).
    const properties = r.properties(mask(15));
    if (properties?.authenticationMethod === undefined) throw protocolError('AUTH without an authentication method');
    packet.properties = properties;
  }
  return finish(r, packet);
}

function finish<T>(r: Reader, packet: T): T {
  if (r.remaining !== 0) throw malformed('bytes after the end of the packet');
  return packet;
}
