// The typed-array tables under the index: growth, shrinking, colliding keys, and node ids
// reused under churn, so a broker whose clients come and go keeps a bounded index.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EdgeTable } from '../../src/topics/edge-table.js';
import { SubscriptionIndex } from '../../src/topics/index.js';
import { mulberry32 } from '../../src/cli/bench/random.js';

/** The index's private tables, for checking their sizes. */
interface Internals {
  readonly exact: EdgeTable;
  readonly edges: EdgeTable;
  readonly entries: readonly unknown[];
  readonly freeIds: readonly number[];
}
const internals = (index: SubscriptionIndex<number>): Internals => index as unknown as Internals;

test('the edge table grows past half full, finds every edge, and shrinks back as edges leave', () => {
  const rand = mulberry32(7);
  const table = new EdgeTable();
  const minSlots = table.slots.length;
  // Random keys, keys shared by several parents, and pairs with the same (parent, key).
  const edges: [number, number, number][] = [];
  for (let child = 1; child <= 20_000; child++) {
    const parent = Math.floor(rand() * 500);
    const fresh = child % 10 === 5 ? edges[edges.length - 1][1] : Math.floor(rand() * 0x7fffffff);
    const key = child % 10 === 0 ? edges[edges.length - 1][1] : fresh;
    const p = child % 10 === 0 ? edges[edges.length - 1][0] : parent;
    table.insert(p, key, child, child * 3);
    edges.push([p, key, child]);
  }
  assert.equal(table.count, edges.length);
  assert.ok(table.slots.length / 4 >= edges.length * 2, 'at most half full');
  const check = (live: [number, number, number][]): void => {
    for (const [p, key, child] of live) {
      const at = table.find(p, key, child);
      assert.ok(at >= 0, `edge ${p} ${key} -> ${child}`);
      assert.equal(table.slots[at + 3], child * 3);
    }
  };
  check(edges);
  // Remove in random order; the rest stay reachable through every backward shift.
  for (let i = edges.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [edges[i], edges[j]] = [edges[j], edges[i]];
  }
  const peak = table.slots.length;
  const gone = edges.splice(0, 19_000);
  for (const [p, key, child] of gone) table.delete(table.find(p, key, child));
  assert.equal(table.count, 1000);
  assert.ok(table.slots.length < peak / 4, `shrunk from ${peak} to ${table.slots.length}`);
  check(edges);
  for (const [p, key, child] of gone) assert.equal(table.find(p, key, child), -1);
  for (const [p, key, child] of edges) table.delete(table.find(p, key, child));
  assert.equal(table.count, 0);
  assert.equal(table.slots.length, minSlots);
  assert.ok(table.slots.every((v) => v === 0));
});

test('node ids are reused under churn, so neither the tables nor the id space grow', () => {
  const index = new SubscriptionIndex<number>();
  for (let i = 0; i < 500; i++) index.add(`c${i}`, `s/${i % 13}/d/${i}/+`, i);
  for (let i = 0; i < 500; i++) index.add(`c${i}`, `s/${i % 13}/d/${i}`, i);
  const base = index.nodeCount;
  let ids = 0;
  let edgeSlots = 0;
  let exactSlots = 0;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 1000; i++) {
      index.add(`t${i}`, `tmp/${round}/${i % 37}/${i}/#`, i);
      index.add(`t${i}`, `tmp/${round}/+/${i}`, i);
      index.add(`t${i}`, `tmp/${round}/exact/${i}`, i);
    }
    if (round === 0) {
      ids = internals(index).entries.length;
      edgeSlots = internals(index).edges.slots.length;
      exactSlots = internals(index).exact.slots.length;
    }
    for (let i = 0; i < 1000; i++) {
      assert.equal(index.remove(`t${i}`, `tmp/${round}/${i % 37}/${i}/#`), true);
      assert.equal(index.remove(`t${i}`, `tmp/${round}/+/${i}`), true);
      assert.equal(index.remove(`t${i}`, `tmp/${round}/exact/${i}`), true);
    }
    assert.equal(index.nodeCount, base);
  }
  assert.equal(internals(index).entries.length, ids, 'no id was allocated after the first round');
  assert.ok(internals(index).edges.slots.length <= edgeSlots);
  assert.ok(internals(index).exact.slots.length <= exactSlots);
  assert.equal(internals(index).freeIds.length, ids - 1 - base);
  assert.equal(index.size, 1000);
  assert.deepEqual(
    index.match('s/3/d/16/x').subscriptions.map((s) => s.filter),
    ['s/3/d/16/+'],
  );
});

test('a node with many children keeps matching as they are added and removed', () => {
  const index = new SubscriptionIndex<number>();
  // Children of `a` one by one, `+` and `#` beside them.
  for (let i = 0; i < 40; i++) {
    index.add('c', `a/${i}/+`, i);
    index.add('c', `a/+/${i}`, i);
    index.add('d', `a/#`, i);
    for (let j = 0; j <= i; j++) {
      const found = index.match(`a/${j}/${j}`).subscriptions.map((s) => s.filter).sort();
      assert.deepEqual(found, ['a/#', `a/${j}/+`, `a/+/${j}`].sort(), `after ${i}, topic a/${j}/${j}`);
    }
  }
  for (let i = 0; i < 40; i++) {
    assert.equal(index.remove('c', `a/${i}/+`), true);
    assert.deepEqual(index.match(`a/${i}/x`).subscriptions.map((s) => s.filter), ['a/#']);
    if (i + 1 < 40) assert.equal(index.match(`a/${i + 1}/x`).subscriptions.length, 2);
  }
  for (let i = 0; i < 40; i++) assert.equal(index.remove('c', `a/+/${i}`), true);
  assert.equal(index.remove('d', 'a/#'), true);
  assert.equal(index.nodeCount, 0);
  // Reused ids start empty.
  index.add('c', 'a/b/+', 1);
  assert.deepEqual(index.match('a/b/c').subscriptions.map((s) => s.value), [1]);
});
