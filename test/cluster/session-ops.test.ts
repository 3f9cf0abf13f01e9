// Cluster sessions seen by operations (src/cluster/session-ops.ts): their counters on
// /metrics and $SYS after a takeover; and their settings as config keys
// (persistence.deadNodeCheck, willsLockTtl, runGrace, cluster.fence) taking effect.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { attachClusterSessions, clusterSessionsOptions } from '../../src/cluster/sessions.js';
import { clusterSessionsOf } from '../../src/cluster/fence.js';
import { createBroker, createOpsServer, type BrokerOptions } from '../../src/index.js';
import { SysTopics } from '../../src/ops/index.js';
import { createStore, StoreKeys } from '../../src/store/index.js';
import { loadConfig, toBrokerOptions } from '../../src/config/index.js';
import type { ClusterBroker } from '../../src/cluster/index.js';
import { startRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { storeMember } from './nodes.js';

test('cluster sessions metrics: after a takeover from A to B, /metrics and $SYS count it on both', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await storeMember(t, redis.url, 'ma');
  const b = await storeMember(t, redis.url, 'mb');
  const ops = createOpsServer(b.broker, { sysInterval: 0, http: { port: 0 } });
  try {
    await ops.start();
    const options = { clientId: 'm-mover', reconnectPeriod: 0, protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await mqtt.connectAsync(a.url, options);
    await first.subscribeAsync('m/#', { qos: 1 });
    const second = await mqtt.connectAsync(b.url, options);
    assert.equal(second.connected, true);
    await until('the old connection closed', () => !first.connected);
    await second.endAsync(true);
    first.end(true);

    const metrics = await (await fetch(`http://127.0.0.1:${ops.address!.port}/metrics`)).text();
    assert.match(metrics, /^starling_cluster_sessions_taken_total\{from="live"\} 1$/m);
    assert.match(metrics, /^starling_cluster_sessions_taken_total\{from="dead"\} 0$/m);
    assert.match(metrics, /^starling_cluster_sessions_given_away_total 0$/m);
    assert.match(metrics, /^starling_cluster_sessions_adopted_from_dead_total 0$/m);
    assert.match(metrics, /^starling_cluster_dead_wills_published_total 0$/m);
    assert.match(metrics, /^starling_cluster_connects_refused_total 0$/m);
    assert.match(metrics, /^starling_cluster_owner_records_dropped_total 0$/m);
    assert.match(metrics, /^starling_cluster_session_writes_refused_total 0$/m);
    assert.match(metrics, /^starling_cluster_fenced 0$/m);
    assert.match(metrics, /^starling_cluster_fences_total 0$/m);
    const sysB = new SysTopics(b.broker, 0, 'test').values();
    assert.equal(sysB['$SYS/broker/cluster/sessions/taken/live'], '1');
    assert.equal(sysB['$SYS/broker/cluster/fence/fenced'], '0');
    const sysA = new SysTopics(a.broker, 0, 'test').values();
    assert.equal(sysA['$SYS/broker/cluster/sessions/given'], '1');
    assert.equal(sysA['$SYS/broker/cluster/sessions/taken/live'], '0');
  } finally {
    await ops.close();
  }
});

test('cluster sessions metrics: a QoS 1 message published on the old member after a takeover reaches the moved session once; the copy its ghost passed on is counted as a duplicate', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await storeMember(t, redis.url, 'ga');
  const b = await storeMember(t, redis.url, 'gb');
  const options = { clientId: 'g-mover', reconnectPeriod: 0, protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 } };
  const first = await mqtt.connectAsync(a.url, options);
  await first.subscribeAsync('g/#', { qos: 1 });
  const second = await mqtt.connectAsync(b.url, options);
  t.after(() => second.endAsync(true));
  const got: string[] = [];
  second.on('message', (_topic, payload) => got.push(String(payload)));
  await until('the old connection closed', () => !first.connected);
  first.end(true);
  await until('A has B\'s route', () => a.broker.cluster.router.remoteRoutes >= 1);
  const pub = await mqtt.connectAsync(a.url, { clientId: 'g-pub', reconnectPeriod: 0 });
  t.after(() => pub.endAsync(true));
  await pub.publishAsync('g/1', 'once', { qos: 1 });
  const handover = clusterSessionsOf(b.broker)!.sessions.handoverStats;
  await until('the passed-on copy seen on B', () => handover.received === 1);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(got, ['once']);
  const ops = createOpsServer(b.broker, { sysInterval: 0, http: { port: 0 } });
  await ops.start();
  t.after(() => ops.close());
  const metrics = await (await fetch(`http://127.0.0.1:${ops.address!.port}/metrics`)).text();
  assert.match(metrics, /^starling_cluster_handover_records_total\{outcome="duplicate"\} 1$/m);
  assert.match(metrics, /^starling_cluster_handover_records_total\{outcome="delivered"\} 0$/m);
  assert.equal(new SysTopics(b.broker, 0, 'test').values()['$SYS/broker/cluster/sessions/handover/duplicates'], '1');
});

test('cluster sessions config keys: persistence.willsLockTtl, deadNodeCheck and runGrace, and cluster.fence, take effect', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const admin = new Redis(redis.url);
  t.after(() => admin.disconnect());
  const keys = new StoreKeys();
  const setup = toBrokerOptions(
    loadConfig({
      env: {},
      text: '',
      flags: {
        set: [
          'persistence.store=redis',
          `cluster.redis=${redis.url}`,
          'cluster.node=ck',
          'cluster.heartbeatInterval=200',
          'cluster.nodeTimeout=1500',
          'cluster.fence=false',
          'persistence.deadNodeCheck=100',
          'persistence.willsLockTtl=90000',
          'persistence.runGrace=1000',
        ],
      },
    }).config,
  );
  assert.deepEqual(clusterSessionsOptions(setup.persistence), { takeoverTimeout: 5000, deadNodeCheck: 100, willsLockTtl: 90_000 });

  // runGrace: an earlier run of this node, retired 5 s ago, is deleted at start-up (default: kept 10 minutes).
  await admin.hset(keys.runs('ck'), 'ck/old', String(Date.now() - 5000));
  await admin.hset(keys.messages('ck/old'), '1', 'x');
  // A dead node with a session: the member adopts it, holding the wills lock for willsLockTtl.
  await admin.sadd(keys.nodes, 'ghost');
  await admin.sadd(keys.nodeSessions('ghost'), 'ghost-client');
  await admin.hset(keys.owner('ghost-client'), 'node', 'ghost', 'epoch', '1');
  await admin.hset(keys.session('ghost-client'), 's', JSON.stringify({ clientId: 'ghost-client', expiryInterval: 3600 }));

  const options: BrokerOptions = { ...setup.options, logLevel: false, listeners: [{ port: 0, host: '127.0.0.1' }], store: createStore(setup.persistence) };
  const broker = createBroker(options) as ClusterBroker;
  attachClusterSessions(broker, clusterSessionsOptions(setup.persistence));
  try {
    await broker.listen();
    assert.equal(await admin.exists(keys.messages('ck/old')), 0, 'runGrace: the old run was deleted');
    await until('the dead node\'s session adopted', async () => (await admin.hget(keys.owner('ghost-client'), 'node')) === 'ck', 10_000);
    const ttl = await admin.pttl(keys.willsLock('ghost'));
    assert.ok(ttl > 30_000 && ttl <= 90_000, `wills lock TTL ${ttl} ms`);
    assert.equal(clusterSessionsOf(broker)?.fence, undefined, 'cluster.fence=false: no fence');
  } finally {
    await broker.close();
  }
});
