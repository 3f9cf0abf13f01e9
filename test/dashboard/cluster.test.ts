// The overview's cluster panel, server side: a cluster member's sample stream carries the
// node, its Redis state, every node it knows with its routes, and the cluster totals; a
// standalone broker's carries none. Two members on one test Redis, each with its dashboard.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import type { ClusterSample } from '../../src/ops/dashboard/cluster.js';
import { startRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { login, readEvents, startDashboard, type DashboardBroker } from './helpers.js';

type S = { clients: number; cluster?: ClusterSample };

async function samples(d: DashboardBroker, until: (s: S) => boolean, ms = 10_000): Promise<S> {
  const s = await login(d.base);
  const stream = await fetch(`${d.base}/dashboard/stream`, { headers: { cookie: s.cookie } });
  assert.equal(stream.status, 200);
  return (await readEvents<S>(stream, (_, x) => until(x), ms)).at(-1)!.data;
}

const fast = { heartbeatInterval: 200, nodeTimeout: 1500 };

test('dash3 1: a cluster member\'s sample has the node, Redis state and RTT, each node alive with its routes, and the totals; a standalone broker\'s has no cluster', async (t) => {
  const standalone = await startDashboard();
  t.after(() => standalone.close());
  const plain = await samples(standalone, () => true);
  assert.equal('cluster' in plain, false);

  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await startDashboard({}, { cluster: { redis: redis.url, node: 'a', ...fast } });
  t.after(() => a.close());
  const b = await startDashboard({}, { cluster: { redis: redis.url, node: 'b', ...fast } });
  let bOpen = true;
  t.after(() => (bOpen ? b.close() : undefined));

  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.mqttPort}`, { clientId: 'c-sub', reconnectPeriod: 0 });
  t.after(() => sub.endAsync());
  await sub.subscribeAsync('c/#', { qos: 1 });
  const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${a.mqttPort}`, { clientId: 'c-pub', reconnectPeriod: 0 });
  t.after(() => pub.endAsync());
  await until('A has B\'s route', () => (a.broker as unknown as { cluster: { router: { remoteRoutes: number } } }).cluster.router.remoteRoutes === 1, 5000);
  await pub.publishAsync('c/1', 'hello', { qos: 1 });

  // Totals are exchanged at a heartbeat: wait for the sample that has them.
  const s = await samples(a, (x) => (x.cluster?.totals.forwardedMessages ?? 0) >= 1 && x.cluster?.totals.nodes === 2);
  const c = s.cluster!;
  assert.equal(c.node, 'a');
  assert.equal(c.state, 'connected');
  assert.equal(c.redis, 'connected');
  assert.equal(typeof c.rttMs, 'number');
  assert.ok(c.rttMs >= 0);
  assert.deepEqual(
    c.nodes.map((n) => [n.name, n.alive, n.self, n.routes]),
    [
      ['a', true, true, 0],
      ['b', true, false, 1],
    ],
  );
  assert.equal(c.forwardedMessages, 1);
  assert.ok(c.forwardedBytes > 0);
  assert.equal(c.totals.forwardedMessages, 1);
  assert.equal(c.totals.routes, 1);

  await b.close();
  bOpen = false;
  const gone = await samples(a, (x) => x.cluster?.nodes.find((n) => n.name === 'b')?.alive === false);
  assert.deepEqual(
    gone.cluster!.nodes.map((n) => [n.name, n.alive]),
    [
      ['a', true],
      ['b', false],
    ],
  );
});
