// Retained-message matches on SUBSCRIBE with 1,000,000 retained messages: the topic-level
// trie (src/broker/retained.ts) against the full scan with topicMatches that it replaced,
// kept here as the reference and run in the same process on the same topics.
//   npx tsc -p . && node dist/bench/retained.js [messages]
// Deterministic (the topics are a grid, filled in a seeded order), bounded (each filter is
// timed for at most ~1 s per store), one table out.
//
// Topics are site/{site}/{floor}/{device}/{metric}: 1,000 sites x 10 floors x 20 devices x
// 5 metrics. A wildcard filter costs the scan the whole store whatever it matches (even
// nothing, the cheapest subscribe flood); the trie costs the nodes the filter reaches, so
// `+/+/+/+/nothing` still walks every device (as in Mosquitto's retain tree). Storing
// a new topic costs the trie more (a walk down the levels, a node per new level): the fill,
// replace and delete rows show what each store pays per retained publish.

import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { MemoryRetainedStore } from '../src/broker/retained.js';
import type { Message } from '../src/broker/types.js';
import { topicMatches } from '../src/topics/index.js';
import { mulberry32 } from '../src/cli/bench/random.js';

const MESSAGES = Number(process.argv[2] ?? 1_000_000);
const FLOORS = 10;
const DEVICES = 20;
const METRICS = ['temp', 'humidity', 'power', 'co2', 'status'];
const SITES = Math.max(1, Math.ceil(MESSAGES / (FLOORS * DEVICES * METRICS.length)));
const FILTERS = [
  'site/12/3/7/temp',
  'site/12/#',
  'site/12/+/+/temp',
  'site/+/3/7/temp',
  'site/+/3/+/temp',
  '+/+/+/+/power',
  '+/+/+/+/nothing',
  'site/99999/#',
  'nobody/+/+',
];
const SECONDS_PER_FILTER = 1;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The store before the trie, reduced to set and match: a wildcard filter scans every message. */
class ScanRetainedStore {
  private readonly messages = new Map<string, Message>();

  get size(): number {
    return this.messages.size;
  }

  set(message: Message): void {
    this.messages.delete(message.topic);
    if (message.payload.length > 0) this.messages.set(message.topic, { ...message, payload: Buffer.from(message.payload) });
  }

  match(filter: string): Message[] {
    const now = Date.now();
    const out: Message[] = [];
    if (!filter.includes('+') && !filter.includes('#')) {
      const m = this.messages.get(filter);
      if (m !== undefined && (m.expiresAt === undefined || m.expiresAt > now)) out.push(m);
      return out;
    }
    for (const m of this.messages.values()) {
      if (topicMatches(filter, m.topic) && (m.expiresAt === undefined || m.expiresAt > now)) out.push(m);
    }
    return out;
  }
}

interface Store {
  readonly size: number;
  set(message: Message): void;
  match(filter: string): Message[];
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const seconds = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;
function heapMB(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 1e6;
}

// Every topic of the grid once, in a seeded random order (a fleet does not report in order).
// Through a Buffer, as the decoder makes them: flat strings, not template-literal ropes.
const topics: string[] = [];
for (let s = 0; s < SITES && topics.length < MESSAGES; s++)
  for (let f = 0; f < FLOORS && topics.length < MESSAGES; f++)
    for (let d = 0; d < DEVICES && topics.length < MESSAGES; d++)
      for (const m of METRICS) if (topics.length < MESSAGES) topics.push(Buffer.from(`site/${s}/${f}/${d}/${m}`).toString('utf8'));
const rand = mulberry32(0x5eed);
for (let i = topics.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [topics[i], topics[j]] = [topics[j], topics[i]];
}
const payload = Buffer.from('21.5');
const newPayload = Buffer.from('21.6');
const empty = Buffer.alloc(0);

interface Result {
  fillMs: number;
  replaceMs: number;
  deleteMs: number;
  heap: number;
  nodes?: number;
  perFilter: Map<string, { ms: number; found: number }>;
}

function run(make: () => Store, nodeCount?: (s: Store) => number): Result {
  const before = heapMB();
  const store = make();
  const t0 = process.hrtime.bigint();
  for (const topic of topics) store.set({ topic, payload, qos: 1, retain: true });
  const fillMs = seconds(t0) * 1e3;
  const heap = heapMB() - before;
  const perFilter = new Map<string, { ms: number; found: number }>();
  for (const filter of FILTERS) {
    // Median of as many matches as fit in SECONDS_PER_FILTER (at least 3): VMs are noisy.
    const times: number[] = [];
    let found = 0;
    const deadline = process.hrtime.bigint() + BigInt(SECONDS_PER_FILTER * 1e9);
    while (times.length < 3 || process.hrtime.bigint() < deadline) {
      const start = process.hrtime.bigint();
      found = store.match(filter).length;
      times.push(seconds(start) * 1e3);
    }
    times.sort((a, b) => a - b);
    perFilter.set(filter, { ms: times[times.length >> 1], found });
  }
  const nodes = nodeCount?.(store);
  // A sensor's retained status is mostly replaced, and sometimes deleted (the trie prunes).
  let t1 = process.hrtime.bigint();
  for (const topic of topics) store.set({ topic, payload: newPayload, qos: 1, retain: true });
  const replaceMs = seconds(t1) * 1e3;
  t1 = process.hrtime.bigint();
  for (const topic of topics) store.set({ topic, payload: empty, qos: 1, retain: true });
  const deleteMs = seconds(t1) * 1e3;
  if (store.size !== 0 || (nodeCount !== undefined && nodeCount(store) !== 0)) throw new Error('not empty after deleting every topic');
  return { fillMs, replaceMs, deleteMs, heap, ...(nodes !== undefined && { nodes }), perFilter };
}

const scan = run(() => new ScanRetainedStore());
gc();
const trie = run(
  () => new MemoryRetainedStore(),
  (s) => (s as MemoryRetainedStore).nodeCount,
);

const table: string[][] = [['', 'matches', 'scan (before)', 'trie (after)', 'speed-up']];
for (const filter of FILTERS) {
  const a = scan.perFilter.get(filter)!;
  const b = trie.perFilter.get(filter)!;
  if (a.found !== b.found) throw new Error(`${filter}: the scan found ${a.found}, the trie ${b.found}`);
  table.push([`match ${filter}`, fmt(a.found), `${fmt(a.ms, 3)} ms`, `${fmt(b.ms, 3)} ms`, `${fmt(a.ms / b.ms, 0)}x`]);
}
const perSet = (ms: number): string => `${fmt(ms)} ms, ${fmt((ms * 1e3) / topics.length, 2)} µs/set`;
table.push(['fill (set each message)', fmt(topics.length), perSet(scan.fillMs), perSet(trie.fillMs), '']);
table.push(['replace each message', fmt(topics.length), perSet(scan.replaceMs), perSet(trie.replaceMs), '']);
table.push(['delete each message', fmt(topics.length), perSet(scan.deleteMs), perSet(trie.deleteMs), '']);
table.push(['heap + buffers held', '', `${fmt(scan.heap)} MB`, `${fmt(trie.heap)} MB (${fmt(trie.nodes!)} nodes)`, '']);

console.log(`Retained matches, ${fmt(topics.length)} retained messages, node ${process.version}\n`);
const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
for (const [i, r] of table.entries()) {
  console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
