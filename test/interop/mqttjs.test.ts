// Interoperability with MQTT.js, the client most Node programs use, at 3.1.1 and 5.0:
// QoS 0/1/2 both ways, retained messages, wills, persistent sessions, and for 5.0 topic
// aliases in both directions and shared subscriptions.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';

type Version = 4 | 5;
const LABEL: Record<Version, string> = { 4: 'MQTT 3.1.1', 5: 'MQTT 5.0' };

interface Received {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/** An MQTT.js client whose messages are collected from the moment it connects. */
interface Conn {
  client: MqttClient;
  connack: IConnackPacket;
  messages: Received[];
  /** Resolves once `n` messages in all have arrived (rejects after `ms`). */
  received(n: number, ms?: number): Promise<Received[]>;
}

let tb: TestBroker;
const clients = new Set<MqttClient>();
let counter = 0;

before(async () => {
  tb = await startBroker();
});

after(async () => {
  for (const c of clients) c.end(true);
  await tb.close();
});

const uid = (tag: string): string => `mqttjs-${tag}-${++counter}`;

async function open(version: Version, options: IClientOptions = {}): Promise<Conn> {
  const client = mqtt.connect(tb.url, { protocolVersion: version, clientId: uid('c'), reconnectPeriod: 0, connectTimeout: 3000, ...options });
  clients.add(client);
  const messages: Received[] = [];
  let wake = (): void => {};
  // Attached before CONNACK: a resumed session's messages follow it at once.
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload, packet });
    wake();
  });
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
  return {
    client,
    connack,
    messages,
    received(n: number, ms = 3000): Promise<Received[]> {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${messages.length} of ${n} messages within ${ms} ms`)), ms);
        wake = () => {
          if (messages.length >= n) {
            clearTimeout(t);
            resolve(messages.slice(0, n));
          }
        };
        wake();
      });
    },
  };
}

async function close(c: Conn): Promise<void> {
  await c.client.endAsync();
  clients.delete(c.client);
}

for (const version of [4, 5] as const) {
  describe(`MQTT.js ${LABEL[version]}`, () => {
    for (const qos of [0, 1, 2] as const) {
      test(`a QoS ${qos} publish from MQTT.js is acknowledged and delivered to an MQTT.js subscriber at QoS ${qos} [${version === 5 ? 'MQTT-3.8.4-8' : 'MQTT-3.8.4-6'}]`, async () => {
        const topic = `mqttjs/v${version}/qos${qos}`;
        const sub = await open(version);
        await sub.client.subscribeAsync(topic, { qos: 2 });
        const pub = await open(version);
        const payload = Buffer.from([0, 1, 2, 0xfe, 0xff, ...Buffer.from(`qos ${qos} ✓`)]);
        // Resolves on PUBACK (QoS 1) or PUBCOMP (QoS 2): the broker's half of the exchange.
        await pub.client.publishAsync(topic, payload, { qos });
        const [m] = await sub.received(1);
        assert.equal(m!.topic, topic);
        assert.deepEqual(m!.payload, payload);
        assert.equal(m!.packet.qos, qos);
        assert.equal(m!.packet.dup, false);
        await Promise.all([close(sub), close(pub)]);
      });
    }

    test(`a retained message reaches a later subscriber with RETAIN set [${version === 5 ? 'MQTT-3.3.1-9' : 'MQTT-3.3.1-8'}]`, async () => {
      const topic = `mqttjs/v${version}/retained`;
      const pub = await open(version);
      await pub.client.publishAsync(topic, 'kept', { qos: 1, retain: true });
      const sub = await open(version);
      await sub.client.subscribeAsync(topic, { qos: 1 });
      const [m] = await sub.received(1);
      assert.equal(m!.payload.toString(), 'kept');
      assert.equal(m!.packet.retain, true);
      assert.equal(m!.packet.qos, 1);
      await pub.client.publishAsync(topic, '', { qos: 1, retain: true });
      await Promise.all([close(sub), close(pub)]);
    });

    test(`the will is published when the client's connection is destroyed [MQTT-3.1.2-8]`, async () => {
      const willTopic = `mqttjs/v${version}/will`;
      const watcher = await open(version);
      await watcher.client.subscribeAsync(willTopic, { qos: 1 });
      const dying = await open(version, { will: { topic: willTopic, payload: Buffer.from('lost'), qos: 1, retain: false } });
      dying.client.stream.destroy();
      const [m] = await watcher.received(1);
      assert.equal(m!.topic, willTopic);
      assert.equal(m!.payload.toString(), 'lost');
      assert.equal(m!.packet.qos, 1);
      dying.client.end(true);
      await close(watcher);
    });

    test(`a persistent session (clean: false) gets the QoS 1 messages queued while it was away [${version === 5 ? 'MQTT-3.1.2-5' : 'MQTT-3.1.2-5'}] [${version === 5 ? 'MQTT-3.2.2-3' : 'MQTT-3.2.2-2'}]`, async () => {
      const topic = `mqttjs/v${version}/persistent`;
      const clientId = uid('persistent');
      const persistent: IClientOptions = { clientId, clean: false, ...(version === 5 && { properties: { sessionExpiryInterval: 60 } }) };
      const first = await open(version, persistent);
      await first.client.subscribeAsync(topic, { qos: 1 });
      await close(first);
      const pub = await open(version);
      for (const m of ['one', 'two', 'three']) await pub.client.publishAsync(topic, m, { qos: 1 });
      const back = await open(version, persistent);
      assert.equal(back.connack.sessionPresent, true);
      const got = await back.received(3);
      assert.deepEqual(got.map((m) => m.payload.toString()), ['one', 'two', 'three']);
      assert.deepEqual(got.map((m) => m.packet.qos), [1, 1, 1]);
      await Promise.all([close(back), close(pub)]);
      // End the session.
      await close(await open(version, { clientId, clean: true }));
    });
  });
}

describe('MQTT.js 5.0 topic aliases', () => {
  test('with a client Topic Alias Maximum, the broker aliases topics within it and MQTT.js resolves every one [MQTT-3.3.2-11] [MQTT-3.1.2-26]', async () => {
    const sub = await open(5, { properties: { topicAliasMaximum: 2 } });
    const raw: Array<{ topic: string; alias: number | undefined }> = [];
    sub.client.on('packetreceive', (p: Packet) => {
      if (p.cmd === 'publish') raw.push({ topic: p.topic.toString(), alias: p.properties?.topicAlias });
    });
    await sub.client.subscribeAsync('mqttjs/alias/#', { qos: 1 });
    const pub = await open(5);
    const sent = ['a', 'b', 'c', 'a', 'b', 'c', 'a'].map((leaf, i) => ({ topic: `mqttjs/alias/${leaf}`, payload: `m${i}` }));
    for (const m of sent) await pub.client.publishAsync(m.topic, m.payload, { qos: 1 });
    const got = await sub.received(sent.length);
    assert.deepEqual(got.map((m) => ({ topic: m.topic, payload: m.payload.toString() })), sent);
    assert.ok(raw.some((r) => r.topic === '' && r.alias !== undefined), `the broker sent no alias-only PUBLISH: ${JSON.stringify(raw)}`);
    for (const r of raw) if (r.alias !== undefined) assert.ok(r.alias >= 1 && r.alias <= 2, `alias ${r.alias} outside 1..2`);
    await Promise.all([close(sub), close(pub)]);
  });

  test('without a client Topic Alias Maximum, the broker sends no topic aliases [MQTT-3.1.2-27]', async () => {
    const sub = await open(5);
    const aliases: number[] = [];
    sub.client.on('packetreceive', (p: Packet) => {
      if (p.cmd === 'publish' && p.properties?.topicAlias !== undefined) aliases.push(p.properties.topicAlias);
    });
    await sub.client.subscribeAsync('mqttjs/noalias/#');
    const pub = await open(5);
    for (let i = 0; i < 3; i++) await pub.client.publishAsync('mqttjs/noalias/x', `m${i}`, { qos: 1 });
    await sub.received(3);
    assert.deepEqual(aliases, []);
    await Promise.all([close(sub), close(pub)]);
  });

  test('topic aliases MQTT.js assigns on its own publishes are resolved by the broker [MQTT-3.3.2-12]', async () => {
    const sub = await open(5);
    await sub.client.subscribeAsync('mqttjs/alias-in/#', { qos: 1 });
    const pub = await open(5, { autoAssignTopicAlias: true });
    assert.ok((pub.connack.properties?.topicAliasMaximum ?? 0) > 0, 'the broker advertises a Topic Alias Maximum');
    const sentAliases: Array<number | undefined> = [];
    pub.client.on('packetsend', (p: Packet) => {
      if (p.cmd === 'publish') sentAliases.push(p.properties?.topicAlias);
    });
    const topics = ['mqttjs/alias-in/x', 'mqttjs/alias-in/y', 'mqttjs/alias-in/x', 'mqttjs/alias-in/y'];
    for (const [i, topic] of topics.entries()) await pub.client.publishAsync(topic, `n${i}`, { qos: 1 });
    const got = await sub.received(topics.length);
    assert.deepEqual(got.map((m) => m.topic), topics);
    assert.ok(sentAliases.every((a) => a !== undefined), `MQTT.js did not use aliases: ${JSON.stringify(sentAliases)}`);
    await Promise.all([close(sub), close(pub)]);
  });
});

describe('MQTT.js 5.0 shared subscriptions', () => {
  test('two MQTT.js clients in one share group split the messages: each is delivered once, to one of them', async () => {
    const filter = '$share/workers/mqttjs/jobs';
    const a = await open(5);
    const b = await open(5);
    await Promise.all([a.client.subscribeAsync(filter, { qos: 1 }), b.client.subscribeAsync(filter, { qos: 1 })]);
    const pub = await open(5);
    const sent = Array.from({ length: 10 }, (_, i) => `job-${i}`);
    for (const m of sent) await pub.client.publishAsync('mqttjs/jobs', m, { qos: 1 });
    await until('the group to get every message', () => a.messages.length + b.messages.length >= sent.length);
    const all = [...a.messages, ...b.messages].map((m) => m.payload.toString()).sort();
    assert.deepEqual(all, [...sent].sort());
    assert.ok(a.messages.length > 0 && b.messages.length > 0, `one member got everything: ${a.messages.length} / ${b.messages.length}`);
    await Promise.all([close(a), close(b), close(pub)]);
  });

  test('each shared subscriber receives at the QoS its own subscription was granted [MQTT-4.8.2-3]', async () => {
    const filter = '$share/mixed/mqttjs/mixed';
    const q1 = await open(5);
    const q0 = await open(5);
    await q1.client.subscribeAsync(filter, { qos: 1 });
    await q0.client.subscribeAsync(filter, { qos: 0 });
    const pub = await open(5);
    for (let i = 0; i < 6; i++) await pub.client.publishAsync('mqttjs/mixed', `m${i}`, { qos: 1 });
    await until('the group to get 6 messages', () => q1.messages.length + q0.messages.length >= 6);
    assert.ok(q1.messages.length > 0 && q0.messages.length > 0, `${q1.messages.length} / ${q0.messages.length}`);
    assert.ok(q1.messages.every((m) => m.packet.qos === 1));
    assert.ok(q0.messages.every((m) => m.packet.qos === 0));
    await Promise.all([close(q1), close(q0), close(pub)]);
  });
});
