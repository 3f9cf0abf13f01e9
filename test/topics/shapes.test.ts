// The shapes registry: which filter shapes a topic of a given depth is matched through.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Shapes } from '../../src/topics/shapes.js';
import type { Shape } from '../../src/topics/shapes.js';
import { HASH_KEY, PLUS_KEY } from '../../src/topics/trie.js';
import { levelHash } from '../../src/topics/hashing.js';

/** A filter's level keys from the root, as the index passes them (the root's own at 0). */
const path = (filter: string): number[] => [
  0,
  ...filter.split('/').map((l) => (l === '+' ? PLUS_KEY : l === '#' ? HASH_KEY : levelHash(l, 0, l.length))),
];

/** A shape written back as one character per level. */
const name = (shape: Shape): string =>
  [...shape.kinds].map((k) => (k === PLUS_KEY ? '+' : k === HASH_KEY ? '#' : '.')).join('');
const names = (shapes: readonly Shape[] | undefined): string[] | undefined => shapes?.map(name).sort();

test('a topic of d levels is matched through the shapes of d levels and the # shapes with at most d levels before the # [MQTT-4.7.1-1]', () => {
  const shapes = new Shapes();
  for (const f of ['a/+', '+/b', 'a/+/c', '#', 'a/#', 'a/b/#', 'a/b/c/#', '+/+/+/+']) shapes.add(path(f));
  assert.deepEqual(names(shapes.forTopic(1, false)), ['#', '.#']);
  assert.deepEqual(names(shapes.forTopic(2, false)), ['#', '+.', '.#', '.+', '..#']);
  assert.deepEqual(names(shapes.forTopic(3, false)), ['#', '.#', '.+.', '..#', '...#']);
  assert.deepEqual(names(shapes.forTopic(4, false)), ['#', '++++', '.#', '..#', '...#']);
  assert.deepEqual(names(shapes.forTopic(9, false)), ['#', '.#', '..#', '...#']);
});

test('shapes starting with a wildcard are left out for topics starting with $ [MQTT-4.7.2-1]', () => {
  const shapes = new Shapes();
  for (const f of ['+/b', 'a/+', '#', '+/#', 'a/#']) shapes.add(path(f));
  assert.deepEqual(names(shapes.forTopic(2, true)), ['.#', '.+']);
  assert.deepEqual(names(shapes.forTopic(2, false)), ['#', '+#', '+.', '.#', '.+']);
});

test('a shape stays while any node of it holds subscriptions, and the lists follow', () => {
  const shapes = new Shapes();
  shapes.add(path('a/+'));
  shapes.add(path('b/+'));
  assert.deepEqual(names(shapes.forTopic(2, false)), ['.+']);
  shapes.remove(path('a/+'));
  assert.deepEqual(names(shapes.forTopic(2, false)), ['.+']);
  shapes.remove(path('b/+'));
  assert.deepEqual(names(shapes.forTopic(2, false)), []);
  shapes.add(path('+/c'));
  assert.deepEqual(names(shapes.forTopic(2, false)), ['+.']);
});

test('a topic that more than the limit of shapes may match is walked', () => {
  const shapes = new Shapes(3);
  for (const f of ['+/a/a', 'a/+/a', 'a/a/+']) shapes.add(path(f));
  assert.equal(shapes.forTopic(3, false)?.length, 3);
  shapes.add(path('#'));
  assert.equal(shapes.forTopic(3, false), undefined);
  // `#` is the one that does not fit for $ topics, which leave it out.
  assert.equal(shapes.forTopic(3, true)?.length, 2);
  shapes.remove(path('#'));
  assert.equal(shapes.forTopic(3, false)?.length, 3);
  assert.equal(new Shapes(0).forTopic(3, false)?.length, 0);
  const none = new Shapes(0);
  none.add(path('a/+/a'));
  assert.equal(none.forTopic(3, false), undefined);
  // Topics deeper than the cached depths are always walked.
  assert.equal(shapes.forTopic(1000, false), undefined);
});
