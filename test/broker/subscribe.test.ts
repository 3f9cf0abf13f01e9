// SUBSCRIBE/SUBACK and UNSUBSCRIBE/UNSUBACK (5.0 and 3.1.1 sections 3.8 to 3.11): one
// return code per filter in order, replacement of an existing subscription, overlapping
// subscriptions, No Local, Subscription Identifiers, and `$` topics (section 4.7.2).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QoS, Subscription } from '../../src/codec/types.js';
import { RawClient, delay } from '../helpers/broker.js';
import { broker, raw, real } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';

let nextId = 1;
async function subscribe(c: RawClient, subs: Subscription[], subscriptionIdentifier?: number): Promise<number[]> {
  const packetId = nextId++;
  c.send({ type: 'subscribe', packetId, subscriptions: subs, ...(subscriptionIdentifier !== undefined && { properties: { subscriptionIdentifier } }) });
  const ack = await c.expect('suback');
  assert.equal(ack.packetId, packetId);
  return ack.reasonCodes;
}

async function publish(c: RawClient, topic: string, payload: string, qos: QoS = 0): Promise<void> {
  const packetId = qos > 0 ? nextId++ : undefined;
  c.send({ type: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false, ...(packetId && { packetId }) });
  if (qos === 1) await c.expect('puback');
}

test('SUBACK carries the SUBSCRIBE packet identifier and one granted QoS per filter, in order (5.0) [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-5] [MQTT-3.8.4-6] [MQTT-3.8.4-7] [MQTT-3.9.3-1] [MQTT-2.2.1-6]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b);
  c.send({ type: 'subscribe', packetId: 0x1234, subscriptions: [{ topicFilter: 'sub/two', qos: 2 }, { topicFilter: 'sub/zero', qos: 0 }, { topicFilter: 'sub/+/one', qos: 1 }] });
  const ack = await c.expect('suback');
  assert.equal(ack.packetId, 0x1234);
  assert.deepEqual(ack.reasonCodes, [2, 0, 1]);
  // Each filter became a subscription of its own.
  await publish(c, 'sub/zero', 'z');
  assert.equal((await c.expect('publish')).topic, 'sub/zero');
  await publish(c, 'sub/x/one', 'o');
  assert.equal((await c.expect('publish')).topic, 'sub/x/one');
});

test('SUBACK carries the packet identifier and one return code per filter, in order (3.1.1) [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-4] [MQTT-3.8.4-5] [MQTT-3.9.3-1] [MQTT-2.3.1-7]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b, { protocolVersion: 4 });
  c.send({ type: 'subscribe', packetId: 77, subscriptions: [{ topicFilter: 'sub/a', qos: 1 }, { topicFilter: 'sub/b/#', qos: 2 }, { topicFilter: 'sub/c', qos: 0 }] });
  const ack = await c.expect('suback');
  assert.equal(ack.packetId, 77);
  assert.deepEqual(ack.reasonCodes, [1, 2, 0]);
});

test('an invalid filter gets 0x8F while the others in the same SUBSCRIBE are granted (5.0) [MQTT-3.8.4-5] [MQTT-3.8.4-7]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b);
  const codes = await subscribe(c, [
    { topicFilter: 'ok/one', qos: 1 },
    { topicFilter: 'bad/#/x', qos: 1 },
    { topicFilter: 'bad+', qos: 0 },
    { topicFilter: 'ok/two', qos: 2 },
  ]);
  assert.deepEqual(codes, [1, 0x8f, 0x8f, 2]);
  await publish(c, 'ok/two', 'still subscribed');
  assert.equal((await c.expect('publish')).topic, 'ok/two');
});

test('a broker with Maximum QoS 1 still accepts a SUBSCRIBE asking QoS 2, granting QoS 1 [MQTT-3.2.2-10]', async (t) => {
  const b = await broker(t, { maximumQoS: 1 });
  const c = await raw(t, b);
  assert.deepEqual(await subscribe(c, [{ topicFilter: 'mq/two', qos: 2 }, { topicFilter: 'mq/zero', qos: 0 }]), [1, 0]);
});

test('an invalid filter gets 0x80 while the others in the same SUBSCRIBE are granted (3.1.1) [MQTT-3.8.4-5]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b, { protocolVersion: 4 });
  const codes = await subscribe(c, [{ topicFilter: 'a/#/b', qos: 1 }, { topicFilter: 'ok/311', qos: 1 }]);
  assert.deepEqual(codes, [0x80, 1]);
});

test('subscribing again to the same filter replaces the subscription: one copy, at the new QoS [MQTT-3.8.4-3]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b);
  assert.deepEqual(await subscribe(c, [{ topicFilter: 'replace/t', qos: 2 }]), [2]);
  assert.deepEqual(await subscribe(c, [{ topicFilter: 'replace/t', qos: 0 }]), [0]);
  b.broker.publish({ topic: 'replace/t', payload: Buffer.from('x'), qos: 2, retain: false });
  const p = await c.expect('publish');
  assert.equal(p.qos, 0);
  await c.silent(200);
});

test('a 3.1.1 re-subscription keeps the flow of publications: no message lost or duplicated across it [MQTT-3.8.4-3]', async (t) => {
  const b = await broker(t);
  const sub = await real(t, b, { protocolVersion: 4 });
  const got: number[] = [];
  sub.on('message', (_topic, payload) => got.push(Number(payload.toString())));
  await sub.subscribeAsync('resub/flow', { qos: 1 });
  const pub = await real(t, b, { protocolVersion: 4 });
  const acks: Array<Promise<unknown>> = [];
  for (let i = 0; i < 200; i++) {
    acks.push(pub.publishAsync('resub/flow', String(i), { qos: 1 }));
    if (i === 100) acks.push(sub.subscribeAsync('resub/flow', { qos: 1 }));
  }
  await Promise.all(acks);
  await until('200 messages', () => got.length >= 200);
  await delay(100);
  assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i));
});

test('overlapping subscriptions give one copy at the highest granted QoS (5.0) [MQTT-3.3.4-2]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b);
  await subscribe(c, [{ topicFilter: 'over/#', qos: 0 }, { topicFilter: 'over/+/x', qos: 2 }, { topicFilter: 'over/a/x', qos: 1 }]);
  b.broker.publish({ topic: 'over/a/x', payload: Buffer.from('x'), qos: 2, retain: false });
  const p = await c.expect('publish');
  assert.equal(p.qos, 2);
  c.send({ type: 'pubrec', packetId: p.packetId! });
  await c.expect('pubrel');
  c.send({ type: 'pubcomp', packetId: p.packetId! });
  await c.silent(200);
});

test('overlapping subscriptions give one copy at the highest granted QoS (3.1.1) [MQTT-3.3.5-1]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b, { protocolVersion: 4 });
  await subscribe(c, [{ topicFilter: 'over311/#', qos: 1 }, { topicFilter: 'over311/t', qos: 0 }]);
  b.broker.publish({ topic: 'over311/t', payload: Buffer.from('x'), qos: 2, retain: false });
  assert.equal((await c.expect('publish')).qos, 1);
  await c.silent(200);
});

test('the one copy for overlapping subscriptions carries every matching Subscription Identifier [MQTT-3.3.4-3] [MQTT-3.3.4-4]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b);
  await subscribe(c, [{ topicFilter: 'ids/#', qos: 0 }], 7);
  await subscribe(c, [{ topicFilter: 'ids/+/leaf', qos: 1 }], 300);
  await subscribe(c, [{ topicFilter: 'ids/a/leaf', qos: 0 }]); // no identifier
  await subscribe(c, [{ topicFilter: 'ids/other', qos: 0 }], 9);
  b.broker.publish({ topic: 'ids/a/leaf', payload: Buffer.from('x'), qos: 1, retain: false });
  const p = await c.expect('publish');
  assert.deepEqual([...(p.properties?.subscriptionIdentifiers ?? [])].sort((x, y) => x - y), [7, 300]);
  c.send({ type: 'puback', packetId: p.packetId! });
  await c.silent(200);
});

test('MQTT.js receives the Subscription Identifier of its subscription with each message', async (t) => {
  const b = await broker(t);
  const c = await real(t, b);
  const ids: unknown[] = [];
  c.on('message', (_topic, _payload, packet) => ids.push(packet.properties?.subscriptionIdentifier));
  await c.subscribeAsync('mqttjs/ids', { qos: 1, properties: { subscriptionIdentifier: 42 } });
  b.broker.publish({ topic: 'mqttjs/ids', payload: Buffer.from('x'), qos: 1, retain: false });
  await until('the message', () => ids.length > 0);
  assert.equal(Array.isArray(ids[0]) ? (ids[0] as number[])[0] : ids[0], 42);
});

test('with No Local a client does not receive its own publications; others still do [MQTT-3.8.3-3]', async (t) => {
  const b = await broker(t);
  const me = await raw(t, b, { clientId: 'no-local-me' });
  await subscribe(me, [{ topicFilter: 'nl/t', qos: 0, noLocal: true }]);
  const other = await raw(t, b);
  await subscribe(other, [{ topicFilter: 'nl/t', qos: 0 }]);
  await publish(me, 'nl/t', 'mine', 1);
  assert.equal((await other.expect('publish')).payload.toString(), 'mine');
  await me.silent(200);
  await publish(other, 'nl/t', 'theirs');
  assert.equal((await me.expect('publish')).payload.toString(), 'theirs');
});

test('the Topic Name of a forwarded PUBLISH is the published name, which matches the subscriber\'s wildcard filter [MQTT-3.3.2-3]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b);
  await subscribe(c, [{ topicFilter: 'names/+/x/#', qos: 0 }]);
  await publish(c, 'names/a/x/b/c', '1');
  await publish(c, 'names/a/y', '2');
  await publish(c, 'names/b/x', '3');
  assert.equal((await c.expect('publish')).topic, 'names/a/x/b/c');
  assert.equal((await c.expect('publish')).topic, 'names/b/x');
  await c.silent(150);
});

test('filters starting with # or + do not match $ topics, while $SYS/# does [MQTT-4.7.2-1]', async (t) => {
  const b = await broker(t);
  const all = await raw(t, b);
  await subscribe(all, [{ topicFilter: '#', qos: 0 }, { topicFilter: '+/broker/load', qos: 0 }, { topicFilter: '+/+/+', qos: 0 }]);
  const sys = await raw(t, b);
  await subscribe(sys, [{ topicFilter: '$SYS/#', qos: 0 }]);
  b.broker.publish({ topic: '$SYS/broker/load', payload: Buffer.from('1'), qos: 0, retain: false });
  const p = await sys.expect('publish');
  assert.equal(p.topic, '$SYS/broker/load');
  await all.silent(200);
});

test('UNSUBACK carries the packet identifier and a reason code per filter in order; 0x11 for a filter that did not exist [MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.10.4-6] [MQTT-3.11.3-1]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b);
  await subscribe(c, [{ topicFilter: 'uns/a', qos: 0 }, { topicFilter: 'uns/b', qos: 0 }]);
  c.send({ type: 'unsubscribe', packetId: 901, topicFilters: ['uns/b', 'uns/none', 'uns/a'] });
  const ack = await c.expect('unsuback');
  assert.equal(ack.packetId, 901);
  assert.deepEqual(ack.reasonCodes, [0x00, 0x11, 0x00]);
  await publish(c, 'uns/a', 'x');
  await publish(c, 'uns/b', 'x');
  await c.silent(200);
  // Positive control: subscribed again, the same client gets its next publication.
  await subscribe(c, [{ topicFilter: 'uns/a', qos: 0 }]);
  await publish(c, 'uns/a', 'y');
  assert.equal((await c.expect('publish')).topic, 'uns/a');
});

test('UNSUBACK is sent with the packet identifier even when nothing was unsubscribed (3.1.1) [MQTT-3.10.4-4] [MQTT-3.10.4-5]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b, { protocolVersion: 4 });
  c.send({ type: 'unsubscribe', packetId: 33, topicFilters: ['never/subscribed'] });
  assert.equal((await c.expect('unsuback')).packetId, 33);
});

for (const [version, name] of [[5, '5.0'], [4, '3.1.1']] as const) {
  test(`UNSUBSCRIBE compares filters character by character: cmp/+ does not remove cmp/b, and after removal nothing more is sent (${name}) [MQTT-3.10.4-1] [MQTT-3.10.4-2]`, async (t) => {
    const b = await broker(t);
    const c = await raw(t, b, { protocolVersion: version });
    await subscribe(c, [{ topicFilter: 'cmp/b', qos: 0 }]);
    c.send({ type: 'unsubscribe', packetId: 5, topicFilters: ['cmp/+', 'cmp/#', 'CMP/b', 'cmp/b/'] });
    await c.expect('unsuback');
    await publish(c, 'cmp/b', 'kept');
    assert.equal((await c.expect('publish')).payload.toString(), 'kept');
    c.send({ type: 'unsubscribe', packetId: 6, topicFilters: ['cmp/b'] });
    await c.expect('unsuback');
    await publish(c, 'cmp/b', 'gone');
    await c.silent(200);
  });

  test(`an UNSUBSCRIBE with several filters removes each of them and is answered by one UNSUBACK (${name}) [MQTT-3.10.4-6]`, async (t) => {
    const b = await broker(t);
    const c = await raw(t, b, { protocolVersion: version });
    await subscribe(c, [{ topicFilter: 'many/a', qos: 0 }, { topicFilter: 'many/b', qos: 0 }, { topicFilter: 'many/c', qos: 0 }]);
    c.send({ type: 'unsubscribe', packetId: 12, topicFilters: ['many/a', 'many/c'] });
    assert.equal((await c.expect('unsuback')).packetId, 12);
    for (const x of ['a', 'b', 'c']) await publish(c, `many/${x}`, x);
    assert.equal((await c.expect('publish')).topic, 'many/b');
    await c.silent(150);
  });

  test(`a QoS 2 delivery started before UNSUBSCRIBE is completed after it (${name}) [MQTT-3.10.4-3]`, async (t) => {
    const b = await broker(t);
    const c = await raw(t, b, { protocolVersion: version });
    await subscribe(c, [{ topicFilter: 'uns/q2', qos: 2 }]);
    b.broker.publish({ topic: 'uns/q2', payload: Buffer.from('x'), qos: 2, retain: false });
    const p = await c.expect('publish');
    c.send({ type: 'unsubscribe', packetId: 8, topicFilters: ['uns/q2'] });
    await c.expect('unsuback');
    c.send({ type: 'pubrec', packetId: p.packetId! });
    const rel = await c.expect('pubrel');
    assert.equal(rel.packetId, p.packetId);
    assert.equal(rel.reasonCode ?? 0, 0);
  });
}

test('UNSUBACK reports 0x11 for filters that are not character-for-character equal to a subscription (5.0) [MQTT-3.10.4-1]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b);
  await subscribe(c, [{ topicFilter: 'cmp/b', qos: 0 }]);
  c.send({ type: 'unsubscribe', packetId: 5, topicFilters: ['cmp/+', 'cmp/#', 'CMP/b', 'cmp/b/', 'cmp/b'] });
  assert.deepEqual((await c.expect('unsuback')).reasonCodes, [0x11, 0x11, 0x11, 0x11, 0x00]);
});

test('MQTT.js unsubscribe stops deliveries', async (t) => {
  const b = await broker(t);
  const c = await real(t, b);
  const got: string[] = [];
  c.on('message', (_topic, payload) => got.push(payload.toString()));
  await c.subscribeAsync('mqttjs/uns', { qos: 1 });
  await c.publishAsync('mqttjs/uns', 'before', { qos: 1 });
  await c.unsubscribeAsync('mqttjs/uns');
  await c.publishAsync('mqttjs/uns', 'after', { qos: 1 });
  await delay(150);
  assert.deepEqual(got, ['before']);
});
