// The starling command runs the bridges of its config file: they connect after the
// listeners open, carry messages, and stop with the broker on SIGTERM.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, start } from '../helpers/tools.js';
import { flowing, recorder } from './helpers.js';
import { startMosquitto } from './mosquitto.js';

test('bridge 9: the starling command starts the bridges of its config and stops them on SIGTERM', async (t) => {
  const mosq = await startMosquitto(t);
  if (mosq === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'starling-bridge-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  writeFileSync(
    join(dir, 'starling.yaml'),
    `listeners:
  - port: ${port}
persistence:
  dataDir: ${join(dir, 'data')}
bridges:
  - name: central
    addresses: mqtt://127.0.0.1:${mosq.port}
    clientId: cli-edge
    topics: |
      up/# out 1
      down/# in 1
`,
  );
  const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;
  const proc = start(process.execPath, [cli, '-c', join(dir, 'starling.yaml')], { timeoutMs: 60_000 });
  t.after(() => proc.kill('SIGKILL'));
  await proc.line(/"msg":"bridge connected"/, 10_000);
  const here = await recorder(t, `mqtt://127.0.0.1:${port}`, {}, { 'down/#': { qos: 1 } });
  const there = await recorder(t, mosq.url, {}, { 'up/#': { qos: 1 } });
  await flowing(here.client, 'up/a', there, 'up/a');
  await flowing(there.client, 'down/b', here, 'down/b');
  await here.client.endAsync();
  proc.kill('SIGTERM');
  const exit = await proc.exited;
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /"msg":"broker stopped"/);
});

test('bridge 9b: with --workers 2 only worker 1 runs the bridges (one remote connection, not one per worker)', async (t) => {
  const mosq = await startMosquitto(t);
  if (mosq === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'starling-bridge-workers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  writeFileSync(
    join(dir, 'starling.yaml'),
    `listeners:
  - port: ${port}
persistence:
  dataDir: ${join(dir, 'data')}
log:
  flushInterval: 0
bridges:
  - name: central
    addresses: mqtt://127.0.0.1:${mosq.port}
    clientId: workers-edge
    topics: |
      up/# out 1
`,
  );
  const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;
  const proc = start(process.execPath, [cli, '-c', join(dir, 'starling.yaml'), '--workers', '2', '--isolated-workers'], { timeoutMs: 60_000 });
  t.after(() => proc.kill('SIGTERM'));
  await proc.line(/"msg":"2 workers serving"/, 20_000);
  await proc.line(/"msg":"bridge connected"/, 10_000);
  // Two bridges with one client id would take the session from each other over and over.
  await new Promise((r) => setTimeout(r, 1500));
  const connected = proc.stdout.split('\n').filter((l) => l.includes('"msg":"bridge connected"'));
  assert.equal(connected.length, 1, connected.join('\n'));
  assert.match(connected[0]!, /"worker":1/);
  proc.kill('SIGTERM');
  const exit = await proc.exited;
  assert.equal(exit.code, 0, exit.stderr);
});
