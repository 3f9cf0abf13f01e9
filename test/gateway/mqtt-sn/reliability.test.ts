// The MQTT-SN gateway's timers and bounds over real UDP sockets: keep alive and the will,
// retransmission (Tretry/Nretry), QoS 2 exactly once across a lost datagram, congestion
// return codes, sleeping clients, ADVERTISE and the forwarder encapsulation.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { decode } from '../../../src/gateway/mqtt-sn/codec.js';
import { gatewayStats } from '../../../src/gateway/mqtt-sn/stats.js';
import type { MqttSnOptions } from '../../../src/gateway/mqtt-sn/options.js';
import { until } from '../../helpers/wait.js';
import { SnClient, startSnBroker, type SnBroker } from './sn-client.js';

async function withBroker(options: MqttSnOptions, fn: (b: SnBroker) => Promise<void>): Promise<void> {
  const b = await startSnBroker(options);
  try {
    await fn(b);
  } finally {
    await b.close();
  }
}

function messages(c: mqtt.MqttClient): Array<{ topic: string; payload: string }> {
  const got: Array<{ topic: string; payload: string }> = [];
  c.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
  return got;
}

async function connectWithWill(port: number, clientId: string, duration: number, topic: string, payload: string, cleanSession = true): Promise<SnClient> {
  const c = await SnClient.open(port);
  c.send({ type: 'connect', will: true, cleanSession, duration, clientId });
  await c.expect('willtopicreq');
  c.send({ type: 'willtopic', will: { qos: 0, retain: false, topic } });
  await c.expect('willmsgreq');
  c.send({ type: 'willmsg', payload: Buffer.from(payload) });
  assert.equal((await c.expect('connack')).returnCode, 0);
  return c;
}

test('keep alive: a client silent for 1.5 times its Duration is lost and its will goes out', () =>
  withBroker({}, async (b) => {
    const sub = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
    await sub.subscribeAsync('ka/#');
    const got = messages(sub);
    const c = await connectWithWill(b.snPort, 'ka-1', 2, 'ka/will', 'lost');
    // A PINGREQ within the Duration keeps it alive (2 s of margin on a loaded machine).
    await new Promise((r) => setTimeout(r, 1000));
    c.send({ type: 'pingreq' });
    await c.expect('pingresp');
    assert.deepEqual(got, []);
    await until('the will after a missed keep alive', () => got.length === 1, 8000);
    assert.deepEqual(got, [{ topic: 'ka/will', payload: 'lost' }]);
    assert.equal(b.broker.clients.has('ka-1'), false);
    assert.equal(gatewayStats(b.broker)[0]!.lost, 1);
    await c.close();
    await sub.endAsync();
  }));

test('retransmission: an unacknowledged PUBLISH is sent again with DUP after Tretry, and after Nretry the client is lost (will)', () =>
  withBroker({ retryInterval: 200, maxRetries: 2 }, async (b) => {
    const watch = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
    await watch.subscribeAsync('rt/will');
    const wills = messages(watch);
    const c = await connectWithWill(b.snPort, 'rt-1', 60, 'rt/will', 'no ack');
    c.send({ type: 'subscribe', dup: false, qos: 1, msgId: 1, topic: { type: 'short', name: 'rt' } });
    await c.expect('suback');
    await watch.publishAsync('rt', 'hello', { qos: 1 });
    const first = await c.expect('publish');
    assert.equal(first.dup, false);
    const again = await c.expect('publish');
    assert.deepEqual([again.dup, again.msgId, again.payload.toString()], [true, first.msgId, 'hello']);
    await c.expect('publish'); // the second retry
    await until('the client is given up after Nretry', () => wills.length === 1, 5000);
    assert.ok(gatewayStats(b.broker)[0]!.retransmitted >= 2);
    await c.close();
    await watch.endAsync();
  }));

test('QoS 2 exactly once across a lost datagram, both ways', () =>
  withBroker({ retryInterval: 200 }, async (b) => {
    const mq = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
    await mq.subscribeAsync('x2/up', { qos: 2 });
    const up = messages(mq);
    const c = await SnClient.connect(b.snPort, 'x2');
    const id = await c.register('x2/up');
    // Up: the gateway's PUBREC is lost; the client sends the PUBLISH again with DUP.
    c.dropIncoming = 1;
    c.send({ type: 'publish', dup: false, qos: 2, retain: false, topic: { type: 'normal', id }, msgId: 40, payload: Buffer.from('once') });
    await until('the gateway answered (and the answer was lost)', () => c.dropIncoming === 0);
    c.send({ type: 'publish', dup: true, qos: 2, retain: false, topic: { type: 'normal', id }, msgId: 40, payload: Buffer.from('once') });
    assert.equal((await c.expect('pubrec')).msgId, 40);
    c.send({ type: 'pubrel', msgId: 40 });
    await c.expect('pubcomp');
    await until('the message arrived', () => up.length === 1);

    // Down: the gateway's PUBLISH is lost; it comes again (DUP) and the client completes once.
    c.send({ type: 'subscribe', dup: false, qos: 2, msgId: 2, topic: { type: 'short', name: 'd2' } });
    await c.expect('suback');
    c.dropIncoming = 1;
    await mq.publishAsync('d2', 'down once', { qos: 2 });
    const p = await c.expect('publish', 3000);
    assert.equal(p.dup, true);
    c.send({ type: 'pubrec', msgId: p.msgId });
    // PUBREL is lost too: it comes again until PUBCOMP.
    c.dropIncoming = 1;
    assert.equal((await c.expect('pubrel', 3000)).msgId, p.msgId);
    c.send({ type: 'pubcomp', msgId: p.msgId });
    await until('the delivery is complete', () => b.broker.sessions.get('x2')!.inflight.size === 0);
    // Control: a PINGREQ is answered and no further PUBLISH or PUBREL came.
    c.send({ type: 'pingreq' });
    await c.expect('pingresp');
    await c.silent(500);
    // Up: one delivery, never two, although the PUBLISH came twice.
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(up, [{ topic: 'x2/up', payload: 'once' }]);
    await c.close();
    await mq.endAsync();
  }));

test('congestion: REGISTER beyond maxTopicIds and CONNECT beyond maxClients are answered with 0x01', () =>
  withBroker({ maxTopicIds: 2, maxClients: 1 }, async (b) => {
    const c = await SnClient.connect(b.snPort, 'cg');
    await c.register('t/1');
    await c.register('t/2', 2);
    c.send({ type: 'register', topicId: 0, msgId: 3, topicName: 't/3' });
    const ack = await c.expect('regack');
    assert.deepEqual([ack.msgId, ack.returnCode], [3, 0x01]);
    c.send({ type: 'subscribe', dup: false, qos: 0, msgId: 4, topic: { type: 'normal', name: 't/4' } });
    assert.equal((await c.expect('suback')).returnCode, 0x01);
    const second = await SnClient.open(b.snPort);
    second.send({ type: 'connect', will: false, cleanSession: true, duration: 10, clientId: 'cg-2' });
    assert.equal((await second.expect('connack')).returnCode, 0x01);
    assert.equal(gatewayStats(b.broker)[0]!.clientsRefused, 1);
    await c.close();
    await second.close();
  }));

test('sleeping client: messages wait while it sleeps, come on PINGREQ with its ClientId, then PINGRESP; the buffer is bounded', () =>
  withBroker({ maxSleepBuffer: 2 }, async (b) => {
    const pub = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
    const c = await SnClient.connect(b.snPort, 'sleeper');
    c.send({ type: 'subscribe', dup: false, qos: 1, msgId: 1, topic: { type: 'normal', name: 'sleep/#' } });
    await c.expect('suback');
    c.send({ type: 'disconnect', duration: 30 });
    await c.expect('disconnect');
    assert.ok(b.broker.clients.has('sleeper'), 'asleep, still holding its session');
    await pub.publishAsync('sleep/a', 'q0-1', { qos: 0 });
    await pub.publishAsync('sleep/a', 'q0-2', { qos: 0 });
    await pub.publishAsync('sleep/a', 'q0-3', { qos: 0 }); // beyond maxSleepBuffer
    await pub.publishAsync('sleep/b', 'q1-1', { qos: 1 });
    await pub.publishAsync('sleep/b', 'q1-2', { qos: 1 });
    await c.silent(300);
    c.send({ type: 'pingreq', clientId: 'sleeper' });
    const got: string[] = [];
    for (;;) {
      const d = await c.next();
      if (d.type === 'pingresp') break;
      if (d.type === 'register') {
        c.send({ type: 'regack', topicId: d.topicId, msgId: d.msgId, returnCode: 0 });
        continue;
      }
      assert.equal(d.type, 'publish');
      if (d.type !== 'publish') return;
      got.push(d.payload.toString());
      if (d.qos === 1) c.send({ type: 'puback', topicId: 0, msgId: d.msgId, returnCode: 0 });
    }
    assert.deepEqual(got, ['q0-1', 'q0-2', 'q1-1', 'q1-2']);
    assert.equal(gatewayStats(b.broker)[0]!.sleepBufferDropped, 1);
    // Back asleep: the next message waits again, until the next wake-up.
    await pub.publishAsync('sleep/a', 'later', { qos: 0 });
    await c.silent(200);
    c.send({ type: 'pingreq', clientId: 'sleeper' });
    assert.equal((await c.expect('publish')).payload.toString(), 'later');
    await c.expect('pingresp');
    // Awake for good: CONNECT again.
    c.send({ type: 'connect', will: false, cleanSession: false, duration: 30, clientId: 'sleeper' });
    assert.equal((await c.expect('connack')).returnCode, 0);
    await pub.publishAsync('sleep/a', 'awake', { qos: 0 });
    assert.equal((await c.expect('publish')).payload.toString(), 'awake');
    await c.close();
    await pub.endAsync();
  }));

test('a sleeping client that does not wake within 1.5 times its sleep duration is lost (will)', () =>
  withBroker({}, async (b) => {
    const sub = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
    await sub.subscribeAsync('sl/will');
    const got = messages(sub);
    const c = await connectWithWill(b.snPort, 'sl-1', 60, 'sl/will', 'overslept');
    c.send({ type: 'disconnect', duration: 1 });
    await c.expect('disconnect');
    await until('the will of a client that overslept', () => got.length === 1, 8000);
    await c.close();
    await sub.endAsync();
  }));

test('ADVERTISE is broadcast to advertiseTo every advertiseInterval', async () => {
  const listener = dgram.createSocket('udp4');
  listener.bind(0, '127.0.0.1');
  await once(listener, 'listening');
  const to = `127.0.0.1:${listener.address().port}`;
  const first = once(listener, 'message');
  await withBroker({ advertiseTo: to, advertiseInterval: 1, gatewayId: 9 }, async () => {
    const [buf] = (await first) as [Buffer];
    assert.deepEqual(decode(buf), { type: 'advertise', gwId: 9, duration: 1 });
    const [again] = (await once(listener, 'message')) as [Buffer];
    assert.equal(decode(again).type, 'advertise');
  });
  listener.close();
});

test('forwarder encapsulation: clients behind one forwarder are told apart by Wireless Node Id, and answers are encapsulated', () =>
  withBroker({}, async (b) => {
    const fwd = await SnClient.open(b.snPort);
    const node = (id: number): Buffer => Buffer.from([0xaa, id]);
    fwd.send({ type: 'encapsulated', radius: 1, wirelessNodeId: node(1), message: { type: 'connect', will: false, cleanSession: true, duration: 60, clientId: 'node-1' } });
    fwd.send({ type: 'encapsulated', radius: 1, wirelessNodeId: node(2), message: { type: 'connect', will: false, cleanSession: true, duration: 60, clientId: 'node-2' } });
    const acks = [await fwd.expect('encapsulated'), await fwd.expect('encapsulated')];
    const nodes = acks.map((a) => a.wirelessNodeId.toString('hex')).sort();
    assert.deepEqual(nodes, ['aa01', 'aa02']);
    for (const a of acks) assert.deepEqual(a.message, { type: 'connack', returnCode: 0 });
    assert.ok(b.broker.clients.has('node-1') && b.broker.clients.has('node-2'));
    assert.notEqual(b.broker.clients.get('node-1')!.remoteAddress, b.broker.clients.get('node-2')!.remoteAddress);
    fwd.send({ type: 'encapsulated', radius: 1, wirelessNodeId: node(2), message: { type: 'subscribe', dup: false, qos: 0, msgId: 1, topic: { type: 'short', name: 'fw' } } });
    assert.equal((await fwd.expect('encapsulated')).message.type, 'suback');
    b.broker.publish({ topic: 'fw', payload: Buffer.from('to node 2'), qos: 0, retain: false });
    const p = await fwd.expect('encapsulated');
    assert.equal(p.wirelessNodeId.toString('hex'), 'aa02');
    assert.equal(p.message.type, 'publish');
    await fwd.close();
  }));

test('a sleeping client that wakes with CONNECT from another address keeps its session and sends no will', () =>
  withBroker({}, async (b) => {
    const sub = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
    await sub.subscribeAsync('mv/#');
    const got = messages(sub);
    // A persistent session: a clean one would end when its holder is taken over.
    const c = await connectWithWill(b.snPort, 'mover', 60, 'mv/will', 'should not go', false);
    c.send({ type: 'subscribe', dup: false, qos: 1, msgId: 1, topic: { type: 'short', name: 'mv' } });
    await c.expect('suback');
    c.send({ type: 'disconnect', duration: 60 });
    await c.expect('disconnect');
    await sub.publishAsync('mv', 'kept for you', { qos: 1 });
    const moved = await SnClient.open(b.snPort, '127.0.0.1', '127.0.0.2');
    moved.send({ type: 'connect', will: false, cleanSession: false, duration: 60, clientId: 'mover' });
    assert.equal((await moved.expect('connack')).returnCode, 0);
    const p = await moved.expect('publish');
    assert.equal(p.payload.toString(), 'kept for you');
    moved.send({ type: 'puback', topicId: 0, msgId: p.msgId, returnCode: 0 });
    // Control: a message published now arrives at the MQTT subscriber, and no will before it.
    await sub.publishAsync('mv/control', 'control', { qos: 1 });
    await until('the control message', () => got.some((m) => m.topic === 'mv/control'));
    assert.deepEqual(got.filter((m) => m.topic === 'mv/will'), []);
    await c.close();
    await moved.close();
    await sub.endAsync();
  }));
