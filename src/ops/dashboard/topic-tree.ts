// The live topic tree: every message the broker routes (the `published` event, so client
// publishes, wills, $SYS and program publishes alike) counts on each level of its topic, and
// the topic's own node keeps a short copy of the last payload. The tree holds at most
// `maxTopics` nodes and `maxTopicBytes` of level names (a publisher chooses both how many
// topics and how long: 10,000 levels of 64 KB would otherwise pin 650 MB); a message whose
// topic would need more is counted on its deepest node that exists, and in `untracked`.

import { isUtf8 } from 'node:buffer';
import type { Message } from '../../message.js';

/** Bytes of a payload kept to show: a copy, so the tree never pins a socket's read buffer. */
export const PREVIEW_BYTES = 256;

interface Node {
  readonly children: Map<string, Node>;
  /** Messages on this topic and every topic below it. */
  count: number;
  /** `count` at the last tick, for the rate. */
  counted: number;
  /** Messages per second over the last tick. */
  rate: number;
  last?: { payload: Buffer; size: number; at: number; retain: boolean; qos: number };
}

export interface TopicNodeView {
  readonly name: string;
  readonly topic: string;
  readonly messages: number;
  /** Messages per second on this branch, over the last second. */
  readonly rate: number;
  readonly children: number;
  readonly last?: { readonly payload: string; readonly encoding: 'utf8' | 'base64'; readonly size: number; readonly truncated: boolean; readonly at: string; readonly retain: boolean; readonly qos: number };
}

function node(): Node {
  return { children: new Map(), count: 0, counted: 0, rate: 0 };
}

export class TopicTree {
  private readonly root = node();
  private nodes = 0;
  /** UTF-8 bytes of the level names held. */
  private nameBytes = 0;
  untracked = 0;

  constructor(
    readonly maxTopics: number,
    readonly maxTopicBytes = Number.POSITIVE_INFINITY,
  ) {}

  /** UTF-8 bytes of the topic level names the tree holds (http.dashboard.maxTopicBytes). */
  get bytes(): number {
    return this.nameBytes;
  }

  get size(): number {
    return this.nodes;
  }

  readonly record = (m: Message): void => {
    let at = this.root;
    at.count++;
    let tracked = true;
    let start = 0;
    const t = m.topic;
    for (;;) {
      const slash = t.indexOf('/', start);
      const level = slash < 0 ? t.slice(start) : t.slice(start, slash);
      let next = at.children.get(level);
      if (next === undefined) {
        const size = Buffer.byteLength(level);
        if (this.nodes >= this.maxTopics || this.nameBytes + size > this.maxTopicBytes) {
          tracked = false;
          break;
        }
        next = node();
        // A copy: a slice of the topic would keep the whole topic string alive with it.
        at.children.set(Buffer.from(level).toString(), next);
        this.nodes++;
        this.nameBytes += size;
      }
      at = next;
      at.count++;
      if (slash < 0) break;
      start = slash + 1;
    }
    if (!tracked) {
      this.untracked++;
      return;
    }
    const p = m.payload;
    at.last = { payload: Buffer.from(p.subarray(0, PREVIEW_BYTES)), size: p.length, at: Date.now(), retain: m.retain, qos: m.qos };
  };

  /** Updates every node's rate from the messages counted since the last tick, `seconds` ago. */
  tick(seconds: number): void {
    const walk = (n: Node): void => {
      n.rate = (n.count - n.counted) / seconds;
      n.counted = n.count;
      for (const c of n.children.values()) walk(c);
    };
    walk(this.root);
  }

  /** Messages per second over everything routed, over the last tick. */
  get rate(): number {
    return this.root.rate;
  }

  /** The children of the node at `prefix` (levels joined by '/'; '' for the top), busiest first; undefined when there is no such node. */
  children(prefix: string | undefined, limit: number): { total: number; nodes: TopicNodeView[] } | undefined {
    let at = this.root;
    const levels = prefix === undefined ? [] : prefix.split('/');
    for (const level of levels) {
      const next = at.children.get(level);
      if (next === undefined) return undefined;
      at = next;
    }
    const all = [...at.children.entries()].sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1));
    const base = prefix === undefined ? '' : `${prefix}/`;
    return { total: all.length, nodes: all.slice(0, limit).map(([name, n]) => describe(name, base + name, n)) };
  }

  /** Topics whose name contains `text`, the first `limit` found (depth first). */
  search(text: string, limit: number): TopicNodeView[] {
    const out: TopicNodeView[] = [];
    const walk = (n: Node, topic: string): void => {
      for (const [name, c] of n.children) {
        if (out.length >= limit) return;
        const t = topic === '' && n === this.root ? name : `${topic}/${name}`;
        if (c.last !== undefined && t.includes(text)) out.push(describe(name, t, c));
        walk(c, t);
      }
    };
    walk(this.root, '');
    return out;
  }
}

function describe(name: string, topic: string, n: Node): TopicNodeView {
  const l = n.last;
  const text = l !== undefined && isUtf8(l.payload);
  return {
    name,
    topic,
    messages: n.count,
    rate: n.rate,
    children: n.children.size,
    ...(l !== undefined && {
      last: {
        payload: l.payload.toString(text ? 'utf8' : 'base64'),
        encoding: text ? ('utf8' as const) : ('base64' as const),
        size: l.size,
        truncated: l.size > l.payload.length,
        at: new Date(l.at).toISOString(),
        retain: l.retain,
        qos: l.qos,
      },
    }),
  };
}
