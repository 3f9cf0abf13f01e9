// The cluster through Redis Sentinel (a `redis-sentinel://` URL): the members ask the
// sentinel for the master and route through it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisServer, startRedis } from '../helpers/redis.js';
import { freePort, start } from '../helpers/tools.js';
import { real } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';
import { member } from './nodes.js';

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

test('cluster 1: through Redis Sentinel: members find the master by name and route QoS 1 between them', async (t) => {
  const master = await startRedis(t);
  if (master === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'starling-sentinel-'));
  const port = await freePort();
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor mymaster 127.0.0.1 ${master.port} 1\n`);
  const sentinel = start(redisServer.path!, [conf, '--sentinel'], { timeoutMs: 120_000 });
  t.after(async () => {
    sentinel.kill('SIGKILL');
    await sentinel.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  await until('the sentinel listens', () => listening(port), 10_000);
  const url = `redis-sentinel://127.0.0.1:${port}/mymaster`;
  const a = await member(t, url, 'sa');
  const b = await member(t, url, 'sb');
  assert.equal(a.broker.cluster.state, 'connected');
  const sub = await real(t, b, { clientId: 'sen-sub' });
  await sub.subscribeAsync('sen/#', { qos: 1 });
  await until('A knows B', () => a.broker.cluster.router.remoteRoutes === 1);
  const got: string[] = [];
  sub.on('message', (topic, payload, p) => got.push(`${topic} ${payload} q${p.qos}`));
  const pub = await real(t, a, { clientId: 'sen-pub' });
  await pub.publishAsync('sen/1', 'via-sentinel', { qos: 1 });
  await until('the copy on B', () => got.length === 1);
  assert.deepEqual(got, ['sen/1 via-sentinel q1']);
});
