// Bridges in a cluster: one member at a time runs them (the bridges lease), messages
// published on any member reach the remote through it, and the bridges move to another
// member when the one running them stops.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bridgesFromConfig, placeBridges } from '../../src/bridge/index.js';
import { loadConfig } from '../../src/config/index.js';
import { member, type Member } from '../cluster/nodes.js';
import { startRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { recorder } from './helpers.js';
import { startMosquitto } from './mosquitto.js';
import mqtt from 'mqtt';

test('bridge 11: in a cluster one member runs the bridges; a message published on another member reaches the remote; they move when that member stops', async (t) => {
  const redis = await startRedis(t);
  const mosq = await startMosquitto(t);
  if (redis === undefined || mosq === undefined) return;
  const yaml = `bridges:
  - name: central
    addresses: mqtt://127.0.0.1:${mosq.port}
    clientId: cluster-edge
    topics: |
      up/# out 1
`;
  const { config } = loadConfig({ file: 'starling.yaml', text: yaml, env: {} });
  const members: Array<{ m: Member; stop: () => Promise<void>; bridges: ReturnType<typeof bridgesFromConfig> }> = [];
  for (const name of ['ba', 'bb']) {
    const m = await member(t, redis.url, name);
    const bridges = bridgesFromConfig(m.broker, config.bridges);
    const stop = await placeBridges(m.broker, bridges, true, (b, err) => assert.fail(`bridge ${b}: ${err.message}`));
    t.after(stop);
    members.push({ m, stop, bridges });
  }
  const connected = (): string[] => members.filter((x) => x.bridges.bridges[0]!.status().state === 'connected').map((x) => x.m.name);
  await until('one member runs the bridge', () => connected().length === 1, 10_000);
  // Long enough for the other member's lease attempts to run several times.
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(connected().length, 1, `bridges connected on ${connected().join(', ')}`);
  const leader = members.find((x) => x.m.name === connected()[0])!;
  const other = members.find((x) => x !== leader)!;
  // Not merely disconnected at this instant: never started, so it never took the remote
  // client id from the member running it.
  assert.equal(other.bridges.bridges[0]!.status().state, 'stopped');
  assert.equal(leader.bridges.bridges[0]!.status().reconnects, 0);

  const there = await recorder(t, mosq.url, {}, { 'up/#': { qos: 1 } });
  const pub = await mqtt.connectAsync(other.m.url, { clientId: 'cluster-bridge-pub', reconnectPeriod: 0 });
  t.after(() => pub.endAsync());
  await until(
    'a message published on the member without the bridge reaches the remote',
    async () => {
      await pub.publishAsync('up/one', 'via-cluster', { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
      return there.on('up/one').length > 0;
    },
    10_000,
    0,
  );

  // The member running the bridges stops: the other takes them over.
  await leader.stop();
  await leader.m.close();
  await until('the other member runs the bridge', () => other.bridges.bridges[0]!.status().state === 'connected', 10_000);
  await until(
    'a message published after the move reaches the remote',
    async () => {
      await pub.publishAsync('up/two', 'after-move', { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
      return there.on('up/two').length > 0;
    },
    10_000,
    0,
  );
});
