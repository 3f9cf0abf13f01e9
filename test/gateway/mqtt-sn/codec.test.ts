// Every valid fixture decodes to its message and encodes back to its bytes; every malformed
// fixture is refused with an MqttSnError carrying the expected reason; and encode refuses the
// messages decode would refuse.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode, encode, MqttSnError, type MqttSnReason } from '../../../src/gateway/mqtt-sn/codec.js';
import type { Datagram } from '../../../src/gateway/mqtt-sn/types.js';
import { MALFORMED, VALID } from './fixtures.js';

function assertMqttSnError(fn: () => unknown, reason: MqttSnReason, what: string, section?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown !== undefined, `${what}: no error thrown`);
  assert.ok(thrown instanceof MqttSnError, `${what}: threw ${String(thrown)}, not an MqttSnError`);
  assert.equal(thrown.reason, reason, `${what}: wrong reason (${thrown.message})`);
  assert.match(thrown.section, /^5\.\d/, `${what}: no spec section`);
  if (section !== undefined) assert.equal(thrown.section, section, `${what}: wrong section (${thrown.message})`);
}

describe('MQTT-SN codec: valid datagrams', () => {
  for (const c of VALID) {
    test(`${c.name} [${c.section}]`, () => {
      assert.deepEqual(decode(c.bytes), c.message);
      if (!c.decodeOnly) assert.equal(encode(c.message).toString('hex'), c.bytes.toString('hex'));
      // Whatever the form on the wire, what we write decodes to the same message.
      assert.deepEqual(decode(encode(c.message)), c.message);
    });
  }

  test('every message type of 5.4 and the encapsulation of 5.5 is in the table', () => {
    const types = new Set(VALID.map((c) => c.message.type));
    assert.equal(types.size, 28);
  });
});

describe('MQTT-SN codec: malformed datagrams', () => {
  for (const c of MALFORMED) {
    test(`${c.name} [${c.section}] -> ${c.reason}`, () => {
      assertMqttSnError(() => decode(c.bytes), c.reason, c.name, c.section);
    });
  }
});

const connect = { type: 'connect', will: false, cleanSession: true, duration: 60 } as const;
const BAD_MESSAGES: Array<{ name: string; message: Datagram; reason: MqttSnReason }> = [
  { name: 'CONNECT with empty ClientId', message: { ...connect, clientId: '' }, reason: 'empty-client-id' },
  { name: 'CONNECT with 24-octet ClientId', message: { ...connect, clientId: 'x'.repeat(24) }, reason: 'client-id-too-long' },
  { name: 'CONNECT with 12 two-octet characters', message: { ...connect, clientId: 'é'.repeat(12) }, reason: 'client-id-too-long' },
  { name: 'REGISTER topic name with a lone surrogate', message: { type: 'register', topicId: 0, msgId: 1, topicName: 'a\ud800' }, reason: 'bad-utf8' },
  { name: 'PINGREQ with empty ClientId', message: { type: 'pingreq', clientId: '' }, reason: 'empty-client-id' },
  {
    name: 'PUBLISH short topic name of 3 octets',
    message: { type: 'publish', dup: false, qos: 0, retain: false, topic: { type: 'short', name: 'abc' }, msgId: 0, payload: Buffer.alloc(0) },
    reason: 'short-topic-length',
  },
  { name: 'SUBSCRIBE short topic name of 1 octet', message: { type: 'subscribe', dup: false, qos: 0, msgId: 1, topic: { type: 'short', name: 'a' } }, reason: 'short-topic-length' },
  { name: 'SUBSCRIBE QoS -1', message: { type: 'subscribe', dup: false, qos: -1 as 0, msgId: 1, topic: { type: 'normal', name: 'a' } }, reason: 'bad-flags' },
  { name: 'SUBSCRIBE TopicIdType reserved', message: { type: 'subscribe', dup: false, qos: 0, msgId: 1, topic: { type: 'reserved' as 'normal', name: 'a' } }, reason: 'bad-flags' },
  {
    name: 'PUBLISH QoS 3',
    message: { type: 'publish', dup: false, qos: 3 as 0, retain: false, topic: { type: 'normal', id: 1 }, msgId: 0, payload: Buffer.alloc(0) },
    reason: 'bad-flags',
  },
  { name: 'CONNACK ReturnCode 4', message: { type: 'connack', returnCode: 4 as 0 }, reason: 'bad-return-code' },
  { name: 'PUBREC MsgId 65536', message: { type: 'pubrec', msgId: 65536 }, reason: 'bad-field' },
  { name: 'unknown type', message: { type: 'auth' } as unknown as Datagram, reason: 'unknown-type' },
  {
    name: 'PUBLISH over 65535 octets',
    message: { type: 'publish', dup: false, qos: 0, retain: false, topic: { type: 'normal', id: 1 }, msgId: 0, payload: Buffer.alloc(65535 - 8) },
    reason: 'bad-length',
  },
  {
    name: 'encapsulation inside an encapsulation',
    message: {
      type: 'encapsulated',
      radius: 0,
      wirelessNodeId: Buffer.from([1]),
      message: { type: 'encapsulated', radius: 0, wirelessNodeId: Buffer.from([1]), message: { type: 'pingresp' } } as unknown as Datagram & { type: 'pingresp' },
    },
    reason: 'nested-encapsulation',
  },
];

describe('MQTT-SN codec: encode refuses what decode refuses', () => {
  for (const c of BAD_MESSAGES) {
    test(c.name, () => assertMqttSnError(() => encode(c.message), c.reason, c.name));
  }

  test('the longest message, 65535 octets, encodes and decodes', () => {
    const m: Datagram = { type: 'publish', dup: false, qos: 0, retain: false, topic: { type: 'normal', id: 1 }, msgId: 0, payload: Buffer.alloc(65535 - 9) };
    const bytes = encode(m);
    assert.equal(bytes.length, 65535);
    assert.deepEqual(decode(bytes), m);
  });
});
