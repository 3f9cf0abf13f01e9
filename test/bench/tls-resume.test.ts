// `starling bench connections --tls-resume`: the reconnect storm of devices that come back
// with the TLS session they had. Each client connects once unmeasured, then the measured
// round offers its session; the report says how many the broker resumed.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { bench } from '../../src/cli/bench/main.js';
import { brokerSettled, type ScenarioResult } from '../../src/cli/bench/runner.js';
import { startBroker } from '../helpers/broker.js';
import { have } from '../helpers/tools.js';
import { makePki, openssl } from '../transport/pki.js';

async function runAt(port: number, ...args: string[]): Promise<{ code: number; result: ScenarioResult }> {
  let out = '';
  const code = await bench(['connections', ...args, '--port', String(port), '--duration', '0.2', '--warmup', '0', '--timeout', '10', '--json', '--no-progress'], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: () => true },
  });
  return { code, result: JSON.parse(out) as ScenarioResult };
}

test('tls resumption 5: bench --tls-resume measures the reconnections of clients that connected once, and reports the share resumed', { timeout: 30_000 }, async (t) => {
  if (!have(t, openssl)) return;
  const pki = makePki();
  const tb = await startBroker({ listeners: [{ type: 'tls', port: 0, host: '127.0.0.1', certFile: pki.server.cert, keyFile: pki.server.key }] });
  t.after(async () => {
    await tb.close();
    pki.remove();
  });
  let connects = 0;
  tb.broker.on('clientConnected', () => connects++);
  const { code, result } = await runAt(tb.port, '--connections', '40', '--tls-resume');
  assert.equal(code, 0, result.problems.join('; '));
  assert.equal(result.options.tls, true);
  assert.equal(connects, 80, 'each client connected twice: once for its session, once measured');
  assert.equal(result.connections!.established, 40, 'only the reconnections are counted');
  assert.equal(result.connections!.resumed, 40, 'every reconnection resumed its session');

  // Without --tls-resume nothing is offered, and no share is reported.
  const full = await runAt(tb.port, '--connections', '10', '--tls');
  assert.equal(full.code, 0);
  assert.equal(full.result.connections!.resumed, undefined);
});

test('issue 15 item 13: before the measured storm, the bench waits until the broker is done with the first round (idle for 250 ms)', { timeout: 30_000 }, async () => {
  // A stand-in broker busy for 1.5 s (closing the first round), then idle.
  const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 1500; while (Date.now() < end); setTimeout(() => {}, 60_000);'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const t0 = performance.now();
    await brokerSettled(child.pid!, 0, 10_000);
    const waited = performance.now() - t0;
    assert.ok(waited >= 1000, `the storm would have started while the broker was still busy (after ${Math.round(waited)} ms)`);
    assert.ok(waited < 9000, `waited ${Math.round(waited)} ms for an idle process`);
  } finally {
    child.kill();
    await once(child, 'exit');
  }
});
