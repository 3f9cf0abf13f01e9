// A member killed while its client is connected, the client reconnecting to another member
// at once, before the killed member's heartbeat key has expired. The member it reconnects to
// asks the holder to let the client id go and gets no answer. It must not wait out
// takeoverTimeout and refuse the CONNECT with 0x89 Server busy:
// - the holder stays down: the session is taken from it as a dead node once its key is gone;
// - the holder is restarted under its name (systemd's Restart=always): the new process,
//   which was not listening when the request went out, is asked again and hands it over.
// (docs/clustering-sessions.md, "Taking a session over")

import { strict as assert } from 'node:assert';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { attachClusterSessions, type ClusterSessions } from '../../src/cluster/sessions.js';
import type { ClusterBroker } from '../../src/cluster/index.js';
import { createBroker } from '../../src/index.js';
import { RedisStore } from '../../src/store/index.js';
import { startRedis } from '../helpers/redis.js';
import { freePort, start, type Proc } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SUB = { clientId: 'td-sub', reconnectPeriod: 0, protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 } };

/** Member A in this process (takeoverTimeout far longer than any wait here), member B a `starling` process. */
async function twoMembers(t: TestContext, nodeTimeout: number): Promise<{ a: ClusterBroker; cs: ClusterSessions; aUrl: string; startB: () => Promise<Proc>; bPort: number } | undefined> {
  const redis = await startRedis(t, { appendonly: true });
  if (redis === undefined) return undefined;
  const a = createBroker({
    logLevel: false,
    listeners: [{ port: 0, host: '127.0.0.1' }],
    cluster: { redis: redis.url, node: 'td-a', heartbeatInterval: 200, nodeTimeout },
    store: new RedisStore({ url: redis.url, node: 'td-a' }),
  }) as ClusterBroker;
  const cs = attachClusterSessions(a, { takeoverTimeout: 30_000, deadNodeCheck: 0 })!;
  const [info] = await a.listen();
  const bPort = await freePort();
  const startB = async (): Promise<Proc> => {
    const b = start(process.execPath, [CLI, '--port', String(bPort), '--set', `cluster.redis=${redis.url}`, '--set', 'cluster.node=td-b', '--set', 'cluster.heartbeatInterval=200', '--set', `cluster.nodeTimeout=${nodeTimeout}`, '--set', 'persistence.store=redis'], { timeoutMs: 60_000 });
    await b.line(/"msg":"listening on /, 30_000);
    return b;
  };
  return { a, cs, aUrl: `mqtt://127.0.0.1:${info!.port}`, startB, bPort };
}

/** Connects td-sub to `url`, recording what it receives; resolves to the CONNACK or the error. */
async function resume(url: string, got: string[], clients: mqtt.MqttClient[]): Promise<mqtt.IConnackPacket | Error> {
  const c = mqtt.connect(url, { ...SUB, connectTimeout: 15_000 });
  clients.push(c);
  c.on('message', (_topic, payload) => got.push(String(payload)));
  return new Promise((resolve) => {
    c.once('connect', resolve);
    c.once('error', resolve);
    c.once('close', () => resolve(new Error('closed before CONNACK')));
  });
}

/** The resumed session is whole: present, and its subscription routes a new message to it. */
async function assertResumed(connack: mqtt.IConnackPacket | Error, aUrl: string, got: string[], clients: mqtt.MqttClient[]): Promise<void> {
  assert.ok(!(connack instanceof Error), `the CONNECT on A failed: ${String(connack)}`);
  assert.equal(connack.sessionPresent, true, 'the session came from B');
  const pub = await mqtt.connectAsync(aUrl, { clientId: 'td-pub', reconnectPeriod: 0, protocolVersion: 5 });
  clients.push(pub);
  await pub.publishAsync('td/x', 'after the takeover', { qos: 1 });
  await until('the message at the subscriber', () => got.length > 0, 5000);
  assert.deepEqual(got, ['after the takeover']);
}

for (const restarted of [false, true]) {
  const name = restarted
    ? 'a client of a killed member reconnecting elsewhere at once, the member restarted under its name meanwhile: the new process is asked again and hands the session over'
    : 'a client of a killed member reconnecting elsewhere at once is taken over from it as dead once its key expires, not refused after takeoverTimeout';
  test(name, { timeout: 60_000 }, async (t) => {
    // Restarted: a key that outlives the restart, so only asking the new process can answer.
    const m = await twoMembers(t, restarted ? 10_000 : 1500);
    if (m === undefined) return;
    const { a, cs, aUrl, startB, bPort } = m;
    const clients: mqtt.MqttClient[] = [];
    let b: Proc | undefined;
    try {
      b = await startB();
      const onB = await mqtt.connectAsync(`mqtt://127.0.0.1:${bPort}`, SUB);
      clients.push(onB);
      await onB.subscribeAsync('td/#', { qos: 1 });
      await until('A to know B\'s routes', () => a.cluster.router.knows('td-b') && a.cluster.router.remoteRoutes > 0, 10_000);
      b.kill('SIGKILL');
      await b.exited;
      // B's key lives on: A asks B first, and nobody answers.
      const got: string[] = [];
      const connack = resume(aUrl, got, clients);
      if (restarted) b = await startB();
      await assertResumed(await connack, aUrl, got, clients);
      assert.equal(restarted ? cs.stats.takenFromLive : cs.stats.takenFromDead, 1);
      assert.equal(cs.stats.refused, 0);
    } finally {
      for (const c of clients) c.end(true);
      b?.kill('SIGKILL');
      await a.close();
    }
  });
}
