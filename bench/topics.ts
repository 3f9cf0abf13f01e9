// Topic match throughput with 1,000,000 subscriptions (mixed exact, `+`, `#`).
//   npx tsc -p . && node dist/bench/topics.js [subscriptions] [--against DIR]
// Deterministic (seeded), bounded (stops by itself in well under a minute), one table out.
//
// Matching is reported twice: over 100,000 distinct topics, which touch most of the index
// so nearly every lookup misses the CPU caches and the TLB (the worst case), and over a
// hot set of 100 topics that stays cached. (A hot set of 1,000 topics measured no faster
// than the cold one: each match touches ~50 cache lines on as many 4 KB pages, so 1,000
// topics already overflow the TLB.) The memory-latency row says what one miss costs on the
// machine, to compare the cold figures across machines.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { MatchResult, SubscriptionIndex, topicMatches } from '../src/topics/index.js';
import type { MatchVisitor, SharedGroup, Subscription } from '../src/topics/index.js';
import { mulberry32 } from '../src/cli/bench/random.js';
import { ROUND, alternate, flat } from './side-by-side.js';

interface SubOptions {
  readonly qos: 0 | 1 | 2;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly subscriptionId?: number;
}

const { values: args, positionals } = parseArgs({ options: { against: { type: 'string' } }, allowPositionals: true });
const SUBSCRIPTIONS = Number(positionals[0] ?? 1_000_000);
const CLIENTS = Math.max(1, Math.floor(SUBSCRIPTIONS / 10));
const SITES = 10_000;
const FLOORS = 10;
const DEVICES = 200;
const METRICS = ['temp', 'humidity', 'power', 'status', 'rssi', 'co2', 'door', 'battery'];
const COLD_TOPICS = 100_000;
const HOT_TOPICS = 100;
const MATCH_SECONDS = 3;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const rand = mulberry32(0x5eed);
const int = (n: number): number => Math.floor(rand() * n);
const metric = (): string => METRICS[int(METRICS.length)];

/** Topics of depth 3 to 7 in one shape space, so filters and topics meet. */
function randomTopic(): string {
  const s = int(SITES);
  switch (int(4)) {
    case 0:
      return `site/${s}/${metric()}`;
    case 1:
      return `site/${s}/gateway/${int(DEVICES)}`;
    case 2:
      return `site/${s}/device/${int(DEVICES)}/${metric()}`;
    default:
      return `site/${s}/floor/${int(FLOORS)}/device/${int(DEVICES)}/${metric()}`;
  }
}

/** ~70% exact, ~20% with `+`, ~10% with `#`. */
function randomFilter(): string {
  const r = rand();
  if (r < 0.7) return randomTopic();
  const s = int(SITES);
  if (r < 0.9) {
    switch (int(4)) {
      case 0:
        return `site/${s}/device/+/${metric()}`;
      case 1:
        return `+/${s}/device/${int(DEVICES)}/${metric()}`;
      case 2:
        return `site/${s}/floor/+/device/${int(DEVICES)}/+`;
      default:
        return `site/${s}/+/${metric()}`;
    }
  }
  switch (int(3)) {
    case 0:
      return `site/${s}/device/${int(DEVICES)}/#`;
    case 1:
      return `site/${s}/floor/${int(FLOORS)}/#`;
    default:
      return `site/${s}/#`;
  }
}

const OPTIONS: SubOptions[] = [0, 1, 2].map((qos) => ({
  qos: qos as 0 | 1 | 2,
  noLocal: false,
  retainAsPublished: false,
}));

/** The JS heap plus ArrayBuffers, which hold the index's typed-array tables. */
function heapMB(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 1e6;
}

const rows: [string, string][] = [];
const row = (name: string, value: string): void => {
  rows.push([name, value]);
};
const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const seconds = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;

// Build ---------------------------------------------------------------------------------
const clientIds = Array.from({ length: CLIENTS }, (_, c) => `client-${c}`);
const filters = Array.from({ length: SUBSCRIPTIONS }, () => flat(randomFilter()));
const owner = (i: number): string => clientIds[i % CLIENTS];

const heapBefore = heapMB();
const index = new SubscriptionIndex<SubOptions>();
let t0 = process.hrtime.bigint();
for (let i = 0; i < SUBSCRIPTIONS; i++) index.add(owner(i), filters[i], OPTIONS[i % 3]);
const buildSeconds = seconds(t0);
const heap = heapMB() - heapBefore;
row('subscriptions', `${fmt(index.size)} distinct, ${fmt(CLIENTS)} clients, ${fmt(index.nodeCount)} nodes`);
row('build', `${fmt(buildSeconds * 1e3)} ms, ${fmt(SUBSCRIPTIONS / buildSeconds)} adds/s`);
row('memory for the index (heap + buffers)', `${fmt(heap)} MB, ${fmt((heap * 1e6) / index.size)} B/subscription`);

// Match ---------------------------------------------------------------------------------
// Half the topics are ones somebody subscribed to exactly (published topics usually have
// readers), half are random points of the same space.
const exact = filters.filter((f) => !f.includes('+') && !f.includes('#'));
const pickTopics = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => flat(i % 2 === 0 ? exact[int(exact.length)] : randomTopic()));
const coldTopics = pickTopics(COLD_TOPICS);
const hotTopics = pickTopics(HOT_TOPICS);

class Counter implements MatchVisitor<SubOptions> {
  found = 0;
  onSubscription(_sub: Subscription<SubOptions>): void {
    this.found++;
  }
  onSharedGroup(_group: SharedGroup<SubOptions>): void {
    this.found++;
  }
}

/** Rounds of ROUND matches until MATCH_SECONDS pass; the median round (VMs are noisy). */
function timeMatches(name: string, topics: string[], matchOne: (topic: string) => number): void {
  const perMatch: number[] = [];
  let found = 0;
  let next = 0;
  const deadline = process.hrtime.bigint() + BigInt(MATCH_SECONDS * 1e9);
  while (process.hrtime.bigint() < deadline) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ROUND; i++) {
      found += matchOne(topics[next]);
      next = next + 1 === topics.length ? 0 : next + 1;
    }
    perMatch.push((seconds(start) * 1e6) / ROUND);
  }
  perMatch.sort((a, b) => a - b);
  const median = perMatch[perMatch.length >> 1];
  const average = found / (perMatch.length * ROUND);
  row(name, `${fmt(1e6 / median)} matches/s, ${fmt(median, 2)} µs/match, ${fmt(average, 1)} subs/match`);
}

const counter = new Counter();
const visit = (topic: string): number => {
  const before = counter.found;
  index.forEachMatch(topic, counter);
  return counter.found - before;
};
const reused = new MatchResult<SubOptions>();
const intoReused = (topic: string): number => index.match(topic, reused).subscriptions.length;
const fresh = (topic: string): number => index.match(topic).subscriptions.length;
timeMatches('cold, forEachMatch(topic, visitor)', coldTopics, visit);
timeMatches('cold, match(topic, reused)', coldTopics, intoReused);
timeMatches('cold, match(topic)', coldTopics, fresh);
timeMatches('hot 100, forEachMatch(topic, visitor)', hotTopics, visit);
timeMatches('hot 100, match(topic, reused)', hotTopics, intoReused);

// The walk: what a match costs when a topic's depth has more filter shapes than the index
// probes one by one (src/topics/shapes.ts), timed on the same filters in a second index
// that always walks.
{
  const walking = new SubscriptionIndex<SubOptions>({ shapeLimit: 0 });
  for (let i = 0; i < SUBSCRIPTIONS; i++) walking.add(owner(i), filters[i], OPTIONS[i % 3]);
  const walk = (topic: string): number => {
    const before = counter.found;
    walking.forEachMatch(topic, counter);
    return counter.found - before;
  };
  timeMatches('cold, walking the trie (many shapes)', coldTopics, walk);
  timeMatches('hot 100, walking the trie (many shapes)', hotTopics, walk);
}

// Side by side ----------------------------------------------------------------------------
// `--against DIR`: another build's index (DIR is its output directory, e.g. the previous
// commit built with `npx tsc -p . --outDir DIR`) over the same filters, timed in alternating
// rounds on the same topics, so a noisy machine slows both alike.
if (args.against !== undefined) {
  const url = pathToFileURL(path.resolve(args.against, 'src/topics/index.js')).href;
  const other = (await import(url)) as { SubscriptionIndex: typeof SubscriptionIndex };
  const peer = new other.SubscriptionIndex<SubOptions>();
  for (let i = 0; i < SUBSCRIPTIONS; i++) peer.add(owner(i), filters[i], OPTIONS[i % 3]);
  for (const [name, topics] of [['cold', coldTopics], ['hot 100', hotTopics]] as const) {
    const { a, b, rounds } = alternate(index, peer, topics, counter, MATCH_SECONDS * 2);
    row(`${name}: this build vs --against`, `${fmt(a, 2)} vs ${fmt(b, 2)} µs/match (${fmt(a / b, 2)}×), ${rounds} rounds each`);
  }
}

// The naive peer: test every filter, as a broker without an index does.
{
  const n = 3;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) for (let j = 0; j < SUBSCRIPTIONS; j++) topicMatches(filters[j], coldTopics[i]);
  const s = seconds(t0);
  row('peer: linear scan with topicMatches', `${fmt(n / s, 1)} matches/s, ${fmt((s * 1e6) / n)} µs/match`);
}

// Churn ---------------------------------------------------------------------------------
{
  const CHURN = 200_000;
  const picks = Array.from({ length: CHURN }, () => int(SUBSCRIPTIONS));
  const nodesBefore = index.nodeCount;
  t0 = process.hrtime.bigint();
  let removed = 0;
  for (const p of picks) if (index.remove(owner(p), filters[p])) removed++;
  const removeSeconds = seconds(t0);
  t0 = process.hrtime.bigint();
  for (const p of picks) index.add(owner(p), filters[p], OPTIONS[0]);
  const addSeconds = seconds(t0);
  row('remove (random, existing)', `${fmt(removed / removeSeconds)} removes/s`);
  row('add (the same back)', `${fmt(CHURN / addSeconds)} adds/s; nodes ${fmt(nodesBefore)} -> ${fmt(index.nodeCount)}`);
}

// Machine -------------------------------------------------------------------------------
{
  // A random cyclic permutation (Sattolo) over 128 MB: each load depends on the last.
  const n = 1 << 25;
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) next[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = int(i);
    const t = next[i];
    next[i] = next[j];
    next[j] = t;
  }
  const loads = 2_000_000;
  let p = 0;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < loads; i++) p = next[p];
  row('machine: dependent random load, 128 MB', `${fmt((seconds(t0) * 1e9) / loads)} ns (${p >= 0 ? 'one cache miss' : ''})`);
}

// Report --------------------------------------------------------------------------------
const width = Math.max(...rows.map(([name]) => name.length));
console.log(`topics bench: node ${process.version}, ${fmt(SUBSCRIPTIONS)} subscriptions (70% exact, 20% +, 10% #)`);
for (const [name, value] of rows) console.log(`  ${name.padEnd(width)}  ${value}`);
