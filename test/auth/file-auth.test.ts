// fileAuth end to end: a broker with a password file and an ACL file as hooks, reached by
// MQTT.js and raw clients. 5.0 clients get CONNACK 0x86/0x87, PUBACK 0x87, SUBACK 0x87;
// 3.1.1 clients CONNACK 0x04/0x05 and SUBACK 0x80. A reload with a bad line keeps the old
// rules; failed logins are slowed per address.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { ConnectPacket, ProtocolVersion } from '../../src/codec/index.js';
import type { BrokerOptions, Message } from '../../src/index.js';
import { AuthFileError } from '../../src/auth/errors.js';
import { createRecord } from '../../src/auth/hashes.js';
import { fileAuth, type FileAuth, type FileAuthOptions } from '../../src/auth/index.js';
import { passwordLine } from '../../src/auth/password-file.js';
import { RawClient, startBroker, type TestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'starling-fileauth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Ctx = { after(fn: () => unknown): void; name: string };

let files = 0;
function file(text: string): string {
  const f = join(dir, `f${files++}`);
  writeFileSync(f, text);
  return f;
}

/** Cheap hashes: these tests are about the hooks, not the hash cost. */
const line = async (user: string, password: string): Promise<string> =>
  passwordLine(user, await createRecord('pbkdf2-sha512', Buffer.from(password), { cost: 100 }));

const PASSWORDS = async (): Promise<string> => `${await line('alice', 'wonderland')}\n${await line('bob', 'builder')}\n`;

const ACL = `topic read public/#
user alice
topic readwrite alice/#
topic read sensors/+/temperature
topic write sensors/+/temperature
user bob
topic read #
topic deny secret/#
topic write bob/#
`;

async function broker(t: Ctx, auth: FileAuthOptions, options: BrokerOptions = {}): Promise<{ b: TestBroker; auth: FileAuth }> {
  const hooks = fileAuth({ failureDelay: false, ...auth });
  const b = await startBroker({ hooks: [hooks], ...options });
  t.after(() => b.close());
  return { b, auth: hooks };
}

const closedListener = { listeners: [{ port: 0, host: '127.0.0.1', allowAnonymous: false }] };

async function mqttjs(t: Ctx, b: TestBroker, opts: IClientOptions): Promise<MqttClient> {
  const c = await mqtt.connectAsync(b.url, { reconnectPeriod: 0, connectTimeout: 2000, protocolVersion: 5, ...opts });
  t.after(() => c.endAsync(true));
  return c;
}

async function refusal(b: TestBroker, opts: IClientOptions): Promise<number | undefined> {
  try {
    const c = await mqtt.connectAsync(b.url, { reconnectPeriod: 0, connectTimeout: 2000, ...opts });
    await c.endAsync(true);
    return 0;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

async function raw(t: Ctx, b: TestBroker, connect: Partial<ConnectPacket>): Promise<RawClient> {
  const c = await RawClient.connect(b.port, connect);
  t.after(() => c.destroy());
  return c;
}

async function rawConnack(b: TestBroker, connect: Partial<ConnectPacket>): Promise<number> {
  const version: ProtocolVersion = connect.protocolVersion ?? 5;
  const c = await RawClient.open(b.port, version);
  try {
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: 'raw-refused', ...connect });
    const ack = await c.expect('connack');
    if (ack.reasonCode !== 0) await c.closedByServer();
    return ack.reasonCode;
  } finally {
    c.destroy();
  }
}

let packetId = 1;

// --- authentication -------------------------------------------------------------------------

test('5.0: the right password connects; a wrong one or an unknown user gets CONNACK 0x86 Bad User Name or Password', async (t) => {
  const { b } = await broker(t, { passwordFile: file(await PASSWORDS()) });
  await mqttjs(t, b, { clientId: 'ok-5', username: 'alice', password: 'wonderland' });
  assert.equal(await refusal(b, { protocolVersion: 5, username: 'alice', password: 'Wonderland' }), 0x86);
  assert.equal(await refusal(b, { protocolVersion: 5, username: 'mallory', password: 'wonderland' }), 0x86);
  assert.equal(await rawConnack(b, { username: 'alice' }), 0x86, 'a user name without a password');
});

test('5.0: a client without a user name gets CONNACK 0x87 Not authorized on a listener that forbids anonymous clients', async (t) => {
  const { b } = await broker(t, { passwordFile: file(await PASSWORDS()) }, closedListener);
  assert.equal(await refusal(b, { protocolVersion: 5, clientId: 'anon-5' }), 0x87);
  await mqttjs(t, b, { clientId: 'named-5', username: 'bob', password: 'builder' });
});

test('a listener that allows anonymous clients lets them in; their rules are the ACL\'s anonymous section', async (t) => {
  const { b } = await broker(t, { passwordFile: file(await PASSWORDS()), aclFile: file(ACL) }, { listeners: [{ port: 0, host: '127.0.0.1', allowAnonymous: true }] });
  const c = await raw(t, b, { clientId: 'anon-ok' });
  c.send({ type: 'subscribe', packetId: packetId++, subscriptions: [{ topicFilter: 'public/#', qos: 0 }, { topicFilter: 'alice/#', qos: 0 }] });
  assert.deepEqual((await c.expect('suback')).reasonCodes, [0, 0x87]);
});

test('3.1.1: a wrong password gets CONNACK 0x04, a client without a user name 0x05 when anonymous clients are forbidden', async (t) => {
  const { b } = await broker(t, { passwordFile: file(await PASSWORDS()) }, closedListener);
  assert.equal(await rawConnack(b, { protocolVersion: 4, username: 'alice', password: Buffer.from('nope') }), 0x04);
  assert.equal(await rawConnack(b, { protocolVersion: 4 }), 0x05);
  assert.equal(await refusal(b, { protocolVersion: 4, username: 'alice', password: 'nope' }), 4);
  await mqttjs(t, b, { protocolVersion: 4, clientId: 'ok-4', username: 'alice', password: 'wonderland' });
});

test('a password file written by mosquitto_passwd-style $6$ lines works through the broker', async (t) => {
  // Mosquitto's examples/pwfile.example: the password is "password".
  const roger = 'roger:$6$clQ4Ocu312S0qWgl$Cv2wUxgEN73c6C6jlBkswqR4AkHsvDLWvtEXZZ8NpsBLgP1WAo/qA+WXcmEN/mjDNgdUwcxRAveqNMs2xUVQYA==';
  const { b } = await broker(t, { passwordFile: file(`${roger}\n`) });
  await mqttjs(t, b, { clientId: 'roger', username: 'roger', password: 'password' });
  assert.equal(await refusal(b, { protocolVersion: 5, username: 'roger', password: 'Password' }), 0x86);
});

// --- authorization --------------------------------------------------------------------------

test('5.0: a publish without write access gets PUBACK 0x87 and is not delivered', async (t) => {
  const { b } = await broker(t, { passwordFile: file(await PASSWORDS()), aclFile: file(ACL) });
  const bob = await mqttjs(t, b, { clientId: 'bob-sub', username: 'bob', password: 'builder' });
  const got: string[] = [];
  bob.on('message', (topic) => got.push(topic));
  await bob.subscribeAsync('alice/#', { qos: 1 });
  const alice = await mqttjs(t, b, { clientId: 'alice-pub', username: 'alice', password: 'wonderland' });
  await assert.rejects(alice.publishAsync('bob/inbox', 'x', { qos: 1 }), (err: { code?: number }) => err.code === 0x87);
  await alice.publishAsync('alice/outbox', 'y', { qos: 1 });
  await until("alice's allowed message", () => got.length > 0);
  assert.deepEqual(got, ['alice/outbox']);
});

test('5.0: SUBACK 0x87 for a filter without read access, and for a wider filter than the rules allow', async (t) => {
  const { b } = await broker(t, { passwordFile: file(await PASSWORDS()), aclFile: file(ACL) });
  const alice = await mqttjs(t, b, { clientId: 'alice-sub', username: 'alice', password: 'wonderland' });
  // MQTT.js rejects when any filter is refused, with the SUBACK's codes on the error.
  await assert.rejects(
    alice.subscribeAsync({ 'alice/#': { qos: 1 }, 'sensors/+/temperature': { qos: 1 }, 'bob/#': { qos: 1 }, 'sensors/#': { qos: 1 } }),
    (err: { packet?: { granted?: number[] } }) => (assert.deepEqual(err.packet?.granted, [1, 1, 0x87, 0x87]), true),
  );
});

test('3.1.1: SUBACK 0x80 for a filter the ACL refuses', async (t) => {
  const { b } = await broker(t, { passwordFile: file(await PASSWORDS()), aclFile: file(ACL) });
  const c = await raw(t, b, { protocolVersion: 4, clientId: 'alice-311', username: 'alice', password: Buffer.from('wonderland') });
  c.send({ type: 'subscribe', packetId: packetId++, subscriptions: [{ topicFilter: 'alice/x', qos: 1 }, { topicFilter: '#', qos: 1 }] });
  assert.deepEqual((await c.expect('suback')).reasonCodes, [1, 0x80]);
});

test('a shared subscription is judged by its Topic Filter', async (t) => {
  const { b } = await broker(t, { passwordFile: file(await PASSWORDS()), aclFile: file(ACL) });
  const c = await raw(t, b, { clientId: 'alice-share', username: 'alice', password: Buffer.from('wonderland') });
  c.send({ type: 'subscribe', packetId: packetId++, subscriptions: [{ topicFilter: '$share/g/alice/#', qos: 0 }, { topicFilter: '$share/g/bob/#', qos: 0 }] });
  assert.deepEqual((await c.expect('suback')).reasonCodes, [0, 0x87]);
});

test('subscribeCheck "delivery" grants every filter, as Mosquitto 2.0\'s acl_file does', async (t) => {
  const { b } = await broker(t, { passwordFile: file(await PASSWORDS()), aclFile: file(ACL), subscribeCheck: 'delivery' });
  const c = await raw(t, b, { clientId: 'alice-any', username: 'alice', password: Buffer.from('wonderland') });
  c.send({ type: 'subscribe', packetId: packetId++, subscriptions: [{ topicFilter: '#', qos: 0 }] });
  assert.deepEqual((await c.expect('suback')).reasonCodes, [0]);
});

test('a will to a topic the client may not write is not published', async (t) => {
  const { b } = await broker(t, { passwordFile: file(await PASSWORDS()), aclFile: file(ACL) });
  const watcher = await raw(t, b, { clientId: 'bob-watch', username: 'bob', password: Buffer.from('builder') });
  watcher.send({ type: 'subscribe', packetId: packetId++, subscriptions: [{ topicFilter: 'public/#', qos: 0 }, { topicFilter: 'alice/#', qos: 0 }] });
  await watcher.expect('suback');
  const will = (topic: string) => ({ topic, payload: Buffer.from('gone'), qos: 0 as const, retain: false });
  const denied = await raw(t, b, { clientId: 'alice-will-1', username: 'alice', password: Buffer.from('wonderland'), will: will('public/alice-gone') });
  denied.destroy();
  const allowed = await raw(t, b, { clientId: 'alice-will-2', username: 'alice', password: Buffer.from('wonderland'), will: will('alice/gone') });
  allowed.destroy();
  assert.equal((await watcher.expect('publish')).topic, 'alice/gone');
  await watcher.silent(100);
});

test('authorizeDelivery: read on the message topic, per subscriber, deny rules included', async (t) => {
  const { auth } = await broker(t, { aclFile: file(ACL) });
  const msg = (topic: string): Message => ({ topic, payload: Buffer.alloc(0), qos: 0, retain: false });
  assert.equal(auth.authorizeDelivery!({ id: 'x', username: 'bob' }, msg('anything')), true);
  assert.equal(auth.authorizeDelivery!({ id: 'x', username: 'bob' }, msg('secret/plans')), false);
  assert.equal(auth.authorizeDelivery!({ id: 'x', username: undefined }, msg('public/a')), true);
  assert.equal(auth.authorizeDelivery!({ id: 'x', username: 'alice' }, msg('public/a')), false);
});

test('each delivery is checked: a wide subscription does not receive denied topics', async (t) => {
  const { b } = await broker(t, { passwordFile: file(await PASSWORDS()), aclFile: file(ACL) });
  const bob = await raw(t, b, { clientId: 'bob-wide', username: 'bob', password: Buffer.from('builder') });
  bob.send({ type: 'subscribe', packetId: packetId++, subscriptions: [{ topicFilter: '#', qos: 0 }] });
  assert.deepEqual((await bob.expect('suback')).reasonCodes, [0]);
  b.broker.publish({ topic: 'secret/plans', payload: Buffer.from('x'), qos: 0, retain: false });
  b.broker.publish({ topic: 'open/news', payload: Buffer.from('y'), qos: 0, retain: false });
  assert.equal((await bob.expect('publish')).topic, 'open/news');
  await bob.silent(100);
});

// --- reload ---------------------------------------------------------------------------------

test('reload with a bad ACL line keeps the old rules and names the file and line; a good file then applies', async (t) => {
  const aclFile = file('user alice\ntopic readwrite alice/#\n');
  const { b, auth } = await broker(t, { passwordFile: file(await PASSWORDS()), aclFile });
  const c = await raw(t, b, { clientId: 'alice-reload', username: 'alice', password: Buffer.from('wonderland') });
  const publish = async (topic: string): Promise<number> => {
    c.send({ type: 'publish', topic, payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: packetId++ });
    return (await c.expect('puback')).reasonCode ?? 0;
  };
  assert.equal(await publish('alice/a'), 0x10);

  writeFileSync(aclFile, 'user alice\ntopic read alice/#\ntopic raed other\n');
  const r = await auth.reload();
  assert.equal(r.ok, false);
  assert.equal(r.errors.length, 1);
  assert.ok(r.errors[0] instanceof AuthFileError);
  assert.equal(r.errors[0]!.message, `${aclFile}:3: invalid access type "raed" (read, write, readwrite or deny)`);
  assert.equal(await publish('alice/a'), 0x10, 'the old rules still apply');

  writeFileSync(aclFile, 'user alice\ntopic read alice/#\n');
  assert.deepEqual(await auth.reload(), { ok: true, errors: [] });
  assert.equal(await publish('alice/a'), 0x87, 'the new rules apply');
});

test('reload with a bad password line keeps the old passwords', async (t) => {
  const passwordFile = file(await PASSWORDS());
  const logged: Array<[object, string]> = [];
  const log = { warn: (o: object, m: string) => logged.push([o, m]), info: () => {} };
  const { b, auth } = await broker(t, { passwordFile, log });
  writeFileSync(passwordFile, `${await line('alice', 'changed')}\nbob\n`);
  logged.length = 0; // the cheap test hashes were warned about at start
  const r = await auth.reload();
  assert.equal(r.ok, false);
  assert.equal(r.errors[0]!.line, 2);
  assert.equal(logged.length, 1);
  assert.match(logged[0]![1], /keeping the previous rules: .*:2: expected user:hash/);
  assert.deepEqual(logged[0]![0], { file: passwordFile, line: 2, reason: 'expected user:hash' });
  await mqttjs(t, b, { clientId: 'alice-old', username: 'alice', password: 'wonderland' });
  assert.equal(await refusal(b, { protocolVersion: 5, username: 'alice', password: 'changed' }), 0x86);

  writeFileSync(passwordFile, `${await line('alice', 'changed')}\n`);
  assert.equal((await auth.reload()).ok, true);
  assert.equal(await refusal(b, { protocolVersion: 5, username: 'alice', password: 'wonderland' }), 0x86);
  await mqttjs(t, b, { clientId: 'alice-new', username: 'alice', password: 'changed' });
});

test('a bad file at start is an AuthFileError naming the file and line', () => {
  const aclFile = file('topic read a\nbogus\n');
  assert.throws(() => fileAuth({ aclFile }), (err: unknown) => err instanceof AuthFileError && err.message === `${aclFile}:2: invalid line (expected topic, pattern or user): bogus`);
});

test('without a password file, user names are not checked (as Mosquitto without password_file); the ACL still applies', async (t) => {
  const { b } = await broker(t, { aclFile: file(ACL) });
  const c = await raw(t, b, { clientId: 'alice-unchecked', username: 'alice', password: Buffer.from('anything') });
  c.send({ type: 'subscribe', packetId: packetId++, subscriptions: [{ topicFilter: 'alice/#', qos: 0 }, { topicFilter: 'bob/#', qos: 0 }] });
  assert.deepEqual((await c.expect('suback')).reasonCodes, [0, 0x87]);
});

// --- failed-login delay ---------------------------------------------------------------------

test('failed logins from one address are refused after a growing delay; a success resets it', async (t) => {
  const { b } = await broker(t, { passwordFile: file(await PASSWORDS()), failureDelay: { initialMs: 80, maxMs: 1000 } });
  const timed = async (password: string): Promise<[number, number]> => {
    const start = Date.now();
    const code = await rawConnack(b, { clientId: 'guess', username: 'alice', password: Buffer.from(password) });
    return [code, Date.now() - start];
  };
  const [c1, t1] = await timed('guess1');
  const [c2, t2] = await timed('guess2');
  const [c3, t3] = await timed('guess3');
  assert.deepEqual([c1, c2, c3], [0x86, 0x86, 0x86]);
  assert.ok(t1 >= 75 && t2 >= 155 && t3 >= 315, `delays ${t1}, ${t2}, ${t3} ms`);
  const [ok, tOk] = await timed('wonderland');
  assert.equal(ok, 0);
  assert.ok(tOk < 75, `a right password is not delayed (${tOk} ms)`);
  const [c4, t4] = await timed('guess4');
  assert.equal(c4, 0x86);
  assert.ok(t4 >= 75 && t4 < 155, `back to the first delay after a success (${t4} ms)`);
});
