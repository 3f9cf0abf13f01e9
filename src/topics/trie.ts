// The nodes of the subscription index and their tables of children.
//
// A node's exact children sit in a Map keyed by level hash (hashing.ts); keys whose
// hashes collide are chained through `next`. (Measured: keeping up to 8 children inline in
// an array instead of a Map made cold matches ~10% slower, so every node has a Map.)
// Adding and removing compare keys exactly; matching follows hashes only and checks a
// node's whole filter against the topic before emitting it (matcher.ts), so a collision
// costs a check, never a wrong or a missed match. The exact-filter table is a node too,
// whose children are keyed by the hash of the whole filter.

import { NO_ITEMS } from './client-list.js';
import type { ClientList } from './client-list.js';
import { levelHash } from './hashing.js';
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

/** A trie node, and also an entry of the exact-filter table (one class keeps matching monomorphic). */
export class Node<T> implements ClientList<Subscription<T>> {
  /** The next sibling whose key has the same hash. */
  next: Node<T> | undefined = undefined;
  /** Exact children by hash of their key; each value heads a chain of colliding keys. */
  children: Map<number, Node<T>> | undefined = undefined;
  plus: Node<T> | undefined = undefined;
  hash: Node<T> | undefined = undefined;
  /** The non-shared subscriptions of this node's filter. */
  items: Subscription<T>[] = NO_ITEMS;
  groups: Group<T>[] | undefined = undefined;
  /** The whole filter (shared prefix removed) once the node holds subscriptions. */
  filter = '';
  index: Map<string, number> | undefined = undefined;

  /** The level under its parent; for an exact-table entry, the whole filter. */
  constructor(readonly key: string) {}

  isEmpty(): boolean {
    return (
      this.items.length === 0 &&
      this.groups === undefined &&
      this.children === undefined &&
      this.plus === undefined &&
      this.hash === undefined
    );
  }
}

/** The child of `table` whose key is s[start, end), given that key's hash. */
export function lookup<T>(table: Node<T>, s: string, start: number, end: number, h: number): Node<T> | undefined {
  let node = table.children?.get(h);
  while (node !== undefined && !(node.key.length === end - start && s.startsWith(node.key, start))) {
    node = node.next;
  }
  return node;
}

export function link<T>(table: Node<T>, h: number, child: Node<T>): void {
  const children = (table.children ??= new Map());
  child.next = children.get(h);
  children.set(h, child);
}

export function unlink<T>(table: Node<T>, h: number, child: Node<T>): void {
  const children = table.children!;
  let at = children.get(h)!;
  if (at === child) {
    if (child.next === undefined) children.delete(h);
    else children.set(h, child.next);
  } else {
    while (at.next !== child) at = at.next!;
    at.next = child.next;
  }
  child.next = undefined;
  if (children.size === 0) table.children = undefined;
}

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;

/** The child of `node` for filter level s[start, end) ('+', '#' or exact), if any. */
export function childOf<T>(node: Node<T>, s: string, start: number, end: number): Node<T> | undefined {
  if (end - start === 1) {
    const c = s.charCodeAt(start);
    if (c === PLUS) return node.plus;
    if (c === HASH) return node.hash;
  }
  return lookup(node, s, start, end, levelHash(s, start, end));
}

/** Creates the child of `node` for filter level s[start, end). */
export function addChild<T>(node: Node<T>, s: string, start: number, end: number): Node<T> {
  const child = new Node<T>(s.slice(start, end));
  if (child.key === '+') node.plus = child;
  else if (child.key === '#') node.hash = child;
  else link(node, levelHash(s, start, end), child);
  return child;
}

/** Unlinks an (empty) child from its parent. */
export function removeChild<T>(parent: Node<T>, child: Node<T>): void {
  if (parent.plus === child) parent.plus = undefined;
  else if (parent.hash === child) parent.hash = undefined;
  else unlink(parent, levelHash(child.key, 0, child.key.length), child);
}

export function findGroup<T>(groups: Group<T>[], name: string): Group<T> | undefined {
  for (let i = 0; i < groups.length; i++) if (groups[i].group === name) return groups[i];
  return undefined;
}

export function emit<T>(node: Node<T>, visitor: MatchVisitor<T>): void {
  const items = node.items;
  for (let i = 0; i < items.length; i++) visitor.onSubscription(items[i]);
  const groups = node.groups;
  if (groups !== undefined) for (let i = 0; i < groups.length; i++) visitor.onSharedGroup(groups[i]);
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
    if (i < fl && filter.charCodeAt(i) === HASH) return true;
    if (i < fl && filter.charCodeAt(i) === PLUS && (i + 1 === fl || filter.charCodeAt(i + 1) === SLASH)) {
      i++;
      while (j < tl && topic.charCodeAt(j) !== SLASH) j++;
    } else {
      while (i < fl && j < tl) {
        const c = filter.charCodeAt(i);
        if (c === SLASH) break;
        if (c !== topic.charCodeAt(j)) return false;
        i++;
        j++;
      }
      if ((i < fl && filter.charCodeAt(i) !== SLASH) || (j < tl && topic.charCodeAt(j) !== SLASH)) return false;
    }
    // Both at a '/' or at their end.
    if (j === tl) {
      // `a/#` matches `a` [MQTT-4.7.1-1]
      return i === fl || (i + 2 === fl && filter.charCodeAt(i + 1) === HASH);
    }
    if (i === fl) return false;
    i++;
    j++;
  }
}
