// Smoke tests of `starling bench`: each scenario for about a second against an in-process
// broker, through the command's own entry point, checking the JSON it prints. Short runs
// say nothing about speed; they show that every scenario runs, accounts for its messages
// and reports loss where loss is not allowed.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bench } from '../../src/cli/bench/main.js';
import type { ScenarioResult } from '../../src/cli/bench/runner.js';
import type { ClientInfo } from '../../src/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { have } from '../helpers/tools.js';
import { makePki, openssl, type Pki } from '../transport/pki.js';

let broker: TestBroker;
before(async () => {
  // The smoke tests check the generator's accounting, not the broker's queue bound: on a
  // loaded machine a subscriber falls behind a full-speed publisher and the default
  // limits.maxQueuedMessages (10,000) drops QoS 1/2 messages as it should, which the
  // generator rightly reports as acknowledged but never delivered. A 1 s run fits these.
  broker = await startBroker({ limits: { maxQueuedMessages: 5_000_000, maxQueuedBytes: 1 << 30 } });
});
after(() => broker.close());

async function run(...args: string[]): Promise<{ code: number; result: ScenarioResult; stderr: string }> {
  return runAt(broker.port, ...args);
}

async function runAt(port: number, ...args: string[]): Promise<{ code: number; result: ScenarioResult; stderr: string }> {
  let out = '';
  let err = '';
  const code = await bench(['--duration', '1', ...args, '--port', String(port), '--warmup', '0.2', '--timeout', '10', '--json', '--no-progress'], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  return { code, result: JSON.parse(out) as ScenarioResult, stderr: err };
}

function assertShape(r: ScenarioResult, scenario: string): void {
  assert.equal(r.scenario, scenario);
  assert.equal(typeof r.ok, 'boolean');
  assert.ok(Array.isArray(r.problems));
  assert.equal(r.target, `127.0.0.1:${broker.port}`);
  assert.ok(r.seconds > 0.5, `measured ${r.seconds} s`);
  for (const k of ['sent', 'acked', 'received', 'expected', 'unique', 'lost', 'duplicates', 'outOfOrder', 'unacked'] as const) {
    assert.equal(typeof r.messages[k], 'number', `messages.${k}`);
  }
  for (const k of ['publish', 'ack', 'delivery'] as const) assert.equal(typeof r.rates[k], 'number', `rates.${k}`);
  assert.equal(typeof r.generator.cpuPercent, 'number');
  assert.deepEqual(r.problems, [], 'no problems');
  assert.equal(r.ok, true);
}

const opts = { timeout: 30_000 };

test('fan-in: four publishers reach one wildcard subscriber, in order and without duplicates', opts, async () => {
  const { code, result } = await run('fan-in');
  assert.equal(code, 0, result.problems.join('; '));
  assertShape(result, 'fan-in');
  assert.equal(result.options.publishers, 4);
  assert.ok(result.messages.sent > 0 && result.rates.delivery > 0);
  assert.equal(result.messages.duplicates, 0);
  assert.equal(result.messages.outOfOrder, 0);
});

test('fan-out: every subscriber receives every message of the publisher', opts, async () => {
  const { code, result } = await run('fan-out', '--subscribers', '3');
  assert.equal(code, 0, result.problems.join('; '));
  assertShape(result, 'fan-out');
  assert.equal(result.messages.expected, result.messages.sent * 3);
});

test('qos1: every acknowledged message is delivered, none left unacknowledged', opts, async () => {
  const { code, result } = await run('qos1');
  assert.equal(code, 0, result.problems.join('; '));
  assertShape(result, 'qos1');
  assert.equal(result.options.qos, 1);
  assert.ok(result.messages.acked > 0);
  assert.equal(result.messages.lost, 0);
  assert.equal(result.messages.unacked, 0);
  assert.equal(result.messages.expected, result.messages.acked);
});

test('latency: a fixed rate, and percentiles in order', opts, async () => {
  const { code, result } = await run('latency', '--rate', '500');
  assert.equal(code, 0, result.problems.join('; '));
  assertShape(result, 'latency');
  const l = result.latency!;
  assert.ok(l.count > 300, `${l.count} samples`);
  assert.ok(l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.max);
  assert.ok(Math.abs(result.rates.publish - 500) < 100, `rate ${result.rates.publish}`);
});

test('connections: all idle connections are established and counted', opts, async () => {
  const { code, result } = await run('connections', '--connections', '200');
  assert.equal(code, 0, result.problems.join('; '));
  assertShape(result, 'connections');
  assert.equal(result.connections!.established, 200);
  assert.equal(result.connections!.failed, 0);
  assert.ok(result.connections!.perSecond > 0);
});

test('connections: held for --duration, with broker memory per connection at the end and 1 s in', opts, async () => {
  // The broker runs in this process, so its pid is ours.
  const { code, result } = await run('connections', '--connections', '100', '--duration', '1.5', '--pid', String(process.pid));
  assert.equal(code, 0, result.problems.join('; '));
  assert.ok(result.seconds >= 1.5, `held ${result.seconds} s`);
  assert.equal(typeof result.connections!.kbPerConnection, 'number');
  assert.equal(typeof result.connections!.kbPerConnectionAt1s, 'number');
});

test('reconnect storm 13: connections reports the CPU the broker and the generator spent per connection set up', opts, async () => {
  // The broker runs in this process, so its figure includes the generator's threads too.
  const { code, result } = await run('connections', '--connections', '200', '--duration', '0.2', '--pid', String(process.pid));
  assert.equal(code, 0, result.problems.join('; '));
  const c = result.connections!;
  assert.equal(typeof c.brokerCpuUsPerConnection, 'number');
  assert.equal(typeof c.brokerSystemUsPerConnection, 'number');
  assert.ok(c.brokerSystemUsPerConnection! <= c.brokerCpuUsPerConnection!);
  assert.ok(c.generatorCpuUsPerConnection > 0, `generator ${c.generatorCpuUsPerConnection} µs/conn`);
});

test('reconnect storm 13: connections over TLS, each a full handshake with the certificate verified by --ca', opts, async (t) => {
  if (!have(t, openssl)) return;
  const pki: Pki = makePki();
  const tb = await startBroker({ listeners: [{ type: 'tls', port: 0, host: '127.0.0.1', certFile: pki.server.cert, keyFile: pki.server.key }] });
  try {
    const seen: ClientInfo[] = [];
    tb.broker.on('clientConnected', (c) => seen.push(c));
    const { code, result } = await runAt(tb.port, 'connections', '--connections', '50', '--duration', '0.2', '--ca', pki.ca);
    assert.equal(code, 0, result.problems.join('; '));
    assert.equal(result.options.tls, true);
    assert.equal(result.connections!.established, 50);
    assert.equal(seen.length, 50);
    assert.ok(seen.every((c) => c.listener.startsWith('tls:')));

    // The certificate is checked: against a CA that did not sign it, no connection is made.
    const refused = await runAt(tb.port, 'connections', '--connections', '5', '--duration', '0.2', '--ca', join(pki.dir, 'other-ca.crt'));
    assert.equal(refused.code, 1);
    assert.equal(refused.result.connections!.established, 0);
    assert.equal(refused.result.connections!.failed, 5);
  } finally {
    await tb.close();
    pki.remove();
  }
});

test('reconnect storm 13: --tls without --ca connects without verifying; --tls with --sink is a usage error', opts, async (t) => {
  if (!have(t, openssl)) return;
  const pki: Pki = makePki();
  const tb = await startBroker({ listeners: [{ type: 'tls', port: 0, host: '127.0.0.1', certFile: pki.server.cert, keyFile: pki.server.key }] });
  try {
    const { code, result } = await runAt(tb.port, 'connections', '--connections', '20', '--duration', '0.2', '--tls');
    assert.equal(code, 0, result.problems.join('; '));
    assert.equal(result.connections!.established, 20);
  } finally {
    await tb.close();
    pki.remove();
  }
  let err = '';
  const usage = await bench(['connections', '--tls', '--sink'], { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s) } });
  assert.equal(usage, 2);
  assert.match(err, /--sink and --tls/);
});

test('topics: distinct subscriptions are all acknowledged, then random publishes are delivered', opts, async () => {
  const { code, result } = await run('topics', '--topics', '2000', '--subscribers', '4');
  assert.equal(code, 0, result.problems.join('; '));
  assertShape(result, 'topics');
  assert.equal(result.subscriptions!.acknowledged, 2000);
  assert.equal(result.messages.expected, result.messages.sent);
  assert.ok(result.messages.received > 0);
});

test('QoS 2 fan-in is exactly once', opts, async () => {
  const { code, result } = await run('fan-in', '--qos', '2', '--publishers', '2');
  assert.equal(code, 0, `${result.problems.join('; ')}; broker drops: ${JSON.stringify(broker.broker.stats.dropped)}`);
  assertShape(result, 'fan-in');
  assert.equal(result.messages.lost, 0);
  assert.equal(result.messages.duplicates, 0);
});

test('a broker that is not there fails the run with exit status 1', opts, async () => {
  let out = '';
  const code = await bench(['fan-in', '--port', '1', '--duration', '0.2', '--warmup', '0', '--timeout', '2', '--json', '--no-progress'], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: () => true },
  });
  assert.equal(code, 1);
  const r = JSON.parse(out) as ScenarioResult;
  assert.equal(r.ok, false);
  assert.ok(r.problems.length > 0);
});

test('an unknown scenario is a usage error', async () => {
  let err = '';
  const code = await bench(['fan-everywhere'], { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s) } });
  assert.equal(code, 2);
  assert.match(err, /unknown scenario/);
});
