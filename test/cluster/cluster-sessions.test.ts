// Cluster sessions with brokers in this process sharing one real Redis: a client id taken
// over from node A to node B with its queued and in-flight messages, the same client id on
// two nodes at once, and a dead node's wills published once. Node liveness is the
// membership's heartbeat key; here the test sets it (with a TTL) for each node it runs.

import { strict as assert } from 'node:assert';
import { describe, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { attachClusterSessions, type ClusterSessions } from '../../src/cluster/sessions.js';
import { RedisStore, StoreKeys } from '../../src/store/index.js';
import { RawClient, startBroker, type TestBroker } from '../helpers/broker.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import type { Packet } from '../../src/codec/index.js';

interface Node {
  name: string;
  broker: TestBroker;
  sessions: ClusterSessions;
  store: RedisStore;
  /** Stops its heartbeat: it looks dead once the key expires. */
  stopHeartbeat(): Promise<void>;
}

class Cluster {
  readonly keys: StoreKeys;
  readonly admin: Redis;
  private readonly nodes: Node[] = [];
  private readonly clients: RawClient[] = [];

  constructor(readonly redis: TestRedis, readonly prefix: string) {
    this.keys = new StoreKeys(prefix);
    this.admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  }

  async node(name: string, deadNodeCheck = 0): Promise<Node> {
    const store = new RedisStore({ url: this.redis.url, node: name, prefix: this.prefix });
    await this.admin.set(this.keys.node(name), '1', 'PX', 1500);
    await this.admin.sadd(this.keys.nodes, name);
    const beat = setInterval(() => void this.admin.set(this.keys.node(name), '1', 'PX', 1500).catch(() => {}), 300);
    const broker = await startBroker({ store, limits: { maxInflight: 65_535 } });
    // Attached before any client connects (listen() only opened the store).
    const sessions = attachClusterSessions(broker.broker, { takeoverTimeout: 3000, deadNodeCheck })!;
    const node: Node = {
      name,
      broker,
      sessions,
      store,
      stopHeartbeat: async () => {
        clearInterval(beat);
        await this.admin.del(this.keys.node(name));
      },
    };
    this.nodes.push(node);
    return node;
  }

  async raw(node: Node, connect: Parameters<typeof RawClient.connect>[1]): Promise<RawClient> {
    const c = await RawClient.connect(node.broker.port, connect);
    this.clients.push(c);
    return c;
  }

  track(c: RawClient): RawClient {
    this.clients.push(c);
    return c;
  }

  private ended = false;

  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    for (const c of this.clients) c.destroy();
    for (const n of this.nodes) {
      await n.stopHeartbeat();
      await n.broker.close().catch(() => {});
    }
    this.admin.disconnect();
  }
}

let prefixes = 0;
async function cluster(t: TestContext): Promise<Cluster | undefined> {
  const redis = await startRedis(t);
  if (redis === undefined) return undefined;
  // Ended before the Redis stops (its own after-hook was registered first).
  const c = new Cluster(redis, `cs${++prefixes}:`);
  const stop = redis.stop.bind(redis);
  (redis as { stop: TestRedis['stop'] }).stop = async (signal) => {
    await c.end();
    await stop(signal);
  };
  return c;
}

const HOUR = { sessionExpiryInterval: 3600 };
const text = (p: Packet): string => (p.type === 'publish' ? p.payload.toString() : p.type);

describe('cluster sessions', () => {
  test('session takeover from A to B: queued messages follow, an in-flight QoS 2 resumes with PUBREL, the old connection gets 0x8E', async (t) => {
    const c = await cluster(t);
    if (c === undefined) return;
    const a = await c.node('A');
    const b = await c.node('B');

    // On A: a persistent subscriber with a window of one message.
    const old = await c.raw(a, { clientId: 'mover', clean: false, properties: { ...HOUR, receiveMaximum: 1 } });
    old.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'move/#', qos: 2 }] });
    await old.expect('suback');
    a.broker.broker.publish({ topic: 'move/1', payload: Buffer.from('q2'), qos: 2, retain: false });
    a.broker.broker.publish({ topic: 'move/2', payload: Buffer.from('q1-a'), qos: 1, retain: false });
    a.broker.broker.publish({ topic: 'move/3', payload: Buffer.from('q1-b'), qos: 1, retain: false });
    const first = await old.expect('publish');
    assert.equal(first.payload.toString(), 'q2');
    old.send({ type: 'pubrec', packetId: first.packetId! });
    const pubrel = await old.expect('pubrel');
    assert.equal(pubrel.packetId, first.packetId);
    // No PUBCOMP: the QoS 2 delivery stays in flight (PUBREL owed), the two QoS 1 queued.
    await old.silent(100);

    const again = c.track(await RawClient.open(b.broker.port));
    again.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId: 'mover', properties: HOUR });
    const ack = await again.expect('connack', 5000);
    assert.equal(ack.reasonCode, 0);
    assert.equal(ack.sessionPresent, true);

    const bye = await old.expect('disconnect');
    assert.equal(bye.reasonCode, 0x8e);
    await old.closedByServer();

    // [MQTT-4.4.0-1] the PUBREL goes again first, then the queue in order.
    const resumed = await again.expect('pubrel');
    assert.equal(resumed.packetId, first.packetId);
    again.send({ type: 'pubcomp', packetId: resumed.packetId });
    const got: string[] = [];
    for (let i = 0; i < 2; i++) {
      const p = await again.expect('publish');
      assert.equal(p.qos, 1);
      got.push(p.payload.toString());
      again.send({ type: 'puback', packetId: p.packetId! });
    }
    assert.deepEqual(got, ['q1-a', 'q1-b']);

    // The subscription moved with the session: a publish on B reaches it, none on A does.
    b.broker.broker.publish({ topic: 'move/4', payload: Buffer.from('on B'), qos: 1, retain: false });
    const p4 = await again.expect('publish');
    assert.equal(text(p4), 'on B');
    again.send({ type: 'puback', packetId: p4.packetId! });
    assert.equal(a.broker.broker.publish({ topic: 'move/5', payload: Buffer.from('on A'), qos: 1, retain: false }), 0);

    assert.equal(a.broker.broker.sessions.has('mover'), false);
    assert.equal(b.broker.broker.sessions.get('mover')?.subscriptions.has('move/#'), true);
    assert.equal(await c.admin.hget(c.keys.owner('mover'), 'node'), 'B');
    assert.equal(b.sessions.stats.takenFromLive, 1);
    assert.equal(a.sessions.stats.givenAway, 1);
    // Nothing of the session is left in A's index; A's messages were carried over.
    assert.equal(await c.admin.sismember(c.keys.nodeSessions('A'), 'mover'), 0);
    assert.equal(await c.admin.sismember(c.keys.nodeSessions('B'), 'mover'), 1);
  });

  test('the same client id connecting to two nodes at once ends with one connection', async (t) => {
    const c = await cluster(t);
    if (c === undefined) return;
    const a = await c.node('A');
    const b = await c.node('B');
    for (let round = 0; round < 5; round++) {
      const id = `twice-${round}`;
      const ca: RawClient = c.track(await RawClient.open(a.broker.port));
      const cb: RawClient = c.track(await RawClient.open(b.broker.port));
      const connect = { type: 'connect' as const, protocolName: 'MQTT' as const, protocolVersion: 5 as const, clean: round % 2 === 0, keepalive: 0, clientId: id, properties: HOUR };
      ca.send(connect);
      cb.send(connect);
      // Each ends either connected or closed (taken over, or refused while contended).
      await until(`round ${round}: both settled`, () => settled(ca) && settled(cb), 10_000);
      await until(`round ${round}: one holder`, async () => holders(id) === 1, 5000);
      const open: RawClient[] = [ca, cb].filter((x) => !x.closed);
      assert.equal(open.length, 1, `round ${round}: one connection open`);
      const winner: Node = open[0] === ca ? a : b;
      assert.equal(await c.admin.hget(c.keys.owner(id), 'node'), winner.name, `round ${round}: Redis names the node that holds it`);
      // The loser was told why (0x8E), unless it was refused before its CONNACK.
      const loser = open[0] === ca ? cb : ca;
      const last = loser.packets.at(-1);
      assert.ok(last?.type === 'disconnect' ? last.reasonCode === 0x8e : last?.type === 'connack' && last.reasonCode !== 0, `round ${round}: ${JSON.stringify(last?.type)}`);
    }

    function settled(x: RawClient): boolean {
      return x.closed || x.packets.some((p) => p.type === 'connack');
    }
    function holders(id: string): number {
      return [a, b].filter((n) => n.broker.broker.clients.has(id)).length;
    }
  });

  test('MQTT.js: a persistent client moves from A to B, the one on A is closed, and the message unacknowledged on A arrives on B', async (t) => {
    const c = await cluster(t);
    if (c === undefined) return;
    const a = await c.node('A');
    const b = await c.node('B');
    const options = { clientId: 'mqttjs-mover', clean: false, protocolVersion: 5 as const, reconnectPeriod: 0, connectTimeout: 5000, properties: HOUR };
    const first = await mqtt.connectAsync(a.broker.url, options);
    t.after(() => first.end(true));
    await first.subscribeAsync('mqttjs/#', { qos: 1 });
    const kicked = new Promise<void>((resolve) => first.once('close', () => resolve()));
    // Unacknowledged on A: MQTT.js acknowledges once handleMessage calls back, which this one
    // never does (it also holds back the packets after it, so the DISCONNECT 0x8E is not read:
    // the raw client test checks the reason code).
    first.handleMessage = () => {};
    a.broker.broker.publish({ topic: 'mqttjs/1', payload: Buffer.from('from A'), qos: 1, retain: false });
    await until('the message to reach the client on A', () => a.broker.broker.sessions.get('mqttjs-mover')!.inflight.size === 1, 5000);

    const moved = mqtt.connect(b.broker.url, options);
    t.after(() => moved.end(true));
    const got = new Promise<string>((resolve) => moved.on('message', (_topic, payload) => resolve(payload.toString())));
    const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
      moved.once('connect', resolve);
      moved.once('error', reject);
    });
    assert.equal(connack.sessionPresent, true);
    assert.equal(await got, 'from A');
    await kicked;
    assert.equal(a.broker.broker.sessions.has('mqttjs-mover'), false);
  });

  test("a session that ends takes its client id's owner record with it; a persistent one keeps it", async (t) => {
    const c = await cluster(t);
    if (c === undefined) return;
    const a = await c.node('A');
    const brief = await c.raw(a, { clientId: 'brief' });
    const stays = await c.raw(a, { clientId: 'stays', clean: false, properties: HOUR });
    assert.equal(await c.admin.hget(c.keys.owner('brief'), 'node'), 'A');
    brief.send({ type: 'disconnect', reasonCode: 0 });
    stays.send({ type: 'disconnect', reasonCode: 0 });
    await until('the clean session to let its owner record go', async () => (await c.admin.exists(c.keys.owner('brief'))) === 0, 5000);
    assert.equal(await c.admin.hget(c.keys.owner('stays'), 'node'), 'A');
    assert.equal(a.sessions.stats.ownersDropped, 1);
  });

  test('a dead node: its persistent client resumes on another node, and its wills are published once by one survivor', async (t) => {
    const c = await cluster(t);
    if (c === undefined) return;
    const a = await c.node('A');
    const b = await c.node('B');
    const d = await c.node('D');

    // Watchers of the wills on both survivors: a will goes out where it is published.
    const watchers = await Promise.all([b, d].map(async (n) => {
      const w = await c.raw(n, { clientId: `watch-${n.name}` });
      w.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'will/#', qos: 1 }] });
      await w.expect('suback');
      return w;
    }));
    // On A: a client with a will and no session, and a persistent one with a will and a queue.
    await c.raw(a, { clientId: 'plain', will: { topic: 'will/plain', payload: Buffer.from('plain gone'), qos: 1, retain: false } });
    const p2 = await c.raw(a, { clientId: 'keeper', clean: false, properties: HOUR, will: { topic: 'will/keeper', payload: Buffer.from('keeper gone'), qos: 1, retain: false } });
    p2.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'keep/#', qos: 1 }] });
    await p2.expect('suback');
    a.broker.broker.publish({ topic: 'keep/1', payload: Buffer.from('kept'), qos: 1, retain: false });
    const kept = await p2.expect('publish');
    assert.equal(kept.payload.toString(), 'kept'); // not acknowledged: it is owed again
    await a.broker.broker.durable();

    // A dies: no heartbeat, no more writes to Redis, nothing it does is seen any more.
    await a.stopHeartbeat();
    await a.sessions.stop();
    a.store.redis.disconnect();

    // Both survivors try at once; one gets the lock.
    const published = await Promise.all([b.sessions.publishWillsOf('A'), d.sessions.publishWillsOf('A')]);
    assert.equal(published[0]! + published[1]!, 2, `wills published: ${published}`);
    assert.ok(published.includes(0), 'one survivor published them all');
    const wills: string[] = [];
    for (const w of watchers) {
      for (;;) {
        const got = await w.next(500).catch(() => undefined);
        if (got === undefined) break;
        if (got.type === 'publish') wills.push(got.topic);
      }
    }
    assert.deepEqual(wills.sort(), ['will/keeper', 'will/plain']);
    // Running it again publishes nothing more.
    assert.equal(await b.sessions.publishWillsOf('A'), 0);
    assert.equal(await c.admin.scard(c.keys.nodeSessions('A')), 0);

    // The persistent client comes back on B: its session and the unacknowledged message are there.
    const back = await c.raw(b, { clientId: 'keeper', clean: false, properties: HOUR });
    const owed = await back.expect('publish');
    assert.equal(owed.payload.toString(), 'kept');
    assert.equal(owed.dup, true);
    back.send({ type: 'puback', packetId: owed.packetId! });
    b.broker.broker.publish({ topic: 'keep/2', payload: Buffer.from('after'), qos: 1, retain: false });
    assert.equal(text(await back.expect('publish')), 'after');
  });

  test("a dead node's messages stay while a live node that took one of its sessions has not recorded it as its own; then they go", async (t) => {
    const c = await cluster(t);
    if (c === undefined) return;
    const a = await c.node('A');
    const b = await c.node('B');
    // D sweeps for dead nodes every 100 ms, as members do (every 2 s by default).
    const d = await c.node('D', 100);
    const held = await c.raw(a, { clientId: 'held', clean: false, properties: HOUR });
    held.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'keep/#', qos: 2 }] });
    await held.expect('suback');
    a.broker.broker.publish({ topic: 'keep/1', payload: Buffer.from('in flight'), qos: 2, retain: false });
    assert.equal(text(await held.expect('publish')), 'in flight'); // not acknowledged: owed again
    await a.broker.broker.durable();
    const messagesOfA = async (): Promise<number> => {
      let n = 0;
      for (const ns of await c.admin.hkeys(c.keys.runs('A'))) n += await c.admin.hlen(c.keys.messages(ns));
      return n;
    };
    assert.equal(await messagesOfA(), 1);

    // B claims 'held' (its client reconnected there) and is still reading it: the owner
    // record names B, A's index still lists the session. Then A dies (claimed first, so that
    // D's sweep cannot take the session itself in between).
    const owner = c.keys.owner('held');
    const epoch = Number(await c.admin.hget(owner, 'epoch'));
    await c.admin.hset(owner, 'node', 'B', 'epoch', String(epoch + 1));
    await a.stopHeartbeat();
    await a.sessions.stop();
    a.store.redis.disconnect();

    // D's sweep finds A dead and publishes its wills: the session is B's to take out of A's
    // index, and A's messages stay for B to read.
    await d.sessions.publishWillsOf('A');
    await new Promise((r) => setTimeout(r, 500)); // several sweeps of D
    assert.deepEqual(await c.admin.smembers(c.keys.nodeSessions('A')), ['held']);
    assert.equal(await messagesOfA(), 1, "A's message is still there");
    const loaded = await b.store.loadSession('held');
    assert.equal(loaded.session?.deliveries.length, 1, 'B reads the delivery and its message');
    assert.equal(loaded.messages.get(loaded.session!.deliveries[0]!.messageId)?.payload.toString(), 'in flight');

    // B records it as its own (the commit of a takeover takes it out of A's index): A's
    // messages are named by nobody now, and D's sweep deletes them.
    b.store.unindex('A', 'held');
    await b.store.flush();
    await until("A's messages to be deleted", async () => (await messagesOfA()) === 0 && (await c.admin.exists(c.keys.runs('A'))) === 0, 5000);
  });

  test('a forward that reached a session moved here by another way first (a dead node\'s inbox) is not delivered to it again when it comes through this node\'s own inbox', async (t) => {
    const c = await cluster(t);
    if (c === undefined) return;
    const a = await c.node('A');
    const b = await c.node('B');
    // 'moved' has its session on A; A dies; it reconnects to B, which takes it from dead A.
    const first = await c.raw(a, { clientId: 'moved', clean: false, properties: HOUR });
    first.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'twice/#', qos: 2 }] });
    await first.expect('suback');
    first.destroy();
    await a.broker.broker.durable();
    await a.stopHeartbeat();
    await a.sessions.stop();
    a.store.redis.disconnect();
    const moved = await c.raw(b, { clientId: 'moved', clean: false, properties: HOUR });
    const other = await c.raw(b, { clientId: 'other', clean: false, properties: HOUR });
    other.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'twice/#', qos: 2 }] });
    await other.expect('suback');

    // Forward 'f1' reached 'moved' from A's inbox (what deliverDeadInbox notes), then the same
    // message comes through B's own inbox (what the router hands to forwardFilter): 'other'
    // gets it, 'moved' does not get it again. Forward 'f2' reached nobody before: both get it.
    b.sessions.noteCopy('moved', 'f1');
    const deliver = (text: string) => () => b.broker.broker.publish({ topic: 'twice/1', payload: Buffer.from(text), qos: 2, retain: false });
    assert.equal(b.sessions.copies.copied('f1'), true);
    assert.equal(b.sessions.copies.copied('f2'), false);
    assert.equal(b.sessions.copies.deliver('f1', deliver('f1')), 1);
    assert.equal(b.sessions.copies.deliver('f2', deliver('f2')), 2);
    assert.equal(text(await other.expect('publish')), 'f1');
    assert.equal(text(await other.expect('publish')), 'f2');
    assert.equal(text(await moved.expect('publish')), 'f2');
    assert.equal(await moved.next(300).catch(() => undefined), undefined, 'nothing more for moved');
    // The broker's own delivery check is back once the forward is delivered.
    assert.equal(b.broker.broker.hooks.deliveryCheck, undefined);
  });
});
