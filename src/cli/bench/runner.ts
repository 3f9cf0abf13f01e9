// The coordinator: turns a scenario into clients, spreads them over worker threads, runs
// warm-up, measurement and drain on a clock, and accounts for every message.

import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { ScenarioName, ScenarioOptions } from './options.js';
import { C, Counters, cpuPercent, openFileLimit, sampleProcess, summarizeLatency, type LatencySummary, type ProcSample, type Snapshot } from './stats.js';
import type { FromWorker, PublisherSpec, SubscriberSpec, ToWorker, WorkerInit } from './worker.js';

export interface ScenarioResult {
  scenario: ScenarioName;
  /** False when anything the scenario does not allow happened; `problems` says what. */
  ok: boolean;
  problems: string[];
  target: string;
  options: {
    protocolVersion: number;
    qos: number;
    payloadSize: number;
    publishers: number;
    subscribers: number;
    inflight: number;
    rate: number;
    connections: number;
    topics: number;
    workers: number;
    warmup: number;
    duration: number;
    tls: boolean;
  };
  /** Length of the measured window, seconds. */
  seconds: number;
  messages: {
    sent: number;
    /** QoS 1 PUBACKs or QoS 2 PUBCOMPs. */
    acked: number;
    /** PUBLISH packets received by all subscribers. */
    received: number;
    /** Deliveries the broker owed: sent (QoS 0) or acknowledged (QoS 1/2) times the subscribers each reaches. */
    expected: number;
    unique: number;
    lost: number;
    duplicates: number;
    outOfOrder: number;
    /** QoS 1/2 publishes still unacknowledged when the run ended. */
    unacked: number;
  };
  /** Per second over the measured window. */
  rates: { publish: number; ack: number; delivery: number };
  latency?: LatencySummary;
  /**
   * The wait after the publishers stopped for what was still in flight. `cutOff`: messages
   * were still arriving when it ended, so `lost` counts some that were only late.
   */
  drain?: { seconds: number; cutOff: boolean };
  connections?: {
    requested: number;
    established: number;
    failed: number;
    setupSeconds: number;
    perSecond: number;
    /** Broker memory growth over the connections at the end of the hold, when its pid is known. */
    rssDeltaKB?: number;
    kbPerConnection?: number;
    /** The same one second into the hold, while a garbage-collected broker still holds the burst's garbage. */
    kbPerConnectionAt1s?: number;
    /**
     * The broker's CPU time (user + system) from before the first connect to the last
     * CONNACK, per connection established, in microseconds, when its pid is known. Unlike
     * the rate, it does not depend on how fast the generator is or on what else runs on the
     * machine: on a shared machine, it is what decides the rate the broker leaves room for.
     */
    brokerCpuUsPerConnection?: number;
    /** The kernel's part of it (system time). */
    brokerSystemUsPerConnection?: number;
    /** --tls-resume: connections whose TLS session the broker resumed (no full handshake). */
    resumed?: number;
    /** The same for this generator (all its threads): the other half of the machine's work. */
    generatorCpuUsPerConnection: number;
  };
  subscriptions?: { requested: number; acknowledged: number; refused: number; setupSeconds: number; perSecond: number };
  broker?: { pid: number; cpuPercent?: number; rssMB?: number; peakRssMB?: number; exited?: boolean };
  generator: { cpuPercent: number; workers: number };
  errors: string[];
}

export interface RunHooks {
  /** A one-line status, a few times a second. */
  progress?: (line: string) => void;
  /**
   * Called as the measured window of a message scenario starts and ends, beside the --pid
   * sample: bench/cluster.ts samples several processes (nodes, Redis) over the same window.
   */
  measured?: (edge: 'start' | 'end') => void;
}

interface Plan {
  publishers: PublisherSpec[];
  subscribers: SubscriberSpec[];
  idle: string[];
  /** Subscribers each message reaches. */
  fanout: number;
}

function plan(o: ScenarioOptions, runId: string): Plan {
  const prefix = `bench/${runId}`;
  const pubId = (i: number): string => `bench-${runId}-p${i}`;
  const subId = (i: number): string => `bench-${runId}-s${i}`;
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  const track = o.payloadSize >= 16;
  switch (o.scenario) {
    case 'fan-in':
    case 'qos1':
    case 'latency':
      return {
        publishers: range(o.publishers).map((i) => ({
          index: i,
          clientId: pubId(i),
          topics: { kind: 'list', names: [`${prefix}/${i}`] },
          rate: o.rate > 0 ? o.rate / o.publishers : 0,
        })),
        subscribers: range(o.subscribers).map((i) => ({
          clientId: subId(i),
          filters: { kind: 'list', names: [`${prefix}/#`] },
          track,
          latency: o.scenario === 'latency' && track,
        })),
        idle: [],
        fanout: o.subscribers,
      };
    case 'fan-out':
      return {
        publishers: range(o.publishers).map((i) => ({ index: i, clientId: pubId(i), topics: { kind: 'list', names: [`${prefix}/fanout`] }, rate: 0 })),
        subscribers: range(o.subscribers).map((i) => ({ clientId: subId(i), filters: { kind: 'list', names: [`${prefix}/fanout`] }, track, latency: false })),
        idle: [],
        fanout: o.subscribers,
      };
    case 'topics': {
      const per = Math.floor(o.topics / o.subscribers);
      const extra = o.topics % o.subscribers;
      let from = 0;
      const subscribers: SubscriberSpec[] = range(o.subscribers).map((i) => {
        const count = per + (i < extra ? 1 : 0);
        const spec: SubscriberSpec = { clientId: subId(i), filters: { kind: 'range', prefix, from, to: from + count }, track: false, latency: false };
        from += count;
        return spec;
      });
      return {
        publishers: range(o.publishers).map((i) => ({ index: i, clientId: pubId(i), topics: { kind: 'range', prefix, from: 0, to: o.topics }, rate: 0 })),
        subscribers,
        idle: [],
        fanout: 1,
      };
    }
    case 'connections':
      return { publishers: [], subscribers: [], idle: range(o.connections).map((i) => `bench-${runId}-c${i}`), fanout: 0 };
  }
}

/** Publishers on the first half of the workers, subscribers on the rest; idle ones everywhere. */
function assign(p: Plan, workers: number): Array<Pick<WorkerInit, 'publishers' | 'subscribers' | 'idle'>> {
  const out = Array.from({ length: workers }, () => ({ publishers: [] as PublisherSpec[], subscribers: [] as SubscriberSpec[], idle: [] as string[] }));
  const pubWorkers = workers === 1 ? 1 : Math.max(1, Math.floor(workers / 2));
  const subStart = workers === 1 ? 0 : pubWorkers;
  const subWorkers = workers - subStart;
  p.publishers.forEach((s, i) => out[i % pubWorkers]!.publishers.push(s));
  p.subscribers.forEach((s, i) => out[subStart + (i % subWorkers)]!.subscribers.push(s));
  p.idle.forEach((s, i) => out[i % workers]!.idle.push(s));
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 0): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** A worker with a queue of its messages, so the coordinator can await the next one of a type. */
class WorkerHandle {
  readonly worker: Worker;
  private readonly inbox: FromWorker[] = [];
  private waiter: (() => void) | undefined;
  failure: Error | undefined;

  constructor() {
    this.worker = new Worker(new URL('./worker.js', import.meta.url));
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'error') this.failure = new Error(`worker: ${m.message}`);
      else this.inbox.push(m);
      this.waiter?.();
    });
    // @types/node 22+ types a worker's 'error' as unknown: a worker can throw a non-Error.
    this.worker.on('error', (err: unknown) => {
      this.failure = err instanceof Error ? err : new Error(`worker: ${String(err)}`);
      this.waiter?.();
    });
    this.worker.on('exit', (code) => {
      this.failure ??= new Error(`worker exited with code ${code}`);
      this.waiter?.();
    });
  }

  send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  async next<T extends FromWorker['type']>(type: T, ms: number): Promise<Extract<FromWorker, { type: T }>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Extract<FromWorker, { type: T }>;
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no '${type}' from a worker within ${Math.round(ms / 1000)} s`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }
}

export async function runScenario(o: ScenarioOptions, hooks: RunHooks = {}): Promise<ScenarioResult> {
  const runId = randomBytes(4).toString('hex');
  const p = plan(o, runId);
  const workerCount = Math.max(1, Math.min(o.workers, p.publishers.length + p.subscribers.length + p.idle.length));
  const counters = Counters.create(workerCount);
  const problems: string[] = [];
  const errors: string[] = [];
  const sockets = p.publishers.length + p.subscribers.length + p.idle.length;
  const limit = openFileLimit();
  const result: ScenarioResult = {
    scenario: o.scenario,
    ok: false,
    problems,
    target: o.subscriberPort === undefined ? `${o.host}:${o.port}` : `${o.host}:${o.port} -> ${o.host}:${o.subscriberPort}`,
    options: {
      protocolVersion: o.protocolVersion,
      qos: o.qos,
      payloadSize: o.payloadSize,
      publishers: p.publishers.length,
      subscribers: p.subscribers.length,
      inflight: o.inflight,
      rate: o.rate,
      connections: p.idle.length,
      topics: o.scenario === 'topics' ? o.topics : 0,
      workers: workerCount,
      warmup: o.warmup,
      duration: o.duration,
      tls: o.tls !== undefined,
    },
    seconds: 0,
    messages: { sent: 0, acked: 0, received: 0, expected: 0, unique: 0, lost: 0, duplicates: 0, outOfOrder: 0, unacked: 0 },
    rates: { publish: 0, ack: 0, delivery: 0 },
    generator: { cpuPercent: 0, workers: workerCount },
    errors,
  };
  if (limit !== undefined && sockets + 64 > limit) {
    problems.push(`${sockets} sockets need more open files than this process may have (ulimit -n is ${limit}); raise it with 'ulimit -n'`);
    return result;
  }

  const base = process.hrtime.bigint();
  const timeoutMs = o.timeout * 1000;
  let brokerBefore = o.pid !== undefined ? sampleProcess(o.pid) : undefined;
  if (o.pid !== undefined && !brokerBefore) problems.push(`no process ${o.pid} to sample`);
  const workers = assign(p, workerCount).map((share, worker) => {
    const h = new WorkerHandle();
    h.send({
      type: 'init',
      worker,
      counters: counters.buffer,
      base,
      host: o.host,
      port: o.port,
      ...(o.subscriberPort !== undefined && { subscriberPort: o.subscriberPort }),
      version: o.protocolVersion,
      qos: o.qos,
      payloadSize: o.payloadSize,
      inflight: o.inflight,
      timeoutMs,
      tls: o.tls,
      connectConcurrency: Math.max(1, Math.ceil(o.connectConcurrency / workerCount)),
      seed: 0x5eed + worker,
      ...share,
    });
    return h;
  });
  const all = <T extends FromWorker['type']>(type: T, ms: number): Promise<Array<Extract<FromWorker, { type: T }>>> => Promise.all(workers.map((w) => w.next(type, ms)));
  const progress = (phase: string, s: Snapshot, prev: Snapshot | undefined): void => {
    if (!hooks.progress) return;
    const dt = prev ? (s.at - prev.at) / 1000 : 0;
    const per = (a: number, b: number | undefined): string => (prev && dt > 0 ? `${fmt((a - (b ?? 0)) / dt)}/s` : '-');
    hooks.progress(
      `${o.scenario} ${phase}: sent ${per(s.sent, prev?.sent)}` +
        (o.qos > 0 ? ` acked ${per(s.acked, prev?.acked)} inflight ${s.inflight}` : '') +
        ` received ${per(s.received, prev?.received)}  total ${fmt(s.received)}` +
        (counters.sum(C.errors) > 0 ? `  errors ${counters.sum(C.errors)}` : ''),
    );
  };

  if (o.scenario === 'connections' && o.tls?.resume === true) {
    // The first round of connections gives each client its session; only the reconnections
    // that follow are measured, for the broker's CPU as for the rate.
    hooks.progress?.('connections: first round, to get each client a TLS session');
    // Twice the setup bound: the first round is a storm of connections and then one of
    // disconnections (a loaded machine took more than 30 s for 10,000 TLS ones).
    const primed = await all('primed', 2 * (timeoutMs + sockets));
    const failedFirst = primed.reduce((n, r) => n + r.failed, 0);
    if (failedFirst > 0) problems.push(`${failedFirst} of ${p.idle.length} first connections failed`);
    // The broker is still closing the first round when the last client sees its socket
    // closed; after an outage those connections died long before the storm, so that work
    // is kept out of the storm's figures.
    if (o.pid !== undefined) await brokerSettled(o.pid);
    brokerBefore = o.pid !== undefined ? sampleProcess(o.pid) : undefined;
    for (const w of workers) w.send({ type: 'storm' });
  }
  const cpu0 = process.cpuUsage();
  let genStart = performance.now();
  let genCpu = cpu0;
  let brokerA: ProcSample | undefined;
  let brokerB: ProcSample | undefined;
  try {
    // ---- setup: connect, subscribe -------------------------------------------------------
    const setupMs = timeoutMs + sockets; // a little more for very many connections
    const readyP = all('ready', setupMs);
    if (hooks.progress) {
      const t = setInterval(() => hooks.progress!(`${o.scenario} setup: connected ${counters.sum(C.connected)}/${sockets}, subscriptions ${counters.sum(C.subscribed)}`), 500);
      readyP.finally(() => clearInterval(t)).catch(() => {});
    }
    const ready = await readyP;
    const failed = ready.reduce((n, r) => n + r.failed, 0);
    const connectStart = Math.min(...ready.map((r) => r.connectStart));
    const connectEnd = Math.max(...ready.map((r) => r.connectEnd));
    const subscribing = ready.filter((r) => r.subscribers > 0);
    const subscribeStart = Math.min(...subscribing.map((r) => r.connectEnd));
    const subscribeEnd = Math.max(...subscribing.map((r) => r.subscribeEnd));
    const connected = counters.sum(C.connected);
    const refused = counters.sum(C.refused);
    if (p.subscribers.length > 0) {
      const requested = p.subscribers.reduce((n, s) => n + (s.filters.kind === 'list' ? s.filters.names.length : s.filters.to - s.filters.from), 0);
      const acknowledged = counters.sum(C.subscribed);
      const secs = Math.max(0.001, (subscribeEnd - subscribeStart) / 1000);
      result.subscriptions = { requested, acknowledged, refused, setupSeconds: round(secs, 3), perSecond: round(acknowledged / secs) };
      if (refused > 0) problems.push(`${refused} subscriptions refused`);
    }

    if (o.scenario === 'connections') {
      const secs = Math.max(0.001, (connectEnd - connectStart) / 1000);
      const setupCpu = process.cpuUsage(cpu0);
      result.connections = {
        requested: p.idle.length,
        established: connected,
        failed,
        setupSeconds: round(secs, 3),
        perSecond: round(connected / secs),
        generatorCpuUsPerConnection: round((setupCpu.user + setupCpu.system) / Math.max(connected, 1), 1),
      };
      if (o.tls?.resume === true) result.connections.resumed = ready.reduce((n, r) => n + r.resumed, 0);
      if (failed > 0) problems.push(`${failed} of ${p.idle.length} connections failed`);
      // Hold them idle for --duration: the broker's CPU over the hold shows what idle
      // connections cost, and its memory at the end what they hold once it has settled (V8
      // returns what the burst of handshakes took some 10 s after it; the figure at 1 s is
      // kept beside it).
      brokerA = o.pid !== undefined ? sampleProcess(o.pid) : undefined;
      if (brokerBefore && brokerA && connected > 0) {
        result.connections.brokerCpuUsPerConnection = round(((brokerA.cpuSeconds - brokerBefore.cpuSeconds) * 1e6) / connected, 1);
        result.connections.brokerSystemUsPerConnection = round(((brokerA.systemSeconds - brokerBefore.systemSeconds) * 1e6) / connected, 1);
      }
      genStart = performance.now();
      genCpu = process.cpuUsage();
      const holdMs = o.duration * 1000;
      const t0 = performance.now();
      let early: ProcSample | undefined;
      while (performance.now() - t0 < holdMs) {
        await sleep(Math.min(500, holdMs - (performance.now() - t0)));
        // Steps of 500 ms from t0: the second one ends 1 s in.
        if (early === undefined && o.pid !== undefined && performance.now() - t0 >= 1000) early = sampleProcess(o.pid);
        hooks.progress?.(`connections: holding ${fmt(counters.sum(C.connected))} idle, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      }
      result.seconds = round((performance.now() - t0) / 1000, 3);
      brokerB = o.pid !== undefined ? sampleProcess(o.pid) : undefined;
      if (brokerBefore && brokerB && connected > 0) {
        result.connections.rssDeltaKB = brokerB.rssKB - brokerBefore.rssKB;
        result.connections.kbPerConnection = round((brokerB.rssKB - brokerBefore.rssKB) / connected, 2);
        if (early) result.connections.kbPerConnectionAt1s = round((early.rssKB - brokerBefore.rssKB) / connected, 2);
      }
    } else {
      if (failed > 0) throw new Error(`${failed} clients could not connect or subscribe`);
      // ---- run: warm-up, measured window -------------------------------------------------
      const t0 = performance.now();
      const measureFrom = Number(process.hrtime.bigint() - base) + o.warmup * 1e9;
      for (const w of workers) w.send({ type: 'go', measureFrom });
      let prev: Snapshot | undefined;
      let start: Snapshot | undefined;
      const endAt = t0 + (o.warmup + o.duration) * 1000;
      while (performance.now() < endAt) {
        const nextTick = Math.min(250, endAt - performance.now(), start ? Infinity : t0 + o.warmup * 1000 - performance.now());
        await sleep(Math.max(0, nextTick));
        for (const w of workers) if (w.failure) throw w.failure;
        const s = counters.snapshot();
        if (!start && s.at >= t0 + o.warmup * 1000) {
          start = s;
          brokerA = o.pid !== undefined ? sampleProcess(o.pid) : undefined;
          hooks.measured?.('start');
          genStart = performance.now();
          genCpu = process.cpuUsage();
        }
        if (!prev || s.at - prev.at >= 500) {
          progress(start ? `${((s.at - start.at) / 1000).toFixed(1)} s` : 'warm-up', s, prev);
          prev = s;
        }
      }
      const end = counters.snapshot();
      brokerB = o.pid !== undefined ? sampleProcess(o.pid) : undefined;
      hooks.measured?.('end');
      const secs = (end.at - start!.at) / 1000;
      result.seconds = round(secs, 3);
      result.rates = {
        publish: round((end.sent - start!.sent) / secs),
        ack: round((end.acked - start!.acked) / secs),
        delivery: round((end.received - start!.received) / secs),
      };
      for (const w of workers) w.send({ type: 'stop' });
      await all('stopped', timeoutMs);

      // ---- drain: wait for what is still in flight -----------------------------------------
      // QoS 1/2: up to 10 s for every acknowledged message. QoS 0: 3 s, because flooding
      // publishers fill the kernel's socket buffers with more than a broker delivers in
      // seconds; what has not arrived by then counts as lost.
      const drainUntil = performance.now() + Math.min(timeoutMs, o.qos > 0 ? 10_000 : 3000);
      // Every acknowledged QoS 1/2 message is owed, so a pause of a loaded broker (a GC, a
      // busy machine) must not end the wait: 2 s of quiet, against 0.5 s at QoS 0.
      const quiet = o.qos > 0 ? 2000 : 500;
      let last = counters.snapshot();
      const drainStart = last.at;
      let quietSince = last.at;
      for (;;) {
        await sleep(50);
        const s = counters.snapshot();
        const expected = (o.qos > 0 ? s.acked : s.sent) * p.fanout;
        result.drain = { seconds: round((s.at - drainStart) / 1000, 2), cutOff: false };
        if (s.unique >= expected && s.inflight === 0) break;
        if (s.received !== last.received || s.acked !== last.acked) quietSince = s.at;
        // Nothing moved for that long: what has not come will not come.
        if (s.at - quietSince > quiet) break;
        if (s.at > drainUntil) {
          result.drain.cutOff = true;
          break;
        }
        last = s;
        hooks.progress?.(`${o.scenario} drain: inflight ${s.inflight}, received ${fmt(s.received)} of ${fmt(expected)}`);
      }
    }
  } catch (err) {
    problems.push((err as Error).message);
  } finally {
    const genSecs = (performance.now() - genStart) / 1000;
    const used = process.cpuUsage(genCpu);
    result.generator.cpuPercent = round(((used.user + used.system) / 1e6 / Math.max(genSecs, 0.001)) * 100, 1);
    // ---- finish: collect, close ---------------------------------------------------------------
    const results = await Promise.allSettled(workers.map(async (w) => {
      w.send({ type: 'finish' });
      return w.next('result', 10_000);
    }));
    const samples: Float64Array[] = [];
    for (const r of results) {
      if (r.status === 'fulfilled') {
        samples.push(r.value.latencies);
        for (const e of r.value.errors) if (errors.length < 10) errors.push(e);
      }
    }
    await Promise.all(workers.map((w) => w.worker.terminate()));
    if (p.subscribers.some((s) => s.latency)) {
      const total = samples.reduce((n, s) => n + s.length, 0);
      const merged = new Float64Array(total);
      let at = 0;
      for (const s of samples) {
        merged.set(s, at);
        at += s.length;
      }
      result.latency = summarizeLatency(merged);
    }
  }

  // ---- account --------------------------------------------------------------------------------
  const m = result.messages;
  m.sent = counters.sum(C.sent);
  m.acked = counters.sum(C.acked);
  m.received = counters.sum(C.received);
  m.unique = counters.sum(C.unique);
  m.duplicates = counters.sum(C.duplicates);
  m.outOfOrder = counters.sum(C.outOfOrder);
  m.unacked = counters.sum(C.inflight);
  m.expected = (o.qos > 0 ? m.acked : m.sent) * p.fanout;
  m.lost = Math.max(0, m.expected - m.unique);
  if (o.pid !== undefined) {
    const now = sampleProcess(o.pid);
    result.broker = {
      pid: o.pid,
      ...(cpuPercent(brokerA, brokerB) !== undefined && { cpuPercent: cpuPercent(brokerA, brokerB) }),
      ...(brokerB && { rssMB: round(brokerB.rssKB / 1024, 1), peakRssMB: round(brokerB.peakRssKB / 1024, 1) }),
      ...(!now && { exited: true }),
    };
    if (!now) problems.push(`the broker (pid ${o.pid}) exited`);
  }
  const errorCount = counters.sum(C.errors);
  if (errorCount > 0) problems.push(`${errorCount} client errors (first: ${errors[0] ?? 'unknown'})`);
  if (m.lost > 0 && (o.qos > 0 || o.strict)) problems.push(`${fmt(m.lost)} of ${fmt(m.expected)} ${o.qos > 0 ? 'acknowledged ' : ''}messages never delivered`);
  if (m.unacked > 0) problems.push(`${fmt(m.unacked)} QoS ${o.qos} publishes never acknowledged`);
  if (m.duplicates > 0 && o.qos !== 1) problems.push(`${fmt(m.duplicates)} duplicate deliveries at QoS ${o.qos}`);
  if (m.outOfOrder > 0) problems.push(`${fmt(m.outOfOrder)} messages delivered out of order`);
  if (o.scenario !== 'connections' && m.sent === 0 && problems.length === 0) problems.push('nothing was published');
  result.ok = problems.length === 0;
  return result;
}

/** 1234567 -> "1.23M", for progress lines. */
export function fmt(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/**
 * Waits until the process `pid` (with its children) has been idle, under 5% of a core, for
 * 250 ms, and at least `minMs` (1.25 s: a broker may finish a closed socket off on a 1 s
 * timer, Starling does); at most `maxMs`.
 */
export async function brokerSettled(pid: number, minMs = 1250, maxMs = 5000): Promise<void> {
  const start = performance.now();
  let prev = sampleProcess(pid);
  while (prev !== undefined && performance.now() - start < maxMs) {
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 250));
    const next = sampleProcess(pid);
    if (next === undefined) return;
    const busy = (next.cpuSeconds - prev.cpuSeconds) / ((performance.now() - t0) / 1000);
    prev = next;
    if (busy < 0.05 && performance.now() - start >= minMs) return;
  }
}
