// Shared subscriptions `$share/{group}/{filter}` (5.0 section 4.8.2): each group gets one
// copy of a message, given to its members in turn; offline members are skipped; retained
// messages are not sent to them; No Local is not allowed on them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Subscription } from '../../src/codec/types.js';
import { RawClient, delay } from '../helpers/broker.js';
import { broker, raw, real } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';

let nextId = 1;
async function subscribe(c: RawClient, sub: Subscription): Promise<void> {
  c.send({ type: 'subscribe', packetId: nextId++, subscriptions: [sub] });
  assert.deepEqual((await c.expect('suback')).reasonCodes, [sub.qos]);
}

test('a shared group gets one copy of each message, balanced across its members: 10 messages to 2 members give 5 each', async (t) => {
  const b = await broker(t);
  const counts = [0, 0];
  for (const i of [0, 1]) {
    const m = await real(t, b, { clientId: `share-rr-${i}` });
    m.on('message', () => counts[i]!++);
    await m.subscribeAsync('$share/workers/jobs/#', { qos: 1 });
  }
  const pub = await real(t, b);
  for (let i = 0; i < 10; i++) await pub.publishAsync('jobs/new', String(i), { qos: 1 });
  await until('the group to get 10 messages', () => counts[0]! + counts[1]! >= 10);
  await delay(100);
  assert.deepEqual(counts, [5, 5]);
});

test('each shared group and each non-shared subscriber gets its own copy', async (t) => {
  const b = await broker(t);
  const groupA = [await raw(t, b), await raw(t, b)];
  for (const c of groupA) await subscribe(c, { topicFilter: '$share/a/multi/t', qos: 0 });
  const groupB = await raw(t, b);
  await subscribe(groupB, { topicFilter: '$share/b/multi/+', qos: 0 });
  const plain = await raw(t, b);
  await subscribe(plain, { topicFilter: 'multi/t', qos: 0 });
  b.broker.publish({ topic: 'multi/t', payload: Buffer.from('x'), qos: 0, retain: false });
  await groupB.expect('publish');
  await plain.expect('publish');
  await delay(150);
  assert.equal(groupA[0]!.packets.length + groupA[1]!.packets.length, 1);
});

test('a message for a disconnected member with a persistent session goes to an online member', async (t) => {
  const b = await broker(t);
  const away = await raw(t, b, { clientId: 'share-away', properties: { sessionExpiryInterval: 60 } });
  await subscribe(away, { topicFilter: '$share/g/offline/t', qos: 1 });
  const here = await raw(t, b, { clientId: 'share-here' });
  await subscribe(here, { topicFilter: '$share/g/offline/t', qos: 1 });
  away.send({ type: 'disconnect' });
  await away.closedByServer();
  for (let i = 0; i < 4; i++) b.broker.publish({ topic: 'offline/t', payload: Buffer.from(String(i)), qos: 1, retain: false });
  for (let i = 0; i < 4; i++) {
    const p = await here.expect('publish');
    assert.equal(p.payload.toString(), String(i));
    here.send({ type: 'puback', packetId: p.packetId! });
  }
  // Nothing was queued for the absent member either.
  const back = await RawClient.open(b.port);
  t.after(() => back.destroy());
  back.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId: 'share-away', properties: { sessionExpiryInterval: 60 } });
  assert.equal((await back.expect('connack')).sessionPresent, true);
  await back.silent(200);
});

test('retained messages are not sent to a new shared subscription', async (t) => {
  const b = await broker(t);
  b.broker.publish({ topic: 'share/retained', payload: Buffer.from('r'), qos: 1, retain: true });
  const m = await raw(t, b);
  await subscribe(m, { topicFilter: '$share/g/share/retained', qos: 1 });
  await m.silent(200);
  // Positive control: a live message on the topic does reach the member.
  b.broker.publish({ topic: 'share/retained', payload: Buffer.from('live'), qos: 1, retain: false });
  assert.equal((await m.expect('publish')).payload.toString(), 'live');
});

test('No Local on a shared subscription is a protocol error: DISCONNECT 0x82 [MQTT-3.8.3-4]', async (t) => {
  const b = await broker(t);
  const m = await raw(t, b);
  m.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '$share/g/nl/t', qos: 0, noLocal: true }] });
  const d = await m.expect('disconnect');
  assert.equal(d.reasonCode, 0x82);
  await m.closedByServer();
});

test('a shared delivery respects the member\'s granted QoS [MQTT-4.8.2-3]', async (t) => {
  const b = await broker(t);
  const m = await raw(t, b);
  await subscribe(m, { topicFilter: '$share/g/qos/t', qos: 1 });
  b.broker.publish({ topic: 'qos/t', payload: Buffer.from('x'), qos: 2, retain: false });
  assert.equal((await m.expect('publish')).qos, 1);
});

test('a QoS 2 shared delivery interrupted by a disconnection is completed with the same member when it reconnects [MQTT-4.8.2-4]', async (t) => {
  const b = await broker(t);
  const first = await raw(t, b, { clientId: 'share-q2-a', properties: { sessionExpiryInterval: 60 } });
  await subscribe(first, { topicFilter: '$share/g/q2/t', qos: 2 });
  const other = await raw(t, b, { clientId: 'share-q2-b' });
  await subscribe(other, { topicFilter: '$share/g/q2/t', qos: 2 });
  b.broker.publish({ topic: 'q2/t', payload: Buffer.from('one'), qos: 2, retain: false });
  const p = await first.expect('publish');
  first.destroy();
  await delay(50);
  const back = await RawClient.open(b.port);
  t.after(() => back.destroy());
  back.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId: 'share-q2-a', properties: { sessionExpiryInterval: 60 } });
  await back.expect('connack');
  const again = await back.expect('publish');
  assert.equal(again.packetId, p.packetId);
  assert.equal(again.payload.toString(), 'one');
  await other.silent(100);
});

test('a shared message held by a member whose session then ends is not sent to another member [MQTT-4.8.2-5]', async (t) => {
  const b = await broker(t);
  const first = await raw(t, b, { clientId: 'share-end-a', properties: { sessionExpiryInterval: 1 } });
  await subscribe(first, { topicFilter: '$share/g/end/t', qos: 1 });
  const other = await raw(t, b, { clientId: 'share-end-b' });
  await subscribe(other, { topicFilter: '$share/g/end/t', qos: 1 });
  b.broker.publish({ topic: 'end/t', payload: Buffer.from('one'), qos: 1, retain: false });
  await first.expect('publish');
  first.destroy();
  await delay(1300);
  await other.silent(50);
});

test('a member answering PUBACK 0x80 ends the delivery: the message is not tried on another member [MQTT-4.8.2-6]', async (t) => {
  const b = await broker(t);
  const first = await raw(t, b, { clientId: 'share-refuse-a' });
  await subscribe(first, { topicFilter: '$share/g/refuse/t', qos: 1 });
  const other = await raw(t, b, { clientId: 'share-refuse-b' });
  await subscribe(other, { topicFilter: '$share/g/refuse/t', qos: 1 });
  b.broker.publish({ topic: 'refuse/t', payload: Buffer.from('one'), qos: 1, retain: false });
  const p = await first.expect('publish');
  first.send({ type: 'puback', packetId: p.packetId!, reasonCode: 0x80 });
  await other.silent(200);
  await first.silent(50);
});

test('unsubscribing from a shared subscription removes the member from its group', async (t) => {
  const b = await broker(t);
  const leaving = await raw(t, b);
  await subscribe(leaving, { topicFilter: '$share/g/leave/t', qos: 0 });
  const staying = await raw(t, b);
  await subscribe(staying, { topicFilter: '$share/g/leave/t', qos: 0 });
  leaving.send({ type: 'unsubscribe', packetId: 2, topicFilters: ['$share/g/leave/t'] });
  assert.deepEqual((await leaving.expect('unsuback')).reasonCodes, [0]);
  for (let i = 0; i < 4; i++) b.broker.publish({ topic: 'leave/t', payload: Buffer.from(String(i)), qos: 0, retain: false });
  for (let i = 0; i < 4; i++) assert.equal((await staying.expect('publish')).payload.toString(), String(i));
  await leaving.silent(100);
});

test('shared filters without a ShareName or without a filter after it get 0x8F [MQTT-4.8.2-1] [MQTT-4.8.2-2]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b);
  c.send({ type: 'subscribe', packetId: 1, subscriptions: ['$share//t', '$share/g', '$share/g/', '$share/g+/t', '$share/ok/t'].map((topicFilter) => ({ topicFilter, qos: 0 as const })) });
  assert.deepEqual((await c.expect('suback')).reasonCodes, [0x8f, 0x8f, 0x8f, 0x8f, 0]);
});

test('a shared subscription to # does not receive $ topics [MQTT-4.7.2-1]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b);
  await subscribe(c, { topicFilter: '$share/g/#', qos: 0 });
  b.broker.publish({ topic: '$SYS/x', payload: Buffer.from('x'), qos: 0, retain: false });
  b.broker.publish({ topic: 'plain/x', payload: Buffer.from('y'), qos: 0, retain: false });
  assert.equal((await c.expect('publish')).topic, 'plain/x');
  await c.silent(100);
});
