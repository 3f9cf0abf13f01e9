// A dead member's inbox (docs/clustering-sessions.md, "A node dies"): QoS 1/2 messages
// forwarded to member B and acknowledged to their publisher, while B was already killed but
// not yet seen dead, must reach B's persistent subscribers when another member takes their
// sessions, once each.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { attachClusterSessions } from '../../src/cluster/sessions.js';
import type { ClusterBroker } from '../../src/cluster/index.js';
import { createBroker } from '../../src/index.js';
import { RedisStore } from '../../src/store/index.js';
import { startRedis } from '../helpers/redis.js';
import { freePort, start, type Proc } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('cluster durability 2: messages acknowledged into a killed member\'s inbox reach its persistent subscribers on the member that takes their sessions, once', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  if (redis === undefined) return;
  const a = createBroker({
    logLevel: false,
    listeners: [{ port: 0, host: '127.0.0.1' }],
    cluster: { redis: redis.url, node: 'di-a', heartbeatInterval: 200, nodeTimeout: 1500 },
    store: new RedisStore({ url: redis.url, node: 'di-a' }),
  }) as ClusterBroker;
  const cs = attachClusterSessions(a, { takeoverTimeout: 1000, deadNodeCheck: 500 })!;
  const [info] = await a.listen();
  // Closed in the finally below, before the test's Redis stops (after hooks run first to last).
  const clients: mqtt.MqttClient[] = [];
  const names = ['di-sub-2', 'di-sub-1'];
  const got = new Map<string, string[]>(names.map((n) => [n, []]));
  let b: Proc | undefined;
  try {
  const aUrl = `mqtt://127.0.0.1:${info!.port}`;
  const port = await freePort();
  b = start(process.execPath, [CLI, '--port', String(port), '--set', `cluster.redis=${redis.url}`, '--set', 'cluster.node=di-b', '--set', 'cluster.heartbeatInterval=200', '--set', 'cluster.nodeTimeout=1500', '--set', 'persistence.store=redis'], { timeoutMs: 60_000 });
  await b.line(/"msg":"listening on /, 30_000);
  const bUrl = `mqtt://127.0.0.1:${port}`;

  // Two persistent subscribers on B (QoS 2 and QoS 1), then offline: their sessions stay on B.
  for (const [i, clientId] of names.entries()) {
    const c = await mqtt.connectAsync(bUrl, { clientId, reconnectPeriod: 0, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } });
    await c.subscribeAsync('di/#', { qos: i === 0 ? 2 : 1 });
    await c.endAsync();
  }
  await until('A to know B\'s routes', () => a.cluster.router.knows('di-b') && a.cluster.router.remoteRoutes > 0, 10_000);

  b.kill('SIGKILL');
  await b.exited;
  // B is dead but A does not know yet: these go to B's inbox and are acknowledged.
  const pub = await mqtt.connectAsync(aUrl, { clientId: 'di-pub', reconnectPeriod: 0, protocolVersion: 5 });
  clients.push(pub);
  await pub.publishAsync('di/x', 'one at QoS 1', { qos: 1 });
  await pub.publishAsync('di/x', 'two at QoS 2', { qos: 2 });
  assert.ok(a.cluster.router.knows('di-b'), 'published while A still routed to B');

  // The first subscriber comes back on A as soon as it can (its session taken from dead B);
  // the other once A's sweep adopted its session.
  const resume = async (clientId: string): Promise<void> => {
    await until(
      `${clientId} to resume on A`,
      async () => {
        // The handler is in place before CONNACK: the queued messages follow it at once.
        const c = mqtt.connect(aUrl, { clientId, reconnectPeriod: 0, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 }, connectTimeout: 3000 });
        c.on('message', (_topic, payload) => got.get(clientId)!.push(String(payload)));
        const ok = await new Promise<boolean>((resolve) => {
          c.once('connect', () => resolve(true));
          c.once('error', () => resolve(false));
          c.once('close', () => resolve(false));
        });
        if (ok) clients.push(c);
        else c.end(true);
        return ok;
      },
      20_000,
    );
  };
  await resume(names[0]!);
  await until('A to adopt the rest of B\'s sessions', () => cs.stats.adoptedFromDead + cs.stats.takenFromDead >= 2, 15_000);
  await resume(names[1]!);
  await until('both messages at both subscribers', () => names.every((n) => got.get(n)!.length >= 2), 10_000).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 300));
  } finally {
    for (const c of clients) c.end(true);
    b?.kill('SIGKILL');
    await a.close();
  }
  for (const n of names) assert.deepEqual(got.get(n)!.sort(), ['one at QoS 1', 'two at QoS 2'], `${n} got ${JSON.stringify(got.get(n))}`);
  t.diagnostic(`taken from dead: ${cs.stats.takenFromDead}, adopted: ${cs.stats.adoptedFromDead}, inbox: ${JSON.stringify(cs.inboxStats)}`);
});
