// Starling's cluster beside a standalone node and Aedes' cluster, on one Redis, in one run.
//   npm run bench:cluster            (or: node dist/bench/cluster.js [options])
//
// Targets (each started fresh for every case, stopped by pid afterwards; Redis is flushed
// between runs):
//   standalone      one `starling` process: publishers and subscribers on it, no Redis;
//   starling-2      two Starling cluster members on the same Redis, publishers on one and
//                   subscribers on the other, so that every message crosses nodes. They are
//                   the two processes `starling --workers 2` would run (a member each, node
//                   names <node>-1 and <node>-2, the Node flag --workers gives its workers:
//                   --no-parallel-scavenge), started as two commands so that each has a port of
//                   its own: with --workers the OS picks a client's worker, and the harness
//                   could not put publishers and subscribers on different ones;
//   starling-2-local  the same two members, publishers and subscribers both on the first:
//                   local traffic of a member node, which should never touch Redis;
//   aedes-2         two Aedes 1.2 nodes with mqemitter-redis and aedes-persistence-redis,
//                   publishers on one, subscribers on the other.
// The Starling cluster targets need the cluster's routing (a `cluster` config section whose
// members forward messages): without it they print "not available" and the rest runs.
//
// Besides messages per second and latency, every run samples the CPU time (user + system,
// /proc/<pid>/stat) of each node and of redis-server over the measured window, per message:
// on a 2-core machine the generator, Redis and the nodes share the cores, so the rates say
// more about the machine than about the cluster, and the CPU per message is what carries over
// to a bigger machine (docs/benchmarks.md, "Cluster").

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveOptions, runScenario, type ScenarioName, type ScenarioResult } from '../src/cli/bench/main.js';
import type { Overrides } from '../src/cli/bench/options.js';
import { median, sampleProcess, type ProcSample } from '../src/cli/bench/stats.js';
import { workerExecArgv } from '../src/cli/workers.js';
import { freePort, startServer, stopServer, type Running } from './processes.js';

const { values: args } = parseArgs({
  options: {
    repeats: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    targets: { type: 'string', default: 'standalone,starling-2,starling-2-local,aedes-2' },
    cases: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

const ALL_TARGETS = ['standalone', 'starling-2', 'starling-2-local', 'aedes-2'] as const;
type TargetName = (typeof ALL_TARGETS)[number];
const LABEL: Record<TargetName, string> = {
  standalone: 'Starling standalone',
  'starling-2': 'Starling 2 nodes, cross-node',
  'starling-2-local': 'Starling 2 nodes, local',
  'aedes-2': 'Aedes 2 nodes (Redis), cross-node',
};

interface Case {
  id: string;
  label: string;
  scenario: ScenarioName;
  overrides: Overrides;
  /** Seconds the started target idles before the run: past its start-up collections. */
  settle?: number;
}

const CASES: Case[] = [
  { id: 'fan-in-0', label: 'fan-in 4 → 1, QoS 0', scenario: 'fan-in', overrides: {} },
  { id: 'fan-in-1', label: 'fan-in 4 → 1, QoS 1 (64 in flight each)', scenario: 'qos1', overrides: {} },
  { id: 'fan-out-0', label: 'fan-out 1 → 10, QoS 0', scenario: 'fan-out', overrides: {} },
  { id: 'fan-out-1', label: 'fan-out 1 → 10, QoS 1', scenario: 'fan-out', overrides: { qos: 1 } },
  // Steady state, as in bench:compare: a tail measured while the JIT compiles says little,
  // and neither does one measured while a process fresh from its start shrinks its heap
  // (V8 ran mark-compacts of 3-11 ms in a member's first 10 s, its memory reducer among them).
  { id: 'latency-1k', label: 'latency at 1,000 msg/s, QoS 0', scenario: 'latency', overrides: { rate: 1000, warmup: 2, duration: 6 }, settle: 10 },
];

if (args.help) {
  process.stdout.write(`Usage: node dist/bench/cluster.js [--repeats 1] [--duration 5] [--warmup 1]
       [--targets ${ALL_TARGETS.join(',')}]
       [--cases ${CASES.map((c) => c.id).join(',')}]
       [--json FILE]   (every run's full result)
Needs redis-server (Debian: apt-get install redis-server).\n`);
  process.exit(0);
}

function fail(message: string): never {
  process.stderr.write(`bench:cluster: ${message}\n`);
  process.exit(2);
}

const targets = args.targets.split(',').map((t) => ((ALL_TARGETS as readonly string[]).includes(t) ? (t as TargetName) : fail(`unknown target ${t}`)));
const cases = args.cases ? args.cases.split(',').map((id) => CASES.find((c) => c.id === id) ?? fail(`unknown case ${id}`)) : CASES;
const REPEATS = Number(args.repeats);
const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = path.resolve(here, '../..');
const CLI = path.join(root, 'dist/src/cli/main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'starling-cluster-bench-'));
process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));

// ---- Redis ------------------------------------------------------------------------------------

interface Redis {
  port: number;
  running: Running;
}

async function startRedis(): Promise<Redis> {
  const port = await freePort();
  // No persistence: the benchmark measures forwarding, and Aedes' cluster needs none either.
  const running = await startServer('redis-server', port, ['redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', tmp, '--save', '', '--appendonly', 'no', '--daemonize', 'no']]);
  return { port, running };
}

/** One command to Redis over RESP, for FLUSHALL between runs (no client library needed). */
function redisCommand(port: number, ...argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      out += d;
      if (out.endsWith('\r\n')) {
        s.end();
        resolve(out.trim());
      }
    });
    s.on('error', reject);
    s.write(`*${argv.length}\r\n${argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

// ---- nodes ------------------------------------------------------------------------------------

interface Started {
  /** Where publishers connect, and subscribers. */
  pubPort: number;
  subPort: number;
  /** The node processes, sampled for CPU. */
  nodes: Running[];
  /** Starling members' /metrics ports, for what they dropped and why. */
  httpPorts?: number[];
}

/** Whether this build's config has a `cluster` section (the routing work). */
function clusterConfigExists(): boolean {
  const r = spawnSync(process.execPath, [CLI, '--print-config', '--set', 'cluster.redis=redis://127.0.0.1:1'], { encoding: 'utf8' });
  return r.status === 0;
}

function starling(port: number, extra: string[], nodeFlags: string[] = []): [string, string[]] {
  return [process.execPath, [...nodeFlags, CLI, '--port', String(port), '--log-level', 'warn', '--set', 'persistence.store=memory', ...extra]];
}

async function startTarget(t: TargetName, redis: Redis): Promise<Started> {
  switch (t) {
    case 'standalone': {
      const port = await freePort();
      const node = await startServer('starling', port, starling(port, []));
      return { pubPort: port, subPort: port, nodes: [node] };
    }
    case 'starling-2':
    case 'starling-2-local': {
      const nodes: Running[] = [];
      const httpPorts: number[] = [];
      for (const i of [1, 2]) {
        const port = await freePort();
        const http = await freePort();
        httpPorts.push(http);
        const member = ['--set', `cluster.redis=redis://127.0.0.1:${redis.port}`, '--set', `cluster.node=bench-${i}`, '--set', `http.port=${http}`];
        nodes.push(await startServer(`starling node ${i}`, port, starling(port, member, workerExecArgv([], false))));
      }
      const [a, b] = nodes as [Running, Running];
      return { pubPort: a.port, subPort: t === 'starling-2' ? b.port : a.port, nodes, httpPorts };
    }
    case 'aedes-2': {
      const nodes: Running[] = [];
      for (const i of [1, 2]) {
        const port = await freePort();
        nodes.push(await startServer(`aedes node ${i}`, port, [process.execPath, [path.join(here, 'cluster-aedes.js'), String(port), String(redis.port)]]));
      }
      return { pubPort: nodes[0]!.port, subPort: nodes[1]!.port, nodes };
    }
  }
}

/**
 * Does a message published on one node reach a subscriber on the other? A raw MQTT 3.1.1
 * exchange (CONNECT, SUBSCRIBE, PUBLISH at QoS 0), so that the probe depends on nothing but
 * the nodes. Resolves false after `ms`.
 */
async function crossesNodes(pubPort: number, subPort: number, ms = 3000): Promise<boolean> {
  const connect = (port: number, id: string): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => {
        const cid = Buffer.from(id);
        const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, cid.length]), cid]);
        s.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
      });
      s.once('data', () => resolve(s)); // CONNACK
      s.once('error', reject);
    });
  const topic = Buffer.from(`bench/probe/${process.pid}`);
  const sub = await connect(subPort, `probe-sub-${process.pid}`);
  const pub = await connect(pubPort, `probe-pub-${process.pid}`);
  try {
    const got = new Promise<boolean>((resolve) => {
      let every: NodeJS.Timeout | undefined;
      const done = (ok: boolean): void => {
        clearInterval(every);
        clearTimeout(timer);
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), ms);
      const publish = (): void => {
        const body = Buffer.concat([Buffer.from([0, topic.length]), topic, Buffer.from('x')]);
        pub.write(Buffer.concat([Buffer.from([0x30, body.length]), body]));
      };
      sub.on('data', (d: Buffer) => {
        const type = d[0]! & 0xf0;
        if (type === 0x30) done(true);
        else if (type === 0x90 && every === undefined) {
          // Routes may take a moment to reach the other node: publish until one arrives.
          publish();
          every = setInterval(publish, 200);
        }
      });
    });
    const body = Buffer.concat([Buffer.from([0, 1, 0, topic.length]), topic, Buffer.from([0])]);
    sub.write(Buffer.concat([Buffer.from([0x82, body.length]), body]));
    return await got;
  } finally {
    sub.destroy();
    pub.destroy();
  }
}

// ---- runs -------------------------------------------------------------------------------------

interface Run {
  target: TargetName;
  caseId: string;
  repeat: number;
  result?: ScenarioResult;
  /** CPU µs per message delivered, per node, over the measured window. */
  nodeCpuUsPerMessage?: number[];
  /**
   * The load generator's own CPU µs per message delivered (this process and its worker
   * threads): on this machine it shares the cores with the nodes and Redis, so a high
   * figure here says the generator, not the broker, set the rate.
   */
  generatorCpuUsPerMessage?: number;
  /**
   * redis-server's CPU µs per message forwarded between nodes over the measured window: the
   * messages delivered divided by the subscribers each reaches (a message crosses once and
   * fans out on the subscribers' node). Not for targets without Redis (standalone).
   */
  redisCpuUsPerMessage?: number;
  /**
   * Where the messages not delivered went, read after the run's drain: each member's drop
   * counters and cluster counters (non-zero ones), Redis's pub/sub disconnects and what is
   * left in the inbox streams. Starling cluster targets only.
   */
  diagnostics?: Record<string, number>;
  error?: string;
}

const runs: Run[] = [];
const unavailable = new Map<TargetName, string>();

async function runOne(t: TargetName, c: Case, repeat: number, redis: Redis): Promise<Run> {
  const run: Run = { target: t, caseId: c.id, repeat };
  let started: Started | undefined;
  try {
    await redisCommand(redis.port, 'FLUSHALL');
    started = await startTarget(t, redis);
    if (t !== 'standalone' && t !== 'starling-2-local' && !(await crossesNodes(started.pubPort, started.subPort))) {
      throw new Error('a message published on one node did not reach a subscriber on the other within 3 s');
    }
    if (c.settle !== undefined) await new Promise((r) => setTimeout(r, c.settle! * 1000));
    const pids = [...started.nodes.map((n) => n.child.pid!), redis.running.child.pid!];
    const commandsBefore = await redisCommands(redis);
    let a: Array<ProcSample | undefined> = [];
    let b: Array<ProcSample | undefined> = [];
    let genA: NodeJS.CpuUsage | undefined;
    let genUs = NaN;
    const o = resolveOptions(c.scenario, {
      port: started.pubPort,
      ...(started.subPort !== started.pubPort && { subscriberPort: started.subPort }),
      duration: Number(args.duration),
      warmup: Number(args.warmup),
      timeout: 20,
      ...c.overrides,
    });
    const guard = setTimeout(() => started?.nodes.forEach((n) => n.child.kill('SIGKILL')), 120_000);
    run.result = await runScenario(o, {
      measured: (edge) => {
        if (edge === 'start') {
          a = pids.map(sampleProcess);
          genA = process.cpuUsage();
        } else {
          b = pids.map(sampleProcess);
          const d = process.cpuUsage(genA);
          genUs = d.user + d.system;
        }
      },
    });
    clearTimeout(guard);
    const r = run.result;
    const delivered = r.rates.delivery * r.seconds;
    const forwarded = delivered / Math.max(1, r.options.subscribers);
    const us = (i: number): number | undefined => (a[i] && b[i] ? (b[i]!.cpuSeconds - a[i]!.cpuSeconds) * 1e6 : undefined);
    if (delivered > 0) run.nodeCpuUsPerMessage = started.nodes.map((_, i) => us(i) ?? NaN).map((x) => x / delivered);
    if (delivered > 0 && Number.isFinite(genUs)) run.generatorCpuUsPerMessage = genUs / delivered;
    const redisUs = us(pids.length - 1);
    if (t !== 'standalone' && forwarded > 0 && redisUs !== undefined) run.redisCpuUsPerMessage = redisUs / forwarded;
    if (started.httpPorts) run.diagnostics = await diagnose(started.httpPorts, redis, commandsBefore);
    for (const n of started.nodes) if (n.exit) run.error = `a node exited (${n.exit.code ?? n.exit.signal}): ${n.tail().trim().split('\n').at(-1) ?? ''}`;
  } catch (err) {
    run.error = (err as Error).message;
  } finally {
    if (started) for (const n of started.nodes) await stopServer(n);
  }
  return run;
}

/** The counters that say whether a message missing at the end was dropped, and where. */
const WATCHED = /^(starling_messages_dropped_total|starling_cluster_(forwards_dropped|volatile_shed|volatile_waits|volatile_wait_timeouts|volatile_read_waits|volatile_read_wait_timeouts|undeliverable|resyncs|inbox_waits|inbox_wait_timeouts|received_messages|forwarded_messages)_total)(\{[^}]*\})? (\d+)/;

/** Commands Redis has processed since it started (INFO stats). */
async function redisCommands(redis: Redis): Promise<number> {
  const info = await redisCommand(redis.port, 'INFO', 'stats').catch(() => '');
  return Number(/^total_commands_processed:(\d+)/m.exec(info)?.[1] ?? NaN);
}

async function diagnose(httpPorts: number[], redis: Redis, commandsBefore: number): Promise<Record<string, number>> {
  const d: Record<string, number> = {};
  for (const [i, port] of httpPorts.entries()) {
    try {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const line of text.split('\n')) {
        const m = WATCHED.exec(line);
        if (m === null || m[4] === '0' || (m[3] ?? '').includes('scope="cluster"')) continue;
        d[`node${i + 1} ${m[1]!.replace(/^starling_/, '')}${m[3] ?? ''}`] = Number(m[4]);
      }
    } catch {
      // A node that exited: the run's error says so.
    }
  }
  // Redis's own count of clients cut for their output buffer (7.0 has none: the node's resyncs show it).
  const info = await redisCommand(redis.port, 'INFO', 'stats').catch(() => '');
  for (const m of info.matchAll(/^(client_output_buffer_limit_disconnections):(\d+)/gm)) d[`redis ${m[1]}`] = Number(m[2]);
  // This run's commands (Redis runs on between runs): a member's local traffic should need few.
  d['redis commands this run'] = (await redisCommands(redis)) - commandsBefore;
  for (const i of [1, 2]) {
    const len = await redisCommand(redis.port, 'XLEN', `starling:inbox:bench-${i}`).catch(() => '');
    const n = Number(/^:(\d+)/.exec(len)?.[1] ?? 0);
    if (n > 0) d[`redis XLEN inbox:bench-${i}`] = n;
  }
  return d;
}

// ---- report -----------------------------------------------------------------------------------

interface Metric {
  name: string;
  digits: number;
  get: (r: Run) => number | undefined;
  /** Only for these cases. */
  only?: (c: Case) => boolean;
}

const isLatency = (c: Case): boolean => c.scenario === 'latency';
const METRICS: Metric[] = [
  { name: 'delivered msg/s ↑', digits: 0, get: (r) => r.result?.rates.delivery, only: (c) => !isLatency(c) },
  { name: 'lost %', digits: 2, get: (r) => (r.result && r.result.messages.expected > 0 ? (r.result.messages.lost / r.result.messages.expected) * 100 : undefined) },
  { name: 'p50 ms ↓', digits: 3, get: (r) => r.result?.latency?.p50, only: isLatency },
  { name: 'p99 ms ↓', digits: 3, get: (r) => r.result?.latency?.p99, only: isLatency },
  { name: 'node CPU µs/msg (each node) ↓', digits: 1, get: () => undefined },
  { name: 'Redis CPU µs/msg forwarded ↓', digits: 2, get: (r) => r.redisCpuUsPerMessage },
  { name: 'generator CPU µs/msg', digits: 1, get: (r) => r.generatorCpuUsPerMessage },
];

const fmt = (x: number, digits: number): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(): string {
  const header = ['case', 'metric', ...targets.map((t) => LABEL[t])];
  const rows: string[][] = [header];
  for (const c of cases) {
    let first = true;
    for (const m of METRICS) {
      if (m.only && !m.only(c)) continue;
      const cell = (t: TargetName): string => {
        if (unavailable.has(t)) return 'not available';
        const of = runs.filter((r) => r.target === t && r.caseId === c.id);
        const ok = of.filter((r) => !r.error && r.result);
        if (of.length > 0 && ok.length === 0) return 'failed';
        if (m.name.startsWith('node CPU')) {
          const per = ok.map((r) => r.nodeCpuUsPerMessage).filter((x): x is number[] => x !== undefined);
          if (per.length === 0) return '-';
          return per[0]!.map((_, i) => fmt(median(per.map((p) => p[i]!)), m.digits)).join(' + ');
        }
        const v = ok.map(m.get).filter((x): x is number => x !== undefined && Number.isFinite(x));
        if (v.length === 0) return '-';
        return fmt(median(v), m.digits);
      };
      rows.push([first ? c.label : '', m.name, ...targets.map(cell)]);
      first = false;
    }
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((x, i) => (i < 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function machine(): string[] {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const redis = /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? 'unknown';
  const pkg = (p: string): string => (JSON.parse(readFileSync(path.join(root, p), 'utf8')) as { version: string }).version;
  return [
    `CPU: ${os.availableParallelism()} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GB RAM, ${os.type()} ${os.release()}`,
    `Node.js ${process.version}; Starling ${pkg('package.json')} (memory store); Redis ${redis} (no persistence); Aedes ${pkg('node_modules/aedes/package.json')} with mqemitter-redis ${pkg('node_modules/mqemitter-redis/package.json')} and aedes-persistence-redis ${pkg('node_modules/aedes-persistence-redis/package.json')}`,
    `load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  ];
}

// ---- main -------------------------------------------------------------------------------------

const which = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
if (which.error) fail('redis-server is not installed (Debian: apt-get install redis-server)');
const info = machine();
for (const l of info) process.stderr.write(`${l}\n`);
if ((targets.includes('starling-2') || targets.includes('starling-2-local')) && !clusterConfigExists()) {
  const why = 'not available: this build has no `cluster` config section (the cluster routing work)';
  for (const t of ['starling-2', 'starling-2-local'] as const) if (targets.includes(t)) unavailable.set(t, why);
  process.stderr.write(`Starling 2 nodes: ${why}\n`);
}
const redis = await startRedis();
const t0 = Date.now();
const plan: Array<[TargetName, Case, number]> = [];
const live = targets.filter((t) => !unavailable.has(t));
for (let r = 0; r < REPEATS; r++) for (const c of cases) for (let i = 0; i < live.length; i++) plan.push([live[(i + r) % live.length]!, c, r]);
let done = 0;
for (const [t, c, r] of plan) {
  // A cluster whose members do not forward is reported once, not run case after case.
  if (unavailable.has(t)) continue;
  const run = await runOne(t, c, r, redis);
  if (run.error && /did not reach a subscriber on the other/.test(run.error) && t === 'starling-2') {
    unavailable.set(t, `not available: ${run.error}`);
    unavailable.set('starling-2-local', 'not available: the members do not forward (see starling-2)');
  }
  runs.push(run);
  done++;
  const v = run.result ? (isLatency(c) ? run.result.latency?.p99 : run.result.rates.delivery) : undefined;
  const status = run.error ? `FAILED: ${run.error}` : run.result!.ok ? 'ok' : `problems: ${run.result!.problems.join('; ')}`;
  process.stderr.write(`[${done}/${plan.length}] ${t} ${c.id} #${r + 1}: ${isLatency(c) ? 'p99 ms' : 'msg/s'} ${v === undefined ? '-' : fmt(v, isLatency(c) ? 3 : 0)}; ${status}\n`);
  if (run.diagnostics) process.stderr.write(`    ${Object.entries(run.diagnostics).map(([k, x]) => `${k}=${x}`).join(', ')}\n`);
}
await stopServer(redis.running);

const out = [
  `Starling's cluster beside a standalone node and Aedes' cluster on one Redis: median of ${REPEATS} run(s), ${args.duration} s measured after ${args.warmup} s warm-up (latency: 6 s after 2 s, the targets idle 10 s after their start first), 64-byte payloads, MQTT 3.1.1, on ${new Date().toISOString().slice(0, 10)} (${((Date.now() - t0) / 60_000).toFixed(1)} min).`,
  'Cross-node: publishers on one node, subscribers on the other, so every message crosses through Redis. Local: both on one member node.',
  'Node CPU: user + system time of each node process over the measured window, per message delivered (publishers\' node + subscribers\' node). Redis CPU: redis-server\'s, per message forwarded (delivered ÷ subscribers, as a message crosses once and fans out on the subscribers\' node). Generator CPU: the load generator\'s (this process, its worker threads included), per message delivered: it shares the cores with the nodes.',
  '',
  ...info.map((l) => `${l}  `),
  `load average at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  '',
  table(),
  '',
  ...[...unavailable].map(([t, why]) => `- ${LABEL[t]}: ${why}`),
  ...runs.filter((r) => r.error && !unavailable.has(r.target)).map((r) => `- ${LABEL[r.target]}, ${r.caseId} (run ${r.repeat + 1}): ${r.error}`),
  ...runs.filter((r) => r.result && r.result.problems.length > 0).map((r) => `- ${LABEL[r.target]}, ${r.caseId} (run ${r.repeat + 1}): ${r.result!.problems.join('; ')}`),
];
process.stdout.write(`${out.join('\n')}\n`);
if (args.json) writeFileSync(args.json, JSON.stringify({ machine: info, runs }, null, 2));
process.exit(runs.some((r) => r.error && !unavailable.has(r.target)) ? 1 : 0);
