// Recovery time: how long a broker with a big durable store takes from process start to
// accepting connections.
//   npm run bench:recovery           (or: node dist/bench/recovery.js [options])
//
// Fills a SQLite store through the store API (the records a broker would write): `--sessions`
// persistent sessions (100,000), each with one subscription and `--messages`/`--sessions`
// queued QoS 1 deliveries of distinct messages (1,000,000 in all, 64-byte payloads). It opens
// the store once in this process (the store's own part of recovery, without a broker), then
// starts the real CLI on that data directory and times the process from spawn to the pino
// "listening" line, and checks with one client that its queue came back. The page cache is
// warm (the store was just written): a cold disk adds its read time.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Decoder, encode } from '../src/codec/index.js';
import { SqliteStore, STORE_FILE } from '../src/store/index.js';
import { freePort } from './processes.js';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '100000' },
    messages: { type: 'string', default: '1000000' },
    payload: { type: 'string', default: '64' },
    starts: { type: 'string', default: '2' },
    dir: { type: 'string' },
    reuse: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write('Usage: node dist/bench/recovery.js [--sessions 100000] [--messages 1000000] [--payload 64] [--starts 2] [--dir DIR (kept)] [--reuse (start on DIR as filled by an earlier run)]\n');
  process.exit(0);
}

const SESSIONS = Number(args.sessions);
const MESSAGES = Number(args.messages);
const PER_SESSION = Math.ceil(MESSAGES / SESSIONS);
const STARTS = Number(args.starts);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = args.dir ?? mkdtempSync(path.join(os.tmpdir(), 'starling-recovery-'));
if (args.dir === undefined) process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

const clientId = (i: number): string => `recovery-${i.toString().padStart(6, '0')}`;

async function fill(): Promise<number> {
  const t0 = performance.now();
  const store = new SqliteStore({ dir, durability: 'strict' });
  const snapshot = await store.open();
  if (snapshot.sessions.length > 0) throw new Error(`${dir} is not empty`);
  const payload = Buffer.alloc(Number(args.payload), 'r');
  let messageId = 1;
  let seq = 1;
  for (let i = 0; i < SESSIONS; i++) {
    const id = clientId(i);
    store.putSession({ clientId: id, expiryInterval: 0xffffffff, disconnectedAt: Date.now() });
    store.putSubscription(id, { filter: `recovery/${i}/#`, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 });
    for (let k = 0; k < PER_SESSION && messageId <= MESSAGES; k++) {
      const mid = messageId++;
      store.putMessage(mid, { topic: `recovery/${i}/${k}`, payload, qos: 1, retain: false });
      store.putDelivery(id, { seq: seq++, packetId: k + 1, messageId: mid, qos: 1, retain: false, state: 'publish' });
    }
    // One commit per 5,000 sessions: bounded memory, and few fsyncs.
    if (i % 5000 === 4999) await store.flush();
  }
  await store.flush();
  await store.close();
  return performance.now() - t0;
}

interface Start {
  ms: number;
  maxRssMb: number;
  log: string;
}

/** Spawns the CLI on the data directory; resolves at its "listening" line. */
function startCli(): Promise<Start & { stop: () => Promise<void>; port: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    void freePort().then((port) => {
      const child = spawn(process.execPath, [path.join(root, 'dist/src/cli/main.js'), '--port', String(port), '--set', `persistence.dataDir=${dir}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      let resolved = false;
      const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/"msg":"listening on /.test(out) && !resolved) {
          resolved = true;
          const ms = performance.now() - t0;
          const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          resolve({
            ms,
            port,
            maxRssMb: hwm === null ? NaN : Number(hwm[1]) / 1024,
            log: out,
            stop: async () => {
              const exited = new Promise((r) => child.once('exit', r));
              child.kill('SIGTERM');
              await exited;
              clearTimeout(timer);
            },
          });
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!resolved) reject(new Error(`the broker exited (${code ?? signal}) before listening: ${out}${err}`));
      });
    }, reject);
  });
}


/** Connects as one of the stored sessions and counts the queued messages it is sent. */
function check(port: number): Promise<{ sessionPresent: boolean; received: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let sessionPresent = false;
    let received = 0;
    const done = (): void => {
      socket.destroy();
      resolve({ sessionPresent, received });
    };
    const timer = setTimeout(done, 3000);
    const decoder = new Decoder(
      (p) => {
        if (p.type === 'connack') sessionPresent = p.sessionPresent;
        else if (p.type === 'publish') {
          received++;
          // Not acknowledged: the store keeps the queue, so a second start recovers the same.
          if (received === PER_SESSION) {
            clearTimeout(timer);
            done();
          }
        }
      },
      { role: 'client', protocolVersion: 4 },
    );
    socket.on('data', (d: Buffer) => decoder.push(d));
    socket.on('error', reject);
    socket.on('connect', () => socket.write(encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: false, keepalive: 0, clientId: clientId(SESSIONS - 1) }, 4)));
  });
}

const fillMs = args.reuse && args.dir !== undefined ? NaN : await fill();
const bytes = statSync(path.join(dir, STORE_FILE)).size;
process.stderr.write(`filled in ${(fillMs / 1000).toFixed(1)} s: ${(bytes / 1048576).toFixed(0)} MB\n`);
// The store alone, in this process: the worker's read and the snapshot, without the broker.
async function openOnly(): Promise<{ ms: number; readMs: number; heapMb: number }> {
  const t0 = performance.now();
  const store = new SqliteStore({ dir });
  const snapshot = await store.open();
  const ms = performance.now() - t0;
  const heapMb = process.memoryUsage().heapUsed / 1048576;
  if (snapshot.messages.size === 0) throw new Error(`${dir} is empty`);
  await store.close();
  return { ms, readMs: store.lastOpen?.readMs ?? NaN, heapMb };
}
const opened = await openOnly();
process.stderr.write(`store.open() alone: ${(opened.ms / 1000).toFixed(2)} s\n`);
const starts: Start[] = [];
let checked: { sessionPresent: boolean; received: number } | undefined;
for (let i = 0; i < STARTS; i++) {
  const s = await startCli();
  starts.push(s);
  process.stderr.write(`start ${i + 1}: listening after ${(s.ms / 1000).toFixed(2)} s, peak RSS ${s.maxRssMb.toFixed(0)} MB\n`);
  checked ??= await check(s.port);
  await s.stop();
}
function storeOpenedMs(log: string): string {
  const m = /"ms":(\d+),"msg":"store opened"/.exec(log);
  return m === null ? '–' : `${(Number(m[1]) / 1000).toFixed(2)} s`;
}
// The broker's own "store opened" line: what it restored and how long opening took.
const restored = starts.map((s) => s.log.split('\n').find((l) => l.includes('"msg":"store opened"')) ?? '(no "store opened" line)');
const lines = [
  `${SESSIONS.toLocaleString('en-US')} sessions, ${MESSAGES.toLocaleString('en-US')} queued QoS 1 messages (${args.payload}-byte payloads); ${os.cpus().length} cores, Node ${process.versions.node}`,
  '',
  '| figure | value |',
  '|---|---:|',
  `| fill through the store API | ${Number.isNaN(fillMs) ? 'reused' : `${(fillMs / 1000).toFixed(1)} s`} |`,
  `| ${STORE_FILE} size | ${(bytes / 1048576).toFixed(0)} MB |`,
  ...starts.map((s, i) => `| start ${i + 1}: process start to listening | ${(s.ms / 1000).toFixed(2)} s |`),
  ...starts.map((s, i) => `| start ${i + 1}: peak resident memory | ${s.maxRssMb.toFixed(0)} MB |`),
  `| store.open() alone, in the benchmark's process (worker reading ${(opened.readMs / 1000).toFixed(2)} s) | ${(opened.ms / 1000).toFixed(2)} s |`,
  ...starts.map((s, i) => `| start ${i + 1}: broker's "store opened" (open and rebuild) | ${storeOpenedMs(s.log)} |`),
  `| a recovered session: session present, queued messages resent | ${checked?.sessionPresent ?? '–'}, ${checked?.received ?? '–'} of ${PER_SESSION} |`,
  '',
  ...restored.map((m, i) => `start ${i + 1}, broker log: ${m}`),
];
process.stdout.write(`${lines.join('\n')}\n`);
