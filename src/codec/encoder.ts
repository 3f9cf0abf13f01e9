// The encoder: one packet value to its bytes, for any of the three protocol levels. It sizes
// the packet first and then writes into one buffer of exactly that size. 5.0-only fields are
// left out when encoding for 3.1 or 3.1.1.

import type { FastBuffer } from './fast-buffer.js';
import { MAX_VARINT, PROPERTY_BY_KEY, type PropertyDef } from './properties.js';
import {
  PACKET_TYPE_CODES,
  type AckPacket,
  type ConnectPacket,
  type Packet,
  type Properties,
  type ProtocolVersion,
  type PublishPacket,
  type UserProperty,
} from './types.js';

/** A cursor writing into a buffer sized in advance. */
class Writer {
  pos = 0;
  readonly buf: FastBuffer;
  constructor(buf: Buffer) {
    this.buf = buf as FastBuffer;
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.buf[this.pos++] = v >> 8;
    this.buf[this.pos++] = v & 0xff;
  }
  u32(v: number): void {
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }
  varint(v: number): void {
    do {
      let byte = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) byte |= 0x80;
      this.buf[this.pos++] = byte;
    } while (v > 0);
  }
  /** A UTF-8 string whose byte length the caller measured with `strlen`. */
  string(s: string, len: number): void {
    this.u16(len);
    if (len === s.length) this.buf.latin1Write(s, this.pos, len);
    else this.buf.utf8Write(s, this.pos, len);
    this.pos += len;
  }
  binary(b: Uint8Array): void {
    this.u16(b.length);
    this.bytes(b);
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** UTF-8 byte length; ASCII strings, the common case for topics, skip the native call. */
export function strlen(s: string): number {
  const n = s.length;
  if (n < 64) {
    for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return checkLength(Buffer.byteLength(s));
    return n;
  }
  return checkLength(Buffer.byteLength(s));
}

function checkLength(len: number): number {
  if (len > 0xffff) throw new RangeError(`string of ${len} bytes is longer than MQTT allows (65535)`);
  return len;
}

export function varintSize(v: number): number {
  if (v < 0 || v > MAX_VARINT || !Number.isInteger(v)) throw new RangeError(`${v} does not fit a variable byte integer`);
  return v < 128 ? 1 : v < 16_384 ? 2 : v < 2_097_152 ? 3 : 4;
}

// ---- properties ----------------------------------------------------------------------------

/** A property block measured for writing: content size, size with its prefix, and entries. */
interface Block {
  size: number;
  total: number;
  /** Present properties in ascending identifier order, the order they are written in. */
  defs: PropertyDef[];
}

const EMPTY_BLOCK: Block = { size: 0, total: 1, defs: [] };

/** Measures a property block, visiting only the keys present (usually a handful). */
function propertyBlock(props: Properties | undefined): Block {
  if (props === undefined) return EMPTY_BLOCK;
  const defs: PropertyDef[] = [];
  let size = 0;
  for (const key in props) {
    const v = props[key as keyof Properties];
    if (v === undefined) continue;
    const def = PROPERTY_BY_KEY[key as keyof Properties];
    if (def === undefined) throw new TypeError(`unknown property ${key}`);
    switch (def.kind) {
      case 'byte':
      case 'bool':
        size += 2;
        break;
      case 'u16':
        size += 3;
        break;
      case 'u32':
        size += 5;
        break;
      case 'varint':
        if (typeof v === 'number') size += 1 + varintSize(v);
        else for (const id of v as number[]) size += 1 + varintSize(id);
        break;
      case 'string':
        size += 3 + strlen(v as string);
        break;
      case 'binary':
        size += 3 + (v as Buffer).length;
        break;
      case 'pair':
        for (const [k, val] of v as UserProperty[]) size += 5 + strlen(k) + strlen(val);
        break;
    }
    // Insertion by identifier keeps the wire order canonical whatever the key order.
    let i = defs.length;
    defs.push(def);
    while (i > 0 && defs[i - 1]!.id > def.id) {
      defs[i] = defs[i - 1]!;
      defs[--i] = def;
    }
  }
  return defs.length === 0 ? EMPTY_BLOCK : { size, total: varintSize(size) + size, defs };
}

function writeProperties(w: Writer, props: Properties | undefined, block: Block): void {
  w.varint(block.size);
  for (const def of block.defs) {
    const v = props![def.key]!;
    switch (def.kind) {
      case 'byte':
        w.u8(def.id);
        w.u8(v as number);
        break;
      case 'bool':
        w.u8(def.id);
        w.u8(v ? 1 : 0);
        break;
      case 'u16':
        w.u8(def.id);
        w.u16(v as number);
        break;
      case 'u32':
        w.u8(def.id);
        w.u32(v as number);
        break;
      case 'varint':
        for (const id of typeof v === 'number' ? [v] : (v as number[])) {
          w.u8(0x0b);
          w.varint(id);
        }
        break;
      case 'string':
        w.u8(def.id);
        w.string(v as string, strlen(v as string));
        break;
      case 'binary':
        w.u8(def.id);
        w.binary(v as Buffer);
        break;
      case 'pair':
        for (const [k, val] of v as UserProperty[]) {
          w.u8(0x26);
          w.string(k, strlen(k));
          w.string(val, strlen(val));
        }
        break;
    }
  }
}

function start(type: number, flags: number, remaining: number): Writer {
  const w = new Writer(Buffer.allocUnsafe(1 + varintSize(remaining) + remaining));
  w.u8((type << 4) | flags);
  w.varint(remaining);
  return w;
}

// ---- packets -------------------------------------------------------------------------------

/** Encodes a packet for a connection at `version`. */
export function encode(packet: Packet, version: ProtocolVersion): Buffer {
  const v5 = version === 5;
  switch (packet.type) {
    case 'publish':
      return encodePublish(packet, version);
    case 'connect':
      return encodeConnect(packet);
    case 'connack': {
      const props = v5 ? propertyBlock(packet.properties) : undefined;
      const w = start(2, 0, 2 + (props?.total ?? 0));
      w.u8(packet.sessionPresent && version !== 3 ? 1 : 0);
      w.u8(packet.reasonCode);
      if (props) writeProperties(w, packet.properties, props);
      return w.buf;
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return encodeAck(packet, v5);
    case 'subscribe': {
      const props = v5 ? propertyBlock(packet.properties) : undefined;
      let remaining = 2 + (props?.total ?? 0);
      const lens = packet.subscriptions.map((s) => strlen(s.topicFilter));
      for (const len of lens) remaining += 3 + len;
      const w = start(8, 0x02, remaining);
      w.u16(packet.packetId);
      if (props) writeProperties(w, packet.properties, props);
      packet.subscriptions.forEach((s, i) => {
        w.string(s.topicFilter, lens[i]!);
        let options: number = s.qos;
        if (v5) {
          if (s.noLocal) options |= 0x04;
          if (s.retainAsPublished) options |= 0x08;
          options |= (s.retainHandling ?? 0) << 4;
        }
        w.u8(options);
      });
      return w.buf;
    }
    case 'suback':
    case 'unsuback': {
      const props = v5 ? propertyBlock(packet.properties) : undefined;
      const codes = packet.type === 'suback' || v5 ? (packet.reasonCodes ?? []) : [];
      const w = start(PACKET_TYPE_CODES[packet.type], 0, 2 + (props?.total ?? 0) + codes.length);
      w.u16(packet.packetId);
      if (props) writeProperties(w, packet.properties, props);
      for (const c of codes) w.u8(c);
      return w.buf;
    }
    case 'unsubscribe': {
      const props = v5 ? propertyBlock(packet.properties) : undefined;
      const lens = packet.topicFilters.map(strlen);
      const remaining = lens.reduce((sum, len) => sum + 2 + len, 2 + (props?.total ?? 0));
      const w = start(10, 0x02, remaining);
      w.u16(packet.packetId);
      if (props) writeProperties(w, packet.properties, props);
      packet.topicFilters.forEach((f, i) => w.string(f, lens[i]!));
      return w.buf;
    }
    case 'pingreq':
      return Buffer.from([0xc0, 0x00]);
    case 'pingresp':
      return Buffer.from([0xd0, 0x00]);
    case 'disconnect':
    case 'auth':
      return encodeReasonOnly(PACKET_TYPE_CODES[packet.type], v5, packet.reasonCode, packet.properties, packet.type === 'auth');
  }
}

function encodeConnect(p: ConnectPacket): Buffer {
  const version = p.protocolVersion;
  const v5 = version === 5;
  const name = version === 3 ? 'MQIsdp' : 'MQTT';
  const props = v5 ? propertyBlock(p.properties) : undefined;
  const willProps = v5 && p.will ? propertyBlock(p.will.properties) : undefined;
  const clientIdLen = strlen(p.clientId);
  const willTopicLen = p.will ? strlen(p.will.topic) : 0;
  const usernameLen = p.username !== undefined ? strlen(p.username) : 0;
  let remaining = 2 + name.length + 1 + 1 + 2 + (props?.total ?? 0) + 2 + clientIdLen;
  if (p.will) remaining += (willProps?.total ?? 0) + 2 + willTopicLen + 2 + p.will.payload.length;
  if (p.username !== undefined) remaining += 2 + usernameLen;
  if (p.password !== undefined) remaining += 2 + p.password.length;

  let flags = p.clean ? 0x02 : 0;
  if (p.will) flags |= 0x04 | (p.will.qos << 3) | (p.will.retain ? 0x20 : 0);
  if (p.password !== undefined) flags |= 0x40;
  if (p.username !== undefined) flags |= 0x80;

  const w = start(1, 0, remaining);
  w.string(name, name.length);
  w.u8(p.bridge && !v5 ? version | 0x80 : version);
  w.u8(flags);
  w.u16(p.keepalive);
  if (props) writeProperties(w, p.properties, props);
  w.string(p.clientId, clientIdLen);
  if (p.will) {
    if (willProps) writeProperties(w, p.will.properties, willProps);
    w.string(p.will.topic, willTopicLen);
    w.binary(p.will.payload);
  }
  if (p.username !== undefined) w.string(p.username, usernameLen);
  if (p.password !== undefined) w.binary(p.password);
  return w.buf;
}

/** PUBLISH: the hot path. Only the properties block goes through the generic table. */
export function encodePublish(p: PublishPacket, version: ProtocolVersion): Buffer {
  const topicLen = strlen(p.topic);
  const props = version === 5 ? propertyBlock(p.properties) : undefined;
  const remaining = 2 + topicLen + (p.qos > 0 ? 2 : 0) + (props?.total ?? 0) + p.payload.length;
  const w = start(3, (p.dup ? 0x08 : 0) | (p.qos << 1) | (p.retain ? 0x01 : 0), remaining);
  w.string(p.topic, topicLen);
  if (p.qos > 0) w.u16(p.packetId ?? 0);
  if (props) writeProperties(w, p.properties, props);
  w.bytes(p.payload);
  return w.buf;
}

function encodeAck(p: AckPacket<'puback' | 'pubrec' | 'pubrel' | 'pubcomp'>, v5: boolean): Buffer {
  const code = PACKET_TYPE_CODES[p.type];
  const flags = p.type === 'pubrel' ? 0x02 : 0;
  const props = v5 ? propertyBlock(p.properties) : EMPTY_BLOCK;
  if (!v5 || (p.reasonCode === undefined && props.size === 0)) {
    const w = start(code, flags, 2);
    w.u16(p.packetId);
    return w.buf;
  }
  const w = start(code, flags, 3 + (props.size > 0 ? props.total : 0));
  w.u16(p.packetId);
  w.u8(p.reasonCode ?? 0);
  if (props.size > 0) writeProperties(w, p.properties, props);
  return w.buf;
}

/**
 * DISCONNECT and AUTH: an optional reason code and optional properties. DISCONNECT may end
 * after its reason code (section 3.14.2.2.1); AUTH may not (section 3.15.2.2.1).
 */
function encodeReasonOnly(code: number, v5: boolean, reasonCode: number | undefined, properties: Properties | undefined, propertiesRequired: boolean): Buffer {
  const props = v5 ? propertyBlock(properties) : EMPTY_BLOCK;
  if (!v5 || (reasonCode === undefined && props.size === 0)) return start(code, 0, 0).buf;
  const withProps = props.size > 0 || propertiesRequired;
  const w = start(code, 0, 1 + (withProps ? props.total : 0));
  w.u8(reasonCode ?? 0);
  if (withProps) writeProperties(w, properties, props);
  return w.buf;
}
