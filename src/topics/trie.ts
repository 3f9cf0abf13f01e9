// The trie's node ids and the subscriptions they hold.
//
// A node is a number: its edges live in an EdgeTable (edge-table.ts) keyed by (parent id,
// path key: hashing.ts), with the child's `info` (what it has below it) in the same slot, so the
// matcher decides from the slot it just loaded whether to probe for a `+` child, a `#`
// child or an exact child, and whether the node holds subscriptions. Only a node that holds
// subscriptions has an Entry (an object, in an array indexed by node id); the matcher reads
// a node's filter and subscriptions from two more arrays indexed by node id, both loads
// issued at once, rather than one after the other through the Entry. An exact-table entry
// is an Entry too, keyed by the hash of the whole filter.
//
// Adding and removing compare level strings exactly; matching follows hashes only and
// checks an Entry's whole filter against the topic before emitting it (matcher.ts), so a
// collision costs a check, never a wrong or a missed match.

import { NO_ITEMS } from './client-list.js';
import type { ClientList } from './client-list.js';
import type { MatchVisitor, SharedGroup, SharedMember, Subscription } from './match-result.js';

export class Group<T> implements SharedGroup<T>, ClientList<SharedMember<T>> {
  items: SharedMember<T>[] = NO_ITEMS;
  index: Map<string, number> | undefined = undefined;

  constructor(
    readonly group: string,
    readonly filter: string,
  ) {}

  get members(): readonly SharedMember<T>[] {
    return this.items;
  }
}

/**
 * `info` bits: the node holds non-shared subscriptions (ONE: exactly one), shared groups, a
 * `+` child, a `#` child. The exact table keeps ITEMS, ONE and GROUPS in its slots too.
 */
export const ITEMS = 1;
export const ONE = 2;
export const GROUPS = 4;
export const PLUS = 8;
export const HASH = 16;
/** `info` counts the exact children in units of this. */
export const CHILD = 32;
/** The level keys of `+` and `#`; level hashes stay below them (SMI_MASK). */
export const PLUS_KEY = 0x40000000;
export const HASH_KEY = 0x40000001;

const SLASH_CHAR = 0x2f;
const PLUS_CHAR = 0x2b;
const HASH_CHAR = 0x23;

/** What a node with subscriptions holds (one class keeps matching monomorphic). */
export class Entry<T> implements ClientList<Subscription<T>> {
  /** The non-shared subscriptions of this node's filter. */
  items: Subscription<T>[] = NO_ITEMS;
  groups: Group<T>[] | undefined = undefined;
  index: Map<string, number> | undefined = undefined;

  /** The whole filter (shared prefix removed). */
  constructor(readonly filter: string) {}

  isEmpty(): boolean {
    return this.items.length === 0 && this.groups === undefined;
  }

  /** Its ITEMS, ONE and GROUPS bits. */
  bits(): number {
    const n = this.items.length;
    return (n === 0 ? 0 : n === 1 ? ITEMS | ONE : ITEMS) | (this.groups === undefined ? 0 : GROUPS);
  }

  /**
   * What the matcher reads for its items: the one subscription itself (ONE), saving the
   * two dependent loads of an array and its elements, or the array.
   */
  matchItems(): Subscription<T> | readonly Subscription<T>[] {
    return this.items.length === 1 ? this.items[0] : this.items;
  }
}

export function findGroup<T>(groups: Group<T>[], name: string): Group<T> | undefined {
  for (let i = 0; i < groups.length; i++) if (groups[i].group === name) return groups[i];
  return undefined;
}

export function emitGroups<T>(groups: Group<T>[], visitor: MatchVisitor<T>): void {
  for (let i = 0; i < groups.length; i++) visitor.onSharedGroup(groups[i]);
}

/**
 * True when a (valid, non-shared) filter matches a topic, level by level. Unlike
 * topicMatches() it leaves out the `$` rule, which the walk applies, and allocates nothing.
 */
export function levelsMatch(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  let i = 0; // start of the current filter level
  let j = 0; // start of the current topic level
  for (;;) {
    if (i < fl && filter.charCodeAt(i) === HASH_CHAR) return true;
    if (i < fl && filter.charCodeAt(i) === PLUS_CHAR && (i + 1 === fl || filter.charCodeAt(i + 1) === SLASH_CHAR)) {
      i++;
      while (j < tl && topic.charCodeAt(j) !== SLASH_CHAR) j++;
    } else {
      while (i < fl && j < tl) {
        const c = filter.charCodeAt(i);
        if (c === SLASH_CHAR) break;
        if (c !== topic.charCodeAt(j)) return false;
        i++;
        j++;
      }
      if ((i < fl && filter.charCodeAt(i) !== SLASH_CHAR) || (j < tl && topic.charCodeAt(j) !== SLASH_CHAR)) return false;
    }
    // Both at a '/' or at their end.
    if (j === tl) {
      // `a/#` matches `a` [MQTT-4.7.1-1]
      return i === fl || (i + 2 === fl && filter.charCodeAt(i + 1) === HASH_CHAR);
    }
    if (i === fl) return false;
    i++;
    j++;
  }
}
