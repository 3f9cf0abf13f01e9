// What operations see of a cluster member: /readyz degraded while Redis is away, metrics and
// $SYS per node with cluster totals, the admin API's node list and client lookup.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOpsServer } from '../../src/index.js';
import { SysTopics } from '../../src/ops/index.js';
import { startRedis } from '../helpers/redis.js';
import { real } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';
import { member } from './nodes.js';

test('cluster 4: /readyz says degraded while Redis is away and ready again after; /metrics and $SYS carry node and cluster figures; the admin API lists nodes and finds a client', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a');
  const b = await member(t, redis.url, 'b');
  const ops = createOpsServer(a.broker, { sysInterval: 0, http: { port: 0, adminToken: 't' } });
  await ops.start();
  t.after(() => ops.close());
  const base = `http://127.0.0.1:${ops.address!.port}`;
  const auth = { headers: { authorization: 'Bearer t' } };

  const sub = await real(t, b, { clientId: 'm-sub' });
  await sub.subscribeAsync('m/#', { qos: 1 });
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  const pub = await real(t, a, { clientId: 'm-pub' });
  await pub.publishAsync('m/1', 'hello', { qos: 1 });
  await until('cluster totals exchanged', () => a.broker.cluster.totals.nodes === 2 && a.broker.cluster.totals.forwardedMessages === 1, 5000);

  const ready = (await (await fetch(`${base}/readyz`)).json()) as { status: string; cluster: { nodes: number; redis: string } };
  assert.equal(ready.status, 'ready');
  assert.equal(ready.cluster.nodes, 2);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /^starling_cluster_nodes 2$/m);
  assert.match(metrics, /^starling_cluster_forwarded_messages_total\{scope="node"\} 1$/m);
  assert.match(metrics, /^starling_cluster_forwarded_messages_total\{scope="cluster"\} 1$/m);
  assert.match(metrics, /^starling_cluster_routes\{scope="remote"\} 1$/m);
  assert.match(metrics, /^starling_cluster_redis_rtt_seconds \d/m);
  const sys = new SysTopics(a.broker, 0, 'test').values();
  assert.equal(sys['$SYS/broker/cluster/nodes'], '2');
  assert.equal(sys['$SYS/broker/cluster/forwarded/messages'], '1');
  assert.equal(sys['$SYS/broker/cluster/node'], 'a');

  const nodes = (await (await fetch(`${base}/api/v1/cluster/nodes`, auth)).json()) as { self: string; nodes: Array<{ name: string; alive: boolean; routes: number }> };
  assert.equal(nodes.self, 'a');
  assert.deepEqual(nodes.nodes.map((n) => [n.name, n.alive, n.routes]), [['a', true, 0], ['b', true, 1]]);
  const client = (await (await fetch(`${base}/api/v1/cluster/clients/m-pub`, auth)).json()) as { node: string; connectedHere: boolean };
  assert.deepEqual([client.node, client.connectedHere], ['a', true]);

  await redis.stop('SIGKILL');
  await until('A degraded', () => a.broker.cluster.state === 'degraded');
  const degraded = await fetch(`${base}/readyz`);
  assert.equal(degraded.status, 200, 'still serving its own clients');
  const body = (await degraded.json()) as { status: string; cluster: { redis: string } };
  assert.deepEqual([body.status, body.cluster.redis], ['degraded', 'unavailable']);
  assert.match(await (await fetch(`${base}/metrics`)).text(), /^starling_cluster_connected 0$/m);
  await redis.restart();
  await until('A back', async () => ((await (await fetch(`${base}/readyz`)).json()) as { status: string }).status === 'ready', 10_000);
});
