// A cursor over one packet's body: the data types of section 1.5 with the checks a receiver
// must make. One Reader is reused for every packet a Decoder sees, so reading allocates only
// the values it returns.

import { isUtf8 } from 'node:buffer';
import { malformed, protocolError, ProtocolError } from './errors.js';
import { PROPERTY_BY_ID, WILL_MASK } from './properties.js';
import type { FastBuffer } from './fast-buffer.js';
import type { Properties, ProtocolVersion, UserProperty } from './types.js';

const HASH = 0x23;
const PLUS = 0x2b;

export class Reader {
  buf: FastBuffer = Buffer.alloc(0) as FastBuffer;
  pos = 0;
  end = 0;
  version: ProtocolVersion = 4;

  reset(buf: Buffer, start: number, end: number, version: ProtocolVersion): void {
    this.buf = buf as FastBuffer;
    this.pos = start;
    this.end = end;
    this.version = version;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw malformed('packet ends inside a field');
  }

  u8(): number {
    if (this.pos >= this.end) throw malformed('packet ends inside a field');
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const b = this.buf;
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Variable Byte Integer, at most four bytes and minimally encoded [MQTT-1.5.5-1]. */
  varint(): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 4; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) throw malformed('variable byte integer not minimally encoded', 'MQTT-1.5.5-1');
        return value;
      }
      multiplier *= 128;
    }
    throw malformed('variable byte integer longer than four bytes');
  }

  /** Packet Identifier: non-zero where a packet carries one [MQTT-2.2.1-3]. */
  packetId(): number {
    const id = this.u16();
    if (id === 0) throw protocolError('packet identifier 0', 'MQTT-2.2.1-3');
    return id;
  }

  /** UTF-8 Encoded String: well formed, no U+0000, no surrogates [MQTT-1.5.4-1], [MQTT-1.5.4-2]. */
  string(): string {
    const len = this.u16();
    this.need(len);
    const b = this.buf;
    const start = this.pos;
    const end = start + len;
    this.pos = end;
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c === 0 || c > 0x7f) return this.slowString(start, end);
    }
    return b.latin1Slice(start, end);
  }

  /**
   * A Topic Name: a UTF-8 string without wildcards [MQTT-3.3.2-2]. Validated in the same pass
   * as the ASCII check because it is on the PUBLISH hot path.
   */
  topic(): string {
    const len = this.u16();
    this.need(len);
    const b = this.buf;
    const start = this.pos;
    const end = start + len;
    this.pos = end;
    let ascii = true;
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c === HASH || c === PLUS) {
        throw new ProtocolError(0x90, 'wildcard character in a topic name', 'MQTT-3.3.2-2');
      }
      if (c === 0 || c > 0x7f) ascii = false;
    }
    return ascii ? b.latin1Slice(start, end) : this.slowString(start, end);
  }

  private slowString(start: number, end: number): string {
    const b = this.buf;
    // In UTF-8 a 0x00 byte only ever encodes U+0000.
    const nul = b.indexOf(0, start);
    if (nul !== -1 && nul < end) {
      throw malformed('string contains U+0000', 'MQTT-1.5.4-2');
    }
    // isUtf8 rejects overlong forms, code points above U+10FFFF and encoded surrogates.
    if (!isUtf8(b.subarray(start, end))) throw malformed('string is not well-formed UTF-8', 'MQTT-1.5.4-1');
    return b.utf8Slice(start, end);
  }

  /** Binary Data: a slice of the input, not a copy. */
  binary(): Buffer {
    const len = this.u16();
    this.need(len);
    const start = this.pos;
    this.pos += len;
    return this.buf.subarray(start, this.pos);
  }

  /** The rest of the packet, as a slice. */
  rest(): Buffer {
    const start = this.pos;
    this.pos = this.end;
    return this.buf.subarray(start, this.end);
  }

  /**
   * A property block for a packet whose type bit is `mask` (or WILL_MASK). Returns undefined
   * for an empty block. Unknown or misplaced identifiers are malformed; a repeated property is
   * a Protocol Error except User Property, and Subscription Identifier in a PUBLISH.
   */
  properties(mask: number): Properties | undefined {
    const len = this.varint();
    if (len === 0) return undefined;
    this.need(len);
    const outerEnd = this.end;
    const end = this.pos + len;
    this.end = end;
    const props: Properties = {};
    let seen = 0;
    const isPublish = mask === 1 << 3;
    while (this.pos < end) {
      const id = this.varint();
      const def = id < PROPERTY_BY_ID.length ? PROPERTY_BY_ID[id] : undefined;
      if (def === undefined) throw malformed(`unknown property identifier 0x${id.toString(16)}`);
      if ((def.packets & mask) === 0) {
        throw malformed(`property ${def.key} is not allowed in this packet`);
      }
      const flag = 1 << def.index;
      if (seen & flag && id !== 0x26 && !(id === 0x0b && isPublish)) {
        throw protocolError(`property ${def.key} included more than once`);
      }
      seen |= flag;
      switch (def.kind) {
        case 'byte': {
          const v = this.u8();
          if (v > 1) throw protocolError(`${def.key} must be 0 or 1, got ${v}`);
          (props as Record<string, unknown>)[def.key] = v;
          break;
        }
        case 'bool': {
          const v = this.u8();
          if (v > 1) throw protocolError(`${def.key} must be 0 or 1, got ${v}`);
          (props as Record<string, unknown>)[def.key] = v === 1;
          break;
        }
        case 'u16': {
          const v = this.u16();
          // Topic Alias 0 is a Protocol Error answered with 0x94 Topic Alias invalid
          // [MQTT-3.3.2-8] (section 3.3.4); Receive Maximum 0 is a plain Protocol Error.
          if (v === 0 && id === 0x23) throw new ProtocolError(0x94, 'topicAlias must not be 0', 'MQTT-3.3.2-8');
          if (v === 0 && id === 0x21) throw protocolError(`${def.key} must not be 0`);
          (props as Record<string, unknown>)[def.key] = v;
          break;
        }
        case 'u32': {
          const v = this.u32();
          if (v === 0 && id === 0x27) throw protocolError('maximumPacketSize must not be 0');
          (props as Record<string, unknown>)[def.key] = v;
          break;
        }
        case 'varint': {
          const v = this.varint();
          if (v === 0) throw protocolError('subscription identifier must not be 0');
          if (isPublish) (props.subscriptionIdentifiers ??= []).push(v);
          else props.subscriptionIdentifier = v;
          break;
        }
        case 'string':
          (props as Record<string, unknown>)[def.key] = this.string();
          break;
        case 'binary':
          (props as Record<string, unknown>)[def.key] = this.binary();
          break;
        case 'pair': {
          const pair: UserProperty = [this.string(), this.string()];
          (props.userProperties ??= []).push(pair);
          break;
        }
      }
    }
    this.end = outerEnd;
    if (props.responseTopic !== undefined && /[+#]/.test(props.responseTopic)) {
      throw protocolError('response topic contains a wildcard', 'MQTT-3.3.2-14');
    }
    return props;
  }
}

export { WILL_MASK };