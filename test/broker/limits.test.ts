// Bounds on what one client can make the broker hold: the offline queue (count and bytes),
// the socket buffer of a subscriber that stops reading, and subscriptions per client. Every
// bound that drops messages counts them in broker.stats.dropped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProtocolVersion, Subscription } from '../../src/codec/types.js';
import type { Connection } from '../../src/broker/connection.js';
import { RawClient, delay, type TestBroker } from '../helpers/broker.js';
import { broker, logCapture, raw, real, type Ctx } from '../helpers/scenario.js';

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

test('an offline persistent session queues at most limits.maxQueuedMessages; the rest are counted as queue_full and warned of once', async (t) => {
  const { lines, logDestination } = logCapture();
  const b = await broker(t, { limits: { maxQueuedMessages: 5 }, logLevel: 'warn', logDestination });
  await awaySession(t, b, 'queue-count', 'lim/queue');
  for (let i = 0; i < 12; i++) b.broker.publish({ topic: 'lim/queue', payload: Buffer.from(String(i)), qos: 1, retain: false });
  assert.equal(b.broker.stats.dropped.queue_full, 7);
  await delay(50);
  // Lost QoS 1 messages: an operator is told, once a minute at most, naming the first client.
  const warnings = lines.filter((l) => /queue is full/.test(l.msg));
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.level, 40);
  assert.equal(warnings[0]!.clientId, 'queue-count');
  assert.equal(warnings[0]!.maxQueuedMessages, 5);
  const back = await reconnect(t, b, 'queue-count');
  assert.deepEqual(await drain(back), ['0', '1', '2', '3', '4']);
});

test('an offline persistent session queues at most limits.maxQueuedBytes of payload and topic', async (t) => {
  // Each message counts 30 bytes of payload and 9 of topic ('lim/bytes'): three fit.
  const b = await broker(t, { limits: { maxQueuedBytes: 3 * 39 } });
  await awaySession(t, b, 'queue-bytes', 'lim/bytes');
  for (let i = 0; i < 10; i++) b.broker.publish({ topic: 'lim/bytes', payload: Buffer.alloc(30, 0x30 + i), qos: 1, retain: false });
  assert.equal(b.broker.stats.dropped.queue_full, 7);
  const back = await reconnect(t, b, 'queue-bytes');
  assert.equal((await drain(back)).length, 3);
});

test('hardening 5: limits.maxQueuedBytes counts topics: an offline session queues 1-byte messages under 60 KB topics only up to the bound', async (t) => {
  const b = await broker(t, { limits: { maxQueuedBytes: 1024 * 1024 } });
  await awaySession(t, b, 'queue-topics', 'lim/long/#');
  const topic = (i: number): string => `lim/long/${i}/`.padEnd(60_000, 'x');
  for (let i = 0; i < 40; i++) b.broker.publish({ topic: topic(i), payload: Buffer.from('x'), qos: 1, retain: false });
  // 1 MiB holds 17 messages of 60,001 bytes.
  assert.equal(b.broker.sessions.get('queue-topics')!.queued, 17);
  assert.equal(b.broker.stats.dropped.queue_full, 23);
  const back = await reconnect(t, b, 'queue-topics');
  assert.equal((await drain(back)).length, 17);
  // Drained, the queue takes as many again.
  back.destroy();
  await delay(100);
  for (let i = 0; i < 40; i++) b.broker.publish({ topic: topic(i), payload: Buffer.from('x'), qos: 1, retain: false });
  assert.equal(b.broker.sessions.get('queue-topics')!.queued, 17);
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
  const conn = b.broker.clients.get('stalled-reader') as Connection;
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
    assert.equal(b.broker.stats.limited.subscriptions, 1);
  });

  test(`hardening 5: limits.maxSubscriptionBytesPerClient bounds one client's filter bytes: 60 KB filters stop at 1 MiB with 0x${code.toString(16)} (${name})`, async (t) => {
    const b = await broker(t);
    assert.equal(b.broker.limits.maxSubscriptionBytesPerClient, 1024 * 1024);
    const c = await raw(t, b, { protocolVersion: version, clientId: `filters-${version}` });
    const filter = (i: number): string => `lim/long/${i}/`.padEnd(60_000, 'x');
    const codes: number[] = [];
    for (let i = 0; i < 20; i++) codes.push(...(await subscribe(c, [{ topicFilter: filter(i), qos: 0 }])));
    // 1 MiB holds 17 filters of 60,000 bytes.
    assert.deepEqual(codes, [...Array<number>(17).fill(0), code, code, code]);
    const session = b.broker.sessions.get(`filters-${version}`)!;
    assert.equal(session.subscriptions.size, 17);
    assert.equal(session.subscriptionBytes, 17 * 60_000);
    assert.equal(b.broker.stats.limited.subscriptions, 3);
    // Replacing a filter the client has adds nothing; a short new one still fits; removing one makes room.
    assert.deepEqual(await subscribe(c, [{ topicFilter: filter(3), qos: 1 }, { topicFilter: 'lim/short', qos: 0 }]), [1, 0]);
    c.send({ type: 'unsubscribe', packetId: nextId++, topicFilters: [filter(0)] });
    await c.expect('unsuback');
    assert.deepEqual(await subscribe(c, [{ topicFilter: filter(17), qos: 0 }]), [0]);
    assert.equal(session.subscriptionBytes, 17 * 60_000 + 'lim/short'.length);
    b.broker.publish({ topic: filter(17), payload: Buffer.from('x'), qos: 0, retain: false });
    assert.equal((await c.expect('publish')).topic, filter(17));
  });
}

test('hardening 5: limits.maxSubscriptionBytes bounds all sessions\' filter bytes together, and a session that ends gives its bytes back', async (t) => {
  const b = await broker(t, { limits: { maxSubscriptionBytes: 250_000 } });
  const filter = (who: string, i: number): string => `lim/all/${who}/${i}/`.padEnd(60_000, 'x');
  const a = await real(t, b, { clientId: 'all-a', protocolVersion: 4 });
  for (let i = 0; i < 3; i++) assert.equal((await a.subscribeAsync(filter('a', i), { qos: 1 }))[0]!.qos, 1);
  const c = await raw(t, b, { clientId: 'all-c' });
  assert.deepEqual(await subscribe(c, [{ topicFilter: filter('c', 0), qos: 0 }, { topicFilter: filter('c', 1), qos: 0 }]), [0, 0x97]);
  assert.equal(b.broker.filterBytes.total, 4 * 60_000);
  assert.equal(b.broker.stats.limited.subscription_bytes, 1);
  assert.equal(b.broker.stats.limited.subscriptions, 0);
  // MQTT.js (3.1.1) sees the SUBACK return code 0x80 as a failed subscribe.
  await assert.rejects(a.subscribeAsync(filter('a', 3), { qos: 1 }), /Unspecified error/);
  await a.endAsync();
  await delay(100);
  assert.equal(b.broker.filterBytes.total, 60_000);
  assert.deepEqual(await subscribe(c, [{ topicFilter: filter('c', 1), qos: 0 }]), [0]);
  c.send({ type: 'disconnect', reasonCode: 0 });
  await c.closedByServer();
  assert.equal(b.broker.filterBytes.total, 0);
});

// Inbound QoS 1/2 publishes not yet acknowledged. Receive Maximum is a 5.0 notion: a 3.1/3.1.1
// client was never told one, so it is not held to limits.receiveMaximum; what bounds it is the
// packet identifier space (65,535), which it can pass only by reusing identifiers.

/** Sends QoS 2 publishes with ids first..last and takes their PUBRECs, without PUBREL. */
async function unreleased(c: RawClient, first: number, last: number): Promise<void> {
  for (let id = first; id <= last; id++) c.send({ type: 'publish', topic: 'lim/rm', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, packetId: id });
  for (let id = first; id <= last; id++) assert.equal((await c.expect('pubrec', 10_000)).packetId, id);
}

test('hardening 12: a 3.1.1 client is not held to limits.receiveMaximum: 1,100 unreleased QoS 2 publishes are all taken, then completed', async (t) => {
  const b = await broker(t);
  assert.equal(b.broker.limits.receiveMaximum, 1024);
  const sub = await raw(t, b, { clientId: 'rm-sub' });
  assert.deepEqual(await subscribe(sub, [{ topicFilter: 'lim/rm', qos: 0 }]), [0]);
  const c = await raw(t, b, { protocolVersion: 4, clientId: 'rm-v311' });
  await unreleased(c, 1, 1100);
  assert.equal(c.closed, false);
  for (let id = 1; id <= 1100; id++) c.send({ type: 'pubrel', packetId: id });
  for (let id = 1; id <= 1100; id++) assert.equal((await c.expect('pubcomp')).packetId, id);
  assert.equal(b.broker.sessions.get('rm-v311')!.inboundQos2Count, 0);
  let got = 0;
  while (got < 1100) if ((await sub.next()).type === 'publish') got++;
  assert.equal(b.broker.stats.protocolErrors[0x93], undefined);
});

test('hardening 12: 3.1.1 publishes waiting behind an async hook are not held to limits.receiveMaximum either', async (t) => {
  const b = await broker(t, {
    limits: { receiveMaximum: 2 },
    hooks: [{ authorizePublish: () => new Promise((resolve) => setTimeout(() => resolve({ ok: true }), 50)) }],
  });
  const c = await raw(t, b, { protocolVersion: 4, clientId: 'rm-v311-async' });
  for (let id = 1; id <= 6; id++) c.send({ type: 'publish', topic: 'lim/rm', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: id });
  for (let id = 1; id <= 6; id++) assert.equal((await c.expect('puback', 3000)).packetId, id);
  assert.equal(c.closed, false);
});

test('hardening 12: a 3.1.1 client\'s unacknowledged publishes stop at the packet identifier space: with all 65,535 ids awaiting PUBREL, one more publish closes it', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b, { protocolVersion: 4, clientId: 'rm-v311-ids' });
  await unreleased(c, 1, 65_535);
  // A resent QoS 2 publish (same id) is acknowledged again [MQTT-4.3.3-9], not counted again.
  c.send({ type: 'publish', topic: 'lim/rm', payload: Buffer.from('x'), qos: 2, retain: false, dup: true, packetId: 7 });
  assert.equal((await c.expect('pubrec')).packetId, 7);
  assert.equal(b.broker.sessions.get('rm-v311-ids')!.inboundQos2Count, 65_535);
  // Any further QoS 1/2 publish reuses an identifier still in use [MQTT-2.3.1-2].
  c.send({ type: 'publish', topic: 'lim/rm', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 7 });
  await c.closedByServer();
  assert.equal(b.broker.stats.protocolErrors[0x82], 1);
});

test('hardening 12: a 5.0 client is still held to limits.receiveMaximum: the publish beyond it gets DISCONNECT 0x93 [MQTT-3.3.4-9]', async (t) => {
  const b = await broker(t, { limits: { receiveMaximum: 3 } });
  const c = await raw(t, b, { clientId: 'rm-v5' });
  await unreleased(c, 1, 3);
  c.send({ type: 'publish', topic: 'lim/rm', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, packetId: 4 });
  assert.equal((await c.expect('disconnect')).reasonCode, 0x93);
  await c.closedByServer();
});
