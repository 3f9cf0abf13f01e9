// The cluster on a Redis Cluster of three masters on loopback (redis-server
// --cluster-enabled yes, joined by `redis-cli --cluster create`): keys spread over the
// masters' slots, so this checks that everything the members do stays within one slot per
// command (hash tags) and that pub/sub reaches every member.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { findExecutable, freePort, have, run } from '../helpers/tools.js';
import { real } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';
import { member } from './nodes.js';

const redisCli = findExecutable('redis-cli', 'apt-get install redis-tools');

/** A port whose cluster bus port (port + 10000) is a valid port too. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p + 10_000 < 65_536) return p;
  }
}

async function redisCluster(t: TestContext): Promise<TestRedis[] | undefined> {
  if (!have(t, redisCli)) return undefined;
  const masters: TestRedis[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await startRedis(t, { port: await clusterPort(), args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'] });
    if (r === undefined) return undefined;
    masters.push(r);
  }
  const created = await run(redisCli.path!, ['--cluster', 'create', ...masters.map((m) => `127.0.0.1:${m.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeoutMs: 60_000 });
  assert.equal(created.code, 0, created.stdout + created.stderr);
  for (const m of masters) {
    await until(`cluster state ok on ${m.port}`, async () => (await run(redisCli.path!, ['-p', String(m.port), 'cluster', 'info'])).stdout.includes('cluster_state:ok'), 20_000, 100);
  }
  return masters;
}

test('cluster 5: on a Redis Cluster of three masters: routes, QoS 0/1/2 forwards, $share groups and retained messages work across three members', async (t) => {
  const masters = await redisCluster(t);
  if (masters === undefined) return;
  const url = `redis-cluster://${masters.map((m) => `127.0.0.1:${m.port}`).join(',')}`;
  const a = await member(t, url, 'ca');
  const b = await member(t, url, 'cb');
  const c = await member(t, url, 'cc');
  const got: string[] = [];
  const onB = await real(t, b, { clientId: 'rc-b' });
  const onC = await real(t, c, { clientId: 'rc-c' });
  onB.on('message', (topic, p, pk) => got.push(`b ${topic} ${p} q${pk.qos}`));
  onC.on('message', (topic, p, pk) => got.push(`c ${topic} ${p} q${pk.qos}`));
  await onB.subscribeAsync('t/#', { qos: 2 });
  await onC.subscribeAsync('$share/g/t/#', { qos: 1 });
  await until('A knows B and C', () => a.broker.cluster.router.remoteRoutes === 2);
  const pub = await real(t, a, { clientId: 'rc-pub' });
  await pub.publishAsync('t/0', 'zero', { qos: 0 });
  await pub.publishAsync('t/1', 'one', { qos: 1 });
  await pub.publishAsync('t/2', 'two', { qos: 2, retain: true });
  await until('every copy', () => got.length === 6);
  assert.deepEqual(got.sort(), ['b t/0 zero q0', 'b t/1 one q1', 'b t/2 two q2', 'c t/0 zero q0', 'c t/1 one q1', 'c t/2 two q1']);
  await until('retained on C', () => c.broker.retainedMatching('t/#').length === 1);
  // The keys really are spread over the masters.
  const keys = a.broker.cluster.keys;
  const slots = new Set(
    await Promise.all(
      [keys.inbox('cb'), keys.inbox('cc'), keys.routes('cb'), keys.routes('cc'), keys.retained, keys.node('ca'), keys.node('cb'), keys.node('cc'), keys.inbox('ca')].map(async (k) => {
        const slot = Number(await a.broker.cluster.cmd.cluster('KEYSLOT', k));
        return slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2; // the ranges `--cluster create` gives three masters
      }),
    ),
  );
  assert.ok(slots.size >= 2, 'keys in the slots of more than one master');
});
