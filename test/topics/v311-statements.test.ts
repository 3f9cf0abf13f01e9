// The topic rules of MQTT 3.1.1 section 4.7, under their 3.1.1 statement ids (5.0 numbers
// the same rules differently; the other files in this folder cite the 5.0 ids).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubscriptionIndex, topicMatches, validateTopicFilter, validateTopicName } from '../../src/topics/index.js';

test('3.1.1: wildcards may be used in topic filters but not in topic names [MQTT-4.7.1-1]', () => {
  assert.equal(validateTopicFilter('sport/+/player1/#'), undefined);
  assert.notEqual(validateTopicName('sport/+/player1'), undefined);
  assert.notEqual(validateTopicName('sport/#'), undefined);
});

test('3.1.1: # stands alone or after a separator and is the last character [MQTT-4.7.1-2]', () => {
  for (const ok of ['#', 'sport/#', 'sport/tennis/#']) assert.equal(validateTopicFilter(ok), undefined, ok);
  for (const bad of ['sport/tennis#', 'sport/#/ranking', 'sport#']) assert.notEqual(validateTopicFilter(bad), undefined, bad);
  assert.ok(topicMatches('sport/#', 'sport'));
});

test('3.1.1: + occupies a whole level [MQTT-4.7.1-3]', () => {
  for (const ok of ['+', '+/tennis/#', 'sport/+/player1', '/+']) assert.equal(validateTopicFilter(ok), undefined, ok);
  assert.notEqual(validateTopicFilter('sport+'), undefined);
  assert.ok(topicMatches('sport/+', 'sport/'));
  assert.ok(!topicMatches('sport/+', 'sport'));
});

test('3.1.1: filters starting with a wildcard do not match topic names starting with $ [MQTT-4.7.2-1]', () => {
  const index = new SubscriptionIndex<number>();
  index.add('c', '#', 1);
  index.add('c', '+/monitor/Clients', 2);
  index.add('c', '$SYS/#', 3);
  const got = index.match('$SYS/monitor/Clients').subscriptions.map((s) => s.value);
  assert.deepEqual(got, [3]);
});

test('3.1.1: matching compares topics exactly, without normalizing or substituting characters [MQTT-4.7.3-4]', () => {
  // U+00C5 (precomposed) and A + U+030A (combining ring) look alike but are different topics.
  assert.ok(!topicMatches('caf\u00e9/+', 'cafe\u0301/x'));
  assert.ok(topicMatches('caf\u00e9/+', 'caf\u00e9/x'));
  assert.ok(!topicMatches('ACCOUNTS', 'Accounts'));
});
