// Retained messages cluster-wide. Each node keeps the whole set in memory (the broker's
// trie, so a wildcard subscribe is answered locally, without scanning Redis); the hash
// `keys.retained` is the cluster's copy, read whole on join and after a Redis outage; every
// local change is written there and broadcast, and a change from another node is applied
// here without being written or broadcast again.
//
// `$` topics stay local: `$SYS` is each node's own.

import { MemoryRetainedStore } from '../broker/retained.js';
import type { Message } from '../message.js';

export class ReplicatedRetained extends MemoryRetainedStore {
  /** Called with every change made on this node (not with those applied from others). */
  onLocalChange: ((message: Message) => void) | undefined;
  private applying = false;

  override set(message: Message): void {
    super.set(message);
    if (!this.applying && message.topic.charCodeAt(0) !== 0x24) this.onLocalChange?.(message);
  }

  /** A change from another node or from the cluster's hash: applied, not replicated. */
  applyRemote(message: Message): void {
    this.applying = true;
    try {
      super.set(message);
    } finally {
      this.applying = false;
    }
  }

  /** Every retained message held, `$` topics excepted. */
  all(): Message[] {
    return this.match('#');
  }
}
