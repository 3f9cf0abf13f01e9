// The `starling` command end to end: the real CLI in a child process, found on a free port,
// reached by MQTT.js, stopped by signals; and its answers to bad flags and config files.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt, { type IClientOptions, type IDisconnectPacket, type MqttClient } from 'mqtt';
import { freePort, run, start, type Proc } from '../helpers/tools.js';

// dist/test/e2e/ -> dist/src/cli/main.js, and the repository's package.json.
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PKG = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const dir = mkdtempSync(join(tmpdir(), 'starling-cli-'));
const procs = new Set<Proc>();
const clients = new Set<MqttClient>();

after(() => {
  for (const c of clients) c.end(true);
  for (const p of procs) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

let stores = 0;
/** Each process gets its own data directory: one store per broker. */
function cli(args: string[], timeoutMs = 8000): Proc {
  const data = join(dir, `data-${++stores}`);
  const p = start(process.execPath, [CLI, '--set', `persistence.dataDir=${data}`, ...args], { timeoutMs });
  procs.add(p);
  return p;
}

/**
 * Starts the CLI on a free port and waits for its pino "listening" line. The line comes a
 * moment before the CLI installs its signal handlers, so a test completes an MQTT exchange
 * before it sends a signal.
 */
async function serve(extra: string[] = []): Promise<{ proc: Proc; port: number; listening: Record<string, unknown> }> {
  const port = await freePort();
  const proc = cli(['--port', String(port), ...extra]);
  const line = await proc.line(/"msg":"listening on /);
  return { proc, port, listening: JSON.parse(line) as Record<string, unknown> };
}

async function connect(port: number, options: IClientOptions): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
  clients.add(client);
  return client;
}

test('the CLI logs a JSON "listening" line with the port it was given and serves MQTT.js clients', async () => {
  const { proc, port, listening } = await serve();
  assert.equal(listening.msg, `listening on 127.0.0.1:${port}`);
  assert.equal(listening.level, 30);
  const sub = await connect(port, { protocolVersion: 5, clientId: 'e2e-sub' });
  const pub = await connect(port, { protocolVersion: 4, clientId: 'e2e-pub' });
  await sub.subscribeAsync('e2e/hello', { qos: 1 });
  const got = new Promise<[string, Buffer]>((resolve) => sub.once('message', (topic, payload) => resolve([topic, payload])));
  await pub.publishAsync('e2e/hello', 'from 3.1.1 to 5.0', { qos: 1 });
  const [topic, payload] = await got;
  assert.equal(topic, 'e2e/hello');
  assert.equal(payload.toString(), 'from 3.1.1 to 5.0');
  proc.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0);
});

test('reconnect storm 13: log lines are written in batches (log.flushInterval), and all of them before the process exits', async () => {
  // A long interval: the first batch ('listening on') comes 3 s after start-up, and the
  // 'client connected' lines wait in the next one until SIGTERM writes them.
  const { proc, port } = await serve(['--set', 'log.flushInterval=3000']);
  const ids = ['storm-1', 'storm-2', 'storm-3'];
  for (const clientId of ids) await connect(port, { protocolVersion: 4, clientId });
  assert.doesNotMatch(proc.stdout, /client connected/, 'held back until the interval ends');
  proc.kill('SIGTERM');
  const exit = await proc.exited;
  assert.equal(exit.code, 0, exit.stderr);
  const lines = exit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; clientId?: string });
  assert.deepEqual(lines.filter((l) => l.msg === 'client connected').map((l) => l.clientId), ids);
  assert.equal(lines.at(-1)!.msg, 'broker stopped');
});

test('on SIGTERM a connected 5.0 client gets DISCONNECT 0x8B Server shutting down and the process exits 0', async () => {
  const { proc, port } = await serve();
  const client = await connect(port, { protocolVersion: 5, clientId: 'e2e-sigterm' });
  const disconnect = new Promise<IDisconnectPacket>((resolve) => client.once('disconnect', resolve));
  proc.kill('SIGTERM');
  const packet = await disconnect;
  assert.equal(packet.reasonCode, 0x8b);
  const exit = await proc.exited;
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /"signal":"SIGTERM"/);
});

test('on SIGINT a 3.1.1 client is disconnected without a DISCONNECT packet and the process exits 0', async () => {
  const { proc, port } = await serve();
  const client = await connect(port, { protocolVersion: 4, clientId: 'e2e-sigint' });
  let disconnectPacket = false;
  client.on('disconnect', () => (disconnectPacket = true));
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  proc.kill('SIGINT');
  await closed;
  assert.equal(disconnectPacket, false, '3.1.1 has no server DISCONNECT');
  assert.equal((await proc.exited).code, 0);
});

test('--help prints the usage and exits 0', async () => {
  const exit = await run(process.execPath, [CLI, '--help']);
  assert.equal(exit.code, 0);
  assert.match(exit.stdout, /^Usage: starling \[options\]/m);
  assert.match(exit.stdout, /--port PORT/);
});

test('--version prints the package version and exits 0', async () => {
  const exit = await run(process.execPath, [CLI, '--version']);
  assert.equal(exit.code, 0);
  assert.equal(exit.stdout.trim(), PKG.version);
});

test('an unknown flag exits 2 naming the flag', async () => {
  const exit = await run(process.execPath, [CLI, '--prot', '1883']);
  assert.equal(exit.code, 2);
  assert.match(exit.stderr, /--prot/);
  assert.match(exit.stderr, /starling --help/);
});

test('--port 99999 exits 2 saying what a port may be', async () => {
  const exit = await run(process.execPath, [CLI, '--port', '99999']);
  assert.equal(exit.code, 2);
  assert.match(exit.stderr, /--port.*expected an integer from 0 to 65535/);
  assert.match(exit.stderr, /99999/);
});

test('a config file with an unknown key exits 2 naming the file and line and suggesting the right key', async () => {
  const file = join(dir, 'typo.yaml');
  writeFileSync(file, 'log:\n  level: warn\nlistners:\n  - port: 1883\n');
  const exit = await run(process.execPath, [CLI, '--config', file]);
  assert.equal(exit.code, 2);
  assert.ok(exit.stderr.includes(`${file}:3:1:`), `stderr names ${file}:3:1: ${exit.stderr}`);
  assert.match(exit.stderr, /unknown key "listners"/);
  assert.match(exit.stderr, /did you mean "listeners"\?/);
});

test('a config file that is not valid YAML exits 2 naming the line of the mistake', async () => {
  const file = join(dir, 'syntax.yaml');
  writeFileSync(file, 'log:\n  level: warn\nlisteners:\n  - port: 1883\n   host: 127.0.0.1\n');
  const exit = await run(process.execPath, [CLI, '--config', file]);
  assert.equal(exit.code, 2);
  assert.ok(exit.stderr.includes(`${file}:5:`), `stderr names ${file}:5: ${exit.stderr}`);
});

test('a wrong type in the config file exits 2 saying what was expected', async () => {
  const file = join(dir, 'type.yaml');
  writeFileSync(file, 'limits:\n  maxInflight: lots\n');
  const exit = await run(process.execPath, [CLI, '--config', file]);
  assert.equal(exit.code, 2);
  assert.ok(exit.stderr.includes(`${file}:2:16:`), `stderr names ${file}:2:16: ${exit.stderr}`);
  assert.match(exit.stderr, /maxInflight/);
});

test('--print-config shows the effective config with flags applied', async () => {
  const exit = await run(process.execPath, [CLI, '--print-config', '--port', '1999', '--set', 'limits.maxInflight=64']);
  assert.equal(exit.code, 0);
  assert.match(exit.stdout, /port: 1999/);
  assert.match(exit.stdout, /maxInflight: 64/);
});

test('--from-mosquitto converts a mosquitto.conf and lists what it could not convert', async () => {
  const file = join(dir, 'mosquitto.conf');
  writeFileSync(file, 'listener 1884 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 40\nconnection_messages true\n');
  const exit = await run(process.execPath, [CLI, '--from-mosquitto', file]);
  assert.equal(exit.code, 0);
  assert.match(exit.stdout, /port: 1884/);
  assert.match(exit.stdout, /maxInflight: 40/);
  assert.match(exit.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: .*connection_messages`));
});

// `starling --from-mosquitto m.conf > starling.yaml` is a file a user edits and appends to:
// it ends in one newline, whether it ends in a value, the "Not converted" comment or is empty.
test('hardening 14: --from-mosquitto writes YAML that ends in exactly one newline', async () => {
  const fixture = fileURLToPath(new URL('../../../test/config/fixtures/mosquitto.conf', import.meta.url));
  const cases: Record<string, string> = {
    'values only': 'listener 1884 127.0.0.1\nallow_anonymous true',
    'ends with the unconverted list': 'listener 1884 127.0.0.1\nconnection_messages true\n',
    'nothing converted': 'frobnicate 3\n',
    empty: '',
  };
  for (const [name, text] of [...Object.entries(cases), ['the plant broker fixture', readFileSync(fixture, 'utf8')] as const]) {
    const file = join(dir, `newline-${name.replace(/\W+/g, '-')}.conf`);
    writeFileSync(file, text);
    const exit = await run(process.execPath, [CLI, '--from-mosquitto', file]);
    assert.equal(exit.code, 0, `${name}: ${exit.stderr}`);
    assert.match(exit.stdout, /[^\n]\n$/, `${name}: output ends ${JSON.stringify(exit.stdout.slice(-40))}`);
    if (exit.stderr !== '') assert.match(exit.stderr, /\n$/, `${name}: the report ends ${JSON.stringify(exit.stderr.slice(-40))}`);
  }
});

test('a SIGTERM sent the moment the listening line appears still stops the broker gracefully', async () => {
  const { proc } = await serve([]);
  proc.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0);
});

test('--port overrides the port of the config file\'s listener', async () => {
  const file = join(dir, 'listener.yaml');
  const configured = await freePort();
  writeFileSync(file, JSON.stringify({ listeners: [{ port: configured, host: '127.0.0.1' }] }, null, 2));
  const { proc, port, listening } = await serve(['--config', file]);
  assert.notEqual(port, configured);
  assert.equal(listening.msg, `listening on 127.0.0.1:${port}`);
  const client = await connect(port, { protocolVersion: 4, clientId: 'e2e-override' });
  await client.endAsync();
  proc.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0);
});

test('a port already in use exits 1 with "cannot listen"', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    const port = (blocker.address() as net.AddressInfo).port;
    const exit = await run(process.execPath, [CLI, '--set', `persistence.dataDir=${join(dir, 'data-in-use')}`, '--port', String(port)]);
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /cannot listen/);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

test('starling passwd makes a password file the broker checks, and SIGHUP reloads it without dropping clients', async () => {
  const passwords = join(dir, 'passwd');
  const made = await run(process.execPath, [CLI, 'passwd', '-c', '-b', passwords, 'alice', 'wonder']);
  assert.equal(made.code, 0, made.stderr);
  const file = join(dir, 'auth.yaml');
  writeFileSync(file, `auth:\n  passwordFile: ${passwords}\n`);
  const { proc, port } = await serve(['--config', file]);
  const alice = await connect(port, { protocolVersion: 5, clientId: 'e2e-alice', username: 'alice', password: 'wonder' });
  await assert.rejects(
    mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, protocolVersion: 5, clientId: 'e2e-mallory', username: 'alice', password: 'guess' }),
    /Bad User Name or Password|134|bad/i,
  );
  // A user added to the file is known after SIGHUP; alice stays connected throughout.
  assert.equal((await run(process.execPath, [CLI, 'passwd', '-b', passwords, 'bob', 'builder'])).code, 0);
  proc.kill('SIGHUP');
  let bob: MqttClient | undefined;
  for (let i = 0; i < 20 && bob === undefined; i++) {
    await new Promise((r) => setTimeout(r, 100));
    bob = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, protocolVersion: 5, clientId: 'e2e-bob', username: 'bob', password: 'builder' }).catch(() => undefined);
  }
  assert.ok(bob, 'bob can connect after the reload');
  clients.add(bob);
  assert.equal(alice.connected, true);
  proc.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0);
});

test('with log.pretty the CLI writes one readable line per event instead of JSON', async () => {
  const port = await freePort();
  const proc = cli(['--port', String(port), '--set', 'log.pretty=true']);
  const line = await proc.line(/listening on /);
  assert.match(line, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  listening on 127\\.0\\.0\\.1:${port} listener=tcp:127\\.0\\.0\\.1:${port}$`));
  const client = await connect(port, { protocolVersion: 5, clientId: 'pretty one' });
  await proc.line(/client connected/).then((l) => assert.match(l, /INFO {2}client connected .*clientId="pretty one"/));
  await client.endAsync();
  proc.kill('SIGTERM');
  const exit = await proc.exited;
  assert.equal(exit.code, 0);
  assert.doesNotMatch(exit.stdout, /^\{/m);
});
