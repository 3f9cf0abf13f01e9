// Cluster members as the `starling` command makes them with `persistence.store: redis`: the
// Redis store and cluster sessions on every member, routing between them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import type { Message } from '../../src/index.js';
import { storeMember } from './nodes.js';
import { startRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

test('cluster members with the Redis store: a QoS 1 publish on A is acknowledged and reaches a subscriber on B', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await storeMember(t, redis.url, 'rs-a');
  const b = await storeMember(t, redis.url, 'rs-b');
  // A persistent subscriber (its session in the Redis store) and a 3.1.1 clean-session publisher.
  const sub = await mqtt.connectAsync(b.url, { clientId: 'rs-sub', reconnectPeriod: 0, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } });
  const pub = await mqtt.connectAsync(a.url, { clientId: 'rs-pub', reconnectPeriod: 0, protocolVersion: 4, clean: true });
  try {
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(String(p)));
    await sub.subscribeAsync('rs/#', { qos: 1 });
    await until(
      'a QoS 1 publish on A is acknowledged and arrives on B',
      async () => {
        await Promise.race([pub.publishAsync('rs/x', 'hello', { qos: 1 }), new Promise((_, reject) => setTimeout(() => reject(new Error('no PUBACK within 5 s')), 5000))]);
        return got.includes('hello');
      },
      20_000,
    );
    assert.ok(got.includes('hello'));
  } finally {
    await pub.endAsync(true);
    await sub.endAsync(true);
  }
});

test('cluster members with the Redis store: an in-process client (a bridge\'s local side) is taken over from A to B with its subscription and queued messages, once', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await storeMember(t, redis.url, 'ip-a');
  const b = await storeMember(t, redis.url, 'ip-b');
  const closedOnA: number[] = [];
  const onA = await a.broker.client({ clientId: 'ip-bridge', clean: false, sessionExpiry: 300, onClose: (code) => closedOnA.push(code) });
  await onA.subscribe('ip/#', () => {}, { qos: 1 });
  await onA.close();
  // Queued in the offline session on A, in the Redis store.
  const pub = await mqtt.connectAsync(a.url, { clientId: 'ip-pub', reconnectPeriod: 0, protocolVersion: 5 });
  t.after(() => pub.endAsync(true));
  for (let i = 0; i < 5; i++) await pub.publishAsync('ip/x', String(i), { qos: 1 });
  await until('queued on A', () => a.broker.sessions.get('ip-bridge')?.queued === 5);
  // The lease moved to B: the same client id opens there and finds its session.
  const got: string[] = [];
  const onB = await b.broker.client({ clientId: 'ip-bridge', clean: false, sessionExpiry: 300, onMessage: (m: Message) => void got.push(String(m.payload)) });
  t.after(() => onB.close());
  await until('the queued messages on B', () => got.length === 5);
  assert.deepEqual(got, ['0', '1', '2', '3', '4']);
  assert.equal(a.broker.sessions.get('ip-bridge'), undefined, 'A let the session go');
  assert.equal(a.sessions.stats.givenAway, 1);
  // New messages now route to B only, and are delivered once.
  await pub.publishAsync('ip/x', 'after', { qos: 1 });
  await until('the new message on B', () => got.includes('after'));
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(got, ['0', '1', '2', '3', '4', 'after']);
});
