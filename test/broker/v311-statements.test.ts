// MQTT 3.1.1 statements under their 3.1.1 ids (5.0 numbers many of these rules differently;
// the scenario files cite the 5.0 ids), each exercised by a 3.1.1 client.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, delay, startBroker } from '../helpers/broker.js';

const v4 = { protocolVersion: 4 as const };

test('3.1.1: a QoS 2 packet id reused before PUBREL is the same message, not delivered twice [MQTT-2.3.1-2]', async () => {
  const tb = await startBroker();
  try {
    const sub = await RawClient.connect(tb.port, { ...v4, clientId: 'id-sub' });
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'ids/t', qos: 2 }] });
    await sub.expect('suback');
    const pub = await RawClient.connect(tb.port, { ...v4, clientId: 'id-pub' });
    for (const dup of [false, true]) pub.send({ type: 'publish', topic: 'ids/t', payload: Buffer.from('once'), qos: 2, retain: false, dup, packetId: 9 });
    await pub.expect('pubrec');
    await pub.expect('pubrec');
    const got = await sub.expect('publish');
    sub.send({ type: 'pubrec', packetId: got.packetId! });
    await sub.expect('pubrel');
    await sub.silent(200);
    sub.destroy();
    pub.destroy();
  } finally {
    await tb.close();
  }
});

test('3.1.1: the packet ids the server uses for QoS 1 deliveries are non-zero and unique while in flight [MQTT-2.3.1-4]', async () => {
  const tb = await startBroker();
  try {
    const sub = await RawClient.connect(tb.port, { ...v4, clientId: 'srv-ids' });
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'srv/ids', qos: 1 }] });
    await sub.expect('suback');
    for (let i = 0; i < 50; i++) tb.broker.publish({ topic: 'srv/ids', payload: Buffer.from(String(i)), qos: 1, retain: false });
    const ids = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const p = await sub.expect('publish');
      assert.ok(p.packetId! > 0);
      ids.add(p.packetId!);
    }
    assert.equal(ids.size, 50);
    sub.destroy();
  } finally {
    await tb.close();
  }
});

test('3.1.1: after accepting a CONNECT the server applies Clean Session: 1 discards, 0 resumes [MQTT-3.1.4-3]', async () => {
  const tb = await startBroker();
  try {
    const a = await RawClient.connect(tb.port, { ...v4, clientId: 'cs', clean: false });
    a.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'cs/t', qos: 1 }] });
    await a.expect('suback');
    a.send({ type: 'disconnect' });
    await a.closedByServer();
    const b = await RawClient.open(tb.port, 4);
    b.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: false, keepalive: 0, clientId: 'cs' });
    assert.equal((await b.expect('connack')).sessionPresent, true);
    b.send({ type: 'disconnect' });
    await b.closedByServer();
    const c = await RawClient.open(tb.port, 4);
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'cs' });
    assert.equal((await c.expect('connack')).sessionPresent, false);
    tb.broker.publish({ topic: 'cs/t', payload: Buffer.from('x'), qos: 1, retain: false });
    await c.silent(200);
    // Positive control: subscribed anew, the same client gets the next message on the topic.
    c.send({ type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'cs/t', qos: 1 }] });
    await c.expect('suback');
    tb.broker.publish({ topic: 'cs/t', payload: Buffer.from('y'), qos: 1, retain: false });
    assert.equal((await c.expect('publish')).payload.toString(), 'y');
    c.destroy();
  } finally {
    await tb.close();
  }
});

test('3.1.1: a message is forwarded under its own topic name, which matches the subscriber\'s filter [MQTT-3.3.2-3]', async () => {
  const tb = await startBroker();
  try {
    const sub = await RawClient.connect(tb.port, { ...v4, clientId: 'tn-sub' });
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'sport/+/player1', qos: 0 }] });
    await sub.expect('suback');
    tb.broker.publish({ topic: 'sport/tennis/player1', payload: Buffer.from('x'), qos: 0, retain: false });
    assert.equal((await sub.expect('publish')).topic, 'sport/tennis/player1');
    sub.destroy();
  } finally {
    await tb.close();
  }
});

test('3.1.1: a SUBSCRIBE with reserved bits set in the requested QoS byte closes the connection [MQTT-3.8.3-4]', async () => {
  const tb = await startBroker();
  try {
    const c = await RawClient.connect(tb.port, { ...v4, clientId: 'rsv' });
    // SUBSCRIBE id 1, filter "a", requested QoS byte 0x04 (a reserved bit).
    c.sendRaw('82 06 0001 0001 61 04');
    await c.closedByServer();
  } finally {
    await tb.close();
  }
});

test('3.1.1: session state lives as long as the session, across connections [MQTT-4.1.0-1] [MQTT-4.1.0-2]', async () => {
  const tb = await startBroker();
  try {
    const a = await RawClient.connect(tb.port, { ...v4, clientId: 'life', clean: false });
    a.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'life/t', qos: 1 }] });
    await a.expect('suback');
    a.destroy();
    await delay(100);
    tb.broker.publish({ topic: 'life/t', payload: Buffer.from('kept'), qos: 1, retain: false });
    const b = await RawClient.open(tb.port, 4);
    b.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: false, keepalive: 0, clientId: 'life' });
    assert.equal((await b.expect('connack')).sessionPresent, true);
    assert.equal((await b.expect('publish')).payload.toString(), 'kept');
    b.destroy();
  } finally {
    await tb.close();
  }
});

test('3.1.1: a transient error while handling a packet closes that connection, and only it [MQTT-4.8.0-2]', async () => {
  const tb = await startBroker({ hooks: [{ authorizePublish: (_c, m) => { if (m.topic === 'boom') throw new Error('transient'); return { ok: true }; } }] });
  try {
    const bad = await RawClient.connect(tb.port, { ...v4, clientId: 'boom' });
    const other = await RawClient.connect(tb.port, { ...v4, clientId: 'fine' });
    bad.send({ type: 'publish', topic: 'boom', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 1 });
    await bad.closedByServer();
    other.send({ type: 'pingreq' });
    await other.expect('pingresp');
    other.destroy();
  } finally {
    await tb.close();
  }
});
