// Bad input (5.0 section 4.13, 3.1.1 section 4.8): a malformed packet or a protocol error
// closes the one connection it arrived on, after a 5.0 DISCONNECT (or CONNACK, before the
// connection is accepted) with the reason; the will is published; other clients go on and
// the broker keeps serving, even under a flood of garbage from several sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { encode } from '../../src/codec/index.js';
import { prng } from '../codec/helpers.js';
import { RawClient, delay, startBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';

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

interface BadCase {
  name: string;
  /** Hex bytes sent after a successful CONNECT, per protocol version. */
  bytes: { 4: string; 5: string };
  /** The 5.0 DISCONNECT reason code. */
  reasonCode: number;
  /** Statement ids, per version (3.1.1 and 5.0 number them differently). */
  cite: { 4: string; 5: string };
  limits?: { maxPacketSize: number };
}

const big = (version: 4 | 5): string =>
  encode({ type: 'publish', topic: 'mal/big', payload: Buffer.alloc(200, 0x61), qos: 0, retain: false, dup: false }, version).toString('hex');

const CASES: BadCase[] = [
  {
    name: 'a SUBSCRIBE with invalid fixed header flags',
    bytes: { 4: '80 06 00 01 00 01 61 00', 5: '80 07 00 01 00 00 01 61 00' },
    reasonCode: 0x81,
    cite: { 4: '[MQTT-2.2.2-2] [MQTT-4.8.0-1]', 5: '[MQTT-2.1.3-1] [MQTT-4.13.1-1]' },
  },
  {
    name: 'a Remaining Length longer than four bytes',
    bytes: { 4: '30 ff ff ff ff 01', 5: '30 ff ff ff ff 01' },
    reasonCode: 0x81,
    cite: { 4: '[MQTT-4.8.0-1]', 5: '[MQTT-4.13.1-1]' },
  },
  {
    name: 'a PUBLISH whose topic is not well-formed UTF-8',
    bytes: { 4: '30 05 00 02 c3 28 78', 5: '30 06 00 02 c3 28 00 78' },
    reasonCode: 0x81,
    cite: { 4: '[MQTT-1.5.3-1]', 5: '[MQTT-1.5.4-1] [MQTT-4.13.1-1]' },
  },
  {
    name: 'a PUBLISH with both QoS bits set',
    bytes: { 4: '36 04 00 01 61 78', 5: '36 05 00 01 61 00 78' },
    reasonCode: 0x81,
    cite: { 4: '[MQTT-3.3.1-4]', 5: '[MQTT-3.3.1-4] [MQTT-4.13.1-1]' },
  },
  {
    name: 'a CONNACK (a packet only servers send)',
    bytes: { 4: '20 02 00 00', 5: '20 03 00 00 00' },
    reasonCode: 0x82,
    cite: { 4: '[MQTT-4.8.0-1]', 5: '[MQTT-4.13.1-1]' },
  },
  {
    name: 'a packet larger than limits.maxPacketSize',
    bytes: { 4: big(4), 5: big(5) },
    reasonCode: 0x95,
    cite: { 4: '[MQTT-4.8.0-1]', 5: '[MQTT-3.2.2-15] [MQTT-4.13.1-1]' },
    limits: { maxPacketSize: 128 },
  },
];

for (const c of CASES) {
  test(`5.0: ${c.name} gets DISCONNECT 0x${c.reasonCode.toString(16)} and the connection is closed ${c.cite[5]}`, async () => {
    const b = await startBroker(c.limits ? { limits: c.limits } : {});
    const client = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'bad-5' });
    try {
      client.sendRaw(c.bytes[5]);
      const d = await client.expect('disconnect');
      assert.equal(d.reasonCode, c.reasonCode);
      await client.closedByServer();
      assert.deepEqual(client.packets, [], 'nothing after the DISCONNECT');
    } finally {
      client.destroy();
      await b.close();
    }
  });

  test(`3.1.1: ${c.name} closes the connection ${c.cite[4]}`, async () => {
    const b = await startBroker(c.limits ? { limits: c.limits } : {});
    const client = await RawClient.connect(b.port, { protocolVersion: 4, clientId: 'bad-4' });
    try {
      client.sendRaw(c.bytes[4]);
      await client.closedByServer();
      assert.deepEqual(client.packets, [], '3.1.1 has no DISCONNECT from the server');
    } finally {
      client.destroy();
      await b.close();
    }
  });
}

test('5.0: a malformed CONNECT (reserved flag set) gets CONNACK 0x81 and the connection is closed [MQTT-3.1.2-3] [MQTT-3.1.4-1]', async () => {
  const b = await startBroker();
  const c = await RawClient.open(b.port, 5);
  try {
    c.sendRaw('10 0d 00 04 4d 51 54 54 05 03 00 00 00 00 00');
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x81);
    await c.closedByServer();
    assert.equal(b.broker.clients.size, 0);
  } finally {
    c.destroy();
    await b.close();
  }
});

test('3.1.1: a malformed CONNECT (reserved flag set) is closed without a CONNACK [MQTT-3.1.2-3] [MQTT-3.1.4-1]', async () => {
  const b = await startBroker();
  const c = await RawClient.open(b.port, 4);
  try {
    c.sendRaw('10 0c 00 04 4d 51 54 54 04 03 00 00 00 00');
    await c.closedByServer();
    assert.deepEqual(c.packets, []);
  } finally {
    c.destroy();
    await b.close();
  }
});

for (const version of [4, 5] as const) {
  test(`${version === 5 ? '5.0' : '3.1.1'}: a malformed packet closes only its own connection: the will goes out, other clients carry on, new clients connect ${version === 5 ? '[MQTT-4.13.1-1]' : '[MQTT-4.8.0-1]'}`, async () => {
    const b = await startBroker();
    const other = await mqttjs(b.url, { protocolVersion: 5, clientId: 'bystander' });
    const got: string[] = [];
    other.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
    await other.subscribeAsync(['mal/will', 'mal/data'], { qos: 1 });
    const bad = await RawClient.connect(b.port, { protocolVersion: version, clientId: 'offender', will: { topic: 'mal/will', payload: Buffer.from('offender died'), qos: 1, retain: false } });
    let late: MqttClient | undefined;
    try {
      bad.sendRaw('30 ff ff ff ff 01');
      await bad.closedByServer();
      await other.publishAsync('mal/data', 'still here', { qos: 1 });
      late = await mqttjs(b.url, { protocolVersion: 4, clientId: 'latecomer' });
      await late.publishAsync('mal/data', 'me too', { qos: 1 });
      await until('the will and both messages', () => got.length >= 3);
      assert.deepEqual(got, ['mal/will=offender died', 'mal/data=still here', 'mal/data=me too']);
      assert.ok(other.connected);
    } finally {
      bad.destroy();
      other.end(true);
      late?.end(true);
      await b.close();
    }
  });
}

test('a flood of garbage from several sockets never takes the broker down; every offender is closed', async () => {
  const b = await startBroker({ limits: { connectTimeout: 500, maxPacketSize: 4096 } });
  const rand = prng(0x5eed);
  const sockets: RawClient[] = [];
  try {
    for (let i = 0; i < 12; i++) {
      // Half speak garbage from the first byte, half after a valid CONNECT (keep alive 1 s,
      // so a connection left holding part of a packet is still closed in bounded time).
      const version = i % 2 === 0 ? 4 : 5;
      sockets.push(i < 6 ? await RawClient.open(b.port, version) : await RawClient.connect(b.port, { protocolVersion: version, clientId: `flood-${i}`, keepalive: 1 }));
    }
    for (let round = 0; round < 32; round++) {
      for (const s of sockets) {
        if (s.closed) continue;
        const chunk = Buffer.alloc(512);
        for (let k = 0; k < chunk.length; k++) chunk[k] = Math.floor(rand() * 256);
        s.sendRaw(chunk);
      }
      await delay(5);
    }
    await until('the server to close every flooding socket', () => sockets.every((s) => s.closed), 5000, 50);
    assert.deepEqual(sockets.map((s) => s.closed), sockets.map(() => true), 'the server closed every flooding socket');

    // Still serving: a real client round-trips a message.
    const client = await mqttjs(b.url, { protocolVersion: 5, clientId: 'after-flood' });
    try {
      const echoed = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
      await client.subscribeAsync('flood/check', { qos: 1 });
      await client.publishAsync('flood/check', 'alive', { qos: 1 });
      assert.equal(await Promise.race([echoed, delay(2000).then(() => 'timeout')]), 'alive');
    } finally {
      client.end(true);
    }
  } finally {
    for (const s of sockets) s.destroy();
    await b.close();
  }
});
