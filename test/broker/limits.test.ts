// Bounds on what one client can make the broker hold: the offline queue (count and bytes),
// the socket buffer of a subscriber that stops reading, and subscriptions per client. Every
// bound that drops messages counts them in broker.stats.dropped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProtocolVersion, Subscription } from '../../src/codec/types.js';
import { RawClient, delay, type TestBroker } from '../helpers/broker.js';
import { broker, raw, type Ctx } from '../helpers/scenario.js';

let nextId = 1;
async function subscribe(c: RawClient, subs: Subscription[]): Promise<number[]> {
  c.send({ type: 'subscribe', packetId: nextId++, subscriptions: subs });
  return (await c.expect('suback')).reasonCodes;
}

/** A persistent session with one subscription, then disconnected. */
async function awaySession(t: Ctx, b: TestBroker, clientId: string, topicFilter: string): Promise<void> {
  const c = await raw(t, b, { clientId, properties: { sessionExpiryInterval: 60 } });
  assert.deepEqual(await subscribe(c, [{ topicFilter, qos: 1 }]), [1]);
  c.send({ type: 'disconnect' });
  await c.closedByServer();
}

async function reconnect(t: Ctx, b: TestBroker, clientId: string): Promise<RawClient> {
  const c = await RawClient.open(b.port);
  t.after(() => c.destroy());
  c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId, properties: { sessionExpiryInterval: 60 } });
  assert.equal((await c.expect('connack')).sessionPresent, true);
  return c;
}

/** Takes every publish that arrives until `ms` pass without one, acknowledging each. */
async function drain(c: RawClient, ms = 200): Promise<string[]> {
  const got: string[] = [];
  for (;;) {
    let p;
    try {
      p = await c.expect('publish', ms);
    } catch {
      return got;
    }
    got.push(p.payload.toString());
    if (p.qos === 1) c.send({ type: 'puback', packetId: p.packetId! });
  }
}

test('an offline persistent session queues at most limits.maxQueuedMessages; the rest are counted as queue_full', async (t) => {
  const b = await broker(t, { limits: { maxQueuedMessages: 5 } });
  await awaySession(t, b, 'queue-count', 'lim/queue');
  for (let i = 0; i < 12; i++) b.broker.publish({ topic: 'lim/queue', payload: Buffer.from(String(i)), qos: 1, retain: false });
  assert.equal(b.broker.stats.dropped.queue_full, 7);
  const back = await reconnect(t, b, 'queue-count');
  assert.deepEqual(await drain(back), ['0', '1', '2', '3', '4']);
});

test('an offline persistent session queues at most limits.maxQueuedBytes of payload', async (t) => {
  const b = await broker(t, { limits: { maxQueuedBytes: 100 } });
  await awaySession(t, b, 'queue-bytes', 'lim/bytes');
  for (let i = 0; i < 10; i++) b.broker.publish({ topic: 'lim/bytes', payload: Buffer.alloc(30, 0x30 + i), qos: 1, retain: false });
  assert.equal(b.broker.stats.dropped.queue_full, 7);
  const back = await reconnect(t, b, 'queue-bytes');
  assert.equal((await drain(back)).length, 3);
});

test('QoS 0 messages are not queued for an offline session; they are counted as offline_qos0', async (t) => {
  const b = await broker(t);
  await awaySession(t, b, 'queue-q0', 'lim/q0');
  for (let i = 0; i < 4; i++) b.broker.publish({ topic: 'lim/q0', payload: Buffer.from('x'), qos: 0, retain: false });
  assert.equal(b.broker.stats.dropped.offline_qos0, 4);
  const back = await reconnect(t, b, 'queue-q0');
  await back.silent(150);
});

test('a subscriber that stops reading cannot make the broker buffer QoS 0 without limit: the excess is dropped and counted, memory stays bounded', async (t) => {
  const maxSocketBuffer = 256 * 1024;
  const b = await broker(t, { limits: { maxSocketBuffer } });
  const slow = await raw(t, b, { clientId: 'stalled-reader' });
  assert.deepEqual(await subscribe(slow, [{ topicFilter: 'lim/flood', qos: 0 }]), [0]);
  slow.socket.pause();
  const conn = b.broker.clients.get('stalled-reader')!;
  const payload = Buffer.alloc(4096, 0x61);
  const before = process.memoryUsage().rss;
  let maxBuffered = 0;
  // 200 MiB offered in rounds, letting the event loop run between them.
  for (let round = 0; round < 100; round++) {
    for (let i = 0; i < 512; i++) b.broker.publish({ topic: 'lim/flood', payload, qos: 0, retain: false });
    maxBuffered = Math.max(maxBuffered, conn.socket.writableLength);
    await new Promise((r) => setImmediate(r));
  }
  const grown = process.memoryUsage().rss - before;
  assert.ok(b.broker.stats.dropped.backpressure > 40_000, `only ${b.broker.stats.dropped.backpressure} dropped`);
  assert.ok(maxBuffered <= maxSocketBuffer + payload.length + 64, `socket buffered ${maxBuffered} bytes`);
  assert.ok(grown < 64 * 1024 * 1024, `RSS grew by ${Math.round(grown / 1048576)} MiB`);
  // Once it reads again it gets what was buffered, and new messages flow.
  slow.socket.resume();
  await delay(100);
  const before2 = slow.packets.length;
  b.broker.publish({ topic: 'lim/flood', payload: Buffer.from('after'), qos: 0, retain: false });
  await delay(100);
  assert.ok(slow.packets.length > before2);
});

test('a subscriber that stops reading holds at most the in-flight window plus the queue of QoS 1 messages', async (t) => {
  const b = await broker(t, { limits: { maxInflight: 10, maxQueuedMessages: 100 } });
  const slow = await raw(t, b, { clientId: 'stalled-q1' });
  assert.deepEqual(await subscribe(slow, [{ topicFilter: 'lim/q1flood', qos: 1 }]), [1]);
  slow.socket.pause();
  for (let i = 0; i < 1000; i++) b.broker.publish({ topic: 'lim/q1flood', payload: Buffer.from('x'), qos: 1, retain: false });
  assert.equal(b.broker.stats.dropped.queue_full, 890);
  slow.socket.resume();
  const got = await drain(slow);
  assert.equal(got.length, 110);
});

for (const [version, name, code] of [[5, '5.0', 0x97], [4, '3.1.1', 0x80]] as Array<[ProtocolVersion, string, number]>) {
  test(`a subscription beyond limits.maxSubscriptionsPerClient is refused with 0x${code.toString(16)} (${name}); replacing an existing one still works`, async (t) => {
    const b = await broker(t, { limits: { maxSubscriptionsPerClient: 2 } });
    const c = await raw(t, b, { protocolVersion: version });
    assert.deepEqual(await subscribe(c, [{ topicFilter: 'lim/s/1', qos: 1 }, { topicFilter: 'lim/s/2', qos: 1 }, { topicFilter: 'lim/s/3', qos: 1 }]), [1, 1, code]);
    assert.deepEqual(await subscribe(c, [{ topicFilter: 'lim/s/2', qos: 0 }]), [0]);
    b.broker.publish({ topic: 'lim/s/3', payload: Buffer.from('x'), qos: 0, retain: false });
    await c.silent(100);
    // Positive control: a message for the granted lim/s/2 does arrive.
    b.broker.publish({ topic: 'lim/s/2', payload: Buffer.from('y'), qos: 0, retain: false });
    assert.equal((await c.expect('publish')).topic, 'lim/s/2');
    // Unsubscribing frees a place.
    c.send({ type: 'unsubscribe', packetId: nextId++, topicFilters: ['lim/s/1'] });
    await c.expect('unsuback');
    assert.deepEqual(await subscribe(c, [{ topicFilter: 'lim/s/3', qos: 1 }]), [1]);
  });
}
