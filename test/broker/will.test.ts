// Will messages (3.1.1 section 3.1.2.5, 5.0 sections 3.1.2.5 and 3.1.3.2): published when a
// connection ends any way but a normal DISCONNECT (keep alive timeout, protocol error,
// network drop, takeover), with the will's QoS, retain flag and 5.0 properties, after the
// 5.0 Will Delay Interval or when the session ends, and never once a new connection has
// taken the session back within the delay.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { ConnectPacket, PublishPacket, QoS, Will } from '../../src/codec/index.js';
import { RawClient, delay, startBroker } from '../helpers/broker.js';

/** Connects MQTT.js (no reconnects). */
async function mqttjs(url: string, opts: IClientOptions): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 2000, ...opts });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('closed before CONNACK')));
    });
    return client;
  } catch (err) {
    client.end(true);
    throw err;
  }
}

/** A 5.0 RawClient subscribed to `filter`, to see wills exactly as the broker sends them. */
async function watcher(port: number, filter: string, qos: QoS = 2, version: 4 | 5 = 5): Promise<RawClient> {
  const w = await RawClient.connect(port, { protocolVersion: version, clientId: `watch-${Math.random().toString(36).slice(2, 8)}` });
  w.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: filter, qos }] });
  await w.expect('suback');
  return w;
}

/** The next PUBLISH at the watcher, acknowledged so the broker's flow completes. */
async function nextWill(w: RawClient, ms = 2000): Promise<PublishPacket> {
  const p = await w.expect('publish', ms);
  if (p.qos === 1) w.send({ type: 'puback', packetId: p.packetId! });
  if (p.qos === 2) w.send({ type: 'pubrec', packetId: p.packetId! });
  return p;
}

const will = (topic: string, extra: Partial<Will> = {}): Will => ({ topic, payload: Buffer.from('gone'), qos: 0, retain: false, ...extra });

const V = { 4: '3.1.1', 5: '5.0' } as const;

for (const version of [4, 5] as const) {
  test(`${V[version]}: the will is published when the network connection drops [MQTT-3.1.2-8]`, async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/drop');
    const client = await mqttjs(b.url, { protocolVersion: version, clientId: `drop-${version}`, will: { topic: 'will/drop', payload: Buffer.from('gone'), qos: 0, retain: false } });
    try {
      client.end(true); // closes the socket without DISCONNECT
      const p = await nextWill(w);
      assert.equal(p.topic, 'will/drop');
      assert.equal(p.payload.toString(), 'gone');
    } finally {
      client.end(true);
      w.destroy();
      await b.close();
    }
  });

  test(`${V[version]}: the will is published when the keep alive runs out [MQTT-3.1.2-8]`, async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/keepalive');
    const c = await RawClient.connect(b.port, { protocolVersion: version, clientId: `ka-will-${version}`, keepalive: 1, will: will('will/keepalive') });
    try {
      const p = await nextWill(w, 3200);
      assert.equal(p.payload.toString(), 'gone');
      await c.closedByServer();
    } finally {
      c.destroy();
      w.destroy();
      await b.close();
    }
  });

  test(`${V[version]}: the will is published when the client breaks the protocol with a malformed packet [MQTT-3.1.2-8]`, async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/malformed');
    const c = await RawClient.connect(b.port, { protocolVersion: version, clientId: `bad-will-${version}`, will: will('will/malformed') });
    try {
      c.sendRaw('c1 00'); // PINGREQ with a reserved flag bit set
      const p = await nextWill(w);
      assert.equal(p.payload.toString(), 'gone');
      await c.closedByServer();
    } finally {
      c.destroy();
      w.destroy();
      await b.close();
    }
  });

  test(`${V[version]}: the will of a connection taken over by the same client id is published [MQTT-3.1.2-8]`, async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/takeover');
    const old = await RawClient.connect(b.port, { protocolVersion: version, clientId: `tk-will-${version}`, will: will('will/takeover') });
    let fresh: RawClient | undefined;
    try {
      fresh = await RawClient.connect(b.port, { protocolVersion: version, clientId: `tk-will-${version}` });
      const p = await nextWill(w);
      assert.equal(p.payload.toString(), 'gone');
      await old.closedByServer();
    } finally {
      old.destroy();
      fresh?.destroy();
      w.destroy();
      await b.close();
    }
  });

  test(`${V[version]}: a normal DISCONNECT discards the will unpublished [MQTT-3.14.4-3] [MQTT-3.1.2-10]`, async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/normal');
    const client = await mqttjs(b.url, { protocolVersion: version, clientId: `normal-${version}`, will: { topic: 'will/normal', payload: Buffer.from('gone'), qos: 1, retain: false } });
    try {
      await client.endAsync(); // DISCONNECT, then close
      await w.silent(400);
      assert.equal(b.broker.retained.match('will/normal').length, 0);
      // Positive control: the same will from a connection that drops does reach the watcher.
      const dropped = await RawClient.connect(b.port, { protocolVersion: version, clientId: `dropped-${version}`, will: will('will/normal') });
      dropped.destroy();
      assert.equal((await nextWill(w)).payload.toString(), 'gone');
    } finally {
      client.end(true);
      w.destroy();
      await b.close();
    }
  });

  test(`${V[version]}: a will with Will Retain 1 is published as retained and stored ${version === 5 ? '[MQTT-3.1.2-15]' : '[MQTT-3.1.2-17]'}`, async () => {
    const b = await startBroker();
    const c = await RawClient.connect(b.port, { protocolVersion: version, clientId: `ret-will-${version}`, will: will('will/retained', { retain: true, qos: 1 }) });
    let w: RawClient | undefined;
    try {
      c.destroy();
      await delay(150);
      // A subscriber that arrives afterwards gets the stored will with RETAIN set.
      w = await watcher(b.port, 'will/retained', 1, version);
      const p = await nextWill(w);
      assert.equal(p.payload.toString(), 'gone');
      assert.equal(p.retain, true);
    } finally {
      c.destroy();
      w?.destroy();
      await b.close();
    }
  });

  test(`${V[version]}: a will with Will Retain 0 is published as non-retained and not stored ${version === 5 ? '[MQTT-3.1.2-14]' : '[MQTT-3.1.2-16]'}`, async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/plain');
    const c = await RawClient.connect(b.port, { protocolVersion: version, clientId: `plain-will-${version}`, will: will('will/plain') });
    try {
      c.destroy();
      const p = await nextWill(w);
      assert.equal(p.retain, false);
      assert.equal(b.broker.retained.match('will/plain').length, 0);
    } finally {
      w.destroy();
      await b.close();
    }
  });

  test(`${V[version]}: the will is published at its Will QoS, capped by the subscription`, async () => {
    const b = await startBroker();
    const w2 = await watcher(b.port, 'will/qos', 2);
    const w1 = await watcher(b.port, 'will/qos', 1);
    const c = await RawClient.connect(b.port, { protocolVersion: version, clientId: `qos-will-${version}`, will: will('will/qos', { qos: 2 }) });
    try {
      c.destroy();
      assert.equal((await nextWill(w2)).qos, 2);
      assert.equal((await nextWill(w1)).qos, 1);
    } finally {
      w1.destroy();
      w2.destroy();
      await b.close();
    }
  });
}

test('3.1.1: a connection without a will publishes nothing when it drops [MQTT-3.1.2-12]', async () => {
  const b = await startBroker();
  const w = await watcher(b.port, '#', 0, 4);
  const c = await RawClient.connect(b.port, { protocolVersion: 4, clientId: 'no-will' });
  try {
    c.destroy();
    await w.silent(300);
    // Positive control: a connection with a will that drops does publish it to the same watcher.
    const d = await RawClient.connect(b.port, { protocolVersion: 4, clientId: 'with-will', will: will('will/dropped') });
    d.destroy();
    assert.equal((await nextWill(w)).topic, 'will/dropped');
  } finally {
    w.destroy();
    await b.close();
  }
});

test('a CONNECT refused by authentication never publishes its will', async () => {
  const b = await startBroker({ hooks: [{ authenticate: (req) => (req.clientId === 'refused-will' ? { ok: false, reasonCode: 0x87 } : { ok: true }) }] });
  const w = await watcher(b.port, 'will/refused');
  const c = await RawClient.open(b.port, 5);
  try {
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'refused-will', will: will('will/refused') });
    assert.equal((await c.expect('connack')).reasonCode, 0x87);
    await c.closedByServer();
    await w.silent(300);
    // Positive control: the same will from an accepted connection that drops is published.
    const d = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'accepted-will', will: will('will/refused') });
    d.destroy();
    assert.equal((await nextWill(w)).payload.toString(), 'gone');
  } finally {
    c.destroy();
    w.destroy();
    await b.close();
  }
});

test('5.0: DISCONNECT with reason 0x04 Disconnect with Will Message publishes the will', async () => {
  const b = await startBroker();
  const w = await watcher(b.port, 'will/0x04');
  const client = await mqttjs(b.url, { protocolVersion: 5, clientId: 'dc-0x04', will: { topic: 'will/0x04', payload: Buffer.from('asked'), qos: 0, retain: false } });
  try {
    await client.endAsync({ reasonCode: 0x04 });
    const p = await nextWill(w);
    assert.equal(p.payload.toString(), 'asked');
  } finally {
    client.end(true);
    w.destroy();
    await b.close();
  }
});

test('5.0: a DISCONNECT with an error reason code (0x80) keeps the will, which is published [MQTT-3.1.2-8]', async () => {
  const b = await startBroker();
  const w = await watcher(b.port, 'will/0x80');
  const c = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'dc-0x80', will: will('will/0x80') });
  try {
    c.send({ type: 'disconnect', reasonCode: 0x80 });
    const p = await nextWill(w);
    assert.equal(p.payload.toString(), 'gone');
  } finally {
    c.destroy();
    w.destroy();
    await b.close();
  }
});

test('5.0: a Will QoS above the server\'s Maximum QoS is refused with CONNACK 0x9B and the connection closed [MQTT-3.2.2-12]', async () => {
  const b = await startBroker({ maximumQoS: 1 });
  const c = await RawClient.open(b.port, 5);
  try {
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'will-qos2', will: will('will/q2', { qos: 2 }) });
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x9b);
    await c.closedByServer();
    assert.equal(b.broker.clients.size, 0);
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0: a retained will to a server without retained messages is refused with CONNACK 0x9A and the connection closed [MQTT-3.2.2-13]', async () => {
  const b = await startBroker({ retainAvailable: false });
  const c = await RawClient.open(b.port, 5);
  try {
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'will-ret', will: will('will/ret', { retain: true }) });
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x9a);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('3.1.1: a will the server cannot honour (retained, retained messages off) closes the connection without a CONNACK [MQTT-3.2.2-6]', async () => {
  const b = await startBroker({ retainAvailable: false });
  const c = await RawClient.open(b.port, 4);
  try {
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'will-ret-4', will: will('will/ret', { retain: true }) });
    await c.closedByServer();
    assert.deepEqual(c.packets, []);
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0: a will within the server\'s capabilities is accepted when Maximum QoS is 1', async () => {
  const b = await startBroker({ maximumQoS: 1 });
  const c = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'will-qos1', will: will('will/q1', { qos: 1 }) });
  try {
    assert.ok(b.broker.clients.has('will-qos1'));
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0: the will carries its properties to the subscriber, user properties in order [MQTT-3.1.3-10]', async () => {
  const b = await startBroker();
  const w = await watcher(b.port, 'will/props');
  const c = await RawClient.connect(b.port, {
    protocolVersion: 5,
    clientId: 'props-will',
    will: will('will/props', {
      properties: {
        contentType: 'text/plain',
        payloadFormatIndicator: 1,
        responseTopic: 'will/reply',
        correlationData: Buffer.from('c-1'),
        userProperties: [['z', '1'], ['a', '2'], ['z', '3']],
      },
    }),
  });
  try {
    c.destroy();
    const p = await nextWill(w);
    assert.equal(p.properties?.contentType, 'text/plain');
    assert.equal(p.properties?.payloadFormatIndicator, 1);
    assert.equal(p.properties?.responseTopic, 'will/reply');
    assert.equal(p.properties?.correlationData?.toString(), 'c-1');
    assert.deepEqual(p.properties?.userProperties, [['z', '1'], ['a', '2'], ['z', '3']]);
  } finally {
    w.destroy();
    await b.close();
  }
});

test('5.0: MQTT.js sees the will\'s content type and user properties', async () => {
  const b = await startBroker();
  const sub = await mqttjs(b.url, { protocolVersion: 5, clientId: 'props-sub' });
  const got = new Promise<IPublishPacket>((resolve) => sub.on('message', (_t, _p, packet) => resolve(packet)));
  await sub.subscribeAsync('will/mqttjs', { qos: 1 });
  const client = await mqttjs(b.url, {
    protocolVersion: 5,
    clientId: 'props-pub',
    will: { topic: 'will/mqttjs', payload: Buffer.from('{}'), qos: 1, retain: false, properties: { contentType: 'application/json', userProperties: { site: 'north', rack: '7' } } },
  });
  try {
    client.end(true);
    const packet = await Promise.race([got, delay(2000).then(() => undefined)]);
    assert.ok(packet, 'will arrived');
    assert.equal(packet.properties?.contentType, 'application/json');
    assert.deepEqual({ ...packet.properties?.userProperties }, { site: 'north', rack: '7' });
  } finally {
    client.end(true);
    sub.end(true);
    await b.close();
  }
});

// The Will Delay tests wait on the clock; they run side by side, each with its own broker.
describe('5.0 Will Delay Interval', { concurrency: true }, () => {
  const delayed = (clientId: string, topic: string, willDelay: number, expiry: number): Partial<ConnectPacket> => ({
    protocolVersion: 5,
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: expiry },
    will: will(topic, { properties: { willDelayInterval: willDelay } }),
  });

  /** Positive control: a delayed will whose connection drops and stays away does reach `w`. */
  const controlWill = async (port: number, w: RawClient, topic: string): Promise<void> => {
    const c = await RawClient.connect(port, { ...delayed(`control-${topic}`, topic, 1, 60), will: will(topic, { payload: Buffer.from('control'), properties: { willDelayInterval: 1 } }) });
    c.destroy();
    assert.equal((await nextWill(w, 3000)).payload.toString(), 'control');
  };

  test('a will with a delay is kept with the session and published after the delay, not before [MQTT-3.1.2-7] [MQTT-3.1.2-8]', async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/delay');
    const c = await RawClient.connect(b.port, delayed('delay-1', 'will/delay', 1, 60));
    try {
      c.destroy();
      await w.silent(300);
      const p = await nextWill(w, 1700);
      assert.equal(p.payload.toString(), 'gone');
    } finally {
      w.destroy();
      await b.close();
    }
  });

  test('a reconnection within the delay cancels the will [MQTT-3.1.3-9]', async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/cancel');
    const c = await RawClient.connect(b.port, delayed('cancel-1', 'will/cancel', 1, 60));
    let back: RawClient | undefined;
    try {
      c.destroy();
      await delay(200);
      back = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'cancel-1', clean: false, properties: { sessionExpiryInterval: 60 } });
      await w.silent(1500);
      await controlWill(b.port, w, 'will/cancel');
    } finally {
      back?.destroy();
      w.destroy();
      await b.close();
    }
  });

  test('a will whose delay outlasts the session is published when the session ends [MQTT-3.1.2-8]', async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/expiry');
    const c = await RawClient.connect(b.port, delayed('expiry-1', 'will/expiry', 30, 1));
    try {
      c.destroy();
      await w.silent(300);
      const p = await nextWill(w, 1700);
      assert.equal(p.payload.toString(), 'gone');
      assert.equal(b.broker.sessions.has('expiry-1'), false);
    } finally {
      w.destroy();
      await b.close();
    }
  });

  test('a will with a delay is published at once when the session has expiry 0', async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/noexpiry');
    const c = await RawClient.connect(b.port, delayed('noexp-1', 'will/noexpiry', 30, 0));
    try {
      c.destroy();
      const p = await nextWill(w, 500);
      assert.equal(p.payload.toString(), 'gone');
    } finally {
      w.destroy();
      await b.close();
    }
  });

  test('a Clean Start reconnection within the delay ends the old session, which publishes the will', async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/clean');
    const c = await RawClient.connect(b.port, delayed('clean-1', 'will/clean', 30, 60));
    let back: RawClient | undefined;
    try {
      c.destroy();
      await w.silent(200);
      back = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'clean-1', clean: true });
      const p = await nextWill(w, 500);
      assert.equal(p.payload.toString(), 'gone');
    } finally {
      back?.destroy();
      w.destroy();
      await b.close();
    }
  });

  test('a will is published once only, even when its delay and the session end coincide [MQTT-3.1.2-10]', async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/once');
    const c = await RawClient.connect(b.port, delayed('once-1', 'will/once', 1, 1));
    try {
      c.destroy();
      await nextWill(w, 1700);
      await w.silent(700);
    } finally {
      w.destroy();
      await b.close();
    }
  });

  test('a will delay longer than one timer can hold (30 days) does not publish the will at once', async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/month');
    const c = await RawClient.connect(b.port, delayed('month-1', 'will/month', 30 * 86_400, 0xffffffff));
    try {
      c.destroy();
      await w.silent(500);
      await controlWill(b.port, w, 'will/month');
    } finally {
      w.destroy();
      await b.close();
    }
  });

  test('a delayed will\'s Message Expiry Interval counts from when it is published, not from the close', async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/expiring');
    const c = await RawClient.connect(b.port, {
      ...delayed('expiring-1', 'will/expiring', 1, 60),
      will: will('will/expiring', { properties: { willDelayInterval: 1, messageExpiryInterval: 10 } }),
    });
    try {
      c.destroy();
      const p = await nextWill(w, 2000);
      assert.equal(p.properties?.messageExpiryInterval, 10);
    } finally {
      w.destroy();
      await b.close();
    }
  });

  test('a takeover by the same client with Clean Start 0 does not publish a delayed will [MQTT-3.1.3-9]', async () => {
    const b = await startBroker();
    const w = await watcher(b.port, 'will/tk-delay');
    const old = await RawClient.connect(b.port, delayed('tkd-1', 'will/tk-delay', 1, 60));
    let fresh: RawClient | undefined;
    try {
      fresh = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'tkd-1', clean: false, properties: { sessionExpiryInterval: 60 } });
      assert.equal((await old.expect('disconnect')).reasonCode, 0x8e);
      await w.silent(1500);
      await controlWill(b.port, w, 'will/tk-delay');
    } finally {
      old.destroy();
      fresh?.destroy();
      w.destroy();
      await b.close();
    }
  });
});
