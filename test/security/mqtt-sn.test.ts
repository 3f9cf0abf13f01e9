// Attacks on the MQTT-SN gateway (docs/mqtt-sn.md) over real UDP sockets on loopback: what a
// datagram from anyone can publish, what it makes the gateway send back, and whose session
// an MQTT-SN CONNECT can take.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { fileAuth } from '../../src/auth/index.js';
import { encode } from '../../src/gateway/mqtt-sn/codec.js';
import { gatewayStats } from '../../src/gateway/mqtt-sn/stats.js';
import type { Datagram } from '../../src/gateway/mqtt-sn/types.js';
import { until } from '../helpers/wait.js';
import { SnClient, startSnBroker } from '../gateway/mqtt-sn/sn-client.js';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('attack: a QoS -1 publish to a short topic name with a wildcard or U+0000 is dropped, not routed nor retained', async (t) => {
  const b = await startSnBroker({ allowQosMinus1: true });
  t.after(() => b.close());
  const stats = gatewayStats(b.broker)[0]!;
  const sub = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
  t.after(() => sub.endAsync(true));
  const seen: string[] = [];
  sub.on('message', (topic) => seen.push(topic));
  await sub.subscribeAsync('#');
  const c = await SnClient.open(b.snPort);
  t.after(() => c.close());
  for (const name of ['+/', '/#', '++', 'a\u0000']) {
    c.send({ type: 'publish', dup: false, qos: -1, retain: true, topic: { type: 'short', name }, msgId: 0, payload: Buffer.from('bad') });
  }
  // The positive control, sent last: once it arrives the others have been handled.
  c.send({ type: 'publish', dup: false, qos: -1, retain: false, topic: { type: 'short', name: 'ok' }, msgId: 0, payload: Buffer.from('good') });
  await until('the valid QoS -1 publish arrives', () => seen.includes('ok'));
  assert.deepEqual(seen, ['ok']);
  assert.equal(b.broker.views.retained('#', 100).total, 0);
  assert.equal(stats.dropped.qos_minus1, 4);
});

test('attack: QoS -1 from a connected client is dropped where mqttSn.allowQosMinus1 is off', async (t) => {
  const b = await startSnBroker();
  t.after(() => b.close());
  const stats = gatewayStats(b.broker)[0]!;
  const sub = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
  t.after(() => sub.endAsync(true));
  const seen: string[] = [];
  sub.on('message', (topic) => seen.push(topic));
  await sub.subscribeAsync('#');
  const c = await SnClient.connect(b.snPort, 'minus1');
  t.after(() => c.close());
  c.send({ type: 'publish', dup: false, qos: -1, retain: false, topic: { type: 'short', name: 'm1' }, msgId: 0, payload: Buffer.from('x') });
  c.send({ type: 'publish', dup: false, qos: 0, retain: false, topic: { type: 'short', name: 'ok' }, msgId: 0, payload: Buffer.from('x') });
  await until('the QoS 0 publish arrives', () => seen.includes('ok'));
  assert.deepEqual(seen, ['ok']);
  assert.equal(stats.dropped.qos_minus1, 1);
});

/** Bytes the gateway sends back to one fresh source for `requests`, within `ms`. */
async function reflected(port: number, requests: Buffer[], ms = 400): Promise<{ sent: number; back: number }> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  let back = 0;
  s.on('message', (buf) => (back += buf.length));
  let sent = 0;
  for (const r of requests) {
    sent += r.length;
    s.send(r, port, '127.0.0.1');
  }
  await delay(ms);
  s.close();
  return { sent, back };
}

test('attack: no datagram from an unknown source is answered with more bytes than it sent (reflection)', async (t) => {
  const b = await startSnBroker();
  t.after(() => b.close());
  const e = (m: Datagram): Buffer => encode(m);
  const cases: Record<string, Buffer[]> = {
    searchgw: [e({ type: 'searchgw', radius: 0 })],
    'searchgw through a forwarder': [e({ type: 'encapsulated', radius: 1, wirelessNodeId: Buffer.alloc(200, 7), message: { type: 'searchgw', radius: 0 } })],
    connect: [e({ type: 'connect', will: false, cleanSession: true, duration: 60, clientId: 'r' })],
    'connect with will': [e({ type: 'connect', will: true, cleanSession: true, duration: 60, clientId: 'w' })],
    'pingreq, register, subscribe unknown': [e({ type: 'pingreq', clientId: 'nobody' }), e({ type: 'register', topicId: 0, msgId: 1, topicName: 'a/b' }), e({ type: 'subscribe', dup: false, qos: 0, msgId: 1, topic: { type: 'normal', name: '#' } })],
  };
  for (const [name, requests] of Object.entries(cases)) {
    const { sent, back } = await reflected(b.snPort, requests);
    assert.ok(back > 0 || name.startsWith('pingreq'), `${name}: answered`);
    assert.ok(back <= sent, `${name}: ${sent} bytes in, ${back} bytes out`);
  }
});

test('attack: forwarder datagrams with endless Wireless Node Ids make at most mqttSn.maxClients clients', async (t) => {
  const b = await startSnBroker({ maxClients: 20, maxDatagramRate: 0 });
  t.after(() => b.close());
  const stats = gatewayStats(b.broker)[0]!;
  const c = await SnClient.open(b.snPort);
  t.after(() => c.close());
  for (let i = 0; i < 200; i++) {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(i);
    c.send({ type: 'encapsulated', radius: 1, wirelessNodeId: id, message: { type: 'connect', will: false, cleanSession: true, duration: 60, clientId: `node${i}` } });
  }
  await until('every CONNECT is answered or refused', () => stats.clientsRefused === 180);
  assert.equal(stats.clients, 20);
  assert.equal(b.broker.views.clientCount, 20);
});

test('attack: an MQTT user\'s persistent session is not resumed by an MQTT-SN CONNECT with its client id, nor the reverse', async (t) => {
  const b = await startSnBroker({ username: 'sn-%c' }, { hooks: [{ authenticate: () => ({ ok: true }) }] });
  t.after(() => b.close());
  // alice's session, with a message queued for her.
  const alice = await mqtt.connectAsync(b.url, { reconnectPeriod: 0, clientId: 'dev1', username: 'alice', clean: false, protocolVersion: 4 });
  await alice.subscribeAsync('q/#', { qos: 1 });
  await alice.endAsync();
  await b.broker.client({ clientId: 'pub' }).then((p) => p.publish('q/secret', 'for alice', { qos: 1 }));
  const sn = await SnClient.open(b.snPort);
  t.after(() => sn.close());
  sn.send({ type: 'connect', will: false, cleanSession: false, duration: 60, clientId: 'dev1' });
  assert.equal((await sn.expect('connack')).returnCode, 0x03);
  await sn.silent(300);
  assert.equal(b.broker.sessions.get('dev1')?.queued, 1);
  // The reverse: an MQTT-SN client's session (user sn-dev2) and an MQTT user with its id.
  const dev2 = await SnClient.open(b.snPort);
  t.after(() => dev2.close());
  dev2.send({ type: 'connect', will: false, cleanSession: false, duration: 60, clientId: 'dev2' });
  assert.equal((await dev2.expect('connack')).returnCode, 0);
  const mallory = mqtt.connect(b.url, { reconnectPeriod: 0, clientId: 'dev2', username: 'mallory', clean: false, protocolVersion: 4 });
  mallory.on('error', () => undefined);
  const code = await new Promise<number | undefined>((resolve) => mallory.once('error', (err: Error & { code?: number }) => resolve(err.code)));
  assert.equal(code, 5);
  await mallory.endAsync(true);
  // dev2 was not taken over: it still gets its PINGRESP.
  dev2.send({ type: 'pingreq' });
  await dev2.expect('pingresp');
});

test('attack: an MQTT-SN will on a topic the ACL denies is not published when the client is lost', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-redteam-acl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const aclFile = join(dir, 'acl');
  writeFileSync(aclFile, 'user watcher\ntopic read #\n\npattern readwrite own/%c/#\n');
  const b = await startSnBroker({}, { hooks: [fileAuth({ aclFile, failureDelay: false })] });
  t.after(() => b.close());
  const w = await mqtt.connectAsync(b.url, { reconnectPeriod: 0, username: 'watcher' });
  t.after(() => w.endAsync(true));
  const seen: string[] = [];
  w.on('message', (topic, payload) => seen.push(`${topic} ${payload}`));
  await w.subscribeAsync('own/#');
  const connectWithWill = async (clientId: string, topic: string): Promise<SnClient> => {
    const c = await SnClient.open(b.snPort);
    c.send({ type: 'connect', will: true, cleanSession: true, duration: 60, clientId });
    await c.expect('willtopicreq');
    c.send({ type: 'willtopic', will: { qos: 0, retain: false, topic } });
    await c.expect('willmsgreq');
    c.send({ type: 'willmsg', payload: Buffer.from(`from ${clientId}`) });
    assert.equal((await c.expect('connack')).returnCode, 0);
    return c;
  };
  // b's will names a's subtree, which the ACL gives to a only; a's own will is the control.
  const cb = await connectWithWill('b', 'own/a/will');
  const ca = await connectWithWill('a', 'own/a/will');
  // Each is taken over from another address: lost without DISCONNECT, so their wills go out.
  for (const id of ['b', 'a']) {
    const again = await SnClient.connect(b.snPort, id, { from: '127.0.0.3' });
    t.after(() => again.close());
  }
  await until('a\'s will arrives', () => seen.includes('own/a/will from a'));
  await delay(200);
  assert.deepEqual(seen, ['own/a/will from a']);
  await ca.close();
  await cb.close();
});

test('attack: a REGISTER and SUBSCRIBE flood grows a client\'s topic-id table to mqttSn.maxTopicIds and no further', async (t) => {
  const b = await startSnBroker({ maxTopicIds: 50, maxDatagramRate: 0 });
  t.after(() => b.close());
  const c = await SnClient.connect(b.snPort, 'flooder');
  t.after(() => c.close());
  const codes: number[] = [];
  for (let i = 1; i <= 80; i++) {
    c.send({ type: 'register', topicId: 0, msgId: i, topicName: `flood/${'x'.repeat(1000)}/${i}` });
    codes.push((await c.expect('regack')).returnCode);
  }
  c.send({ type: 'subscribe', dup: false, qos: 0, msgId: 100, topic: { type: 'normal', name: 'flood/other' } });
  const suback = await c.expect('suback');
  assert.deepEqual([codes.filter((x) => x === 0).length, codes.filter((x) => x === 0x01).length, suback.returnCode], [50, 30, 0x01]);
});
