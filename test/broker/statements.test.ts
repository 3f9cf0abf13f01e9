// Broker statements not covered by the scenario files: each test names its statement.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, delay, startBroker } from '../helpers/broker.js';

test('a QoS 2 receiver completes PUBREL/PUBCOMP even after the message expired [MQTT-4.3.3-13]', async () => {
  const tb = await startBroker();
  try {
    const c = await RawClient.connect(tb.port, { clientId: 'q2-expiry' });
    c.send({ type: 'publish', topic: 'exp/q2', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, packetId: 7, properties: { messageExpiryInterval: 1 } });
    assert.equal((await c.expect('pubrec')).packetId, 7);
    await delay(1200);
    c.send({ type: 'pubrel', packetId: 7 });
    const comp = await c.expect('pubcomp');
    assert.equal(comp.packetId, 7);
    assert.equal(comp.reasonCode ?? 0, 0);
    c.destroy();
  } finally {
    await tb.close();
  }
});

test('an outbound QoS 2 PUBLISH stays unacknowledged until PUBREC: it is resent, not released [MQTT-4.3.3-3]', async () => {
  const tb = await startBroker();
  try {
    const sub = await RawClient.connect(tb.port, { clientId: 'q2-sender', clean: true, properties: { sessionExpiryInterval: 60 } });
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'q2/out', qos: 2 }] });
    await sub.expect('suback');
    tb.broker.publish({ topic: 'q2/out', payload: Buffer.from('once'), qos: 2, retain: false });
    const first = await sub.expect('publish');
    sub.destroy(); // no PUBREC
    await delay(100);
    const back = await RawClient.open(tb.port, 5);
    back.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId: 'q2-sender', properties: { sessionExpiryInterval: 60 } });
    await back.expect('connack');
    const again = await back.expect('publish');
    assert.equal(again.packetId, first.packetId);
    assert.equal(again.dup, true);
    back.send({ type: 'pubrec', packetId: again.packetId! });
    assert.equal((await back.expect('pubrel')).packetId, again.packetId);
    back.destroy();
  } finally {
    await tb.close();
  }
});

test('the initial send quota is the client\'s Receive Maximum: that many QoS 1 messages go out before any ack [MQTT-4.9.0-1]', async () => {
  const tb = await startBroker();
  try {
    const c = await RawClient.connect(tb.port, { clientId: 'quota', properties: { receiveMaximum: 3 } });
    c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'quota/t', qos: 1 }] });
    await c.expect('suback');
    for (let i = 0; i < 5; i++) tb.broker.publish({ topic: 'quota/t', payload: Buffer.from(String(i)), qos: 1, retain: false });
    const sent = [await c.expect('publish'), await c.expect('publish'), await c.expect('publish')];
    await c.silent(200);
    c.send({ type: 'puback', packetId: sent[0]!.packetId! });
    assert.equal((await c.expect('publish')).payload.toString(), '3');
    c.destroy();
  } finally {
    await tb.close();
  }
});

test('with Request Response Information absent or 0 the CONNACK carries no Response Information [MQTT-3.1.2-28]', async () => {
  const tb = await startBroker();
  try {
    const c = await RawClient.open(tb.port, 5);
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'rri', properties: { requestResponseInformation: false } });
    const ack = await c.expect('connack');
    assert.equal(ack.properties?.responseInformation, undefined);
    c.destroy();
  } finally {
    await tb.close();
  }
});

test('with Request Problem Information 0, refusals carry no Reason String or User Properties [MQTT-3.1.2-29]', async () => {
  const tb = await startBroker({ hooks: [{ authorizePublish: () => ({ ok: false, reasonCode: 0x87, reasonString: 'no' }), authorizeSubscribe: () => ({ ok: false, reasonCode: 0x87, reasonString: 'no' }) }] });
  try {
    const c = await RawClient.connect(tb.port, { clientId: 'rpi', properties: { requestProblemInformation: false } });
    c.send({ type: 'publish', topic: 'rpi/t', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 1 });
    const ack = await c.expect('puback');
    assert.equal(ack.reasonCode, 0x87);
    assert.equal(ack.properties, undefined);
    c.send({ type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'rpi/#', qos: 1 }] });
    const suback = await c.expect('suback');
    assert.deepEqual(suback.reasonCodes, [0x87]);
    assert.equal(suback.properties, undefined);
    c.destroy();
  } finally {
    await tb.close();
  }
});

test('a hook refusing the client identifier gets CONNACK 0x85 and the connection is closed [MQTT-3.1.3-8]', async () => {
  const tb = await startBroker({ hooks: [{ authenticate: (req) => (req.clientId.startsWith('bad-') ? { ok: false, reasonCode: 0x85 } : { ok: true }) }] });
  try {
    const c = await RawClient.open(tb.port, 5);
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'bad-id' });
    assert.equal((await c.expect('connack')).reasonCode, 0x85);
    await c.closedByServer();
  } finally {
    await tb.close();
  }
});

test('over TCP, 10,000 QoS 0 packets in one burst arrive complete and in order [MQTT-4.2.0-1] (3.1.1: [MQTT-7.1.1-1])', async () => {
  const tb = await startBroker();
  try {
    const sub = await RawClient.connect(tb.port, { clientId: 'order-sub' });
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'order/t', qos: 0 }] });
    await sub.expect('suback');
    const pub = await RawClient.connect(tb.port, { clientId: 'order-pub' });
    const { encode } = await import('../../src/codec/index.js');
    const burst = Buffer.concat(Array.from({ length: 10_000 }, (_, i) => encode({ type: 'publish', topic: 'order/t', payload: Buffer.from(String(i)), qos: 0, retain: false, dup: false }, 5)));
    pub.sendRaw(burst);
    for (let i = 0; i < 10_000; i++) assert.equal((await sub.expect('publish')).payload.toString(), String(i));
    sub.destroy();
    pub.destroy();
  } finally {
    await tb.close();
  }
});
