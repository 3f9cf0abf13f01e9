// The `cluster` config section and the Redis URL forms it accepts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { loadConfig, toBrokerOptions, redactSecrets } from '../../src/config/index.js';
import { ClusterUrlError, parseRedisUrl, resolveClusterOptions } from '../../src/cluster/index.js';

test('cluster 1: config: without cluster.redis the broker is standalone; with it, BrokerOptions.cluster carries the section', () => {
  assert.equal(toBrokerOptions(loadConfig({ env: {}, flags: {} }).config).options.cluster, undefined);
  const loaded = loadConfig({ env: { STARLING_CLUSTER_REDIS: 'redis://:pw@127.0.0.1:6379' }, flags: { set: ['cluster.node=a', 'cluster.nodeTimeout=3000'] } });
  assert.deepEqual(toBrokerOptions(loaded.config).options.cluster, {
    redis: 'redis://:pw@127.0.0.1:6379',
    node: 'a',
    prefix: 'starling:',
    heartbeatInterval: 1000,
    nodeTimeout: 3000,
    maxPendingForwards: 10_000,
    inboxMaxWait: 5000,
    volatileWindow: 8 * 1024 * 1024,
    volatileMaxWait: 2000,
    fence: true,
  });
  assert.doesNotMatch(JSON.stringify(redactSecrets(loaded.config)), /pw@/, 'the URL (it may hold a password) is a secret: the admin API shows it redacted');
});

test('cluster 1: config: the node name defaults to hostname-pid', () => {
  assert.equal(resolveClusterOptions({ redis: 'redis://x' }).node, `${hostname()}-${process.pid}`);
});

test('cluster 1: Redis URL forms: single, TLS, Sentinel, Redis Cluster; bad ones are named', () => {
  assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6379/2'), { kind: 'single', url: 'redis://127.0.0.1:6379/2' });
  assert.equal(parseRedisUrl('rediss://h:6380').kind, 'single');
  assert.deepEqual(parseRedisUrl('redis-sentinel://:secret@s1:26379,s2/mymaster/3'), {
    kind: 'sentinel',
    sentinels: [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26379 },
    ],
    name: 'mymaster',
    db: 3,
    password: 'secret',
  });
  assert.deepEqual(parseRedisUrl('redis-cluster://u:p@127.0.0.1:7000,127.0.0.1:7001'), {
    kind: 'cluster',
    seeds: [
      { host: '127.0.0.1', port: 7000 },
      { host: '127.0.0.1', port: 7001 },
    ],
    username: 'u',
    password: 'p',
  });
  assert.throws(() => parseRedisUrl('redis-sentinel://s1:26379'), ClusterUrlError);
  assert.throws(() => parseRedisUrl('http://x'), /unknown scheme/);
  assert.throws(() => parseRedisUrl('nonsense'), ClusterUrlError);
});

test('cluster 1: config: a cluster section needs cluster.redis, and a URL of one of the four forms; without the section there is none', async () => {
  const { ConfigError } = await import('../../src/config/index.js');
  assert.equal(loadConfig({ env: {}, flags: {} }).config.cluster, undefined, 'no section: the --workers check and the CLI see a standalone broker');
  assert.throws(() => loadConfig({ env: {}, flags: { set: ['cluster.node=a'] } }), (err: unknown) => err instanceof ConfigError && /cluster: needs cluster.redis/.test(err.message));
  assert.throws(() => loadConfig({ env: {}, flags: { set: ['cluster.redis=http://x'] } }), (err: unknown) => err instanceof ConfigError && /redis-sentinel:\/\//.test(err.message));
});
