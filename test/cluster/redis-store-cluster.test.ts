// The Redis store and session takeover on a Redis Cluster of three masters on loopback: a
// group commit spans many slots (one MULTI per slot), sessions read back, and a client
// taken over from node A to node B keeps its queued message.

import { strict as assert } from 'node:assert';
import { test, type TestContext } from 'node:test';
import { Cluster } from 'ioredis';
import { attachClusterSessions } from '../../src/cluster/sessions.js';
import { RedisStore, StoreKeys } from '../../src/store/index.js';
import { keySlot } from '../../src/store/redis/connect.js';
import type { Message } from '../../src/message.js';
import { RawClient, startBroker } from '../helpers/broker.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { findExecutable, have, start } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const redisCli = findExecutable('redis-cli', 'apt-get install redis-tools');

/** Three masters, slots spread by redis-cli; undefined when the tools are missing (skipped). */
async function redisCluster(t: TestContext): Promise<{ url: string; masters: TestRedis[] } | undefined> {
  if (!have(t, redisCli)) return undefined;
  const masters: TestRedis[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await startRedis(t, { args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'] });
    if (r === undefined) return undefined;
    masters.push(r);
  }
  const create = start(redisCli.path!, ['--cluster', 'create', ...masters.map((m) => `127.0.0.1:${m.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeoutMs: 30_000 });
  const exit = await create.exited;
  assert.equal(exit.code, 0, exit.stdout + exit.stderr);
  for (const m of masters) {
    await until(`cluster state ok on ${m.port}`, async () => {
      const info = start(redisCli.path!, ['-p', String(m.port), 'cluster', 'info'], { timeoutMs: 5000 });
      return /cluster_state:ok/.test((await info.exited).stdout);
    }, 20_000);
  }
  return { url: `redis-cluster://${masters.map((m) => `127.0.0.1:${m.port}`).join(',')}`, masters };
}

const message = (topic: string): Message => ({ topic, payload: Buffer.from(`payload of ${topic}`), qos: 1, retain: false });

test('Redis Cluster: one group commit over many slots, read back after reopening', async (t) => {
  const cluster = await redisCluster(t);
  if (cluster === undefined) return;
  const make = (): RedisStore => new RedisStore({ url: cluster.url, node: 'n' });
  const store = make();
  await store.open();
  const ids = Array.from({ length: 40 }, (_, i) => `client-${i}`);
  assert.ok(new Set(ids.map((id) => keySlot(store.keys.session(id)))).size > 30, 'the sessions spread over slots');
  store.putMessage(1, message('shared/1'));
  for (const [i, id] of ids.entries()) {
    store.putSession({ clientId: id, expiryInterval: 600 });
    store.putSubscription(id, { filter: `f/${i}`, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 });
    store.putDelivery(id, { seq: i + 1, packetId: 1, messageId: 1, qos: 1, retain: false, state: 'publish' });
    store.putWill(id, { message: message(`will/${i}`), delay: 0, protocolVersion: 5 });
  }
  store.putRetained({ ...message('r/1'), retain: true });
  await store.flush();
  await store.close();

  const again = make();
  const snap = await again.open();
  assert.deepEqual(snap.sessions.map((s) => s.clientId).sort(), [...ids].sort());
  for (const s of snap.sessions) {
    assert.equal(s.deliveries.length, 1);
    assert.equal(snap.messages.get(s.deliveries[0]!.messageId)?.topic, 'shared/1');
  }
  assert.equal(snap.messages.size, 1);
  assert.equal(snap.wills.size, 40);
  assert.deepEqual(snap.retained.map((m) => m.topic), ['r/1']);
  await again.close();
});

test('Redis Cluster: a session taken over from node A to node B keeps its queued message', async (t) => {
  const cluster = await redisCluster(t);
  if (cluster === undefined) return;
  const keys = new StoreKeys();
  const admin = new Cluster(cluster.masters.map((m) => ({ host: '127.0.0.1', port: m.port })));
  const nodes = [];
  const beats: NodeJS.Timeout[] = [];
  try {
    for (const name of ['A', 'B']) {
      await admin.set(keys.node(name), '1', 'PX', 2000);
      beats.push(setInterval(() => void admin.set(keys.node(name), '1', 'PX', 2000).catch(() => {}), 300));
      const b = await startBroker({ store: new RedisStore({ url: cluster.url, node: name }) });
      attachClusterSessions(b.broker, { deadNodeCheck: 0 });
      nodes.push(b);
    }
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const old = await RawClient.connect(a.port, { clientId: 'rc-mover', clean: false, properties: { sessionExpiryInterval: 600 } });
    old.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'rc/#', qos: 1 }] });
    await old.expect('suback');
    old.send({ type: 'disconnect', reasonCode: 0 });
    await old.closedByServer();
    a.broker.publish({ topic: 'rc/1', payload: Buffer.from('queued on A'), qos: 1, retain: false });
    await a.broker.durable();

    const moved = await RawClient.connect(b.port, { clientId: 'rc-mover', clean: false, properties: { sessionExpiryInterval: 600 } });
    const p = await moved.expect('publish');
    assert.equal(p.payload.toString(), 'queued on A');
    moved.send({ type: 'puback', packetId: p.packetId! });
    assert.equal(await admin.hget(keys.owner('rc-mover'), 'node'), 'B');
    assert.equal(a.broker.sessions.has('rc-mover'), false);
    moved.destroy();
  } finally {
    for (const beat of beats) clearInterval(beat);
    for (const n of nodes) await n.close();
    admin.disconnect();
  }
});
