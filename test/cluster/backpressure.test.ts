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
import { ClusterRouter } from '../../src/cluster/router.js';
import { LocalRouter } from '../../src/broker/router.js';
import { connectRedis, parseRedisUrl } from '../../src/cluster/config.js';

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

/** A subscriber on `b` that reads nothing until told (its socket paused), counting what it gets. */
async function slowSubscriber(t: Parameters<typeof raw>[0], b: Member, clientId: string): Promise<{ got: () => number; resume: () => void }> {
  const c = await raw(t, b, { clientId, protocolVersion: 4 });
  c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'bp/#', qos: 0 }] });
  await c.expect('suback');
  let got = 0;
  c.socket.pause();
  return {
    got: () => {
      for (const p of c.packets.splice(0)) if (p.type === 'publish') got++;
      return got;
    },
    resume: () => c.socket.resume(),
  };
}

test('cluster backpressure: the receiving member holds forwards back, unanswered, while its subscribers are behind, so a slow subscriber slows the publisher on A instead of losing QoS 0 messages', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a', {}, { volatileWindow: 64 * 1024, volatileMaxWait: 30_000 });
  // A small socket buffer on B: its subscriber falls behind after a few hundred messages.
  const b = await member(t, redis.url, 'b', { limits: { maxSocketBuffer: 256 * 1024 } }, { volatileMaxWait: 30_000 });
  const sub = await slowSubscriber(t, b, 'bp-slow');
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  const pub = await raw(t, a, { clientId: 'bp-pub', protocolVersion: 4 });
  const n = 8000; // 8 MB: more than the kernel's socket buffers take for the paused client
  for (let i = 0; i < n; i++) pub.send({ type: 'publish', topic: `bp/${i % 16}`, payload: PAYLOAD, qos: 0, retain: false, dup: false });
  // Long enough for A to read it all were it not held back.
  await new Promise((r) => setTimeout(r, 1000));
  sub.resume();
  await until('every message arrived', () => sub.got() === n, 20_000).catch((e: Error) => assert.fail(`${e.message}: ${sub.got()} of ${n}, B dropped ${JSON.stringify(b.broker.stats.dropped)}, A ${JSON.stringify(a.broker.cluster.router.stats)}`));
  assert.equal(b.broker.stats.dropped.backpressure, 0, 'nothing dropped for a full socket on B');
  assert.equal(a.broker.cluster.router.stats.volatileShed, 0, 'nothing shed on A');
  assert.ok(a.broker.cluster.router.stats.volatileWaits > 0, 'the publisher on A was paused');
  assert.ok(b.broker.cluster.volatileFlow.stats.waits > 0, 'B held forwards back');
  assert.equal(b.broker.cluster.volatileFlow.stats.heldBytes, 0, 'and released them all');
});

test('cluster backpressure: one slow subscriber among others that keep up does not hold the receiving member back (it is dropped for, as on a standalone node), nor does one that reads nothing for cluster.volatileMaxWait', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a', {}, { volatileWindow: 64 * 1024, volatileMaxWait: 30_000 });
  const b = await member(t, redis.url, 'b', { limits: { maxSocketBuffer: 256 * 1024 } }, { volatileMaxWait: 300 });
  const slow = await slowSubscriber(t, b, 'bp-slow');
  const fast = await real(t, b, { clientId: 'bp-fast' });
  await fast.subscribeAsync('bp/#', { qos: 0 });
  let got = 0;
  fast.on('message', () => got++);
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  const pub = await raw(t, a, { clientId: 'bp-pub', protocolVersion: 4 });
  const n = 8000;
  for (let i = 0; i < n; i++) pub.send({ type: 'publish', topic: `bp/${i % 16}`, payload: PAYLOAD, qos: 0, retain: false, dup: false });
  await until('the subscriber that keeps up has every message', () => got === n, 20_000).catch((e: Error) => assert.fail(`${e.message}: ${got} of ${n}, B dropped ${JSON.stringify(b.broker.stats.dropped)}`));
  assert.ok(b.broker.stats.dropped.backpressure > 0, "the slow subscriber's overflow is dropped on B");
  assert.ok(slow.got() < n);
  // Only the slow one left: B waits for it cluster.volatileMaxWait, then reads on.
  await fast.endAsync();
  const before = b.broker.stats.dropped.backpressure;
  for (let i = 0; i < n; i++) pub.send({ type: 'publish', topic: `bp/${i % 16}`, payload: PAYLOAD, qos: 0, retain: false, dup: false });
  await until('B delivered on past it', () => b.broker.cluster.volatileFlow.stats.waitTimeouts > 0 && b.broker.stats.dropped.backpressure > before, 10_000);
});

test('cluster latency: at a low rate a QoS 0 frame carries a ping only once per eighth of cluster.volatileWindow, not one per frame (each answer is one more Redis command and one more wake-up of both nodes per message)', () => {
  const window = 8 * 1024 * 1024;
  const a = new ClusterRouter(new LocalRouter(), 'a', {}, 100, window);
  const b = new ClusterRouter(new LocalRouter(), 'b', {}, 100, window);
  let frames = 0;
  let answers = 0;
  const sink = { connected: true, sendDurable: async () => undefined, announce: () => {} };
  // Each frame is processed at once and each ping answered at once: a receiver keeping up.
  a.sink = { ...sink, sendVolatile: (_node: string, frame: Buffer) => (frames++, void b.receive(frame)) };
  b.sink = { ...sink, sendVolatile: (_node: string, frame: Buffer) => (answers++, void a.receive(frame)) };
  a.replaceRoutes('b', 1, ['t/#']);
  for (let i = 0; i < 100; i++) {
    a.publish({ topic: 't/1', payload: Buffer.alloc(64), qos: 0, retain: false });
    a.flush();
  }
  assert.equal(frames, 100);
  assert.equal(answers, 0, 'no ping answered: none was sent');
  assert.equal(b.stats.receivedMessages, 100);
});

test('cluster latency: forward frames (PUBLISH) are written at once, not held one more event-loop turn by ioredis auto-pipelining', () => {
  const c = connectRedis(parseRedisUrl('redis://127.0.0.1:1'), 'x');
  try {
    const o = (c as unknown as { options: { enableAutoPipelining: boolean; autoPipeliningIgnoredCommands: string[] } }).options;
    assert.equal(o.enableAutoPipelining, true, 'other commands still pipelined');
    assert.ok(o.autoPipeliningIgnoredCommands.includes('publish'));
  } finally {
    c.disconnect();
  }
});
