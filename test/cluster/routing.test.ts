// Routing across cluster members (docs/clustering.md): three brokers on one real Redis.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis } from '../helpers/redis.js';
import { real } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';
import { member, type Member } from './nodes.js';

async function three(t: import('node:test').TestContext, url: string): Promise<[Member, Member, Member]> {
  return [await member(t, url, 'a'), await member(t, url, 'b'), await member(t, url, 'c')];
}

test('cluster 1: publish on A reaches subscribers on B and C at the QoS they asked, and back from B to A', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const [a, b, c] = await three(t, redis.url);
  const onB = await real(t, b, { clientId: 'sub-b' });
  const onC = await real(t, c, { clientId: 'sub-c' });
  const onA = await real(t, a, { clientId: 'sub-a' });
  await onB.subscribeAsync('x/#', { qos: 1 });
  await onC.subscribeAsync('x/+/z', { qos: 0 });
  await onA.subscribeAsync('back', { qos: 2 });
  const got: string[] = [];
  onB.on('message', (topic, payload, p) => got.push(`b ${topic} ${payload} q${p.qos}`));
  onC.on('message', (topic, payload, p) => got.push(`c ${topic} ${payload} q${p.qos}`));
  onA.on('message', (topic, payload, p) => got.push(`a ${topic} ${payload} q${p.qos}`));
  await until('A knows the filters of B and C', () => a.broker.cluster.router.remoteRoutes === 2);
  await until('B knows the filters of A and C', () => b.broker.cluster.router.remoteRoutes === 2);
  const pub = await real(t, a, { clientId: 'pub-a' });
  await pub.publishAsync('x/y/z', 'one', { qos: 1 });
  await pub.publishAsync('x/q', 'two', { qos: 0 });
  const pubB = await real(t, b, { clientId: 'pub-b' });
  await pubB.publishAsync('back', 'three', { qos: 2 });
  await until('every copy', () => got.length >= 4);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(got.sort(), ['a back three q2', 'b x/q two q0', 'b x/y/z one q1', 'c x/y/z one q0']);
  assert.equal(a.broker.cluster.router.stats.forwardedMessages, 3, 'x/y/z to B and C, x/q to B: one copy per node');
});

test('cluster 1: traffic between clients of one node never touches Redis; a forwarded message is not forwarded again', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const [a, b] = [await member(t, redis.url, 'a'), await member(t, redis.url, 'b')];
  const subA = await real(t, a, { clientId: 'sa' });
  await subA.subscribeAsync('local/#', { qos: 1 });
  const subB = await real(t, b, { clientId: 'sb' });
  await subB.subscribeAsync('remote/#', { qos: 1 });
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  await until('B knows A', () => b.broker.cluster.router.remoteRoutes === 1);
  const got: string[] = [];
  subA.on('message', (topic) => got.push(topic));
  subB.on('message', (topic) => got.push(topic));
  const pub = await real(t, a, { clientId: 'pa' });
  for (let i = 0; i < 20; i++) await pub.publishAsync('local/x', String(i), { qos: 1 });
  assert.equal(a.broker.cluster.router.stats.forwardedMessages, 0, 'no forward for a topic only A holds');
  await pub.publishAsync('remote/x', 'r', { qos: 1 });
  await until('remote copy', () => got.includes('remote/x'));
  assert.equal(a.broker.cluster.router.stats.forwardedMessages, 1);
  assert.equal(b.broker.cluster.router.stats.forwardedMessages, 0, 'B delivered it and sent nothing on');
});

test('cluster 1: many publishes leave in few frames and arrive in the order they were sent', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const [a, b] = [await member(t, redis.url, 'a'), await member(t, redis.url, 'b')];
  const sub = await real(t, b, { clientId: 'ord-sub' });
  await sub.subscribeAsync('ord/#', { qos: 1 });
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  const got: number[] = [];
  sub.on('message', (_t, payload) => got.push(Number(String(payload))));
  const pub = await real(t, a, { clientId: 'ord-pub' });
  const n = 500;
  await Promise.all(Array.from({ length: n }, (_, i) => pub.publishAsync('ord/x', String(i), { qos: i % 2 === 0 ? 1 : 0 })));
  await until('all of them', () => got.length === n, 10_000);
  const q1 = got.filter((v) => v % 2 === 0);
  const q0 = got.filter((v) => v % 2 === 1);
  assert.deepEqual(q1, [...q1].sort((x, y) => x - y), 'QoS 1 in order');
  assert.deepEqual(q0, [...q0].sort((x, y) => x - y), 'QoS 0 in order');
  const frames = a.broker.cluster.router.stats.forwardedFrames;
  assert.ok(frames < n / 2, `batched: ${frames} frames for ${n} messages`);
});

test('cluster 1: unsubscribing and a node leaving take routes out of the others\' tables', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a');
  const b = await member(t, redis.url, 'b');
  const s1 = await real(t, b, { clientId: 's1' });
  const s2 = await real(t, b, { clientId: 's2' });
  await s1.subscribeAsync('f/#');
  await s2.subscribeAsync('f/#');
  await s2.subscribeAsync('g');
  await until('A holds 2 of B\'s filters (f/# once)', () => a.broker.cluster.router.remoteRoutes === 2);
  await s1.unsubscribeAsync('f/#');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(a.broker.cluster.router.remoteRoutes, 2, 'f/# still held by s2');
  await s2.unsubscribeAsync('f/#');
  await until('f/# gone', () => a.broker.cluster.router.remoteRoutes === 1);
  await b.close();
  await until('B gone from A', () => a.broker.cluster.router.remoteRoutes === 0 && !a.broker.cluster.membership.alive.has('b'));
});

test('cluster 1: membership: a node that stops heartbeating is found down within nodeTimeout (onNodeDown once per survivor, its routes dropped); one that leaves gracefully is not reported to onNodeDown', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const down: string[] = [];
  const a = await member(t, redis.url, 'a', {}, { onNodeDown: (n: string) => down.push(n) });
  const b = await member(t, redis.url, 'b');
  const c = await member(t, redis.url, 'c');
  const s = await real(t, b, { clientId: 'm-s' });
  await s.subscribeAsync('m/#');
  await until('A knows B and C', () => a.broker.cluster.membership.alive.size === 3 && a.broker.cluster.router.remoteRoutes === 1);
  b.broker.cluster.crash(); // no goodbye: its key expires
  await until('B found down', () => down.includes('b'), 8000);
  // Once A has seen that B left no session in Redis's index (one round trip): nobody waits for it.
  await until("B's routes dropped", () => a.broker.cluster.router.remoteRoutes === 0, 2000);
  assert.equal(a.broker.cluster.membership.alive.has('b'), false);
  await c.close();
  await until('C gone', () => !a.broker.cluster.membership.alive.has('c'));
  await new Promise((r) => setTimeout(r, 2000)); // past C's TTL: its key was deleted, not expired
  assert.deepEqual(down, ['b']);
});

test('cluster 1: $SYS topics stay on their member: a $SYS/# subscriber on B does not get A\'s', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a');
  const b = await member(t, redis.url, 'b');
  const sub = await real(t, b, { clientId: 'sys-sub' });
  await sub.subscribeAsync('$SYS/#', { qos: 0 });
  await sub.subscribeAsync('probe', { qos: 0 });
  const got: string[] = [];
  sub.on('message', (topic) => got.push(topic));
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 2);
  a.broker.publish({ topic: '$SYS/broker/test', payload: Buffer.from('a'), qos: 0, retain: false });
  a.broker.publish({ topic: 'probe', payload: Buffer.from('p'), qos: 0, retain: false });
  await until('the probe after it', () => got.includes('probe'));
  assert.deepEqual(got, ['probe']);
});

test('cluster 1: a route change whose broadcast was lost is picked up from the versions within a few heartbeats', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a');
  const b = await member(t, redis.url, 'b');
  const s = await real(t, b, { clientId: 'v-s' });
  await s.subscribeAsync('v/1');
  await until('A knows v/1', () => a.broker.cluster.router.remoteRoutes === 1);
  // What B's script does, without the broadcast: as if A's pub/sub connection missed it.
  const cmd = b.broker.cluster.cmd;
  await cmd.sadd(b.broker.cluster.keys.routes('b'), 'v/2');
  await cmd.incr(b.broker.cluster.keys.routeVersion('b'));
  await until('A re-read B\'s routes', () => a.broker.cluster.router.remoteRoutes === 2, 5000);
});
