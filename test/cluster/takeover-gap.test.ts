// The takeover route gap (docs/clustering-sessions.md): a persistent subscriber hops between
// two live members (A -> B -> A ...) while a QoS 1 and a QoS 2 publisher on a third member C
// publish numbered messages without pause. Every number acknowledged to a publisher must
// reach the subscriber, a QoS 2 one once, as on a standalone broker, where a message for a
// session between two connections is queued.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { startRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { settle, Subscriber, type Sent, type Target } from '../helpers/crash-peer.js';
import { storeMember } from './nodes.js';
import { clusterSessionsOf } from '../../src/cluster/fence.js';

const HOPS = Number(process.env.TAKEOVER_HOPS ?? 12);

test('cluster durability 3: a persistent subscriber hopping between live members misses no acknowledged message published on a third, QoS 2 never twice', { timeout: 120_000 }, async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  if (redis === undefined) return;
  const members = [await storeMember(t, redis.url, 'tg-a'), await storeMember(t, redis.url, 'tg-b'), await storeMember(t, redis.url, 'tg-c')];
  const [a, , c] = members;
  const published = new Map<number, Sent>();
  const acknowledged = new Set<number>();
  const violations: string[] = [];
  const ledger = { published, acknowledged, violations };
  // A spec-following client that keeps its QoS 2 state across connections (crash-peer.ts).
  const target: Target = { port: a!.port };
  const sub = new Subscriber('tg-sub', 5, 2, target, ledger);
  const clients: mqtt.MqttClient[] = [];
  let stop = false;
  const loops: Array<Promise<void>> = [];
  let running: Promise<void> | undefined;
  try {
    running = sub.peer.run();
    await until('the subscription', () => sub.subscribed, 10_000);
    await until('C to route crash/# to A', () => c!.broker.cluster.router.remoteRoutes > 0, 10_000);
    let next = 1;
    for (const qos of [1, 2] as const) {
      const pub = await mqtt.connectAsync(c!.url, { clientId: `tg-pub-${qos}`, reconnectPeriod: 0, protocolVersion: 5 });
      clients.push(pub);
      loops.push(
        (async () => {
          while (!stop) {
            const n = next++;
            const sent: Sent = { n, qos, topic: `crash/${qos}`, payload: `message ${n} at QoS ${qos}` };
            published.set(n, sent);
            await pub.publishAsync(sent.topic, sent.payload, { qos });
            acknowledged.add(n);
          }
        })(),
      );
    }
    for (let hop = 0; hop < HOPS; hop++) {
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 150));
      const connects = sub.peer.connects;
      // To the other member: its CONNECT takes the session over from the one it left.
      target.port = members[(hop + 1) % 2]!.port;
      sub.peer.socket?.destroy();
      await until(`hop ${hop + 1}`, () => sub.peer.connects > connects && sub.peer.connected, 10_000);
    }
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(loops);
    await settle(() => sub.complete(), () => sub.received.size);
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    stop = true;
    sub.peer.stop();
    await running;
    for (const cl of clients) cl.end(true);
    for (const m of members) await m.broker.close();
  }
  for (const m of members) t.diagnostic(`${m.broker.cluster.name}: fence ${JSON.stringify(clusterSessionsOf(m.broker)?.fence?.stats)}`);
  assert.deepEqual(violations, []);
  assert.ok(acknowledged.size >= 200, `only ${acknowledged.size} acknowledged`);
  const missing = [...acknowledged].filter((n) => !sub.received.has(n));
  const twice = [...acknowledged].filter((n) => published.get(n)!.qos === 2 && (sub.received.get(n) ?? 0) > 1);
  t.diagnostic(`${acknowledged.size} acknowledged over ${HOPS} hops, ${missing.length} missing ${JSON.stringify(missing.slice(0, 10))}, ${twice.length} QoS 2 twice`);
  for (const m of members) t.diagnostic(`${m.broker.cluster.name}: ${JSON.stringify(m.sessions.handoverStats)}`);
  assert.deepEqual(missing, [], 'acknowledged messages that never arrived');
  assert.deepEqual(twice, [], 'QoS 2 messages delivered twice');
});
