// Retained messages (section 3.3.1.3): one per topic, replaced by a newer retained publish,
// deleted by a retained publish with an empty payload [MQTT-3.3.1-10], [MQTT-3.3.1-11], and
// dropped once their Message Expiry Interval has passed.

import { topicMatches } from '../topics/index.js';
import type { Message } from './types.js';

export interface RetainedStore {
  /** Stores (or, for an empty payload, deletes) the retained message of `message.topic`. */
  set(message: Message): void;
  /** Live retained messages whose topic matches `filter`. */
  match(filter: string): Message[];
  readonly size: number;
}

export class MemoryRetainedStore implements RetainedStore {
  private readonly messages = new Map<string, Message>();

  get size(): number {
    return this.messages.size;
  }

  set(message: Message): void {
    if (message.payload.length === 0) this.messages.delete(message.topic);
    // A retained copy outlives the packet it came in: copy the payload off the socket chunk.
    else this.messages.set(message.topic, { ...message, payload: Buffer.from(message.payload) });
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
    if (m.expiresAt !== undefined && m.expiresAt <= now) this.messages.delete(m.topic);
    else out.push(m);
  }
}
