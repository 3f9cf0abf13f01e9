// MQTT-SN clients as the rest of the broker sees them: the same authenticate hooks and ACL
// files as MQTT clients, the metrics and the admin API, persistent sessions that outlive a
// restart with the sqlite store; and the gateway's own guards: malformed and oversized
// datagrams, the per-source rate.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { fileAuth } from '../../../src/auth/index.js';
import type { AuthenticateRequest } from '../../../src/broker/types.js';
import { createBroker, createOpsServer } from '../../../src/index.js';
import { gatewayStats } from '../../../src/gateway/mqtt-sn/stats.js';
import { SqliteStore } from '../../../src/store/sqlite/index.js';
import { SysTopics } from '../../../src/ops/sys.js';
import { until } from '../../helpers/wait.js';
import { SnClient, startSnBroker } from './sn-client.js';

test('authentication: the authenticate hooks see the client id and the listener\'s user name; a refusal is CONNACK 0x03', async () => {
  const seen: AuthenticateRequest[] = [];
  const b = await startSnBroker(
    { username: 'sn-%c' },
    { hooks: [{ authenticate: (req) => (seen.push(req), req.clientId === 'intruder' ? { ok: false, reasonCode: 0x87 } : { ok: true }) }] },
  );
  try {
    const ok = await SnClient.connect(b.snPort, 'device-1');
    assert.equal(seen[0]!.clientId, 'device-1');
    assert.equal(seen[0]!.username, 'sn-device-1');
    assert.equal(seen[0]!.listener.type, 'mqtt-sn');
    assert.equal(b.broker.clients.get('device-1')!.username, 'sn-device-1');
    const bad = await SnClient.open(b.snPort);
    bad.send({ type: 'connect', will: false, cleanSession: true, duration: 10, clientId: 'intruder' });
    assert.equal((await bad.expect('connack')).returnCode, 0x03);
    assert.equal(b.broker.clients.has('intruder'), false);
    assert.equal(b.broker.stats.limited.auth_failure, 1);
    await ok.close();
    await bad.close();
  } finally {
    await b.close();
  }
});

test('a listener that refuses anonymous clients refuses MQTT-SN clients no hook accepts', async () => {
  const broker = createBroker({ logLevel: false, listeners: [{ type: 'mqtt-sn', port: 0, host: '127.0.0.1', allowAnonymous: false }] });
  const [sn] = await broker.listen();
  try {
    const c = await SnClient.open(sn!.port);
    c.send({ type: 'connect', will: false, cleanSession: true, duration: 10, clientId: 'anon' });
    assert.equal((await c.expect('connack')).returnCode, 0x03);
    await c.close();
  } finally {
    await broker.close();
  }
});

test('ACL file: MQTT-SN publishes and subscriptions are judged by the same rules as MQTT (user name mapping and %c patterns)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-sn-acl-'));
  const aclFile = join(dir, 'acl');
  writeFileSync(aclFile, 'user sn-dev1\ntopic readwrite dev1/#\n\npattern readwrite own/%c/#\n');
  const b = await startSnBroker({ username: 'sn-%c' }, { hooks: [fileAuth({ aclFile, failureDelay: false })] });
  try {
    const c = await SnClient.connect(b.snPort, 'dev1');
    const allowed = await c.register('dev1/temp');
    const denied = await c.register('other/temp', 2);
    const own = await c.register('own/dev1/x', 3);
    c.send({ type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'normal', id: allowed }, msgId: 1, payload: Buffer.from('a') });
    assert.equal((await c.expect('puback')).returnCode, 0);
    c.send({ type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'normal', id: denied }, msgId: 2, payload: Buffer.from('b') });
    assert.equal((await c.expect('puback')).returnCode, 0x03);
    c.send({ type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'normal', id: own }, msgId: 3, payload: Buffer.from('c') });
    assert.equal((await c.expect('puback')).returnCode, 0);
    c.send({ type: 'subscribe', dup: false, qos: 0, msgId: 4, topic: { type: 'normal', name: 'other/#' } });
    assert.equal((await c.expect('suback')).returnCode, 0x03);
    c.send({ type: 'subscribe', dup: false, qos: 0, msgId: 5, topic: { type: 'normal', name: 'dev1/#' } });
    assert.equal((await c.expect('suback')).returnCode, 0);
    await c.close();
  } finally {
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('malformed, truncated and oversized datagrams are dropped and counted; the per-source rate limit drops the excess', async () => {
  const b = await startSnBroker({ maxDatagramSize: 256, maxDatagramRate: 20 });
  try {
    const stats = gatewayStats(b.broker)[0]!;
    const c = await SnClient.open(b.snPort);
    c.sendRaw(Buffer.from([0x05, 0x04, 0x00])); // Length 5, 3 octets
    c.sendRaw(Buffer.from([0x02, 0x99])); // unknown MsgType
    c.sendRaw(Buffer.alloc(300, 0x41)); // beyond maxDatagramSize
    await until('the three drops are counted', () => stats.dropped.malformed === 2 && stats.dropped.oversized === 1);
    // A burst beyond 20 a second from one address: the excess is dropped.
    for (let i = 0; i < 60; i++) c.send({ type: 'searchgw', radius: 0 });
    await until('rate drops counted', () => stats.dropped.rate > 0);
    // Another source address is served meanwhile.
    const other = await SnClient.connect(b.snPort, 'still-served', { from: '127.0.0.2' });
    await other.close();
    await c.close();
  } finally {
    await b.close();
  }
});

test('metrics and the admin API list MQTT-SN clients (they are sessions) and the gateway counters', async () => {
  const b = await startSnBroker();
  const ops = createOpsServer(b.broker, { sysInterval: 0, http: { port: 0, adminToken: 't' } });
  await ops.start();
  try {
    const c = await SnClient.connect(b.snPort, 'visible');
    c.sendRaw(Buffer.from([0x01]));
    await until('the malformed datagram is counted', () => gatewayStats(b.broker)[0]!.dropped.malformed === 1);
    const base = `http://127.0.0.1:${ops.address!.port}`;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^starling_clients_connected 1$/m);
    assert.match(metrics, /^starling_mqttsn_clients\{listener="mqtt-sn:127\.0\.0\.1:\d+"\} 1$/m);
    assert.match(metrics, /^starling_mqttsn_datagrams_dropped_total\{listener="mqtt-sn:127\.0\.0\.1:\d+",reason="malformed"\} 1$/m);
    const clients = (await (await fetch(`${base}/api/v1/clients`, { headers: { authorization: 'Bearer t' } })).json()) as { clients: Array<{ id: string; listener: string }> };
    assert.deepEqual(clients.clients.map((x) => [x.id, x.listener.startsWith('mqtt-sn:')]), [['visible', true]]);
    const sys = new SysTopics(b.broker, 0, 'test');
    assert.equal(sys.values()['$SYS/broker/clients/connected'], '1');
    // The operator's verb reaches it too.
    const r = await fetch(`${base}/api/v1/clients/visible/disconnect`, { method: 'POST', headers: { authorization: 'Bearer t' } });
    assert.equal(r.status, 200);
    await c.expect('disconnect');
    await c.close();
  } finally {
    await ops.close();
    await b.close();
  }
});

test('a persistent session (CleanSession 0) outlives a restart with the sqlite store: subscription and queued QoS 1 message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-sn-store-'));
  try {
    let b = await startSnBroker({}, { store: new SqliteStore({ dir }) });
    let c = await SnClient.connect(b.snPort, 'keeper', { clean: false });
    c.send({ type: 'subscribe', dup: false, qos: 1, msgId: 1, topic: { type: 'normal', name: 'keep/#' } });
    assert.equal((await c.expect('suback')).returnCode, 0);
    c.send({ type: 'disconnect' });
    await c.expect('disconnect');
    await c.close();
    const pub = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
    await pub.publishAsync('keep/a', 'while away', { qos: 1 });
    await pub.endAsync();
    await b.close();

    b = await startSnBroker({}, { store: new SqliteStore({ dir }) });
    try {
      assert.ok(b.broker.sessions.has('keeper'), 'the session was read back');
      c = await SnClient.connect(b.snPort, 'keeper', { clean: false });
      const { publish, topicName } = await c.publishReceived();
      assert.deepEqual([topicName, publish.qos, publish.payload.toString()], ['keep/a', 1, 'while away']);
      c.send({ type: 'puback', topicId: 0, msgId: publish.msgId, returnCode: 0 });
      // The subscription came back with it.
      const pub2 = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
      await pub2.publishAsync('keep/b', 'after restart', { qos: 0 });
      const next = await c.publishReceived();
      assert.deepEqual([next.topicName, next.publish.payload.toString()], ['keep/b', 'after restart']);
      await pub2.endAsync();
      await c.close();
    } finally {
      await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
