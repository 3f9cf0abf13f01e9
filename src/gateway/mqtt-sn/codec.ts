// MQTT-SN v1.2 codec: one datagram <-> one message, pure functions over Buffers. The gateway
// (issue 17) will sit on UDP, where a datagram is exactly one message (or one forwarder
// encapsulation, 5.5), so unlike src/codec/ there is no streaming decoder: a datagram that is
// not exactly one well-formed message is refused whole with an MqttSnError.
//
// Choices the specification leaves open:
// - Flag bits a message type does not use ("not used" in 5.4.x) are ignored on decode and
//   written as 0, so a sloppy client is not refused for them; the bits a type does use must
//   hold a defined value (TopicIdType 0b11 is reserved, QoS 0b11 only exists for PUBLISH).
// - The 3-octet Length form "may" be used below 256 octets (5.2.1), so decode accepts it;
//   encode always writes the shortest form.
// - Strings (ClientId, topic names, WillTopic) must be valid UTF-8; Data and WillMsg are octets.

import {
  MsgType,
  type Datagram,
  type Message,
  type PublishTopic,
  type QoS,
  type ReturnCode,
  type SubQoS,
  type SubscribeTopic,
} from './types.js';

export type MqttSnReason =
  | 'truncated'
  | 'length-mismatch'
  | 'bad-length'
  | 'unknown-type'
  | 'bad-flags'
  | 'empty-client-id'
  | 'client-id-too-long'
  | 'short-topic-length'
  | 'bad-protocol-id'
  | 'bad-return-code'
  | 'bad-utf8'
  | 'nested-encapsulation'
  | 'bad-field';

/**
 * A datagram (or a message to encode) that is not valid MQTT-SN v1.2. `reason` says what is
 * wrong and `section` the part of the specification it breaks, so the gateway can count and
 * log refusals by kind without parsing messages.
 */
export class MqttSnError extends Error {
  override readonly name = 'MqttSnError';
  constructor(
    readonly reason: MqttSnReason,
    readonly section: string,
    detail: string,
  ) {
    super(`MQTT-SN ${reason} (section ${section}): ${detail}`);
  }
}

const fail = (reason: MqttSnReason, section: string, detail: string): never => {
  throw new MqttSnError(reason, section, detail);
};

/** ClientId is 1 to 23 octets, as in MQTT 3.1 (5.3.1). */
export const MAX_CLIENT_ID = 23;
const MAX_LENGTH = 0xffff;

const utf8 = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/** Reads one message body; every read past the end is "truncated" for the message's section. */
class Reader {
  private at = 0;
  constructor(
    private readonly body: Buffer,
    readonly section: string,
  ) {}
  get left(): number {
    return this.body.length - this.at;
  }
  private need(n: number, what: string): void {
    if (this.left < n) fail('truncated', this.section, `${what} missing`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.body[this.at++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.body.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const b = Buffer.from(this.body.subarray(this.at, this.at + n));
    this.at += n;
    return b;
  }
  rest(): Buffer {
    return this.bytes(this.left, 'rest');
  }
  string(n: number, what: string, section: string): string {
    const b = this.bytes(n, what);
    try {
      return utf8.decode(b);
    } catch {
      return fail('bad-utf8', section, `${what} is not valid UTF-8`);
    }
  }
  restString(what: string, section: string): string {
    return this.string(this.left, what, section);
  }
  /** Fixed-size messages: nothing may follow their last field. */
  end(): void {
    if (this.left !== 0) fail('bad-length', this.section, `${this.left} octet(s) after the last field`);
  }
}

interface Flags {
  dup: boolean;
  qos: number;
  retain: boolean;
  will: boolean;
  cleanSession: boolean;
  topicIdType: number;
}

/** The Flags octet (5.3.4): DUP bit 7, QoS bits 6-5, Retain 4, Will 3, CleanSession 2, TopicIdType 1-0. */
function flags(byte: number): Flags {
  return {
    dup: (byte & 0x80) !== 0,
    qos: (byte >> 5) & 3,
    retain: (byte & 0x10) !== 0,
    will: (byte & 0x08) !== 0,
    cleanSession: (byte & 0x04) !== 0,
    topicIdType: byte & 3,
  };
}

function subQos(bits: number, section: string): SubQoS {
  if (bits === 3) fail('bad-flags', section, 'QoS -1 (0b11) is only defined for PUBLISH');
  return bits as SubQoS;
}

function tidType(bits: number, section: string): number {
  if (bits === 3) fail('bad-flags', '5.3.4', `TopicIdType 0b11 is reserved (in ${section})`);
  return bits;
}

function returnCode(r: Reader): ReturnCode {
  const v = r.u8('ReturnCode');
  if (v > 3) fail('bad-return-code', '5.3.10', `ReturnCode 0x${v.toString(16)} is reserved`);
  return v as ReturnCode;
}

function clientId(r: Reader, what: string): string {
  if (r.left === 0) fail('empty-client-id', '5.3.1', `${what}: ClientId is empty`);
  if (r.left > MAX_CLIENT_ID) fail('client-id-too-long', '5.3.1', `${what}: ClientId is ${r.left} octets, over ${MAX_CLIENT_ID}`);
  return r.restString('ClientId', '5.3.1');
}

function shortName(r: Reader, section: string): string {
  return r.string(2, 'short topic name', section);
}

function subscribeTopic(r: Reader, bits: number, section: string): SubscribeTopic {
  switch (tidType(bits, section)) {
    case 0:
      return { type: 'normal', name: r.restString('TopicName', '5.3.12') };
    case 1: {
      const id = r.u16('TopicId');
      r.end();
      return { type: 'predefined', id };
    }
    default:
      if (r.left !== 2) fail('short-topic-length', section, `short topic name is ${r.left} octets, not 2`);
      return { type: 'short', name: shortName(r, section) };
  }
}

function willTopic(r: Reader, section: string): { qos: SubQoS; retain: boolean; topic: string } | null {
  if (r.left === 0) return null;
  const f = flags(r.u8('Flags'));
  return { qos: subQos(f.qos, section), retain: f.retain, topic: r.restString('WillTopic', '5.3.14') };
}

function body(type: number, r: Reader): Message {
  switch (type) {
    case MsgType.ADVERTISE: {
      const m = { type: 'advertise', gwId: r.u8('GwId'), duration: r.u16('Duration') } as const;
      r.end();
      return m;
    }
    case MsgType.SEARCHGW: {
      const m = { type: 'searchgw', radius: r.u8('Radius') } as const;
      r.end();
      return m;
    }
    case MsgType.GWINFO: {
      const gwId = r.u8('GwId');
      return r.left > 0 ? { type: 'gwinfo', gwId, gwAdd: r.rest() } : { type: 'gwinfo', gwId };
    }
    case MsgType.CONNECT: {
      const f = flags(r.u8('Flags'));
      const protocolId = r.u8('ProtocolId');
      const duration = r.u16('Duration');
      if (protocolId !== 0x01) fail('bad-protocol-id', '5.3.8', `ProtocolId 0x${protocolId.toString(16)}, not 0x01`);
      return { type: 'connect', will: f.will, cleanSession: f.cleanSession, duration, clientId: clientId(r, 'CONNECT') };
    }
    case MsgType.CONNACK:
    case MsgType.WILLTOPICRESP:
    case MsgType.WILLMSGRESP: {
      const rc = returnCode(r);
      r.end();
      const t = type === MsgType.CONNACK ? 'connack' : type === MsgType.WILLTOPICRESP ? 'willtopicresp' : 'willmsgresp';
      return { type: t, returnCode: rc };
    }
    case MsgType.WILLTOPICREQ:
    case MsgType.WILLMSGREQ:
    case MsgType.PINGRESP:
      r.end();
      return { type: type === MsgType.WILLTOPICREQ ? 'willtopicreq' : type === MsgType.WILLMSGREQ ? 'willmsgreq' : 'pingresp' };
    case MsgType.WILLTOPIC:
      return { type: 'willtopic', will: willTopic(r, '5.4.7') };
    case MsgType.WILLTOPICUPD:
      return { type: 'willtopicupd', will: willTopic(r, '5.4.22') };
    case MsgType.WILLMSG:
      return { type: 'willmsg', payload: r.rest() };
    case MsgType.WILLMSGUPD:
      return { type: 'willmsgupd', payload: r.rest() };
    case MsgType.REGISTER:
      return { type: 'register', topicId: r.u16('TopicId'), msgId: r.u16('MsgId'), topicName: r.restString('TopicName', '5.3.12') };
    case MsgType.REGACK:
    case MsgType.PUBACK: {
      const m = { type: type === MsgType.REGACK ? 'regack' : 'puback', topicId: r.u16('TopicId'), msgId: r.u16('MsgId'), returnCode: returnCode(r) } as const;
      r.end();
      return m;
    }
    case MsgType.PUBLISH: {
      const f = flags(r.u8('Flags'));
      const kind = tidType(f.topicIdType, '5.4.12');
      let topic: PublishTopic;
      if (kind === 2) topic = { type: 'short', name: shortName(r, '5.4.12') };
      else topic = { type: kind === 0 ? 'normal' : 'predefined', id: r.u16('TopicId') };
      const qos: QoS = f.qos === 3 ? -1 : (f.qos as QoS);
      return { type: 'publish', dup: f.dup, qos, retain: f.retain, topic, msgId: r.u16('MsgId'), payload: r.rest() };
    }
    case MsgType.PUBREC:
    case MsgType.PUBREL:
    case MsgType.PUBCOMP:
    case MsgType.UNSUBACK: {
      const msgId = r.u16('MsgId');
      r.end();
      const t = type === MsgType.PUBREC ? 'pubrec' : type === MsgType.PUBREL ? 'pubrel' : type === MsgType.PUBCOMP ? 'pubcomp' : 'unsuback';
      return { type: t, msgId };
    }
    case MsgType.SUBSCRIBE: {
      const f = flags(r.u8('Flags'));
      const qos = subQos(f.qos, '5.4.15');
      const msgId = r.u16('MsgId');
      return { type: 'subscribe', dup: f.dup, qos, msgId, topic: subscribeTopic(r, f.topicIdType, '5.4.15') };
    }
    case MsgType.SUBACK: {
      const f = flags(r.u8('Flags'));
      const m = { type: 'suback', qos: subQos(f.qos, '5.4.16'), topicId: r.u16('TopicId'), msgId: r.u16('MsgId'), returnCode: returnCode(r) } as const;
      r.end();
      return m;
    }
    case MsgType.UNSUBSCRIBE: {
      const f = flags(r.u8('Flags'));
      const msgId = r.u16('MsgId');
      return { type: 'unsubscribe', msgId, topic: subscribeTopic(r, f.topicIdType, '5.4.17') };
    }
    case MsgType.PINGREQ:
      return r.left > 0 ? { type: 'pingreq', clientId: clientId(r, 'PINGREQ') } : { type: 'pingreq' };
    case MsgType.DISCONNECT: {
      if (r.left === 0) return { type: 'disconnect' };
      const duration = r.u16('Duration');
      r.end();
      return { type: 'disconnect', duration };
    }
    default:
      return fail('unknown-type', '5.2.2', `MsgType 0x${type.toString(16).padStart(2, '0')} is not defined`);
  }
}

const SECTION: Record<number, string> = {
  0x00: '5.4.1', 0x01: '5.4.2', 0x02: '5.4.3', 0x04: '5.4.4', 0x05: '5.4.5', 0x06: '5.4.6', 0x07: '5.4.7',
  0x08: '5.4.8', 0x09: '5.4.9', 0x0a: '5.4.10', 0x0b: '5.4.11', 0x0c: '5.4.12', 0x0d: '5.4.13',
  0x0e: '5.4.14', 0x0f: '5.4.14', 0x10: '5.4.14', 0x12: '5.4.15', 0x13: '5.4.16', 0x14: '5.4.17',
  0x15: '5.4.18', 0x16: '5.4.19', 0x17: '5.4.20', 0x18: '5.4.21', 0x1a: '5.4.22', 0x1b: '5.4.24',
  0x1c: '5.4.23', 0x1d: '5.4.25', 0xfe: '5.5',
};

/** The Length field (5.2.1): [total length, header size including MsgType]. */
function header(buf: Buffer): [number, number] {
  if (buf.length < 2) fail('truncated', '5.2.1', `${buf.length} octet(s), no room for Length and MsgType`);
  if (buf[0] !== 0x01) {
    if (buf[0] === 0x00) fail('bad-length', '5.2.1', 'Length 0');
    return [buf[0]!, 2];
  }
  if (buf.length < 4) fail('truncated', '5.2.1', '3-octet Length form without its two octets and MsgType');
  const length = buf.readUInt16BE(1);
  if (length < 4) fail('bad-length', '5.2.1', `Length ${length} is shorter than the 3-octet Length and MsgType`);
  return [length, 4];
}

function decodeAny(buf: Buffer, nested: boolean): Datagram {
  const [length, size] = header(buf);
  if (length > buf.length) fail('truncated', '5.2.1', `Length says ${length} octets, the datagram has ${buf.length}`);
  const type = buf[size - 1]!;
  if (type === MsgType.ENCAPSULATED) {
    // The Length of an encapsulation covers only its own header (5.5); the message follows.
    if (nested) fail('nested-encapsulation', '5.5', 'an encapsulated message is itself an encapsulation');
    const r = new Reader(buf.subarray(size, length), '5.5');
    const ctrl = r.u8('Ctrl');
    return { type: 'encapsulated', radius: ctrl & 3, wirelessNodeId: r.rest(), message: decodeAny(buf.subarray(length), true) as Message };
  }
  if (length < buf.length) fail('length-mismatch', '5.2.1', `Length says ${length} octets, the datagram has ${buf.length}`);
  return body(type, new Reader(buf.subarray(size, length), SECTION[type] ?? '5.2.2'));
}

/** Decodes one datagram; throws MqttSnError (and nothing else) when it is not valid MQTT-SN v1.2. */
export function decode(buf: Buffer): Datagram {
  return decodeAny(buf, false);
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

function u8(v: number, what: string, section: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) fail('bad-field', section, `${what} ${v} is not an octet`);
  return v;
}

function u16(v: number, what: string, section: string): Buffer {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) fail('bad-field', section, `${what} ${v} is not a 16-bit integer`);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function rc(v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 3) fail('bad-return-code', '5.3.10', `ReturnCode ${v} is reserved`);
  return v;
}

function qosBits(qos: number, allowMinusOne: boolean, section: string): number {
  if (qos === -1 && allowMinusOne) return 3;
  if (qos === 0 || qos === 1 || qos === 2) return qos;
  return fail('bad-flags', section, `QoS ${qos} is not defined here`);
}

function tidBits(type: string, section: string): number {
  if (type === 'normal') return 0;
  if (type === 'predefined') return 1;
  if (type === 'short') return 2;
  return fail('bad-flags', section, `TopicIdType ${type} is not defined`);
}

function flagsByte(f: { dup?: boolean; qos?: number; retain?: boolean; will?: boolean; cleanSession?: boolean; topicIdType?: number }): Buffer {
  const byte = (f.dup ? 0x80 : 0) | ((f.qos ?? 0) << 5) | (f.retain ? 0x10 : 0) | (f.will ? 0x08 : 0) | (f.cleanSession ? 0x04 : 0) | (f.topicIdType ?? 0);
  return Buffer.from([byte]);
}

/** A lone surrogate would be written as U+FFFD, silently another string than the one given. */
function text(s: string): Buffer {
  if (/\p{Surrogate}/u.test(s)) fail('bad-utf8', '5.3', 'string holds a lone surrogate, not encodable as UTF-8');
  return Buffer.from(s, 'utf8');
}

function clientIdBytes(id: string): Buffer {
  const b = text(id);
  if (b.length === 0) fail('empty-client-id', '5.3.1', 'ClientId is empty');
  if (b.length > MAX_CLIENT_ID) fail('client-id-too-long', '5.3.1', `ClientId is ${b.length} octets, over ${MAX_CLIENT_ID}`);
  return b;
}

function shortNameBytes(name: string, section: string): Buffer {
  const b = text(name);
  if (b.length !== 2) fail('short-topic-length', section, `short topic name is ${b.length} octets, not 2`);
  return b;
}

function willTopicBytes(will: { qos: number; retain: boolean; topic: string } | null, section: string): Buffer[] {
  if (will === null) return [];
  return [flagsByte({ qos: qosBits(will.qos, false, section), retain: will.retain }), text(will.topic)];
}

function subscribeTopicBytes(topic: SubscribeTopic, section: string): [number, Buffer] {
  const bits = tidBits(topic.type, section);
  if (topic.type === 'normal') return [bits, text(topic.name)];
  if (topic.type === 'predefined') return [bits, u16(topic.id, 'TopicId', '5.3.11')];
  return [bits, shortNameBytes(topic.name, section)];
}

function bodyOf(m: Message): [number, Buffer[]] {
  switch (m.type) {
    case 'advertise':
      return [MsgType.ADVERTISE, [Buffer.from([u8(m.gwId, 'GwId', '5.3.6')]), u16(m.duration, 'Duration', '5.3.3')]];
    case 'searchgw':
      return [MsgType.SEARCHGW, [Buffer.from([u8(m.radius, 'Radius', '5.3.9')])]];
    case 'gwinfo':
      return [MsgType.GWINFO, [Buffer.from([u8(m.gwId, 'GwId', '5.3.6')]), m.gwAdd ?? Buffer.alloc(0)]];
    case 'connect':
      return [
        MsgType.CONNECT,
        [flagsByte({ will: m.will, cleanSession: m.cleanSession }), Buffer.from([0x01]), u16(m.duration, 'Duration', '5.3.3'), clientIdBytes(m.clientId)],
      ];
    case 'connack':
      return [MsgType.CONNACK, [Buffer.from([rc(m.returnCode)])]];
    case 'willtopicresp':
      return [MsgType.WILLTOPICRESP, [Buffer.from([rc(m.returnCode)])]];
    case 'willmsgresp':
      return [MsgType.WILLMSGRESP, [Buffer.from([rc(m.returnCode)])]];
    case 'willtopicreq':
      return [MsgType.WILLTOPICREQ, []];
    case 'willmsgreq':
      return [MsgType.WILLMSGREQ, []];
    case 'pingresp':
      return [MsgType.PINGRESP, []];
    case 'willtopic':
      return [MsgType.WILLTOPIC, willTopicBytes(m.will, '5.4.7')];
    case 'willtopicupd':
      return [MsgType.WILLTOPICUPD, willTopicBytes(m.will, '5.4.22')];
    case 'willmsg':
      return [MsgType.WILLMSG, [m.payload]];
    case 'willmsgupd':
      return [MsgType.WILLMSGUPD, [m.payload]];
    case 'register':
      return [MsgType.REGISTER, [u16(m.topicId, 'TopicId', '5.3.11'), u16(m.msgId, 'MsgId', '5.3.7'), text(m.topicName)]];
    case 'regack':
    case 'puback':
      return [
        m.type === 'regack' ? MsgType.REGACK : MsgType.PUBACK,
        [u16(m.topicId, 'TopicId', '5.3.11'), u16(m.msgId, 'MsgId', '5.3.7'), Buffer.from([rc(m.returnCode)])],
      ];
    case 'publish': {
      const topicIdType = tidBits(m.topic.type, '5.4.12');
      const topic = m.topic.type === 'short' ? shortNameBytes(m.topic.name, '5.4.12') : u16(m.topic.id, 'TopicId', '5.3.11');
      const flags = flagsByte({ dup: m.dup, qos: qosBits(m.qos, true, '5.4.12'), retain: m.retain, topicIdType });
      return [MsgType.PUBLISH, [flags, topic, u16(m.msgId, 'MsgId', '5.3.7'), m.payload]];
    }
    case 'pubrec':
      return [MsgType.PUBREC, [u16(m.msgId, 'MsgId', '5.3.7')]];
    case 'pubrel':
      return [MsgType.PUBREL, [u16(m.msgId, 'MsgId', '5.3.7')]];
    case 'pubcomp':
      return [MsgType.PUBCOMP, [u16(m.msgId, 'MsgId', '5.3.7')]];
    case 'unsuback':
      return [MsgType.UNSUBACK, [u16(m.msgId, 'MsgId', '5.3.7')]];
    case 'subscribe': {
      const [topicIdType, topic] = subscribeTopicBytes(m.topic, '5.4.15');
      return [MsgType.SUBSCRIBE, [flagsByte({ dup: m.dup, qos: qosBits(m.qos, false, '5.4.15'), topicIdType }), u16(m.msgId, 'MsgId', '5.3.7'), topic]];
    }
    case 'suback':
      return [
        MsgType.SUBACK,
        [flagsByte({ qos: qosBits(m.qos, false, '5.4.16') }), u16(m.topicId, 'TopicId', '5.3.11'), u16(m.msgId, 'MsgId', '5.3.7'), Buffer.from([rc(m.returnCode)])],
      ];
    case 'unsubscribe': {
      const [topicIdType, topic] = subscribeTopicBytes(m.topic, '5.4.17');
      return [MsgType.UNSUBSCRIBE, [flagsByte({ topicIdType }), u16(m.msgId, 'MsgId', '5.3.7'), topic]];
    }
    case 'pingreq':
      return [MsgType.PINGREQ, m.clientId === undefined ? [] : [clientIdBytes(m.clientId)]];
    case 'disconnect':
      return [MsgType.DISCONNECT, m.duration === undefined ? [] : [u16(m.duration, 'Duration', '5.3.3')]];
    default:
      return fail('unknown-type', '5.2.2', `no message type ${JSON.stringify((m as { type: unknown }).type)}`);
  }
}

/** Length field + MsgType + fields, in the shortest Length form (5.2.1). */
function frame(type: number, parts: Buffer[]): Buffer {
  const fields = parts.reduce((n, p) => n + p.length, 0);
  if (fields + 2 <= 0xff) return Buffer.concat([Buffer.from([fields + 2, type]), ...parts]);
  const length = fields + 4;
  if (length > MAX_LENGTH) fail('bad-length', '5.2.1', `message of ${length} octets does not fit the Length field`);
  const head = Buffer.from([0x01, 0, 0, type]);
  head.writeUInt16BE(length, 1);
  return Buffer.concat([head, ...parts]);
}

/** Encodes one message (or encapsulation); throws MqttSnError for what decode would refuse. */
export function encode(m: Datagram): Buffer {
  if (m.type === 'encapsulated') {
    if (m.message.type === ('encapsulated' as string)) fail('nested-encapsulation', '5.5', 'an encapsulation inside an encapsulation');
    if (!Number.isInteger(m.radius) || m.radius < 0 || m.radius > 3) fail('bad-field', '5.5', `Radius ${m.radius} does not fit Ctrl's two bits`);
    return Buffer.concat([frame(MsgType.ENCAPSULATED, [Buffer.from([m.radius]), m.wirelessNodeId]), encode(m.message)]);
  }
  const [type, parts] = bodyOf(m);
  return frame(type, parts);
}
