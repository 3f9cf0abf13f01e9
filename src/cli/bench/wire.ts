// What the generator puts on the wire: packets encoded once with Starling's codec, PUBLISH
// batches whose packet ids and payload fields are patched in place for each send, and the
// payload layout the subscribers read back.

import { encode, encodePublish, type ProtocolVersion, type QoS } from '../../codec/index.js';

// Payload layout when it is at least PAYLOAD_HEADER bytes long:
//   0  u32 BE  publisher index (global over all workers)
//   4  u32 BE  sequence number, per publisher, from 0
//   8  f64 LE  send time, ns since the run's base time (process.hrtime.bigint(), one clock for all threads)
export const PAYLOAD_HEADER = 16;

/** N PUBLISH packets laid end to end, with where each one's packet id and payload start. */
export interface Batch {
  readonly bytes: Buffer;
  readonly count: number;
  /** Offset just past message i. */
  readonly ends: Int32Array;
  /** Offset of message i's packet id (qos > 0), else -1. */
  readonly ids: Int32Array;
  readonly payloads: Int32Array;
}

export function buildBatch(topics: readonly string[], payloadSize: number, qos: QoS, version: ProtocolVersion): Batch {
  const payload = Buffer.alloc(payloadSize, 0x2e);
  const parts: Buffer[] = [];
  const count = topics.length;
  const ends = new Int32Array(count);
  const ids = new Int32Array(count);
  const payloads = new Int32Array(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const topic = topics[i]!;
    const bytes = encodePublish({ type: 'publish', topic, payload, qos, retain: false, dup: false, ...(qos > 0 && { packetId: 1 }) }, version);
    // Fixed header, then the topic (2 + length), the packet id, the properties (5.0: one zero byte).
    const topicEnd = headerSize(bytes) + 2 + Buffer.byteLength(topic);
    ids[i] = qos > 0 ? offset + topicEnd : -1;
    payloads[i] = offset + bytes.length - payloadSize;
    offset += bytes.length;
    ends[i] = offset;
    parts.push(bytes);
  }
  return { bytes: Buffer.concat(parts), count, ends, ids, payloads };
}

/** Fixed header size: the type byte and the Remaining Length's one to four bytes. */
function headerSize(packet: Buffer): number {
  let i = 1;
  while (packet[i]! & 0x80) i++;
  return i + 1;
}

/**
 * A fresh buffer (the socket keeps it until written) with the first `n` messages of
 * `batch`, packet ids from `nextId` and payloads stamped from `seq` on.
 */
export function stamp(
  batch: Batch,
  n: number,
  pubIndex: number,
  seq: number,
  timeNs: number,
  payloadSize: number,
  nextId: (() => number) | undefined,
): Buffer {
  const end = batch.ends[n - 1]!;
  const out = Buffer.allocUnsafe(end);
  batch.bytes.copy(out, 0, 0, end);
  const stampPayload = payloadSize >= PAYLOAD_HEADER;
  for (let i = 0; i < n; i++) {
    if (nextId !== undefined) out.writeUInt16BE(nextId(), batch.ids[i]!);
    if (stampPayload) {
      const p = batch.payloads[i]!;
      out.writeUInt32BE(pubIndex, p);
      out.writeUInt32BE((seq + i) >>> 0, p + 4);
      out.writeDoubleLE(timeNs, p + 8);
    }
  }
  return out;
}

export function connectPacket(clientId: string, version: ProtocolVersion, keepalive: number): Buffer {
  return encode({ type: 'connect', protocolName: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: true, keepalive, clientId }, version);
}

export function subscribePacket(packetId: number, filters: readonly string[], qos: QoS, version: ProtocolVersion): Buffer {
  return encode({ type: 'subscribe', packetId, subscriptions: filters.map((topicFilter) => ({ topicFilter, qos })) }, version);
}

export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** PUBACK 0x40, PUBREC 0x50, PUBREL 0x62, PUBCOMP 0x70: four bytes, no reason code (success). */
export function writeAck(out: Buffer, at: number, firstByte: number, packetId: number): void {
  out[at] = firstByte;
  out[at + 1] = 2;
  out[at + 2] = packetId >> 8;
  out[at + 3] = packetId & 0xff;
}

/** Topic names of the `topics` scenario: distinct, three levels under the run's prefix. */
export function topicName(prefix: string, i: number): string {
  return `${prefix}/t/${i % 1000}/${i}`;
}

export type TopicSet = { kind: 'list'; names: string[] } | { kind: 'range'; prefix: string; from: number; to: number };

export function topicSetSize(set: TopicSet): number {
  return set.kind === 'list' ? set.names.length : set.to - set.from;
}

export function topicAt(set: TopicSet, i: number): string {
  return set.kind === 'list' ? set.names[i]! : topicName(set.prefix, set.from + i);
}
