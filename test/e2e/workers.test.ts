// `starling --workers N` end to end: the real command, its workers found by their pids in
// the log lines, reached by MQTT.js through the one shared port; a worker killed with
// SIGKILL comes back, SIGHUP reaches every worker, SIGTERM stops them all.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort, have, run, start, type Proc } from '../helpers/tools.js';
import { makePki, openssl } from '../transport/pki.js';
import { until } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'starling-workers-'));
const procs = new Set<Proc>();
const clients = new Set<MqttClient>();

after(() => {
  for (const c of clients) c.end(true);
  for (const p of procs) p.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

interface Line {
  msg: string;
  worker?: number;
  pid?: number;
  clientId?: string;
  [k: string]: unknown;
}

function lines(p: Proc): Line[] {
  return p.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let runs = 0;
/** `starling --workers 2 --isolated-workers` on a free port, its own data directory, lines at once. */
async function workers(extra: string[] = []): Promise<{ proc: Proc; port: number; data: string; pids: number[] }> {
  const port = await freePort();
  const data = join(dir, `data-${++runs}`);
  const proc = start(
    process.execPath,
    [CLI, '--workers', '2', '--isolated-workers', '--port', String(port), '--set', `persistence.dataDir=${data}`, '--set', 'log.flushInterval=0', ...extra],
    { timeoutMs: 30_000 },
  );
  procs.add(proc);
  const serving = JSON.parse(await proc.line(/"msg":"2 workers serving"/, 15_000)) as { pids: number[] };
  return { proc, port, data, pids: serving.pids };
}

let ids = 0;
async function connect(port: number): Promise<{ client: MqttClient; clientId: string }> {
  const clientId = `w-${++ids}`;
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5 });
  clients.add(client);
  return { client, clientId };
}

/** Which worker logged `clientId`'s connection. */
async function workerOf(proc: Proc, clientId: string): Promise<Line> {
  const line = await proc.line(new RegExp(`"clientId":"${clientId}"[^\\n]*"msg":"client connected"`), 5000);
  return JSON.parse(line) as Line;
}

/** Connects clients until one lands on each worker in `want` (the OS picks; bounded). */
async function oneOnEach(proc: Proc, port: number, want: number[]): Promise<Map<number, { client: MqttClient; pid: number }>> {
  const found = new Map<number, { client: MqttClient; pid: number }>();
  for (let i = 0; i < 40 && want.some((w) => !found.has(w)); i++) {
    const { client, clientId } = await connect(port);
    const line = await workerOf(proc, clientId);
    if (!found.has(line.worker!)) found.set(line.worker!, { client, pid: line.pid! });
  }
  return found;
}

/** A message from the client to itself: its worker serves it. */
async function echo(client: MqttClient, topic: string): Promise<void> {
  await client.subscribeAsync(topic, { qos: 1 });
  const got = new Promise<string>((resolve) => client.once('message', (_t, payload) => resolve(payload.toString())));
  await client.publishAsync(topic, 'hi', { qos: 1 });
  assert.equal(await got, 'hi');
}

test('workers 1: --workers 2 runs two brokers on one port, each with its own store; clients reach both', async () => {
  const { proc, port, data, pids } = await workers();
  assert.equal(pids.length, 2);
  assert.equal(new Set(pids).size, 2);
  const found = await oneOnEach(proc, port, [1, 2]);
  assert.deepEqual([...found.keys()].sort(), [1, 2], 'a client on each worker');
  for (const [w, { client, pid }] of found) {
    assert.equal(pid, pids[w - 1], `worker ${w}'s lines carry its pid`);
    await echo(client, `workers/echo/${w}`);
  }
  // One SQLite store per broker, named after the worker so a restart finds its own again.
  assert.ok(existsSync(join(data, 'worker-1', 'starling.db')));
  assert.ok(existsSync(join(data, 'worker-2', 'starling.db')));
  // Both listen on the port they were given: the one the primary shares.
  const listening = lines(proc).filter((l) => l.msg === `listening on 127.0.0.1:${port}`);
  assert.deepEqual(listening.map((l) => l.worker).sort(), [1, 2]);
  proc.kill('SIGTERM');
  const exit = await proc.exited;
  assert.equal(exit.code, 0, exit.stderr);
  for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} stopped`);
  const stopped = lines({ stdout: exit.stdout } as Proc).filter((l) => l.msg === 'broker stopped');
  assert.deepEqual(stopped.map((l) => l.worker).sort(), [1, 2], 'both stopped gracefully');
});

test('workers 2: a worker killed with SIGKILL is restarted (backoff from workers.restartDelay) and serves again', async () => {
  const { proc, port, pids } = await workers(['--set', 'workers.restartDelay=100', '--set', 'persistence.store=memory']);
  const victim = pids[0]!;
  process.kill(victim, 'SIGKILL');
  const died = JSON.parse(await proc.line(/"msg":"worker died: restarting it"/, 5000)) as Line;
  assert.equal(died.worker, 1);
  assert.equal(died.signal, 'SIGKILL');
  assert.equal(died.restartInMs, 100);
  const back = JSON.parse(await proc.line(/"msg":"worker restarted"/, 10_000)) as Line;
  assert.equal(back.worker, 1);
  assert.equal(back.restarts, 1);
  const fresh = back.workerPid as number;
  assert.notEqual(fresh, victim);
  assert.ok(alive(fresh));
  assert.ok(alive(pids[1]!), 'the other worker was not touched');
  const found = await oneOnEach(proc, port, [1]);
  const one = found.get(1);
  assert.ok(one, 'a client reached the restarted worker');
  assert.equal(one.pid, fresh);
  await echo(one.client, 'workers/after-restart');
  proc.kill('SIGTERM');
  const exit = await proc.exited;
  assert.equal(exit.code, 0, exit.stderr);
  assert.equal(alive(fresh), false);
  assert.equal(alive(pids[1]!), false);
});

test('workers 3: SIGHUP to the primary reloads every worker; each serves its own HTTP port', async () => {
  const config = join(dir, 'hup.yaml');
  writeFileSync(config, 'limits:\n  maxInflight: 32\nhttp:\n  port: 0\n');
  const { proc, pids } = await workers(['--config', config, '--set', 'persistence.store=memory']);
  // http.port 0: each worker picks its own free port (not one shared through the primary).
  await until('two "http listening" lines', () => lines(proc).filter((l) => /^http listening on /.test(l.msg)).length === 2);
  const http = lines(proc).filter((l) => /^http listening on /.test(l.msg));
  const ports = http.map((l) => Number(/:(\d+)$/.exec(l.msg)![1]));
  assert.equal(new Set(ports).size, 2, `two HTTP ports: ${ports.join(', ')}`);
  for (const p of ports) assert.equal((await fetch(`http://127.0.0.1:${p}/healthz`)).status, 200);
  writeFileSync(config, 'limits:\n  maxInflight: 64\nhttp:\n  port: 0\n');
  proc.kill('SIGHUP');
  await until('both workers reloaded', () => lines(proc).filter((l) => l.msg === 'config reloaded').length === 2);
  const reloaded = lines(proc).filter((l) => l.msg === 'config reloaded');
  assert.deepEqual(reloaded.map((l) => l.pid).sort(), [...pids].sort());
  assert.ok(reloaded.every((l) => l.live === 1 && l.restart === 0), 'the worker-specific settings are not seen as changes');
  proc.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0);
});

test('workers 4: --workers is refused without a cluster section, with a unix listener, and with a bad count', async () => {
  const port = String(await freePort());
  const noCluster = await run(process.execPath, [CLI, '--workers', '2', '--port', port, '--set', 'persistence.store=memory'], { timeoutMs: 10_000 });
  assert.equal(noCluster.code, 2);
  assert.match(noCluster.stderr, /needs a `cluster` section/);
  assert.match(noCluster.stderr, /--isolated-workers/);
  assert.doesNotMatch(noCluster.stdout, /workers serving/);
  const unix = await run(
    process.execPath,
    [CLI, '--workers', '2', '--isolated-workers', '--port', port, '--set', 'listeners[1].type=unix', '--set', `listeners[1].path=${join(dir, 's.sock')}`],
    { timeoutMs: 10_000 },
  );
  assert.equal(unix.code, 2);
  assert.match(unix.stderr, /unix listener .* cannot be shared by workers/);
  for (const bad of ['0', 'x', '257']) {
    const exit = await run(process.execPath, [CLI, '--workers', bad, '--isolated-workers', '--port', port], { timeoutMs: 10_000 });
    assert.equal(exit.code, 2, bad);
    assert.match(exit.stderr, /--workers is a number from 1 to 256 or "auto"/);
  }
});

test('workers 5: a worker that cannot start stops the others, and the command exits 1', async () => {
  const net = await import('node:net');
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const taken = (blocker.address() as { port: number }).port;
  try {
    const exit = await run(
      process.execPath,
      [CLI, '--workers', '2', '--isolated-workers', '--port', String(await freePort()), '--set', 'persistence.store=memory', '--set', `http.port=${taken}`],
      { timeoutMs: 20_000 },
    );
    assert.equal(exit.code, 1, exit.stderr);
    assert.match(exit.stderr, /cannot open the HTTP server: listen EADDRINUSE/);
    // Worker 1's port is taken; worker 2's (the next) is free unless another test has it.
    assert.match(exit.stderr, /worker [12] could not start \(exit code 1\)/);
  } finally {
    blocker.close();
  }
});

test('workers 6: --help documents --workers and --isolated-workers', async () => {
  const exit = await run(process.execPath, [CLI, '--help']);
  assert.equal(exit.code, 0);
  assert.match(exit.stdout, /--workers \[N\|auto\] +run N broker processes sharing the listeners' ports \(auto, or\s+no value: one per core\)/);
  assert.match(exit.stdout, /--isolated-workers/);
  assert.match(exit.stdout, /docs\/workers\.md/);
});

test('workers 11: TLS and WebSocket listeners are shared by the workers as TCP ones are', async (t) => {
  if (!have(t, openssl)) return;
  const pki = makePki();
  t.after(() => rmSync(pki.dir, { recursive: true, force: true }));
  const [tlsPort, wsPort] = [await freePort(), await freePort()];
  const { proc } = await workers([
    '--set', 'persistence.store=memory',
    '--set', 'listeners[1].type=tls', '--set', `listeners[1].port=${tlsPort}`, '--set', `listeners[1].tls.cert=${pki.server.cert}`, '--set', `listeners[1].tls.key=${pki.server.key}`,
    '--set', 'listeners[2].type=ws', '--set', `listeners[2].port=${wsPort}`,
  ]);
  for (const [kind, url, extra] of [
    ['tls', `mqtts://127.0.0.1:${tlsPort}`, { ca: pki.caPem, servername: 'localhost' }],
    ['ws', `ws://127.0.0.1:${wsPort}/mqtt`, {}],
  ] as const) {
    const seen = new Set<number>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const clientId = `${kind}-${++ids}`;
      const client = await mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, connectTimeout: 5000, ...extra });
      clients.add(client);
      seen.add((await workerOf(proc, clientId)).worker!);
    }
    assert.deepEqual([...seen].sort(), [1, 2], `${kind}: clients on both workers`);
  }
  proc.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0);
});

test('workers 12: the workers start with --no-parallel-scavenge, unless workers.parallelScavenge is true', async () => {
  const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  for (const [extra, want] of [[[], true], [['--set', 'workers.parallelScavenge=true'], false]] as const) {
    const { proc, pids } = await workers(['--set', 'persistence.store=memory', ...extra]);
    for (const pid of pids) assert.equal(cmdline(pid).includes('--no-parallel-scavenge'), want, `worker ${pid}: ${cmdline(pid).join(' ')}`);
    // The primary runs no broker and keeps Node's default.
    assert.equal(cmdline(proc.child.pid!).includes('--no-parallel-scavenge'), false);
    proc.kill('SIGTERM');
    assert.equal((await proc.exited).code, 0);
  }
});

test('workers 15: --workers with no value runs one worker per core', async () => {
  const port = await freePort();
  const cores = availableParallelism();
  const proc = start(process.execPath, [CLI, '--workers', '--isolated-workers', '--port', String(port), '--set', 'persistence.store=memory', '--set', 'log.flushInterval=0'], { timeoutMs: 30_000 });
  procs.add(proc);
  const serving = JSON.parse(await proc.line(/"msg":"\d+ workers serving"/, 15_000)) as { msg: string; pids: number[] };
  assert.equal(serving.msg, `${cores} workers serving`);
  assert.equal(serving.pids.length, cores);
  proc.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0);
});
