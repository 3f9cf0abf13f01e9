import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MatchResult, SubscriptionIndex } from '../../src/topics/index.js';
import type { MatchVisitor, SharedGroup, Subscription } from '../../src/topics/index.js';
import { ROOT_KEY, levelHash, pathKey, topicHash } from '../../src/topics/hashing.js';
import { PLUS_KEY } from '../../src/topics/trie.js';

interface Opts {
  qos: 0 | 1 | 2;
  id?: number;
}

/** The non-shared matches as sorted "client filter qos" strings. */
function subs(index: SubscriptionIndex<Opts>, topic: string): string[] {
  return index
    .match(topic)
    .subscriptions.map((s) => `${s.clientId} ${s.filter} ${s.value.qos}`)
    .sort();
}

/** The shared matches as sorted "group filter: members" strings. */
function groups(index: SubscriptionIndex<Opts>, topic: string): string[] {
  return index
    .match(topic)
    .groups.map((g) => `${g.group} ${g.filter}: ${g.members.map((m) => `${m.clientId}@${m.value.qos}`).sort().join(',')}`)
    .sort();
}

test('a subscription matches its topics and is counted', () => {
  const index = new SubscriptionIndex<Opts>();
  assert.equal(index.add('c1', 'sport/tennis/+', { qos: 1 }), true);
  assert.equal(index.size, 1);
  assert.deepEqual(subs(index, 'sport/tennis/player1'), ['c1 sport/tennis/+ 1']);
  assert.deepEqual(subs(index, 'sport/tennis'), []);
  assert.deepEqual(subs(index, 'sport/tennis/player1/ranking'), []);
});

test('a second SUBSCRIBE to the same filter replaces the first [MQTT-3.8.4-3]', () => {
  const index = new SubscriptionIndex<Opts>();
  assert.equal(index.add('c1', 'a/b', { qos: 0 }), true);
  assert.equal(index.add('c1', 'a/b', { qos: 2 }), false);
  assert.equal(index.add('c1', 'a/#', { qos: 0 }), true);
  assert.equal(index.add('c1', 'a/#', { qos: 1 }), false);
  assert.equal(index.size, 2);
  assert.deepEqual(subs(index, 'a/b'), ['c1 a/# 1', 'c1 a/b 2']);
  assert.deepEqual(index.get('c1', 'a/b'), { qos: 2 });
});

test('overlapping subscriptions of one client are all returned, for the broker to merge [MQTT-3.3.4-2]', () => {
  const index = new SubscriptionIndex<Opts>();
  index.add('c1', 'a/+', { qos: 0, id: 1 });
  index.add('c1', 'a/#', { qos: 1, id: 2 });
  index.add('c1', '#', { qos: 2, id: 3 });
  index.add('c2', 'a/b', { qos: 1 });
  assert.deepEqual(subs(index, 'a/b'), ['c1 # 2', 'c1 a/# 1', 'c1 a/+ 0', 'c2 a/b 1']);
  const ids = index
    .match('a/b')
    .subscriptions.filter((s) => s.clientId === 'c1')
    .map((s) => s.value.id)
    .sort();
  assert.deepEqual(ids, [1, 2, 3]);
});

test('a leading wildcard does not match $SYS topics [MQTT-4.7.2-1]', () => {
  const index = new SubscriptionIndex<Opts>();
  index.add('all', '#', { qos: 0 });
  index.add('plus', '+/broker/uptime', { qos: 0 });
  index.add('sys', '$SYS/#', { qos: 0 });
  index.add('sysplus', '$SYS/+/uptime', { qos: 0 });
  index.add('shared', '$share/g/#', { qos: 0 });
  assert.deepEqual(subs(index, '$SYS/broker/uptime'), ['sys $SYS/# 0', 'sysplus $SYS/+/uptime 0']);
  assert.deepEqual(groups(index, '$SYS/broker/uptime'), []);
  assert.deepEqual(subs(index, 'x/broker/uptime'), ['all # 0', 'plus +/broker/uptime 0']);
  assert.deepEqual(groups(index, 'x/broker/uptime'), ['g #: shared@0']);
});

test('# matches the parent level: sport/# receives sport [MQTT-4.7.1-1]', () => {
  const index = new SubscriptionIndex<Opts>();
  index.add('c', 'sport/#', { qos: 0 });
  assert.deepEqual(subs(index, 'sport'), ['c sport/# 0']);
  assert.deepEqual(subs(index, 'sport/'), ['c sport/# 0']);
  assert.deepEqual(subs(index, 'sports'), []);
});

test('empty levels are levels: /a, a//b and a/ [MQTT-4.7.1-2]', () => {
  const index = new SubscriptionIndex<Opts>();
  index.add('lead', '/+', { qos: 0 });
  index.add('mid', 'a/+/b', { qos: 0 });
  index.add('trail', 'a/+', { qos: 0 });
  index.add('exact', 'a//b', { qos: 0 });
  assert.deepEqual(subs(index, '/a'), ['lead /+ 0']);
  assert.deepEqual(subs(index, 'a//b'), ['exact a//b 0', 'mid a/+/b 0']);
  assert.deepEqual(subs(index, 'a/'), ['trail a/+ 0']);
  assert.deepEqual(subs(index, 'a'), []);
});

test('UNSUBSCRIBE removes only the filter that is identical character by character [MQTT-3.10.4-1]', () => {
  const index = new SubscriptionIndex<Opts>();
  index.add('c1', 'a/b', { qos: 0 });
  index.add('c1', 'a/+', { qos: 0 });
  index.add('c2', 'a/+', { qos: 0 });
  assert.equal(index.remove('c1', 'a/#'), false);
  assert.equal(index.remove('c1', 'a/c'), false);
  assert.equal(index.remove('c3', 'a/+'), false);
  assert.equal(index.remove('c1', 'a/+'), true);
  assert.equal(index.remove('c1', 'a/+'), false);
  assert.equal(index.size, 2);
  assert.deepEqual(subs(index, 'a/b'), ['c1 a/b 0', 'c2 a/+ 0']);
  assert.equal(index.get('c1', 'a/+'), undefined);
});

test('removing every subscription prunes every node, whatever the order', () => {
  const index = new SubscriptionIndex<Opts>();
  const filters = ['a', 'a/b', 'a/b/c', 'a/+/c', 'a/#', '#', '+', '+/+/#', '/', '//', '$SYS/#', '$share/g/a/#', '$share/h/a/b', 'x/y/z/+'];
  for (const f of filters) for (const c of ['c1', 'c2']) index.add(c, f, { qos: 0 });
  assert.equal(index.size, filters.length * 2);
  assert.ok(index.nodeCount > 0);
  for (const f of [...filters].reverse()) assert.equal(index.remove('c1', f), true);
  for (const f of filters) assert.equal(index.remove('c2', f), true);
  assert.equal(index.size, 0);
  assert.equal(index.nodeCount, 0);
  assert.deepEqual(subs(index, 'a/b/c'), []);
});

test('churn does not grow the index', () => {
  const index = new SubscriptionIndex<Opts>();
  for (let i = 0; i < 200; i++) index.add(`c${i}`, `s/${i % 7}/d/${i}/+`, { qos: 0 });
  const nodes = index.nodeCount;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 200; i++) index.add(`t${i}`, `tmp/${round}/${i}/#`, { qos: 0 });
    for (let i = 0; i < 200; i++) index.remove(`t${i}`, `tmp/${round}/${i}/#`);
  }
  assert.equal(index.nodeCount, nodes);
  assert.equal(index.size, 200);
});

test('a filter with thousands of subscribers adds, replaces and removes each one', () => {
  const index = new SubscriptionIndex<Opts>();
  const n = 2000;
  for (let i = 0; i < n; i++) assert.equal(index.add(`c${i}`, 'news/#', { qos: 0 }), true);
  for (let i = 0; i < n; i += 2) assert.equal(index.add(`c${i}`, 'news/#', { qos: 1 }), false);
  assert.equal(index.match('news/today').subscriptions.length, n);
  // Remove in a scattered order, checking the survivors as the list shrinks past its Map.
  for (let i = 0; i < n; i++) {
    const c = (i * 7919) % n;
    assert.equal(index.remove(`c${c}`, 'news/#'), true);
    if (i % 250 === 0 || i > n - 20) {
      assert.equal(index.match('news/today').subscriptions.length, n - i - 1);
      if (i + 1 < n) assert.deepEqual(index.get(`c${(7919 * (i + 1)) % n}`, 'news/#')?.qos, ((7919 * (i + 1)) % n) % 2 === 0 ? 1 : 0);
    }
  }
  assert.equal(index.nodeCount, 0);
});

test('shared subscriptions are returned once per group with all members [MQTT-4.8.2-1]', () => {
  const index = new SubscriptionIndex<Opts>();
  index.add('c1', '$share/g/sensors/+', { qos: 1 });
  index.add('c2', '$share/g/sensors/+', { qos: 2 });
  index.add('c3', '$share/h/sensors/+', { qos: 0 });
  index.add('c1', '$share/g/sensors/#', { qos: 0 });
  index.add('c1', 'sensors/+', { qos: 0 });
  assert.equal(index.size, 5);
  assert.deepEqual(groups(index, 'sensors/t1'), ['g sensors/#: c1@0', 'g sensors/+: c1@1,c2@2', 'h sensors/+: c3@0']);
  assert.deepEqual(subs(index, 'sensors/t1'), ['c1 sensors/+ 0']);
  assert.deepEqual(groups(index, 'sensors'), ['g sensors/#: c1@0']);
});

test('a member re-subscribing to its group replaces its options [MQTT-3.8.4-3]', () => {
  const index = new SubscriptionIndex<Opts>();
  assert.equal(index.add('c1', '$share/g/a', { qos: 0 }), true);
  assert.equal(index.add('c1', '$share/g/a', { qos: 2 }), false);
  assert.equal(index.add('c1', '$share/h/a', { qos: 1 }), true);
  assert.deepEqual(groups(index, 'a'), ['g a: c1@2', 'h a: c1@1']);
  assert.deepEqual(index.get('c1', '$share/g/a'), { qos: 2 });
  assert.equal(index.get('c1', 'a'), undefined);
  assert.equal(index.get('c2', '$share/g/a'), undefined);
});

test('leaving a shared group removes the member, then the group', () => {
  const index = new SubscriptionIndex<Opts>();
  index.add('c1', '$share/g/a/+', { qos: 0 });
  index.add('c2', '$share/g/a/+', { qos: 0 });
  assert.equal(index.remove('c1', 'a/+'), false);
  assert.equal(index.remove('c1', '$share/other/a/+'), false);
  assert.equal(index.remove('c1', '$share/g/a/+'), true);
  assert.deepEqual(groups(index, 'a/b'), ['g a/+: c2@0']);
  assert.equal(index.remove('c2', '$share/g/a/+'), true);
  assert.deepEqual(groups(index, 'a/b'), []);
  assert.equal(index.nodeCount, 0);
});

test('add rejects an invalid filter instead of storing it [MQTT-4.7.1-1] [MQTT-4.8.2-2]', () => {
  const index = new SubscriptionIndex<Opts>();
  for (const f of ['', 'a/#/b', 'a+', '$share/g', '$share//a', '$share/g+/a']) {
    assert.throws(() => index.add('c', f, { qos: 0 }), RangeError, f);
  }
  assert.equal(index.size, 0);
  assert.equal(index.nodeCount, 0);
});

test('a reused MatchResult is overwritten, not appended to', () => {
  const index = new SubscriptionIndex<Opts>();
  index.add('c1', 'a/#', { qos: 0 });
  index.add('c2', 'a/b', { qos: 0 });
  index.add('c3', '$share/g/a/b', { qos: 0 });
  const result = new MatchResult<Opts>();
  assert.equal(index.match('a/b', result), result);
  assert.equal(result.subscriptions.length, 2);
  assert.equal(result.groups.length, 1);
  index.match('a/c', result);
  assert.deepEqual(
    result.subscriptions.map((s) => s.clientId),
    ['c1'],
  );
  assert.equal(result.groups.length, 0);
  index.match('zzz', result);
  assert.equal(result.subscriptions.length, 0);
  assert.equal(result.clear().subscriptions.length, 0);
});

test('a visitor may match again while it is being called', () => {
  const index = new SubscriptionIndex<Opts>();
  index.add('c1', 'a/+', { qos: 0 });
  index.add('c2', 'b/#', { qos: 0 });
  index.add('c3', 'a/x', { qos: 0 });
  const seen: string[] = [];
  const visitor: MatchVisitor<Opts> = {
    onSubscription(sub: Subscription<Opts>): void {
      seen.push(`${sub.clientId}`);
      if (sub.clientId === 'c1') seen.push(...subs(index, 'b/y/z').map((s) => `inner ${s}`));
    },
    onSharedGroup(_group: SharedGroup<Opts>): void {},
  };
  index.forEachMatch('a/x', visitor);
  assert.deepEqual(seen.sort(), ['c1', 'c3', 'inner c2 b/# 0']);
});

/** Finds two different strings the hash function maps to the same value (birthday search). */
function collision(hash: (s: string) => number, make: (i: number) => string): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const s = make(i);
    const h = hash(s);
    const other = seen.get(h);
    if (other !== undefined) return [other, s];
    seen.set(h, s);
  }
}

for (const [shapeLimit, how] of [[0, 'walked'], [undefined, 'probed by shape']] as const) {
test(`levels whose hashes collide are kept apart (${how})`, () => {
  const [x, y] = collision((s) => levelHash(s, 0, s.length), (i) => `l${i}`);
  assert.notEqual(x, y);
  const index = new SubscriptionIndex<Opts>({ shapeLimit });
  index.add('c1', `${x}/+`, { qos: 0 });
  index.add('c2', `${y}/+`, { qos: 0 });
  index.add('c3', `${x}/#`, { qos: 0 });
  index.add('c4', `+/${y}/#`, { qos: 0 });
  index.add('c5', `+/${x}`, { qos: 0 });
  assert.deepEqual(subs(index, `${x}/1`), [`c1 ${x}/+ 0`, `c3 ${x}/# 0`]);
  assert.deepEqual(subs(index, `${y}/1`), [`c2 ${y}/+ 0`]);
  assert.deepEqual(subs(index, `q/${y}`), [`c4 +/${y}/# 0`]);
  assert.deepEqual(subs(index, `q/${x}`), [`c5 +/${x} 0`]);
  assert.deepEqual(index.get('c2', `${y}/+`), { qos: 0 });
  assert.equal(index.remove('c1', `${x}/+`), true);
  assert.deepEqual(subs(index, `${y}/1`), [`c2 ${y}/+ 0`]);
  assert.equal(index.remove('c2', `${y}/+`), true);
  assert.deepEqual(subs(index, `${x}/1`), [`c3 ${x}/# 0`]);
  for (const [c, f] of [['c3', `${x}/#`], ['c4', `+/${y}/#`], ['c5', `+/${x}`]]) assert.equal(index.remove(c, f), true);
  assert.equal(index.nodeCount, 0);
});
}

test('a `+` level changes the path keys below it: `a/+/b` and `a/b` do not share a key', () => {
  const key = (levels: number[]): number => levels.reduce((k, level) => pathKey(k, level), ROOT_KEY);
  const b = levelHash('b', 0, 1);
  let shared = 0;
  for (let i = 0; i < 1000; i++) {
    const a = levelHash(`a${i}`, 0, `a${i}`.length);
    if (key([a, PLUS_KEY, b]) === key([a, b]) || key([a, PLUS_KEY, PLUS_KEY]) === key([a, PLUS_KEY])) shared++;
  }
  assert.equal(shared, 0);
});

/**
 * Finds levels a and b for which the trie nodes `a/+/c` and `+/b/c` get the same path key,
 * so the shapes `.+.` and `+..` both probe that key for the topic `a/b/c` (birthday search
 * over the path keys' 30 bits).
 */
function pathKeyCollision(prefix: string): [string, string] {
  const key = (levels: number[]): number => levels.reduce((k, level) => pathKey(k, level), ROOT_KEY);
  const hash = (s: string): number => levelHash(s, 0, s.length);
  const c = hash('c');
  const seen = new Map<number, string>();
  for (let i = 0; i < 1 << 16; i++) seen.set(key([hash(`${prefix}${i}`), PLUS_KEY, c]), `${prefix}${i}`);
  for (let j = 0; j < 1 << 22; j++) {
    const a = seen.get(key([PLUS_KEY, hash(`b${j}`), c]));
    if (a !== undefined) return [a, `b${j}`];
  }
  throw new Error('no collision found');
}

test('a node that two shapes reach through colliding path keys is matched once, and only if its filter matches', () => {
  const [a, b] = pathKeyCollision('a');
  const index = new SubscriptionIndex<Opts>();
  index.add('c1', `${a}/+/c`, { qos: 0 });
  index.add('c2', `+/${b}/c`, { qos: 1 });
  // Both shapes probe the one key and find both nodes; each is emitted once.
  assert.deepEqual(subs(index, `${a}/${b}/c`), [`c1 ${a}/+/c 0`, `c2 +/${b}/c 1`]);
  // Only `+..` probes that key here, and finds `a/+/c` too, whose filter does not match.
  assert.deepEqual(subs(index, `x/${b}/c`), [`c2 +/${b}/c 1`]);
  assert.deepEqual(subs(index, `${a}/x/c`), [`c1 ${a}/+/c 0`]);
});

test('a node with a leading wildcard that a colliding path key brings in does not match a $ topic [MQTT-4.7.2-1]', () => {
  const [a, b] = pathKeyCollision('$a');
  const index = new SubscriptionIndex<Opts>();
  index.add('c1', `${a}/+/c`, { qos: 0 });
  index.add('c2', `+/${b}/c`, { qos: 1 });
  // `+..` is not probed for a $ topic, but `.+.` probes the same key and finds `+/b/c` too.
  assert.deepEqual(subs(index, `${a}/${b}/c`), [`c1 ${a}/+/c 0`]);
  assert.deepEqual(subs(index, `x/${b}/c`), [`c2 +/${b}/c 1`]);
});

test('exact filters whose hashes collide are kept apart', () => {
  const [x, y] = collision(topicHash, (i) => `t/${i}`);
  const index = new SubscriptionIndex<Opts>();
  index.add('c1', x, { qos: 0 });
  index.add('c2', y, { qos: 1 });
  index.add('c3', `$share/g/${y}`, { qos: 2 });
  assert.deepEqual(subs(index, x), [`c1 ${x} 0`]);
  assert.deepEqual(subs(index, y), [`c2 ${y} 1`]);
  assert.deepEqual(groups(index, y), [`g ${y}: c3@2`]);
  assert.equal(index.remove('c1', x), true);
  assert.deepEqual(subs(index, y), [`c2 ${y} 1`]);
  assert.equal(index.remove('c2', y), true);
  assert.equal(index.remove('c3', `$share/g/${y}`), true);
  assert.equal(index.nodeCount, 0);
});

test('a deep chain of wildcard levels matches level by level and does not pile into one probe run', () => {
  const index = new SubscriptionIndex<Opts>();
  const depth = 128; // the default limits.maxTopicLevels
  for (let n = 1; n <= depth; n++) {
    index.add('c', Array(n).fill('+').join('/'), { qos: 0 });
    index.add('c', [...Array(n - 1).fill('+'), '#'].join('/'), { qos: 0 });
  }
  for (const n of [1, 2, 64, 127, 128]) {
    const topic = Array.from({ length: n }, (_, i) => `l${i}`).join('/');
    // `+`×n, and `#` after 0..n-1 pluses (`#` also matches the parent level: n + 1 of them, capped by depth).
    const hashes = Math.min(n + 1, depth);
    assert.equal(index.match(topic).subscriptions.length, 1 + hashes, `depth ${n}`);
  }
  // Each wildcard node's slot goes where its own key puts it, so the chain spreads out.
  const slots = (index as unknown as { edges: { slots: Int32Array } }).edges.slots;
  let longest = 0;
  for (let at = 0, run = 0; at < slots.length; at += 4) {
    run = slots[at] === 0 ? 0 : run + 1;
    longest = Math.max(longest, run);
  }
  assert.ok(longest < 40, `longest probe run ${longest} slots`);
});
