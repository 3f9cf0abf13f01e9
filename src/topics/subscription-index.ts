// The subscription index. Wildcard-free filters (most of them, in practice) sit in one
// table keyed by the hash of the whole filter, so matching them is a single lookup of the
// topic; filters with `+` or `#` sit in a trie keyed by level. A match costs one pass over
// the topic's characters, one table lookup, and one probe of the trie per filter shape
// (`a/+/b` and `c/+/d` share the shape `.+.`: shapes.ts) the topic may match, or a walk
// down the topic's levels when there are more than 16 shapes, whatever the number of
// subscriptions (matcher.ts).
// Both are typed-array hash tables of node ids (edge-table.ts, trie.ts); the subscriptions
// sit in Entry objects in an array indexed by node id. Ids of removed nodes are reused
// (the id arrays never grow past the most nodes held at once), and the tables halve as
// they empty, so churn does not grow memory.
// Shared subscriptions `$share/{group}/{filter}` are stored under `{filter}`, one member
// list per group, keyed by client id within the group.

import { NO_ITEMS, deleteClient, getClient, setClient } from './client-list.js';
import { EdgeTable } from './edge-table.js';
import { MatchResult } from './match-result.js';
import type { MatchVisitor, Subscription } from './match-result.js';
import { Matcher } from './matcher.js';
import { parseSharedFilter } from './shared.js';
import { Shapes } from './shapes.js';
import { ROOT_KEY, levelHash, pathKey, topicHash } from './hashing.js';
import { CHILD, Entry, Group, HASH, HASH_KEY, PLUS, PLUS_KEY, findGroup } from './trie.js';
import { validateTopicFilter } from './validate.js';

const ROOT = 0;
const PLUS_CHAR = 0x2b;
const HASH_CHAR = 0x23;

export class SubscriptionIndex<T> {
  /** Wildcard-free filters: (0, topicHash(filter)) -> node id, with ITEMS and GROUPS bits. */
  private readonly exact = new EdgeTable();
  /** The trie's edges: (parent id, child's path key) -> child id, with the child's info. */
  private readonly edges = new EdgeTable();
  /** By node id: the subscriptions of a node that has any. */
  private readonly entries: (Entry<T> | undefined)[] = [undefined];
  /** By node id, for the matcher: the Entry's filter ('' without one) and matchItems(). */
  private readonly filters: string[] = [''];
  private readonly items: (Subscription<T> | readonly Subscription<T>[])[] = [NO_ITEMS];
  /** By trie node id: its level, to tell apart levels whose hashes collide. */
  private readonly levels: (string | undefined)[] = [undefined];
  /** Ids of removed nodes, reused first. */
  private readonly freeIds: number[] = [];
  /** The shapes of the trie's filters that hold subscriptions. */
  private readonly shapes: Shapes;
  private rootInfo = 0;
  private count = 0;
  private readonly matcher: Matcher<T>;
  // Scratch for add() and remove(): the path walked, as node ids, their path keys and
  // their level keys.
  private readonly pathIds: number[] = [];
  private readonly pathKeys: number[] = [];
  private readonly pathLevels: number[] = [];

  /**
   * `shapeLimit`: the most filter shapes (shapes.ts) a topic is matched through before the
   * trie is walked instead; for tests and measurements.
   */
  constructor(options: { readonly shapeLimit?: number } = {}) {
    this.shapes = new Shapes(options.shapeLimit);
    this.matcher = this.newMatcher();
  }

  /** The number of subscriptions, shared members included. */
  get size(): number {
    return this.count;
  }

  /** Exact-table entries plus trie nodes: back to 0 once every subscription is removed. */
  get nodeCount(): number {
    return this.exact.count + this.edges.count;
  }

  /**
   * Adds a subscription, or replaces the client's subscription to the same filter
   * [MQTT-3.8.4-3] (for a shared filter: same group and filter). Returns true when it was
   * new. Throws a RangeError for an invalid filter: validate first, with the limits that
   * apply, and answer the client with a reason code.
   */
  add(clientId: string, filter: string, value: T): boolean {
    const reason = validateTopicFilter(filter);
    if (reason !== undefined) throw new RangeError(`invalid topic filter ${JSON.stringify(filter)}: ${reason}`);
    const shared = parseSharedFilter(filter);
    const path = shared === undefined ? filter : shared.filter;
    const wild = hasWildcard(path);
    const id = wild ? this.ensurePath(path) : this.ensureExact(path);
    let entry = this.entries[id];
    if (entry === undefined) {
      entry = this.entries[id] = new Entry<T>(path);
      if (wild) this.shapes.add(this.pathLevels);
    }
    const bits = entry.bits();
    let added: boolean;
    if (shared === undefined) {
      added = setClient(entry, { clientId, filter, value });
    } else {
      let group = entry.groups === undefined ? undefined : findGroup(entry.groups, shared.group);
      if (group === undefined) {
        group = new Group<T>(shared.group, shared.filter);
        (entry.groups ??= []).push(group);
      }
      added = setClient(group, { clientId, value });
    }
    this.filters[id] = path;
    this.items[id] = entry.matchItems();
    const delta = entry.bits() - bits;
    if (delta !== 0) {
      if (wild) this.addInfo(this.pathIds.length - 1, delta);
      else this.exact.slots[this.exact.find(0, topicHash(path), id) + 3] += delta;
    }
    this.clearPath();
    if (added) this.count++;
    return added;
  }

  /**
   * Removes one subscription; the filter is compared character by character, as
   * UNSUBSCRIBE does [MQTT-3.10.4-1]. Returns false when there was none.
   */
  remove(clientId: string, filter: string): boolean {
    const shared = parseSharedFilter(filter);
    const path = shared === undefined ? filter : shared.filter;
    if (!hasWildcard(path)) {
      const h = topicHash(path);
      const id = this.findExact(path, h);
      const entry = id < 0 ? undefined : this.entries[id]!;
      const bits = entry === undefined ? 0 : entry.bits();
      if (entry === undefined || !removeFrom(entry, clientId, shared?.group)) return false;
      const at = this.exact.find(0, h, id);
      if (entry.isEmpty()) {
        this.exact.delete(at);
        this.freeId(id);
      } else {
        this.items[id] = entry.matchItems();
        this.exact.slots[at + 3] += entry.bits() - bits;
      }
      this.count--;
      return true;
    }
    const ids = this.pathIds;
    try {
      const id = this.walkPath(path);
      const entry = id < 0 ? undefined : this.entries[id];
      const bits = entry === undefined ? 0 : entry.bits();
      if (entry === undefined || !removeFrom(entry, clientId, shared?.group)) return false;
      this.count--;
      this.items[id] = entry.matchItems();
      let d = ids.length - 1;
      let left = this.addInfo(d, entry.bits() - bits);
      if (!entry.isEmpty()) return true;
      this.shapes.remove(this.pathLevels);
      this.entries[id] = undefined;
      this.filters[id] = '';
      // Detach the empty nodes at the end of the path, so churn does not grow memory.
      for (; d > 0 && left === 0; d--) {
        const node = ids[d];
        const level = this.pathLevels[d];
        this.edges.delete(this.edges.find(ids[d - 1], this.pathKeys[d], node));
        this.freeId(node);
        left = this.addInfo(d - 1, level === PLUS_KEY ? -PLUS : level === HASH_KEY ? -HASH : -CHILD);
      }
      return true;
    } finally {
      this.clearPath();
    }
  }

  /** The client's subscription value for this exact filter string, if any. */
  get(clientId: string, filter: string): T | undefined {
    const shared = parseSharedFilter(filter);
    const path = shared === undefined ? filter : shared.filter;
    let id: number;
    if (hasWildcard(path)) {
      id = this.walkPath(path);
      this.clearPath();
    } else {
      id = this.findExact(path, topicHash(path));
    }
    const entry = id < 0 ? undefined : this.entries[id];
    if (entry === undefined) return undefined;
    if (shared === undefined) return getClient(entry, clientId)?.value;
    if (entry.groups === undefined) return undefined;
    const group = findGroup(entry.groups, shared.group);
    return group === undefined ? undefined : getClient(group, clientId)?.value;
  }

  /**
   * Calls the visitor for every subscription and every shared group whose filter matches
   * the topic, which is assumed to be a valid Topic Name. Allocates nothing.
   */
  forEachMatch(topic: string, visitor: MatchVisitor<T>): void {
    const matcher = this.matcher.busy ? this.newMatcher() : this.matcher;
    matcher.run(this.rootInfo, topic, visitor);
  }

  /** The matches of a topic, in a new result or overwriting `into`. */
  match(topic: string, into: MatchResult<T> = new MatchResult<T>()): MatchResult<T> {
    into.rewind();
    try {
      this.forEachMatch(topic, into);
    } finally {
      into.trim();
    }
    return into;
  }

  private newMatcher(): Matcher<T> {
    return new Matcher<T>(this.exact, this.edges, this.entries, this.filters, this.items, this.shapes);
  }

  private findExact(path: string, h: number): number {
    const exact = this.exact;
    for (let at = exact.first(0, h); at >= 0; at = exact.next(at, 0, h)) {
      const id = exact.slots[at + 2];
      if (this.filters[id] === path) return id;
    }
    return -1;
  }

  private ensureExact(path: string): number {
    const h = topicHash(path);
    let id = this.findExact(path, h);
    if (id < 0) {
      id = this.newId(undefined);
      this.entries[id] = new Entry<T>(path);
      this.filters[id] = path;
      this.exact.insert(0, h, id, 0);
    }
    return id;
  }

  /**
   * Walks the trie along a filter, leaving the ids on the way (root first) in pathIds, their
   * path keys in pathKeys and their level keys in pathLevels. Returns the node of the whole
   * filter, or -1.
   */
  private walkPath(path: string): number {
    return this.descend(path, false);
  }

  /** Like walkPath, creating the nodes that are missing. */
  private ensurePath(path: string): number {
    return this.descend(path, true);
  }

  private descend(path: string, create: boolean): number {
    const ids = this.pathIds;
    const keys = this.pathKeys;
    const levels = this.pathLevels;
    const edges = this.edges;
    let node = ROOT;
    let key = ROOT_KEY;
    ids.push(node);
    keys.push(key);
    levels.push(0);
    for (let start = 0; ; ) {
      let end = path.indexOf('/', start);
      if (end < 0) end = path.length;
      const level = levelKey(path, start, end);
      key = pathKey(key, level);
      const at = this.childOf(node, key, level, path, start, end);
      if (at >= 0) {
        node = edges.slots[at + 2];
      } else {
        if (!create) return -1;
        const wild = level === PLUS_KEY || level === HASH_KEY;
        const child = this.newId(wild ? undefined : path.slice(start, end));
        edges.insert(node, key, child, 0);
        this.addInfo(ids.length - 1, level === PLUS_KEY ? PLUS : level === HASH_KEY ? HASH : CHILD);
        node = child;
      }
      ids.push(node);
      keys.push(key);
      levels.push(level);
      if (end === path.length) return node;
      start = end + 1;
    }
  }

  private clearPath(): void {
    this.pathIds.length = 0;
    this.pathKeys.length = 0;
    this.pathLevels.length = 0;
  }

  /** The offset of the edge from `node` for level s[start, end), keyed `key`, or -1. */
  private childOf(node: number, key: number, level: number, s: string, start: number, end: number): number {
    const edges = this.edges;
    for (let at = edges.first(node, key); at >= 0; at = edges.next(at, node, key)) {
      if (level === PLUS_KEY || level === HASH_KEY) return at;
      const name = this.levels[edges.slots[at + 2]]!;
      if (name.length === end - start && s.startsWith(name, start)) return at;
    }
    return -1;
  }

  /** Adds `delta` to the info of the node at depth d of the path walked; returns the new info. */
  private addInfo(d: number, delta: number): number {
    if (d === 0) return (this.rootInfo += delta);
    const edges = this.edges;
    const at = edges.find(this.pathIds[d - 1], this.pathKeys[d], this.pathIds[d]);
    return (edges.slots[at + 3] += delta);
  }

  private newId(level: string | undefined): number {
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.entries.length;
    if (id === this.entries.length) {
      this.entries.push(undefined);
      this.filters.push('');
      this.items.push(NO_ITEMS);
      this.levels.push(level);
    } else {
      this.levels[id] = level;
    }
    return id;
  }

  private freeId(id: number): void {
    this.entries[id] = undefined;
    this.filters[id] = '';
    this.items[id] = NO_ITEMS;
    this.levels[id] = undefined;
    this.freeIds.push(id);
  }
}

/** The key of a filter level: its hash, or PLUS_KEY or HASH_KEY for a wildcard. */
function levelKey(s: string, start: number, end: number): number {
  if (end - start === 1) {
    const c = s.charCodeAt(start);
    if (c === PLUS_CHAR) return PLUS_KEY;
    if (c === HASH_CHAR) return HASH_KEY;
  }
  return levelHash(s, start, end);
}

function hasWildcard(path: string): boolean {
  return path.includes('+') || path.includes('#');
}

/** Removes a client's subscription (group undefined) or group membership from a node. */
function removeFrom<T>(node: Entry<T>, clientId: string, group: string | undefined): boolean {
  if (group === undefined) return deleteClient(node, clientId);
  const groups = node.groups;
  const found = groups === undefined ? undefined : findGroup(groups, group);
  if (found === undefined || !deleteClient(found, clientId)) return false;
  if (found.items.length === 0) {
    groups![groups!.indexOf(found)] = groups![groups!.length - 1];
    groups!.pop();
    if (groups!.length === 0) node.groups = undefined;
  }
  return true;
}
