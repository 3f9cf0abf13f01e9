// The spec's own examples (MQTT 5.0 section 4.7) and edge cases, run through both the
// reference matcher and the subscription index.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubscriptionIndex, parseSharedFilter, topicMatches } from '../../src/topics/index.js';

/** [filter, topic, matches]: the spec's examples first, then edge cases. */
const MATCH_CASES: readonly (readonly [string, string, boolean])[] = [
  // 4.7.1.2 Multi-level wildcard
  ['sport/tennis/player1/#', 'sport/tennis/player1', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
  ['sport/#', 'sport', true],
  ['#', 'sport/tennis/player1', true],
  ['#', '/', true],
  // 4.7.1.3 Single-level wildcard
  ['sport/tennis/+', 'sport/tennis/player1', true],
  ['sport/tennis/+', 'sport/tennis/player2', true],
  ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
  ['sport/+', 'sport', false],
  ['sport/+', 'sport/', true],
  ['+/+', '/finance', true],
  ['/+', '/finance', true],
  ['+', '/finance', false],
  ['+/tennis/#', 'sport/tennis/player1', true],
  ['sport/+/player1', 'sport/tennis/player1', true],
  // 4.7.2 Topics beginning with $ [MQTT-4.7.2-1]
  ['#', '$SYS/monitor/Clients', false],
  ['+/monitor/Clients', '$SYS/monitor/Clients', false],
  ['$SYS/#', '$SYS/monitor/Clients', true],
  ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
  ['#', '$SYS', false],
  ['+', '$', false],
  ['a/#', 'a/$b', true],
  ['a/+', 'a/$b', true],
  // Empty levels are levels
  ['a//b', 'a//b', true],
  ['a/+/b', 'a//b', true],
  ['a/b', 'a//b', false],
  ['/#', '/', true],
  ['/#', '/a/b', true],
  ['+/#', '/', true],
  ['a/#', 'a/', true],
  ['a/#', 'ab', false],
  ['a/+', 'a', false],
  ['a/+/#', 'a', false],
  ['a/+/#', 'a/b', true],
  // Exact filters, case and no normalization [MQTT-4.7.3-4]
  ['a/b', 'a/b', true],
  ['a/b', 'A/b', false],
  ['a/b', 'a/b/', false],
  ['a/b/', 'a/b', false],
  ['caf\u00e9', 'cafe\u0301', false],
  ['sport/tennis', 'sport/tennis/player1', false],
  // Shared subscriptions match as the filter after the ShareName
  ['$share/g/sport/#', 'sport/tennis', true],
  ['$share/g/#', '$SYS/x', false],
  ['$share/g/$SYS/#', '$SYS/x', true],
];

test('the spec examples and edge cases of section 4.7 match as the spec says', () => {
  for (const [filter, topic, expected] of MATCH_CASES) {
    assert.equal(topicMatches(filter, topic), expected, `${filter} vs ${topic}`);
  }
});

test('the subscription index agrees with the table, one filter at a time', () => {
  for (const [filter, topic, expected] of MATCH_CASES) {
    const index = new SubscriptionIndex<number>();
    index.add('c', filter, 1);
    const result = index.match(topic);
    const found = result.subscriptions.length + result.groups.length;
    assert.equal(found, expected ? 1 : 0, `${filter} vs ${topic}`);
  }
});

test('the subscription index agrees with the table with every filter in one index', () => {
  const index = new SubscriptionIndex<string>();
  const filters = [...new Set(MATCH_CASES.map(([f]) => f))];
  for (const f of filters) index.add('c', f, f);
  for (const topic of new Set(MATCH_CASES.map(([, t]) => t))) {
    const result = index.match(topic);
    const got = [...result.subscriptions.map((s) => s.value), ...result.groups.map((g) => g.members[0].value)].sort();
    const want = filters.filter((f) => topicMatches(f, topic)).sort();
    assert.deepEqual(got, want, topic);
  }
});

test('# matches its parent level: sport/# matches sport [MQTT-4.7.1-1]', () => {
  assert.equal(topicMatches('sport/#', 'sport'), true);
  assert.equal(topicMatches('sport/tennis/#', 'sport'), false);
});

test('a leading wildcard does not match $SYS topics [MQTT-4.7.2-1]', () => {
  assert.equal(topicMatches('#', '$SYS/broker/uptime'), false);
  assert.equal(topicMatches('+/broker/uptime', '$SYS/broker/uptime'), false);
  assert.equal(topicMatches('$SYS/#', '$SYS/broker/uptime'), true);
});

test('parseSharedFilter splits $share/{ShareName}/{filter} [MQTT-4.8.2-1] [MQTT-4.8.2-2]', () => {
  assert.deepEqual(parseSharedFilter('$share/g1/sport/+/x'), { group: 'g1', filter: 'sport/+/x' });
  assert.deepEqual(parseSharedFilter('$share/g/#'), { group: 'g', filter: '#' });
  assert.deepEqual(parseSharedFilter('$share/g//'), { group: 'g', filter: '/' });
  assert.deepEqual(parseSharedFilter('$share/g/$share/h/x'), { group: 'g', filter: '$share/h/x' });
});

test('parseSharedFilter returns undefined for ordinary and malformed filters', () => {
  for (const f of ['a/b', '#', '$SYS/#', '$shared/g/a', '$share', '$share/', '$share//a', '$share/g', '$share/g/']) {
    assert.equal(parseSharedFilter(f), undefined, f);
  }
});
