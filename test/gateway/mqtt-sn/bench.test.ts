// Smoke test of `starling bench mqtt-sn`: one short run of every part through the command's
// entry point, checking the JSON. A short run says nothing about speed; it shows that both
// paths run, deliver, account for loss, and that the memory figure counts every client.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bench } from '../../../src/cli/bench/main.js';

test('starling bench mqtt-sn: QoS 0 and 1 over MQTT-SN and MQTT, and idle memory per client, in JSON', { timeout: 120_000 }, async () => {
  let out = '';
  let err = '';
  const code = await bench(['mqtt-sn', '--duration', '1', '--rate', '2000', '--clients', '200', '--json'], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  assert.equal(code, 0, err);
  const r = JSON.parse(out) as {
    qos0: Record<'mqttSn' | 'mqtt', { sent: number; received: number; loss: number }>;
    qos1: Record<'mqttSn' | 'mqtt', { acked: number; received: number; loss: number }>;
    memory: Record<'mqttSn' | 'mqtt', { clients: number; bytesPerClient: number }>;
  };
  for (const path of ['mqttSn', 'mqtt'] as const) {
    assert.ok(r.qos0[path].sent > 0 && r.qos0[path].received > 0, `${path} QoS 0 delivered`);
    assert.ok(r.qos1[path].acked > 0, `${path} QoS 1 acknowledged`);
    // QoS 1: every acknowledged message reached the subscriber.
    assert.equal(r.qos1[path].loss, 0, `${path} QoS 1 lost nothing`);
    assert.equal(r.memory[path].clients, 200);
    assert.ok(r.memory[path].bytesPerClient > 0);
  }
});

test('starling bench mqtt-sn --help lists its options; a bad option is a usage error', async () => {
  let out = '';
  let err = '';
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } };
  assert.equal(await bench(['mqtt-sn', '--help'], io), 0);
  assert.match(out, /--inflight N/);
  assert.equal(await bench(['mqtt-sn', '--clients', 'many'], io), 2);
  assert.match(err, /--clients must be an integer/);
});
