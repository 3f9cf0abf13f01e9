// Rate limits on what clients send: PUBLISH messages and payload bytes per second per
// connection, and CONNECTs per second per source address. Each is a token bucket holding
// one second of its rate (the burst), refilled continuously. All are off (0) by default,
// and the broker reads the rates from its limits on every use, so a SIGHUP reload applies
// to connections already open.
//
// What a client over its publish rate meets depends on what its protocol can say:
// - 5.0: the PUBLISH is refused: PUBACK/PUBREC 0x97 Quota exceeded for QoS 1 and 2 (0x96
//   Message rate too high is not a PUBACK code), dropped for QoS 0. Refused publishes are
//   charged too, so a client that keeps going digs deeper; once it owes a whole second of
//   its allowance (it sent well over twice its rate) it gets DISCONNECT 0x96.
// - 3.1/3.1.1: no way to refuse a publish, so the broker stops reading the socket until the
//   client is within its rate again (as EMQX and Mosquitto-style brokers throttle): TCP
//   pushes the wait back to the client and nothing is dropped.

import { sourceKey } from '../auth/backoff.js';
import type { Broker } from './broker.js';
import type { Connection } from './connection.js';

/** Sources remembered by the connect rate limit; the least recently seen goes first. */
const MAX_SOURCES = 10_000;

interface Bucket {
  tokens: number;
  last: number;
}

/** Adds what `rate` per second earned since the last use, up to one second of it. */
function refill(b: Bucket, rate: number, now: number): void {
  const capacity = Math.max(rate, 1);
  b.tokens = Math.min(capacity, b.tokens + ((now - b.last) * rate) / 1000);
  b.last = now;
}

/** One connection's publish buckets; made at its first publish while a limit is on. */
class PublishBuckets {
  readonly messages: Bucket;
  readonly bytes: Bucket;

  constructor(messageRate: number, byteRate: number, now: number) {
    this.messages = { tokens: Math.max(messageRate, 1), last: now };
    this.bytes = { tokens: Math.max(byteRate, 1), last: now };
  }
}

const buckets = new WeakMap<Connection, PublishBuckets>();

function bucketsOf(conn: Connection, messageRate: number, byteRate: number, now: number): PublishBuckets {
  let b = buckets.get(conn);
  if (b === undefined) {
    b = new PublishBuckets(messageRate, byteRate, now);
    buckets.set(conn, b);
  } else {
    if (messageRate > 0) refill(b.messages, messageRate, now);
    if (byteRate > 0) refill(b.bytes, byteRate, now);
  }
  return b;
}

/**
 * A 5.0 client's PUBLISH of `bytes` payload bytes: 0 admitted, 0x97 refused (over its rate),
 * 0x96 refused and the client is to be disconnected (it kept on far over its rate).
 * Only called when limits.maxPublishRate or limits.maxByteRate is set.
 */
export function admitPublish(conn: Connection, bytes: number, now = Date.now()): 0 | 0x96 | 0x97 {
  const broker = conn.broker;
  const { maxPublishRate: messageRate, maxByteRate: byteRate } = broker.limits;
  const b = bucketsOf(conn, messageRate, byteRate, now);
  const overMessages = messageRate > 0 && b.messages.tokens < 1;
  const overBytes = byteRate > 0 && b.bytes.tokens <= 0;
  // Admitted or not, the publish is charged: it may overdraw a bucket that had anything left.
  if (messageRate > 0) b.messages.tokens -= 1;
  if (byteRate > 0) b.bytes.tokens -= bytes;
  if (!overMessages && !overBytes) return 0;
  broker.countLimit(overMessages ? 'publish_rate' : 'byte_rate');
  const sustained = (messageRate > 0 && b.messages.tokens <= -messageRate) || (byteRate > 0 && b.bytes.tokens <= -byteRate);
  return sustained ? 0x96 : 0x97;
}

/**
 * A 3.1/3.1.1 client's PUBLISH of `bytes` payload bytes, always admitted: how long to stop
 * reading from it afterwards, ms (0: not at all), so that it keeps to its rates on average.
 */
export function publishDelay(conn: Connection, bytes: number, now = Date.now()): number {
  const broker = conn.broker;
  const { maxPublishRate: messageRate, maxByteRate: byteRate } = broker.limits;
  const b = bucketsOf(conn, messageRate, byteRate, now);
  let messageWait = 0;
  let byteWait = 0;
  if (messageRate > 0) {
    b.messages.tokens -= 1;
    if (b.messages.tokens < 0) messageWait = (-b.messages.tokens * 1000) / messageRate;
  }
  if (byteRate > 0) {
    b.bytes.tokens -= bytes;
    if (b.bytes.tokens < 0) byteWait = (-b.bytes.tokens * 1000) / byteRate;
  }
  if (messageWait === 0 && byteWait === 0) return 0;
  broker.countLimit(messageWait >= byteWait ? 'publish_rate' : 'byte_rate');
  return Math.ceil(Math.max(messageWait, byteWait));
}

/**
 * Waits `ms` with the connection's reading stopped (the handler's pending promise holds
 * later packets back). The time held does not count against the client's keep alive: its
 * PINGREQs wait unread in the socket meanwhile.
 */
export async function holdReading(conn: Connection, ms: number, handled: void | Promise<void>): Promise<void> {
  await handled;
  const end = Date.now() + ms;
  for (;;) {
    conn.lastSeen = Date.now();
    const left = end - conn.lastSeen;
    if (left <= 0 || conn.state === 'closed') return;
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(left, 1000)).unref());
  }
}

/**
 * Who may connect, checked at CONNECT: the connect rate per source address
 * (limits.maxConnectRate), the connections per listener (its maxConnections) and over all
 * listeners (limits.maxConnections). Each refusal is counted in broker.stats.limited.
 */
export class Admission {
  /** Open connections (connected or not yet) of the listeners that have a maxConnections. */
  private readonly listeners = new Map<string, { open: number; max: number }>();
  /** Connect buckets by source; insertion order is recency order. */
  private readonly sources = new Map<string, Bucket>();

  constructor(private readonly broker: Broker) {}

  /** A listener's own bound on open connections; 0 or undefined for none. */
  limitListener(name: string, maxConnections: number | undefined): void {
    if (maxConnections !== undefined && maxConnections > 0) this.listeners.set(name, { open: 0, max: maxConnections });
  }

  opened(conn: Connection): void {
    const l = this.listeners.get(conn.listener);
    if (l !== undefined) l.open++;
  }

  closed(conn: Connection): void {
    const l = this.listeners.get(conn.listener);
    if (l !== undefined) l.open--;
  }

  /**
   * 0 when `conn` may connect as `clientId`, else the CONNACK reason code: 0x9F Connection
   * rate exceeded, 0x89 Server busy (3.1.1 clients get return code 0x03 for both). A client
   * taking over its own session is not counted twice against the connection bounds.
   */
  check(conn: Connection, clientId: string, now = Date.now()): number {
    const broker = this.broker;
    const limits = broker.limits;
    const rate = limits.maxConnectRate;
    if (rate > 0) {
      const key = sourceKey(conn.remoteAddress);
      let b = this.sources.get(key);
      if (b === undefined) b = { tokens: Math.max(rate, 1), last: now };
      else {
        this.sources.delete(key);
        refill(b, rate, now);
      }
      this.sources.set(key, b);
      if (this.sources.size > MAX_SOURCES) this.sources.delete(this.sources.keys().next().value!);
      if (b.tokens < 1) {
        broker.countLimit('connect_rate');
        return 0x9f;
      }
      b.tokens -= 1;
    }
    const existing = broker.clients.get(clientId);
    const l = this.listeners.get(conn.listener);
    // `open` counts this connection, and the one it takes over when that is on this listener.
    if (l !== undefined && l.open - (existing?.listener === conn.listener ? 1 : 0) > l.max) {
      broker.countLimit('connections');
      return 0x89;
    }
    if (limits.maxConnections > 0 && broker.clients.size >= limits.maxConnections && existing === undefined) {
      broker.countLimit('connections');
      return 0x89;
    }
    return 0;
  }
}
