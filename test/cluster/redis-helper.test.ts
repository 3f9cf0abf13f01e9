import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/redis.js';

test('test Redis: starts on a free loopback port, answers, and restarts with its data after SIGTERM', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  if (redis === undefined) return;
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  await client.set('k', 'v');
  client.disconnect();
  await redis.stop('SIGTERM');
  const again = await redis.restart();
  assert.equal(again.port, redis.port);
  const client2 = new Redis(again.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client2.connect();
  assert.equal(await client2.get('k'), 'v');
  client2.disconnect();
});
