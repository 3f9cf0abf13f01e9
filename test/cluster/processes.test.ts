// Cluster members as separate `starling` processes (dist/src/cli/main.js) on one Redis, the
// way they run in production: a member killed with SIGKILL under QoS 1 load, and real
// clients (mosquitto_pub/sub, MQTT.js, paho) on different members.

import { test, type TestContext } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { Redis } from 'ioredis';
import { ClusterKeys } from '../../src/cluster/index.js';
import { startRedis } from '../helpers/redis.js';
import { findPythonWithPaho, freePort, have, mosquittoPub, mosquittoSub, start, type Proc } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const python = findPythonWithPaho();
/** Unsettled QoS 1 publishes the load loops allow themselves. */
const WINDOW = 1000;

async function node(t: TestContext, redisUrl: string, name: string, extra: string[] = ['--set', 'persistence.store=memory'], port?: number): Promise<{ proc: Proc; port: number }> {
  port ??= await freePort();
  const proc = start(
    process.execPath,
    [CLI, '--port', String(port), '--set', `cluster.redis=${redisUrl}`, '--set', `cluster.node=${name}`, '--set', 'cluster.heartbeatInterval=200', '--set', 'cluster.nodeTimeout=1500', '--set', 'sys.interval=0', ...extra],
    { timeoutMs: 120_000 },
  );
  t.after(async () => {
    proc.kill('SIGKILL');
    await proc.exited;
  });
  await proc.line(/"msg":"listening on /);
  return { proc, port };
}

async function client(t: TestContext, port: number, clientId: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5, clientId });
  t.after(() => c.endAsync(true));
  return c;
}

test('cluster 5: a member killed with SIGKILL under QoS 1 load: every message it acknowledged reaches the subscribers on the other members', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  if (redis === undefined) return;
  const a = await node(t, redis.url, 'pa');
  const b = await node(t, redis.url, 'pb');
  const c = await node(t, redis.url, 'pc');
  const onB = await client(t, b.port, 'k-b');
  const onC = await client(t, c.port, 'k-c');
  await onB.subscribeAsync('k/#', { qos: 1 });
  await onC.subscribeAsync('k/+', { qos: 1 });
  const gotB = new Set<number>();
  const gotC = new Set<number>();
  onB.on('message', (_t, p) => gotB.add(Number(String(p))));
  onC.on('message', (_t, p) => gotC.add(Number(String(p))));
  const pub = await client(t, a.port, 'k-pub');
  pub.on('error', () => {});
  // Wait until A routes to both: a probe published on A reaches B and C.
  await until('A forwards to B and C', async () => {
    await pub.publishAsync('k/x', '-1', { qos: 1 });
    return gotB.has(-1) && gotC.has(-1);
  });
  const acked: number[] = [];
  let n = 0;
  let settled = 0;
  let killed = false;
  // A failed wait below ends the test without reaching the kill: the loop must stop then
  // too, or it spins on the closed client and the test process never exits.
  t.after(() => {
    killed = true;
  });
  const sending = (async () => {
    while (!killed) {
      // A bounded window: unawaited publishes would pile up in MQTT.js on a loaded machine.
      if (n - settled >= WINDOW) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      const i = n++;
      pub.publishAsync('k/x', String(i), { qos: 1 }).then(
        () => acked.push(i),
        () => undefined,
      ).finally(() => settled++);
      await new Promise((r) => setImmediate(r));
    }
  })();
  await until('load under way', () => acked.length > 300, 20_000);
  a.proc.kill('SIGKILL');
  killed = true;
  await sending;
  await a.proc.exited;
  const ackedBeforeDeath = [...acked];
  assert.ok(ackedBeforeDeath.length > 300);
  await until('every acknowledged message on B and C', () => ackedBeforeDeath.every((i) => gotB.has(i) && gotC.has(i)), 15_000);
  t.diagnostic(`${ackedBeforeDeath.length} acknowledged of ${n} sent before the kill; B got ${gotB.size - 1}, C got ${gotC.size - 1}`);
});

test('cluster 5: real clients on different members: mosquitto_pub on A, mosquitto_sub on B, paho on C, MQTT.js on A', async (t) => {
  if (!have(t, mosquittoPub, mosquittoSub, python)) return;
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const a = await node(t, redis.url, 'ra');
  const b = await node(t, redis.url, 'rb');
  const c = await node(t, redis.url, 'rc');
  const sub = start(mosquittoSub.path!, ['-h', '127.0.0.1', '-p', String(b.port), '-t', 'real/#', '-q', '1', '-v', '-C', '2', '-i', 'mosq-sub'], { timeoutMs: 30_000 });
  const paho = start(
    python.path!,
    [
      '-c',
      `import sys, paho.mqtt.client as m
try:
    c = m.Client(m.CallbackAPIVersion.VERSION2, client_id="paho-sub", protocol=m.MQTTv311)
except AttributeError:
    c = m.Client(client_id="paho-sub", protocol=m.MQTTv311)
got = []
def on_message(cl, u, msg):
    got.append(msg.topic + " " + msg.payload.decode() + " " + str(msg.qos))
    if len(got) == 2:
        print("\\n".join(got), flush=True); cl.disconnect()
def on_subscribe(*a):
    print("subscribed", flush=True)
c.on_message = on_message
c.on_subscribe = on_subscribe
c.on_connect = lambda cl, *a: cl.subscribe("real/+", qos=2)
c.connect("127.0.0.1", ${c.port})
c.loop_forever()`,
    ],
    { timeoutMs: 30_000 },
  );
  await paho.line(/subscribed/);
  const js = await client(t, a.port, 'js-sub');
  await js.subscribeAsync('real/#', { qos: 1 });
  const jsGot: string[] = [];
  js.on('message', (topic, p) => jsGot.push(`${topic} ${p}`));
  // mosquitto_sub says nothing once subscribed: its member's route set in Redis does.
  const keys = new ClusterKeys();
  const r = new Redis(redis.url);
  t.after(() => r.disconnect());
  await until('B announced real/#', async () => (await r.smembers(keys.routes('rb'))).includes('real/#'));
  // A reads the announcement from the broadcast: its route version follows B's once applied.
  await until('A holds every route', async () => (await r.get(keys.routeVersion('rb'))) !== null && (await r.get(keys.routeVersion('rc'))) !== null);
  await new Promise((res) => setTimeout(res, 500));
  const pub1 = start(mosquittoPub.path!, ['-h', '127.0.0.1', '-p', String(a.port), '-t', 'real/one', '-m', 'from-mosquitto', '-q', '1', '-i', 'mosq-pub'], { timeoutMs: 10_000 });
  assert.equal((await pub1.exited).code, 0);
  const jsPub = await client(t, b.port, 'js-pub');
  await jsPub.publishAsync('real/two', 'from-mqttjs', { qos: 2 });
  const subExit = await sub.exited;
  assert.equal(subExit.code, 0, sub.stderr);
  assert.deepEqual(sub.stdout.trim().split('\n').sort(), ['real/one from-mosquitto', 'real/two from-mqttjs']);
  const pahoExit = await paho.exited;
  assert.equal(pahoExit.code, 0, paho.stderr);
  assert.deepEqual(paho.stdout.trim().split('\n').slice(1).sort(), ['real/one from-mosquitto 1', 'real/two from-mqttjs 2']);
  await until('MQTT.js on A got both', () => jsGot.length === 2);
  assert.deepEqual(jsGot.sort(), ['real/one from-mosquitto', 'real/two from-mqttjs']);
});

test('cluster 5: the subscribers\' member killed with SIGKILL under QoS 1 load and restarted under its name: its persistent session gets every message the publisher\'s member acknowledged', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  if (redis === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'starling-cluster-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = await node(t, redis.url, 'sa');
  // Restarted within its nodeTimeout, so the others keep forwarding to its inbox meanwhile.
  const stored = ['--set', `persistence.dataDir=${dir}`, '--set', 'cluster.nodeTimeout=10000'];
  const b = await node(t, redis.url, 'sb', stored);
  const got = new Set<number>();
  const subscribe = async (port: number, clean: boolean): Promise<MqttClient> => {
    // Listening before CONNACK: a resumed session's queue comes right after it.
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5, clientId: 'persist', clean, properties: { sessionExpiryInterval: 600 } });
    t.after(() => c.endAsync(true));
    c.on('message', (_t, p) => got.add(Number(String(p))));
    c.on('error', () => {});
    await new Promise((resolve) => c.once('connect', resolve));
    return c;
  };
  const sub = await subscribe(b.port, true);
  await sub.subscribeAsync('s/#', { qos: 1 });
  const pub = await client(t, a.port, 's-pub');
  await until('A forwards to B', async () => {
    await pub.publishAsync('s/x', '-1', { qos: 1 });
    return got.has(-1);
  });
  const acked: number[] = [];
  let n = 0;
  let settled = 0;
  let stop = false;
  t.after(() => {
    stop = true; // as in the first test: a failed wait must not leave the loop running
  });
  const sending = (async () => {
    while (!stop) {
      if (n - settled < WINDOW) {
        const i = n++;
        pub.publishAsync('s/x', String(i), { qos: 1 }).then(
          () => acked.push(i),
          () => undefined,
        ).finally(() => settled++);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  await until('load under way', () => acked.length > 200, 20_000);
  b.proc.kill('SIGKILL');
  await b.proc.exited;
  await until('more acknowledged while B is dead', () => acked.length > 400, 20_000);
  const b2 = await node(t, redis.url, 'sb', stored, b.port);
  await until('more acknowledged after B is back', () => acked.length > 600, 20_000);
  stop = true;
  await sending;
  const all = [...acked];
  await subscribe(b2.port, false);
  try {
    await until('every acknowledged message in the resumed session', () => all.every((i) => got.has(i)), 20_000);
  } finally {
    const missing = all.filter((i) => !got.has(i));
    t.diagnostic(`missing ${missing.length}: ${missing.slice(0, 20).join(' ')} ... ${missing.slice(-5).join(' ')}; acked ${all.length}, max got ${Math.max(...got)}`);
  }
  t.diagnostic(`${all.length} acknowledged; ${got.size - 1} received`);
});
