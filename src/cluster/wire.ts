// What cluster members write to Redis and to each other: a message as bytes, and the key
// names every member agrees on. Shared by the routing side (forwarding, retained
// replication, membership) and the session side (the Redis store, ownership), so both read
// what the other wrote.
//
// A message is one buffer, not JSON: payloads are binary and a JSON/base64 round trip costs
// a third more bytes and a copy each way on the forwarding path.
//
//   u8  version (1)
//   u8  flags: bits 0-1 QoS, bit 2 retain, bit 3 has expiresAt, bit 4 has origin,
//       bit 5 has properties
//   u16 topic length, topic (UTF-8)
//   [f64 expiresAt]
//   [u16 origin length, origin (UTF-8)]
//   [u32 properties length, properties as JSON (Buffers as {"$b": base64})]
//   payload: the rest

import type { QoS } from '../codec/types.js';
import type { Message } from '../message.js';

const VERSION = 1;

export class WireError extends Error {
  override readonly name = 'WireError';
}

export function encodeMessage(m: Message): Buffer {
  const topic = Buffer.from(m.topic, 'utf8');
  const origin = m.origin !== undefined ? Buffer.from(m.origin, 'utf8') : undefined;
  const props = m.properties !== undefined && Object.keys(m.properties).length > 0 ? Buffer.from(JSON.stringify(m.properties, bufferReplacer), 'utf8') : undefined;
  const size = 4 + topic.length + (m.expiresAt !== undefined ? 8 : 0) + (origin ? 2 + origin.length : 0) + (props ? 4 + props.length : 0) + m.payload.length;
  const out = Buffer.allocUnsafe(size);
  let flags = m.qos | (m.retain ? 4 : 0);
  if (m.expiresAt !== undefined) flags |= 8;
  if (origin) flags |= 16;
  if (props) flags |= 32;
  out[0] = VERSION;
  out[1] = flags;
  out.writeUInt16BE(topic.length, 2);
  let o = 4 + topic.copy(out, 4);
  if (m.expiresAt !== undefined) o = out.writeDoubleBE(m.expiresAt, o);
  if (origin) {
    o = out.writeUInt16BE(origin.length, o);
    o += origin.copy(out, o);
  }
  if (props) {
    o = out.writeUInt32BE(props.length, o);
    o += props.copy(out, o);
  }
  m.payload.copy(out, o);
  return out;
}

/** Whether encodeMessage writes properties for `m` (then writeMessage cannot take it). */
export function hasProperties(m: Message): boolean {
  return m.properties !== undefined && Object.keys(m.properties).length > 0;
}

/** Room writeMessage needs at most for `m` (one without properties). */
export function messageBound(m: Message): number {
  return 4 + 3 * m.topic.length + (m.expiresAt !== undefined ? 8 : 0) + (m.origin !== undefined ? 2 + 3 * m.origin.length : 0) + m.payload.length;
}

/**
 * encodeMessage's bytes written at `o` of `out` (which has messageBound(m) bytes of room
 * there), for a message without properties; returns where they end. The forwarding path
 * writes each message straight into its frame: no buffer of its own, no topic buffer.
 */
export function writeMessage(out: Buffer, o: number, m: Message): number {
  let flags = m.qos | (m.retain ? 4 : 0);
  if (m.expiresAt !== undefined) flags |= 8;
  if (m.origin !== undefined) flags |= 16;
  out[o] = VERSION;
  out[o + 1] = flags;
  const topicLen = out.write(m.topic, o + 4, 'utf8');
  out.writeUInt16BE(topicLen, o + 2);
  o += 4 + topicLen;
  if (m.expiresAt !== undefined) o = out.writeDoubleBE(m.expiresAt, o);
  if (m.origin !== undefined) {
    const n = out.write(m.origin, o + 2, 'utf8');
    out.writeUInt16BE(n, o);
    o += 2 + n;
  }
  return o + m.payload.copy(out, o);
}

/**
 * Throws WireError on bytes that are not an encoded message (a newer version included).
 * `share`: a QoS 0 message that is not retained keeps its payload as a view of `b` (it is
 * delivered at once, never queued or stored), others get a copy. `start`/`end`: where the
 * message lies in `b` (a frame's record), so no view of it is made first.
 */
export function decodeMessage(b: Buffer, share = false, start = 0, end = b.length): Message {
  if (end > b.length) end = b.length;
  if (end - start < 4) throw new WireError(`message record too short (${Math.max(0, end - start)} bytes)`);
  if (b[start] !== VERSION) throw new WireError(`message record version ${b[start]} (this node reads ${VERSION})`);
  const flags = b[start + 1]!;
  if ((flags & 3) === 3) throw new WireError('message record with QoS 3');
  const qos = (flags & 3) as QoS;
  const topicLen = b.readUInt16BE(start + 2);
  let o = start + 4;
  if (o + topicLen > end) throw truncated();
  const topic = b.toString('utf8', o, o + topicLen);
  o += topicLen;
  let expiresAt: number | undefined;
  if (flags & 8) {
    if (o + 8 > end) throw truncated();
    expiresAt = b.readDoubleBE(o);
    o += 8;
  }
  let origin: string | undefined;
  if (flags & 16) {
    if (o + 2 > end) throw truncated();
    const n = b.readUInt16BE(o);
    o += 2;
    if (o + n > end) throw truncated();
    origin = b.toString('utf8', o, o + n);
    o += n;
  }
  let properties: Message['properties'];
  if (flags & 32) {
    if (o + 4 > end) throw truncated();
    const n = b.readUInt32BE(o);
    o += 4;
    if (o + n > end) throw truncated();
    properties = JSON.parse(b.toString('utf8', o, o + n), bufferReviver) as Message['properties'];
    o += n;
  }
  const payload = share && (flags & 7) === 0 ? b.subarray(o, end) : Buffer.from(b.subarray(o, end));
  const m: { -readonly [K in keyof Message]: Message[K] } = { topic, payload, qos, retain: (flags & 4) !== 0 };
  if (properties !== undefined) m.properties = properties;
  if (expiresAt !== undefined) m.expiresAt = expiresAt;
  if (origin !== undefined) m.origin = origin;
  return m;
}

function truncated(): WireError {
  return new WireError('message record truncated');
}

function bufferReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return Buffer.isBuffer(raw) ? { $b: raw.toString('base64') } : value;
}

function bufferReviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { $b?: unknown }).$b === 'string' && Object.keys(value).length === 1) {
    return Buffer.from((value as { $b: string }).$b, 'base64');
  }
  return value;
}

/**
 * Redis key names, all under one prefix (default `starling:`) so several clusters can share
 * a Redis. Names that a Redis Cluster must keep in one slot carry a `{hash tag}`.
 */
export class ClusterKeys {
  constructor(readonly prefix = 'starling:') {}

  /** String with a TTL, refreshed by the node's heartbeat: present while the node lives. */
  node(name: string): string {
    return `${this.prefix}node:${name}`;
  }
  /** Set of node names that joined (live or not): survivors look here for dead ones. */
  get nodes(): string {
    return `${this.prefix}nodes`;
  }
  /** Hash topic -> encodeMessage(retained message): the cluster's retained messages. */
  get retained(): string {
    return `${this.prefix}retained`;
  }
  /** Hash: which node holds a client id and the ownership epoch (`node`, `epoch`). */
  owner(clientId: string): string {
    return `${this.prefix}owner:{${clientId}}`;
  }
  /** Per client id session records (the Redis store), in the owner key's slot. */
  session(clientId: string): string {
    return `${this.prefix}session:{${clientId}}`;
  }
  /** A node's inbox stream for QoS 1/2 forwards (XADD by senders, XREADGROUP by the node). */
  inbox(node: string): string {
    return `${this.prefix}inbox:${node}`;
  }
  /** Pub/sub channel for a node's QoS 0 forwards and control messages. */
  channel(node: string): string {
    return `${this.prefix}ch:${node}`;
  }
  /** Set of the filters a node's sessions hold (src/cluster/router.ts), in the version's slot. */
  routes(node: string): string {
    return `${this.prefix}routes:{${node}}`;
  }
  /** Counter bumped by every change of `routes(node)`: receivers spot a missed change by it. */
  routeVersion(node: string): string {
    return `${this.prefix}routever:{${node}}`;
  }
  /** Hash node -> JSON of its counters (written each heartbeat): the cluster totals. */
  get stats(): string {
    return `${this.prefix}stats`;
  }
  /** Pub/sub channel every node listens on: route announcements, retained changes. */
  get broadcast(): string {
    return `${this.prefix}all`;
  }
}
