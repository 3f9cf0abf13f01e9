// The gateway with clients nobody here wrote: scapy's MQTT-SN layers (scapy.contrib.mqttsn)
// as the MQTT-SN client, and Mosquitto's mosquitto_sub and mosquitto_pub as MQTT clients on
// the same topics, both ways.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { findPythonWith, have, mosquittoPub, mosquittoSub, run, start, type Tool } from '../../helpers/tools.js';
import { until } from '../../helpers/wait.js';
import { SnClient, startSnBroker, type SnBroker } from './sn-client.js';

const SCAPY_CLIENT = fileURLToPath(new URL('../../../../test/gateway/mqtt-sn/fixtures/scapy_client.py', import.meta.url));

function findPythonWithScapy(): Tool {
  return findPythonWith('scapy, scapy.contrib.mqttsn', 'scapy.VERSION', 'python3 with scapy', 'apt-get install python3-scapy');
}

let b: SnBroker;
before(async () => {
  b = await startSnBroker();
});
after(() => b.close());

test('scapy MQTT-SN client end to end: will dialogue, REGISTER, PUBLISH QoS 1 to MQTT.js, SUBSCRIBE and a PUBLISH from MQTT.js, DISCONNECT', async (t) => {
  const python = findPythonWithScapy();
  if (!have(t, python)) return;
  const mq = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
  await mq.subscribeAsync('scapy/up', { qos: 1 });
  const up = new Promise<string>((resolve) => mq.once('message', (_t, payload) => resolve(payload.toString())));
  const p = start(python.path!, [SCAPY_CLIENT, String(b.snPort)], { timeoutMs: 20_000 });
  try {
    const step = async (name: string): Promise<Record<string, unknown>> => JSON.parse(await p.line(new RegExp(`"step": "${name}"`), 15_000)) as Record<string, unknown>;
    assert.equal((await step('willtopicreq')).type, 0x06);
    assert.equal((await step('willmsgreq')).type, 0x08);
    assert.deepEqual(await step('connack'), { step: 'connack', type: 0x05, rc: 0 });
    const regack = await step('regack');
    assert.equal(regack.rc, 0);
    assert.deepEqual(await step('puback'), { step: 'puback', type: 0x0d, rc: 0, mid: 2 });
    assert.equal(await up, 'from scapy');
    assert.equal((await step('suback')).rc, 0);
    await step('ready');
    await mq.publishAsync('scapy/down', 'to scapy', { qos: 1 });
    assert.deepEqual(await step('publish'), { step: 'publish', type: 0x0c, qos: 1, tid: (await step('suback')).tid, same_tid: true, data: 'to scapy' });
    assert.equal((await step('disconnect')).type, 0x18);
    const exit = await p.exited;
    assert.equal(exit.code, 0, exit.stderr);
  } finally {
    p.kill();
    await mq.endAsync();
  }
});

test('mosquitto_sub receives what an MQTT-SN client publishes; an MQTT-SN client receives what mosquitto_pub publishes', async (t) => {
  if (!have(t, mosquittoSub, mosquittoPub)) return;
  const sn = await SnClient.connect(b.snPort, 'sn-mosq');
  const sub = start(mosquittoSub.path!, ['-h', '127.0.0.1', '-p', String(b.port), '-i', 'mosq-sub', '-t', 'mix/up', '-q', '1', '-C', '1', '-W', '10'], { timeoutMs: 12_000 });
  try {
    await until('mosquitto_sub is subscribed', () => b.broker.sessions.get('mosq-sub')?.subscriptions.has('mix/up'), 8000);
    const id = await sn.register('mix/up');
    sn.send({ type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'normal', id }, msgId: 5, payload: Buffer.from('sn to mosquitto') });
    assert.equal((await sn.expect('puback')).returnCode, 0);
    const exit = await sub.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stdout.trim(), 'sn to mosquitto');

    sn.send({ type: 'subscribe', dup: false, qos: 1, msgId: 6, topic: { type: 'normal', name: 'mix/down/#' } });
    await sn.expect('suback');
    const pub = await run(mosquittoPub.path!, ['-h', '127.0.0.1', '-p', String(b.port), '-t', 'mix/down/1', '-q', '1', '-m', 'mosquitto to sn']);
    assert.equal(pub.code, 0, pub.stderr);
    const { publish, topicName } = await sn.publishReceived();
    assert.deepEqual([topicName, publish.payload.toString()], ['mix/down/1', 'mosquitto to sn']);
    sn.send({ type: 'puback', topicId: 0, msgId: publish.msgId, returnCode: 0 });
  } finally {
    sub.kill();
    await sn.close();
  }
});
