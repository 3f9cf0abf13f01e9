// Starling beside Mosquitto and Aedes, every scenario of `starling bench`, in one run.
//   npm run bench:compare            (or: node dist/bench/compare.js [options])
//
// Each broker is a child process on a free loopback port, started fresh for every scenario
// and repetition (so a crash costs one cell, and memory figures start from an idle broker),
// and stopped by its pid afterwards. The order of the brokers rotates between repetitions.
// The table shows medians; ratios are Starling's figure divided by the other broker's, so
// for figures where lower is better (latency, memory) a ratio below 1 favours Starling.
// The built-in sink (a relay with no broker logic) runs once per scenario: it is the
// generator's ceiling, and shows that the generator is not what limits the brokers.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveOptions, runScenario, type ScenarioName, type ScenarioResult } from '../src/cli/bench/main.js';
import type { Overrides } from '../src/cli/bench/options.js';
import { median, openFileLimit } from '../src/cli/bench/stats.js';
import { freePort, mosquittoConfig, startServer, stopServer as stop, type Running } from './processes.js';

const { values: args } = parseArgs({
  options: {
    repeats: { type: 'string', default: '3' },
    duration: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '0.5' },
    connections: { type: 'string', default: '10000' },
    topics: { type: 'string', default: '100000' },
    brokers: { type: 'string', default: 'starling,mosquitto,aedes,sink' },
    cases: { type: 'string' },
    'tls-key': { type: 'string', default: 'ec' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write(`Usage: node dist/bench/compare.js [--repeats 3] [--duration 2] [--warmup 0.5]
       [--connections 10000] [--topics 100000] [--brokers starling,mosquitto,aedes,sink]
                  (also starling-w2: starling --workers 2, for the connection cases)
       [--cases fan-in,fan-in-64,fan-out,qos1,latency-1k,latency-20k,connections,connections-tls,connections-tls-resume,topics]
       [--tls-key ec|rsa]   (the server key of connections-tls: EC P-256, the default, or RSA 2048)
       [--json FILE]   (every run's full result)\n`);
  process.exit(0);
}

const REPEATS = Number(args.repeats);
const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = path.resolve(here, '../..');

// ---- brokers --------------------------------------------------------------------------------

// starling-w2: `starling --workers 2 --isolated-workers`, not in the default set (its
// figures are for the connection cases: messages between its two brokers need the cluster).
type BrokerName = 'starling' | 'starling-w2' | 'mosquitto' | 'aedes' | 'sink';
const LABEL: Record<BrokerName, string> = { starling: 'Starling', 'starling-w2': 'Starling ×2', mosquitto: 'Mosquitto', aedes: 'Aedes', sink: 'sink' };
const isStarling = (b: BrokerName): boolean => b === 'starling' || b === 'starling-w2';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'starling-compare-'));

interface TlsFiles {
  cert: string;
  key: string;
}

/**
 * A self-signed server certificate for 127.0.0.1, made with the openssl command line when a
 * TLS case first needs it. The generator does not verify it, so no CA is needed: verifying
 * adds about a third to a Node client's CPU per handshake (Node turns the whole chain into
 * objects to check the name), and the generator already uses more CPU than the brokers.
 * Readable by all: Mosquitto started as root reads its key after switching to its own user.
 */
let tlsFiles: TlsFiles | undefined;
function serverCertificate(): TlsFiles {
  if (tlsFiles) return tlsFiles;
  const dir = path.join(tmp, 'tls');
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(tmp, 0o755);
  const files = { cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') };
  const keyArgs = args['tls-key'] === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  const r = spawnSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', files.key, '-out', files.cert, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { encoding: 'utf8' });
  if (r.status !== 0) fail(`openssl could not make a certificate: ${r.error?.message ?? r.stderr}`);
  chmodSync(files.key, 0o644);
  tlsFiles = files;
  return files;
}

function command(name: BrokerName, port: number, tls: boolean): [string, string[]] {
  const t = tls ? serverCertificate() : undefined;
  switch (name) {
    case 'starling':
    case 'starling-w2': {
      const listener = t ? ['--set', 'listeners[0].type=tls', '--set', `listeners[0].tls.cert=${t.cert}`, '--set', `listeners[0].tls.key=${t.key}`] : [];
      // Each worker keeps its own store under the run's folder (dataDir/worker-i).
      const workers = name === 'starling-w2' ? ['--workers', '2', '--isolated-workers', '--set', `persistence.dataDir=${path.join(tmp, `data-${port}`)}`] : [];
      return [process.execPath, [path.join(root, 'dist/src/cli/main.js'), '--port', String(port), '--log-level', 'warn', ...workers, ...listener]];
    }
    case 'aedes':
      return [process.execPath, [path.join(here, 'aedes.js'), String(port), ...(t ? [t.cert, t.key] : [])]];
    case 'sink':
      if (t) fail('the sink has no TLS listener');
      return [process.execPath, [path.join(root, 'dist/src/cli/bench/main.js'), 'sink', '--port', String(port)]];
    case 'mosquitto': {
      const conf = mosquittoConfig(tmp, port, ['persistence false', ...(t ? [`certfile ${t.cert}`, `keyfile ${t.key}`] : [])]);
      return ['mosquitto', ['-c', conf]];
    }
  }
}

async function start(name: BrokerName, tls: boolean): Promise<Running> {
  const port = await freePort();
  const r = await startServer(name, port, command(name, port, tls));
  // The port accepts once the first worker listens; the second may still be starting.
  if (name === 'starling-w2') await new Promise((res) => setTimeout(res, 1000));
  return r;
}

process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));

// ---- cases ------------------------------------------------------------------------------------

interface Metric {
  name: string;
  /** true: higher is better. */
  higher: boolean;
  digits: number;
  get: (r: ScenarioResult) => number | undefined;
}

interface Case {
  id: string;
  label: string;
  scenario: ScenarioName;
  overrides: Overrides;
  metrics: Metric[];
  /** The brokers listen with TLS (the sink, which cannot, sits it out). */
  tls?: boolean;
}

const lostPct = (r: ScenarioResult): number | undefined => (r.messages.expected > 0 ? (r.messages.lost / r.messages.expected) * 100 : undefined);
const delivered = (name: string): Metric => ({ name, higher: true, digits: 0, get: (r) => r.rates.delivery });
const lost: Metric = { name: 'lost %', higher: false, digits: 1, get: lostPct };
const lostOfAcked: Metric = { ...lost, name: 'lost % of acked' };
const lat = (q: 'p50' | 'p99' | 'max'): Metric => ({ name: `${q} ms`, higher: false, digits: 3, get: (r) => r.latency?.[q] });

// A JIT-compiled broker or generator is still compiling its hot paths in its first seconds;
// a latency tail measured then says more about the compiler than about the broker. Latency
// is measured at steady state, for every broker alike.
const steady: Overrides = { warmup: Math.max(Number(args.warmup), 2), duration: Math.max(Number(args.duration), 6) };
const connections = Number(args.connections);
if (args['tls-key'] !== 'ec' && args['tls-key'] !== 'rsa') fail(`--tls-key is ec or rsa, not ${args['tls-key']}`);
// The setup rate depends on how much CPU the generator leaves the broker on a shared
// machine; the broker's own CPU per connection does not, and is the figure to compare.
const connectionMetrics: Metric[] = [
  { name: 'setup conn/s', higher: true, digits: 0, get: (r) => r.connections?.perSecond },
  { name: 'broker CPU µs/conn', higher: false, digits: 0, get: (r) => r.connections?.brokerCpuUsPerConnection },
  { name: 'KB/conn, 1 s in', higher: false, digits: 2, get: (r) => r.connections?.kbPerConnectionAt1s },
  { name: 'KB/conn, 15 s in', higher: false, digits: 2, get: (r) => r.connections?.kbPerConnection },
];
/** The reconnection storm: its rate and CPU, the share of sessions resumed, and the generator's CPU (it caps a 2-core machine). */
const resumeMetrics: Metric[] = [
  connectionMetrics[0]!,
  connectionMetrics[1]!,
  { name: 'resumed %', higher: true, digits: 0, get: (r) => (r.connections?.resumed === undefined || r.connections.established === 0 ? undefined : (r.connections.resumed / r.connections.established) * 100) },
  { name: 'generator CPU µs/conn', higher: false, digits: 0, get: (r) => r.connections?.generatorCpuUsPerConnection },
];
const topics = Number(args.topics);
const ALL_CASES: Case[] = [
  { id: 'fan-in', label: 'fan-in 4 → 1, QoS 0', scenario: 'fan-in', overrides: {}, metrics: [delivered('msg/s'), lost] },
  { id: 'fan-in-64', label: 'fan-in 64 → 1 (flood), QoS 0', scenario: 'fan-in', overrides: { publishers: 64 }, metrics: [delivered('msg/s'), lost] },
  { id: 'fan-out', label: 'fan-out 1 → 10, QoS 0', scenario: 'fan-out', overrides: {}, metrics: [delivered('deliveries/s'), lost] },
  { id: 'qos1', label: 'QoS 1, 4 × 64 in flight → 1', scenario: 'qos1', overrides: {}, metrics: [delivered('msg/s'), lostOfAcked] },
  { id: 'latency-1k', label: 'latency at 1,000 msg/s', scenario: 'latency', overrides: { ...steady, rate: 1000 }, metrics: [lat('p50'), lat('p99'), lat('max')] },
  { id: 'latency-20k', label: 'latency at 20,000 msg/s', scenario: 'latency', overrides: { ...steady, rate: 20_000 }, metrics: [lat('p50'), lat('p99'), lat('max')] },
  {
    id: 'connections',
    label: `${connections.toLocaleString('en-US')} idle connections`,
    scenario: 'connections',
    // Held for 15 s: V8 returns the memory of the burst of handshakes about 10 s after it.
    overrides: { connections, duration: 15 },
    metrics: connectionMetrics,
  },
  {
    id: 'connections-tls',
    label: `${connections.toLocaleString('en-US')} idle connections, TLS (${args['tls-key'] === 'rsa' ? 'RSA 2048' : 'EC P-256'})`,
    scenario: 'connections',
    overrides: { connections, duration: 15, tls: {} },
    metrics: connectionMetrics,
    tls: true,
  },
  {
    // After an outage devices come back with the TLS session they had: every client connects
    // once (not measured), then the storm of reconnections offering that session is measured.
    id: 'connections-tls-resume',
    label: `${connections.toLocaleString('en-US')} reconnections, TLS session resumed (${args['tls-key'] === 'rsa' ? 'RSA 2048' : 'EC P-256'})`,
    scenario: 'connections',
    overrides: { connections, duration: 1, tls: { resume: true } },
    metrics: resumeMetrics,
    tls: true,
  },
  {
    id: 'topics',
    label: `${topics.toLocaleString('en-US')} subscriptions, random topics`,
    scenario: 'topics',
    overrides: { topics },
    metrics: [
      { name: 'subscribe/s', higher: true, digits: 0, get: (r) => r.subscriptions?.perSecond },
      delivered('msg/s'),
    ],
  },
];
const cases = args.cases ? args.cases.split(',').map((id) => ALL_CASES.find((c) => c.id === id) ?? fail(`unknown case ${id}`)) : ALL_CASES;
const brokers = args.brokers.split(',').map((b) => (b in LABEL ? (b as BrokerName) : fail(`unknown broker ${b}`)));
const peers = brokers.filter((b) => b !== 'sink');

function fail(message: string): never {
  process.stderr.write(`bench:compare: ${message}\n`);
  process.exit(2);
}

// ---- run ---------------------------------------------------------------------------------------

interface Run {
  broker: BrokerName;
  caseId: string;
  repeat: number;
  result?: ScenarioResult;
  crashed?: string;
}

const runs: Run[] = [];
const fdLimit = openFileLimit();
if (fdLimit !== undefined && fdLimit < connections + 200) {
  process.stderr.write(`bench:compare: ulimit -n is ${fdLimit}, below ${connections} connections; raise it (ulimit -n ${connections * 2}) or pass --connections\n`);
}

async function runOne(broker: BrokerName, c: Case, repeat: number): Promise<Run> {
  const run: Run = { broker, caseId: c.id, repeat };
  let b: Running | undefined;
  try {
    b = await start(broker, c.tls === true);
    const o = resolveOptions(c.scenario, {
      port: b.port,
      pid: b.child.pid,
      duration: Number(args.duration),
      warmup: Number(args.warmup),
      timeout: 20,
      ...c.overrides,
    });
    // A broker that hangs cannot hold the whole comparison: the run is bounded from outside too.
    const guard = setTimeout(() => b?.child.kill('SIGKILL'), 120_000);
    run.result = await runScenario(o);
    clearTimeout(guard);
    await new Promise((r) => setTimeout(r, 100));
    if (b.exit) run.crashed = `exited (${b.exit.code ?? b.exit.signal}): ${why(b.tail())}`;
  } catch (err) {
    run.crashed = (err as Error).message;
  } finally {
    if (b) await stop(b);
  }
  return run;
}

/** The line of a crash's output that says what happened (a thrown error), else its last line. */
function why(output: string): string {
  const lines = output.trim().split('\n');
  return lines.find((l) => /^\w*(Error|Exception)\b/.test(l)) ?? lines.at(-1) ?? '';
}

function machine(): string[] {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const mosq = spawnSync('mosquitto', ['-h'], { encoding: 'utf8' });
  const mosqVersion = /mosquitto version (\S+)/.exec(`${mosq.stdout}${mosq.stderr}`)?.[1] ?? 'unknown';
  const pkg = (p: string): string => (JSON.parse(readFileSync(path.join(root, p), 'utf8')) as { version: string }).version;
  return [
    `CPU: ${os.availableParallelism()} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GB RAM, ${os.type()} ${os.release()}`,
    `Node.js ${process.version}; Starling ${pkg('package.json')}; Mosquitto ${mosqVersion} (Debian package, persistence off); Aedes ${pkg('node_modules/aedes/package.json')} (in-memory persistence)`,
    `ulimit -n ${fdLimit ?? '?'}; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  ];
}

const fmtNum = (x: number, digits: number): string =>
  digits === 0 ? Math.round(x).toLocaleString('en-US') : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(): string {
  const header = ['scenario', 'metric', ...peers.map((b) => LABEL[b])];
  const mine = peers.filter(isStarling);
  const others = peers.filter((b) => !isStarling(b));
  const ratios = mine.flatMap((s) => others.map((b) => `${LABEL[s]}/${LABEL[b]}`));
  header.push(...ratios);
  if (brokers.includes('sink')) header.push('sink');
  const short = (b: BrokerName): string => (b === 'starling-w2' ? 'S2' : LABEL[b][0]!);
  header.push(`CPU % (${peers.map(short).join('/')})`, `RSS MB (${peers.map(short).join('/')})`);
  const rows: string[][] = [header];
  for (const c of cases) {
    const of = (b: BrokerName): Run[] => runs.filter((r) => r.broker === b && r.caseId === c.id);
    c.metrics.forEach((m, i) => {
      const med = (b: BrokerName): number | undefined => {
        const values = of(b).filter((r) => !r.crashed && r.result).map((r) => m.get(r.result!)).filter((v): v is number => v !== undefined && Number.isFinite(v));
        return values.length ? median(values) : undefined;
      };
      const cell = (b: BrokerName): string => {
        const all = of(b);
        const crashed = all.filter((r) => r.crashed).length;
        const v = med(b);
        // A loss figure from a run whose drain was cut off while messages still arrived.
        const late = (m === lost || m === lostOfAcked) && all.some((r) => r.result?.drain?.cutOff) ? '*' : '';
        const text = v === undefined ? '-' : `${fmtNum(v, m.digits)}${late}`;
        return crashed ? `${crashed === all.length ? 'crashed' : text} (${crashed}/${all.length} crashed)` : text;
      };
      const row = [i === 0 ? c.label : '', `${m.name} ${m.higher ? '↑' : '↓'}`, ...peers.map(cell)];
      for (const sb of mine) {
        const s = med(sb);
        for (const b of others) {
          const o = med(b);
          row.push(s !== undefined && o !== undefined && o !== 0 && m.name.startsWith('lost') === false ? `${(s / o).toFixed(2)}×` : '-');
        }
      }
      if (brokers.includes('sink')) row.push(cell('sink'));
      const resource = (get: (r: ScenarioResult) => number | undefined): string =>
        peers.map((b) => {
          const v = of(b).filter((r) => r.result && !r.crashed).map((r) => get(r.result!)).filter((x): x is number => x !== undefined);
          return v.length ? String(Math.round(median(v))) : '-';
        }).join(' / ');
      row.push(i === 0 ? resource((r) => r.broker?.cpuPercent) : '', i === 0 ? resource((r) => r.broker?.peakRssMB) : '');
      rows.push(row);
    });
  }
  // Markdown, so that the output pastes into docs/benchmarks.md as it is.
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((x, i) => (i < 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function notes(): string[] {
  const out: string[] = [];
  for (const c of cases) {
    for (const b of brokers) {
      const seen = new Set<string>();
      for (const r of runs.filter((x) => x.broker === b && x.caseId === c.id)) {
        const problems = r.crashed ? [`crashed: ${r.crashed}`] : (r.result?.problems ?? []);
        for (const p of problems) {
          const key = p.replace(/[\d,.]+/g, 'N');
          if (seen.has(key)) continue;
          seen.add(key);
          out.push(`- ${LABEL[b]}, ${c.label} (run ${r.repeat + 1}): ${p}`);
        }
      }
    }
  }
  return out;
}

const t0 = Date.now();
const info = machine();
for (const l of info) process.stderr.write(`${l}\n`);
const plan: Array<[BrokerName, Case, number]> = [];
for (let r = 0; r < REPEATS; r++) {
  for (const c of cases) {
    const order = peers.map((_, i) => peers[(i + r) % peers.length]!);
    for (const b of order) plan.push([b, c, r]);
    if (r === 0 && brokers.includes('sink') && !c.tls) plan.push(['sink', c, r]);
  }
}
let done = 0;
for (const [b, c, r] of plan) {
  const run = await runOne(b, c, r);
  runs.push(run);
  done++;
  const m = c.metrics[0]!;
  const v = run.result ? m.get(run.result) : undefined;
  const status = run.crashed ? `CRASHED: ${run.crashed}` : run.result!.ok ? 'ok' : `problems: ${run.result!.problems.join('; ')}`;
  process.stderr.write(`[${done}/${plan.length}] ${LABEL[b]} ${c.id} #${r + 1}: ${m.name} ${v === undefined ? '-' : fmtNum(v, m.digits)}; ${status}\n`);
}
const minutes = ((Date.now() - t0) / 60_000).toFixed(1);

const out = [
  `Starling beside Mosquitto and Aedes: median of ${REPEATS} runs, ${args.duration} s measured after ${args.warmup} s warm-up (latency: ${steady.duration} s after ${steady.warmup} s, with one generator thread; idle connections: held 15 s), 64-byte payloads, MQTT 3.1.1, on ${new Date().toISOString().slice(0, 10)} (${minutes} min in all).`,
  'Ratios: Starling ÷ the other broker (↑ higher is better, so > 1 favours Starling; ↓ lower is better, so < 1 favours Starling).',
  'CPU % of one core over the measured time; RSS: the broker\'s peak resident memory in the run.',
  'Lost: deliveries owed (QoS 0: sent, QoS 1: acknowledged, times the subscribers reached) that never arrived; the wait for late ones ends after 0.5 s without progress, or after 3 s (QoS 0) or 10 s (QoS 1); * marks a figure where that cap cut off messages still arriving.',
  'The sink forwards without flow control and drops when the generator\'s subscribers fall behind: its loss is the generator\'s receive ceiling, not a fault.',
  'Connections: the setup rate is shared-machine CPU split between the generator and the broker; broker CPU µs/conn is the broker\'s user + system time from the first connect to the last CONNACK, per connection.',
  ...(cases.some((c) => c.tls)
    ? [`TLS: every connection a full handshake (no session resumption), TLS 1.3, a self-signed ${args['tls-key'] === 'rsa' ? 'RSA 2048' : 'EC P-256'} server certificate that the generator does not verify; the sink has no TLS listener.`]
    : []),
  ...(cases.some((c) => c.id === 'connections-tls-resume')
    ? ['TLS resumed: each client connected once first (not measured) and reconnects offering its session ticket; only the reconnections are measured.']
    : []),
  '',
  ...info.map((l) => `${l}  `),
  `load average at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  '',
  table(),
  '',
  ...notes(),
];
process.stdout.write(`${out.join('\n')}\n`);
if (args.json) writeFileSync(args.json, JSON.stringify({ machine: info, runs }, null, 2));
