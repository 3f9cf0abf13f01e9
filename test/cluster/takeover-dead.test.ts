// A member killed while its client is connected: the client reconnects to another member at
// once, before the killed member's heartbeat key has expired. The member it reconnects to asks
// the holder to let the client id go, gets no answer, and must take the session from it as a
// dead node as soon as its key is gone (nodeTimeout), not wait out takeoverTimeout and refuse
// the CONNECT with 0x89 Server busy (docs/clustering-sessions.md, "A node dies").

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

test('a client of a killed member reconnecting elsewhere at once is taken over from it as dead once its key expires, not refused after takeoverTimeout', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  if (redis === undefined) return;
  const a = createBroker({
    logLevel: false,
    listeners: [{ port: 0, host: '127.0.0.1' }],
    cluster: { redis: redis.url, node: 'td-a', heartbeatInterval: 200, nodeTimeout: 1500 },
    store: new RedisStore({ url: redis.url, node: 'td-a' }),
  }) as ClusterBroker;
  // Far longer than the test's wait for a CONNACK: only a takeover from the dead node connects.
  const cs = attachClusterSessions(a, { takeoverTimeout: 30_000, deadNodeCheck: 0 })!;
  const [info] = await a.listen();
  const clients: mqtt.MqttClient[] = [];
  let b: Proc | undefined;
  try {
    const port = await freePort();
    b = start(process.execPath, [CLI, '--port', String(port), '--set', `cluster.redis=${redis.url}`, '--set', 'cluster.node=td-b', '--set', 'cluster.heartbeatInterval=200', '--set', 'cluster.nodeTimeout=1500', '--set', 'persistence.store=redis'], { timeoutMs: 60_000 });
    await b.line(/"msg":"listening on /, 30_000);
    const options = { clientId: 'td-sub', reconnectPeriod: 0, protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 } };
    const onB = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, options);
    clients.push(onB);
    await onB.subscribeAsync('td/#', { qos: 1 });
    await until('A to know B\'s routes', () => a.cluster.router.knows('td-b') && a.cluster.router.remoteRoutes > 0, 10_000);

    b.kill('SIGKILL');
    await b.exited;
    // B's key lives on for up to nodeTimeout: A asks B first, and nobody answers.
    const got: string[] = [];
    const c = mqtt.connect(`mqtt://127.0.0.1:${info!.port}`, { ...options, connectTimeout: 15_000 });
    clients.push(c);
    c.on('message', (_topic, payload) => got.push(String(payload)));
    const connack = await new Promise<mqtt.IConnackPacket | Error>((resolve) => {
      c.once('connect', resolve);
      c.once('error', resolve);
      c.once('close', () => resolve(new Error('closed before CONNACK')));
    });
    assert.ok(!(connack instanceof Error), `the CONNECT on A failed: ${String(connack)}`);
    assert.equal(connack.sessionPresent, true, 'the session came from B');
    assert.equal(cs.stats.takenFromDead, 1);
    assert.equal(cs.stats.refused, 0);
    // Its subscription came with it.
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${info!.port}`, { clientId: 'td-pub', reconnectPeriod: 0, protocolVersion: 5 });
    clients.push(pub);
    await pub.publishAsync('td/x', 'after the takeover', { qos: 1 });
    await until('the message at the subscriber', () => got.length > 0, 5000);
    assert.deepEqual(got, ['after the takeover']);
  } finally {
    for (const c of clients) c.end(true);
    b?.kill('SIGKILL');
    await a.close();
  }
});
