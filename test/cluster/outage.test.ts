// Redis away and back (docs/clustering.md "What is lost"): local clients keep working, QoS
// 1/2 publishes that need another node are acknowledged only once in Redis, and the nodes
// resync when it returns.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis } from '../helpers/redis.js';
import { real } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';
import { member } from './nodes.js';

test('cluster 4: Redis killed and restarted mid-traffic: local delivery goes on, every acknowledged QoS 1 message reaches the other node, the nodes resync', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a');
  const b = await member(t, redis.url, 'b');
  const remote = await real(t, b, { clientId: 'o-remote' });
  await remote.subscribeAsync('o/#', { qos: 1 });
  const local = await real(t, a, { clientId: 'o-local' });
  await local.subscribeAsync('o/#', { qos: 1 });
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  const remoteGot = new Set<number>();
  const localGot = new Set<number>();
  remote.on('message', (_t, p) => remoteGot.add(Number(String(p))));
  local.on('message', (_t, p) => localGot.add(Number(String(p))));
  const pub = await real(t, a, { clientId: 'o-pub' });
  const acked: number[] = [];
  let i = 0;
  let stop = false;
  // A failed wait below must not leave this loop running: the test process would never exit.
  t.after(() => {
    stop = true;
  });
  const sending = (async () => {
    while (!stop) {
      const n = i++;
      // Several in flight at once, as a real publisher has.
      void pub.publishAsync(`o/${n % 4}`, String(n), { qos: 1 }).then(() => acked.push(n), () => undefined);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await until('traffic flowing', () => acked.length > 50);
  await redis.stop('SIGKILL');
  const sentWhenKilled = i;
  await until('A sees Redis gone', () => a.broker.cluster.state === 'degraded');
  // Local clients keep working: what A's own subscriber gets does not wait for Redis.
  await until('local delivery during the outage', () => [...localGot].some((n) => n > sentWhenKilled + 10));
  await redis.restart();
  await until('both resynced', () => a.broker.cluster.state === 'connected' && b.broker.cluster.state === 'connected', 10_000);
  await until('more acknowledged after the restart', () => acked.length > sentWhenKilled + 20, 10_000);
  stop = true;
  await sending;
  const ackedNow = [...acked];
  await until('every acknowledged message on B', () => ackedNow.every((n) => remoteGot.has(n)), 10_000);
  assert.ok(a.broker.cluster.stats.resyncs >= 1 && b.broker.cluster.stats.resyncs >= 1);
});

test('cluster 4: a Redis restarted empty (no persistence) gets every node\'s routes, membership and retained messages again', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a');
  const b = await member(t, redis.url, 'b');
  const sub = await real(t, b, { clientId: 'e-sub' });
  await sub.subscribeAsync('e/#', { qos: 1 });
  const pub = await real(t, a, { clientId: 'e-pub' });
  await pub.publishAsync('e/kept', 'r', { qos: 1, retain: true });
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  await redis.stop('SIGKILL');
  await redis.restart();
  await until('both resynced', () => a.broker.cluster.stats.resyncs >= 1 && b.broker.cluster.stats.resyncs >= 1 && a.broker.cluster.state === 'connected' && b.broker.cluster.state === 'connected', 10_000);
  const got: string[] = [];
  sub.on('message', (topic, payload) => got.push(`${topic} ${payload}`));
  await pub.publishAsync('e/after', 'x', { qos: 1 });
  await until('the forward after the restart', () => got.includes('e/after x'));
  const cmd = a.broker.cluster.cmd;
  assert.deepEqual((await cmd.smembers(a.broker.cluster.keys.nodes)).sort(), ['a', 'b']);
  assert.deepEqual(await cmd.smembers(a.broker.cluster.keys.routes('b')), ['e/#']);
  assert.notEqual(await cmd.hget(a.broker.cluster.keys.retained, 'e/kept'), null, 'the retained set written back');
});

test('cluster 4: while Redis does not answer, QoS 1 forwards wait up to cluster.maxPendingForwards; beyond it the publisher is disconnected unacknowledged (0x83), and what waited is delivered once Redis answers', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a', {}, { maxPendingForwards: 3 });
  const b = await member(t, redis.url, 'b');
  const sub = await real(t, b, { clientId: 'p-sub' });
  await sub.subscribeAsync('p/#', { qos: 1 });
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  const got: string[] = [];
  sub.on('message', (_topic, payload) => got.push(String(payload)));
  const pub = await real(t, a, { clientId: 'p-pub' });
  let reason: number | undefined;
  pub.on('disconnect', (p) => (reason = p.reasonCode));
  pub.on('error', () => {});
  redis.proc.kill('SIGSTOP');
  t.after(() => redis.proc.kill('SIGCONT'));
  const acked: number[] = [];
  for (let i = 0; i < 3; i++) void pub.publishAsync('p/x', String(i), { qos: 1 }).then(() => acked.push(i), () => undefined);
  await until('three waiting', () => a.broker.cluster.router.stats.pendingForwards === 3);
  void pub.publishAsync('p/x', '3', { qos: 1 }).catch(() => undefined);
  await until('the publisher disconnected with 0x83', () => reason === 0x83);
  assert.equal(a.broker.cluster.router.stats.forwardsDropped, 1);
  assert.deepEqual(acked, [], 'nothing acknowledged while Redis does not answer');
  redis.proc.kill('SIGCONT');
  await until('the three that waited reach B', () => got.length === 3);
  assert.deepEqual(got, ['0', '1', '2']);
});

test('cluster 4: while Redis does not answer, a QoS 1 publish that forwards nothing is acknowledged at once; one client\'s acknowledgements stay in order', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a');
  const b = await member(t, redis.url, 'b');
  const remote = await real(t, b, { clientId: 'l-remote' });
  await remote.subscribeAsync('far/#', { qos: 1 });
  const local = await real(t, a, { clientId: 'l-local' });
  await local.subscribeAsync('near/#', { qos: 1 });
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  const far = await real(t, a, { clientId: 'l-far' });
  const near = await real(t, a, { clientId: 'l-near' });
  redis.proc.kill('SIGSTOP');
  t.after(() => redis.proc.kill('SIGCONT'));
  const order: string[] = [];
  void far.publishAsync('far/1', 'x', { qos: 1 }).then(() => order.push('far/1'));
  await until('the forward waits', () => a.broker.cluster.router.stats.pendingForwards === 1);
  void far.publishAsync('near/after-far', 'x', { qos: 1 }).then(() => order.push('near/after-far'));
  // Another client's local traffic is not held back by the forward waiting for Redis.
  await near.publishAsync('near/1', 'x', { qos: 1 });
  await near.publishAsync('near/2', 'x', { qos: 1 });
  assert.deepEqual(order, [], "l-far's local publish waits behind its own forward: acknowledgements in order");
  redis.proc.kill('SIGCONT');
  await until('both of l-far acknowledged', () => order.length === 2);
  assert.deepEqual(order, ['far/1', 'near/after-far']);
});
