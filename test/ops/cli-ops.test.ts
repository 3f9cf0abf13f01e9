// Operations end to end: the real `starling` process with $SYS every second, the HTTP server
// on a free port and an admin token from the environment; MQTT.js clients make known traffic
// and the tests read it back from $SYS, /metrics and the admin API.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt, { type IClientOptions, type IDisconnectPacket, type MqttClient } from 'mqtt';
import { encode } from '../../src/codec/index.js';
import { start, type Proc } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';
import { parsePrometheus, value } from './prometheus.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PKG = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
const TOKEN = 'ops-test-token-5e1f';
const dir = mkdtempSync(join(tmpdir(), 'starling-ops-'));
const configFile = join(dir, 'starling.yaml');
const procs = new Set<Proc>();
const clients = new Set<MqttClient>();

function config(maxInflight: number): string {
  return `listeners:\n  - port: 0\nlimits:\n  maxInflight: ${maxInflight}\npersistence:\n  dataDir: ${join(dir, 'data')}\nsys:\n  interval: 1\nhttp:\n  port: 0\n`;
}

interface Running {
  proc: Proc;
  mqttPort: number;
  http: string;
}

async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const proc = start(process.execPath, [CLI, ...args], { timeoutMs: 30_000, env: { ...process.env, ...env } });
  procs.add(proc);
  const mqttLine = await proc.line(/"msg":"listening on /);
  const httpLine = await proc.line(/"msg":"http listening on /);
  const port = (line: string): number => Number(/:(\d+)"/.exec(JSON.parse(line).msg + '"')![1]);
  return { proc, mqttPort: port(mqttLine), http: `http://127.0.0.1:${port(httpLine)}` };
}

async function connect(port: number, options: IClientOptions): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
  clients.add(client);
  return client;
}

interface Response {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function http(url: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const { token = TOKEN, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(url, { ...rest, headers });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

let broker: Running;
let sub: MqttClient;
let pub: MqttClient;
const sys = new Map<string, string>();
const received: Array<[string, string]> = [];
const N = 7;

before(async () => {
  writeFileSync(configFile, config(100));
  broker = await serve(['-c', configFile], { STARLING_HTTP_ADMIN_TOKEN: TOKEN });
  // A persistent session: its subscriptions and QoS 1 deliveries make store commits to measure.
  sub = await connect(broker.mqttPort, { protocolVersion: 5, clientId: 'ops-sub', keepalive: 30, clean: false, properties: { sessionExpiryInterval: 60 } });
  sub.on('message', (topic, payload) => {
    if (topic.startsWith('$SYS/')) sys.set(topic, payload.toString());
    else received.push([topic, payload.toString()]);
  });
  await sub.subscribeAsync('ops/#', { qos: 1 });
  await sub.subscribeAsync('$SYS/broker/#', { qos: 0 });
  pub = await connect(broker.mqttPort, { protocolVersion: 4, clientId: 'ops-pub', keepalive: 20 });
});

after(() => {
  for (const c of clients) c.end(true);
  for (const p of procs) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

test('$SYS topics carry Mosquitto\'s names and count the traffic clients made', async () => {
  for (let i = 0; i < N; i++) await pub.publishAsync('ops/n', `message ${i}`, { qos: 1 });
  await until('the subscriber to get every message', () => received.filter(([t]) => t === 'ops/n').length === N);
  const p = '$SYS/broker/';
  await until(`publish/messages/received = ${N}`, () => sys.get(`${p}publish/messages/received`) === String(N), 4000);
  assert.equal(sys.get(`${p}version`), `starling version ${PKG.version}`);
  assert.match(sys.get(`${p}uptime`) ?? '', /^\d+ seconds$/);
  assert.equal(sys.get(`${p}clients/connected`), '2');
  assert.equal(sys.get(`${p}clients/maximum`), '2');
  assert.equal(sys.get(`${p}subscriptions/count`), '2');
  // The subscriber got N messages, plus the $SYS ones.
  assert.ok(Number(sys.get(`${p}publish/messages/sent`)) >= N);
  // Every packet counts: CONNECTs, SUBSCRIBEs and PUBLISHes at least.
  assert.ok(Number(sys.get(`${p}messages/received`)) >= N + 4);
  const publishBytes = N * (2 + 2 + 'ops/n'.length + 2 + 'message 0'.length);
  assert.ok(Number(sys.get(`${p}bytes/received`)) > publishBytes, sys.get(`${p}bytes/received`));
  assert.ok(Number(sys.get(`${p}bytes/sent`)) > publishBytes);
  assert.ok(Number(sys.get(`${p}retained messages/count`)) >= 20, 'the $SYS topics themselves are retained');
  for (const name of ['messages/received', 'publish/received', 'bytes/received', 'bytes/sent', 'connections']) {
    for (const window of ['1min', '5min', '15min']) assert.match(sys.get(`${p}load/${name}/${window}`) ?? '', /^\d+\.\d\d$/, `load/${name}/${window}`);
  }
  await until('a publish load above zero', () => Number(sys.get(`${p}load/publish/received/1min`)) > 0, 3000);
});

test('/healthz answers 200 and /readyz 200 once the store is open and every listener listens', async () => {
  const health = await http(`${broker.http}/healthz`, { token: null });
  assert.equal(health.status, 200);
  assert.deepEqual(health.json, { status: 'ok' });
  const ready = await http(`${broker.http}/readyz`, { token: null });
  assert.equal(ready.status, 200);
  assert.equal(ready.json.ready, true);
  assert.equal(ready.json.store, 'open');
  assert.equal(ready.json.listeners.length, 1);
  assert.equal((await http(`${broker.http}/healthz`, { method: 'POST', token: null })).status, 405);
  assert.equal((await http(`${broker.http}/nothing`, { token: null })).status, 404);
});

test('/metrics is valid Prometheus text with counters, gauges, the commit histogram and labelled families', async () => {
  // One protocol error: a packet of the reserved type 0.
  const bad = net.connect(broker.mqttPort, '127.0.0.1');
  await new Promise<void>((resolve) => bad.on('connect', resolve));
  bad.end(Buffer.from([0x00, 0x00]));
  await new Promise<void>((resolve) => bad.on('close', () => resolve()));

  const scrapeErrors = async (): Promise<number> =>
    parsePrometheus((await http(`${broker.http}/metrics`, { token: null })).text).get('starling_protocol_errors_total')!.samples.length;
  await until('the protocol error in /metrics', async () => (await scrapeErrors()) > 0, 4000, 100);
  const scrape = await http(`${broker.http}/metrics`, { token: null });
  assert.equal(scrape.status, 200);
  assert.match(scrape.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheus(scrape.text);
  for (const f of families.values()) {
    assert.ok(f.help !== undefined && f.help.length > 0, `${f.name} has HELP`);
    assert.ok(f.name.startsWith('starling_'), f.name);
    if (f.type === 'counter') assert.ok(f.name.endsWith('_total'), `counter ${f.name} ends in _total`);
  }
  const types: Record<string, string> = {
    starling_connections: 'gauge',
    starling_clients_connected: 'gauge',
    starling_sessions: 'gauge',
    starling_subscriptions: 'gauge',
    starling_messages_received_total: 'counter',
    starling_messages_sent_total: 'counter',
    starling_bytes_received_total: 'counter',
    starling_bytes_sent_total: 'counter',
    starling_messages_dropped_total: 'counter',
    starling_limit_hits_total: 'counter',
    starling_auth_failures_total: 'counter',
    starling_protocol_errors_total: 'counter',
    starling_queued_messages: 'gauge',
    starling_inflight_messages: 'gauge',
    starling_store_commit_duration_seconds: 'histogram',
    starling_event_loop_delay_seconds: 'summary',
    starling_process_resident_memory_bytes: 'gauge',
  };
  for (const [name, type] of Object.entries(types)) assert.equal(families.get(name)?.type, type, name);
  assert.equal(value(families, 'starling_clients_connected'), 2);
  assert.equal(value(families, 'starling_subscriptions'), 2);
  assert.equal(value(families, 'starling_messages_received_total', { qos: '1' }), N);
  assert.equal(value(families, 'starling_messages_received_total', { qos: '0' }), 0);
  assert.ok(value(families, 'starling_messages_sent_total', { qos: '1' }) >= N);
  assert.ok(value(families, 'starling_bytes_received_total') > 0);
  assert.equal(value(families, 'starling_messages_dropped_total', { reason: 'queue_full' }), 0);
  assert.equal(value(families, 'starling_limit_hits_total', { limit: 'auth_failure' }), 0);
  const errors = families.get('starling_protocol_errors_total')!.samples;
  assert.ok(errors.length >= 1, 'the bad packet was counted');
  for (const e of errors) {
    assert.match(e.labels.code ?? '', /^0x[0-9a-f]{2}$/);
    assert.ok((e.labels.reason ?? '').length > 0);
  }
  // The retained $SYS messages go to the sqlite store: its commits fill the histogram.
  assert.ok(value(families, 'starling_store_commit_duration_seconds', {}, 'starling_store_commit_duration_seconds_count') > 0);
  assert.ok(value(families, 'starling_process_resident_memory_bytes') > 0);
  assert.ok(value(families, 'starling_event_loop_delay_seconds', { quantile: '0.99' }) >= 0);
});

const ENDPOINTS: Array<[string, string]> = [
  ['GET', 'clients'],
  ['GET', 'clients/ops-sub'],
  ['POST', 'clients/ops-sub/disconnect'],
  ['GET', 'subscriptions'],
  ['GET', 'retained'],
  ['DELETE', 'retained?topic=a'],
  ['POST', 'publish'],
  ['GET', 'config'],
  ['POST', 'reload'],
  ['GET', 'stats'],
];

test('every admin endpoint answers 401 without the bearer token or with a wrong one', async () => {
  for (const [method, path] of ENDPOINTS) {
    const none = await http(`${broker.http}/api/v1/${path}`, { method, token: null });
    assert.equal(none.status, 401, `${method} ${path}`);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await http(`${broker.http}/api/v1/${path}`, { method, token: 'wrong' })).status, 401, `${method} ${path} wrong token`);
  }
  assert.ok(sub.connected, 'nothing was done without the token');
  assert.equal((await http(`${broker.http}/api/v1/nothing`)).status, 404);
  assert.equal((await http(`${broker.http}/api/v1/clients`, { method: 'DELETE' })).status, 405);
});

test('the admin API lists and inspects clients: address, protocol version, keep alive, subscriptions, queue and in flight', async () => {
  const list = await http(`${broker.http}/api/v1/clients`);
  assert.equal(list.status, 200);
  assert.equal(list.json.total, 2);
  assert.deepEqual(list.json.clients.map((c: { id: string }) => c.id).sort(), ['ops-pub', 'ops-sub']);
  const one = await http(`${broker.http}/api/v1/clients/ops-sub`);
  assert.equal(one.status, 200);
  assert.equal(one.json.id, 'ops-sub');
  assert.equal(one.json.connected, true);
  assert.match(one.json.address, /^127\.0\.0\.1:\d+$/);
  assert.equal(one.json.protocolVersion, 5);
  assert.equal(one.json.keepAlive, 30);
  assert.equal(one.json.queued, 0);
  assert.equal(typeof one.json.inflight, 'number');
  assert.deepEqual(one.json.subscriptions.map((s: { filter: string }) => s.filter).sort(), ['$SYS/broker/#', 'ops/#']);
  const v4 = await http(`${broker.http}/api/v1/clients/ops-pub`);
  assert.equal(v4.json.protocolVersion, 4);
  assert.equal(v4.json.keepAlive, 20);
  assert.equal((await http(`${broker.http}/api/v1/clients/nobody`)).status, 404);
});

test('the admin API lists subscriptions, of all clients or of one', async () => {
  const all = await http(`${broker.http}/api/v1/subscriptions`);
  assert.equal(all.status, 200);
  assert.equal(all.json.total, 2);
  const opsSub = all.json.subscriptions.find((s: { filter: string }) => s.filter === 'ops/#');
  assert.equal(opsSub.clientId, 'ops-sub');
  assert.equal(opsSub.qos, 1);
  const none = await http(`${broker.http}/api/v1/subscriptions?clientId=ops-pub`);
  assert.equal(none.json.total, 0);
});

test('the admin API publishes a message that subscribers receive', async () => {
  const before = received.length;
  const res = await http(`${broker.http}/api/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic: 'ops/api', payload: 'from the admin API', qos: 1 }),
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.deliveredTo, 1);
  await until('the published message', () => received.length > before);
  assert.deepEqual(received.at(-1), ['ops/api', 'from the admin API']);
  const b64 = await http(`${broker.http}/api/v1/publish`, { method: 'POST', body: JSON.stringify({ topic: 'ops/b64', payload: Buffer.from([1, 2, 3]).toString('base64'), encoding: 'base64' }) });
  assert.equal(b64.status, 200);
  for (const body of ['{"topic":"ops/#"}', '{"topic":"ops/x","qos":3}', 'not json', '[]']) {
    assert.equal((await http(`${broker.http}/api/v1/publish`, { method: 'POST', body })).status, 400, body);
  }
});

test('the admin API reads and deletes retained messages', async () => {
  const put = await http(`${broker.http}/api/v1/publish`, { method: 'POST', body: JSON.stringify({ topic: 'ops/retained/x', payload: 'kept', retain: true }) });
  assert.equal(put.status, 200);
  const read = await http(`${broker.http}/api/v1/retained?filter=${encodeURIComponent('ops/retained/#')}`);
  assert.equal(read.status, 200);
  assert.equal(read.json.total, 1);
  assert.deepEqual(read.json.messages[0], { topic: 'ops/retained/x', payload: 'kept', encoding: 'utf8', qos: 0 });
  const sysRead = await http(`${broker.http}/api/v1/retained?filter=${encodeURIComponent('$SYS/broker/version')}`);
  assert.equal(sysRead.json.messages[0].payload, `starling version ${PKG.version}`);
  const del = await http(`${broker.http}/api/v1/retained?topic=${encodeURIComponent('ops/retained/x')}`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  assert.equal((await http(`${broker.http}/api/v1/retained?filter=${encodeURIComponent('ops/retained/#')}`)).json.total, 0);
  assert.equal((await http(`${broker.http}/api/v1/retained?topic=${encodeURIComponent('ops/retained/x')}`, { method: 'DELETE' })).status, 404);
  assert.equal((await http(`${broker.http}/api/v1/retained?filter=a/%23/b`)).status, 400);
});

test('the admin API shows the effective config with the token redacted', async () => {
  const res = await http(`${broker.http}/api/v1/config`);
  assert.equal(res.status, 200);
  assert.equal(res.json.http.adminToken, '[redacted]');
  assert.ok(!res.text.includes(TOKEN), 'the token is nowhere in the answer');
  assert.equal(res.json.limits.maxInflight, 100);
  assert.equal(res.json.sys.interval, 1);
});

test('a reload through the admin API applies live keys and keeps every connection', async () => {
  let dropped = false;
  for (const c of [sub, pub]) c.on('close', () => (dropped = true));
  writeFileSync(configFile, config(200));
  const res = await http(`${broker.http}/api/v1/reload`, { method: 'POST' });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { ok: true, applied: ['limits.maxInflight'], needsRestart: [] });
  assert.equal((await http(`${broker.http}/api/v1/config`)).json.limits.maxInflight, 200);
  await broker.proc.line(/"msg":"config reloaded"/);
  // Both clients are still connected and messages still flow.
  const count = received.length;
  await pub.publishAsync('ops/after-reload', 'still here', { qos: 1 });
  await until('a message after the reload', () => received.length > count);
  assert.equal(dropped, false);
  assert.equal((await http(`${broker.http}/api/v1/clients`)).json.total, 2);

  writeFileSync(configFile, 'limits:\n  maxInflight: lots\n');
  const bad = await http(`${broker.http}/api/v1/reload`, { method: 'POST' });
  assert.equal(bad.status, 422);
  assert.equal(bad.json.ok, false);
  assert.match(bad.json.error, /maxInflight/);
  writeFileSync(configFile, config(200));
  assert.equal((await http(`${broker.http}/healthz`)).status, 200);
});

test('disconnecting a client through the admin API: DISCONNECT 0x98 to a 5.0 client, a close for 3.1.1; both logged', async () => {
  const disconnect = new Promise<IDisconnectPacket>((resolve) => sub.once('disconnect', resolve));
  const res = await http(`${broker.http}/api/v1/clients/ops-sub/disconnect`, { method: 'POST' });
  assert.equal(res.status, 200);
  assert.equal((await disconnect).reasonCode, 0x98);
  const closed = new Promise<void>((resolve) => pub.once('close', () => resolve()));
  assert.equal((await http(`${broker.http}/api/v1/clients/ops-pub/disconnect`, { method: 'POST' })).status, 200);
  await closed;
  assert.equal((await http(`${broker.http}/api/v1/clients/ops-pub/disconnect`, { method: 'POST' })).status, 404);
  const lines = (): Array<Record<string, unknown>> =>
    broker.proc.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  await until('the disconnect lines', () => lines().filter((l) => l.msg === 'client disconnected').length >= 2);
  const connected = lines().find((l) => l.msg === 'client connected' && l.clientId === 'ops-sub')!;
  assert.match(String(connected.remote), /^127\.0\.0\.1:\d+$/);
  assert.equal(connected.protocolVersion, 5);
  const gone = lines().find((l) => l.msg === 'client disconnected' && l.clientId === 'ops-sub')!;
  assert.equal(gone.remote, connected.remote);
  assert.equal(gone.protocolVersion, 5);
  assert.match(String(gone.reason), /Administrative action/);
  const goneV4 = lines().find((l) => l.msg === 'client disconnected' && l.clientId === 'ops-pub')!;
  assert.equal(goneV4.protocolVersion, 4);
});

test('a refused CONNECT is logged with its remote address, protocol version and reason', async () => {
  const socket = net.connect(broker.mqttPort, '127.0.0.1');
  await new Promise<void>((resolve) => socket.on('connect', resolve));
  // 3.1.1: an empty client id needs Clean Session [MQTT-3.1.3-8]; CONNACK 0x02.
  socket.write(encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: false, keepalive: 0, clientId: '' }, 4));
  const connack = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
  assert.equal(connack[3], 0x02);
  socket.destroy();
  const line = await broker.proc.line(/"msg":"client refused"/);
  const entry = JSON.parse(line) as Record<string, unknown>;
  assert.equal(entry.protocolVersion, 4);
  assert.match(String(entry.remote), /^127\.0\.0\.1:\d+$/);
  assert.match(String(entry.reason), /refused/);
});

test('without an admin token the admin API answers 404 while metrics and health stay open; sys.interval 0 publishes no $SYS', async () => {
  const other = await serve(['--port', '0', '--set', `persistence.store=memory`, '--set', 'http.port=0', '--set', 'sys.interval=0']);
  assert.equal((await http(`${other.http}/api/v1/clients`)).status, 404);
  assert.equal((await http(`${other.http}/api/v1/clients`, { token: null })).status, 404);
  assert.equal((await http(`${other.http}/metrics`, { token: null })).status, 200);
  assert.equal((await http(`${other.http}/readyz`, { token: null })).status, 200);
  const client = await connect(other.mqttPort, { protocolVersion: 5, clientId: 'quiet' });
  const seen: string[] = [];
  client.on('message', (topic) => seen.push(topic));
  await client.subscribeAsync('$SYS/#');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(seen, [], 'no retained $SYS messages');
  // Positive control: an ordinary message does reach the same client.
  await client.subscribeAsync('quiet/t');
  await client.publishAsync('quiet/t', 'y');
  await until('the control message', () => seen.length > 0);
  assert.deepEqual(seen, ['quiet/t'], 'still no $SYS message');
  other.proc.kill('SIGTERM');
  assert.equal((await other.proc.exited).code, 0);
});
