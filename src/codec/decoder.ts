// The streaming decoder: socket chunks in, packets out. It frames packets from the fixed
// header, rejects a packet whose declared size exceeds the limit before buffering any of its
// body (of a CONNECT, the 9 bytes that give its protocol version), parses a packet that lies
// wholly inside one chunk straight from that chunk (payloads are slices of it, not copies),
// and assembles only packets split across chunks.

import { malformed, protocolError, ProtocolError } from './errors.js';
import {
  parseAck,
  parseAuth,
  parseConnack,
  parseConnect,
  parseDisconnect,
  parsePublish,
  parseSubscribe,
  parseSuback,
  parseUnsubscribe,
  parseUnsuback,
} from './parse.js';
import { Reader } from './reader.js';
import { MAX_PACKET_SIZE, type Packet, type ProtocolVersion } from './types.js';

export interface DecoderOptions {
  /**
   * 'server' decodes what clients send: the first packet must be CONNECT, which sets the
   * protocol version, and packets only a server sends are refused. 'client' decodes what a
   * server sends, at the version given here. Default 'server'.
   */
  role?: 'server' | 'client';
  /** The protocol version, when it is known before any packet (client role, tests). */
  protocolVersion?: ProtocolVersion;
  /** Largest total packet size accepted (fixed header included). Default: the protocol's. */
  maxPacketSize?: number;
}

// Packet types a role never receives (section 2.1.2): a server gets no CONNACK, SUBACK,
// UNSUBACK or PINGRESP; a client gets no CONNECT, SUBSCRIBE, UNSUBSCRIBE or PINGREQ.
const NOT_FOR_SERVER = (1 << 2) | (1 << 9) | (1 << 11) | (1 << 13);
const NOT_FOR_CLIENT = (1 << 1) | (1 << 8) | (1 << 10) | (1 << 12);

// A CONNECT's protocol name and level: a 2-byte length, 'MQTT' (3.1: 'MQIsdp') and one byte.
const CONNECT_LEVEL_END = 2 + 6 + 1;

function tooLarge(size: number, max: number): ProtocolError {
  return new ProtocolError(0x95, `packet of ${size} bytes exceeds the maximum of ${max}`);
}

const PINGREQ: Packet = Object.freeze({ type: 'pingreq' }) as Packet;
const PINGRESP: Packet = Object.freeze({ type: 'pingresp' }) as Packet;

/** Receives decoded packets: a function, or an object (no closure per decoder). */
export interface PacketSink {
  onPacket(packet: Packet): void;
}

// One Reader serves every decoder: a packet is parsed to the end before it is handed on, so
// no two parses overlap. It lets go of the chunk after each packet, so an idle connection
// pins no socket buffer.
const reader = new Reader();
const NO_BYTES = Buffer.alloc(0);

export class Decoder {
  protocolVersion: ProtocolVersion | undefined;
  maxPacketSize: number;
  readonly role: 'server' | 'client';

  private readonly sink: PacketSink;
  private connectSeen: boolean;
  private failure: ProtocolError | undefined;

  // Fixed header in progress: first byte, length so far, bytes of length read (0 = none yet).
  private header = -1;
  private length = 0;
  private lengthBytes = 0;
  private nonMinimal = false;
  // Body of a packet split across chunks.
  private body: Buffer | undefined;
  private filled = 0;
  /** The declared size of a CONNECT over maxPacketSize, of which only the start is read. */
  private oversized = 0;

  constructor(onPacket: ((packet: Packet) => void) | PacketSink, options: DecoderOptions = {}) {
    this.sink = typeof onPacket === 'function' ? { onPacket } : onPacket;
    this.role = options.role ?? 'server';
    this.protocolVersion = options.protocolVersion;
    this.maxPacketSize = options.maxPacketSize ?? MAX_PACKET_SIZE;
    this.connectSeen = options.protocolVersion !== undefined;
  }

  /** Bytes held for a packet not yet complete. Never more than maxPacketSize. */
  get buffered(): number {
    if (this.body) return this.filled + 1 + this.lengthBytes;
    return this.header === -1 ? 0 : 1 + this.lengthBytes;
  }

  /**
   * Feeds one chunk; emits every packet it completes, in order. Throws ProtocolError on the
   * first violation; the decoder is then spent and throws the same error on every push.
   */
  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    try {
      this.consume(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) this.failure = err;
      throw err;
    }
  }

  private consume(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.body !== undefined) {
        const take = Math.min(this.length - this.filled, n - i);
        chunk.copy(this.body, this.filled, i, i + take);
        this.filled += take;
        i += take;
        if (this.filled === this.length) {
          const body = this.body;
          this.body = undefined;
          const header = this.header;
          this.header = -1;
          this.parse(header, body, 0, body.length);
        }
        continue;
      }
      if (this.header === -1) {
        this.header = chunk[i++]!;
        this.checkFixedHeader(this.header);
        this.length = 0;
        this.lengthBytes = 0;
        this.nonMinimal = false;
        continue;
      }
      // Remaining Length: a Variable Byte Integer of at most four bytes (section 2.1.4).
      const byte = chunk[i++]!;
      this.length += (byte & 0x7f) * 128 ** this.lengthBytes;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes === 4) throw malformed('remaining length longer than four bytes');
        continue;
      }
      if (this.lengthBytes > 1 && byte === 0) this.nonMinimal = true;
      const size = 1 + this.lengthBytes + this.length;
      if (size > this.maxPacketSize) {
        if (this.header >> 4 !== 1) throw tooLarge(size, this.maxPacketSize);
        // A CONNECT too large: only as far as its protocol level is read (parse() refuses
        // it there), so that a 5.0 client can be told why in a CONNACK 0x95.
        this.oversized = size;
        this.length = Math.min(this.length, CONNECT_LEVEL_END);
      }
      if (n - i >= this.length) {
        const end = i + this.length;
        const header = this.header;
        this.header = -1;
        this.parse(header, chunk, i, end);
        i = end;
      } else {
        this.body = Buffer.allocUnsafe(this.length);
        this.filled = 0;
      }
    }
  }

  /** Fixed header byte: a known type with the flags its type requires [MQTT-2.1.3-1]. */
  private checkFixedHeader(byte: number): void {
    const type = byte >> 4;
    const flags = byte & 0x0f;
    if (type === 0) throw malformed('reserved packet type 0');
    if (type === 15 && this.protocolVersion !== undefined && this.protocolVersion < 5) {
      throw malformed('AUTH packet before MQTT 5.0');
    }
    if (this.role === 'server') {
      if (!this.connectSeen && type !== 1) throw protocolError('first packet is not CONNECT', 'MQTT-3.1.0-1');
      if (this.connectSeen && type === 1) throw protocolError('second CONNECT', 'MQTT-3.1.0-2');
      if (NOT_FOR_SERVER & (1 << type)) throw protocolError(`a client may not send packet type ${type}`);
    } else if (NOT_FOR_CLIENT & (1 << type)) {
      throw protocolError(`a server may not send packet type ${type}`);
    }
    if (type === 3) {
      const qos = (flags >> 1) & 0x03;
      if (qos === 3) throw malformed('PUBLISH with QoS 3', 'MQTT-3.3.1-4');
      if (qos === 0 && flags & 0x08) throw malformed('DUP flag set on a QoS 0 PUBLISH', 'MQTT-3.3.1-2');
    } else if (flags !== (type === 6 || type === 8 || type === 10 ? 0x02 : 0x00)) {
      throw malformed(`invalid fixed header flags 0x${flags.toString(16)} for packet type ${type}`, 'MQTT-2.1.3-1');
    }
  }

  private parse(header: number, buf: Buffer, start: number, end: number): void {
    if (this.oversized !== 0) this.refuseConnect(buf, start, end);
    const type = header >> 4;
    const r = reader;
    r.reset(buf, start, end, this.protocolVersion ?? 4);
    const packet = this.parseBody(type, header, r, start, end);
    r.reset(NO_BYTES, 0, 0, 4);
    // [MQTT-1.5.5-1] in 5.0 the Remaining Length is minimally encoded too.
    if (this.nonMinimal && this.protocolVersion === 5) {
      throw malformed('remaining length not minimally encoded', 'MQTT-1.5.5-1');
    }
    this.sink.onPacket(packet);
  }

  /** Takes the protocol version from the start of an oversized CONNECT, then refuses it. */
  private refuseConnect(buf: Buffer, start: number, end: number): never {
    const nameLength = end - start >= 2 ? buf.readUInt16BE(start) : 0;
    if ((nameLength === 4 || nameLength === 6) && start + 2 + nameLength < end) {
      const name = buf.toString('latin1', start + 2, start + 2 + nameLength);
      const level = buf[start + 2 + nameLength];
      if ((name === 'MQTT' && (level === 4 || level === 5)) || (name === 'MQIsdp' && level === 3)) this.protocolVersion = level;
    }
    throw tooLarge(this.oversized, this.maxPacketSize);
  }

  private parseBody(type: number, header: number, r: Reader, start: number, end: number): Packet {
    let packet: Packet;
    switch (type) {
      case 1:
        packet = parseConnect(r, (v) => {
          this.protocolVersion = v;
          this.connectSeen = true;
        });
        break;
      case 2:
        packet = parseConnack(r);
        break;
      case 3:
        packet = parsePublish(r, header & 0x0f, this.role === 'server');
        break;
      case 4:
        packet = parseAck(r, 'puback', 4);
        break;
      case 5:
        packet = parseAck(r, 'pubrec', 5);
        break;
      case 6:
        packet = parseAck(r, 'pubrel', 6);
        break;
      case 7:
        packet = parseAck(r, 'pubcomp', 7);
        break;
      case 8:
        packet = parseSubscribe(r);
        break;
      case 9:
        packet = parseSuback(r);
        break;
      case 10:
        packet = parseUnsubscribe(r);
        break;
      case 11:
        packet = parseUnsuback(r);
        break;
      case 12:
      case 13:
        if (end !== start) throw malformed(`${type === 12 ? 'PINGREQ' : 'PINGRESP'} with a body`);
        packet = type === 12 ? PINGREQ : PINGRESP;
        break;
      case 14:
        packet = parseDisconnect(r);
        break;
      default:
        if (this.protocolVersion !== 5) throw malformed('AUTH packet before MQTT 5.0');
        packet = parseAuth(r);
    }
    return packet;
  }
}

/**
 * Decodes exactly one whole packet. Incomplete input or bytes after the packet are
 * malformed. For tests, tools and the bridge; connections use the streaming Decoder.
 */
export function decode(bytes: Buffer, options: DecoderOptions = {}): Packet {
  let result: Packet | undefined;
  let count = 0;
  const decoder = new Decoder((p) => {
    result = p;
    count++;
  }, options);
  decoder.push(bytes);
  if (count !== 1 || decoder.buffered !== 0 || result === undefined) {
    throw malformed(count === 0 ? 'incomplete packet' : 'bytes after the end of the packet');
  }
  return result;
}
