// Login storms against fileAuth through the broker (issue 15, item 3): the hashing work a
// client can cause is bounded before it is spent (src/auth/login-guard.ts). The attacker connects from 127.0.0.2 and the other users from
// 127.0.0.3 (Linux answers every 127/8 address on loopback), so the two are different
// sources to the broker.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder, encode } from '../../src/codec/index.js';
import { createRecord, type Scheme } from '../../src/auth/hashes.js';
import { fileAuth, type FileAuthOptions } from '../../src/auth/index.js';
import { passwordLine } from '../../src/auth/password-file.js';
import { delay, startBroker, type TestBroker } from '../helpers/broker.js';

const dir = mkdtempSync(join(tmpdir(), 'starling-logins-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ATTACKER = '127.0.0.2';
const USER = '127.0.0.3';

let files = 0;
async function passwordFile(users: Array<[string, string, Scheme, number?]>): Promise<string> {
  const lines = [];
  for (const [user, password, scheme, cost] of users) {
    lines.push(passwordLine(user, await createRecord(scheme, Buffer.from(password), cost === undefined ? {} : { cost })));
  }
  const f = join(dir, `passwd-${files++}`);
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

async function broker(t: { after(fn: () => unknown): void }, options: FileAuthOptions): Promise<TestBroker> {
  const b = await startBroker({ hooks: [fileAuth(options)] });
  t.after(() => b.close());
  return b;
}

interface Login {
  /** The CONNACK's reason code; undefined when the socket closed first (or was abandoned). */
  readonly code: Promise<number | undefined>;
  abandon(): void;
}

const sockets = new Set<net.Socket>();
after(() => {
  for (const s of sockets) s.destroy();
});

/** One 5.0 CONNECT from `from`; the socket closes once the CONNACK is in. */
function login(b: TestBroker, from: string, username: string, password: string): Login {
  const socket = net.connect({ port: b.port, host: '127.0.0.1', localAddress: from });
  sockets.add(socket);
  socket.on('error', () => {});
  const code = new Promise<number | undefined>((resolve) => {
    const d = new Decoder((p) => {
      if (p.type === 'connack') resolve(p.reasonCode);
      socket.destroy();
    }, { role: 'client', protocolVersion: 5 });
    socket.on('data', (chunk: Buffer) => d.push(chunk));
    socket.on('close', () => {
      sockets.delete(socket);
      resolve(undefined);
    });
  });
  socket.on('connect', () =>
    socket.write(encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: `${username}-${Math.random().toString(36).slice(2)}`, username, password: Buffer.from(password) }, 5)),
  );
  return { code, abandon: () => socket.destroy() };
}

async function timed(l: Login): Promise<[number | undefined, number]> {
  const t0 = performance.now();
  const code = await l.code;
  return [code, performance.now() - t0];
}

/** Wrong passwords for `user` from the attacker, `perSecond`, each socket closed `abandonMs` after it opens. */
function storm(b: TestBroker, user: string, perSecond: number, abandonMs: number): { stop(): Promise<void>; sent: () => number } {
  let stopped = false;
  let sent = 0;
  const running = (async () => {
    while (!stopped) {
      const l = login(b, ATTACKER, user, `guess-${sent++}`);
      setTimeout(() => l.abandon(), abandonMs);
      await delay(1000 / perSecond);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await running;
    },
    sent: () => sent,
  };
}

test('hardening 3: guesses sent without waiting for the answers are not checked at the rate they are sent: the right one among them is not accepted', async (t) => {
  const b = await broker(t, { passwordFile: await passwordFile([['alice', 'wonderland', 'pbkdf2-sha512', 1000]]), failureDelay: { initialMs: 200, maxMs: 2000 } });
  // 20 guesses, one every 50 ms, each abandoned after 40 ms (a cheap hash answers within
  // that when nothing holds it back); the last one is right.
  const answers: Array<Promise<number | undefined>> = [];
  for (let i = 0; i < 20; i++) {
    const l = login(b, ATTACKER, 'alice', i === 19 ? 'wonderland' : `guess-${i}`);
    answers.push(l.code);
    setTimeout(() => l.abandon(), 40);
    await delay(50);
  }
  const codes = await Promise.all(answers);
  assert.equal(codes[19] === 0, false, `the right password, guessed 20th within a second, is not accepted (${JSON.stringify(codes)})`);
  assert.ok(codes.includes(0x9f), 'guesses beyond the source\'s bound are refused unchecked with 0x9F');
});

test('hardening 3: a successful login to the attacker\'s own account does not reset the delay against another user', async (t) => {
  const b = await broker(t, {
    passwordFile: await passwordFile([['alice', 'wonderland', 'pbkdf2-sha512', 1000], ['mallory', 'mine', 'pbkdf2-sha512', 1000]]),
    failureDelay: { initialMs: 100, maxMs: 5000 },
  });
  const refusals: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [code, ms] = await timed(login(b, ATTACKER, 'alice', `guess-${i}`));
    assert.equal(code, 0x86);
    refusals.push(ms);
    assert.equal(await login(b, ATTACKER, 'mallory', 'mine').code, 0, 'mallory logs in');
  }
  // 100, 200, 400, 800 ms: the count against alice keeps growing through mallory's successes.
  assert.ok(refusals[3]! >= 700, `the 4th refusal for alice came after ${Math.round(refusals[3]!)} ms (all: ${refusals.map(Math.round).join(', ')})`);
});

test('hardening 3: under a storm of abandoned wrong passwords, a correct login from elsewhere is answered within 1 s', async (t) => {
  // alice's hash is the default scrypt (about 0.25 s of CPU per check); bob's is cheap, so
  // his login takes long only if it waits behind the storm's hashes.
  const b = await broker(t, { passwordFile: await passwordFile([['alice', 'wonderland', 'scrypt'], ['bob', 'builder', 'pbkdf2-sha512', 1000]]) });
  const s = storm(b, 'alice', 16, 60);
  try {
    await delay(2000);
    for (let i = 0; i < 3; i++) {
      const [code, ms] = await timed(login(b, USER, 'bob', 'builder'));
      assert.equal(code, 0);
      assert.ok(ms < 1000, `bob's login ${i + 1} was answered after ${Math.round(ms)} ms`);
      await delay(300);
    }
  } finally {
    await s.stop();
  }
});

test('hardening 3: 300 CONNECTs for an unknown user cost no hash each: a correct login from elsewhere is answered within 1 s', async (t) => {
  const b = await broker(t, { passwordFile: await passwordFile([['alice', 'wonderland', 'scrypt'], ['bob', 'builder', 'pbkdf2-sha512', 1000]]) });
  const burst = Array.from({ length: 300 }, (_, i) => login(b, ATTACKER, 'nobody', `guess-${i}`));
  await delay(500);
  const [code, ms] = await timed(login(b, USER, 'bob', 'builder'));
  assert.equal(code, 0);
  assert.ok(ms < 1000, `bob's login was answered after ${Math.round(ms)} ms`);
  let refused = 0;
  for (const l of burst) void l.code.then((c) => (c === 0x9f ? refused++ : undefined));
  for (let i = 0; i < 30 && refused < 290; i++) await delay(100);
  assert.ok(refused >= 290, `all but a few are refused unchecked (${refused})`);
});
