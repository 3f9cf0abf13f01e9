// MQTT over WebSocket (section 6 of MQTT 5.0 and 3.1.1): MQTT.js over ws:// and wss://, and
// a raw `ws` client sending frames built with Starling's codec, for frame boundaries that do
// not match packet boundaries, text frames, the subprotocol, and backpressure.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Connection } from '../../src/broker/connection.js';
import { guardFor } from '../../src/transport/guard.js';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket, { createWebSocketStream } from 'ws';
import { encode, type Packet } from '../../src/codec/index.js';
import { loadConfig, toBrokerOptions } from '../../src/config/index.js';
import { createListener } from '../../src/transport/index.js';
import { host } from './host.js';
import { delay, startBroker, type TestBroker } from '../helpers/broker.js';
import { connectMqtt, endMqtt, nextMessage, StreamPeer, subscribe } from './clients.js';
import { makePki, openssl, type Pki } from './pki.js';
import { have } from '../helpers/tools.js';

const v5 = (p: Packet): Buffer => encode(p, 5);
const CONNECT = (clientId: string): Buffer => v5({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId });

/** A raw WebSocket client whose incoming binary messages are decoded as one MQTT stream. */
async function rawWs(url: string, protocols: string[] = ['mqtt']): Promise<{ ws: WebSocket; peer: StreamPeer }> {
  const ws = new WebSocket(url, protocols);
  ws.on('error', () => {});
  await once(ws, 'open');
  return { ws, peer: new StreamPeer(createWebSocketStream(ws)) };
}

describe('ws listener', () => {
  let tb: TestBroker;
  let url: string;

  before(async () => {
    tb = await startBroker({ listeners: [{ type: 'ws', port: 0, host: '127.0.0.1' }] });
    url = `ws://127.0.0.1:${tb.port}/mqtt`;
  });

  after(() => tb.close());

  test('MQTT.js publishes and subscribes over ws:// (ordered, lossless stream) [MQTT-4.2.0-1] [MQTT-7.1.1-1]', async () => {
    const sub = await connectMqtt(url, { protocolVersion: 5 });
    const pub = await connectMqtt(url, { protocolVersion: 4 });
    await subscribe(sub, 'ws/#');
    const got: string[] = [];
    const all = new Promise<void>((resolve) => sub.on('message', (_t, p) => got.push(p.toString()) === 200 && resolve()));
    for (let i = 0; i < 200; i++) pub.publish('ws/seq', String(i), { qos: (i % 3) as 0 | 1 | 2 });
    await all;
    assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => String(i)));
    await endMqtt(sub, pub);
  });

  test('the server selects the subprotocol "mqtt" [MQTT-6.0.0-4], and "mqttv3.1" for MQTT 3.1 clients', async () => {
    for (const [offered, selected] of [
      [['mqtt'], 'mqtt'],
      [['other', 'mqtt'], 'mqtt'],
      [['mqttv3.1'], 'mqttv3.1'],
    ] as const) {
      const ws = new WebSocket(url, [...offered]);
      await once(ws, 'open');
      assert.equal(ws.protocol, selected, `offered ${offered.join(', ')}`);
      ws.close();
    }
  });

  test('several packets in one binary frame are all handled, in order [MQTT-6.0.0-2]', async () => {
    const { ws, peer } = await rawWs(url);
    const frame = Buffer.concat([
      CONNECT('one-frame'),
      v5({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'frame/t', qos: 1 }] }),
      v5({ type: 'publish', topic: 'frame/t', qos: 1, packetId: 2, payload: Buffer.from('echo'), dup: false, retain: false }),
      v5({ type: 'pingreq' }),
    ]);
    ws.send(frame, { binary: true });
    const types: string[] = [];
    let echoed: Packet | undefined;
    for (let i = 0; i < 5; i++) {
      const p = await peer.next();
      types.push(p.type);
      if (p.type === 'publish') echoed = p;
    }
    assert.deepEqual(types.filter((t) => t !== 'publish'), ['connack', 'suback', 'puback', 'pingresp']);
    assert.equal(echoed?.type === 'publish' && echoed.payload.toString(), 'echo');
    ws.close();
  });

  test('one packet split over several binary frames is reassembled [MQTT-6.0.0-2]', async () => {
    const { ws, peer } = await rawWs(url);
    const connect = CONNECT('split-frames');
    // Every byte of CONNECT in its own frame, then a SUBSCRIBE cut across two frames
    // together with the start of a PINGREQ.
    for (let i = 0; i < connect.length; i++) ws.send(connect.subarray(i, i + 1), { binary: true });
    assert.equal((await peer.next()).type, 'connack');
    const rest = Buffer.concat([v5({ type: 'subscribe', packetId: 7, subscriptions: [{ topicFilter: 'split/#', qos: 0 }] }), v5({ type: 'pingreq' })]);
    ws.send(rest.subarray(0, 5), { binary: true });
    ws.send(rest.subarray(5, rest.length - 1), { binary: true });
    ws.send(rest.subarray(rest.length - 1), { binary: true });
    assert.equal((await peer.next()).type, 'suback');
    assert.equal((await peer.next()).type, 'pingresp');
    ws.close();
  });

  test('frames that arrive while the broker waits on an async hook are kept, in order [MQTT-4.2.0-1] [MQTT-7.1.1-1]', async () => {
    const slow = await startBroker({
      listeners: [{ type: 'ws', port: 0 }],
      hooks: [{ authenticate: () => delay(200).then(() => ({ ok: true as const })) }],
    });
    try {
      const { ws, peer } = await rawWs(`ws://127.0.0.1:${slow.port}/mqtt`);
      ws.send(CONNECT('paused-reader'), { binary: true });
      ws.send(v5({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'order/t', qos: 0 }] }), { binary: true });
      for (let i = 0; i < 300; i++) {
        ws.send(v5({ type: 'publish', topic: 'order/t', qos: 0, payload: Buffer.from(String(i)), dup: false, retain: false }), { binary: true });
      }
      assert.equal((await peer.next()).type, 'connack');
      assert.equal((await peer.next()).type, 'suback');
      for (let i = 0; i < 300; i++) {
        const p = await peer.next();
        assert.equal(p.type === 'publish' && p.payload.toString(), String(i));
      }
      ws.close();
    } finally {
      await slow.close();
    }
  });

  test('a text frame closes the connection [MQTT-6.0.0-1]', async () => {
    const { ws, peer } = await rawWs(url);
    ws.send(CONNECT('texter'), { binary: true });
    assert.equal((await peer.next()).type, 'connack');
    const closed = once(ws, 'close');
    ws.send('hello', { binary: false });
    const [code] = (await closed) as [number];
    assert.equal(code, 1003);
    assert.equal(tb.broker.clients.has('texter'), false);
  });

  test('a text frame in place of CONNECT closes the connection before anything is answered [MQTT-6.0.0-1]', async () => {
    const { ws, peer } = await rawWs(url);
    const closed = once(ws, 'close');
    ws.send(CONNECT('as-text').toString('latin1'), { binary: false });
    await closed;
    assert.equal(peer.packets.length, 0);
  });

  test('a message larger than maxFrameSize closes the connection (1009)', async () => {
    const small = await startBroker({ listeners: [{ type: 'ws', port: 0, maxFrameSize: 1024 }] });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${small.port}/mqtt`, ['mqtt']);
      ws.on('error', () => {});
      await once(ws, 'open');
      const closed = once(ws, 'close');
      ws.send(Buffer.alloc(2048), { binary: true });
      const [code] = (await closed) as [number];
      assert.equal(code, 1009);
    } finally {
      await small.close();
    }
  });

  test('only the configured path upgrades; a plain HTTP request is told to upgrade (426)', async () => {
    const wrong = new WebSocket(`ws://127.0.0.1:${tb.port}/other`, ['mqtt']);
    wrong.on('error', () => {});
    const [, res] = (await once(wrong, 'unexpected-response')) as [unknown, http.IncomingMessage];
    assert.equal(res.statusCode, 404);
    wrong.terminate();

    const plain = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`http://127.0.0.1:${tb.port}/mqtt`, resolve).on('error', reject));
    assert.equal(plain.statusCode, 426);
    plain.resume();
  });

  test('a connection that does not upgrade within handshakeTimeout is closed', async () => {
    const quick = await startBroker({ listeners: [{ type: 'ws', port: 0, handshakeTimeout: 300 }] });
    try {
      const started = Date.now();
      const silent = net.connect(quick.port, '127.0.0.1');
      const partial = net.connect(quick.port, '127.0.0.1');
      partial.write('GET /mqtt HTTP/1.1\r\nHost: x\r\n');
      await Promise.all([once(silent, 'close'), once(partial, 'close')]);
      assert.ok(Date.now() - started < 2000, `closed after ${Date.now() - started} ms`);
      // An upgraded connection is not subject to it.
      const c = await connectMqtt(`ws://127.0.0.1:${quick.port}/mqtt`, { protocolVersion: 5 });
      await delay(500);
      assert.equal(c.connected, true);
      await endMqtt(c);
    } finally {
      await quick.close();
    }
  });

  test('a configured path is served, with a query string allowed', async () => {
    const custom = await startBroker({ listeners: [{ type: 'ws', port: 0, websocketPath: '/broker/ws' }] });
    try {
      const c = await connectMqtt(`ws://127.0.0.1:${custom.port}/broker/ws?token=abc`, { protocolVersion: 5 });
      await endMqtt(c);
      assert.equal(custom.broker.addresses[0]!.websocketPath, '/broker/ws');
    } finally {
      await custom.close();
    }
  });

  test('a subscriber that stops reading is bounded by maxSocketBuffer: QoS 0 is dropped, memory is not', async () => {
    const tight = await startBroker({ listeners: [{ type: 'ws', port: 0 }], limits: { maxSocketBuffer: 64 * 1024 } });
    try {
      const { ws, peer } = await rawWs(`ws://127.0.0.1:${tight.port}/mqtt`);
      ws.send(CONNECT('slow-reader'), { binary: true });
      assert.equal((await peer.next()).type, 'connack');
      ws.send(v5({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'flood', qos: 0 }] }), { binary: true });
      assert.equal((await peer.next()).type, 'suback');
      // Stop reading: the TCP window fills, then the broker's stream holds what is left.
      (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
      const payload = Buffer.alloc(16 * 1024, 1);
      // Spread over many turns of the event loop, so the socket really writes what it can.
      for (let i = 0; i < 200; i++) {
        for (let j = 0; j < 10; j++) tight.broker.publish({ topic: 'flood', payload, qos: 0, retain: false });
        await delay(1);
      }
      assert.ok(tight.broker.stats.dropped.backpressure > 0, 'some QoS 0 messages were dropped');
      const conn = tight.broker.clients.get('slow-reader') as Connection;
      assert.ok(conn.socket.writableLength < 2 * 1024 * 1024, `buffered ${conn.socket.writableLength} bytes`);
      ws.terminate();
    } finally {
      await tight.close();
    }
  });
});

describe('wss listener', () => {
  let pki: Pki;
  let tb: TestBroker;

  before(async () => {
    if (openssl.path === undefined) return;
    pki = makePki();
    tb = await startBroker({
      listeners: [{ type: 'wss', port: 0, certFile: pki.server.cert, keyFile: pki.server.key, caFile: pki.ca }],
    });
  });

  after(async () => {
    await tb?.close();
    pki?.remove();
  });

  test('MQTT.js publishes and subscribes over wss:// [MQTT-4.2.0-1] [MQTT-7.1.1-1]', async (t) => {
    if (!have(t, openssl)) return;
    const url = `wss://127.0.0.1:${tb.port}/mqtt`;
    const sub = await connectMqtt(url, { protocolVersion: 5, ca: pki.caPem });
    const pub = await connectMqtt(url, { protocolVersion: 4, ca: pki.caPem, cert: pki.pem(pki.client.cert), key: pki.pem(pki.client.key) });
    await subscribe(sub, 'wss/#');
    const got = nextMessage(sub);
    await pub.publishAsync('wss/x', 'secure', { qos: 1 });
    assert.equal((await got).payload.toString(), 'secure');
    await endMqtt(sub, pub);
  });

  test('wss selects "mqtt" [MQTT-6.0.0-4] and refuses a client certificate from another CA', async (t) => {
    if (!have(t, openssl)) return;
    const url = `wss://127.0.0.1:${tb.port}/mqtt`;
    const ws = new WebSocket(url, ['mqtt'], { ca: pki.caPem });
    await once(ws, 'open');
    assert.equal(ws.protocol, 'mqtt');
    ws.close();
    const rogue = new WebSocket(url, ['mqtt'], { ca: pki.caPem, cert: pki.pem(pki.rogue.cert), key: pki.pem(pki.rogue.key) });
    const outcome = await new Promise<string>((resolve) => {
      rogue.once('open', () => resolve('open'));
      rogue.once('error', () => resolve('error'));
    });
    assert.equal(outcome, 'error');
  });
});

/** The status an upgrade request gets: 101 once open, else the refusal's status code. */
async function upgradeStatus(url: string, protocols: string[] | undefined, options: WebSocket.ClientOptions = {}): Promise<{ status: number; ws: WebSocket }> {
  const ws = protocols === undefined ? new WebSocket(url, options) : new WebSocket(url, protocols, options);
  ws.on('error', () => {});
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req: http.ClientRequest, res: http.IncomingMessage) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, ws });
    });
  });
}

/** CONNECT without credentials over an open WebSocket: the CONNACK reason code. */
async function anonymousConnack(ws: WebSocket): Promise<number> {
  const peer = new StreamPeer(createWebSocketStream(ws));
  const code = (await peer.connect()).reasonCode;
  ws.terminate();
  return code;
}

describe('who may connect over WebSocket', () => {
  let tb: TestBroker;
  let url: string;

  before(async () => {
    tb = await startBroker({ listeners: [{ type: 'ws', port: 0, host: '127.0.0.1' }] });
    url = `ws://127.0.0.1:${tb.port}/mqtt`;
  });

  after(() => tb.close());

  test('hardening 7: an upgrade a reverse proxy forwarded (Forwarded, X-Forwarded-For, X-Real-IP) is not a local client on a loopback listener', async () => {
    const forwarding: Record<string, string>[] = [{ 'X-Forwarded-For': '203.0.113.5' }, { Forwarded: 'for=203.0.113.5;proto=https' }, { 'X-Real-IP': '203.0.113.5' }];
    for (const headers of forwarding) {
      const { status, ws } = await upgradeStatus(url, ['mqtt'], { headers });
      assert.equal(status, 101);
      assert.equal(await anonymousConnack(ws), 0x87, JSON.stringify(headers));
    }
    const { ws } = await upgradeStatus(url, ['mqtt']);
    assert.equal(await anonymousConnack(ws), 0, 'a direct local client is anonymous as before');
    const explicit = await startBroker({ listeners: [{ type: 'ws', port: 0, host: '127.0.0.1', allowAnonymous: true }] });
    try {
      const forwarded = await upgradeStatus(`ws://127.0.0.1:${explicit.port}/mqtt`, ['mqtt'], { headers: { 'X-Forwarded-For': '203.0.113.5' } });
      assert.equal(await anonymousConnack(forwarded.ws), 0, 'allowAnonymous: true holds for forwarded clients');
    } finally {
      await explicit.close();
    }
  });

  test('hardening 8: a page from a foreign origin gets 403 where it would be anonymous; loopback origins and programs without Origin do not', async () => {
    const refusedBefore = guardFor(tb.broker).refused.origin;
    const foreign = await upgradeStatus(url, ['mqtt'], { origin: 'https://evil.example' });
    assert.equal(foreign.status, 403);
    foreign.ws.terminate();
    assert.equal(guardFor(tb.broker).refused.origin, refusedBefore + 1);
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:8080', 'http://[::1]:5173']) {
      const local = await upgradeStatus(url, ['mqtt'], { origin });
      assert.equal(local.status, 101, origin);
      assert.equal(await anonymousConnack(local.ws), 0, origin);
    }
    const program = await upgradeStatus(url, ['mqtt']);
    assert.equal(await anonymousConnack(program.ws), 0);
  });

  test('hardening 8: allowedOrigins lets the listed origins (or * any) in; a listener without anonymous access does not check', async () => {
    const listed = await startBroker({ listeners: [{ type: 'ws', port: 0, host: '127.0.0.1', allowedOrigins: ['https://App.Example:443', 'https://other.example:8443'] }] });
    const any = await startBroker({ listeners: [{ type: 'ws', port: 0, host: '127.0.0.1', allowedOrigins: ['*'] }] });
    const authOnly = await startBroker({ listeners: [{ type: 'ws', port: 0, host: '127.0.0.1', allowAnonymous: false }] });
    try {
      const at = (b: TestBroker): string => `ws://127.0.0.1:${b.port}/mqtt`;
      const app = await upgradeStatus(at(listed), ['mqtt'], { origin: 'https://app.example' });
      assert.equal(app.status, 101, 'a listed origin (compared as scheme://host:port, default port dropped)');
      assert.equal(await anonymousConnack(app.ws), 0);
      assert.equal((await upgradeStatus(at(listed), ['mqtt'], { origin: 'https://other.example:8443' })).status, 101);
      assert.equal((await upgradeStatus(at(listed), ['mqtt'], { origin: 'http://app.example' })).status, 403, 'another scheme is another origin');
      assert.equal((await upgradeStatus(at(listed), ['mqtt'], { origin: 'null' })).status, 403);
      assert.equal((await upgradeStatus(at(any), ['mqtt'], { origin: 'https://evil.example' })).status, 101);
      const noAnon = await upgradeStatus(at(authOnly), ['mqtt'], { origin: 'https://evil.example' });
      assert.equal(noAnon.status, 101, 'it needs credentials like any client');
      assert.equal(await anonymousConnack(noAnon.ws), 0x87);
    } finally {
      await Promise.all([listed.close(), any.close(), authOnly.close()]);
    }
    assert.throws(() => createListener({ type: 'ws', allowedOrigins: ['app.example'] }, host()), /not an origin/);
    assert.throws(() => createListener({ type: 'tcp', allowedOrigins: ['*'] }, host()), /allowedOrigins is for ws, wss/);
  });

  test('hardening 8: the config key is a comma-separated list of origins', () => {
    const { options } = toBrokerOptions(
      loadConfig({ text: 'listeners:\n  - type: ws\n    port: 0\n    allowedOrigins: "https://a.example, http://localhost:3000"\n', env: {} }).config,
    );
    assert.deepEqual(options.listeners![0]!.allowedOrigins, ['https://a.example', 'http://localhost:3000']);
    assert.throws(() => loadConfig({ text: 'listeners:\n  - type: ws\n    allowedOrigins: "a.example"\n', env: {} }), /allowedOrigins: expected origins separated by commas/);
    assert.throws(() => loadConfig({ text: 'listeners:\n  - type: tcp\n    allowedOrigins: "*"\n', env: {} }), /allowedOrigins: is for ws and wss listeners/);
  });

  test('hardening 14: an upgrade offering only subprotocols MQTT does not speak is refused (400); offering none at all is still served', async () => {
    const before = guardFor(tb.broker).refused.subprotocol;
    const unknown = await upgradeStatus(url, ['graphql-ws', 'soap']);
    assert.equal(unknown.status, 400);
    unknown.ws.terminate();
    assert.equal(guardFor(tb.broker).refused.subprotocol, before + 1);
    const none = await upgradeStatus(url, undefined);
    assert.equal(none.status, 101);
    assert.equal(none.ws.protocol, '');
    assert.equal(await anonymousConnack(none.ws), 0);
    const mixed = await upgradeStatus(url, ['soap', 'mqttv3.1']);
    assert.equal(mixed.ws.protocol, 'mqttv3.1');
    mixed.ws.terminate();
  });
});
