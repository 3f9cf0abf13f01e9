// Authentication through hooks (section 3.1.4, 5.0 section 4.12): the authenticate hook's
// verdict, async hooks, the listener's anonymous policy, Server Reference, and 5.0 enhanced
// authentication with a toy two-step challenge, at CONNECT and as re-authentication.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import type { AuthenticateRequest, Hooks } from '../../src/index.js';
import type { ConnectPacket } from '../../src/codec/index.js';
import { RawClient, delay, startBroker } from '../helpers/broker.js';

/** Connects MQTT.js (no reconnects) and resolves with the client and its CONNACK. */
async function mqttjs(url: string, opts: IClientOptions, setup?: (c: MqttClient) => void): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 2000, ...opts });
  setup?.(client);
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

/** Sends a CONNECT on a fresh socket and returns the client with the CONNACK it got. */
async function rawConnect(port: number, connect: Partial<ConnectPacket>) {
  const version = connect.protocolVersion ?? 5;
  const c = await RawClient.open(port, version);
  c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: 'raw-auth', ...connect });
  return c;
}

const users: Hooks = {
  authenticate: (req) =>
    req.username === 'alice' && req.password?.toString() === 'wonderland'
      ? { ok: true }
      : { ok: false, reasonCode: req.username === undefined ? 0x87 : 0x86 },
};

/**
 * A toy two-step challenge: CONNECT carries "hello", the server answers with a nonce, the
 * client proves it knows the secret with "<nonce>:secret".
 */
const toy: Hooks = {
  enhancedAuth(req) {
    if (req.method !== 'toy') return undefined;
    if (req.step === 0) {
      if (req.data?.toString() !== 'hello') return { done: true, ok: false, reasonCode: 0x87 };
      const nonce = `nonce-${Math.floor(Math.random() * 1e6)}`;
      req.state.nonce = nonce;
      return { done: false, data: Buffer.from(nonce) };
    }
    if (req.step === 1 && req.data?.toString() === `${String(req.state.nonce)}:secret`) {
      return { done: true, ok: true, data: Buffer.from('welcome') };
    }
    return { done: true, ok: false, reasonCode: 0x87 };
  },
};

const toyConnect = (clientId: string): Partial<ConnectPacket> => ({
  clientId,
  properties: { authenticationMethod: 'toy', authenticationData: Buffer.from('hello') },
});

/** Answers the server's AUTH 0x18 challenge with the toy proof. */
function answer(c: RawClient, challenge: Buffer | undefined, secret = 'secret'): void {
  c.send({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'toy', authenticationData: Buffer.from(`${challenge?.toString()}:${secret}`) } });
}

for (const version of [4, 5] as const) {
  const v = version === 5 ? '5.0' : '3.1.1';

  test(`${v}: an authenticate hook that allows lets the client in and sees its user name and password`, async () => {
    const seen: AuthenticateRequest[] = [];
    const b = await startBroker({ hooks: [{ authenticate: (req) => (seen.push(req), users.authenticate!(req)) }] });
    const { client, connack } = await mqttjs(b.url, { protocolVersion: version, clientId: `allow-${version}`, username: 'alice', password: 'wonderland' });
    try {
      assert.equal(version === 5 ? connack.reasonCode : connack.returnCode, 0);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.clientId, `allow-${version}`);
      assert.equal(seen[0]!.username, 'alice');
      assert.equal(seen[0]!.password?.toString(), 'wonderland');
    } finally {
      client.end(true);
      await b.close();
    }
  });
}

test('5.0: a bad password is refused with CONNACK 0x86, Session Present 0, and the connection closed [MQTT-3.1.4-2] [MQTT-3.2.2-6] [MQTT-3.2.2-7] [MQTT-4.13.2-1]', async () => {
  const b = await startBroker({ hooks: [users] });
  const c = await rawConnect(b.port, { protocolVersion: 5, clientId: 'bad-pw-5', username: 'alice', password: Buffer.from('nope') });
  try {
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x86);
    assert.equal(ack.sessionPresent, false);
    await c.closedByServer();
    assert.equal(b.broker.clients.size, 0);
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0: a hook denying with 0x87 refuses MQTT.js with Not authorized [MQTT-3.1.4-2]', async () => {
  const b = await startBroker({ hooks: [users] });
  try {
    await assert.rejects(mqttjs(b.url, { protocolVersion: 5, clientId: 'no-user-5' }), (err: { code?: number }) => err.code === 0x87);
    assert.equal(b.broker.clients.size, 0);
  } finally {
    await b.close();
  }
});

test('3.1.1: a bad password is refused with CONNACK return code 0x04 and the connection closed [MQTT-3.2.2-4] [MQTT-3.2.2-5]', async () => {
  const b = await startBroker({ hooks: [users] });
  const c = await rawConnect(b.port, { protocolVersion: 4, clientId: 'bad-pw-4', username: 'alice', password: Buffer.from('nope') });
  try {
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x04);
    assert.equal(ack.sessionPresent, false);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('3.1.1: a hook denying with 0x87 refuses the client with return code 0x05 Not authorized [MQTT-3.2.2-5]', async () => {
  const b = await startBroker({ hooks: [users] });
  const c = await rawConnect(b.port, { protocolVersion: 4, clientId: 'no-user-4' });
  try {
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x05);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('an async authenticate hook that allows lets the client in once it resolves', async () => {
  let resolved = false;
  const b = await startBroker({ hooks: [{ authenticate: async () => { await delay(100); resolved = true; return { ok: true }; } }] });
  const { client } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'async-allow' });
  try {
    assert.ok(resolved, 'CONNACK came after the hook resolved');
    assert.ok(b.broker.clients.has('async-allow'));
  } finally {
    client.end(true);
    await b.close();
  }
});

test('an async authenticate hook that denies refuses the client with its reason code [MQTT-3.1.4-2]', async () => {
  const b = await startBroker({ hooks: [{ authenticate: async () => { await delay(50); return { ok: false, reasonCode: 0x86 }; } }] });
  const c = await rawConnect(b.port, { protocolVersion: 5, clientId: 'async-deny' });
  try {
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x86);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('every authenticate hook must allow: a later hook can deny what an earlier one allowed', async () => {
  const calls: string[] = [];
  const b = await startBroker({
    hooks: [
      { authenticate: () => (calls.push('first'), { ok: true }) },
      { authenticate: async () => (calls.push('second'), { ok: false, reasonCode: 0x8a }) },
    ],
  });
  const c = await rawConnect(b.port, { protocolVersion: 5, clientId: 'chain' });
  try {
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x8a);
    assert.deepEqual(calls, ['first', 'second']);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('default policy: with no hooks, an anonymous client is allowed on a loopback listener', async () => {
  const b = await startBroker();
  const { client, connack } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'anon-loopback' });
  try {
    assert.equal(connack.reasonCode, 0);
    assert.equal(b.broker.addresses[0]!.allowAnonymous, true);
  } finally {
    client.end(true);
    await b.close();
  }
});

test('default policy: a listener bound beyond loopback refuses anonymous clients (5.0 CONNACK 0x87)', async () => {
  const b = await startBroker({ listeners: [{ port: 0, host: '0.0.0.0' }] });
  const c = await rawConnect(b.port, { protocolVersion: 5, clientId: 'anon-wide' });
  try {
    assert.equal(b.broker.addresses[0]!.allowAnonymous, false);
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x87);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('allowAnonymous: false refuses a 5.0 client without a user name with CONNACK 0x87', async () => {
  const b = await startBroker({ listeners: [{ port: 0, host: '127.0.0.1', allowAnonymous: false }] });
  const c = await rawConnect(b.port, { protocolVersion: 5, clientId: 'anon-off-5' });
  try {
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x87);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('allowAnonymous: false refuses a 3.1.1 client without a user name with return code 0x05', async () => {
  const b = await startBroker({ listeners: [{ port: 0, host: '127.0.0.1', allowAnonymous: false }] });
  const c = await rawConnect(b.port, { protocolVersion: 4, clientId: 'anon-off-4' });
  try {
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x05);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('allowAnonymous: false with no authenticate hook refuses a user name it cannot check (0x86)', async () => {
  const b = await startBroker({ listeners: [{ port: 0, host: '127.0.0.1', allowAnonymous: false }] });
  const c = await rawConnect(b.port, { protocolVersion: 5, clientId: 'anon-off-user', username: 'alice', password: Buffer.from('wonderland') });
  try {
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x86);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('allowAnonymous: false lets in a client that an authenticate hook allows', async () => {
  const b = await startBroker({ listeners: [{ port: 0, host: '127.0.0.1', allowAnonymous: false }], hooks: [users] });
  const { client, connack } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'anon-off-alice', username: 'alice', password: 'wonderland' });
  try {
    assert.equal(connack.reasonCode, 0);
  } finally {
    client.end(true);
    await b.close();
  }
});

test('5.0: a hook denying with 0x9C Use another server sends the configured Server Reference in the CONNACK', async () => {
  const b = await startBroker({ serverReference: 'other.example:1883', hooks: [{ authenticate: () => ({ ok: false, reasonCode: 0x9c }) }] });
  const c = await rawConnect(b.port, { protocolVersion: 5, clientId: 'redirect' });
  try {
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x9c);
    assert.equal(ack.properties?.serverReference, 'other.example:1883');
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0: a refusal other than 0x9C/0x9D carries no Server Reference', async () => {
  const b = await startBroker({ serverReference: 'other.example:1883', hooks: [users] });
  const c = await rawConnect(b.port, { protocolVersion: 5, clientId: 'no-redirect' });
  try {
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x87);
    assert.equal(ack.properties?.serverReference, undefined);
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0 enhanced authentication: MQTT.js completes the toy challenge and is connected [MQTT-4.12.0-2] [MQTT-4.12.0-5]', async () => {
  const b = await startBroker({ hooks: [toy] });
  let challenges = 0;
  const { client, connack } = await mqttjs(
    b.url,
    { protocolVersion: 5, clientId: 'toy-mqttjs', properties: { authenticationMethod: 'toy', authenticationData: Buffer.from('hello') } },
    (c) => {
      c.handleAuth = (packet, callback) => {
        challenges++;
        assert.equal(packet.reasonCode, 0x18);
        const nonce = packet.properties?.authenticationData?.toString();
        callback(undefined, { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'toy', authenticationData: Buffer.from(`${nonce}:secret`) } });
      };
    },
  );
  try {
    assert.equal(challenges, 1);
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.properties?.authenticationMethod, 'toy');
    assert.equal(connack.properties?.authenticationData?.toString(), 'welcome');
  } finally {
    client.end(true);
    await b.close();
  }
});

test('5.0 enhanced authentication: the challenge is AUTH 0x18 with the same method, and CONNACK follows the right answer [MQTT-4.12.0-2] [MQTT-4.12.0-5]', async () => {
  const b = await startBroker({ hooks: [toy] });
  const c = await rawConnect(b.port, { protocolVersion: 5, ...toyConnect('toy-raw') });
  try {
    const challenge = await c.expect('auth');
    assert.equal(challenge.reasonCode, 0x18);
    assert.equal(challenge.properties?.authenticationMethod, 'toy');
    assert.match(challenge.properties?.authenticationData?.toString() ?? '', /^nonce-/);
    answer(c, challenge.properties?.authenticationData);
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.properties?.authenticationMethod, 'toy');
    c.send({ type: 'pingreq' });
    await c.expect('pingresp');
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0 enhanced authentication: a wrong answer is refused with the hook\'s CONNACK code and the connection closed [MQTT-4.12.0-4]', async () => {
  const b = await startBroker({ hooks: [toy] });
  const c = await rawConnect(b.port, { protocolVersion: 5, ...toyConnect('toy-wrong') });
  try {
    const challenge = await c.expect('auth');
    answer(c, challenge.properties?.authenticationData, 'guess');
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x87);
    await c.closedByServer();
    assert.equal(b.broker.clients.size, 0);
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0 enhanced authentication: an unknown method gets CONNACK 0x8C and the connection closed [MQTT-4.12.0-1]', async () => {
  const b = await startBroker({ hooks: [toy] });
  const c = await rawConnect(b.port, { protocolVersion: 5, clientId: 'toy-unknown', properties: { authenticationMethod: 'SCRAM-SHA-1' } });
  try {
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x8c);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0 enhanced authentication: with no enhancedAuth hook at all, any method gets CONNACK 0x8C [MQTT-4.12.0-1]', async () => {
  const b = await startBroker();
  const c = await rawConnect(b.port, { protocolVersion: 5, ...toyConnect('toy-none') });
  try {
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x8c);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0 enhanced authentication: an AUTH answer with another method is a protocol error [MQTT-4.12.0-5]', async () => {
  const b = await startBroker({ hooks: [toy] });
  const c = await rawConnect(b.port, { protocolVersion: 5, ...toyConnect('toy-switch') });
  try {
    await c.expect('auth');
    c.send({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'other', authenticationData: Buffer.from('x') } });
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x82);
    await c.closedByServer();
    assert.equal(b.broker.clients.size, 0);
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0 enhanced authentication: an AUTH answer with a reason code other than 0x18 is a protocol error [MQTT-4.12.0-3]', async () => {
  const b = await startBroker({ hooks: [toy] });
  const c = await rawConnect(b.port, { protocolVersion: 5, ...toyConnect('toy-code') });
  try {
    const challenge = await c.expect('auth');
    c.send({ type: 'auth', reasonCode: 0x00, properties: { authenticationMethod: 'toy', authenticationData: Buffer.from(`${challenge.properties?.authenticationData?.toString()}:secret`) } });
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x82);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0 enhanced authentication: a PUBLISH before the exchange ends is a protocol error and is not processed [MQTT-3.1.2-30]', async () => {
  const b = await startBroker({ hooks: [toy] });
  const watcher = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'toy-watcher' });
  const c = await rawConnect(b.port, { protocolVersion: 5, ...toyConnect('toy-early') });
  try {
    watcher.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'toy/#', qos: 0 }] });
    await watcher.expect('suback');
    await c.expect('auth');
    c.send({ type: 'publish', topic: 'toy/early', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    const ack = await c.expect('connack');
    assert.equal(ack.reasonCode, 0x82);
    await c.closedByServer();
    await watcher.silent(200);
    // Positive control: a message on the same filter does reach the watcher.
    watcher.send({ type: 'publish', topic: 'toy/after', payload: Buffer.from('y'), qos: 0, retain: false, dup: false });
    assert.equal((await watcher.expect('publish')).topic, 'toy/after');
  } finally {
    c.destroy();
    watcher.destroy();
    await b.close();
  }
});

test('5.0: without an Authentication Method in CONNECT, the CONNACK carries none [MQTT-4.12.0-6]', async () => {
  const b = await startBroker({ hooks: [toy] });
  const { client, connack } = await mqttjs(b.url, { protocolVersion: 5, clientId: 'plain' });
  try {
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.properties?.authenticationMethod, undefined);
    assert.equal(connack.properties?.authenticationData, undefined);
  } finally {
    client.end(true);
    await b.close();
  }
});

test('5.0: an AUTH from a client whose CONNECT had no Authentication Method gets DISCONNECT 0x82 [MQTT-4.12.0-7]', async () => {
  const b = await startBroker({ hooks: [toy] });
  const c = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'plain-auth' });
  try {
    c.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'toy', authenticationData: Buffer.from('hello') } });
    const d = await c.expect('disconnect');
    assert.equal(d.reasonCode, 0x82);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

/** A client connected through the toy exchange. */
async function toyClient(port: number, clientId: string): Promise<RawClient> {
  const c = await rawConnect(port, { protocolVersion: 5, ...toyConnect(clientId) });
  const challenge = await c.expect('auth');
  answer(c, challenge.properties?.authenticationData);
  const ack = await c.expect('connack');
  assert.equal(ack.reasonCode, 0);
  return c;
}

test('5.0 re-authentication: AUTH 0x19 runs the exchange again and ends with AUTH 0x00 on the open connection', async () => {
  const b = await startBroker({ hooks: [toy] });
  const c = await toyClient(b.port, 'reauth');
  try {
    c.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'toy', authenticationData: Buffer.from('hello') } });
    const challenge = await c.expect('auth');
    assert.equal(challenge.reasonCode, 0x18);
    assert.equal(challenge.properties?.authenticationMethod, 'toy');
    answer(c, challenge.properties?.authenticationData);
    const done = await c.expect('auth');
    assert.equal(done.reasonCode ?? 0, 0x00);
    assert.equal(done.properties?.authenticationMethod, 'toy');
    c.send({ type: 'pingreq' });
    await c.expect('pingresp');
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0 re-authentication with a different method is a protocol error: DISCONNECT 0x82 [MQTT-4.12.1-1]', async () => {
  const b = await startBroker({ hooks: [toy] });
  const c = await toyClient(b.port, 'reauth-switch');
  try {
    c.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'other', authenticationData: Buffer.from('hello') } });
    const d = await c.expect('disconnect');
    assert.equal(d.reasonCode, 0x82);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0 re-authentication that fails closes the connection after a DISCONNECT with the hook\'s code [MQTT-4.12.1-2]', async () => {
  const b = await startBroker({ hooks: [toy] });
  const c = await toyClient(b.port, 'reauth-fail');
  try {
    c.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'toy', authenticationData: Buffer.from('hello') } });
    const challenge = await c.expect('auth');
    answer(c, challenge.properties?.authenticationData, 'guess');
    const d = await c.expect('disconnect');
    assert.equal(d.reasonCode, 0x87);
    await c.closedByServer();
  } finally {
    c.destroy();
    await b.close();
  }
});

test('5.0: a server shutting down during an authentication exchange closes without a DISCONNECT, as no CONNACK was sent [MQTT-3.14.0-1]', async () => {
  const b = await startBroker({ hooks: [toy] });
  const c = await rawConnect(b.port, { protocolVersion: 5, ...toyConnect('toy-shutdown') });
  try {
    await c.expect('auth');
    await b.close();
    await c.closedByServer();
    assert.deepEqual(c.packets, []);
  } finally {
    c.destroy();
    await b.close();
  }
});
