// Fencing after a netsplit (src/cluster/fence.ts, src/store/redis/guard.ts): a member cut
// off from Redis (a TCP proxy between it and Redis, cut) longer than cluster.nodeTimeout
// disconnects its persistent clients before the others can find it dead, refuses CONNECTs
// while cut off, and once Redis answers again writes nothing over the sessions another
// member adopted meanwhile; the client id ends up connected once.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { clusterSessionsOf, type Fence } from '../../src/cluster/fence.js';
import { RedisStore, StoreKeys } from '../../src/store/index.js';
import type { ClusterBroker } from '../../src/cluster/index.js';
import type { ConnectPacket, Packet } from '../../src/codec/index.js';
import { RawClient } from '../helpers/broker.js';
import { startRedis } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { openStoreMember, type StoreMember } from './nodes.js';
import { until } from '../helpers/wait.js';

const HOUR = { sessionExpiryInterval: 3600 };
const keys = new StoreKeys();

type FenceMember = StoreMember & { readonly fence: Fence | undefined };

/** Members and raw clients of the running test: closed by it before its Redis stops (a store's close waits for Redis). */
const open: ClusterBroker[] = [];
async function closeAll(): Promise<void> {
  for (const c of raws.splice(0)) c.destroy();
  await Promise.all(open.splice(0).map((b) => b.close()));
}

/** A member on `redisUrl` (maybe a proxy), closed by the test before its Redis stops. */
async function storeMember(redisUrl: string, name: string, deadNodeCheck: number): Promise<FenceMember> {
  const m = await openStoreMember(redisUrl, name, { takeoverTimeout: 1000, deadNodeCheck });
  open.push(m.broker);
  return { ...m, fence: clusterSessionsOf(m.broker)?.fence };
}

const raws: RawClient[] = [];
function track(c: RawClient): RawClient {
  raws.push(c);
  return c;
}

/** CONNECT on `port`; the CONNACK (accepted or not). */
async function connect(port: number, connect: Partial<ConnectPacket>): Promise<{ client: RawClient; ack: Extract<Packet, { type: 'connack' }> }> {
  const client = track(await RawClient.open(port));
  client.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId: 'x', ...connect });
  return { client, ack: await client.expect('connack', 5000) };
}

/** Reconnects as a real client does after 0x9C: until a member accepts it. */
async function reconnect(port: number, connectPacket: Partial<ConnectPacket>): Promise<{ client: RawClient; ack: Extract<Packet, { type: 'connack' }> }> {
  let last: { client: RawClient; ack: Extract<Packet, { type: 'connack' }> } | undefined;
  await until(
    'a member accepts the client',
    async () => {
      last = await connect(port, connectPacket);
      if (last.ack.reasonCode === 0) return true;
      last.client.destroy();
      return false;
    },
    20_000,
  );
  return last!;
}

test('cluster fencing 1: a member cut off from Redis disconnects its persistent client (0x9C) before the others find it dead; the client resumes on another member; once back, the fenced member writes nothing over the adopted session and the client id is connected once', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const admin = new Redis(redis.url);
  t.after(() => admin.disconnect());
  const proxy = await startTcpProxy(t, redis.port);
  try {
    await netsplit(redis.url, admin, proxy);
  } finally {
    proxy.restore();
    await closeAll();
  }
});

async function netsplit(redisUrl: string, admin: Redis, proxy: TcpProxy): Promise<void> {
  const a = await storeMember(proxy.url, 'fa', 200);
  const b = await storeMember(redisUrl, 'fb', 200);
  assert.ok(a.fence !== undefined);

  const sub = (await connect(a.port, { clientId: 'f-sub', properties: HOUR })).client;
  sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'f/#', qos: 1 }] });
  await sub.expect('suback');
  assert.equal(await admin.hget(keys.owner('f-sub'), 'node'), 'fa');

  proxy.cut();
  const cutAt = Date.now();
  const bye = await sub.expect('disconnect', 5000);
  const fencedAfter = Date.now() - cutAt;
  assert.equal(bye.reasonCode, 0x9c);
  await sub.closedByServer();
  assert.equal(a.fence.fenced, true);
  // Fenced before its membership key could run out (nodeTimeout 1500 ms from its last renewal).
  assert.ok(fencedAfter < 1500, `fenced ${fencedAfter} ms after the cut`);

  // While fenced: CONNECTs are refused at once, with 0x9C.
  const refused = await connect(a.port, { clientId: 'f-other', clean: true });
  assert.equal(refused.ack.reasonCode, 0x9c);
  assert.equal(a.fence.stats.connectsRefused, 1);

  // On A, cut off: a message for the session A held (its copy there is stale now), so that
  // A queues records of that session for Redis.
  a.broker.publish({ topic: 'f/stale', payload: Buffer.from('stale'), qos: 1, retain: false });

  // The client goes to B, which takes the session (once A is found dead, from Redis).
  const moved = await reconnect(b.port, { clientId: 'f-sub', properties: HOUR });
  assert.equal(moved.ack.sessionPresent, true);
  const again = moved.client;
  assert.equal(await admin.hget(keys.owner('f-sub'), 'node'), 'fb');
  b.broker.publish({ topic: 'f/on-b', payload: Buffer.from('on B'), qos: 1, retain: false });
  const p1 = await again.expect('publish', 5000);
  assert.equal(p1.payload.toString(), 'on B');
  again.send({ type: 'puback', packetId: p1.packetId! });
  // B's record of the PUBACK is in Redis: the session record is B's, settled.
  const before = await until('B recorded the PUBACK', async () => {
    const h = await admin.hgetall(keys.session('f-sub'));
    return Object.keys(h).some((f) => f.startsWith('d:')) ? undefined : h;
  });

  // The cut heals: A's queued commits reach Redis and are refused; A drops its stale copy.
  proxy.restore();
  await until('A rejoined', () => !a.fence!.fenced && a.broker.cluster.state === 'connected', 15_000);
  await a.store.flush();
  assert.ok(a.store.stats.refusedWrites >= 1, 'the stale writes were refused');
  assert.equal(a.fence.stats.sessionsDropped, 1);
  assert.equal(a.broker.sessions.has('f-sub'), false);
  assert.equal(await admin.hget(keys.owner('f-sub'), 'node'), 'fb');
  assert.deepEqual(await admin.hgetall(keys.session('f-sub')), before, "B's session record is as B left it");
  for (const [field, value] of Object.entries(before)) {
    if (field.startsWith('d:')) assert.ok(!(JSON.parse(value) as { ns: string }).ns.startsWith('fa/'), 'no delivery written by A');
  }

  // Connected once, on B, and it goes on there: nothing of A's stale message, B's next one arrives.
  assert.equal(a.broker.sessions.clients.has('f-sub'), false);
  assert.equal(b.broker.sessions.clients.has('f-sub'), true);
  b.broker.publish({ topic: 'f/after', payload: Buffer.from('after'), qos: 1, retain: false });
  const p2 = await again.expect('publish', 5000);
  assert.equal(p2.payload.toString(), 'after');
  again.send({ type: 'puback', packetId: p2.packetId! });

  // A takes CONNECTs again.
  const back = await connect(a.port, { clientId: 'f-later', clean: true });
  assert.equal(back.ack.reasonCode, 0);
}

/** A Redis store of node g1 with its writes guarded by owner records, and an admin connection to its Redis. */
async function guardedStore(t: TestContext): Promise<{ admin: Redis; store: RedisStore } | undefined> {
  const redis = await startRedis(t);
  if (redis === undefined) return undefined;
  const admin = new Redis(redis.url);
  t.after(() => admin.disconnect());
  const store = new RedisStore({ url: redis.url, node: 'g1' });
  await store.open();
  t.after(() => store.close());
  store.guardOwners = true;
  return { admin, store };
}

test('cluster fencing 2: the Redis store writes a session and will only while its owner record names this node or nobody', async (t) => {
  const opened = await guardedStore(t);
  if (opened === undefined) return;
  const { admin, store } = opened;
  await admin.hset(keys.owner('g-theirs'), 'node', 'g2', 'epoch', '7');
  await admin.hset(keys.owner('g-mine'), 'node', 'g1', 'epoch', '3');
  for (const id of ['g-theirs', 'g-mine', 'g-nobody']) {
    store.putSession({ clientId: id, expiryInterval: 60 });
    store.putSubscription(id, { filter: 'g/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 });
    store.putWill(id, { message: { topic: 'g/will', payload: Buffer.from('w'), qos: 0, retain: false }, delay: 0, protocolVersion: 5 });
  }
  await store.flush();
  assert.equal(await admin.exists(keys.session('g-theirs'), keys.will('g-theirs')), 0, 'nothing written for a client id another node owns');
  assert.equal(await admin.exists(keys.session('g-mine'), keys.will('g-mine')), 2);
  assert.equal(await admin.exists(keys.session('g-nobody'), keys.will('g-nobody')), 2);
  assert.equal(store.stats.refusedWrites, 1);
  assert.deepEqual(await admin.hgetall(keys.owner('g-theirs')), { node: 'g2', epoch: '7' });
});

test('cluster fencing 2b: a guarded commit as large as a session handed over with 60,000 queued messages is written whole', { timeout: 60_000 }, async (t) => {
  const opened = await guardedStore(t);
  if (opened === undefined) return;
  const { admin, store } = opened;
  await admin.hset(store.keys.owner('g-big'), 'node', 'g1', 'epoch', '1');
  const messages = new Map<number, { topic: string; payload: Buffer; qos: 1; retain: false }>();
  const deliveries = [];
  // Each delivery is two fields with its message inline: some 600,000 script arguments.
  for (let i = 1; i <= 60_000; i++) {
    messages.set(i, { topic: 'g/big', payload: Buffer.from(`m${i}`), qos: 1, retain: false });
    deliveries.push({ seq: i, packetId: i, messageId: i, qos: 1 as const, retain: false, state: 'publish' as const });
  }
  store.handOver({ clientId: 'g-big', expiryInterval: 60, subscriptions: [], inboundQos2: [], deliveries }, messages);
  await store.flush();
  assert.equal(await admin.hlen(store.keys.session('g-big')), 1 + 2 * 60_000);
});

test('cluster fencing 3: a fenced member whose sessions nobody took keeps them, and takes CONNECTs again once Redis answers', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const proxy = await startTcpProxy(t, redis.port);
  try {
    await noAdopter(redis.url, proxy);
  } finally {
    proxy.restore();
    await closeAll();
  }
});

async function noAdopter(redisUrl: string, proxy: TcpProxy): Promise<void> {
  // No survivor looks for dead nodes: A's sessions stay A's through the cut.
  const a = await storeMember(proxy.url, 'ka', 0);
  await storeMember(redisUrl, 'kb', 0);
  const sub = (await connect(a.port, { clientId: 'k-sub', properties: HOUR })).client;
  sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'k/#', qos: 1 }] });
  await sub.expect('suback');

  proxy.cut();
  assert.equal((await sub.expect('disconnect', 5000)).reasonCode, 0x9c);
  a.broker.publish({ topic: 'k/during', payload: Buffer.from('during'), qos: 1, retain: false });
  proxy.restore();
  await until('A rejoined', () => !a.fence!.fenced, 15_000);
  assert.equal(a.fence!.stats.sessionsDropped, 0);
  assert.equal(a.store.stats.refusedWrites, 0);

  const back = await connect(a.port, { clientId: 'k-sub', properties: HOUR });
  assert.equal(back.ack.reasonCode, 0);
  assert.equal(back.ack.sessionPresent, true);
  const p = await back.client.expect('publish', 5000);
  assert.equal(p.payload.toString(), 'during');
}
