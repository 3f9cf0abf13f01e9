// Bounds on state any client can make the broker keep for others: retained messages (count
// and payload bytes, limits.maxRetainedMessages and maxRetainedBytes) and sessions
// (limits.maxSessions). A 5.0 client is told with 0x97 Quota exceeded where the packet can
// carry it; a 3.1/3.1.1 client's retained publish still goes out, unretained, and its CONNACK
// says 0x03 Server unavailable. Every hit counts in broker.stats.limited.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectPacket, ProtocolVersion, QoS } from '../../src/codec/types.js';
import { RETAINED_MESSAGE_OVERHEAD, RETAINED_NODE_OVERHEAD } from '../../src/broker/bounds.js';
import { encode } from '../../src/codec/index.js';
import { Metrics } from '../../src/ops/metrics.js';
import { RawClient, delay, type TestBroker } from '../helpers/broker.js';
import { broker, logCapture, raw, real, type Ctx } from '../helpers/scenario.js';

let nextId = 1;
const V: Record<ProtocolVersion, string> = { 3: '3.1', 4: '3.1.1', 5: '5.0' };
const proto = (version: ProtocolVersion): Partial<ConnectPacket> => ({ protocolVersion: version, protocolName: version === 3 ? 'MQIsdp' : 'MQTT' });

/** A 5.0 client subscribed to `filter`. */
async function subscriber(t: Ctx, b: TestBroker, filter: string): Promise<RawClient> {
  const c = await raw(t, b);
  c.send({ type: 'subscribe', packetId: nextId++, subscriptions: [{ topicFilter: filter, qos: 0 }] });
  await c.expect('suback');
  return c;
}

/** Publishes retained and returns the acknowledgement's reason code (QoS 1/2, 0 for success), or undefined (QoS 0). */
async function publishRetained(c: RawClient, topic: string, payload: string, qos: QoS = 1): Promise<number | undefined> {
  const packetId = qos > 0 ? nextId++ : undefined;
  c.send({ type: 'publish', topic, payload: Buffer.from(payload), qos, retain: true, dup: false, ...(packetId !== undefined && { packetId }) });
  if (qos === 0) return undefined;
  const ack = await c.expect(qos === 1 ? 'puback' : 'pubrec');
  assert.equal(ack.packetId, packetId);
  if (qos === 2 && (ack.reasonCode ?? 0) < 0x80) {
    c.send({ type: 'pubrel', packetId: packetId! });
    await c.expect('pubcomp');
  }
  // 0x10 No matching subscribers is a success too: the message was accepted.
  return ack.reasonCode === 0x10 ? 0 : (ack.reasonCode ?? 0);
}

/** The retained payloads a new subscription to `filter` is sent, sorted. */
async function retainedOn(t: Ctx, b: TestBroker, filter: string): Promise<string[]> {
  const c = await raw(t, b);
  c.send({ type: 'subscribe', packetId: nextId++, subscriptions: [{ topicFilter: filter, qos: 0 }] });
  await c.expect('suback');
  const got: string[] = [];
  for (;;) {
    try {
      got.push((await c.expect('publish', 150)).payload.toString());
    } catch {
      c.destroy();
      return got.sort();
    }
  }
}

// Retained messages.

test('5.0 QoS 1: a retained publish beyond limits.maxRetainedMessages gets PUBACK 0x97 and is not delivered [MQTT-3.3.1-5, 3.4.2.1]', async (t) => {
  const b = await broker(t, { limits: { maxRetainedMessages: 2 } });
  const sub = await subscriber(t, b, 'ret/#');
  const c = await raw(t, b);
  assert.equal(await publishRetained(c, 'ret/a', 'a'), 0);
  assert.equal(await publishRetained(c, 'ret/b', 'b'), 0);
  assert.equal((await sub.expect('publish')).payload.toString(), 'a');
  assert.equal((await sub.expect('publish')).payload.toString(), 'b');
  assert.equal(await publishRetained(c, 'ret/c', 'c'), 0x97);
  await sub.silent(150);
  assert.equal(b.broker.retained.size, 2);
  assert.equal(b.broker.stats.limited.retained, 1);
  assert.deepEqual(await retainedOn(t, b, 'ret/#'), ['a', 'b']);
});

test('5.0 QoS 2: a retained publish beyond the bound gets PUBREC 0x97; the packet id is not kept [MQTT-4.3.3-10, 3.5.2.1]', async (t) => {
  const b = await broker(t, { limits: { maxRetainedMessages: 1 } });
  const sub = await subscriber(t, b, 'ret2/#');
  const c = await raw(t, b);
  assert.equal(await publishRetained(c, 'ret2/a', 'a', 2), 0);
  await sub.expect('publish');
  const packetId = nextId++;
  c.send({ type: 'publish', topic: 'ret2/b', payload: Buffer.from('b'), qos: 2, retain: true, dup: false, packetId });
  assert.equal((await c.expect('pubrec')).reasonCode, 0x97);
  // A refused QoS 2 publish ends with the PUBREC: a PUBREL for it finds no packet id.
  c.send({ type: 'pubrel', packetId });
  assert.equal((await c.expect('pubcomp')).reasonCode, 0x92);
  await sub.silent(150);
  assert.equal(b.broker.stats.limited.retained, 1);
  assert.equal(b.broker.connections.size, 2);
});

test('5.0 QoS 0: a retained publish beyond the bound is delivered but not retained, and counted', async (t) => {
  const b = await broker(t, { limits: { maxRetainedMessages: 1 } });
  const sub = await subscriber(t, b, 'ret0/#');
  const c = await raw(t, b);
  await publishRetained(c, 'ret0/a', 'a', 0);
  await publishRetained(c, 'ret0/b', 'b', 0);
  assert.equal((await sub.expect('publish')).payload.toString(), 'a');
  assert.equal((await sub.expect('publish')).payload.toString(), 'b');
  assert.equal(b.broker.stats.limited.retained, 1);
  assert.deepEqual(await retainedOn(t, b, 'ret0/#'), ['a']);
});

for (const version of [3, 4] as const) {
  test(`${V[version]}: a retained QoS 1 publish beyond the bound is acknowledged, delivered and not retained [MQTT-3.3.5-2]`, async (t) => {
    const b = await broker(t, { limits: { maxRetainedMessages: 1 } });
    const sub = await subscriber(t, b, `old${version}/#`);
    const c = await raw(t, b, proto(version));
    assert.equal(await publishRetained(c, `old${version}/a`, 'a'), 0);
    // 3.1.1 has no way to refuse a publish: the PUBACK carries no reason code.
    assert.equal(await publishRetained(c, `old${version}/b`, 'b'), 0);
    assert.equal((await sub.expect('publish')).payload.toString(), 'a');
    assert.equal((await sub.expect('publish')).payload.toString(), 'b');
    assert.equal(b.broker.stats.limited.retained, 1);
    assert.deepEqual(await retainedOn(t, b, `old${version}/#`), ['a']);
  });
}

test('at the count bound, replacing a retained message and deleting one still work [MQTT-3.3.1-5, MQTT-3.3.1-6]', async (t) => {
  const b = await broker(t, { limits: { maxRetainedMessages: 2 } });
  const c = await raw(t, b);
  assert.equal(await publishRetained(c, 'rep/a', 'a'), 0);
  assert.equal(await publishRetained(c, 'rep/b', 'b'), 0);
  // Replacing does not add a topic, whatever the size (the count bound only).
  assert.equal(await publishRetained(c, 'rep/a', 'a-longer'), 0);
  assert.deepEqual(await retainedOn(t, b, 'rep/#'), ['a-longer', 'b']);
  // Deleting (empty payload) always works and makes room.
  assert.equal(await publishRetained(c, 'rep/b', ''), 0);
  assert.equal(await publishRetained(c, 'rep/c', 'c'), 0);
  assert.deepEqual(await retainedOn(t, b, 'rep/#'), ['a-longer', 'c']);
  assert.equal(b.broker.stats.limited.retained, 0);
});

test('limits.maxRetainedBytes bounds the bytes: a new topic or a larger replacement beyond it is refused; one no larger is not', async (t) => {
  // by/a adds two trie nodes (by, a); by/b and by/c one each.
  const first = 5 + 'by/a'.length + RETAINED_MESSAGE_OVERHEAD + 2 * RETAINED_NODE_OVERHEAD;
  const second = 5 + 'by/b'.length + RETAINED_MESSAGE_OVERHEAD + RETAINED_NODE_OVERHEAD;
  const b = await broker(t, { limits: { maxRetainedBytes: first + second } });
  const c = await raw(t, b);
  assert.equal(await publishRetained(c, 'by/a', '12345'), 0);
  assert.equal(await publishRetained(c, 'by/b', '12345'), 0);
  assert.equal(b.broker.retained.bytes, first + second);
  assert.equal(await publishRetained(c, 'by/c', 'x'), 0x97);
  assert.equal(await publishRetained(c, 'by/a', '123456'), 0x97);
  assert.equal(await publishRetained(c, 'by/a', 'abcde'), 0);
  assert.equal(await publishRetained(c, 'by/a', 'abc'), 0);
  assert.equal(b.broker.retained.bytes, first + second - 2);
  assert.equal(await publishRetained(c, 'by/b', ''), 0);
  assert.equal(b.broker.retained.bytes, first - 2);
  assert.equal(await publishRetained(c, 'by/c', 'xy'), 0);
  assert.equal(b.broker.stats.limited.retained, 2);
  assert.deepEqual(await retainedOn(t, b, 'by/#'), ['abc', 'xy']);
});

test('hardening 5: limits.maxRetainedBytes counts topics: 1-byte retained messages under 60 KB topics stop at the bound', async (t) => {
  const maxRetainedBytes = 1024 * 1024;
  const b = await broker(t, { limits: { maxRetainedBytes } });
  const c = await raw(t, b);
  let stored = 0;
  for (let i = 0; i < 40; i++) {
    const code = await publishRetained(c, `long/${i}/`.padEnd(60_000, 'x'), 'x');
    if (code === 0x97) break;
    assert.equal(code, 0);
    stored++;
  }
  // 1 MiB holds 17 of them (60,000 + 1 + 128 + 256 or 512 bytes each).
  assert.equal(stored, 17);
  assert.equal(b.broker.retained.size, 17);
  assert.ok(b.broker.retained.bytes <= maxRetainedBytes);
  assert.equal(b.broker.stats.limited.retained, 1);
  // Deleting one makes room for another.
  assert.equal(await publishRetained(c, 'long/0/'.padEnd(60_000, 'x'), ''), 0);
  assert.equal(await publishRetained(c, 'long/99/'.padEnd(60_000, 'x'), 'x'), 0);
});

test('hardening 5: limits.maxRetainedBytes counts the levels a topic adds: 100 levels of 2 bytes cost 100 trie nodes', async (t) => {
  const b = await broker(t, { limits: { maxRetainedBytes: 64 * 1024 } });
  const c = await raw(t, b);
  const deep = (i: number): string => `deep/${i}${'/a'.repeat(100)}`;
  // Each adds 101 nodes (its own second level and the 100 below it): 26,000 bytes or so.
  assert.equal(await publishRetained(c, deep(1), 'x'), 0);
  assert.equal(await publishRetained(c, deep(2), 'x'), 0);
  assert.equal(await publishRetained(c, deep(3), 'x'), 0x97);
  assert.equal(b.broker.retained.size, 2);
  // A topic that shares all its levels with one held adds no node: it fits.
  assert.equal(await publishRetained(c, `deep/1${'/a'.repeat(50)}`, 'x'), 0);
  assert.equal(b.broker.retained.size, 3);
});

test('a will with retain beyond the bound is published but not retained [MQTT-3.1.2-8]', async (t) => {
  const b = await broker(t, { limits: { maxRetainedMessages: 1 } });
  b.broker.publish({ topic: 'full', payload: Buffer.from('x'), qos: 0, retain: true });
  const sub = await subscriber(t, b, 'will/#');
  const c = await RawClient.connect(b.port, { clientId: 'will-bound', will: { topic: 'will/gone', payload: Buffer.from('gone'), qos: 1, retain: true } });
  c.destroy();
  assert.equal((await sub.expect('publish')).payload.toString(), 'gone');
  assert.equal(b.broker.stats.limited.retained, 1);
  assert.deepEqual(await retainedOn(t, b, 'will/#'), []);
});

test('broker-made retained publishes ($SYS, the embedding API) follow the same bound', async (t) => {
  const b = await broker(t, { limits: { maxRetainedMessages: 1 } });
  const sub = await subscriber(t, b, 'api/#');
  b.broker.publish({ topic: 'api/a', payload: Buffer.from('a'), qos: 0, retain: true });
  assert.equal(b.broker.publish({ topic: 'api/b', payload: Buffer.from('b'), qos: 0, retain: true }), 1);
  assert.equal((await sub.expect('publish')).payload.toString(), 'a');
  assert.equal((await sub.expect('publish')).payload.toString(), 'b');
  assert.equal(b.broker.retained.size, 1);
  assert.equal(b.broker.stats.limited.retained, 1);
});

test('the retained bounds are live, 0 means unlimited, and expired messages make room', async (t) => {
  const b = await broker(t, { limits: { maxRetainedMessages: 1 } });
  const c = await raw(t, b);
  assert.equal(await publishRetained(c, 'live/a', 'a'), 0);
  assert.equal(await publishRetained(c, 'live/b', 'b'), 0x97);
  b.broker.setLimits({ maxRetainedMessages: 0 });
  assert.equal(await publishRetained(c, 'live/b', 'b'), 0);
  b.broker.setLimits({ maxRetainedMessages: 2 });
  assert.equal(await publishRetained(c, 'live/c', 'c'), 0x97);
  // [MQTT-3.3.2-5] an expired message is no longer retained: it does not hold a place.
  c.send({ type: 'publish', topic: 'live/b', payload: Buffer.from('b'), qos: 1, retain: true, dup: false, packetId: nextId++, properties: { messageExpiryInterval: 1 } });
  assert.ok(((await c.expect('puback')).reasonCode ?? 0) < 0x80);
  await delay(1100);
  assert.equal(await publishRetained(c, 'live/c', 'c'), 0);
  assert.deepEqual(await retainedOn(t, b, 'live/#'), ['a', 'c']);
});

test('a refusal is logged at warn at most once a minute, and the counter reaches /metrics', async (t) => {
  const { lines, logDestination } = logCapture();
  const b = await broker(t, { limits: { maxRetainedMessages: 1 }, logLevel: 'warn', logDestination });
  const c = await raw(t, b);
  assert.equal(await publishRetained(c, 'log/a', 'a'), 0);
  for (const topic of ['log/b', 'log/c', 'log/d']) assert.equal(await publishRetained(c, topic, 'x'), 0x97);
  await delay(50);
  const warnings = lines.filter((l) => l.limit === 'retained');
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.level, 40);
  const metrics = new Metrics(b.broker, 'test');
  t.after(() => metrics.stop());
  const text = metrics.render();
  assert.match(text, /^starling_limit_hits_total\{limit="retained"\} 3$/m);
  assert.match(text, /^starling_limit_hits_total\{limit="sessions"\} 0$/m);
  // log/a: a 1-byte payload, its 5-character topic, two trie nodes (log, a).
  assert.match(text, new RegExp(`^starling_retained_bytes ${1 + 5 + RETAINED_MESSAGE_OVERHEAD + 2 * RETAINED_NODE_OVERHEAD}$`, 'm'));
});

// Sessions.

/** A 5.0 persistent session, then disconnected: it stays held. */
async function awaySession(t: Ctx, b: TestBroker, clientId: string): Promise<void> {
  const c = await raw(t, b, { clientId, clean: false, properties: { sessionExpiryInterval: 600 } });
  c.send({ type: 'disconnect', reasonCode: 0 });
  await c.closedByServer();
}

/** Sends CONNECT and returns the CONNACK's reason code (3.1/3.1.1: return code). */
async function connackCode(t: Ctx, b: TestBroker, connect: Partial<ConnectPacket>): Promise<{ code: number; sessionPresent: boolean; client: RawClient }> {
  const version = connect.protocolVersion ?? 5;
  const c = await RawClient.open(b.port, version);
  t.after(() => c.destroy());
  c.send({ type: 'connect', protocolName: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: `s-${nextId++}`, ...connect });
  const ack = await c.expect('connack');
  return { code: ack.reasonCode, sessionPresent: ack.sessionPresent, client: c };
}

test('5.0: a CONNECT that would create a session beyond limits.maxSessions gets CONNACK 0x97 [MQTT-3.2.2-7]', async (t) => {
  const b = await broker(t, { limits: { maxSessions: 2 } });
  await awaySession(t, b, 'kept-1');
  await awaySession(t, b, 'kept-2');
  const r = await connackCode(t, b, { clientId: 'new-one', clean: false, properties: { sessionExpiryInterval: 600 } });
  assert.equal(r.code, 0x97);
  assert.equal(r.sessionPresent, false); // [MQTT-3.2.2-6]
  await r.client.closedByServer();
  assert.equal(b.broker.sessions.size, 2);
  assert.equal(b.broker.stats.limited.sessions, 1);
});

for (const version of [3, 4] as const) {
  test(`${V[version]}: a CONNECT beyond limits.maxSessions gets CONNACK return code 0x03 Server unavailable [MQTT-3.2.2-5]`, async (t) => {
    const b = await broker(t, { limits: { maxSessions: 1 } });
    await awaySession(t, b, `kept-${version}`);
    const r = await connackCode(t, b, { ...proto(version), clientId: `new-${version}`, clean: false });
    assert.equal(r.code, 0x03);
    await r.client.closedByServer();
    assert.equal(b.broker.stats.limited.sessions, 1);
  });
}

test('connected clients hold sessions too: at the bound a new client waits until one leaves', async (t) => {
  const b = await broker(t, { limits: { maxSessions: 1 } });
  const a = await raw(t, b, { clientId: 'clean-a' });
  assert.equal((await connackCode(t, b, { clientId: 'clean-b' })).code, 0x97);
  a.send({ type: 'disconnect', reasonCode: 0 });
  await a.closedByServer();
  assert.equal((await connackCode(t, b, { clientId: 'clean-b' })).code, 0);
  assert.equal(b.broker.stats.limited.sessions, 1);
});

test('at the bound, a client resuming its own session is accepted with Session Present [MQTT-3.2.2-2]', async (t) => {
  const b = await broker(t, { limits: { maxSessions: 1 } });
  await awaySession(t, b, 'resume-me');
  const r = await connackCode(t, b, { clientId: 'resume-me', clean: false, properties: { sessionExpiryInterval: 600 } });
  assert.equal(r.code, 0);
  assert.equal(r.sessionPresent, true);
  // Clean Start 1 replaces the session: still one, still accepted.
  r.client.send({ type: 'disconnect', reasonCode: 0 });
  await r.client.closedByServer();
  const clean = await connackCode(t, b, { protocolVersion: 4, clientId: 'resume-me', clean: true });
  assert.equal(clean.code, 0);
  assert.equal(b.broker.stats.limited.sessions, 0);
});

for (const version of [4, 5] as const) {
  test(`${V[version]}: at the bound, taking over a connected client's session is not refused [MQTT-3.1.4-3]`, async (t) => {
    const b = await broker(t, { limits: { maxSessions: 1 } });
    const old = await raw(t, b, { ...proto(version), clientId: 'taken', clean: false, ...(version === 5 && { properties: { sessionExpiryInterval: 600 } }) });
    const r = await connackCode(t, b, { ...proto(version), clientId: 'taken', clean: false, ...(version === 5 && { properties: { sessionExpiryInterval: 600 } }) });
    assert.equal(r.code, 0);
    assert.equal(r.sessionPresent, true);
    if (version === 5) assert.equal((await old.expect('disconnect')).reasonCode, 0x8e);
    await old.closedByServer();
    assert.equal(b.broker.stats.limited.sessions, 0);
  });
}

test('limits.maxSessions is live and 0 means unlimited', async (t) => {
  const b = await broker(t, { limits: { maxSessions: 1 } });
  await awaySession(t, b, 'live-1');
  assert.equal((await connackCode(t, b, { clientId: 'live-2' })).code, 0x97);
  b.broker.setLimits({ maxSessions: 0 });
  assert.equal((await connackCode(t, b, { clientId: 'live-2' })).code, 0);
  b.broker.setLimits({ maxSessions: 3 });
  assert.equal((await connackCode(t, b, { clientId: 'live-3' })).code, 0);
  assert.equal((await connackCode(t, b, { clientId: 'live-4' })).code, 0x97);
  assert.equal(b.broker.stats.limited.sessions, 2);
});

// Packets before CONNECT is accepted (limits.maxConnectPacketSize).

/** The start of a CONNECT declaring `size` bytes in all: fixed header, protocol name and level, flags, keep alive. */
function connectHead(size: number, version: ProtocolVersion): Buffer {
  const name = version === 3 ? 'MQIsdp' : 'MQTT';
  let body = size - 5; // a four-byte Remaining Length
  const length = [];
  for (let i = 0; i < 4; i++, body >>= 7) length.push((body & 0x7f) | (i < 3 ? 0x80 : 0));
  return Buffer.concat([Buffer.from([0x10, ...length, 0, name.length]), Buffer.from(name), Buffer.from([version, 0x02, 0, 0])]);
}

test('hardening 6: a 5.0 CONNECT larger than limits.maxConnectPacketSize gets CONNACK 0x95 from its first bytes, before the rest is sent', async (t) => {
  const b = await broker(t);
  assert.equal(b.broker.limits.maxConnectPacketSize, 64 * 1024);
  const c = await RawClient.open(b.port, 5);
  t.after(() => c.destroy());
  c.sendRaw(connectHead(64 * 1024 + 1, 5));
  assert.equal((await c.expect('connack')).reasonCode, 0x95);
  await c.closedByServer();
  assert.equal(b.broker.stats.limited.connect_packet, 1);
  assert.equal(b.broker.stats.protocolErrors[0x95], 1);
});

for (const version of [3, 4] as const) {
  test(`hardening 6: a ${V[version]} CONNECT larger than limits.maxConnectPacketSize is closed from its first bytes, without CONNACK`, async (t) => {
    const b = await broker(t);
    const c = await RawClient.open(b.port, version);
    t.after(() => c.destroy());
    c.sendRaw(connectHead(1024 * 1024, version));
    await c.closedByServer();
    assert.equal(c.packets.length, 0);
    assert.equal(b.broker.stats.limited.connect_packet, 1);
  });
}

test('hardening 6: the CONNECT bound is live and capped by limits.maxPacketSize; a CONNECT at the bound is accepted', async (t) => {
  const b = await broker(t, { limits: { maxConnectPacketSize: 200 } });
  const c = await RawClient.open(b.port, 5);
  t.after(() => c.destroy());
  c.sendRaw(connectHead(201, 5));
  assert.equal((await c.expect('connack')).reasonCode, 0x95);
  // A CONNECT of exactly 200 bytes: its password fills it up.
  const fill = { type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'at-bound', username: 'u' } as const;
  // (A longer Remaining Length takes one more byte: 200 is past the one-byte encoding.)
  const base = encode({ ...fill, password: Buffer.alloc(0) }, 5).length + 1;
  const exact = encode({ ...fill, password: Buffer.alloc(200 - base) }, 5);
  assert.equal(exact.length, 200);
  const ok = await RawClient.open(b.port, 5);
  t.after(() => ok.destroy());
  ok.sendRaw(exact);
  assert.equal((await ok.expect('connack')).reasonCode, 0);
  b.broker.setLimits({ maxConnectPacketSize: 64 * 1024, maxPacketSize: 100 });
  const small = await RawClient.open(b.port, 5);
  t.after(() => small.destroy());
  small.sendRaw(connectHead(101, 5));
  assert.equal((await small.expect('connack')).reasonCode, 0x95);
  assert.equal(b.broker.stats.limited.connect_packet, 2);
});

test('hardening 6: once connected a client may send packets up to limits.maxPacketSize, even right behind its CONNECT (MQTT.js, 60 KB will)', async (t) => {
  const b = await broker(t);
  const big = Buffer.alloc(500 * 1024, 0x61);
  const c = await real(t, b, { clientId: 'big-will', will: { topic: 'cap/will', payload: Buffer.alloc(60_000, 0x62), qos: 0, retain: false } });
  await c.subscribeAsync('cap/big', { qos: 1 });
  const got = new Promise<Buffer>((resolve) => c.once('message', (_topic, payload) => resolve(payload)));
  await c.publishAsync('cap/big', big, { qos: 1 });
  assert.equal((await got).length, big.length);
  // Pipelined: a 100 KB PUBLISH in the same write as its CONNECT.
  const raw = await RawClient.open(b.port, 4);
  t.after(() => raw.destroy());
  const connect = encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'pipelined' }, 4);
  const publish = encode({ type: 'publish', topic: 'cap/big', payload: Buffer.alloc(100 * 1024), qos: 1, packetId: 1, retain: false, dup: false }, 4);
  raw.sendRaw(Buffer.concat([connect, publish]));
  assert.equal((await raw.expect('connack')).reasonCode, 0);
  assert.equal((await raw.expect('puback')).packetId, 1);
  assert.equal(b.broker.stats.limited.connect_packet, 0);
});
