// The queue for the remote is the bridge's local session, in the node's store: messages
// taken in while the remote is unreachable survive a restart of Starling and are sent once
// the remote is back.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { createStore } from '../../src/index.js';
import { until } from '../helpers/wait.js';
import { bridgedStarling, linkUp } from './helpers.js';
import { startMosquitto } from './mosquitto.js';

test('bridge 2: messages queued for an unreachable remote survive a restart of Starling and are delivered once it is back', async (t) => {
  const mosq = await startMosquitto(t, { persistence: true });
  if (mosq === undefined) return;
  const dataDir = mkdtempSync(join(tmpdir(), 'starling-bridge-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  // The remote subscriber's session exists before the remote goes away.
  const watch = { clientId: 'watcher', clean: false, protocolVersion: 5 as const, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 0 };
  const first = await mqtt.connectAsync(mosq.url, watch);
  await first.subscribeAsync('central/#', { qos: 2 });
  await first.endAsync();
  await mosq.stop('SIGTERM');

  const yaml = `bridges:
  - name: central
    addresses: mqtt://127.0.0.1:${mosq.port}
    clientId: edge-restart
    reconnectDelay: 100
    maxReconnectDelay: 300
    topics: |
      # out 2 edge/ central/
`;
  const persistence = { store: 'sqlite', dataDir, durability: 'strict', batchInterval: 50 } as const;
  const a = await bridgedStarling(t, yaml, { store: createStore(persistence) });
  const publisher = await mqtt.connectAsync(a.tb.url, { clientId: 'publisher', protocolVersion: 5, reconnectPeriod: 0 });
  const sent: string[] = [];
  for (let i = 0; i < 40; i++) {
    sent.push(`m${i}`);
    await publisher.publishAsync('edge/data', `m${i}`, { qos: i % 2 === 0 ? 1 : 2 });
  }
  await publisher.endAsync();
  await until('40 messages held for the remote', () => a.bridge.status().queued + a.bridge.status().inflight === 40);
  await a.bridges.stop();
  await a.tb.close();

  // A new process, the same store: the bridge's session and its queue are back.
  const b = await bridgedStarling(t, yaml, { store: createStore(persistence) });
  await until('the queue restored', () => b.bridge.status().queued + b.bridge.status().inflight === 40);
  await mosq.restart();
  await linkUp(b.bridge);
  await until('the queue drained', () => b.bridge.status().queued + b.bridge.status().inflight === 0, 15_000);

  const got: Array<{ payload: string; qos: number }> = [];
  const second = mqtt.connect(mosq.url, watch);
  second.on('message', (_topic, payload, packet) => got.push({ payload: payload.toString(), qos: packet.qos }));
  t.after(() => second.endAsync(true).catch(() => undefined));
  await until('all 40 at the remote', () => new Set(got.map((g) => g.payload)).size === 40, 15_000).catch((err: Error) => {
    throw new Error(`${err.message}: got ${JSON.stringify(got)}; mosquitto: ${mosq.proc.stdout.slice(-3000)}`);
  });
  assert.deepEqual(
    [...new Set(got.filter((g) => g.qos === 1).map((g) => g.payload))],
    sent.filter((_, i) => i % 2 === 0),
    'QoS 1 in order',
  );
  assert.deepEqual(
    got.filter((g) => g.qos === 2).map((g) => g.payload),
    sent.filter((_, i) => i % 2 === 1),
    'QoS 2 in order, each once',
  );
});
