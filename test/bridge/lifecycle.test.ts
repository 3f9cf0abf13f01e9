// A bridge's life beside the broker's: stopped and started again, its local client taken
// over, the broker shut down under it. Nothing throws out of the broker.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bridgesFromConfig } from '../../src/bridge/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import { bridgedStarling, flowing, linkUp, recorder } from './helpers.js';

const yaml = (port: number): string => `bridges:
  - name: life
    addresses: mqtt://127.0.0.1:${port}
    clientId: edge-life
    reconnectDelay: 20
    maxReconnectDelay: 50
    topics: |
      # both 1
`;

test('bridge 10: stopped and started again, a bridge carries on; its state follows', async (t) => {
  const central = await startBroker();
  t.after(() => central.close());
  const { tb, bridge } = await bridgedStarling(t, yaml(central.port));
  await linkUp(bridge);
  await bridge.stop();
  assert.equal(bridge.status().state, 'stopped');
  await until('the remote saw it go', () => !central.broker.clients.has('edge-life'));
  await bridge.start();
  await linkUp(bridge);
  const here = await recorder(t, tb.url, {}, { '#': { qos: 1 } });
  const there = await recorder(t, central.url, {}, { '#': { qos: 1 } });
  await flowing(here.client, 'a', there, 'a');
  await flowing(there.client, 'b', here, 'b');
});

test('bridge 10: a client that takes the bridge\'s local id stops the bridge, which says why', async (t) => {
  const central = await startBroker();
  t.after(() => central.close());
  const { tb, bridge } = await bridgedStarling(t, yaml(central.port));
  await linkUp(bridge);
  const intruder = await recorder(t, tb.url, { clientId: 'local.edge-life' });
  assert.ok(intruder.client.connected);
  await until('the bridge stopped', () => bridge.status().state === 'stopped');
  assert.match(bridge.status().lastError ?? '', /local client closed/);
});

test('bridge 10: the broker shut down under running bridges: they stop, nothing throws', async (t) => {
  const central = await startBroker();
  t.after(() => central.close());
  const { tb, bridge, bridges } = await bridgedStarling(t, yaml(central.port));
  await linkUp(bridge);
  await tb.close();
  await until('the bridge stopped', () => bridge.status().state === 'stopped');
  await bridges.stop();
  assert.equal(bridge.status().state, 'stopped');
});

test('bridge 10: a rule the local ACL refuses keeps the bridge from starting, and says so', async (t) => {
  const central = await startBroker();
  const tb = await startBroker({ hooks: [{ authorizeSubscribe: () => ({ ok: false, reasonCode: 0x87 }) }] });
  t.after(async () => {
    await tb.close();
    await central.close();
  });
  const { config } = loadConfig({ file: 's.yaml', text: yaml(central.port), env: {} });
  const bridges = bridgesFromConfig(tb.broker, config.bridges);
  const problems: string[] = [];
  await bridges.start((name, err) => problems.push(`${name}: ${err.message}`));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^life: subscription to "#" refused \(0x87\)/);
  assert.equal(bridges.bridges[0]!.status().state, 'stopped');
  assert.equal(tb.broker.clients.has('local.edge-life'), false, 'its local client closed');
  assert.equal(central.broker.clients.has('edge-life'), false, 'no link made');
});
