// Retained messages (section 3.3.1.3): one per topic, replaced by a newer retained publish,
// deleted by a retained publish with an empty payload [MQTT-3.3.1-10], [MQTT-3.3.1-11], and
// dropped once their Message Expiry Interval has passed. The store is bounded in count and
// payload bytes (limits.maxRetainedMessages, maxRetainedBytes): `admits` says whether a
// message fits, and the broker decides what a message that does not fit becomes.

import { topicMatches } from '../topics/index.js';
import type { Message } from './types.js';

export interface RetainedStore {
  /** Stores (or, for an empty payload, deletes) the retained message of `message.topic`. */
  set(message: Message): void;
  /** Live retained messages whose topic matches `filter`. */
  match(filter: string): Message[];
  /**
   * Whether storing `message` keeps the store within `maxMessages` and `maxBytes` (0: no
   * bound). A delete, or a replacement no larger than the message it replaces, always fits:
   * neither makes the store grow.
   */
  admits(message: Message, maxMessages: number, maxBytes: number): boolean;
  readonly size: number;
  /** Payload bytes of the messages held. */
  readonly bytes: number;
}

export class MemoryRetainedStore implements RetainedStore {
  private readonly messages = new Map<string, Message>();
  private payloadBytes = 0;
  /** Messages held with an expiry time: when there are any, a full store is swept for them. */
  private expiring = 0;
  private lastSweep = 0;

  get size(): number {
    return this.messages.size;
  }

  get bytes(): number {
    return this.payloadBytes;
  }

  set(message: Message): void {
    const old = this.messages.get(message.topic);
    if (old !== undefined) this.forget(old);
    if (message.payload.length > 0) {
      // A retained copy outlives the packet it came in: copy the payload off the socket chunk.
      this.messages.set(message.topic, { ...message, payload: Buffer.from(message.payload) });
      this.payloadBytes += message.payload.length;
      if (message.expiresAt !== undefined) this.expiring++;
    }
  }

  admits(message: Message, maxMessages: number, maxBytes: number): boolean {
    if (this.fits(message, maxMessages, maxBytes)) return true;
    // Expired messages leave lazily (when a subscription matches them); before refusing, a
    // full store drops them, at most once a second so a flood at the bound stays cheap.
    const now = Date.now();
    if (this.expiring === 0 || now - this.lastSweep < 1000) return false;
    this.lastSweep = now;
    for (const m of this.messages.values()) if (m.expiresAt !== undefined && m.expiresAt <= now) this.forget(m);
    return this.fits(message, maxMessages, maxBytes);
  }

  private fits(message: Message, maxMessages: number, maxBytes: number): boolean {
    const size = message.payload.length;
    if (size === 0) return true;
    const old = this.messages.get(message.topic);
    if (old !== undefined && size <= old.payload.length) return true;
    // A new topic counts against both bounds; a larger replacement only against the bytes.
    if (old === undefined && maxMessages > 0 && this.messages.size >= maxMessages) return false;
    return maxBytes === 0 || this.payloadBytes - (old?.payload.length ?? 0) + size <= maxBytes;
  }

  private forget(m: Message): void {
    this.messages.delete(m.topic);
    this.payloadBytes -= m.payload.length;
    if (m.expiresAt !== undefined) this.expiring--;
  }

  match(filter: string): Message[] {
    const now = Date.now();
    const out: Message[] = [];
    const exact = !filter.includes('+') && !filter.includes('#');
    if (exact) {
      const m = this.messages.get(filter);
      if (m !== undefined) this.keepIfLive(m, now, out);
      return out;
    }
    for (const m of this.messages.values()) if (topicMatches(filter, m.topic)) this.keepIfLive(m, now, out);
    return out;
  }

  private keepIfLive(m: Message, now: number, out: Message[]): void {
    if (m.expiresAt !== undefined && m.expiresAt <= now) this.forget(m);
    else out.push(m);
  }
}
