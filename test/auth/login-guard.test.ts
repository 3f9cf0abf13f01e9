// LoginGuard (src/auth/login-guard.ts) on its own, and the stand-in for an unknown user's
// hash through fileAuth: bounds decided before any hashing, sources taking turns.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder, encode } from '../../src/codec/index.js';
import { createRecord } from '../../src/auth/hashes.js';
import { fileAuth } from '../../src/auth/index.js';
import { passwordLine } from '../../src/auth/password-file.js';
import { LoginGuard } from '../../src/auth/login-guard.js';
import { delay, startBroker, type TestBroker } from '../helpers/broker.js';

const dir = mkdtempSync(join(tmpdir(), 'starling-guard-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The CONNACK code of one 5.0 CONNECT and how long it took, ms. */
async function timedLogin(b: TestBroker, username: string, password: string): Promise<[number | undefined, number]> {
  const t0 = performance.now();
  const socket = net.connect(b.port, '127.0.0.1');
  socket.on('error', () => {});
  const code = await new Promise<number | undefined>((resolve) => {
    const d = new Decoder((p) => {
      if (p.type === 'connack') resolve(p.reasonCode);
      socket.destroy();
    }, { role: 'client', protocolVersion: 5 });
    socket.on('data', (chunk: Buffer) => d.push(chunk));
    socket.on('close', () => resolve(undefined));
    socket.on('connect', () =>
      socket.write(encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: `c-${Math.random().toString(36).slice(2)}`, username, password: Buffer.from(password) }, 5)),
    );
  });
  return [code, performance.now() - t0];
}

test('hardening 3: the guard hashes at most hashConcurrency at once, one per source, and takes sources in turn', async () => {
  const guard = new LoginGuard({ hashConcurrency: 2, maxPending: 100, maxPendingPerSource: 10 }, false);
  let running = 0;
  let most = 0;
  const order: string[] = [];
  const check = (source: string) => async (): Promise<boolean> => {
    order.push(source);
    most = Math.max(most, ++running);
    await delay(20);
    running--;
    return true;
  };
  const logins = [
    ...Array.from({ length: 4 }, () => guard.check('a', 'u', check('a'))),
    ...Array.from({ length: 2 }, () => guard.check('b', 'u', check('b'))),
    guard.check('c', 'u', check('c')),
  ];
  await Promise.all(logins);
  assert.equal(most, 2);
  // a and b start at once; c, waiting, goes before a's second; a's run one after another.
  assert.deepEqual(order, ['a', 'b', 'c', 'a', 'b', 'a', 'a']);
});

test('hardening 3: beyond maxPendingPerSource and maxPending a login is refused before any work', async () => {
  const guard = new LoginGuard({ hashConcurrency: 1, maxPending: 3, maxPendingPerSource: 2 }, false);
  let checks = 0;
  const slow = async (): Promise<boolean> => {
    checks++;
    await delay(30);
    return false;
  };
  const outcomes = await Promise.all([
    guard.check('a', 'u', slow),
    guard.check('a', 'u', slow),
    guard.check('a', 'u', slow), // a's third: over its bound
    guard.check('b', 'u', slow), // the third in all
    guard.check('c', 'u', slow), // the fourth: over maxPending
  ]);
  assert.deepEqual(outcomes.map((o) => (o.ok ? 'ok' : o.why)), ['failed', 'failed', 'source', 'failed', 'busy']);
  assert.equal(checks, 3);
  assert.deepEqual({ ...guard.stats }, { hashed: 0, imitated: 0, refusedSource: 1, refusedBusy: 1, forgotten: 0 });
});

test('hardening 3: failure counts forgotten to stay within the failure memory are counted', async () => {
  const guard = new LoginGuard({}, { initialMs: 0, maxAddresses: 2 });
  for (const source of ['a', 'b', 'c']) await guard.check(source, 'u', async () => false);
  // c pushed a out of the address table, and (a, u) out of the pair table.
  assert.equal(guard.stats.forgotten, 2);
});

test('hardening 3: an unknown user is refused about as late as a wrong password for a known one, without a hash once the time is known', async (t) => {
  const passwordFile = join(dir, 'passwd');
  writeFileSync(passwordFile, `${passwordLine('alice', await createRecord('scrypt', Buffer.from('wonderland'), { cost: 4096 }))}\n`);
  const auth = fileAuth({ passwordFile, failureDelay: false });
  const b = await startBroker({ hooks: [auth] });
  t.after(() => b.close());
  const known = await timedLogin(b, 'alice', 'wrong');
  const hashed = auth.stats.logins.hashed;
  const unknown = await timedLogin(b, 'nobody', 'wrong');
  assert.equal(known[0], 0x86);
  assert.equal(unknown[0], 0x86);
  assert.equal(auth.stats.logins.hashed, hashed, 'no hash for the unknown user');
  assert.equal(auth.stats.logins.imitated, 1);
  assert.ok(unknown[1] >= known[1] * 0.5, `unknown user refused after ${Math.round(unknown[1])} ms, a wrong password after ${Math.round(known[1])} ms`);
});
