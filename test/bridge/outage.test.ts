// The remote goes away for longer than the bridge's keep alive while QoS 1 and 2 messages
// keep coming, then returns: every message arrives, in order, none twice at QoS 2, and the
// bridge stops resending once the remote has acknowledged everything.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { until } from '../helpers/wait.js';
import { bridgedStarling, linkUp } from './helpers.js';
import { startMosquitto } from './mosquitto.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const protocol of ['mqttv50', 'mqttv311'] as const) {
  test(`bridge 2: the remote stopped longer than its keep alive under QoS 1 and 2 traffic, then restarted (${protocol})`, async (t) => {
    const mosq = await startMosquitto(t, { persistence: true });
    if (mosq === undefined) return;
    const keepAlive = 2;
    const { tb, bridge } = await bridgedStarling(
      t,
      `bridges:
  - name: central
    addresses: mqtt://127.0.0.1:${mosq.port}
    protocol: ${protocol}
    clientId: edge-outage
    keepAlive: ${keepAlive}
    reconnectDelay: 100
    maxReconnectDelay: 400
    topics: |
      # out 2 edge/ central/
`,
    );
    await linkUp(bridge);
    // The remote's subscriber keeps its session across the restart, as the bridge does.
    const got: Array<{ payload: string; qos: number }> = [];
    const watcher = mqtt.connect(mosq.url, { clientId: 'watcher', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 100 });
    watcher.on('message', (_topic, payload, packet) => got.push({ payload: payload.toString(), qos: packet.qos }));
    watcher.on('error', () => undefined);
    t.after(() => watcher.endAsync(true).catch(() => undefined));
    await until('the watcher connected', () => watcher.connected);
    await watcher.subscribeAsync('central/#', { qos: 2 });

    const publisher = await mqtt.connectAsync(tb.url, { clientId: 'publisher', protocolVersion: 5, reconnectPeriod: 0 });
    t.after(() => publisher.endAsync(true).catch(() => undefined));
    const sent: Array<{ payload: string; qos: 1 | 2 }> = [];
    let n = 0;
    const publishFor = async (ms: number): Promise<void> => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const qos = n % 2 === 0 ? 1 : 2;
        const payload = `m${n++}`;
        sent.push({ payload, qos });
        await publisher.publishAsync('edge/data', payload, { qos });
        await sleep(20);
      }
    };
    await publishFor(800);
    // Frozen: the link goes silent with messages in flight, until the keep alive gives up on it.
    mosq.pause();
    await publishFor(keepAlive * 1500 + 1500);
    // MQTT.js gives up 1.5 keep alives after the last acknowledgement; a loaded machine may be late.
    await until('the keep alive found the link dead', () => bridge.status().state !== 'connected', 10_000);
    assert.ok(bridge.status().queued + bridge.status().inflight > 0, 'messages wait for the remote');
    mosq.resume();
    await publishFor(800);
    await until('the link back after the freeze', () => bridge.status().state === 'connected', 15_000);
    assert.ok(bridge.status().resent > 0, 'messages in flight at the freeze were resent (DUP, PUBREL)');
    // Stopped (it saves its sessions) for longer than the keep alive, and started again.
    await mosq.stop('SIGTERM');
    await publishFor(keepAlive * 1500 + 500);
    await until('the link down while the remote is', () => bridge.status().state !== 'connected');
    await mosq.restart();
    await publishFor(800);

    await until(`all ${sent.length} messages at the remote`, () => new Set(got.map((g) => g.payload)).size === sent.length, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${new Set(got.map((g) => g.payload)).size} arrived; bridge ${JSON.stringify(bridge.status())}`);
    });
    // In order at each QoS (MQTT orders messages of one QoS: the remote completes QoS 2
    // later than QoS 1): the first arrival of each follows the publishing order.
    const firsts = [...new Map(got.map((g) => [g.payload, g])).keys()];
    for (const qos of [1, 2]) {
      const of = (payloads: string[]): string[] => payloads.filter((p) => sent.find((s) => s.payload === p)!.qos === qos);
      assert.deepEqual(of(firsts), of(sent.map((s) => s.payload)), `QoS ${qos} messages in order`);
    }
    // At QoS 2, exactly once.
    for (const s of sent.filter((x) => x.qos === 2)) {
      assert.equal(got.filter((g) => g.payload === s.payload).length, 1, `${s.payload} (QoS 2) arrived once`);
    }
    // Resends stop: nothing in flight, and nothing more sent again over twice the keep alive.
    await until('nothing in flight', () => bridge.status().inflight === 0 && bridge.status().queued === 0);
    const resent = bridge.status().resent;
    await sleep(keepAlive * 2000);
    assert.equal(bridge.status().resent, resent, 'no resends once everything is acknowledged');
    assert.equal(bridge.status().state, 'connected');
    assert.ok(bridge.status().reconnects >= 1);
    t.diagnostic(`${sent.length} messages; ${got.length - sent.length} QoS 1 duplicates; ${resent} packets resent after the reconnection`);
  });
}
