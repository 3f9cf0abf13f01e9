// Flow control across nodes (docs/clustering.md, "Flow control"): a node takes QoS 1/2
// forwards from its inbox stream only as fast as the local sessions they go to take them,
// so an acknowledged message waits in the stream rather than being dropped for a full queue.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis } from '../helpers/redis.js';
import { raw, real } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';
import { member } from './nodes.js';
import { ClusterRouter } from '../../src/cluster/router.js';
import { LocalRouter } from '../../src/broker/router.js';

test('cperf 1: a slow subscriber on B, a fast QoS 1 publisher on A: every acknowledged message arrives, none dropped for a full queue while the stream holds them', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a');
  // Small bounds on B so that a few hundred messages are more than its session can hold.
  const b = await member(t, redis.url, 'b', { limits: { maxInflight: 10, maxQueuedMessages: 100 } }, { inboxMaxWait: 60_000 });
  const sub = await raw(t, b, { clientId: 'slow', clean: false, properties: { sessionExpiryInterval: 300 } });
  sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'flow/#', qos: 1 }] });
  await sub.expect('suback');
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  const pub = await real(t, a, { clientId: 'fast' });
  const n = 1000;
  // All at once: each PUBACK says the message is in B's inbox stream.
  await Promise.all(Array.from({ length: n }, (_, i) => pub.publishAsync(`flow/${i}`, String(i), { qos: 1 })));
  // Nothing acknowledged yet by the subscriber: what B's session cannot hold is still in the stream.
  await until('B holding back', async () => (await b.broker.cluster.cmd.xlen(b.broker.cluster.keys.inbox('b'))) > 0);
  const got = new Set<string>();
  while (got.size < n) {
    const p = await sub.next(10_000).catch(() => undefined);
    if (p === undefined) break;
    if (p.type !== 'publish') continue;
    got.add(p.payload.toString());
    sub.send({ type: 'puback', packetId: p.packetId!, reasonCode: 0 });
  }
  assert.equal(b.broker.stats.dropped.queue_full, 0, `nothing dropped for a full queue (${JSON.stringify(b.broker.cluster.stats)}, ${got.size} received)`);
  assert.equal(got.size, n, 'every acknowledged message arrived');
  await until('inbox emptied', async () => (await b.broker.cluster.cmd.xlen(b.broker.cluster.keys.inbox('b'))) === 0);
});

test('cperf 2: a node that stops reading QoS 0 forwards is not cut off by Redis: the sender sheds beyond cluster.volatileWindow (counted), and the flow resumes when it reads again', async (t) => {
  // Redis cuts a pub/sub client holding more than 1 MB unread (the default is 32 MB): what
  // it buffered is lost, and the node must resync.
  const redis = await startRedis(t, { args: ['--client-output-buffer-limit', 'pubsub 1mb 256kb 1'] });
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a', {}, { volatileWindow: 64 * 1024 });
  const b = await member(t, redis.url, 'b');
  const sub = await real(t, b, { clientId: 'q0' });
  await sub.subscribeAsync('v/#', { qos: 0 });
  let got = 0;
  sub.on('message', () => got++);
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  a.broker.publish({ topic: 'v/warm', payload: Buffer.from('x'), qos: 0, retain: false });
  await until('a first message crosses', () => got === 1);
  const subId = async (): Promise<string | undefined> => /id=(\d+) [^\n]*name=starling:b:sub /.exec(String(await a.broker.cluster.cmd.client('LIST')))?.[1];
  const id = await subId();
  assert.ok(id !== undefined);
  // B stops reading its pub/sub connection (a node stalled by a long task, or starved of CPU).
  const socket = (b.broker.cluster.sub as unknown as { stream: import('node:net').Socket }).stream;
  socket.pause();
  const payload = Buffer.alloc(1024, 0x61);
  for (let turn = 0; turn < 400; turn++) {
    for (let i = 0; i < 64; i++) a.broker.publish({ topic: `v/${i}`, payload, qos: 0, retain: false });
    await new Promise((r) => setImmediate(r));
  }
  // 25 MB offered: what Redis holds for B stays within the window.
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(a.broker.cluster.router.stats.volatileShed > 0, 'the sender shed what B could not take');
  socket.resume();
  const before = got;
  await until('B reads again', () => got > before);
  await until('new messages cross again', async () => {
    a.broker.publish({ topic: 'v/after', payload: Buffer.from('y'), qos: 0, retain: false });
    await new Promise((r) => setTimeout(r, 50));
    return got > before + 1;
  });
  assert.equal(b.broker.cluster.stats.resyncs, 0, 'B was never disconnected by Redis (no resync)');
  assert.equal(await subId(), id, "B's pub/sub connection is the one it had before");
});

test('cperf 1: a subscriber that stops acknowledging holds the inbox back only cluster.inboxMaxWait: the others on its node still get everything, its overflow is dropped and counted', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a');
  const b = await member(t, redis.url, 'b', { limits: { maxInflight: 5, maxQueuedMessages: 100 } }, { inboxMaxWait: 300 });
  const stuck = await raw(t, b, { clientId: 'stuck' });
  stuck.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'h/#', qos: 1 }] });
  await stuck.expect('suback');
  const live = await real(t, b, { clientId: 'live' });
  await live.subscribeAsync('h/#', { qos: 1 });
  let got = 0;
  live.on('message', () => got++);
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  const pub = await real(t, a, { clientId: 'h-pub' });
  const n = 300;
  await Promise.all(Array.from({ length: n }, (_, i) => pub.publishAsync(`h/${i}`, String(i), { qos: 1 })));
  await until('the live subscriber has every message', () => got === n, 15_000).catch((e: Error) => assert.fail(`${e.message}: ${got} received, ${JSON.stringify(b.broker.cluster.stats)}, dropped ${JSON.stringify(b.broker.stats.dropped)}`));
  assert.ok(b.broker.cluster.stats.inboxWaitTimeouts > 0, 'the reader stopped waiting for the stuck session');
  assert.equal(b.broker.stats.dropped.queue_full, n - 105, "the stuck session's overflow (beyond 5 in flight and 100 queued) is dropped and counted; nothing of the live one's");
});

test('cperf 2: the QoS 0 window: shed once more than cluster.volatileWindow bytes are unanswered for; a ping answered reopens it; while shedding, an unanswered ping is sent again on its own after 2 s', async () => {
  const sent: Buffer[] = [];
  const sink = { connected: true, sendVolatile: (_node: string, frame: Buffer) => void sent.push(frame), sendDurable: async () => undefined, announce: () => {} };
  const a = new ClusterRouter(new LocalRouter(), 'a', {}, 100, 4096);
  a.sink = sink;
  a.replaceRoutes('b', 1, ['w/#']);
  const message = { topic: 'w/1', payload: Buffer.alloc(1000), qos: 0 as const, retain: false };
  const turn = (n: number): void => {
    for (let i = 0; i < n; i++) a.publish(message);
    a.flush();
  };
  // B's side: a router whose sink carries its answers back to A.
  const b = new ClusterRouter(new LocalRouter(), 'b', {}, 100, 4096);
  b.sink = { ...sink, sendVolatile: (_node: string, frame: Buffer) => void a.receive(frame) };
  turn(8); // one turn is never shed, however large: 8 kB sent, its ping unanswered
  turn(1);
  assert.equal(a.stats.volatileShed, 1, 'beyond the window: shed');
  assert.equal(a.stats.forwardedMessages, 8);
  // B processes the frame: its answer reopens the window.
  b.receive(sent[0]!);
  turn(1);
  assert.equal(a.stats.forwardedMessages, 9);
  assert.equal(a.stats.volatileShed, 1);
  // Unanswered again (B lost them): shedding goes on, and after 2 s a ping goes alone.
  turn(8);
  const frames = sent.length;
  turn(1);
  assert.equal(sent.length, frames, 'shed, nothing sent');
  await new Promise((r) => setTimeout(r, 2100));
  turn(1);
  assert.equal(sent.length, frames + 1, 'a ping on its own');
  assert.equal(a.stats.forwardedMessages, 17);
  b.receive(sent.at(-1)!);
  turn(1);
  assert.equal(a.stats.forwardedMessages, 18, 'its answer reopened the window');
  assert.equal(b.stats.receivedMessages, 8, 'pings are not messages');
});
