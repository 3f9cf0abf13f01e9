// Rate limits and connection bounds (src/broker/rate-limit.ts): publishes and payload
// bytes per second per client, CONNECTs per second per source address, open connections
// per listener and in all, and failed logins. 5.0 clients are told with reason codes; a
// 3.1/3.1.1 client over its publish rate is slowed down by not reading its socket. Every
// limit counts its hits in broker.stats.limited.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectPacket, ProtocolVersion, QoS } from '../../src/codec/types.js';
import { loadConfig, toBrokerOptions } from '../../src/config/index.js';
import { RawClient, delay, type TestBroker } from '../helpers/broker.js';
import { broker, raw, type Ctx } from '../helpers/scenario.js';

let nextId = 1;

/** A subscriber to `topic` (5.0 raw client) whose received payloads are collected. */
async function subscriber(t: Ctx, b: TestBroker, topic: string): Promise<{ got: string[]; times: number[] }> {
  const c = await raw(t, b);
  c.send({ type: 'subscribe', packetId: nextId++, subscriptions: [{ topicFilter: topic, qos: 0 }] });
  await c.expect('suback');
  const got: string[] = [];
  const times: number[] = [];
  c.socket.on('data', () => {
    while (c.packets.length > 0) {
      const p = c.packets.shift()!;
      if (p.type === 'publish') {
        got.push(p.payload.toString());
        times.push(Date.now());
      }
    }
  });
  return { got, times };
}

function publishMany(c: RawClient, topic: string, n: number, qos: QoS, size = 1): number[] {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const packetId = qos > 0 ? nextId++ : undefined;
    if (packetId !== undefined) ids.push(packetId);
    const payload = Buffer.alloc(size, 'x');
    payload.write(String(i));
    c.send({ type: 'publish', topic, payload, qos, retain: false, dup: false, ...(packetId !== undefined && { packetId }) });
  }
  return ids;
}

/** Sends a CONNECT on a fresh socket and returns the CONNACK's code. */
async function connackCode(t: Ctx, port: number, version: ProtocolVersion, connect: Partial<ConnectPacket> = {}): Promise<number> {
  const c = await RawClient.open(port, version);
  t.after(() => c.destroy());
  c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: `rl-${nextId++}`, ...connect });
  return (await c.expect('connack')).reasonCode;
}

test('5.0: QoS 1 publishes beyond limits.maxPublishRate get PUBACK 0x97 Quota exceeded and are not delivered; counted as publish_rate', async (t) => {
  const b = await broker(t, { limits: { maxPublishRate: 10 } });
  const sub = await subscriber(t, b, 'rate/q1');
  const pub = await raw(t, b);
  publishMany(pub, 'rate/q1', 14, 1);
  const codes: number[] = [];
  for (let i = 0; i < 14; i++) codes.push((await pub.expect('puback')).reasonCode ?? 0);
  // The burst is one second of the rate: the first ten pass, the rest are refused.
  assert.deepEqual(codes, [...Array<number>(10).fill(0x00), ...Array<number>(4).fill(0x97)]);
  await delay(100);
  assert.equal(sub.got.length, 10);
  assert.equal(b.broker.stats.limited.publish_rate, 4);
  // Refused publishes are charged too: once the client has paid for all 14 (half a second
  // at 10/s), it is accepted again.
  await delay(450);
  publishMany(pub, 'rate/q1', 1, 1);
  assert.equal((await pub.expect('puback')).reasonCode ?? 0, 0);
});

test('5.0: a QoS 2 publish beyond the rate gets PUBREC 0x97, and its packet id is not kept', async (t) => {
  const b = await broker(t, { limits: { maxPublishRate: 2 } });
  const pub = await raw(t, b, { clientId: 'q2-publisher' });
  const ids = publishMany(pub, 'rate/q2', 3, 2);
  const recs = [await pub.expect('pubrec'), await pub.expect('pubrec'), await pub.expect('pubrec')];
  assert.deepEqual(recs.map((r) => (r.reasonCode ?? 0) >= 0x80), [false, false, true]);
  assert.equal(recs[2]!.reasonCode, 0x97);
  const session = b.broker.sessions.get('q2-publisher')!;
  assert.deepEqual([session.inboundQos2.has(ids[0]!), session.inboundQos2.has(ids[2]!)], [true, false]);
});

test('5.0: QoS 0 publishes beyond the rate are dropped; a client that keeps on far over it gets DISCONNECT 0x96 Message rate too high', async (t) => {
  const b = await broker(t, { limits: { maxPublishRate: 10 } });
  const sub = await subscriber(t, b, 'rate/q0');
  const pub = await raw(t, b);
  publishMany(pub, 'rate/q0', 15, 0);
  await delay(100);
  assert.equal(sub.got.length, 10, 'the burst passes, the rest is dropped');
  assert.equal(pub.closed, false, 'a little over is refused, not punished');
  // Refused publishes are charged too: a second's worth beyond the burst is too much.
  publishMany(pub, 'rate/q0', 25, 0);
  const d = await pub.expect('disconnect');
  assert.equal(d.reasonCode, 0x96);
  await pub.closedByServer();
  assert.ok(b.broker.stats.limited.publish_rate >= 10, `${b.broker.stats.limited.publish_rate} refused`);
});

test('5.0: payload bytes beyond limits.maxByteRate get PUBACK 0x97; counted as byte_rate', async (t) => {
  const b = await broker(t, { limits: { maxByteRate: 1000 } });
  const pub = await raw(t, b);
  publishMany(pub, 'rate/bytes', 3, 1, 600);
  const codes = [await pub.expect('puback'), await pub.expect('puback'), await pub.expect('puback')].map((a) => a.reasonCode ?? 0);
  // The second may overdraw what the first left; the third finds the bucket empty.
  assert.deepEqual(codes.map((c) => c === 0x97), [false, false, true]);
  assert.equal(b.broker.stats.limited.byte_rate, 1);
  assert.equal(b.broker.stats.limited.publish_rate, 0);
});

test('3.1.1: publishes beyond the rate are all delivered, but the broker stops reading until the client is within its rate; keep alive is not tripped', async (t) => {
  const b = await broker(t, { limits: { maxPublishRate: 10 } });
  const sub = await subscriber(t, b, 'rate/v4');
  const pub = await raw(t, b, { protocolVersion: 4, keepalive: 1 });
  const start = Date.now();
  publishMany(pub, 'rate/v4', 25, 0);
  pub.send({ type: 'pingreq' });
  await pub.expect('pingresp', 4000);
  const pingAfter = Date.now() - start;
  // 10 in the burst, then 15 at 10/s: the PINGREQ behind them is read after ~1.5 s, past
  // the 1 s keep alive's 1.5 s grace, so the throttled time must not count against it.
  assert.ok(pingAfter >= 1300, `PINGREQ read after ${pingAfter} ms`);
  assert.equal(pub.closed, false);
  await delay(50);
  assert.equal(sub.got.length, 25, 'nothing is dropped');
  assert.deepEqual(sub.got.slice(0, 3), ['0', '1', '2']);
  const spread = sub.times[24]! - sub.times[0]!;
  assert.ok(spread >= 1300 && spread < 4000, `25 messages at 10/s with a burst of 10 took ${spread} ms`);
  assert.equal(b.broker.stats.limited.publish_rate, 15);
});

test('3.1.1: payload bytes beyond the byte rate are delayed, not dropped; QoS 1 acknowledgements follow the pace', async (t) => {
  const b = await broker(t, { limits: { maxByteRate: 2000 } });
  const sub = await subscriber(t, b, 'rate/v4bytes');
  const pub = await raw(t, b, { protocolVersion: 4 });
  const start = Date.now();
  publishMany(pub, 'rate/v4bytes', 4, 1, 1000);
  for (let i = 0; i < 4; i++) assert.equal((await pub.expect('puback')).type, 'puback');
  // Two fit the bucket; the third overdraws it by 1000 bytes, half a second to repay.
  const took = Date.now() - start;
  assert.ok(took >= 450 && took < 3000, `4 x 1000 bytes at 2000 B/s took ${took} ms`);
  await delay(50);
  assert.equal(sub.got.length, 4);
  assert.ok(b.broker.stats.limited.byte_rate >= 1);
});

test('limits are live: a rate set on the running broker applies to a client already connected', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b);
  publishMany(pub, 'rate/live', 5, 1);
  for (let i = 0; i < 5; i++) assert.equal((await pub.expect('puback')).reasonCode ?? 0, 0x10);
  b.broker.setLimits({ maxPublishRate: 2 });
  publishMany(pub, 'rate/live', 3, 1);
  const codes = [await pub.expect('puback'), await pub.expect('puback'), await pub.expect('puback')].map((a) => a.reasonCode ?? 0);
  assert.deepEqual(codes, [0x10, 0x10, 0x97]);
});

test('connect rate per source address: 5.0 CONNACK 0x9F Connection rate exceeded, 3.1.1 return code 0x03; counted as connect_rate', async (t) => {
  const b = await broker(t, { limits: { maxConnectRate: 1 } });
  assert.equal(await connackCode(t, b.port, 5), 0);
  assert.equal(await connackCode(t, b.port, 5), 0x9f);
  assert.equal(await connackCode(t, b.port, 4), 0x03);
  assert.equal(b.broker.stats.limited.connect_rate, 2);
  // A second at 1/s earns one connection back.
  await delay(1050);
  assert.equal(await connackCode(t, b.port, 5), 0);
});

test('listener maxConnections: a CONNECT beyond it gets 0x89 Server busy (3.1.1: 0x03); a socket without CONNECT holds a place; other listeners are not affected', async (t) => {
  const b = await broker(t, { listeners: [{ port: 0, maxConnections: 2 }, { port: 0 }] });
  const [busy, free] = b.broker.addresses;
  const idle = await RawClient.open(busy!.port);
  t.after(() => idle.destroy());
  const first = await raw(t, { ...b, port: busy!.port });
  assert.equal(await connackCode(t, busy!.port, 5), 0x89);
  assert.equal(await connackCode(t, busy!.port, 4), 0x03);
  assert.equal(await connackCode(t, free!.port, 5), 0);
  assert.equal(b.broker.stats.limited.connections, 2);
  // A client taking over its own session is not refused for the place it already holds.
  const id = [...b.broker.clients.values()].find((c) => c.listener === busy!.name)!.id;
  assert.equal(await connackCode(t, busy!.port, 5, { clientId: id }), 0);
  assert.equal((await first.expect('disconnect')).reasonCode, 0x8e);
  // A place freed is taken again.
  idle.destroy();
  await delay(50);
  assert.equal(b.broker.stats.limited.connections, 2);
});

test('limits.maxConnections over all listeners refuses with 0x89 and counts as connections', async (t) => {
  const b = await broker(t, { limits: { maxConnections: 1 } });
  await raw(t, b);
  assert.equal(await connackCode(t, b.port, 5), 0x89);
  assert.equal(await connackCode(t, b.port, 4), 0x03);
  assert.equal(b.broker.stats.limited.connections, 2);
});

test('a failed login counts as auth_failure (the file auth hooks also delay it: test/auth/file-auth.test.ts)', async (t) => {
  const b = await broker(t, { hooks: [{ authenticate: () => ({ ok: false, reasonCode: 0x86 }) }] });
  assert.equal(await connackCode(t, b.port, 5, { username: 'u', password: Buffer.from('p') }), 0x86);
  assert.equal(await connackCode(t, b.port, 4, { username: 'u', password: Buffer.from('p') }), 0x04);
  assert.equal(b.broker.stats.limited.auth_failure, 2);
});

test('config: the rate keys and a listener\'s maxConnections reach the broker options', () => {
  const { config } = loadConfig({
    text: 'listeners:\n  - port: 1884\n    maxConnections: 100\nlimits:\n  maxConnectRate: 5\n  maxPublishRate: 50\n  maxByteRate: 65536\n',
    env: {},
  });
  const { options } = toBrokerOptions(config);
  assert.equal(options.listeners![0]!.maxConnections, 100);
  assert.equal(options.limits!.maxConnectRate, 5);
  assert.equal(options.limits!.maxPublishRate, 50);
  assert.equal(options.limits!.maxByteRate, 65536);
  const defaults = toBrokerOptions(loadConfig({ text: '', env: {} }).config).options;
  assert.equal(defaults.listeners![0]!.maxConnections, undefined);
  assert.deepEqual([defaults.limits!.maxConnectRate, defaults.limits!.maxPublishRate, defaults.limits!.maxByteRate], [0, 0, 0]);
});
