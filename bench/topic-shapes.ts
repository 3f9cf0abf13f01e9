// Where probing by shape stops paying: a cold match with N filter shapes per topic depth,
// probed one by one against walking the trie, on the same filters, side by side.
//   npx tsc -p . && node dist/bench/topic-shapes.js [N ...]   (default 8 16 32 64)
// Seeded and bounded: per N, two indexes of 1,000,000 subscriptions timed for 12 s.
//
// Topics have 10 levels of 30-100 values each. 70% of the filters are topics; 30% are
// topics with `+` at one to three levels, chosen from N such patterns, so each wildcard
// filter matches few topics and the time is the search, not the emission. Half the topics
// matched are subscribed exactly, half random. src/topics/shapes.ts probes up to 16 shapes.

import { SubscriptionIndex } from '../src/topics/index.js';
import type { MatchVisitor } from '../src/topics/index.js';
import { mulberry32 } from '../src/cli/bench/random.js';
import { ROUND, alternate, flat } from './side-by-side.js';

const SUBSCRIPTIONS = 1_000_000;
const LEVELS = 10;
const TOPICS = 100_000;
const SECONDS = 12;

const counts = process.argv.slice(2).map(Number);
const bits = (m: number): number => {
  let c = 0;
  for (; m !== 0; m &= m - 1) c++;
  return c;
};

function measure(shapes: number): string {
  const rand = mulberry32(shapes);
  const int = (n: number): number => Math.floor(rand() * n);
  const topic = (): string[] => Array.from({ length: LEVELS }, (_, l) => `l${l}x${int(l < 2 ? 30 : 100)}`);
  const masks = new Set<number>();
  while (masks.size < shapes) {
    const m = 1 + int((1 << LEVELS) - 1);
    if (bits(m) <= 3) masks.add(m);
  }
  const maskList = [...masks];
  const filters: string[] = [];
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    const levels = topic();
    if (rand() < 0.3) {
      const m = maskList[int(maskList.length)];
      for (let l = 0; l < LEVELS; l++) if ((m & (1 << l)) !== 0) levels[l] = '+';
    }
    filters.push(flat(levels.join('/')));
  }
  const build = (shapeLimit: number): SubscriptionIndex<number> => {
    const index = new SubscriptionIndex<number>({ shapeLimit });
    for (let i = 0; i < SUBSCRIPTIONS; i++) index.add(`c${i % 100_000}`, filters[i], 1);
    return index;
  };
  const probing = build(Infinity);
  const walking = build(0);
  const exact = filters.filter((f) => !f.includes('+'));
  const topics = Array.from({ length: TOPICS }, (_, i) => flat(i % 2 === 0 ? exact[int(exact.length)] : topic().join('/')));
  let found = 0;
  const visitor: MatchVisitor<number> = {
    onSubscription: () => void found++,
    onSharedGroup: () => void found++,
  };
  const { a: p, b: w, rounds } = alternate(probing, walking, topics, visitor, SECONDS);
  return `${String(shapes).padStart(4)} shapes: probing ${p.toFixed(2)} µs, walking ${w.toFixed(2)} µs (${(p / w).toFixed(2)}×), ${(found / (2 * rounds * ROUND)).toFixed(1)} subscriptions/match`;
}

console.log(`topic shapes bench: node ${process.version}, ${SUBSCRIPTIONS.toLocaleString('en-US')} subscriptions, ${LEVELS}-level topics, cold`);
for (const n of counts.length > 0 ? counts : [8, 16, 32, 64]) console.log(measure(n));
