// Attacks on bridges (docs/bridges.md): a hostile remote broker (a TCP server speaking MQTT
// 3.1.1 through our codec, sending what it likes), and a hostile client here that claims to
// be another broker's bridge (Mosquitto's bridge flag, protocol level 0x84).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileAuth } from '../../src/auth/index.js';
import { Decoder, encode, type Packet, type PublishProperties } from '../../src/codec/index.js';
import { RawClient } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import { bridgedStarling, linkUp, recorder } from '../bridge/helpers.js';

interface FakeRemote {
  readonly port: number;
  /** Sockets of the bridge's connections, newest last. */
  readonly links: net.Socket[];
  /** Resolves once the bridge has subscribed on the newest link. */
  subscribed(): Promise<net.Socket>;
}

/** A remote broker that accepts the bridge, grants its subscriptions, and sends what the test writes. */
async function fakeRemote(t: TestContext, version: 4 | 5 = 4): Promise<FakeRemote> {
  const links: net.Socket[] = [];
  const waiting: Array<(s: net.Socket) => void> = [];
  const server = net.createServer((socket) => {
    links.push(socket);
    socket.on('error', () => undefined);
    const decoder = new Decoder(
      (p: Packet) => {
        if (p.type === 'connect') socket.write(encode({ type: 'connack', sessionPresent: false, reasonCode: 0 }, version));
        else if (p.type === 'subscribe') {
          socket.write(encode({ type: 'suback', packetId: p.packetId, reasonCodes: p.subscriptions.map((s) => s.qos) }, version));
          for (const w of waiting.splice(0)) w(socket);
        } else if (p.type === 'pingreq') socket.write(encode({ type: 'pingresp' }, version));
      },
      { role: 'server' },
    );
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch {
        socket.destroy();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const s of links) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { port: (server.address() as net.AddressInfo).port, links, subscribed: () => new Promise((resolve) => waiting.push(resolve)) };
}

const publish = (topic: string, payload: Buffer | string): Buffer =>
  encode({ type: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, 4);

const yaml = (port: number, topics: string, protocol = 'mqttv311'): string => `bridges:
  - name: hostile
    addresses: mqtt://127.0.0.1:${port}
    clientId: edge
    protocol: ${protocol}
    reconnectDelay: 5000
    maxReconnectDelay: 5000
    topics: |
${topics
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
`;

test('attack: a remote that announces a packet beyond limits.maxPacketSize loses the link at its header; nothing of it is published here', async (t) => {
  const remote = await fakeRemote(t);
  const { tb, bridge } = await bridgedStarling(t, yaml(remote.port, 'in/# in 0'), { limits: { maxPacketSize: 64 * 1024 } });
  const link = remote.subscribed();
  await linkUp(bridge);
  const socket = await link;
  const here = await recorder(t, tb.url, {}, { '#': { qos: 0 } });
  // The positive control first: a message within the bound crosses.
  socket.write(publish('in/small', 'ok'));
  await until('the small message arrives here', () => here.on('in/small').length === 1);
  // A PUBLISH header announcing 200 MB, then a trickle of its body: MQTT.js alone would wait
  // for (and hold) all of it.
  const huge = 200 * 1024 * 1024;
  const header = publish('in/huge', Buffer.alloc(0));
  const head = Buffer.concat([Buffer.from([0x30, 0x80 | (huge & 0x7f), 0x80 | ((huge >> 7) & 0x7f), 0x80 | ((huge >> 14) & 0x7f), (huge >> 21) & 0x7f]), header.subarray(2)]);
  socket.write(head);
  socket.write(Buffer.alloc(16 * 1024, 0x61));
  await until('the link is closed by the bridge', () => socket.destroyed || socket.readableEnded, 5000);
  assert.equal(bridge.status().tooLargeIn, 1);
  assert.match(bridge.status().lastError ?? '', /maxPacketSize/);
  assert.equal(here.on('in/huge').length, 0);
});

test('attack: a ws:// remote that announces a WebSocket frame beyond limits.maxPacketSize loses the link at the frame header', async (t) => {
  const { WebSocketServer } = await import('ws');
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  let raw: net.Socket | undefined;
  server.on('connection', (ws, req) => {
    raw = req.socket;
    ws.on('message', (data: Buffer) => {
      // The bridge's CONNECT: accepted, then a binary frame announcing 50 MB (under ws's own
      // default bound of 100 MiB) whose body trickles in.
      if ((data[0]! >> 4) !== 1) return;
      raw!.write(Buffer.from([0x82, 0x04, 0x20, 0x02, 0x00, 0x00])); // CONNACK in one frame
      const header = Buffer.alloc(10);
      header[0] = 0x82;
      header[1] = 127;
      header.writeBigUInt64BE(50n * 1024n * 1024n, 2);
      raw!.write(header);
      raw!.write(Buffer.alloc(16 * 1024));
    });
  });
  t.after(async () => {
    raw?.destroy();
    await new Promise((r) => server.close(r));
  });
  const port = (server.address() as net.AddressInfo).port;
  const { bridge } = await bridgedStarling(t, yaml(port, 'in/# in 0').replace(`mqtt://127.0.0.1:${port}`, `ws://127.0.0.1:${port}/mqtt`), { limits: { maxPacketSize: 64 * 1024 } });
  await until('the bridge connects', () => raw !== undefined);
  await until('the link is closed by the bridge', () => raw!.destroyed || raw!.readableEnded, 5000);
  await until('the bridge counts it', () => bridge.status().tooLargeIn === 1);
});

test('attack: a remote that sends topics outside its rules, or $SYS through a prefix, publishes nothing of them here', async (t) => {
  const remote = await fakeRemote(t);
  const { tb, bridge } = await bridgedStarling(t, yaml(remote.port, 'cmd/# in 0 "" sites/7/\n# in 0 "" mirror/'));
  const link = remote.subscribed();
  await linkUp(bridge);
  const socket = await link;
  const here = await recorder(t, tb.url, {}, { '#': { qos: 0 }, '$SYS/broker/version': { qos: 0 }, '$SYS/fake/#': { qos: 0 } });
  const version = tb.broker.views.retained('$SYS/broker/version', 1).messages[0]?.payload;
  // Not subscribed to (another site, a topic no rule names) and a $ topic through a prefix.
  socket.write(publish('sites/8/cmd/open', 'x'));
  socket.write(publish('elsewhere/x', 'x'));
  socket.write(publish('mirror/$SYS/broker/version', 'forged'));
  socket.write(publish('mirror/$SYS/fake/x', 'forged'));
  socket.write(publish('sites/7/cmd/open', 'ok'));
  await until('the message within the rules arrives', () => here.on('cmd/open').length === 1);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(here.messages.filter((m) => m.payload !== 'probe').map((m) => m.topic), ['cmd/open']);
  assert.equal(tb.broker.views.retained('$SYS/broker/version', 1).messages[0]?.payload, version);
  assert.ok(bridge.status().refusedIn >= 4, `refusedIn ${bridge.status().refusedIn}`);
});

test('attack: a 5.0 remote\'s message with a wildcard Response Topic or U+0000 in a property is not passed on to clients here', async (t) => {
  const remote = await fakeRemote(t, 5);
  const { tb, bridge } = await bridgedStarling(t, yaml(remote.port, 'in/# in 0', 'mqttv50'));
  const link = remote.subscribed();
  await linkUp(bridge);
  const socket = await link;
  const here = await recorder(t, tb.url, {}, { '#': { qos: 0 } });
  const send = (topic: string, properties: PublishProperties): void => {
    socket.write(encode({ type: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties }, 5));
  };
  // Each is a malformed packet from a client [MQTT-3.3.2-14], [MQTT-1.5.4-2]: a 5.0 client
  // here would have to close its connection on receiving it.
  send('in/wild', { responseTopic: 'reply/#' });
  send('in/nul-type', { contentType: 'text\u0000plain' });
  send('in/nul-user', { userProperties: [['k', 'v\u0000']] });
  send('in/nul-reply', { responseTopic: 'reply/\u0000' });
  send('in/ok', { responseTopic: 'reply/ok', contentType: 'text/plain', userProperties: [['k', 'v']] });
  await until('the valid message arrives', () => here.on('in/ok').length === 1);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(here.messages.map((m) => m.topic), ['in/ok']);
  assert.equal(bridge.status().refusedIn, 4);
});

test('attack: a client claiming to be a bridge (protocol level 0x84) is held to the ACL like any other', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-redteam-bridge-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const aclFile = join(dir, 'acl');
  writeFileSync(aclFile, 'user site\ntopic readwrite sites/9/#\n');
  const { startBroker } = await import('../helpers/broker.js');
  const b = await startBroker({ hooks: [fileAuth({ aclFile, failureDelay: false })] });
  t.after(() => b.close());
  const c = await RawClient.connect(b.port, { protocolVersion: 4, bridge: true, clientId: 'fake-bridge', username: 'site' });
  t.after(() => c.destroy());
  c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 1 }, { topicFilter: 'sites/#', qos: 1 }, { topicFilter: 'sites/9/#', qos: 1 }] });
  const ack = await c.expect('suback');
  assert.deepEqual(ack.reasonCodes, [0x80, 0x80, 1]);
  c.send({ type: 'publish', topic: 'sites/1/cmd', payload: Buffer.from('x'), qos: 1, retain: true, dup: false, packetId: 2 });
  await c.expect('puback');
  assert.equal(b.broker.views.retained('#', 10).total, 0);
});
