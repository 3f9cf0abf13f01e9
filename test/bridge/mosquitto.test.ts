// Starling bridged to a real Mosquitto (Debian's): each direction with prefixes, at QoS 0, 1
// and 2, over MQTT 3.1.1 and 5.0; nothing echoed back across the bridge.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QoS } from '../../src/codec/types.js';
import { until } from '../helpers/wait.js';
import { bridgedStarling, flowing, linkUp, recorder } from './helpers.js';
import { startMosquitto } from './mosquitto.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const protocol of ['mqttv311', 'mqttv50'] as const) {
  test(`bridge 1: out, in and both with prefixes at QoS 0, 1 and 2 against Mosquitto (${protocol})`, async (t) => {
    const mosq = await startMosquitto(t);
    if (mosq === undefined) return;
    const { tb, bridge } = await bridgedStarling(
      t,
      `bridges:
  - name: central
    addresses: mqtt://127.0.0.1:${mosq.port}
    protocol: ${protocol}
    clientId: edge-${protocol}
    reconnectDelay: 100
    maxReconnectDelay: 500
    topics: |
      out/# out 2 edge/ central/
      in/# in 2 edge/ central/
      both/# both 2 edge/ central/
`,
    );
    await linkUp(bridge);
    const v = protocol === 'mqttv50' ? 5 : 4;
    const local = await recorder(t, tb.url, { protocolVersion: v, clientId: 'local-watch' }, { 'edge/#': { qos: 2 } });
    const remote = await recorder(t, mosq.url, { protocolVersion: v, clientId: 'remote-watch' }, { 'central/#': { qos: 2 } });
    await flowing(remote.client, 'central/in/probe', local, 'edge/in/probe');
    await flowing(local.client, 'edge/out/probe', remote, 'central/out/probe');

    for (const qos of [0, 1, 2] as QoS[]) {
      await local.client.publishAsync(`edge/out/q${qos}`, `out ${qos}`, { qos });
      await remote.client.publishAsync(`central/in/q${qos}`, `in ${qos}`, { qos });
      await local.client.publishAsync(`edge/both/here/q${qos}`, `here ${qos}`, { qos });
      await remote.client.publishAsync(`central/both/there/q${qos}`, `there ${qos}`, { qos });
    }
    await until('every message across', () => [0, 1, 2].every((q) => remote.on(`central/out/q${q}`).length && local.on(`edge/in/q${q}`).length && remote.on(`central/both/here/q${q}`).length && local.on(`edge/both/there/q${q}`).length), 10_000).catch((err: Error) => {
      throw new Error(`${err.message}; here: ${JSON.stringify(local.messages)}; there: ${JSON.stringify(remote.messages)}`);
    });
    await sleep(300); // time for an echo, if there were one
    for (const qos of [0, 1, 2]) {
      // Each arrives once, at its QoS, under the other side's prefix.
      assert.deepEqual(remote.on(`central/out/q${qos}`).map((m) => [m.payload, m.qos]), [[`out ${qos}`, qos]]);
      assert.deepEqual(local.on(`edge/in/q${qos}`).map((m) => [m.payload, m.qos]), [[`in ${qos}`, qos]]);
      assert.deepEqual(remote.on(`central/both/here/q${qos}`).map((m) => [m.payload, m.qos]), [[`here ${qos}`, qos]]);
      assert.deepEqual(local.on(`edge/both/there/q${qos}`).map((m) => [m.payload, m.qos]), [[`there ${qos}`, qos]]);
      // No loop: what crossed is not sent back to where it came from.
      assert.equal(local.on(`edge/both/here/q${qos}`).length, 1, 'the local publish is seen once here');
      assert.equal(remote.on(`central/both/there/q${qos}`).length, 1, 'the remote publish is seen once there');
    }
    // `out` rules bring nothing in, `in` rules send nothing out.
    assert.equal(local.messages.filter((m) => m.topic.startsWith('edge/out/') && !m.topic.endsWith('probe')).length, 3, 'only the local publishes');
    assert.equal(remote.messages.filter((m) => m.topic.startsWith('central/in/') && !m.topic.endsWith('probe')).length, 3, 'only the remote publishes');
    const s = bridge.status();
    assert.equal(s.state, 'connected');
    assert.ok(s.messagesOut >= 6 && s.messagesIn >= 6, JSON.stringify(s));
  });
}

test('bridge 1: a retained message keeps its retain flag across the bridge both ways (5.0 Retain As Published, 3.1.1 bridge flag)', async (t) => {
  const mosq = await startMosquitto(t);
  if (mosq === undefined) return;
  for (const protocol of ['mqttv311', 'mqttv50'] as const) {
    const { tb, bridge } = await bridgedStarling(
      t,
      `bridges:
  - name: r-${protocol}
    addresses: mqtt://127.0.0.1:${mosq.port}
    protocol: ${protocol}
    clientId: retain-${protocol}
    topics: |
      ${protocol}/# both 1
`,
    );
    await linkUp(bridge);
    const local = await recorder(t, tb.url, {}, { [`${protocol}/#`]: { qos: 1 } });
    const remote = await recorder(t, mosq.url, {}, { [`${protocol}/#`]: { qos: 1 } });
    await flowing(remote.client, `${protocol}/probe-in`, local, `${protocol}/probe-in`);
    await flowing(local.client, `${protocol}/probe-out`, remote, `${protocol}/probe-out`);
    await local.client.publishAsync(`${protocol}/kept-out`, 'o', { qos: 1, retain: true });
    await remote.client.publishAsync(`${protocol}/kept-in`, 'i', { qos: 1, retain: true });
    await until('retained messages across', () => remote.on(`${protocol}/kept-out`).length > 0 && local.on(`${protocol}/kept-in`).length > 0);
    // Stored as retained on the other side: a new subscriber gets them.
    const lateRemote = await recorder(t, mosq.url, {}, { [`${protocol}/kept-out`]: { qos: 1 } });
    const lateLocal = await recorder(t, tb.url, {}, { [`${protocol}/kept-in`]: { qos: 1 } });
    await until('retained messages for late subscribers', () => lateRemote.messages.length > 0 && lateLocal.messages.length > 0);
    assert.equal(lateRemote.messages[0]!.retain, true);
    assert.equal(lateLocal.messages[0]!.retain, true);
  }
});
