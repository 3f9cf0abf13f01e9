// Memory per idle connection, measured inside the server: Starling and the bare sink (a net
// server with one small object per socket), so the floor Node itself sets is in the same table.
//   npm run bench:memory                               (10,000 connections)
//   node dist/bench/connections-memory.js -n 18000 --servers starling [--hold 20] [--snapshot]
//       [--node-flags=--max-semi-space-size=8]
//
// Each server runs in a fresh child process (node --expose-gc) on a free loopback port.
// The clients run in worker threads of this process: MQTT 3.1.1 CONNECT (clean session,
// keep alive 60 s), wait for CONNACK, then stay idle. They connect in two halves; the server
// reports process.memoryUsage() before, after a full GC between the halves, and --hold
// seconds after the last one: first as it is (what `starling bench connections --pid` sees
// as RSS growth, V8's young generation included), then after a full GC (what the
// connections really keep). The growth between the halves is the marginal cost of one more
// connection. Beyond 25,000 connections the clients spread over source addresses
// 127.0.0.2, 127.0.0.3, ... (each has its own ephemeral ports); this process and the
// server each need an open-file limit above N.

import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { writeHeapSnapshot } from 'node:v8';
import { createBroker } from '../src/index.js';
import { Sink } from '../src/cli/bench/sink.js';
import { connectPacket } from '../src/cli/bench/wire.js';
import { openFileLimit } from '../src/cli/bench/stats.js';

const self = fileURLToPath(import.meta.url);
const PORTS_PER_SOURCE = 25_000;

interface Usage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

type ServerName = 'starling' | 'sink';
type ToServer = { cmd: 'sample'; gc: boolean; snapshot?: boolean } | { cmd: 'stop' };
type FromServer = { port: number } | { usage: Usage; snapshot?: string };

interface ClientJob {
  port: number;
  first: number;
  count: number;
  concurrency: number;
  run: string;
}

// ---- the server child ------------------------------------------------------------------------

async function serve(name: ServerName): Promise<void> {
  let port: number;
  if (name === 'sink') {
    port = await new Sink().listen(0, '127.0.0.1');
  } else {
    // As `starling --port N --log-level warn` runs it, without a store: a clean session
    // keeps nothing in one.
    const broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }], logLevel: 'warn' });
    port = (await broker.listen())[0]!.port;
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (m: ToServer) => {
    if (m.cmd === 'stop') process.exit(0);
    if (m.gc && gc !== undefined) for (let i = 0; i < 3; i++) gc();
    const snapshot = m.snapshot ? writeHeapSnapshot() : undefined;
    const u = process.memoryUsage();
    const usage: Usage = { rss: u.rss, heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external, arrayBuffers: u.arrayBuffers };
    process.send!({ usage, ...(snapshot && { snapshot }) } satisfies FromServer);
  });
  process.send!({ port } satisfies FromServer);
}

// ---- the client worker ---------------------------------------------------------------------------

async function clients(job: ClientJob): Promise<void> {
  const sockets: net.Socket[] = [];
  let failed = 0;
  const openOne = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const source = Math.floor((job.first + i) / PORTS_PER_SOURCE);
      const socket = net.connect({ port: job.port, host: '127.0.0.1', ...(source > 0 && { localAddress: `127.0.0.${source + 1}` }) });
      const done = (ok: boolean): void => {
        if (!ok) failed++;
        resolve();
      };
      socket.once('connect', () => socket.write(connectPacket(`mem-${job.run}-${job.first + i}`, 4, 60)));
      socket.once('data', (b: Buffer) => done(b[0] === 0x20 && b[3] === 0));
      socket.once('error', () => done(false));
      sockets.push(socket);
    });
  const next = (): Promise<unknown> => new Promise((resolve) => parentPort!.once('message', resolve));
  // Two stages: half the connections, a sample, the other half, a sample; the difference
  // is the marginal cost of a connection, free of what the first ones grew once.
  let opened = 0;
  for (const target of [Math.floor(job.count / 2), job.count]) {
    const lane = async (): Promise<void> => {
      while (opened < target) await openOne(opened++);
    };
    await Promise.all(Array.from({ length: job.concurrency }, lane));
    parentPort!.postMessage({ connected: opened - failed });
    await next();
  }
  for (const s of sockets) s.destroy();
  parentPort!.postMessage({ closed: true });
}

// ---- the coordinator -------------------------------------------------------------------------------

function request(child: ChildProcess, m: ToServer): Promise<FromServer> {
  const reply = once(child, 'message') as Promise<[FromServer]>;
  child.send(m);
  return reply.then(([r]) => r);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function measure(name: ServerName, n: number, workers: number, hold: number, snapshot: boolean, nodeFlags: string[]): Promise<Record<string, number | string>> {
  const child = fork(self, ['--serve', name], { execArgv: ['--expose-gc', ...nodeFlags], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const [ready] = (await once(child, 'message')) as [{ port: number }];
    await sleep(500);
    const sample = async (gc: boolean, snap = false): Promise<Usage & { snapshot?: string }> => {
      const r = (await request(child, { cmd: 'sample', gc, snapshot: snap })) as { usage: Usage; snapshot?: string };
      return { ...r.usage, ...(r.snapshot && { snapshot: r.snapshot }) };
    };
    const base = await sample(true, snapshot);
    const before = snapshot ? await sample(true) : base;
    const run = Math.random().toString(36).slice(2, 8);
    const per = Math.ceil(n / workers);
    const pool = Array.from({ length: workers }, (_, w) => {
      const job: ClientJob = { port: ready.port, first: w * per, count: Math.max(0, Math.min(per, n - w * per)), concurrency: 64, run };
      return new Worker(self, { workerData: job });
    });
    const stage = async (): Promise<number> => {
      const results = (await Promise.all(pool.map((w) => once(w, 'message')))) as Array<[{ connected: number }]>;
      return results.reduce((s, [r]) => s + r.connected, 0);
    };
    const t0 = performance.now();
    const half = await stage();
    await sleep(hold * 1000);
    const mid = await sample(true);
    const t1 = performance.now();
    for (const w of pool) w.postMessage('more');
    const connected = await stage();
    const setup = (performance.now() - t1 + (t1 - t0 - hold * 1000)) / 1000;
    await sleep(hold * 1000);
    const raw = await sample(false);
    const after = await sample(true, snapshot);
    const closing = pool.map((w) => once(w, 'message'));
    for (const w of pool) w.postMessage('close');
    await Promise.all(closing);
    await Promise.all(pool.map((w) => w.terminate()));
    const kb = (a: number, b: number, count: number): string => ((a - b) / 1024 / count).toFixed(2);
    return {
      server: name,
      connections: connected,
      'setup conn/s': Math.round(connected / setup),
      'RSS': kb(raw.rss, before.rss, connected),
      'RSS, GC': kb(after.rss, before.rss, connected),
      'heap, GC': kb(after.heapUsed, before.heapUsed, connected),
      'external, GC': kb(after.external, before.external, connected),
      'heap total, GC': kb(after.heapTotal, before.heapTotal, connected),
      'marginal RSS': kb(after.rss, mid.rss, connected - half),
      'marginal heap': kb(after.heapUsed, mid.heapUsed, connected - half),
      ...(after.snapshot && { snapshots: `${base.snapshot} ${after.snapshot}` }),
    };
  } finally {
    child.send({ cmd: 'stop' } satisfies ToServer);
    const exited = once(child, 'exit');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', short: 'n', default: '10000' },
      servers: { type: 'string', default: 'sink,starling' },
      workers: { type: 'string', default: '2' },
      hold: { type: 'string', default: '1' },
      snapshot: { type: 'boolean', default: false },
      'node-flags': { type: 'string', default: '' },
      serve: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.serve !== undefined) return serve(values.serve as ServerName);
  if (values.help) {
    process.stdout.write('Usage: node dist/bench/connections-memory.js [-n 10000] [--servers sink,starling] [--workers 2] [--hold 1] [--snapshot]\n');
    return;
  }
  const n = Number(values.connections);
  const limit = openFileLimit();
  if (limit !== undefined && limit < n + 100) {
    process.stderr.write(`the open-file limit (${limit}) is below ${n + 100}: raise it with ulimit -n\n`);
    process.exitCode = 2;
    return;
  }
  const rows: Array<Record<string, number | string>> = [];
  for (const name of values.servers.split(',') as ServerName[]) {
    rows.push(await measure(name, n, Number(values.workers), Number(values.hold), values.snapshot, values['node-flags'].split(' ').filter(Boolean)));
    process.stderr.write(`${name}: done\n`);
  }
  const cols = Object.keys(rows[0]!);
  const lines = [`| ${cols.join(' | ')} |`, `|${cols.map((_, i) => (i === 0 ? ':--' : '--:')).join('|')}|`];
  for (const r of rows) lines.push(`| ${cols.map((c) => String(r[c] ?? '')).join(' | ')} |`);
  process.stdout.write(`Node ${process.version}, ${n} idle MQTT 3.1.1 connections, KB per connection in the server process\n\n${lines.join('\n')}\n`);
}

if (!isMainThread) await clients(workerData as ClientJob);
else await main();
