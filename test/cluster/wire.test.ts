import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterKeys, decodeMessage, encodeMessage, WireError } from '../../src/cluster/wire.js';
import type { Message } from '../../src/message.js';

test('cluster wire: a message survives encode and decode with every optional part', () => {
  const full: Message = {
    topic: 'a/ü/c',
    payload: Buffer.from([0, 1, 2, 255]),
    qos: 2,
    retain: true,
    expiresAt: 1_800_000_000_123,
    origin: 'dev-1',
    properties: { contentType: 'bin', correlationData: Buffer.from('xyz'), userProperties: [['k', 'v1'], ['k', 'v2']], payloadFormatIndicator: 0 },
  };
  assert.deepEqual(decodeMessage(encodeMessage(full)), full);
  const bare: Message = { topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false };
  assert.deepEqual(decodeMessage(encodeMessage(bare)), bare);
});

test('cluster wire: truncated, unknown-version and QoS 3 records are refused with WireError', () => {
  const b = encodeMessage({ topic: 'topic/name', payload: Buffer.from('p'), qos: 1, retain: false, origin: 'c' });
  assert.throws(() => decodeMessage(b.subarray(0, 3)), WireError);
  assert.throws(() => decodeMessage(b.subarray(0, 8)), WireError);
  const v2 = Buffer.from(b);
  v2[0] = 2;
  assert.throws(() => decodeMessage(v2), /version 2/);
  const q3 = Buffer.from(b);
  q3[1] = q3[1]! | 3;
  assert.throws(() => decodeMessage(q3), /QoS 3/);
});

test('cluster wire: per-client keys share a Redis Cluster hash slot', () => {
  const k = new ClusterKeys('x:');
  assert.equal(k.owner('c1'), 'x:owner:{c1}');
  assert.equal(k.session('c1'), 'x:session:{c1}');
});
