import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TOPIC_BYTES, validateTopicFilter, validateTopicName } from '../../src/topics/index.js';

const valid = (reason: string | undefined): void => assert.equal(reason, undefined);
const invalid = (reason: string | undefined, mentions: string): void => {
  assert.equal(typeof reason, 'string');
  assert.ok(reason!.includes(mentions), `${reason} should mention ${mentions}`);
};

test('topic names of one or more characters are valid, empty levels included', () => {
  for (const t of ['a', '/', '//', 'a/b/c', '/a', 'a/', 'a//b', ' ', '$SYS/broker/load', 'sport/tennis/player1', 'ümlaut/日本/🙂']) {
    valid(validateTopicName(t));
  }
});

test('an empty topic name is invalid [MQTT-4.7.3-1]', () => {
  invalid(validateTopicName(''), 'MQTT-4.7.3-1');
});

test('a topic name with + or # is invalid [MQTT-3.3.2-2] [MQTT-4.7.0-1]', () => {
  for (const t of ['+', '#', 'a/+', 'a/#', 'a+b', 'sport/tennis#', '+/x']) invalid(validateTopicName(t), 'MQTT-3.3.2-2');
});

test('a topic name or filter with U+0000 is invalid [MQTT-4.7.3-2]', () => {
  invalid(validateTopicName('a\u0000b'), 'MQTT-4.7.3-2');
  invalid(validateTopicFilter('a/\u0000/#'), 'MQTT-4.7.3-2');
});

test('a lone UTF-16 surrogate cannot be encoded as UTF-8 and is invalid [MQTT-1.5.4-1]', () => {
  invalid(validateTopicName('a\ud800'), 'MQTT-1.5.4-1');
  invalid(validateTopicName('\udc00b'), 'MQTT-1.5.4-1');
  invalid(validateTopicFilter('x/\ud800/#'), 'MQTT-1.5.4-1');
  valid(validateTopicName('a\ud83d\ude42'));
});

test('topic names and filters may be 65535 UTF-8 bytes, not more [MQTT-4.7.3-3]', () => {
  valid(validateTopicName('a'.repeat(MAX_TOPIC_BYTES)));
  invalid(validateTopicName('a'.repeat(MAX_TOPIC_BYTES + 1)), 'MQTT-4.7.3-3');
  valid(validateTopicFilter('a'.repeat(MAX_TOPIC_BYTES - 2) + '/#'));
  invalid(validateTopicFilter('a'.repeat(MAX_TOPIC_BYTES) + '/#'), 'MQTT-4.7.3-3');
  // The bound is in bytes: 21,846 three-byte characters are 65,538 bytes.
  valid(validateTopicName('€'.repeat(21845)));
  invalid(validateTopicName('€'.repeat(21846)), 'MQTT-4.7.3-3');
  // A surrogate pair is 2 UTF-16 units and 4 UTF-8 bytes.
  valid(validateTopicName('🙂'.repeat(16383)));
  invalid(validateTopicName('🙂'.repeat(16384)), 'MQTT-4.7.3-3');
});

test('a configured maximum length counts UTF-8 bytes', () => {
  valid(validateTopicName('ab€', { maxLength: 5 }));
  invalid(validateTopicName('abc€', { maxLength: 5 }), 'configured 5 bytes');
  invalid(validateTopicFilter('abc/#', { maxLength: 4 }), 'configured 4 bytes');
  // A configured bound above the protocol's does not lift it [MQTT-4.7.3-3]
  invalid(validateTopicName('a'.repeat(MAX_TOPIC_BYTES + 1), { maxLength: 1e6 }), 'MQTT-4.7.3-3');
});

test('a configured maximum of levels counts the levels of names and filters', () => {
  valid(validateTopicName('a/b/c', { maxLevels: 3 }));
  invalid(validateTopicName('a/b/c/d', { maxLevels: 3 }), 'more than 3 levels');
  invalid(validateTopicName('a//', { maxLevels: 2 }), 'more than 2 levels');
  valid(validateTopicFilter('a/+/#', { maxLevels: 3 }));
  invalid(validateTopicFilter('a/+/b/#', { maxLevels: 3 }), 'more than 3 levels');
  // For a shared subscription, the levels of the filter after the ShareName count.
  valid(validateTopicFilter('$share/group/a/b/c', { maxLevels: 3 }));
  invalid(validateTopicFilter('$share/group/a/b/c/d', { maxLevels: 3 }), 'more than 3 levels');
});

test('the spec examples of valid topic filters are valid [MQTT-4.7.1-1] [MQTT-4.7.1-2]', () => {
  for (const f of ['sport/tennis/player1/#', 'sport/#', '#', '+', '+/tennis/#', 'sport/+/player1', '+/+', '/+', 'sport/+', '/#', 'a//#', '+/', '$SYS/#']) {
    valid(validateTopicFilter(f));
  }
});

test('# must be alone as the last level of a filter [MQTT-4.7.1-1]', () => {
  for (const f of ['sport/tennis#', 'sport/tennis/#/ranking', '#/', '#/a', 'a/#b', 'a/b#', '##', 'a/##']) {
    invalid(validateTopicFilter(f), 'MQTT-4.7.1-1');
  }
});

test('+ must occupy a whole level of a filter [MQTT-4.7.1-2]', () => {
  for (const f of ['sport+', 'sport/+tennis', '+a', 'a+/b', 'a/b+', '++', 'a/++/b']) {
    invalid(validateTopicFilter(f), 'MQTT-4.7.1-2');
  }
});

test('an empty topic filter is invalid [MQTT-4.7.3-1]', () => {
  invalid(validateTopicFilter(''), 'MQTT-4.7.3-1');
});

test('shared subscription filters are valid with a ShareName and a filter [MQTT-4.8.2-1] [MQTT-4.8.2-2]', () => {
  for (const f of ['$share/g/a', '$share/g/#', '$share/g/+/b/#', '$share/consumer1/sport/tennis/+', '$share/g//', '$share/g/$SYS/#']) {
    valid(validateTopicFilter(f));
  }
});

test('a shared subscription needs a ShareName of at least one character [MQTT-4.8.2-1]', () => {
  invalid(validateTopicFilter('$share//a'), 'MQTT-4.8.2-1');
  invalid(validateTopicFilter('$share'), 'MQTT-4.8.2-1');
});

test('a ShareName holds no "+" or "#" and is followed by "/" and a filter [MQTT-4.8.2-2]', () => {
  invalid(validateTopicFilter('$share/g+/a'), 'MQTT-4.8.2-2');
  invalid(validateTopicFilter('$share/+/a'), 'MQTT-4.8.2-2');
  invalid(validateTopicFilter('$share/#/a'), 'MQTT-4.8.2-2');
  invalid(validateTopicFilter('$share/g'), 'MQTT-4.8.2-2');
  invalid(validateTopicFilter('$share/'), 'MQTT-4.8.2-1');
  invalid(validateTopicFilter('$share/g/'), 'MQTT-4.8.2-2');
});

test('the filter inside a shared subscription follows the wildcard rules [MQTT-4.7.1-1] [MQTT-4.7.1-2]', () => {
  invalid(validateTopicFilter('$share/g/a/#/b'), 'MQTT-4.7.1-1');
  invalid(validateTopicFilter('$share/g/a+'), 'MQTT-4.7.1-2');
});

test('filters that only look like shared subscriptions are ordinary filters', () => {
  valid(validateTopicFilter('$shared/g/a'));
  valid(validateTopicFilter('$SHARE/g/a'));
  valid(validateTopicFilter('a/$share/g'));
});
