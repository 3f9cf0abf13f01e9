// Cluster members as the `starling` command makes them with `persistence.store: redis`: the
// Redis store and cluster sessions on every member, routing between them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { attachClusterSessions } from '../../src/cluster/sessions.js';
import { createBroker } from '../../src/index.js';
import { RedisStore } from '../../src/store/index.js';
import type { ClusterBroker } from '../../src/cluster/index.js';
import { startRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

async function storeMember(redisUrl: string, name: string): Promise<{ broker: ClusterBroker; url: string }> {
  const broker = createBroker({
    logLevel: false,
    listeners: [{ port: 0, host: '127.0.0.1' }],
    cluster: { redis: redisUrl, node: name, heartbeatInterval: 200, nodeTimeout: 1500 },
    store: new RedisStore({ url: redisUrl, node: name }),
  }) as ClusterBroker;
  attachClusterSessions(broker, { takeoverTimeout: 3000 });
  const [info] = await broker.listen();
  return { broker, url: `mqtt://127.0.0.1:${info!.port}` };
}

test('cluster members with the Redis store: a QoS 1 publish on A is acknowledged and reaches a subscriber on B', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await storeMember(redis.url, 'rs-a');
  const b = await storeMember(redis.url, 'rs-b');
  // A persistent subscriber (its session in the Redis store) and a 3.1.1 clean-session publisher.
  const sub = await mqtt.connectAsync(b.url, { clientId: 'rs-sub', reconnectPeriod: 0, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } });
  const pub = await mqtt.connectAsync(a.url, { clientId: 'rs-pub', reconnectPeriod: 0, protocolVersion: 4, clean: true });
  try {
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(String(p)));
    await sub.subscribeAsync('rs/#', { qos: 1 });
    await until(
      'a QoS 1 publish on A is acknowledged and arrives on B',
      async () => {
        await Promise.race([pub.publishAsync('rs/x', 'hello', { qos: 1 }), new Promise((_, reject) => setTimeout(() => reject(new Error('no PUBACK within 5 s')), 5000))]);
        return got.includes('hello');
      },
      20_000,
    );
    assert.ok(got.includes('hello'));
  } finally {
    await pub.endAsync(true);
    await sub.endAsync(true);
    await a.broker.close();
    await b.broker.close();
  }
});
