// Login storms against the password check: how many password guesses one attacker gets per
// second, how much CPU its storm costs, and how long a correct login from another address
// takes meanwhile.
//   npm run bench:logins          (or: node dist/bench/login-storm.js [--seconds 20] [--scenario NAME])
//
// The broker runs in a child process (this file with --serve): createBroker() with fileAuth()
// at its defaults and a password file of Starling's default scrypt hashes (about 0.25 s of
// one core each); there node:crypto's scrypt and pbkdf2 are wrapped to count the hashes
// computed for the attacker's guesses, and the CPU figure is the child's alone. The attacker
// connects from 127.0.0.2, the legitimate user (bob) from 127.0.0.3, one login a second,
// each timed from CONNECT to CONNACK.
//
//   abandon    16 CONNECTs a second for alice with wrong passwords, each socket closed 60 ms
//              after its CONNECT, never waiting for the answer
//   alternate  a wrong password for alice, then a correct login to the attacker's own
//              account (mallory), each answer awaited, over and over
//   unknown    300 CONNECTs for a user who does not exist, sent at once, every 5 s

import { fork, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Decoder, encode, type ConnectPacket } from '../src/codec/index.js';
import { createBroker } from '../src/index.js';
import { createRecord, fileAuth, passwordLine } from '../src/auth/index.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    scenario: { type: 'string', multiple: true },
    serve: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write('Usage: node dist/bench/login-storm.js [--seconds 20] [--scenario abandon|alternate|unknown ...]\n');
  process.exit(0);
}
const SECONDS = Number(args.seconds);
const SCENARIOS = args.scenario ?? ['abandon', 'alternate', 'unknown'];
const ATTACKER = '127.0.0.2';
const LEGIT = '127.0.0.3';

// --- the broker (child process) -------------------------------------------------------------

interface Report {
  guessHashes: number;
  otherHashes: number;
  cpu: NodeJS.CpuUsage;
}

async function serve(passwordFile: string): Promise<void> {
  const report: Report = { guessHashes: 0, otherHashes: 0, cpu: { user: 0, system: 0 } };
  const count = (password: unknown): void => {
    if (Buffer.from(password as Buffer).toString().startsWith('guess-')) report.guessHashes++;
    else report.otherHashes++;
  };
  const realScrypt = crypto.scrypt;
  const realPbkdf2 = crypto.pbkdf2;
  (crypto as { scrypt: unknown }).scrypt = (password: unknown, ...rest: unknown[]) => {
    count(password);
    return (realScrypt as (...a: unknown[]) => void)(password, ...rest);
  };
  (crypto as { pbkdf2: unknown }).pbkdf2 = (password: unknown, ...rest: unknown[]) => {
    count(password);
    return (realPbkdf2 as (...a: unknown[]) => void)(password, ...rest);
  };
  syncBuiltinESMExports();
  const broker = createBroker({ logLevel: false, listeners: [{ port: 0, host: '127.0.0.1' }], hooks: [fileAuth({ passwordFile })] });
  const [info] = await broker.listen();
  process.on('message', (m: string) => {
    if (m === 'report') process.send!({ ...report, cpu: process.cpuUsage() });
    if (m === 'stop') void broker.close().then(() => process.exit(0));
  });
  process.send!({ port: info!.port });
}

// --- one CONNECT ----------------------------------------------------------------------------

interface Attempt {
  /** The CONNACK's reason code, or undefined when the socket closed (or was abandoned) first. */
  code: Promise<number | undefined>;
  abandon(): void;
}

function attempt(port: number, from: string, username: string, password: string): Attempt {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  socket.on('error', () => {});
  const code = new Promise<number | undefined>((resolve) => {
    const d = new Decoder((p) => {
      if (p.type === 'connack') resolve(p.reasonCode);
      socket.destroy();
    }, { role: 'client', protocolVersion: 5 });
    socket.on('data', (chunk: Buffer) => d.push(chunk));
    socket.on('close', () => resolve(undefined));
  });
  const connect: ConnectPacket = {
    type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0,
    clientId: `${username}-${Math.random().toString(36).slice(2, 10)}`, username, password: Buffer.from(password),
  };
  socket.on('connect', () => socket.write(encode(connect, 5)));
  return { code, abandon: () => socket.destroy() };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- the run --------------------------------------------------------------------------------

interface Figures {
  scenario: string;
  seconds: number;
  guessesPerSecond: number;
  cpuSeconds: number;
  legit: { logins: number; failed: number; p50: number; max: number };
  attacker: string;
}

async function run(scenario: string): Promise<Figures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'starling-logins-'));
  const lines = [];
  for (const [user, password] of [['alice', 'correct horse'], ['bob', 'battery staple'], ['mallory', 'mine']] as const) {
    lines.push(passwordLine(user, await createRecord('scrypt', Buffer.from(password))));
  }
  const passwordFile = path.join(dir, 'passwd');
  writeFileSync(passwordFile, `${lines.join('\n')}\n`);
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve', passwordFile], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  const report = async (): Promise<Report> => {
    child.send('report');
    return ((await once(child, 'message')) as [Report])[0];
  };

  let stop = false;
  let sent = 0;
  let answered = 0;
  const attacker = (async (): Promise<void> => {
    if (scenario === 'abandon') {
      while (!stop) {
        const a = attempt(port, ATTACKER, 'alice', `guess-${sent++}`);
        void a.code.then((c) => (c !== undefined ? answered++ : undefined));
        setTimeout(() => a.abandon(), 60);
        await sleep(1000 / 16);
      }
    } else if (scenario === 'alternate') {
      while (!stop) {
        sent++;
        if ((await attempt(port, ATTACKER, 'alice', `guess-${sent}`).code) !== undefined) answered++;
        await attempt(port, ATTACKER, 'mallory', 'mine').code;
      }
    } else if (scenario === 'unknown') {
      while (!stop) {
        for (let i = 0; i < 300; i++) void attempt(port, ATTACKER, 'nobody', `guess-${sent++}`).code.then((c) => (c !== undefined ? answered++ : undefined));
        for (let i = 0; i < 50 && !stop; i++) await sleep(100);
      }
    } else {
      throw new Error(`unknown scenario ${scenario}`);
    }
  })();

  const latencies: number[] = [];
  let failed = 0;
  const r0 = await report();
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    const started = performance.now();
    const login = attempt(port, LEGIT, 'bob', 'battery staple');
    // A login still unanswered after 10 s counts as refused.
    const giveUp = setTimeout(() => login.abandon(), 10_000);
    const code = await login.code;
    clearTimeout(giveUp);
    if (code === 0) latencies.push(performance.now() - started);
    else failed++;
    await sleep(Math.max(0, 1000 - (performance.now() - started)));
  }
  const seconds = (performance.now() - t0) / 1000;
  const r1 = await report();
  const guesses = r1.guessHashes - r0.guessHashes;
  const cpu = { user: r1.cpu.user - r0.cpu.user, system: r1.cpu.system - r0.cpu.system };
  stop = true;
  await attacker;
  child.send('stop');
  await once(child, 'exit');
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const ms = (v: number | undefined): number => Math.round(v ?? NaN);
  return {
    scenario,
    seconds: Math.round(seconds * 10) / 10,
    guessesPerSecond: Math.round((guesses / seconds) * 10) / 10,
    cpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 10) / 10,
    legit: { logins: latencies.length, failed, p50: ms(latencies[Math.floor(latencies.length / 2)]), max: ms(latencies.at(-1)) },
    attacker: `${sent} CONNECTs, ${answered} answered`,
  };
}

if (args.serve !== undefined) await serve(args.serve);
else for (const s of SCENARIOS) {
  const f = await run(s);
  process.stdout.write(
    `${f.scenario.padEnd(10)} ${f.seconds} s: attacker ${f.attacker}; password hashes started for its guesses ${f.guessesPerSecond}/s; ` +
      `broker CPU ${f.cpuSeconds} s; bob's logins ${f.legit.logins} ok, ${f.legit.failed} refused or unanswered in 10 s, CONNACK after p50 ${f.legit.p50} ms, max ${f.legit.max} ms\n`,
  );
}
