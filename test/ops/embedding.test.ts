// createOpsServer() in-process, as an embedding program uses it: readiness follows the
// broker's life, byte and packet counters are exact, load averages follow Mosquitto's
// formula, the exposition escapes what it must, and secrets never leave the config.

import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { encode } from '../../src/codec/index.js';
import { loadConfig, redactSecrets, REDACTED } from '../../src/config/index.js';
import { createBroker, createOpsServer } from '../../src/index.js';
import { Exposition, Histogram } from '../../src/ops/metrics.js';
import { SysTopics } from '../../src/ops/sys.js';
import { RawClient, startBroker } from '../helpers/broker.js';
import { parsePrometheus, value } from './prometheus.js';

test('/readyz is 503 until the broker listens and again once it has stopped; config and reload are 501 without callbacks', async () => {
  const broker = createBroker({ logLevel: false, listeners: [{ port: 0, host: '127.0.0.1' }] });
  const ops = createOpsServer(broker, { sysInterval: 0, http: { port: 0, adminToken: 't' } });
  await ops.start();
  const base = `http://127.0.0.1:${ops.address!.port}`;
  try {
    const early = await fetch(`${base}/readyz`);
    assert.equal(early.status, 503);
    assert.equal(((await early.json()) as { ready: boolean }).ready, false);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    await broker.listen();
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const auth = { headers: { authorization: 'Bearer t' } };
    assert.equal((await fetch(`${base}/api/v1/config`, auth)).status, 501);
    assert.equal((await fetch(`${base}/api/v1/reload`, { ...auth, method: 'POST' })).status, 501);
    await broker.close();
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
  } finally {
    await ops.close();
    await broker.close();
  }
});

test('bytes and packets are counted exactly in both directions', async () => {
  const { broker, port, close } = await startBroker();
  try {
    const c = await RawClient.connect(port, { clientId: 'counted', protocolVersion: 4 });
    c.send({ type: 'pingreq' });
    await c.expect('pingresp');
    const connect = encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'counted' }, 4);
    const s = broker.stats;
    assert.equal(s.packetsReceived, 2);
    assert.equal(s.bytesReceived, connect.length + 2);
    assert.equal(s.packetsSent, 2);
    assert.equal(s.bytesSent, 4 + 2); // CONNACK (3.1.1) and PINGRESP
    c.send({ type: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 1 });
    await c.expect('puback');
    assert.deepEqual(s.publishReceived, [0, 1, 0]);
    c.destroy();
  } finally {
    await close();
  }
});

test('load averages follow Mosquitto: a steady 60 publishes a minute reaches 60*(1-e^-1) on the 1 min average after a minute', () => {
  mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  try {
    const broker = createBroker({ logLevel: false });
    const sys = new SysTopics(broker, 0, 'test');
    broker.stats.publishReceived[0] += 60;
    mock.timers.tick(60_000);
    sys.tick();
    const v = sys.values();
    assert.equal(v['$SYS/broker/load/publish/received/1min'], (60 * (1 - Math.exp(-1))).toFixed(2));
    assert.equal(v['$SYS/broker/load/publish/received/5min'], (60 * (1 - Math.exp(-60 / 300))).toFixed(2));
    assert.equal(v['$SYS/broker/load/publish/received/15min'], (60 * (1 - Math.exp(-60 / 900))).toFixed(2));
    assert.equal(v['$SYS/broker/uptime'], '60 seconds');
    assert.equal(v['$SYS/broker/version'], 'starling version test');
    // Published retained through the broker, which holds them now.
    assert.equal(broker.retained.match('$SYS/broker/load/publish/received/1min')[0]!.payload.toString(), v['$SYS/broker/load/publish/received/1min']);
  } finally {
    mock.timers.reset();
  }
});

test('the exposition escapes label values and HELP text, and the histogram is cumulative', () => {
  const out = new Exposition();
  out.gauge('x_gauge', 'help with \\ and\nnewline', [[{ path: 'a"b\\c\nd' }, 1.5]]);
  out.counter('x_total', 'a counter', 3);
  const h = new Histogram([0.1, 1]);
  for (const v of [0.05, 0.5, 5]) h.observe(v);
  h.write(out, 'x_seconds', 'a histogram');
  const families = parsePrometheus(out.toString());
  assert.equal(families.get('x_gauge')!.samples[0]!.labels.path, 'a"b\\c\nd');
  assert.equal(families.get('x_gauge')!.help, 'help with \\\\ and\\nnewline');
  assert.equal(value(families, 'x_seconds', { le: '0.1' }, 'x_seconds_bucket'), 1);
  assert.equal(value(families, 'x_seconds', { le: '1' }, 'x_seconds_bucket'), 2);
  assert.equal(value(families, 'x_seconds', { le: '+Inf' }, 'x_seconds_bucket'), 3);
  assert.equal(value(families, 'x_seconds', {}, 'x_seconds_sum'), 5.55);
});

test('redactSecrets hides the admin token and leaves the rest', () => {
  const loaded = loadConfig({ text: 'http:\n  port: 9000\n  adminToken: hunter2\n', env: {} });
  const shown = redactSecrets(loaded.config);
  assert.equal((shown.http as Record<string, unknown>).adminToken, REDACTED);
  assert.equal((shown.http as Record<string, unknown>).port, 9000);
  assert.equal(loaded.config.http.adminToken, 'hunter2', 'the running config is untouched');
  assert.ok(!JSON.stringify(shown).includes('hunter2'));
  const none = redactSecrets(loadConfig({ env: {} }).config);
  assert.equal((none.http as Record<string, unknown>).adminToken, undefined);
});

test('docs/admin-api.yaml describes every admin endpoint with the methods it answers', async () => {
  const { readFileSync } = await import('node:fs');
  const { parse } = await import('yaml');
  const { ROUTES } = await import('../../src/ops/admin.js');
  const doc = parse(readFileSync(new URL('../../../docs/admin-api.yaml', import.meta.url), 'utf8')) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  assert.match(doc.openapi, /^3\./);
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((k) => k !== 'parameters')
      .map((m) => `${m.toUpperCase()} ${path.replace('/api/v1/', '').replace('{clientId}', ':id')}`),
  );
  const served = Object.entries(ROUTES).flatMap(([route, methods]) => methods.map((m) => `${m} ${route}`));
  assert.deepEqual(documented.sort(), served.sort());
});
