// Retained messages (section 3.3.1.3): one per topic, replaced by a newer retained publish,
// deleted by a retained publish with an empty payload [MQTT-3.3.1-10], [MQTT-3.3.1-11], and
// dropped once their Message Expiry Interval has passed. The store is bounded in count and
// bytes (limits.maxRetainedMessages, maxRetainedBytes): `admits` says whether a message fits,
// and the broker decides what a message that does not fit becomes. The bytes are what the
// messages cost in memory: payloads, topics, and a fixed cost per message and per trie node
// (bounds.ts), since a client can put its bytes in topics rather than payloads. Wildcard
// filters are answered by walking a tree of topic levels (retained-trie.ts), not a scan.

import { parseSharedFilter } from '../topics/index.js';
import { RETAINED_MESSAGE_OVERHEAD, RETAINED_NODE_OVERHEAD } from './bounds.js';
import { RetainedTrie, type RetainedNode } from './retained-trie.js';
import type { Message } from './types.js';

export interface RetainedStore {
  /** Stores (or, for an empty payload, deletes) the retained message of `message.topic`. */
  set(message: Message): void;
  /** Live retained messages whose topic matches `filter`, in no particular order. */
  match(filter: string): Message[];
  /**
   * Whether storing `message` keeps the store within `maxMessages` and `maxBytes` (0: no
   * bound). A delete, or a replacement no larger than the message it replaces, always fits:
   * neither makes the store grow.
   */
  admits(message: Message, maxMessages: number, maxBytes: number): boolean;
  readonly size: number;
  /**
   * What the messages held cost, as limits.maxRetainedBytes counts it: payloads, topics,
   * RETAINED_MESSAGE_OVERHEAD per message and RETAINED_NODE_OVERHEAD per topic level held.
   */
  readonly bytes: number;
}

export class MemoryRetainedStore implements RetainedStore {
  /** Topic to its trie node: exact filters, replacements and deletes skip the walk. */
  private readonly messages = new Map<string, RetainedNode>();
  private readonly trie = new RetainedTrie();
  private payloads = 0;
  private topics = 0;
  /** Messages held with an expiry time: when there are any, a full store is swept for them. */
  private expiring = 0;
  private lastSweep = 0;

  get size(): number {
    return this.messages.size;
  }

  get bytes(): number {
    return this.payloads + this.topics + this.messages.size * RETAINED_MESSAGE_OVERHEAD + this.trie.nodeCount * RETAINED_NODE_OVERHEAD;
  }

  /** Payload bytes of the messages held. */
  get payloadBytes(): number {
    return this.payloads;
  }

  /** Trie nodes held (retained-trie.ts): back to 0 once every message is gone. */
  get nodeCount(): number {
    return this.trie.nodeCount;
  }

  set(message: Message): void {
    const node = this.messages.get(message.topic);
    if (message.payload.length === 0) {
      if (node !== undefined) this.forget(node);
      return;
    }
    const held = node?.message;
    // A retained copy outlives the packet it came in: copy the payload off the socket chunk.
    // A replacement keeps the topic string the map and the trie already hold (not a second one).
    const copy: Message = { ...message, topic: held?.topic ?? message.topic, payload: Buffer.from(message.payload) };
    if (node !== undefined) {
      this.account(held!, -1);
      node.message = copy;
    } else {
      const created = this.trie.node(message.topic);
      created.message = copy;
      this.messages.set(message.topic, created);
    }
    this.account(copy, 1);
  }

  admits(message: Message, maxMessages: number, maxBytes: number): boolean {
    if (this.fits(message, maxMessages, maxBytes)) return true;
    // Expired messages leave lazily (when a subscription matches them); before refusing, a
    // full store drops them, at most once a second so a flood at the bound stays cheap.
    const now = Date.now();
    if (this.expiring === 0 || now - this.lastSweep < 1000) return false;
    this.lastSweep = now;
    for (const node of this.messages.values()) {
      const m = node.message!;
      if (m.expiresAt !== undefined && m.expiresAt <= now) this.forget(node);
    }
    return this.fits(message, maxMessages, maxBytes);
  }

  private fits(message: Message, maxMessages: number, maxBytes: number): boolean {
    const size = message.payload.length;
    if (size === 0) return true;
    const old = this.messages.get(message.topic)?.message;
    if (old !== undefined && size <= old.payload.length) return true;
    // A new topic counts against both bounds; a larger replacement only against the bytes.
    if (old === undefined && maxMessages > 0 && this.messages.size >= maxMessages) return false;
    if (maxBytes === 0) return true;
    // A replacement grows by its payload; a new topic by its name and the levels it adds too.
    const growth = old !== undefined
      ? size - old.payload.length
      : size + message.topic.length + RETAINED_MESSAGE_OVERHEAD + this.trie.missing(message.topic) * RETAINED_NODE_OVERHEAD;
    return this.bytes + growth <= maxBytes;
  }

  private account(m: Message, sign: 1 | -1): void {
    this.payloads += sign * m.payload.length;
    this.topics += sign * m.topic.length;
    if (m.expiresAt !== undefined) this.expiring += sign;
  }

  private forget(node: RetainedNode): void {
    const m = node.message!;
    this.messages.delete(m.topic);
    this.account(m, -1);
    node.message = undefined;
    this.trie.prune(node);
  }

  match(filter: string): Message[] {
    const now = Date.now();
    const out: Message[] = [];
    // As topicMatches does, a shared subscription's filter matches by its Topic Filter.
    const inner = parseSharedFilter(filter)?.filter ?? filter;
    const exact = !inner.includes('+') && !inner.includes('#');
    if (exact) {
      const node = this.messages.get(inner);
      if (node !== undefined) this.keepIfLive(node, now, out);
      return out;
    }
    this.trie.match(inner.split('/'), out);
    // Expired messages leave here, after the walk, so that pruning never edits a branch the
    // walk is still in.
    if (this.expiring === 0) return out;
    let kept = 0;
    for (let i = 0; i < out.length; i++) {
      const m = out[i];
      if (m.expiresAt !== undefined && m.expiresAt <= now) this.forget(this.messages.get(m.topic)!);
      else out[kept++] = m;
    }
    out.length = kept;
    return out;
  }

  private keepIfLive(node: RetainedNode, now: number, out: Message[]): void {
    const m = node.message!;
    if (m.expiresAt !== undefined && m.expiresAt <= now) this.forget(node);
    else out.push(m);
  }
}
