// The subscription index. Wildcard-free filters (most of them, in practice) sit in one
// table keyed by the whole filter, so matching them is a single lookup of the topic;
// filters with `+` or `#` sit in a trie keyed by level. A match costs one pass over the
// topic's characters, one table lookup and a walk down the topic's levels, whatever the
// number of subscriptions (matcher.ts).
// Shared subscriptions `$share/{group}/{filter}` are stored under `{filter}`, one member
// list per group, keyed by client id within the group.

import { deleteClient, getClient, setClient } from './client-list.js';
import { MatchResult } from './match-result.js';
import type { MatchVisitor } from './match-result.js';
import { Matcher } from './matcher.js';
import { parseSharedFilter } from './shared.js';
import { topicHash } from './hashing.js';
import { Group, Node, addChild, childOf, findGroup, link, lookup, removeChild, unlink } from './trie.js';
import { validateTopicFilter } from './validate.js';

export class SubscriptionIndex<T> {
  /** Wildcard-free filters: the children of this node, keyed by topicHash(filter). */
  private readonly exact = new Node<T>('');
  private exactCount = 0;
  private readonly root = new Node<T>('');
  private trieNodes = 0;
  private count = 0;
  private readonly matcher = new Matcher<T>();
  // Scratch for remove(): the path walked, to prune it bottom-up without parent pointers.
  private readonly path: Node<T>[] = [];

  /** The number of subscriptions, shared members included. */
  get size(): number {
    return this.count;
  }

  /** Exact-table entries plus trie nodes: back to 0 once every subscription is removed. */
  get nodeCount(): number {
    return this.exactCount + this.trieNodes;
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
    const node = hasWildcard(path) ? this.ensurePath(path) : this.ensureExact(path);
    let added: boolean;
    if (shared === undefined) {
      added = setClient(node, { clientId, filter, value });
    } else {
      let group = node.groups === undefined ? undefined : findGroup(node.groups, shared.group);
      if (group === undefined) {
        group = new Group<T>(shared.group, shared.filter);
        (node.groups ??= []).push(group);
      }
      added = setClient(group, { clientId, value });
    }
    node.filter = path;
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
      const node = lookup(this.exact, path, 0, path.length, h);
      if (node === undefined || !removeFrom(node, clientId, shared?.group)) return false;
      if (node.isEmpty()) {
        unlink(this.exact, h, node);
        this.exactCount--;
      }
      this.count--;
      return true;
    }
    const nodes = this.path;
    try {
      let node: Node<T> | undefined = this.root;
      nodes.push(node);
      for (let start = 0; ; ) {
        let end = path.indexOf('/', start);
        if (end < 0) end = path.length;
        node = childOf(node, path, start, end);
        if (node === undefined) return false;
        nodes.push(node);
        if (end === path.length) break;
        start = end + 1;
      }
      if (!removeFrom(node, clientId, shared?.group)) return false;
      this.count--;
      // Detach the empty nodes at the end of the path, so churn does not grow memory.
      for (let i = nodes.length - 1; i > 0 && nodes[i].isEmpty(); i--) {
        removeChild(nodes[i - 1], nodes[i]);
        this.trieNodes--;
      }
      return true;
    } finally {
      nodes.length = 0;
    }
  }

  /** The client's subscription value for this exact filter string, if any. */
  get(clientId: string, filter: string): T | undefined {
    const shared = parseSharedFilter(filter);
    const path = shared === undefined ? filter : shared.filter;
    const node = hasWildcard(path) ? this.findPath(path) : lookup(this.exact, path, 0, path.length, topicHash(path));
    if (node === undefined) return undefined;
    if (shared === undefined) return getClient(node, clientId)?.value;
    if (node.groups === undefined) return undefined;
    const group = findGroup(node.groups, shared.group);
    return group === undefined ? undefined : getClient(group, clientId)?.value;
  }

  /**
   * Calls the visitor for every subscription and every shared group whose filter matches
   * the topic, which is assumed to be a valid Topic Name. Allocates nothing.
   */
  forEachMatch(topic: string, visitor: MatchVisitor<T>): void {
    const matcher = this.matcher.busy ? new Matcher<T>() : this.matcher;
    matcher.run(
      this.exactCount === 0 ? undefined : this.exact,
      this.trieNodes === 0 ? undefined : this.root,
      topic,
      visitor,
    );
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

  private ensureExact(path: string): Node<T> {
    const h = topicHash(path);
    let node = lookup(this.exact, path, 0, path.length, h);
    if (node === undefined) {
      node = new Node<T>(path);
      link(this.exact, h, node);
      this.exactCount++;
    }
    return node;
  }

  private ensurePath(path: string): Node<T> {
    let node = this.root;
    for (let start = 0; ; ) {
      let end = path.indexOf('/', start);
      if (end < 0) end = path.length;
      let next = childOf(node, path, start, end);
      if (next === undefined) {
        next = addChild(node, path, start, end);
        this.trieNodes++;
      }
      node = next;
      if (end === path.length) return node;
      start = end + 1;
    }
  }

  private findPath(path: string): Node<T> | undefined {
    let node: Node<T> | undefined = this.root;
    for (let start = 0; ; ) {
      let end = path.indexOf('/', start);
      if (end < 0) end = path.length;
      node = childOf(node, path, start, end);
      if (node === undefined || end === path.length) return node;
      start = end + 1;
    }
  }
}

function hasWildcard(path: string): boolean {
  return path.includes('+') || path.includes('#');
}

/** Removes a client's subscription (group undefined) or group membership from a node. */
function removeFrom<T>(node: Node<T>, clientId: string, group: string | undefined): boolean {
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
