// The MQTT-SN gateway over real UDP sockets: every message type of MQTT-SN v1.2 (section
// 5.4) between a client and the gateway, and MQTT clients (MQTT.js) on the same topics.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { until } from '../../helpers/wait.js';
import { SnClient, startSnBroker, type SnBroker } from './sn-client.js';

let b: SnBroker;
before(async () => {
  b = await startSnBroker({ predefinedTopics: '1=pre/defined, 7=sensors/seven', allowQosMinus1: true });
});
after(() => b.close());

let seq = 0;
const cid = (name: string): string => `${name}-${++seq}`;

async function mqttClient(): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(b.url, { reconnectPeriod: 0, connectTimeout: 3000, clientId: cid('mqtt') });
}

function nextMessage(c: mqtt.MqttClient): Promise<{ topic: string; payload: string; qos: number; retain: boolean }> {
  return new Promise((resolve) => c.once('message', (topic, payload, packet) => resolve({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain })));
}

test('CONNECT/CONNACK: the client is a session of the broker, seen as a connected client', async () => {
  const id = cid('sn');
  const c = await SnClient.connect(b.snPort, id);
  const client = b.broker.clients.get(id);
  assert.ok(client, 'a connected client');
  assert.match(client.listener, /^mqtt-sn:/);
  assert.ok(b.broker.sessions.has(id));
  c.send({ type: 'disconnect' });
  await c.expect('disconnect');
  await until('the client is gone', () => !b.broker.clients.has(id) && !b.broker.sessions.has(id));
  await c.close();
});

test('will dialogue: WILLTOPICREQ, WILLTOPIC, WILLMSGREQ, WILLMSG, then CONNACK; the will goes out without DISCONNECT', async () => {
  const sub = await mqttClient();
  await sub.subscribeAsync('wills/#');
  const c = await SnClient.open(b.snPort);
  const id = cid('will');
  c.send({ type: 'connect', will: true, cleanSession: true, duration: 60, clientId: id });
  await c.expect('willtopicreq');
  c.send({ type: 'willtopic', will: { qos: 1, retain: false, topic: `wills/${id}` } });
  await c.expect('willmsgreq');
  c.send({ type: 'willmsg', payload: Buffer.from('gone') });
  assert.equal((await c.expect('connack')).returnCode, 0);
  // An operator deletes the session: the client did not say DISCONNECT, so its will goes.
  const got = nextMessage(sub);
  b.broker.sessions.delete(id);
  const m = await got;
  assert.deepEqual([m.topic, m.payload], [`wills/${id}`, 'gone']);
  await c.expect('disconnect');
  await c.close();
  await sub.endAsync();
});

test('will dialogue: an empty WILLTOPIC means no will; DISCONNECT sends none', async () => {
  const c = await SnClient.open(b.snPort);
  c.send({ type: 'connect', will: true, cleanSession: true, duration: 60, clientId: cid('nowill') });
  await c.expect('willtopicreq');
  c.send({ type: 'willtopic', will: null });
  assert.equal((await c.expect('connack')).returnCode, 0);
  await c.close();
});

test('REGISTER/REGACK from the client, PUBLISH QoS 0, 1, 2 by normal topic id reach an MQTT subscriber', async () => {
  const sub = await mqttClient();
  await sub.subscribeAsync('sn/up/#', { qos: 2 });
  const c = await SnClient.connect(b.snPort, cid('pub'));
  const topicId = await c.register('sn/up/temp');
  assert.ok(topicId > 0);
  // The same name registered again keeps its id.
  assert.equal(await c.register('sn/up/temp', 2), topicId);

  let got = nextMessage(sub);
  c.send({ type: 'publish', dup: false, qos: 0, retain: false, topic: { type: 'normal', id: topicId }, msgId: 0, payload: Buffer.from('q0') });
  assert.deepEqual(await got, { topic: 'sn/up/temp', payload: 'q0', qos: 0, retain: false });

  got = nextMessage(sub);
  c.send({ type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'normal', id: topicId }, msgId: 11, payload: Buffer.from('q1') });
  const puback = await c.expect('puback');
  assert.deepEqual([puback.msgId, puback.topicId, puback.returnCode], [11, topicId, 0]);
  assert.deepEqual(await got, { topic: 'sn/up/temp', payload: 'q1', qos: 1, retain: false });

  got = nextMessage(sub);
  c.send({ type: 'publish', dup: false, qos: 2, retain: false, topic: { type: 'normal', id: topicId }, msgId: 12, payload: Buffer.from('q2') });
  assert.equal((await c.expect('pubrec')).msgId, 12);
  c.send({ type: 'pubrel', msgId: 12 });
  assert.equal((await c.expect('pubcomp')).msgId, 12);
  assert.deepEqual(await got, { topic: 'sn/up/temp', payload: 'q2', qos: 2, retain: false });
  await c.close();
  await sub.endAsync();
});

test('PUBLISH by predefined topic id and by short topic name; an unknown topic id gets PUBACK 0x02', async () => {
  const sub = await mqttClient();
  await sub.subscribeAsync(['pre/defined', 'ab'], { qos: 1 });
  const c = await SnClient.connect(b.snPort, cid('pre'));
  let got = nextMessage(sub);
  c.send({ type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'predefined', id: 1 }, msgId: 3, payload: Buffer.from('p') });
  assert.equal((await c.expect('puback')).returnCode, 0);
  assert.equal((await got).topic, 'pre/defined');

  got = nextMessage(sub);
  c.send({ type: 'publish', dup: false, qos: 0, retain: false, topic: { type: 'short', name: 'ab' }, msgId: 0, payload: Buffer.from('s') });
  assert.equal((await got).topic, 'ab');

  c.send({ type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'normal', id: 999 }, msgId: 4, payload: Buffer.from('x') });
  const rejected = await c.expect('puback');
  assert.deepEqual([rejected.msgId, rejected.topicId, rejected.returnCode], [4, 999, 0x02]);
  c.send({ type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'predefined', id: 55 }, msgId: 5, payload: Buffer.from('x') });
  assert.equal((await c.expect('puback')).returnCode, 0x02);
  await c.close();
  await sub.endAsync();
});

test('QoS -1: a PUBLISH without a connection, to a predefined id or short name, is routed where the config allows', async () => {
  const sub = await mqttClient();
  await sub.subscribeAsync(['sensors/seven', 'zz']);
  const c = await SnClient.open(b.snPort);
  let got = nextMessage(sub);
  c.send({ type: 'publish', dup: false, qos: -1, retain: false, topic: { type: 'predefined', id: 7 }, msgId: 0, payload: Buffer.from('m1') });
  assert.deepEqual([(await got).topic, (await got).payload], ['sensors/seven', 'm1']);
  got = nextMessage(sub);
  c.send({ type: 'publish', dup: false, qos: -1, retain: false, topic: { type: 'short', name: 'zz' }, msgId: 0, payload: Buffer.from('m2') });
  assert.equal((await got).payload, 'm2');
  await c.close();
  await sub.endAsync();
});

test('QoS -1 is dropped and counted on a listener without allowQosMinus1', async () => {
  const other = await startSnBroker({ predefinedTopics: '1=a/b' });
  try {
    const sub = await mqtt.connectAsync(other.url, { reconnectPeriod: 0 });
    await sub.subscribeAsync('a/b');
    const c = await SnClient.open(other.snPort);
    c.send({ type: 'publish', dup: false, qos: -1, retain: false, topic: { type: 'predefined', id: 1 }, msgId: 0, payload: Buffer.from('no') });
    const { gatewayStats } = await import('../../../src/gateway/mqtt-sn/stats.js');
    await until('the QoS -1 drop is counted', () => gatewayStats(other.broker)[0]!.dropped.qos_minus1 === 1);
    // Positive control: a connected client's QoS 0 on the same topic arrives.
    const got = nextMessage(sub);
    const p = await SnClient.connect(other.snPort, 'control');
    p.send({ type: 'publish', dup: false, qos: 0, retain: false, topic: { type: 'predefined', id: 1 }, msgId: 0, payload: Buffer.from('yes') });
    assert.equal((await got).payload, 'yes');
    await c.close();
    await p.close();
    await sub.endAsync();
  } finally {
    await other.close();
  }
});

test('SUBSCRIBE by topic name: SUBACK carries its topic id and MQTT publishes arrive under it, at QoS 0, 1 and 2', async () => {
  const pub = await mqttClient();
  const id = cid('sub');
  const c = await SnClient.connect(b.snPort, id);
  c.send({ type: 'subscribe', dup: false, qos: 2, msgId: 21, topic: { type: 'normal', name: 'down/name' } });
  const suback = await c.expect('suback');
  assert.deepEqual([suback.msgId, suback.qos, suback.returnCode], [21, 2, 0]);
  assert.ok(suback.topicId > 0);

  await pub.publishAsync('down/name', 'zero', { qos: 0 });
  let p = await c.expect('publish');
  assert.deepEqual([p.qos, p.topic, p.payload.toString()], [0, { type: 'normal', id: suback.topicId }, 'zero']);

  await pub.publishAsync('down/name', 'one', { qos: 1 });
  p = await c.expect('publish');
  assert.equal(p.qos, 1);
  c.send({ type: 'puback', topicId: suback.topicId, msgId: p.msgId, returnCode: 0 });

  await pub.publishAsync('down/name', 'two', { qos: 2 });
  p = await c.expect('publish');
  assert.equal(p.qos, 2);
  c.send({ type: 'pubrec', msgId: p.msgId });
  assert.equal((await c.expect('pubrel')).msgId, p.msgId);
  c.send({ type: 'pubcomp', msgId: p.msgId });
  await until('the QoS 2 delivery is complete', () => b.broker.sessions.get(id)!.inflight.size === 0);

  c.send({ type: 'unsubscribe', msgId: 22, topic: { type: 'normal', name: 'down/name' } });
  assert.equal((await c.expect('unsuback')).msgId, 22);
  await pub.publishAsync('down/name', 'after', { qos: 0 });
  // Positive control on the same client: a PINGREQ is still answered, nothing else came.
  c.send({ type: 'pingreq' });
  await c.expect('pingresp');
  await c.silent(200);
  await c.close();
  await pub.endAsync();
});

test('SUBSCRIBE with a wildcard: the gateway REGISTERs each new topic before its first PUBLISH (REGISTER/REGACK to the client)', async () => {
  const pub = await mqttClient();
  const c = await SnClient.connect(b.snPort, cid('wild'));
  c.send({ type: 'subscribe', dup: false, qos: 1, msgId: 1, topic: { type: 'normal', name: 'wild/+/x' } });
  const suback = await c.expect('suback');
  assert.deepEqual([suback.topicId, suback.returnCode], [0, 0]);
  await pub.publishAsync('wild/a/x', 'first', { qos: 1 });
  const reg = await c.expect('register');
  assert.equal(reg.topicName, 'wild/a/x');
  // The PUBLISH waits for the REGACK.
  await c.silent(150);
  c.send({ type: 'regack', topicId: reg.topicId, msgId: reg.msgId, returnCode: 0 });
  const p = await c.expect('publish');
  assert.deepEqual([p.topic, p.payload.toString()], [{ type: 'normal', id: reg.topicId }, 'first']);
  c.send({ type: 'puback', topicId: reg.topicId, msgId: p.msgId, returnCode: 0 });
  // Registered once: the next message on the topic goes straight out.
  await pub.publishAsync('wild/a/x', 'second', { qos: 0 });
  const p2 = await c.expect('publish');
  assert.deepEqual([p2.topic, p2.payload.toString()], [{ type: 'normal', id: reg.topicId }, 'second']);
  await c.close();
  await pub.endAsync();
});

test('SUBSCRIBE by short topic name and by predefined id: deliveries use the same form', async () => {
  const pub = await mqttClient();
  const c = await SnClient.connect(b.snPort, cid('short'));
  c.send({ type: 'subscribe', dup: false, qos: 0, msgId: 1, topic: { type: 'short', name: 'xy' } });
  assert.equal((await c.expect('suback')).returnCode, 0);
  c.send({ type: 'subscribe', dup: false, qos: 0, msgId: 2, topic: { type: 'predefined', id: 7 } });
  const s2 = await c.expect('suback');
  assert.deepEqual([s2.topicId, s2.returnCode], [7, 0]);
  c.send({ type: 'subscribe', dup: false, qos: 0, msgId: 3, topic: { type: 'predefined', id: 99 } });
  assert.equal((await c.expect('suback')).returnCode, 0x02);
  await pub.publishAsync('xy', 'short');
  assert.deepEqual((await c.expect('publish')).topic, { type: 'short', name: 'xy' });
  await pub.publishAsync('sensors/seven', 'pre');
  assert.deepEqual((await c.expect('publish')).topic, { type: 'predefined', id: 7 });
  c.send({ type: 'unsubscribe', msgId: 4, topic: { type: 'predefined', id: 7 } });
  await c.expect('unsuback');
  await c.close();
  await pub.endAsync();
});

test('retained messages reach a new MQTT-SN subscription, after its SUBACK', async () => {
  const pub = await mqttClient();
  await pub.publishAsync('ret/a', 'kept', { retain: true, qos: 1 });
  const c = await SnClient.connect(b.snPort, cid('ret'));
  c.send({ type: 'subscribe', dup: false, qos: 0, msgId: 1, topic: { type: 'normal', name: 'ret/a' } });
  const suback = await c.expect('suback');
  const p = await c.expect('publish');
  assert.deepEqual([p.retain, p.topic, p.payload.toString()], [true, { type: 'normal', id: suback.topicId }, 'kept']);
  await pub.publishAsync('ret/a', '', { retain: true, qos: 1 });
  await c.close();
  await pub.endAsync();
});

test('MQTT-SN to MQTT-SN: one client publishes, another receives', async () => {
  const a = await SnClient.connect(b.snPort, cid('a'));
  const z = await SnClient.connect(b.snPort, cid('z'));
  z.send({ type: 'subscribe', dup: false, qos: 1, msgId: 1, topic: { type: 'normal', name: 'peer/#' } });
  await z.expect('suback');
  const id = await a.register('peer/1');
  a.send({ type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'normal', id }, msgId: 9, payload: Buffer.from('hi') });
  await a.expect('puback');
  const { publish, topicName } = await z.publishReceived();
  assert.deepEqual([topicName, publish.payload.toString()], ['peer/1', 'hi']);
  z.send({ type: 'puback', topicId: 0, msgId: publish.msgId, returnCode: 0 });
  await a.close();
  await z.close();
});

test('PINGREQ/PINGRESP; SEARCHGW is answered with GWINFO; a message before CONNECT is dropped', async () => {
  const c = await SnClient.connect(b.snPort, cid('ping'));
  c.send({ type: 'pingreq' });
  await c.expect('pingresp');
  c.send({ type: 'searchgw', radius: 1 });
  assert.equal((await c.expect('gwinfo')).gwId, 1);
  const stranger = await SnClient.open(b.snPort);
  stranger.send({ type: 'pingreq' });
  stranger.send({ type: 'searchgw', radius: 0 });
  await stranger.expect('gwinfo'); // control: the PINGREQ was dropped, not answered
  assert.equal(stranger.received.length, 0);
  await c.close();
  await stranger.close();
});

test('will updates: WILLTOPICUPD/WILLTOPICRESP and WILLMSGUPD/WILLMSGRESP change the will that goes out', async () => {
  const sub = await mqttClient();
  await sub.subscribeAsync('upd/#');
  const id = cid('upd');
  const c = await SnClient.connect(b.snPort, id);
  c.send({ type: 'willtopicupd', will: { qos: 0, retain: false, topic: 'upd/topic' } });
  assert.equal((await c.expect('willtopicresp')).returnCode, 0);
  c.send({ type: 'willmsgupd', payload: Buffer.from('new will') });
  assert.equal((await c.expect('willmsgresp')).returnCode, 0);
  const got = nextMessage(sub);
  b.broker.sessions.delete(id);
  assert.deepEqual([(await got).topic, (await got).payload], ['upd/topic', 'new will']);
  await c.close();
  await sub.endAsync();
});

test('IPv6: an mqtt-sn listener on ::1 serves a client', async () => {
  const v6 = await startSnBroker({}, {}, '::1');
  try {
    const c = await SnClient.connect(v6.snPort, 'six', { host: '::1' });
    assert.match(v6.broker.clients.get('six')!.remoteAddress, /^\[::1\]:\d+$/);
    await c.close();
  } finally {
    await v6.close();
  }
});

test('a two-character topic subscribed by name is delivered under the topic id its SUBACK gave', async () => {
  const pub = await mqttClient();
  const c = await SnClient.connect(b.snPort, cid('two'));
  c.send({ type: 'subscribe', dup: false, qos: 0, msgId: 1, topic: { type: 'normal', name: 'tw' } });
  const suback = await c.expect('suback');
  assert.ok(suback.topicId > 0);
  await pub.publishAsync('tw', 'by id');
  assert.deepEqual((await c.expect('publish')).topic, { type: 'normal', id: suback.topicId });
  await c.close();
  await pub.endAsync();
});
