// Matching one topic: one pass over its characters finds the level boundaries and hashes
// every level and the whole topic; then one probe of the exact table, and one probe of the
// wildcard trie for each filter shape (shapes.ts) the topic may match, or a walk down the
// trie when there are too many shapes. Nothing is allocated.
//
// The trie's slots sit in a typed-array table (edge-table.ts) under the node's path key
// (hashing.ts), which follows from the topic's level hashes alone, and a slot also holds
// the node's info bits (trie.ts): whether it holds subscriptions (and whether exactly one),
// and whether it has `+`, `#` or exact children. Neither the probes nor the walk compare
// levels on the way; instead a node's whole filter is checked against the topic
// (levelsMatch) once, before it is emitted, so a colliding key can only add a candidate
// that the check then drops, never hide a match. (Measured with 1,000,000 subscriptions,
// comparing a level at every step of the walk cost ~1.8 µs of a ~6 µs cold match, each
// level one more cache miss.)
//
// With a million subscriptions nearly every probe is a cache miss (~200 ns here). Misses
// that do not depend on each other overlap, so the match is arranged to have few that do:
// - By shape, every probe is independent of the others: a topic's nodes are one miss away,
//   where a walk waits for each level's slot before it can probe the next. Measured side
//   by side (bench/topics.ts --against), this cut a cold match by 28%.
// - Every key is computed before any slot is loaded, and then the exact table's slot and
//   all the shapes' slots are loaded at once: a miss at the head of the CPU's reorder
//   window stops it from issuing later loads once the window fills, and computing a few
//   shapes' keys fills it. This cut another 18%.
// - The nodes to emit are only collected on the way; their filters and subscriptions are
//   loaded all together at the end.
// - The walk, for topics with too many shapes, is breadth first, so the probes of one level
//   do not wait for each other, and a `+` or `#` child of an exact node is homed in its
//   parent's cache line.
// Tried and dropped, each slower side by side: keeping each node's filter and subscriptions
// side by side in one array (one cache line for both; 7-12% slower, not understood);
// loading the subscription arrays' headers with the filters (no gain); in the walk,
// loading the slots of the topic's whole exact path ahead of it (most of those levels do
// not exist), loading the home slots of each level's probes in a first pass (no gain), and
// keeping each found node's filter and subscriptions in arrays as it is found (probably
// V8's write barrier: a store of a pointer into an old-space array reads the stored
// object's page header, one more miss each).

import type { MatchVisitor, Subscription } from './match-result.js';
import { FNV_PRIME, LEVEL_SEED, MIX_PRIME, ROOT_KEY, SMI_MASK, TOPIC_SEED, pathKey } from './hashing.js';
import { home } from './edge-table.js';
import type { EdgeTable } from './edge-table.js';
import { NO_ITEMS } from './client-list.js';
import { CHILD, GROUPS, HASH, HASH_KEY, ITEMS, ONE, PLUS, PLUS_KEY, emitGroups, levelsMatch } from './trie.js';
import type { Entry } from './trie.js';
import type { Shape, Shapes } from './shapes.js';

const SLASH = 0x2f;
const DOLLAR = 0x24;
const ROOT = 0;

const NO_SHAPES: readonly Shape[] = [];

type Items<T> = Subscription<T> | readonly Subscription<T>[];

/** Reusable scratch for one match at a time. */
export class Matcher<T> {
  /** Set while a match runs, so a visitor that matches again gets a fresh matcher. */
  busy = false;
  private readonly hashes: number[] = [];
  /** The walk's frontier, as (node, info, path key): the level being read and the next. */
  private level: number[] = [];
  private below: number[] = [];
  /** The nodes to emit, as (node, info) pairs; the exact table's come last. */
  private readonly found: number[] = [];
  /** The path keys of the shapes probed. */
  private readonly keys: number[] = [];
  /** Where loads made only to bring a line into the cache put what they read, so the compiler keeps them. */
  touched = 0;

  constructor(
    private readonly exact: EdgeTable,
    private readonly edges: EdgeTable,
    private readonly entries: readonly (Entry<T> | undefined)[],
    private readonly filters: readonly string[],
    private readonly items: readonly Items<T>[],
    private readonly shapes: Shapes,
  ) {}

  /** `rootInfo` is the trie root's info (trie.ts). */
  run(rootInfo: number, topic: string, visitor: MatchVisitor<T>): void {
    this.busy = true;
    try {
      const levels = this.hash(topic);
      // Filters starting with a wildcard do not match topics starting with '$' [MQTT-4.7.2-1]
      const dollar = topic.charCodeAt(0) === DOLLAR;
      if (dollar) rootInfo &= ~(PLUS | HASH);
      const shapes = rootInfo === 0 ? NO_SHAPES : this.shapes.forTopic(levels, dollar);
      // Every key first, then every load at once (see the top of this file).
      if (shapes !== undefined) this.shapeKeys(shapes);
      this.load(levels, shapes === undefined ? 0 : shapes.length);
      const trieFound = shapes === undefined ? this.walk(rootInfo, levels) : this.probeShapes(shapes.length);
      this.emit(topic, dollar, this.probeExact(levels, trieFound), trieFound, visitor);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Hashes every level into `hashes`, and the whole topic after them; returns the number
   * of levels. The same arithmetic as topicHash() and levelHash(), fused into one pass.
   */
  private hash(topic: string): number {
    const hashes = this.hashes;
    let n = 0;
    let full = TOPIC_SEED;
    let h = LEVEL_SEED;
    for (let i = 0; i < topic.length; i++) {
      const c = topic.charCodeAt(i);
      if (c === SLASH) {
        h &= SMI_MASK;
        hashes[n++] = h;
        full = Math.imul(full ^ h, MIX_PRIME);
        h = LEVEL_SEED;
      } else {
        h = Math.imul(h ^ c, FNV_PRIME);
      }
    }
    h &= SMI_MASK;
    hashes[n++] = h;
    hashes[n] = Math.imul(full ^ h, MIX_PRIME) & SMI_MASK;
    return n;
  }

  /** Adds the exact-table entries keyed by the topic's hash to `found` from `f`; returns its length. */
  private probeExact(levels: number, f: number): number {
    const exact = this.exact;
    if (exact.count === 0) return f;
    const found = this.found;
    const full = this.hashes[levels];
    const slots = exact.slots;
    const wrap = slots.length - 1;
    for (let at = home(full, exact.mask) * 4, p = slots[at]; p !== 0; at = (at + 4) & wrap, p = slots[at]) {
      if (p === 1 && slots[at + 1] === full) {
        found[f++] = slots[at + 2];
        found[f++] = slots[at + 3];
      }
    }
    return f;
  }

  /** Computes the path key (hashing.ts) of each shape's node that may match the topic into `keys`. */
  private shapeKeys(shapes: readonly Shape[]): void {
    const hashes = this.hashes;
    const keys = this.keys;
    for (let s = 0; s < shapes.length; s++) {
      const kinds = shapes[s].kinds;
      let key = ROOT_KEY;
      for (let i = 0; i < kinds.length; i++) key = pathKey(key, kinds[i] === 0 ? hashes[i] : kinds[i]);
      keys[s] = key;
    }
  }

  /** Loads the exact table's slot for the topic and the home slots of the first `n` keys. */
  private load(levels: number, n: number): void {
    const exact = this.exact;
    let touched = exact.count === 0 ? 0 : exact.slots[home(this.hashes[levels], exact.mask) * 4];
    const slots = this.edges.slots;
    const mask = this.edges.mask;
    const keys = this.keys;
    for (let s = 0; s < n; s++) touched += slots[home(keys[s], mask) * 4];
    this.touched = touched;
  }

  /**
   * Probes the trie for the nodes of the first `n` keys, and adds those holding
   * subscriptions to `found`; returns its length. The probes compare path keys only, not
   * parents: the filter check in emit() drops any node that a colliding key brings in, and
   * a node that two shapes' colliding keys both bring in is added once.
   */
  private probeShapes(n: number): number {
    const slots = this.edges.slots;
    const mask = this.edges.mask;
    const wrap = slots.length - 1;
    const keys = this.keys;
    const found = this.found;
    let f = 0;
    for (let s = 0; s < n; s++) {
      const key = keys[s];
      for (let at = home(key, mask) * 4, p = slots[at]; p !== 0; at = (at + 4) & wrap, p = slots[at]) {
        if (slots[at + 1] !== key || (slots[at + 3] & (ITEMS | GROUPS)) === 0) continue;
        const node = slots[at + 2];
        let seen = false;
        for (let k = 0; k < f && !seen; k += 2) seen = found[k] === node;
        if (seen) continue;
        found[f++] = node;
        found[f++] = slots[at + 3];
      }
    }
    return f;
  }

  /** Walks the trie breadth first, adding the nodes to emit to `found`; returns its length. */
  private walk(rootInfo: number, levels: number): number {
    const slots = this.edges.slots;
    const mask = this.edges.mask;
    const wrap = slots.length - 1;
    const found = this.found;
    const hashes = this.hashes;
    let level = this.level;
    let below = this.below;
    level[0] = ROOT;
    level[1] = rootInfo;
    level[2] = ROOT_KEY;
    let n = 3;
    let f = 0;
    for (let i = 0; n !== 0; i++) {
      let m = 0;
      const hash = hashes[i];
      for (let k = 0; k < n; k += 3) {
        const node = level[k];
        const info = level[k + 1];
        const key = level[k + 2];
        // '#' also matches the parent level: `a/#` matches `a` [MQTT-4.7.1-1]
        if ((info & HASH) !== 0) {
          const at = childSlot(slots, mask, node, pathKey(key, HASH_KEY));
          found[f++] = slots[at + 2];
          found[f++] = slots[at + 3];
        }
        if (i === levels) {
          if ((info & (ITEMS | GROUPS)) !== 0) {
            found[f++] = node;
            found[f++] = info;
          }
          continue;
        }
        if ((info & PLUS) !== 0) {
          const plus = pathKey(key, PLUS_KEY);
          const at = childSlot(slots, mask, node, plus);
          below[m++] = slots[at + 2];
          below[m++] = slots[at + 3];
          below[m++] = plus;
        }
        if (info < CHILD) continue;
        // Exact children with the level's hash: all are candidates (almost never more than one).
        const child = pathKey(key, hash);
        const tag = node + 1;
        for (let at = home(child, mask) * 4, p = slots[at]; p !== 0; at = (at + 4) & wrap, p = slots[at]) {
          if (p === tag && slots[at + 1] === child) {
            below[m++] = slots[at + 2];
            below[m++] = slots[at + 3];
            below[m++] = child;
          }
        }
      }
      const read = level;
      level = below;
      below = read;
      n = m;
    }
    this.level = level;
    this.below = below;
    return f;
  }

  /** Checks every found node's filter against the topic and emits the nodes that match. */
  private emit(topic: string, dollar: boolean, f: number, trieFound: number, visitor: MatchVisitor<T>): void {
    const found = this.found;
    const filters = this.filters;
    const items = this.items;
    // Load every filter and item list first (no branch waits for them), then use them.
    let touched = 0;
    for (let k = 0; k < f; k += 2) {
      const node = found[k];
      touched += filters[node].length;
      if (items[node] === NO_ITEMS) touched++;
    }
    this.touched = touched;
    for (let k = 0; k < f; k += 2) {
      const node = found[k];
      const filter = filters[node];
      if (k < trieFound ? !levelsMatch(filter, topic) || (dollar && isWildcard(filter.charCodeAt(0))) : filter !== topic) continue;
      const info = found[k + 1];
      const its = items[node];
      if ((info & ONE) !== 0) visitor.onSubscription(its as Subscription<T>);
      else for (let i = 0; i < (its as readonly Subscription<T>[]).length; i++) visitor.onSubscription((its as readonly Subscription<T>[])[i]);
      if ((info & GROUPS) !== 0) emitGroups(this.entries[node]!.groups!, visitor);
    }
  }
}

/** True for the first character of a filter whose first level is `+` or `#`. */
function isWildcard(c: number): boolean {
  return c === 0x2b || c === 0x23;
}

/** The slot of the only child of `node` under a wildcard key, which exists. */
function childSlot(slots: Int32Array, mask: number, node: number, key: number): number {
  const wrap = slots.length - 1;
  const tag = node + 1;
  let at = home(key, mask) * 4;
  while (slots[at] !== tag || slots[at + 1] !== key) at = (at + 4) & wrap;
  return at;
}
