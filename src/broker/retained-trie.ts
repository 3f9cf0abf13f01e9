// The retained messages as a tree of topic levels (Mosquitto's retain tree), so a wildcard
// SUBSCRIBE visits only the branches its filter can reach instead of every retained message:
// with up to limits.maxRetainedMessages held, a full scan per subscribe is a denial of
// service on the event loop.
//
// A node is one level; the root is the level above the first, so every topic, even '' (one
// empty level), is a node below it. Empty levels (`a//b`, a leading '/') are levels like any
// other. A node without a message and without children is unlinked at once, so churn does
// not grow memory. The walks keep their own stack: a topic may have tens of thousands of
// levels (65,535 bytes of '/'), deeper than the call stack.

import type { Message } from './types.js';

export class RetainedNode {
  children: Map<string, RetainedNode> | undefined = undefined;
  message: Message | undefined = undefined;

  constructor(
    readonly parent: RetainedNode | undefined,
    readonly key: string,
  ) {}
}

const DOLLAR = 0x24;

export class RetainedTrie {
  private readonly root = new RetainedNode(undefined, '');
  private nodes = 0;

  /** Nodes below the root: 0 when the trie holds nothing. */
  get nodeCount(): number {
    return this.nodes;
  }

  /** The node of `topic`, created with the ancestors it lacks. */
  node(topic: string): RetainedNode {
    let node = this.root;
    let start = 0;
    for (;;) {
      const slash = topic.indexOf('/', start);
      const key = slash === -1 ? topic.slice(start) : topic.slice(start, slash);
      let child = node.children?.get(key);
      if (child === undefined) {
        child = new RetainedNode(node, key);
        (node.children ??= new Map()).set(key, child);
        this.nodes++;
      }
      node = child;
      if (slash === -1) return node;
      start = slash + 1;
    }
  }

  /** How many nodes node(topic) would create: the levels of `topic` from the first one missing. */
  missing(topic: string): number {
    let node: RetainedNode | undefined = this.root;
    let start = 0;
    for (;;) {
      const slash = topic.indexOf('/', start);
      node = node.children?.get(slash === -1 ? topic.slice(start) : topic.slice(start, slash));
      if (node === undefined) break;
      if (slash === -1) return 0;
      start = slash + 1;
    }
    let levels = 1;
    for (let i = topic.indexOf('/', start); i !== -1; i = topic.indexOf('/', i + 1)) levels++;
    return levels;
  }

  /** Unlinks `node`, and then its ancestors, for as long as they hold nothing. */
  prune(node: RetainedNode): void {
    let n = node;
    while (n.parent !== undefined && n.message === undefined && (n.children === undefined || n.children.size === 0)) {
      const parent = n.parent;
      parent.children!.delete(n.key);
      if (parent.children!.size === 0) parent.children = undefined;
      this.nodes--;
      n = parent;
    }
  }

  /**
   * Appends to `out` the message of every topic that `levels` (a topic filter, split on '/')
   * matches, in no particular order. Expired messages are included: the caller decides.
   */
  match(levels: readonly string[], out: Message[]): void {
    const last = levels.length - 1;
    const nodes: RetainedNode[] = [this.root];
    const depths: number[] = [0];
    while (nodes.length > 0) {
      const node = nodes.pop()!;
      const i = depths.pop()!;
      const level = levels[i];
      // '#' matches the parent level and any number of child levels (section 4.7.1.2); like
      // topicMatches, a filter's levels after '#' are not looked at.
      if (level === '#') {
        this.collect(node, i === 0, out);
        continue;
      }
      const children = node.children;
      if (children === undefined) continue;
      // The children at the filter's last level are taken at once rather than stacked: with
      // many matches, most of the walk is there.
      if (level === '+') {
        // '+' matches exactly one level, which may be empty (section 4.7.1.3); a filter
        // starting with a wildcard does not match a topic starting with '$' [MQTT-4.7.2-1].
        for (const child of children.values()) {
          if (i === 0 && child.key.charCodeAt(0) === DOLLAR) continue;
          if (i === last) {
            if (child.message !== undefined) out.push(child.message);
          } else {
            nodes.push(child);
            depths.push(i + 1);
          }
        }
      } else {
        const child = children.get(level);
        if (child === undefined) continue;
        if (i === last) {
          if (child.message !== undefined) out.push(child.message);
        } else {
          nodes.push(child);
          depths.push(i + 1);
        }
      }
    }
  }

  /** `node`'s message and those of its whole subtree; at the root, not '$' topics [MQTT-4.7.2-1]. */
  private collect(node: RetainedNode, atRoot: boolean, out: Message[]): void {
    const stack: RetainedNode[] = [];
    if (atRoot) {
      for (const child of node.children?.values() ?? []) if (child.key.charCodeAt(0) !== DOLLAR) stack.push(child);
    } else {
      stack.push(node);
    }
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.message !== undefined) out.push(n.message);
      if (n.children !== undefined) for (const child of n.children.values()) stack.push(child);
    }
  }
}
