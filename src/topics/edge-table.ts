// An open-addressing hash table of edges (parent, key) -> (child, info), in one Int32Array
// of 16-byte slots: [parent + 1 (0: empty), key, child, info]. The wildcard trie keeps all
// its edges in one such table, keyed by the child's path key (hashing.ts: a hash of the
// parent's path key and the level, so computed from the topic without loading anything),
// with the child's `info` (what it has below it) in the same slot. A step down costs one
// probe into one slot, where a Map per node took the Map, its hash table, its entry and the
// child object, one dependent load after another; and since a slot's place depends only on
// the key, the matcher can load the slots of several levels at once. The exact-filter table
// is one too (parent 0, key the whole filter's hash).
//
// Keys are hashes, so several slots may hold the same (parent, key): callers walk them all
// (first/next) and tell them apart by comparing strings they keep elsewhere. Linear
// probing with backward-shift deletion leaves no tombstones, so churn does not slow probes;
// the table doubles at half full and halves below one eighth full.

import { HOME_BITS } from './hashing.js';

const STRIDE = 4;
const MIN_SLOTS = 16;
/**
 * The home slot (not multiplied by STRIDE) of a key in a table of mask + 1 slots: the first
 * of a group of four, one 64-byte cache line, chosen by the key's HOME_BITS.
 */
export function home(key: number, mask: number): number {
  let h = Math.imul(key & HOME_BITS, 0x85ebca6b);
  h ^= h >>> 15;
  return h & mask & ~3;
}

export class EdgeTable {
  /** The slots; replaced when the table grows or shrinks. */
  slots = new Int32Array(MIN_SLOTS * STRIDE);
  /** Slots - 1 (a power of two minus one). */
  mask = MIN_SLOTS - 1;
  count = 0;

  /** The offset (into `slots`) of the first slot holding (parent, key), or -1. */
  first(parent: number, key: number): number {
    return this.scan(home(key, this.mask) * STRIDE, parent, key);
  }

  /** The offset of the next slot after `offset` holding (parent, key), or -1. */
  next(offset: number, parent: number, key: number): number {
    return this.scan((offset + STRIDE) & (this.slots.length - 1), parent, key);
  }

  /** The offset of the slot of the edge (parent, key) -> child, or -1. */
  find(parent: number, key: number, child: number): number {
    for (let at = this.first(parent, key); at >= 0; at = this.next(at, parent, key)) {
      if (this.slots[at + 2] === child) return at;
    }
    return -1;
  }

  insert(parent: number, key: number, child: number, info: number): void {
    if ((this.count + 1) * 2 > this.slots.length / STRIDE) this.resize((this.mask + 1) * 2);
    const slots = this.slots;
    const wrap = slots.length - 1;
    let at = home(key, this.mask) * STRIDE;
    while (slots[at] !== 0) at = (at + STRIDE) & wrap;
    slots[at] = parent + 1;
    slots[at + 1] = key;
    slots[at + 2] = child;
    slots[at + 3] = info;
    this.count++;
  }

  /** Empties the slot at `offset`; other slots' offsets may change. */
  delete(offset: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let hole = offset / STRIDE;
    // Backward shift: move up every later slot of the run whose home is not after the hole.
    for (let j = (hole + 1) & mask; slots[j * STRIDE] !== 0; j = (j + 1) & mask) {
      const k = home(slots[j * STRIDE + 1], mask);
      const stays = hole <= j ? hole < k && k <= j : hole < k || k <= j;
      if (stays) continue;
      slots.copyWithin(hole * STRIDE, j * STRIDE, j * STRIDE + STRIDE);
      hole = j;
    }
    slots.fill(0, hole * STRIDE, hole * STRIDE + STRIDE);
    this.count--;
    const size = mask + 1;
    if (size > MIN_SLOTS && this.count * 8 < size) this.resize(size / 2);
  }

  private scan(at: number, parent: number, key: number): number {
    const slots = this.slots;
    const wrap = slots.length - 1;
    const tag = parent + 1;
    for (let p = slots[at]; p !== 0; at = (at + STRIDE) & wrap, p = slots[at]) {
      if (p === tag && slots[at + 1] === key) return at;
    }
    return -1;
  }

  private resize(size: number): void {
    const old = this.slots;
    const slots = new Int32Array(size * STRIDE);
    const mask = size - 1;
    const wrap = slots.length - 1;
    for (let from = 0; from < old.length; from += STRIDE) {
      if (old[from] === 0) continue;
      let at = home(old[from + 1], mask) * STRIDE;
      while (slots[at] !== 0) at = (at + STRIDE) & wrap;
      slots.set(old.subarray(from, from + STRIDE), at);
    }
    this.slots = slots;
    this.mask = mask;
  }
}
