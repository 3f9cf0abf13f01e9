// The real `starling` process under a low open-file limit (`ulimit -n 256`), with $SYS every
// second and /metrics on: a flood of idle sockets larger than the limit must not end the
// process (it did: process.memoryUsage() in the $SYS timer threw EMFILE). The default
// limits.maxSockets, derived from the limit, refuses the excess at accept and counts it;
// with no bound the process still survives running out, and either way clients connect
// again once the flood is gone.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { start, type Proc } from '../helpers/tools.js';
import { parsePrometheus, value } from './prometheus.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'starling-nofile-'));
const procs = new Set<Proc>();
after(() => {
  for (const p of procs) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

const LIMIT = 256;
const FLOOD = 300;

interface Running {
  proc: Proc;
  mqttPort: number;
  httpPort: number;
}

async function serveWithLimit(name: string, ...args: string[]): Promise<Running> {
  const command = `ulimit -n ${LIMIT} && exec "$0" "$@"`;
  const proc = start('/bin/bash', ['-c', command, process.execPath, CLI, '-p', '0', '--set', 'sys.interval=1', '--set', 'http.port=0', '--set', `persistence.dataDir=${join(dir, name)}`, ...args], {
    timeoutMs: 60_000,
  });
  procs.add(proc);
  const port = (line: string): number => Number(/:(\d+)$/.exec(JSON.parse(line).msg as string)![1]);
  const mqttPort = port(await proc.line(/"msg":"listening on /));
  const httpPort = port(await proc.line(/"msg":"http listening on /));
  return { proc, mqttPort, httpPort };
}

async function metrics(httpPort: number): Promise<ReturnType<typeof parsePrometheus>> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(3000) });
  assert.equal(res.status, 200);
  return parsePrometheus(await res.text());
}

/** Opens `n` sockets and lets each connect or fail; none sends a byte. */
async function flood(port: number, n: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    sockets.push(s);
  }
  await Promise.all(sockets.map((s) => Promise.race([once(s, 'connect'), once(s, 'close')])));
  return sockets;
}

function alive(proc: Proc): void {
  assert.equal(proc.child.exitCode, null, `the broker exited: ${proc.stderr}`);
  assert.equal(proc.child.signalCode, null, `the broker was killed: ${proc.stderr}`);
}

async function connects(port: number): Promise<void> {
  const client: MqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000 });
  await client.endAsync();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('hardening 4: under ulimit -n 256 the default maxSockets refuses a flood at accept and counts it; $SYS and /metrics go on; clients connect again after', { timeout: 60_000 }, async () => {
  const { proc, mqttPort, httpPort } = await serveWithLimit('derived');

  // A subscriber to $SYS, connected before the flood: the timer must keep publishing.
  const sys = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000 });
  await sys.subscribeAsync('$SYS/broker/uptime');
  const uptimes: string[] = [];
  sys.on('message', (_t, payload) => uptimes.push(payload.toString()));

  const sockets = await flood(mqttPort, FLOOD);
  try {
    await sleep(2500); // two $SYS ticks and more
    alive(proc);
    const announced = JSON.parse(await proc.line(/open sockets bounded to/)) as { maxSockets: number; openFileLimit: number };
    assert.equal(announced.openFileLimit, LIMIT);
    assert.equal(announced.maxSockets, LIMIT - 128);
    const m = await metrics(httpPort);
    const refused = value(m, 'starling_transport_refused_total', { reason: 'sockets' });
    assert.ok(refused >= FLOOD - announced.maxSockets, `refused ${refused}`);
    assert.ok(value(m, 'starling_open_sockets') <= announced.maxSockets);
    assert.equal(value(m, 'starling_max_sockets'), announced.maxSockets);
    const seen = uptimes.length;
    await sleep(1500);
    assert.ok(uptimes.length > seen, '$SYS is still published during the flood');
  } finally {
    for (const s of sockets) s.destroy();
    await sys.endAsync();
  }
  await sleep(300);
  await connects(mqttPort);
  alive(proc);
});

test('hardening 4: with limits.maxSockets 0 the process survives running out of descriptors, and serves again once they are back', { timeout: 60_000 }, async () => {
  const { proc, mqttPort, httpPort } = await serveWithLimit('unbounded', '--set', 'limits.maxSockets=0');
  await proc.line(/open sockets not bounded/);
  const sockets = await flood(mqttPort, FLOOD);
  try {
    await sleep(2500); // the $SYS timer runs with no descriptor to spare
    alive(proc);
  } finally {
    for (const s of sockets) s.destroy();
  }
  await sleep(500);
  alive(proc);
  await connects(mqttPort);
  const m = await metrics(httpPort);
  assert.equal(value(m, 'starling_max_sockets'), 0);
  alive(proc);
});
