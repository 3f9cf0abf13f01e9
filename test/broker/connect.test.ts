// CONNECT and CONNACK (sections 3.1 and 3.2 of 5.0 and 3.1.1): protocol name and level, the
// first and second CONNECT, client identifiers, session takeover, what a 5.0 CONNACK
// advertises, packets sent ahead of the CONNACK, and graceful shutdown. Real clients
// (MQTT.js) where they can express the scenario, RawClient for exact bytes and violations.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { encode } from '../../src/codec/index.js';
import mqtt, { type IClientOptions, type IConnackPacket, type IDisconnectPacket, type MqttClient } from 'mqtt';
import { RawClient, delay, startBroker } from '../helpers/broker.js';

/** Connects MQTT.js (no reconnects) and resolves with the client and its CONNACK. */
async function mqttjs(url: string, opts: IClientOptions): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 2000, ...opts });
  try {
    const connack = await new Promise<IConnackPacket>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
      client.once('close', () => reject(new Error('closed before CONNACK')));
    });
    return { client, connack };
  } catch (err) {
    client.end(true);
    throw err;
  }
}

/** A CONNECT with an arbitrary protocol name and level (and an empty client id). */
function connectBytes(name: string, level: number): Buffer {
  const n = Buffer.from(name);
  const body = Buffer.concat([Buffer.from([0, n.length]), n, Buffer.from([level, 0x02, 0x00, 0x3c, 0x00, 0x00])]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

test('an unsupported protocol level is refused with CONNACK return code 0x01 and the connection closed [MQTT-3.1.2-2]', async () => {
  // 3.1.1 MQTT-3.1.2-2 requires return code 0x01; 5.0 MQTT-3.1.2-2 lets the server send 0x84
  // and requires the close. A level the broker does not know has no known CONNACK form: the
  // broker answers in the 3.1/3.1.1 form, which every version's client can read.
  const b = await startBroker();
  const c = await RawClient.open(b.port, 4);
  try {
    c.sendRaw(connectBytes('MQTT', 6));
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x01);
    assert.equal(ack.sessionPresent, false);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('the 3.1 protocol name with a level other than 3 is refused with CONNACK 0x01 [MQTT-3.1.2-2]', async () => {
  const b = await startBroker();
  const c = await RawClient.open(b.port, 4);
  try {
    c.sendRaw(connectBytes('MQIsdp', 4));
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x01);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('a CONNECT with an unknown protocol name is not processed: the connection closes without an accepting CONNACK [MQTT-3.1.2-1]', async () => {
  const b = await startBroker();
  const c = await RawClient.open(b.port, 4);
  try {
    c.sendRaw(connectBytes('MQTX', 4));
    await c.closedByServer();
    assert.ok(!c.packets.some((p) => p.type === 'connack' && p.reasonCode === 0), 'no CONNACK accepting the connection');
    assert.equal(b.broker.clients.size, 0);
  } finally {
    c.destroy();
    await b.close();
  }
});

for (const version of [3, 4, 5] as const) {
  test(`${version === 3 ? '3.1' : version === 4 ? '3.1.1' : '5.0'}: an accepted CONNECT is answered with CONNACK 0x00 as the first packet ${version === 5 ? '[MQTT-3.1.4-5]' : '[MQTT-3.1.4-4]'} [MQTT-3.2.0-1]`, async () => {
    const b = await startBroker();
    const { client, connack } = await mqttjs(b.url, {
      protocolVersion: version,
      protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
      clientId: `accept-${version}`,
    });
    try {
      assert.equal(connack.cmd, 'connack');
      assert.equal(version === 5 ? connack.reasonCode : connack.returnCode, 0);
      assert.ok(b.broker.clients.has(`accept-${version}`));
    } finally {
      client.end(true);
      await b.close();
    }
  });
}

test('a first packet that is not CONNECT closes the connection without an answer [MQTT-3.1.0-1]', async () => {
  const b = await startBroker();
  const c = await RawClient.open(b.port, 4);
  try {
    c.send({ type: 'pingreq' });
    await c.closedByServer();
    assert.deepEqual(c.packets, []);
  } finally {
    c.destroy();
    await b.close();
  }
});

test('a SUBSCRIBE as the first packet closes the connection and subscribes nothing [MQTT-3.1.0-1]', async () => {
  const b = await startBroker();
  const c = await RawClient.open(b.port, 4);
  try {
    c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 0 }] });
    await c.closedByServer();
    assert.deepEqual(c.packets, []);
    assert.equal(b.broker.localRouter.index.match('any/topic').subscriptions.length, 0);
    // Positive control: the same SUBSCRIBE from a connected client is in the index.
    const ok = await RawClient.connect(b.port, { protocolVersion: 4 });
    ok.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 0 }] });
    await ok.expect('suback');
    assert.equal(b.broker.localRouter.index.match('any/topic').subscriptions.length, 1);
    ok.destroy();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('3.1.1: a second CONNECT is a protocol violation and closes the connection [MQTT-3.1.0-2]', async () => {
  const b = await startBroker();
  const c = await RawClient.connect(b.port, { protocolVersion: 4, clientId: 'twice-311' });
  try {
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'twice-311' });
    await c.closedByServer();
    assert.deepEqual(c.packets, [], 'no second CONNACK');
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0: a second CONNECT gets DISCONNECT 0x82 Protocol Error and the connection closes [MQTT-3.1.0-2] [MQTT-3.2.0-2]', async () => {
  const b = await startBroker();
  const c = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'twice-5' });
  try {
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'twice-5' });
    const d = await c.expect('disconnect');
    assert.equal(d.reasonCode, 0x82);
    await c.closedByServer();
    assert.deepEqual(c.packets, [], 'nothing after the DISCONNECT, and no second CONNACK');
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0: an empty client id is replaced by an assigned one, returned in CONNACK Assigned Client Identifier [MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.2.2-16]', async () => {
  const b = await startBroker();
  const first = await mqttjs(b.url, { protocolVersion: 5, clientId: '' });
  const second = await mqttjs(b.url, { protocolVersion: 5, clientId: '' });
  try {
    const id1 = first.connack.properties?.assignedClientIdentifier;
    const id2 = second.connack.properties?.assignedClientIdentifier;
    assert.ok(typeof id1 === 'string' && id1.length > 0, 'first CONNACK assigns an id');
    assert.ok(typeof id2 === 'string' && id2.length > 0, 'second CONNACK assigns an id');
    assert.notEqual(id1, id2, 'assigned ids are unique');
    // The CONNECT is processed under the assigned id: both clients are connected by it.
    assert.ok(b.broker.clients.has(id1));
    assert.ok(b.broker.clients.has(id2));
  } finally {
    first.client.end(true);
    second.client.end(true);
    await b.close();
  }
});

test('5.0: a CONNACK to a client that sent its own id carries no Assigned Client Identifier', async () => {
  const b = await startBroker();
  const { client, connack } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'own-id' });
  try {
    assert.equal(connack.properties?.assignedClientIdentifier, undefined);
  } finally {
    client.end(true);
    await b.close();
  }
});

test('3.1.1: an empty client id with CleanSession 1 is accepted under an id the server assigns [MQTT-3.1.3-6]', async () => {
  const b = await startBroker();
  const c = await RawClient.connect(b.port, { protocolVersion: 4, clientId: '', clean: true });
  try {
    assert.equal(b.broker.clients.size, 1);
    const [id] = b.broker.clients.keys();
    assert.ok(id !== undefined && id.length > 0);
    c.send({ type: 'pingreq' });
    await c.expect('pingresp');
  } finally {
    c.destroy();
    await b.close();
  }
});

test('3.1.1: an empty client id with CleanSession 0 is refused with CONNACK 0x02 and the connection closed [MQTT-3.1.3-8] [MQTT-3.2.2-4] [MQTT-3.2.2-5]', async () => {
  const b = await startBroker();
  const c = await RawClient.open(b.port, 4);
  try {
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: false, keepalive: 0, clientId: '' });
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x02);
    assert.equal(ack.sessionPresent, false);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('3.1: a client id longer than 23 characters is refused with CONNACK 0x02 [MQTT-3.1.3-9]', async () => {
  const b = await startBroker();
  const c = await RawClient.open(b.port, 3);
  try {
    c.send({ type: 'connect', protocolName: 'MQIsdp', protocolVersion: 3, clean: true, keepalive: 0, clientId: 'a'.repeat(24) });
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x02);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('3.1: an empty client id is refused with CONNACK 0x02 [MQTT-3.1.3-9]', async () => {
  const b = await startBroker();
  const c = await RawClient.open(b.port, 3);
  try {
    c.send({ type: 'connect', protocolName: 'MQIsdp', protocolVersion: 3, clean: true, keepalive: 0, clientId: '' });
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x02);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

for (const version of [3, 4, 5] as const) {
  test(`${version === 3 ? '3.1' : version === 4 ? '3.1.1' : '5.0'}: client ids of 1 to 23 letters and digits are accepted [MQTT-3.1.3-5]`, async () => {
    const b = await startBroker();
    const ids = ['a', 'Z9', 'abcdefghijklmnopqrstuvw'];
    const clients: RawClient[] = [];
    try {
      for (const clientId of ids) {
        clients.push(await RawClient.connect(b.port, { protocolVersion: version, protocolName: version === 3 ? 'MQIsdp' : 'MQTT', clientId }));
      }
      assert.deepEqual([...b.broker.clients.keys()].sort(), [...ids].sort());
    } finally {
      for (const c of clients) c.destroy();
      await b.close();
    }
  });
}

test('3.1.1: a client id already connected takes over: the existing connection is closed [MQTT-3.1.4-2]', async () => {
  const b = await startBroker();
  const old = await RawClient.connect(b.port, { protocolVersion: 4, clientId: 'takeover-311' });
  let fresh: RawClient | undefined;
  try {
    fresh = await RawClient.connect(b.port, { protocolVersion: 4, clientId: 'takeover-311' });
    await old.closedByServer();
    assert.deepEqual(old.packets, [], '3.1.1 has no DISCONNECT from the server');
    fresh.send({ type: 'pingreq' });
    await fresh.expect('pingresp');
    assert.equal(b.broker.clients.size, 1);
  } finally {
    old.destroy();
    fresh?.destroy();
    await b.close();
  }
});

test('5.0: a client id already connected takes over: the existing client gets DISCONNECT 0x8E and is closed [MQTT-3.1.4-3]', async () => {
  const b = await startBroker();
  const old = await mqttjs(b.url, { protocolVersion: 5, clientId: 'takeover-5' });
  let fresh: MqttClient | undefined;
  try {
    const disconnected = new Promise<IDisconnectPacket>((resolve) => old.client.once('disconnect', resolve));
    const closed = new Promise<void>((resolve) => old.client.once('close', () => resolve()));
    fresh = (await mqttjs(b.url, { protocolVersion: 5, clientId: 'takeover-5' })).client;
    const packet = await disconnected;
    assert.equal(packet.reasonCode, 0x8e);
    await closed;
    assert.ok(fresh.connected);
    assert.equal(b.broker.clients.size, 1);
  } finally {
    old.client.end(true);
    fresh?.end(true);
    await b.close();
  }
});

test('5.0: the CONNACK advertises Receive Maximum, Maximum Packet Size, Topic Alias Maximum and the optional features', async () => {
  const b = await startBroker({ limits: { receiveMaximum: 77, maxPacketSize: 4096, topicAliasMaximum: 9 } });
  const { client, connack } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'advertise' });
  try {
    const p = connack.properties ?? {};
    assert.equal(p.receiveMaximum, 77);
    assert.equal(p.maximumPacketSize, 4096);
    assert.equal(p.topicAliasMaximum, 9);
    assert.equal(p.retainAvailable, true);
    assert.equal(p.wildcardSubscriptionAvailable, true);
    assert.equal(p.sharedSubscriptionAvailable, true);
    assert.equal(p.subscriptionIdentifiersAvailable, true);
  } finally {
    client.end(true);
    await b.close();
  }
});

test('5.0: the CONNACK says Retain Available 0 when retained messages are switched off', async () => {
  const b = await startBroker({ retainAvailable: false });
  const { client, connack } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'no-retain' });
  try {
    assert.equal(connack.properties?.retainAvailable, false);
  } finally {
    client.end(true);
    await b.close();
  }
});

test('5.0: a server configured for Maximum QoS 1 says so in the CONNACK [MQTT-3.2.2-9]', async () => {
  const b = await startBroker({ maximumQoS: 1 });
  const { client, connack } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'max-qos' });
  try {
    assert.equal(connack.properties?.maximumQoS, 1);
  } finally {
    client.end(true);
    await b.close();
  }
});

test('5.0: a server supporting QoS 2 sends no Maximum QoS', async () => {
  const b = await startBroker();
  const { client, connack } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'max-qos-2' });
  try {
    assert.equal(connack.properties?.maximumQoS, undefined);
  } finally {
    client.end(true);
    await b.close();
  }
});

test('5.0: a keep alive above limits.maxKeepAlive is answered with Server Keep Alive', async () => {
  const b = await startBroker({ limits: { maxKeepAlive: 30 } });
  const { client, connack } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'ska-high', keepalive: 120 });
  try {
    assert.equal(connack.properties?.serverKeepAlive, 30);
  } finally {
    client.end(true);
    await b.close();
  }
});

test('5.0: a keep alive of 0 is answered with Server Keep Alive when limits.maxKeepAlive is set', async () => {
  const b = await startBroker({ limits: { maxKeepAlive: 30 } });
  const c = await RawClient.open(b.port, 5);
  try {
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'ska-zero' });
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.properties?.serverKeepAlive, 30);
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0: a keep alive within limits.maxKeepAlive is kept: no Server Keep Alive is sent [MQTT-3.2.2-22]', async () => {
  const b = await startBroker({ limits: { maxKeepAlive: 30 } });
  const { client, connack } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'ska-low', keepalive: 20 });
  try {
    assert.equal(connack.properties?.serverKeepAlive, undefined);
    assert.equal(b.broker.clients.get('ska-low')?.keepalive, 20);
  } finally {
    client.end(true);
    await b.close();
  }
});

test('packets sent behind the CONNECT while an async authenticate hook runs are processed after the CONNACK, in order [MQTT-3.2.0-1]', async () => {
  const b = await startBroker({
    hooks: [{ authenticate: async () => { await delay(150); return { ok: true }; } }],
  });
  const c = await RawClient.open(b.port, 5);
  try {
    // One write: CONNECT, SUBSCRIBE, PUBLISH QoS 1 to the subscribed topic, PINGREQ.
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'early' });
    c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'early/t', qos: 1 }] });
    c.send({ type: 'publish', topic: 'early/t', payload: Buffer.from('m'), qos: 1, retain: false, dup: false, packetId: 7 });
    c.send({ type: 'pingreq' });
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0);
    const suback = await c.expect('suback');
    assert.deepEqual(suback.reasonCodes, [1]);
    // The PUBLISH is routed to the subscription made just before it, then acknowledged.
    const types: string[] = [];
    for (let i = 0; i < 3; i++) types.push((await c.next()).type);
    assert.deepEqual([...types].sort(), ['puback', 'pingresp', 'publish'].sort());
    assert.ok(types.indexOf('puback') < types.indexOf('pingresp'), 'PUBACK before PINGRESP');
  } finally {
    c.destroy();
    await b.close();
  }
});

for (const version of [4, 5] as const) {
  test(`${version === 5 ? '5.0' : '3.1.1'}: packets sent behind a refused CONNECT are not processed ${version === 5 ? '[MQTT-3.1.4-6]' : '[MQTT-3.1.4-5]'}`, async () => {
    const b = await startBroker({
      hooks: [{ authenticate: async (req) => { await delay(100); return req.clientId === 'watcher' ? { ok: true } : { ok: false, reasonCode: 0x87 }; } }],
    });
    const watcher = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'watcher' });
    const c = await RawClient.open(b.port, version);
    try {
      watcher.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'refused/#', qos: 0 }] });
      await watcher.expect('suback');
      c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: 'intruder' });
      c.send({ type: 'publish', topic: 'refused/t', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
      const ack = await c.expect('connack');
      assert.equal(ack.reasonCode, version === 5 ? 0x87 : 0x05);
      await c.closedByServer();
      await watcher.silent(200);
      // Positive control: a message on the same filter does reach the watcher.
      watcher.send({ type: 'publish', topic: 'refused/after', payload: Buffer.from('y'), qos: 0, retain: false, dup: false });
      assert.equal((await watcher.expect('publish')).topic, 'refused/after');
    } finally {
      c.destroy();
      watcher.destroy();
      await b.close();
    }
  });
}

test('a socket that sends no CONNECT within limits.connectTimeout is closed', async () => {
  const b = await startBroker({ limits: { connectTimeout: 300 } });
  const c = await RawClient.open(b.port, 4);
  try {
    await c.closedByServer(2500);
    assert.equal(b.broker.connections.size, 0);
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0: broker.close() sends connected clients DISCONNECT 0x8B Server shutting down', async () => {
  const b = await startBroker();
  const { client } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'shutdown-5' });
  try {
    const disconnected = new Promise<IDisconnectPacket>((resolve) => client.once('disconnect', resolve));
    await b.close();
    const packet = await disconnected;
    assert.equal(packet.reasonCode, 0x8b);
  } finally {
    client.end(true);
    await b.close();
  }
});

test('3.1.1: broker.close() closes connected clients without a DISCONNECT', async () => {
  const b = await startBroker();
  const c = await RawClient.connect(b.port, { protocolVersion: 4, clientId: 'shutdown-311' });
  try {
    await b.close();
    await c.closedByServer();
    assert.deepEqual(c.packets, []);
  } finally {
    c.destroy();
    await b.close();
  }
});

test('issue 15 item 13: the shared accepting CONNACKs carry Session Present for a resumed 3.1.1 session and never for 3.1', async () => {
  const tb = await startBroker();
  /** The first 4 bytes the broker answers a CONNECT with. */
  const connackBytes = async (version: 3 | 4, clientId: string, clean: boolean): Promise<string> => {
    const socket = net.connect(tb.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(encode({ type: 'connect', protocolName: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean, keepalive: 0, clientId }, version));
    let got = Buffer.alloc(0);
    while (got.length < 4) got = Buffer.concat([got, (await once(socket, 'data'))[0] as Buffer]);
    socket.end(encode({ type: 'disconnect' }, version));
    await once(socket, 'close');
    return got.subarray(0, 4).toString('hex');
  };
  try {
    assert.equal(await connackBytes(4, 'shared-v4', false), '20020000');
    assert.equal(await connackBytes(4, 'shared-v4', false), '20020100', '3.1.1, session resumed');
    assert.equal(await connackBytes(4, 'shared-v4', true), '20020000', '3.1.1, clean session');
    assert.equal(await connackBytes(3, 'shared-v3', false), '20020000');
    assert.equal(await connackBytes(3, 'shared-v3', false), '20020000', '3.1 has no Session Present');
  } finally {
    await tb.close();
  }
});
