// Back-pressure of QoS 0 across nodes (docs/clustering.md, "Flow control"): a publisher
// whose messages take a member beyond cluster.volatileWindow is not read until that member
// catches up, as TCP slows the publishers of a standalone node, instead of having its
// messages shed; and only for cluster.volatileMaxWait, so a stalled member cannot stall the
// sending node's publishers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { startRedis } from '../helpers/redis.js';
import { raw, real } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';
import { member, type Member } from './nodes.js';

const N = 2000;
const PAYLOAD = Buffer.alloc(1024, 0x62);

/** B's pub/sub connection: pausing it makes B a member that takes no QoS 0 forwards. */
function pubsubSocket(b: Member): net.Socket {
  return (b.broker.cluster.sub as unknown as { stream: net.Socket }).stream;
}

test('cluster backpressure: a fast QoS 0 publisher on A with a slow member B is slowed rather than its messages shed: every message arrives', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  // 2 MB offered against a 64 KiB window; B stalls for longer than it takes A to read it all.
  const a = await member(t, redis.url, 'a', {}, { volatileWindow: 64 * 1024, volatileMaxWait: 30_000 });
  const b = await member(t, redis.url, 'b');
  const sub = await real(t, b, { clientId: 'bp-sub' });
  await sub.subscribeAsync('bp/#', { qos: 0 });
  let got = 0;
  sub.on('message', () => got++);
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  const socket = pubsubSocket(b);
  socket.pause();
  const pub = await raw(t, a, { clientId: 'bp-pub', protocolVersion: 4 });
  for (let i = 0; i < N; i++) pub.send({ type: 'publish', topic: `bp/${i % 16}`, payload: PAYLOAD, qos: 0, retain: false, dup: false });
  await new Promise((r) => setTimeout(r, 500));
  socket.resume();
  const stats = a.broker.cluster.router.stats;
  await until('every message arrived on B', () => got === N, 20_000).catch((e: Error) => assert.fail(`${e.message}: ${got} of ${N}, A ${JSON.stringify(stats)}, B dropped ${JSON.stringify(b.broker.stats.dropped)}`));
  assert.equal(stats.volatileShed, 0, 'nothing shed at the sender');
  assert.ok(stats.volatileWaits > 0, 'the publisher was paused');
  assert.equal(stats.volatileWaitTimeouts, 0);
  assert.equal(stats.forwardedMessages, N);
});

test('cluster backpressure: a member that stays behind stalls the publishers of A only cluster.volatileMaxWait; then it is shed (counted) until it catches up', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a', {}, { volatileWindow: 64 * 1024, volatileMaxWait: 300 });
  const b = await member(t, redis.url, 'b');
  const remote = await real(t, b, { clientId: 'bp-remote' });
  await remote.subscribeAsync('bp/#', { qos: 0 });
  let remoteGot = 0;
  remote.on('message', () => remoteGot++);
  const local = await real(t, a, { clientId: 'bp-local' });
  await local.subscribeAsync('bp/#', { qos: 0 });
  let localGot = 0;
  local.on('message', () => localGot++);
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  // B stops reading its pub/sub connection for good (a stalled process).
  const socket = pubsubSocket(b);
  socket.pause();
  const pub = await raw(t, a, { clientId: 'bp-pub', protocolVersion: 4 });
  for (let i = 0; i < N; i++) pub.send({ type: 'publish', topic: `bp/${i % 16}`, payload: PAYLOAD, qos: 0, retain: false, dup: false });
  const stats = a.broker.cluster.router.stats;
  // A functional deadline with a wide margin: paused once for 0.3 s, then not again.
  await until('the local subscriber on A has every message', () => localGot === N, 10_000).catch((e: Error) => assert.fail(`${e.message}: ${localGot} of ${N}, A ${JSON.stringify(stats)}`));
  assert.equal(stats.volatileWaitTimeouts, 1, 'A waited for B once, then stopped waiting');
  assert.ok(stats.volatileShed > 0, 'what B could not take was shed at the sender');
  assert.ok(stats.forwardedMessages < N);
  // B reads again: its answer (to the ping sent again while shedding) reopens the window.
  socket.resume();
  const before = remoteGot;
  await until('new messages cross again', async () => {
    pub.send({ type: 'publish', topic: 'bp/after', payload: Buffer.from('y'), qos: 0, retain: false, dup: false });
    await new Promise((r) => setTimeout(r, 50));
    return remoteGot > before + 1;
  }, 10_000);
});
