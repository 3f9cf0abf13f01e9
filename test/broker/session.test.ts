// Sessions (3.1.1 section 3.1.2.4, 5.0 sections 3.1.2.4, 3.1.2.11.2 and 4.1): Clean Session /
// Clean Start and the Session Present flag, the 5.0 Session Expiry Interval (at CONNECT and
// at DISCONNECT), subscriptions and QoS 1/2 messages kept for an offline session, and
// message redelivery on reconnect (section 4.4).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import type { PublishPacket } from '../../src/codec/index.js';
import { RawClient, delay, startBroker, type TestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';

interface Received {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

/** Connects MQTT.js (no reconnects); messages are collected from the first byte on. */
async function mqttjs(url: string, opts: IClientOptions): Promise<{ client: MqttClient; connack: IConnackPacket; received: Received[] }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 2000, resubscribe: false, ...opts });
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), packet }));
  try {
    const connack = await new Promise<IConnackPacket>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
      client.once('close', () => reject(new Error('closed before CONNACK')));
    });
    return { client, connack, received };
  } catch (err) {
    client.end(true);
    throw err;
  }
}

/** Waits until `list` holds `n` items, and returns it. */
async function waitFor<T>(list: T[], n: number): Promise<T[]> {
  await until(`${n} message(s)`, () => list.length >= n);
  return list;
}

/** Publishes from a throwaway MQTT.js client and waits for the broker's acknowledgement. */
async function publishFrom(b: TestBroker, topic: string, payloads: string[], qos: 0 | 1 | 2): Promise<void> {
  const { client } = await mqttjs(b.url, { protocolVersion: 5, clientId: `pub-${Math.random().toString(36).slice(2, 8)}` });
  try {
    for (const p of payloads) await client.publishAsync(topic, p, { qos });
  } finally {
    await client.endAsync();
  }
}

const sessionPresent = async (b: TestBroker, opts: IClientOptions): Promise<boolean> => {
  const { client, connack } = await mqttjs(b.url, opts);
  await client.endAsync();
  return connack.sessionPresent;
};

test('3.1.1: CleanSession 0 with no stored session gets Session Present 0 [MQTT-3.2.2-3]', async () => {
  const b = await startBroker();
  try {
    assert.equal(await sessionPresent(b, { protocolVersion: 4, clientId: 'cs0-new', clean: false }), false);
  } finally {
    await b.close();
  }
});

test('3.1.1: CleanSession 0 resumes the stored session: Session Present 1 and its subscriptions still deliver [MQTT-3.1.2-4] [MQTT-3.2.2-2] [MQTT-3.1.3-2]', async () => {
  const b = await startBroker();
  try {
    const first = await mqttjs(b.url, { protocolVersion: 4, clientId: 'cs0-resume', clean: false });
    await first.client.subscribeAsync('cs0/resume', { qos: 1 });
    await first.client.endAsync();

    const again = await mqttjs(b.url, { protocolVersion: 4, clientId: 'cs0-resume', clean: false });
    try {
      assert.equal(again.connack.sessionPresent, true);
      await publishFrom(b, 'cs0/resume', ['after'], 1);
      const [m] = await waitFor(again.received, 1);
      assert.equal(m!.payload, 'after');
    } finally {
      await again.client.endAsync();
    }
  } finally {
    await b.close();
  }
});

test('3.1.1: QoS 1 and 2 messages published while a CleanSession 0 client is offline are stored and delivered when it returns [MQTT-3.1.2-5]', async () => {
  const b = await startBroker();
  try {
    const first = await mqttjs(b.url, { protocolVersion: 4, clientId: 'cs0-offline', clean: false });
    await first.client.subscribeAsync('cs0/offline/#', { qos: 2 });
    await first.client.endAsync();

    await publishFrom(b, 'cs0/offline/one', ['q1'], 1);
    await publishFrom(b, 'cs0/offline/two', ['q2'], 2);

    const again = await mqttjs(b.url, { protocolVersion: 4, clientId: 'cs0-offline', clean: false });
    try {
      const got = await waitFor(again.received, 2);
      assert.deepEqual(got.map((m) => [m.topic, m.payload, m.packet.qos]), [
        ['cs0/offline/one', 'q1', 1],
        ['cs0/offline/two', 'q2', 2],
      ]);
    } finally {
      await again.client.endAsync();
    }
  } finally {
    await b.close();
  }
});

test('3.1.1: CleanSession 1 discards the stored session: Session Present 0 and the old subscriptions are gone [MQTT-3.1.2-6] [MQTT-3.2.2-1]', async () => {
  const b = await startBroker();
  try {
    const first = await mqttjs(b.url, { protocolVersion: 4, clientId: 'cs1-discard', clean: false });
    await first.client.subscribeAsync('cs1/discard', { qos: 1 });
    await first.client.endAsync();

    const clean = await mqttjs(b.url, { protocolVersion: 4, clientId: 'cs1-discard', clean: true });
    try {
      assert.equal(clean.connack.sessionPresent, false);
      await publishFrom(b, 'cs1/discard', ['lost'], 1);
      await delay(200);
      assert.deepEqual(clean.received, []);
      // Positive control: subscribed anew, the same client gets the next message on the topic.
      await clean.client.subscribeAsync('cs1/discard', { qos: 1 });
      await publishFrom(b, 'cs1/discard', ['control'], 1);
      const [m] = await waitFor<Received>(clean.received, 1);
      assert.equal(m!.payload, 'control');
    } finally {
      await clean.client.endAsync();
    }
  } finally {
    await b.close();
  }
});

test('3.1.1: the state of a CleanSession 1 session is not reused by a later CleanSession 0 connection [MQTT-3.1.2-6]', async () => {
  const b = await startBroker();
  try {
    const clean = await mqttjs(b.url, { protocolVersion: 4, clientId: 'cs1-then-0', clean: true });
    await clean.client.subscribeAsync('cs1/then0', { qos: 1 });
    await clean.client.endAsync();

    const later = await mqttjs(b.url, { protocolVersion: 4, clientId: 'cs1-then-0', clean: false });
    try {
      assert.equal(later.connack.sessionPresent, false);
      await publishFrom(b, 'cs1/then0', ['x'], 1);
      await delay(200);
      assert.deepEqual(later.received, []);
      // Positive control: subscribed anew, the same client gets the next message on the topic.
      await later.client.subscribeAsync('cs1/then0', { qos: 1 });
      await publishFrom(b, 'cs1/then0', ['control'], 1);
      const [m] = await waitFor<Received>(later.received, 1);
      assert.equal(m!.payload, 'control');
    } finally {
      await later.client.endAsync();
    }
  } finally {
    await b.close();
  }
});

test('3.1.1: retained messages are not session state and outlive the session that published them [MQTT-3.1.2-7]', async () => {
  const b = await startBroker();
  try {
    const pub = await mqttjs(b.url, { protocolVersion: 4, clientId: 'retain-owner', clean: true });
    await pub.client.publishAsync('session/retained', 'kept', { qos: 1, retain: true });
    await pub.client.endAsync();

    const sub = await mqttjs(b.url, { protocolVersion: 4, clientId: 'retain-reader', clean: true });
    try {
      await sub.client.subscribeAsync('session/retained', { qos: 1 });
      const [m] = await waitFor(sub.received, 1);
      assert.equal(m!.payload, 'kept');
      assert.equal(m!.packet.retain, true);
    } finally {
      await sub.client.endAsync();
    }
  } finally {
    await b.close();
  }
});

test('5.0: Clean Start 0 with no session creates one: Session Present 0 [MQTT-3.1.2-6] [MQTT-3.2.2-3]', async () => {
  const b = await startBroker();
  try {
    assert.equal(await sessionPresent(b, { protocolVersion: 5, clientId: 'c0-new', clean: false, properties: { sessionExpiryInterval: 60 } }), false);
    assert.ok(b.broker.sessions.has('c0-new'), 'the new session outlives the connection');
  } finally {
    await b.close();
  }
});

test('5.0: Clean Start 0 resumes a session kept by its expiry interval: Session Present 1, subscriptions intact [MQTT-3.1.2-5] [MQTT-3.2.2-3] [MQTT-3.1.2-23] [MQTT-3.1.3-2]', async () => {
  const b = await startBroker();
  try {
    const first = await mqttjs(b.url, { protocolVersion: 5, clientId: 'c0-resume', clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.client.subscribeAsync('c0/resume', { qos: 1 });
    await first.client.endAsync();

    const again = await mqttjs(b.url, { protocolVersion: 5, clientId: 'c0-resume', clean: false, properties: { sessionExpiryInterval: 60 } });
    try {
      assert.equal(again.connack.sessionPresent, true);
      await publishFrom(b, 'c0/resume', ['after'], 1);
      const [m] = await waitFor(again.received, 1);
      assert.equal(m!.payload, 'after');
    } finally {
      await again.client.endAsync();
    }
  } finally {
    await b.close();
  }
});

test('5.0: Clean Start 1 discards an existing session: Session Present 0, subscriptions gone [MQTT-3.1.2-4] [MQTT-3.2.2-2] [MQTT-3.1.4-4]', async () => {
  const b = await startBroker();
  try {
    const first = await mqttjs(b.url, { protocolVersion: 5, clientId: 'c1-discard', clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.client.subscribeAsync('c1/discard', { qos: 1 });
    await first.client.endAsync();

    const clean = await mqttjs(b.url, { protocolVersion: 5, clientId: 'c1-discard', clean: true, properties: { sessionExpiryInterval: 60 } });
    try {
      assert.equal(clean.connack.sessionPresent, false);
      await publishFrom(b, 'c1/discard', ['lost'], 1);
      await delay(200);
      assert.deepEqual(clean.received, []);
      // Positive control: subscribed anew, the same client gets the next message on the topic.
      await clean.client.subscribeAsync('c1/discard', { qos: 1 });
      await publishFrom(b, 'c1/discard', ['control'], 1);
      const [m] = await waitFor<Received>(clean.received, 1);
      assert.equal(m!.payload, 'control');
    } finally {
      await clean.client.endAsync();
    }
  } finally {
    await b.close();
  }
});

test('5.0: with Session Expiry Interval 0 (absent) the session ends with the connection [MQTT-3.1.2-23]', async () => {
  const b = await startBroker();
  try {
    const first = await mqttjs(b.url, { protocolVersion: 5, clientId: 'exp-zero', clean: false });
    await first.client.subscribeAsync('exp/zero', { qos: 1 });
    await first.client.endAsync();
    await delay(50);
    assert.equal(b.broker.sessions.has('exp-zero'), false);
    assert.equal(await sessionPresent(b, { protocolVersion: 5, clientId: 'exp-zero', clean: false }), false);
  } finally {
    await b.close();
  }
});

test('5.0: a session is discarded once its expiry interval has passed after the connection closed [MQTT-4.1.0-2]', async () => {
  const b = await startBroker();
  try {
    const first = await mqttjs(b.url, { protocolVersion: 5, clientId: 'exp-one', clean: false, properties: { sessionExpiryInterval: 1 } });
    await first.client.subscribeAsync('exp/one', { qos: 1 });
    await first.client.endAsync();

    await delay(300);
    assert.ok(b.broker.sessions.has('exp-one'), 'still kept within the interval');
    await delay(1200);
    assert.equal(b.broker.sessions.has('exp-one'), false, 'gone after it');
    assert.equal(b.broker.localRouter.index.match('exp/one').subscriptions.length, 0, 'its subscriptions left the index');
    assert.equal(await sessionPresent(b, { protocolVersion: 5, clientId: 'exp-one', clean: false, properties: { sessionExpiryInterval: 1 } }), false);
  } finally {
    await b.close();
  }
});

test('5.0: reconnecting within the expiry interval finds the session (Session Present 1) [MQTT-3.1.2-23]', async () => {
  const b = await startBroker();
  try {
    const first = await mqttjs(b.url, { protocolVersion: 5, clientId: 'exp-within', clean: false, properties: { sessionExpiryInterval: 1 } });
    await first.client.endAsync();
    await delay(300);
    assert.equal(await sessionPresent(b, { protocolVersion: 5, clientId: 'exp-within', clean: false, properties: { sessionExpiryInterval: 1 } }), true);
  } finally {
    await b.close();
  }
});

test('5.0: the session is not discarded while its connection is open, however short its expiry interval [MQTT-4.1.0-1]', async () => {
  const b = await startBroker();
  const { client, received } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'exp-open', clean: false, properties: { sessionExpiryInterval: 1 } });
  try {
    await client.subscribeAsync('exp/open', { qos: 1 });
    await delay(1500);
    await publishFrom(b, 'exp/open', ['still'], 1);
    const [m] = await waitFor(received, 1);
    assert.equal(m!.payload, 'still');
  } finally {
    await client.endAsync();
    await b.close();
  }
});

test('5.0: a DISCONNECT with Session Expiry Interval 0 ends a session that CONNECT asked to keep', async () => {
  const b = await startBroker();
  try {
    const first = await mqttjs(b.url, { protocolVersion: 5, clientId: 'exp-dc-zero', clean: false, properties: { sessionExpiryInterval: 60 } });
    await first.client.endAsync({ reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await delay(50);
    assert.equal(b.broker.sessions.has('exp-dc-zero'), false);
    assert.equal(await sessionPresent(b, { protocolVersion: 5, clientId: 'exp-dc-zero', clean: false }), false);
  } finally {
    await b.close();
  }
});

test('5.0: a DISCONNECT can lengthen the Session Expiry Interval set by CONNECT', async () => {
  const b = await startBroker();
  try {
    const first = await mqttjs(b.url, { protocolVersion: 5, clientId: 'exp-dc-long', clean: false, properties: { sessionExpiryInterval: 1 } });
    await first.client.endAsync({ reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    await delay(1500);
    assert.equal(await sessionPresent(b, { protocolVersion: 5, clientId: 'exp-dc-long', clean: false, properties: { sessionExpiryInterval: 60 } }), true);
  } finally {
    await b.close();
  }
});

test('5.0: a DISCONNECT setting a non-zero Session Expiry Interval after CONNECT had 0 is a protocol error (DISCONNECT 0x82) and the session is not kept', async () => {
  const b = await startBroker();
  const c = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'exp-dc-bad', clean: false });
  try {
    c.send({ type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    const d = await c.expect('disconnect');
    assert.equal(d.reasonCode, 0x82);
    await c.closedByServer();
    assert.equal(b.broker.sessions.has('exp-dc-bad'), false);
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0: a Session Expiry Interval above limits.maxSessionExpiry is lowered and the CONNACK says so', async () => {
  const b = await startBroker({ limits: { maxSessionExpiry: 1 } });
  try {
    const { client, connack } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'exp-cap', clean: false, properties: { sessionExpiryInterval: 3600 } });
    assert.equal(connack.properties?.sessionExpiryInterval, 1);
    await client.endAsync();
    await delay(1500);
    assert.equal(b.broker.sessions.has('exp-cap'), false, 'the session ended after the capped interval');
  } finally {
    await b.close();
  }
});

test('5.0: QoS 1 and 2 messages published while the client is offline are queued and delivered on reconnect, in order [MQTT-3.1.2-5]', async () => {
  const b = await startBroker();
  try {
    const opts: IClientOptions = { protocolVersion: 5, clientId: 'offline-5', clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await mqttjs(b.url, opts);
    await first.client.subscribeAsync('offline5/#', { qos: 2 });
    await first.client.endAsync();

    await publishFrom(b, 'offline5/a', ['1', '2'], 1);
    await publishFrom(b, 'offline5/b', ['3'], 2);
    await publishFrom(b, 'offline5/c', ['qos0'], 0);

    const again = await mqttjs(b.url, opts);
    try {
      assert.equal(again.connack.sessionPresent, true);
      const got = await waitFor(again.received, 3);
      await delay(100);
      assert.deepEqual(got.map((m) => [m.payload, m.packet.qos]), [['1', 1], ['2', 1], ['3', 2]]);
    } finally {
      await again.client.endAsync();
    }
  } finally {
    await b.close();
  }
});

for (const version of [4, 5] as const) {
  const v = version === 5 ? '5.0' : '3.1.1';
  const persistent = version === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false };

  test(`${v}: unacknowledged QoS 1 messages are resent on reconnect with DUP 1, their packet ids, in order [MQTT-4.4.0-1]`, async () => {
    const b = await startBroker();
    const id = `resend-${version}`;
    let c = await RawClient.connect(b.port, { protocolVersion: version, clientId: id, ...persistent });
    try {
      c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'resend/q1', qos: 1 }] });
      await c.expect('suback');
      await publishFrom(b, 'resend/q1', ['a', 'b', 'c'], 1);
      const first: PublishPacket[] = [];
      for (let i = 0; i < 3; i++) first.push(await c.expect('publish'));
      assert.ok(first.every((p) => !p.dup), 'first deliveries have DUP 0');
      // While connected nothing is resent.
      await c.silent(300);
      c.destroy();

      c = await RawClient.connect(b.port, { protocolVersion: version, clientId: id, ...persistent });
      const again: PublishPacket[] = [];
      for (let i = 0; i < 3; i++) again.push(await c.expect('publish'));
      assert.deepEqual(again.map((p) => [p.payload.toString(), p.packetId, p.dup, p.qos]), first.map((p) => [p.payload.toString(), p.packetId, true, 1]));
    } finally {
      c.destroy();
      await b.close();
    }
  });

  test(`${v}: acknowledged messages are not resent on reconnect [MQTT-4.4.0-1]`, async () => {
    const b = await startBroker();
    const id = `acked-${version}`;
    let c = await RawClient.connect(b.port, { protocolVersion: version, clientId: id, ...persistent });
    try {
      c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'acked/q1', qos: 1 }] });
      await c.expect('suback');
      await publishFrom(b, 'acked/q1', ['a', 'b'], 1);
      const a = await c.expect('publish');
      await c.expect('publish');
      c.send({ type: 'puback', packetId: a.packetId! });
      await delay(50);
      c.destroy();

      c = await RawClient.connect(b.port, { protocolVersion: version, clientId: id, ...persistent });
      const again = await c.expect('publish');
      assert.equal(again.payload.toString(), 'b', 'only the unacknowledged one comes back');
      await c.silent(200);
    } finally {
      c.destroy();
      await b.close();
    }
  });

  test(`${v}: a QoS 2 delivery whose PUBREC was sent resumes with PUBREL on reconnect [MQTT-4.4.0-1]`, async () => {
    const b = await startBroker();
    const id = `pubrel-${version}`;
    let c = await RawClient.connect(b.port, { protocolVersion: version, clientId: id, ...persistent });
    try {
      c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'resume/q2', qos: 2 }] });
      await c.expect('suback');
      await publishFrom(b, 'resume/q2', ['two'], 2);
      const p = await c.expect('publish');
      assert.equal(p.qos, 2);
      c.send({ type: 'pubrec', packetId: p.packetId! });
      const rel = await c.expect('pubrel');
      assert.equal(rel.packetId, p.packetId);
      c.destroy(); // no PUBCOMP

      c = await RawClient.connect(b.port, { protocolVersion: version, clientId: id, ...persistent });
      const again = await c.expect('pubrel');
      assert.equal(again.packetId, p.packetId);
      await c.silent(200); // the PUBLISH is not sent again
      c.send({ type: 'pubcomp', packetId: p.packetId! });
      await delay(50);
      c.destroy();

      c = await RawClient.connect(b.port, { protocolVersion: version, clientId: id, ...persistent });
      await c.silent(200); // completed: nothing to resume
    } finally {
      c.destroy();
      await b.close();
    }
  });

  test(`${v}: a QoS 2 PUBLISH never answered with PUBREC is resent with DUP 1 on reconnect [MQTT-4.4.0-1]`, async () => {
    const b = await startBroker();
    const id = `q2dup-${version}`;
    let c = await RawClient.connect(b.port, { protocolVersion: version, clientId: id, ...persistent });
    try {
      c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'resume/q2dup', qos: 2 }] });
      await c.expect('suback');
      await publishFrom(b, 'resume/q2dup', ['two'], 2);
      const p = await c.expect('publish');
      c.destroy();

      c = await RawClient.connect(b.port, { protocolVersion: version, clientId: id, ...persistent });
      const again = await c.expect('publish');
      assert.deepEqual([again.packetId, again.dup, again.qos, again.payload.toString()], [p.packetId, true, 2, 'two']);
    } finally {
      c.destroy();
      await b.close();
    }
  });
}

test('5.0: a takeover with Clean Start 0 keeps the session: the new connection gets the unacknowledged messages [MQTT-3.1.4-3] [MQTT-4.4.0-1]', async () => {
  const b = await startBroker();
  const persistent = { protocolVersion: 5 as const, clientId: 'takeover-keep', clean: false, properties: { sessionExpiryInterval: 60 } };
  const old = await RawClient.connect(b.port, persistent);
  let fresh: RawClient | undefined;
  try {
    old.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'takeover/keep', qos: 1 }] });
    await old.expect('suback');
    await publishFrom(b, 'takeover/keep', ['inflight'], 1);
    const p = await old.expect('publish');

    const c = await RawClient.open(b.port, 5);
    fresh = c;
    c.send({ type: 'connect', protocolName: 'MQTT', keepalive: 0, ...persistent });
    const ack = await c.expect('connack');
    assert.equal(ack.sessionPresent, true);
    const again = await c.expect('publish');
    assert.deepEqual([again.packetId, again.dup, again.payload.toString()], [p.packetId, true, 'inflight']);
    const d = await old.expect('disconnect');
    assert.equal(d.reasonCode, 0x8e);
  } finally {
    old.destroy();
    fresh?.destroy();
    await b.close();
  }
});
