// Restart tests: each kind of state a broker keeps is still there after it is closed and
// started again on the same store, with either store. (The crash test does the same with
// SIGKILL instead of a clean stop: test/store/crash.test.ts.)

import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { STORE_FILE, type Store } from '../../src/index.js';
import { delay, RawClient, startBroker, type TestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import { storeKinds, type StoreFactory, type StoreKind } from './kinds.js';


/** Brokers started one after the other on one store; the last is closed when the test ends. */
class Restarts {
  current: TestBroker | undefined;
  private readonly clients = new Set<MqttClient | RawClient>();
  constructor(readonly make: () => Store) {}

  async start(): Promise<TestBroker> {
    this.current = await startBroker({ store: this.make() });
    return this.current;
  }

  async restart(): Promise<TestBroker> {
    await this.current?.close();
    return this.start();
  }

  /** An MQTT.js client; messages are collected from before CONNACK, so none is missed. */
  async client(options: mqtt.IClientOptions): Promise<MqttClient & { got: Received[] }> {
    const c = mqtt.connect(this.current!.url, { reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 5, ...options });
    this.clients.add(c);
    const got: Received[] = [];
    c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), qos: packet.qos }));
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    return Object.assign(c, { got });
  }

  async raw(connect: Parameters<typeof RawClient.connect>[1]): Promise<RawClient> {
    const c = await RawClient.connect(this.current!.port, connect);
    this.clients.add(c);
    return c;
  }

  async end(): Promise<void> {
    for (const c of this.clients) {
      if (c instanceof RawClient) c.destroy();
      else await c.endAsync(true);
    }
    await this.current?.close();
  }
}

const persistent = (clientId: string): mqtt.IClientOptions => ({ clientId, clean: false, properties: { sessionExpiryInterval: 3600 } });
const HOUR = { sessionExpiryInterval: 3600 };

interface Received {
  topic: string;
  payload: string;
  qos: number;
}

for (const kind of storeKinds) {
  describe(`restart with the ${kind.name} store`, () => {
    test('a persistent session keeps its subscriptions', async (t) => {
      const r = new Restarts(kind.fresh());
      t.after(() => r.end());
      await r.start();
      const sub = await r.client(persistent('keep-subs'));
      await sub.subscribeAsync('subs/+', { qos: 1 });
      await sub.endAsync();
      await r.restart();
      const again = await r.client(persistent('keep-subs'));
      const got = again.got;
      const pub = await r.client({ clientId: 'keep-subs-pub' });
      await pub.publishAsync('subs/1', 'after restart', { qos: 1 });
      await until('the message', () => got.length === 1);
      assert.deepEqual(got, [{ topic: 'subs/1', payload: 'after restart', qos: 1 }]);
    });

    test('queued QoS 1 and QoS 2 messages arrive after a restart, in order and once', async (t) => {
      const r = new Restarts(kind.fresh());
      t.after(() => r.end());
      await r.start();
      const sub = await r.client(persistent('queued'));
      await sub.subscribeAsync('q/#', { qos: 2 });
      await sub.endAsync();
      const pub = await r.client({ clientId: 'queued-pub' });
      for (let i = 0; i < 6; i++) await pub.publishAsync(`q/${i}`, `m${i}`, { qos: i % 2 === 0 ? 1 : 2 });
      await pub.endAsync();
      await r.restart();
      // A raw client sees the wire order (MQTT.js hands a QoS 2 message over only at PUBREL).
      const again = await r.raw({ clientId: 'queued', clean: false, properties: HOUR });
      const publishes = [];
      for (let i = 0; i < 6; i++) publishes.push(await again.expect('publish'));
      assert.deepEqual(
        publishes.map((p) => [p.payload.toString(), p.qos]),
        [['m0', 1], ['m1', 2], ['m2', 1], ['m3', 2], ['m4', 1], ['m5', 2]],
      );
      for (const p of publishes) {
        if (p.qos === 1) again.send({ type: 'puback', packetId: p.packetId! });
        else again.send({ type: 'pubrec', packetId: p.packetId! });
      }
      for (let i = 0; i < 3; i++) again.send({ type: 'pubcomp', packetId: (await again.expect('pubrel')).packetId });
      await delay(100); // the acknowledgements reach the broker before it stops
      await r.restart();
      const third = await r.raw({ clientId: 'queued', clean: false, properties: HOUR });
      await third.silent(300);
    });

    test('an unacknowledged QoS 1 delivery is resent with its packet id and DUP set', async (t) => {
      const r = new Restarts(kind.fresh());
      t.after(() => r.end());
      await r.start();
      const sub = await r.raw({ clientId: 'inflight-1', clean: false, properties: HOUR });
      sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'inflight/1', qos: 1 }] });
      await sub.expect('suback');
      const pub = await r.client({ clientId: 'inflight-1-pub' });
      await pub.publishAsync('inflight/1', 'owed', { qos: 1 });
      const first = await sub.expect('publish');
      assert.equal(first.dup, false);
      await r.restart();
      const again = await r.raw({ clientId: 'inflight-1', clean: false, properties: HOUR });
      const resent = await again.expect('publish');
      assert.equal(resent.packetId, first.packetId);
      assert.equal(resent.dup, true);
      assert.equal(resent.payload.toString(), 'owed');
      again.send({ type: 'puback', packetId: resent.packetId! });
      await delay(100); // the PUBACK reaches the broker before it stops
      await r.restart();
      const third = await r.raw({ clientId: 'inflight-1', clean: false, properties: HOUR });
      await third.silent(300);
    });

    test('a QoS 2 delivery awaiting PUBCOMP resends PUBREL, not the PUBLISH', async (t) => {
      const r = new Restarts(kind.fresh());
      t.after(() => r.end());
      await r.start();
      const sub = await r.raw({ clientId: 'pubrel', clean: false, properties: HOUR });
      sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'pubrel/1', qos: 2 }] });
      await sub.expect('suback');
      const pub = await r.client({ clientId: 'pubrel-pub' });
      await pub.publishAsync('pubrel/1', 'exactly once', { qos: 2 });
      const publish = await sub.expect('publish');
      sub.send({ type: 'pubrec', packetId: publish.packetId! });
      await sub.expect('pubrel');
      await r.restart();
      const again = await r.raw({ clientId: 'pubrel', clean: false, properties: HOUR });
      const pubrel = await again.expect('pubrel');
      assert.equal(pubrel.packetId, publish.packetId);
      again.send({ type: 'pubcomp', packetId: pubrel.packetId });
      await again.silent(300);
    });

    test('an inbound QoS 2 packet id awaiting PUBREL survives: the resent PUBLISH is not delivered twice', async (t) => {
      const r = new Restarts(kind.fresh());
      t.after(() => r.end());
      await r.start();
      const sub = await r.client(persistent('inbound-sub'));
      await sub.subscribeAsync('inbound/1', { qos: 2 });
      const got = sub.got;
      const pub = await r.raw({ clientId: 'inbound-pub', clean: false, properties: HOUR });
      const publish = { type: 'publish' as const, topic: 'inbound/1', payload: Buffer.from('once'), qos: 2 as const, retain: false, dup: false, packetId: 9 };
      pub.send(publish);
      await pub.expect('pubrec');
      await until('the first delivery', () => got.length === 1);
      await sub.endAsync();
      await r.restart();
      const sub2 = await r.client(persistent('inbound-sub'));
      const got2 = sub2.got;
      const pub2 = await r.raw({ clientId: 'inbound-pub', clean: false, properties: HOUR });
      pub2.send({ ...publish, dup: true });
      await pub2.expect('pubrec');
      pub2.send({ type: 'pubrel', packetId: 9 });
      const comp = await pub2.expect('pubcomp');
      assert.equal(comp.reasonCode ?? 0, 0);
      await delay(300);
      assert.deepEqual(got2, []);
    });

    test('retained messages survive, and a deleted one stays deleted', async (t) => {
      const r = new Restarts(kind.fresh());
      t.after(() => r.end());
      await r.start();
      const pub = await r.client({ clientId: 'retain-pub' });
      await pub.publishAsync('ret/a', 'kept', { qos: 1, retain: true, properties: { contentType: 'text/plain' } });
      await pub.publishAsync('ret/b', 'gone', { qos: 1, retain: true });
      await pub.publishAsync('ret/b', '', { qos: 1, retain: true });
      await pub.endAsync();
      await r.restart();
      const sub = await r.client({ clientId: 'retain-sub' });
      const got: Array<{ topic: string; payload: string; retain: boolean; contentType?: string }> = [];
      sub.on('message', (topic, payload, packet) =>
        got.push({ topic, payload: payload.toString(), retain: packet.retain, ...(packet.properties?.contentType && { contentType: packet.properties.contentType }) }),
      );
      await sub.subscribeAsync('ret/#', { qos: 1 });
      await until('the retained message', () => got.length === 1);
      await delay(200);
      assert.deepEqual(got, [{ topic: 'ret/a', payload: 'kept', retain: true, contentType: 'text/plain' }]);
    });

    test('retained $SYS values are not kept: they describe the run that published them', async (t) => {
      const r = new Restarts(kind.fresh());
      t.after(() => r.end());
      const b = await r.start();
      b.broker.publish({ topic: '$SYS/broker/uptime', payload: Buffer.from('5 seconds'), qos: 0, retain: true });
      const pub = await r.client({ clientId: 'sys-pub' });
      await pub.publishAsync('sys/kept', 'kept', { qos: 1, retain: true });
      await r.restart();
      const sub = await r.client({ clientId: 'sys-sub' });
      const got = sub.got;
      await sub.subscribeAsync(['$SYS/#', 'sys/#'], { qos: 1 });
      await until('the retained message', () => got.length >= 1);
      await delay(200);
      assert.deepEqual(got.map((m) => m.topic), ['sys/kept']);
    });

    test('a will whose delay was still running at shutdown is published after the restart', async (t) => {
      const r = new Restarts(kind.fresh());
      t.after(() => r.end());
      await r.start();
      await r.client({
        clientId: 'delayed-will',
        clean: false,
        properties: { sessionExpiryInterval: 60 },
        will: { topic: 'will/delayed', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
      });
      await r.restart();
      const watcher = await r.client({ clientId: 'will-watcher' });
      const got = watcher.got;
      await watcher.subscribeAsync('will/delayed', { qos: 1 });
      await until('the will', () => got.length === 1, 4000);
      assert.deepEqual(got, [{ topic: 'will/delayed', payload: 'gone', qos: 1 }]);
    });

    test('a session that expired while the broker was down is gone', async (t) => {
      const r = new Restarts(kind.fresh());
      t.after(() => r.end());
      await r.start();
      const c = await r.client({ clientId: 'short', clean: false, properties: { sessionExpiryInterval: 1 } });
      await c.subscribeAsync('short/x', { qos: 1 });
      await c.endAsync();
      await r.current!.close();
      await delay(1200);
      await r.start();
      const again = await r.raw({ clientId: 'short', clean: false, properties: { sessionExpiryInterval: 1 } });
      assert.equal(r.current!.broker.sessions.get('short')?.subscriptions.size, 0);
      again.destroy();
    });

    test('hardening 11: a session that expired while the broker was down is dropped during restore, before listen() resolves', async (t) => {
      const r = new Restarts(kind.fresh());
      t.after(() => r.end());
      await r.start();
      for (const [id, expiry] of [['gone', 1], ['kept', 3600]] as const) {
        const c = await r.client({ clientId: id, clean: false, properties: { sessionExpiryInterval: expiry } });
        await c.subscribeAsync(`${id}/x`, { qos: 1 });
        await c.endAsync();
      }
      await r.current!.close();
      await delay(1100);
      await r.start();
      // No timer has had a turn yet: the expired session must already be gone.
      assert.equal(r.current!.broker.sessions.has('gone'), false);
      assert.equal(r.current!.broker.sessions.get('kept')?.subscriptions.size, 1, 'the positive control: a live session is restored');
    });

    test('a message for several sessions is stored once, and removed once every session has it', async (t) => {
      const make = kind.fresh();
      const r = new Restarts(make);
      t.after(() => r.end());
      await r.start();
      for (const id of ['once-1', 'once-2', 'once-3']) {
        const s = await r.client(persistent(id));
        await s.subscribeAsync('once/#', { qos: 1 });
        await s.endAsync();
      }
      const pub = await r.client({ clientId: 'once-pub' });
      await pub.publishAsync('once/x', Buffer.alloc(1000, 1), { qos: 1 });
      await pub.endAsync();
      await r.current!.close();
      const count = await countRecords(kind, make);
      assert.deepEqual(count, { messages: 1, deliveries: 3 });
      await r.start();
      for (const id of ['once-1', 'once-2', 'once-3']) {
        const s = await r.client({ ...persistent(id) });
        const got = s.got;
        await until(`${id}'s message`, () => got.length === 1);
        await delay(100); // the PUBACK reaches the broker
        await s.endAsync();
      }
      await r.current!.close();
      assert.deepEqual(await countRecords(kind, make), { messages: 0, deliveries: 0 });
      await r.start();
    });
  });
}

/** Messages and deliveries in the store, read as its files or its memory hold them. */
async function countRecords(kind: StoreKind, make: StoreFactory): Promise<{ messages: number; deliveries: number }> {
  if (kind.name === 'sqlite') {
    const db = new Database(join(make.dir!, STORE_FILE), { readonly: true });
    const messages = db.prepare('SELECT count(*) FROM messages').pluck().get() as number;
    const deliveries = db.prepare('SELECT count(*) FROM deliveries').pluck().get() as number;
    db.close();
    return { messages, deliveries };
  }
  const snap = await make().open();
  return { messages: snap.messages.size, deliveries: snap.sessions.reduce((n, s) => n + s.deliveries.length, 0) };
}
