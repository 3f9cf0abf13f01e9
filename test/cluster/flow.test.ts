// Flow control across nodes (docs/clustering.md, "Flow control"): a node takes QoS 1/2
// forwards from its inbox stream only as fast as the local sessions they go to take them,
// so an acknowledged message waits in the stream rather than being dropped for a full queue.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis } from '../helpers/redis.js';
import { raw, real } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';
import { member } from './nodes.js';

test('cperf 1: a slow subscriber on B, a fast QoS 1 publisher on A: every acknowledged message arrives, none dropped for a full queue while the stream holds them', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await member(t, redis.url, 'a');
  // Small bounds on B so that a few hundred messages are more than its session can hold.
  const b = await member(t, redis.url, 'b', { limits: { maxInflight: 10, maxQueuedMessages: 100 } }, { inboxMaxWait: 60_000 });
  const sub = await raw(t, b, { clientId: 'slow', clean: false, properties: { sessionExpiryInterval: 300 } });
  sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'flow/#', qos: 1 }] });
  await sub.expect('suback');
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  const pub = await real(t, a, { clientId: 'fast' });
  const n = 1000;
  // All at once: each PUBACK says the message is in B's inbox stream.
  await Promise.all(Array.from({ length: n }, (_, i) => pub.publishAsync(`flow/${i}`, String(i), { qos: 1 })));
  // Nothing acknowledged yet by the subscriber: what B's session cannot hold is still in the stream.
  await until('B holding back', async () => (await b.broker.cluster.cmd.xlen(b.broker.cluster.keys.inbox('b'))) > 0);
  const got = new Set<string>();
  while (got.size < n) {
    const p = await sub.next(10_000).catch(() => undefined);
    if (p === undefined) break;
    if (p.type !== 'publish') continue;
    got.add(p.payload.toString());
    sub.send({ type: 'puback', packetId: p.packetId!, reasonCode: 0 });
  }
  assert.equal(b.broker.stats.dropped.queue_full, 0, `nothing dropped for a full queue (${JSON.stringify(b.broker.cluster.stats)}, ${got.size} received)`);
  assert.equal(got.size, n, 'every acknowledged message arrived');
  await until('inbox emptied', async () => (await b.broker.cluster.cmd.xlen(b.broker.cluster.keys.inbox('b'))) === 0);
});
