// The index against the reference matcher on random filters and topics. Seeded, so a
// failure reproduces: the seed is in the test name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubscriptionIndex, parseSharedFilter, topicMatches } from '../../src/topics/index.js';
import { levelsMatch } from '../../src/topics/trie.js';
import { mulberry32 } from '../../src/cli/bench/random.js';

// A small alphabet, so that random filters and topics meet often; '' makes empty levels,
// '$x' and '$SYS' exercise [MQTT-4.7.2-1].
const LEVELS = ['a', 'b', 'ab', '', '$x', '$SYS', 'é', '🙂'];

function generator(seed: number) {
  const rand = mulberry32(seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const level = (): string => LEVELS[int(LEVELS.length)];
  // A topic or filter of one empty level would be '', which is invalid [MQTT-4.7.3-1].
  const nonEmpty = (s: string): string => (s === '' ? 'a' : s);
  const topic = (): string => nonEmpty(Array.from({ length: 1 + int(5) }, level).join('/'));
  const filter = (): string => {
    const n = 1 + int(5);
    const levels: string[] = [];
    for (let i = 0; i < n; i++) levels.push(rand() < 0.25 ? '+' : level());
    if (rand() < 0.25) levels[n - 1] = '#';
    const f = nonEmpty(levels.join('/'));
    return rand() < 0.15 ? `$share/${['g', 'h'][int(2)]}/${f}` : f;
  };
  return { int, topic, filter, rand };
}

/** A plain model: (client, filter) -> value, matched by brute force with topicMatches. */
class Model {
  readonly subs = new Map<string, { clientId: string; filter: string; value: number }>();

  add(clientId: string, filter: string, value: number): boolean {
    const key = `${clientId}\u0000${filter}`;
    const isNew = !this.subs.has(key);
    this.subs.set(key, { clientId, filter, value });
    return isNew;
  }

  remove(clientId: string, filter: string): boolean {
    return this.subs.delete(`${clientId}\u0000${filter}`);
  }

  match(topic: string): { subs: string[]; groups: string[] } {
    const subs: string[] = [];
    const groups = new Map<string, string[]>();
    for (const s of this.subs.values()) {
      if (!topicMatches(s.filter, topic)) continue;
      const shared = parseSharedFilter(s.filter);
      if (shared === undefined) subs.push(`${s.clientId} ${s.filter} ${s.value}`);
      else {
        const key = `${shared.group} ${shared.filter}`;
        groups.set(key, [...(groups.get(key) ?? []), `${s.clientId}@${s.value}`]);
      }
    }
    return { subs: subs.sort(), groups: [...groups].map(([k, m]) => `${k}: ${m.sort().join(',')}`).sort() };
  }
}

function indexMatch(index: SubscriptionIndex<number>, topic: string): { subs: string[]; groups: string[] } {
  const result = index.match(topic);
  return {
    subs: result.subscriptions.map((s) => `${s.clientId} ${s.filter} ${s.value}`).sort(),
    groups: result.groups
      .map((g) => `${g.group} ${g.filter}: ${g.members.map((m) => `${m.clientId}@${m.value}`).sort().join(',')}`)
      .sort(),
  };
}

// Each seed with the default shape limit (shapes for shallow topics, the walk for deep
// ones, whose filters have more shapes), with the walk only, and with shapes only.
const LIMITS = [
  [undefined, 'default shape limit'],
  [0, 'walk only'],
  [Infinity, 'shapes only'],
] as const;

for (const seed of [1, 2, 3]) for (const [shapeLimit, how] of LIMITS) {
  test(`the index matches exactly what topicMatches says, through adds, replaces and removes (seed ${seed}, ${how})`, () => {
    const g = generator(seed);
    const index = new SubscriptionIndex<number>({ shapeLimit });
    const model = new Model();
    const added: [string, string][] = [];
    for (let i = 0; i < 3000; i++) {
      const clientId = `c${g.int(60)}`;
      const filter = g.filter();
      assert.equal(index.add(clientId, filter, i), model.add(clientId, filter, i), `add ${clientId} ${filter}`);
      added.push([clientId, filter]);
    }
    assert.equal(index.size, model.subs.size);
    const check = (): void => {
      let found = 0;
      for (let i = 0; i < 200; i++) {
        const topic = g.topic();
        const expected = model.match(topic);
        assert.deepEqual(indexMatch(index, topic), expected, `topic ${JSON.stringify(topic)}`);
        found += expected.subs.length + expected.groups.length;
      }
      // The alphabet is small enough that topics do meet filters.
      assert.ok(found > 1000, `only ${found} matches`);
    };
    check();
    // Remove about half, some twice and some never added.
    for (let i = 0; i < 2000; i++) {
      const [clientId, filter] = g.rand() < 0.9 ? added[g.int(added.length)] : [`c${g.int(60)}`, g.filter()];
      assert.equal(index.remove(clientId, filter), model.remove(clientId, filter), `remove ${clientId} ${filter}`);
    }
    assert.equal(index.size, model.subs.size);
    check();
    for (const s of model.subs.values()) {
      assert.equal(index.get(s.clientId, s.filter), s.value);
      assert.equal(index.remove(s.clientId, s.filter), true);
    }
    assert.equal(index.size, 0);
    assert.equal(index.nodeCount, 0);
  });
}

test('levelsMatch agrees with topicMatches on topics not starting with $ (seed 4)', () => {
  const g = generator(4);
  for (let i = 0; i < 20000; i++) {
    const filter = g.filter();
    const inner = parseSharedFilter(filter)?.filter ?? filter;
    const topic = g.topic();
    if (topic.startsWith('$')) continue;
    assert.equal(levelsMatch(inner, topic), topicMatches(inner, topic), `${inner} vs ${topic}`);
  }
});
