// PUBLISH from client to subscribers (5.0 and 3.1.1 section 3.3, ordering in 4.6): every
// matching session gets the message, in the order it was published, across protocol
// versions, and clients cannot publish to the server's `$` topics.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QoS } from '../../src/codec/types.js';
import { RawClient } from '../helpers/broker.js';
import { broker, raw, real } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';

async function subscribe(c: RawClient, topicFilter: string, qos: QoS, packetId = 1): Promise<void> {
  c.send({ type: 'subscribe', packetId, subscriptions: [{ topicFilter, qos }] });
  assert.equal((await c.expect('suback')).reasonCodes[0], qos);
}

for (const protocolVersion of [5, 4] as const) {
  test(`1,000 numbered QoS 1 messages from one client reach a subscriber in the order they were published (${protocolVersion === 5 ? '5.0' : '3.1.1'}) [MQTT-4.6.0-5] [MQTT-4.6.0-6]`, async (t) => {
    const b = await broker(t);
    const sub = await real(t, b, { protocolVersion });
    const got: number[] = [];
    sub.on('message', (_topic, payload) => got.push(Number(payload.toString())));
    await sub.subscribeAsync('order/t', { qos: 1 });
    const pub = await real(t, b, { protocolVersion });
    const acks: Array<Promise<unknown>> = [];
    for (let i = 0; i < 1000; i++) acks.push(pub.publishAsync('order/t', String(i), { qos: 1 }));
    await Promise.all(acks);
    await until('1000 messages', () => got.length >= 1000);
    assert.deepEqual(got, Array.from({ length: 1000 }, (_, i) => i));
  });
}

test('a message goes to every session with a matching subscription, including a disconnected persistent one (5.0) [MQTT-4.5.0-1]', async (t) => {
  const b = await broker(t);
  const exact = await raw(t, b);
  await subscribe(exact, 'fan/a/b', 1);
  const plus = await raw(t, b);
  await subscribe(plus, 'fan/+/b', 1);
  const away = await raw(t, b, { clientId: 'fan-away', properties: { sessionExpiryInterval: 60 } });
  await subscribe(away, 'fan/#', 1);
  away.send({ type: 'disconnect' });
  await away.closedByServer();
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: 'fan/a/b', payload: Buffer.from('to all'), qos: 1, retain: false, dup: false, packetId: 1 });
  await pub.expect('puback');
  assert.equal((await exact.expect('publish')).payload.toString(), 'to all');
  assert.equal((await plus.expect('publish')).payload.toString(), 'to all');
  const back = await RawClient.open(b.port);
  t.after(() => back.destroy());
  back.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId: 'fan-away', properties: { sessionExpiryInterval: 60 } });
  assert.equal((await back.expect('connack')).sessionPresent, true);
  assert.equal((await back.expect('publish')).payload.toString(), 'to all');
});

test('a 3.1.1 persistent session receives the QoS 1 messages published while it was disconnected [MQTT-3.1.2-5] [MQTT-4.5.0-1]', async (t) => {
  const b = await broker(t);
  const first = await raw(t, b, { protocolVersion: 4, clientId: 'offline-311', clean: false });
  await subscribe(first, 'offline/311', 1);
  first.send({ type: 'disconnect' });
  await first.closedByServer();
  for (let i = 0; i < 3; i++) b.broker.publish({ topic: 'offline/311', payload: Buffer.from(`m${i}`), qos: 1, retain: false });
  const back = await RawClient.open(b.port, 4);
  t.after(() => back.destroy());
  back.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: false, keepalive: 0, clientId: 'offline-311' });
  assert.equal((await back.expect('connack')).sessionPresent, true);
  for (let i = 0; i < 3; i++) {
    const p = await back.expect('publish');
    assert.equal(p.payload.toString(), `m${i}`);
    back.send({ type: 'puback', packetId: p.packetId! });
  }
});

for (const [version, name] of [[5, '5.0'], [4, '3.1.1']] as const) {
  test(`the DUP flag of a forwarded PUBLISH is 0 even when the incoming one had DUP 1 (${name}) [MQTT-3.3.1-3]`, async (t) => {
    const b = await broker(t);
    const sub = await raw(t, b, { protocolVersion: version });
    await subscribe(sub, 'dup/t', 1);
    const pub = await raw(t, b, { protocolVersion: version });
    pub.send({ type: 'publish', topic: 'dup/t', payload: Buffer.from('x'), qos: 1, retain: false, dup: true, packetId: 3 });
    await pub.expect('puback');
    const p = await sub.expect('publish');
    assert.equal(p.dup, false);
  });
}

test('a 5.0 QoS 1 publish that matches no subscription is acknowledged with 0x10 No matching subscribers', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: 'nobody/listens', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 1 });
  assert.equal((await pub.expect('puback')).reasonCode, 0x10);
});

test('a 5.0 client publishing to a $ topic gets PUBACK 0x87 and the message reaches nobody', async (t) => {
  const b = await broker(t);
  const sys = await raw(t, b);
  await subscribe(sys, '$SYS/#', 1);
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: '$SYS/fake', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 2 });
  assert.equal((await pub.expect('puback')).reasonCode, 0x87);
  await sys.silent(200);
  // Positive control: the same publisher's message to an ordinary topic reaches the same subscriber.
  await subscribe(sys, 'news/#', 1, 3);
  pub.send({ type: 'publish', topic: 'news/real', payload: Buffer.from('y'), qos: 1, retain: false, dup: false, packetId: 4 });
  await pub.expect('puback');
  assert.equal((await sys.expect('publish')).topic, 'news/real');
});

test('a 3.1.1 client publishing to a $ topic gets a plain PUBACK and the message reaches nobody', async (t) => {
  const b = await broker(t);
  const sys = await raw(t, b, { protocolVersion: 4 });
  await subscribe(sys, '$SYS/#', 1);
  const pub = await raw(t, b, { protocolVersion: 4 });
  pub.send({ type: 'publish', topic: '$SYS/fake', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 2 });
  const ack = await pub.expect('puback');
  assert.equal(ack.reasonCode ?? 0, 0);
  await sys.silent(200);
  // Positive control: the same publisher's message to an ordinary topic reaches the same subscriber.
  await subscribe(sys, 'news/#', 1, 3);
  pub.send({ type: 'publish', topic: 'news/real', payload: Buffer.from('y'), qos: 1, retain: false, dup: false, packetId: 4 });
  await pub.expect('puback');
  assert.equal((await sys.expect('publish')).topic, 'news/real');
});

test('a message from a 5.0 publisher reaches 3.1.1 and 3.1 subscribers intact, without 5.0 properties', async (t) => {
  const b = await broker(t);
  const v311 = await raw(t, b, { protocolVersion: 4 });
  await subscribe(v311, 'versions/t', 1);
  const v31 = await raw(t, b, { protocolVersion: 3, clientId: 'v31-sub' });
  await subscribe(v31, 'versions/t', 1);
  const pub = await real(t, b, { protocolVersion: 5 });
  await pub.publishAsync('versions/t', 'hello', { qos: 1, properties: { userProperties: { a: 'b' }, contentType: 'text/plain', messageExpiryInterval: 60 } });
  for (const c of [v311, v31]) {
    const p = await c.expect('publish');
    assert.equal(p.topic, 'versions/t');
    assert.equal(p.payload.toString(), 'hello');
    assert.equal(p.qos, 1);
    assert.equal(p.properties, undefined);
  }
});

test('a 3.1 client publishes at QoS 1 to a 5.0 MQTT.js subscriber', async (t) => {
  const b = await broker(t);
  const sub = await real(t, b);
  const got: string[] = [];
  sub.on('message', (_topic, payload) => got.push(payload.toString()));
  await sub.subscribeAsync('from31/t', { qos: 1 });
  const pub = await raw(t, b, { protocolVersion: 3, clientId: 'v31-pub' });
  pub.send({ type: 'publish', topic: 'from31/t', payload: Buffer.from('old'), qos: 1, retain: false, dup: false, packetId: 1 });
  assert.equal((await pub.expect('puback')).packetId, 1);
  await until('the 3.1 message', () => got.length === 1);
  assert.deepEqual(got, ['old']);
});

test('a 512 KiB payload is forwarded byte for byte', async (t) => {
  const b = await broker(t);
  const sub = await real(t, b);
  let got: Buffer | undefined;
  sub.on('message', (_topic, payload) => (got = payload));
  await sub.subscribeAsync('big/t', { qos: 1 });
  const pub = await real(t, b);
  const payload = Buffer.alloc(512 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  await pub.publishAsync('big/t', payload, { qos: 1 });
  await until('the big message', () => got !== undefined);
  assert.ok(got!.equals(payload));
});

test('a PUBLISH above the Maximum QoS the broker advertised gets DISCONNECT 0x9B [MQTT-3.2.2-11]', async (t) => {
  const b = await broker(t, { maximumQoS: 1 });
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: 'maxqos/t', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 1 });
  await pub.expect('puback');
  pub.send({ type: 'publish', topic: 'maxqos/t', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, packetId: 2 });
  assert.equal((await pub.expect('disconnect')).reasonCode, 0x9b);
  await pub.closedByServer();
});

test('a retained PUBLISH to a broker without retained messages gets DISCONNECT 0x9A and is not stored [MQTT-3.2.2-14]', async (t) => {
  const b = await broker(t, { retainAvailable: false });
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: 'noretain/t', payload: Buffer.from('x'), qos: 0, retain: true, dup: false });
  assert.equal((await pub.expect('disconnect')).reasonCode, 0x9a);
  await pub.closedByServer();
  assert.equal(b.broker.retained.size, 0);
});
