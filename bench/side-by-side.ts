// Timing two subscription indexes on the same topics in alternating rounds, so that a
// noisy machine slows both alike (bench/topics.ts --against, bench/topic-shapes.ts).

import type { MatchVisitor } from '../src/topics/index.js';

/** What is timed: anything with the index's forEachMatch, whichever build it comes from. */
interface Matching<T> {
  forEachMatch(topic: string, visitor: MatchVisitor<T>): void;
}

/** A string as the decoder makes it, flat: not a rope of a template literal or a join. */
export const flat = (s: string): string => Buffer.from(s).toString('utf8');

export const ROUND = 10_000;

/**
 * Rounds of 10,000 matches, one of `a` then one of `b` on the same topics, until `seconds`
 * pass; the median µs per match of each, and the rounds each ran.
 */
export function alternate<T>(a: Matching<T>, b: Matching<T>, topics: readonly string[], visitor: MatchVisitor<T>, seconds: number): { a: number; b: number; rounds: number } {
  const round = (index: Matching<T>, from: number): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ROUND; i++) index.forEachMatch(topics[(from + i) % topics.length], visitor);
    return Number(process.hrtime.bigint() - start) / ROUND / 1e3;
  };
  const ours: number[] = [];
  const theirs: number[] = [];
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  for (let from = 0; process.hrtime.bigint() < deadline; from += ROUND) {
    ours.push(round(a, from));
    theirs.push(round(b, from));
  }
  const median = (xs: number[]): number => xs.sort((x, y) => x - y)[xs.length >> 1];
  return { a: median(ours), b: median(theirs), rounds: ours.length };
}
