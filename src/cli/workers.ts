// `starling --workers N`: N broker processes on one machine, sharing the listeners' ports.
//
// A Node process runs JavaScript on one core; TLS handshakes above all (about 650 µs of CPU
// each in Node, docs/benchmarks.md) need more than one. node:cluster lets N processes accept
// on one port: the primary here forks the workers, restarts one that dies, and forwards
// signals; each worker is the ordinary `starling` command with the same argv and config,
// plus the few differences below (forWorker). The primary holds no broker.
//
// What differs in worker i (1-based) from the config as written:
//   - `persistence.dataDir` is `<dataDir>/worker-<i>`: one SQLite store per broker
//     (docs/durability.md), and worker i finds its own again after a restart;
//   - `http.port` is `port + i - 1` (0 stays 0: each worker picks a free port), so every
//     worker serves its own /metrics, /healthz and admin API (docs/workers.md says why);
//   - `cluster.node` is `<node>-<i>`, so each worker is a cluster member of its own;
//   - its log lines carry `"worker": i` and its pid;
//   - its TLS and WSS listeners without `tls.ticketKeyFile` use ticket keys the primary drew
//     once for all workers, so a client that resumes its TLS session on another worker (the
//     OS picks) resumes it (src/transport/ticket-keys.ts).
//
// Worker output goes through the primary (a pipe per worker) and is written a whole number of
// lines at a time, so lines of two workers never interleave on a shared stdout.

import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { StarlingConfig } from '../config/index.js';
import type { ListenerOptions } from '../transport/types.js';
import { takeWorkerTicketKeys, workerTicketKeysEnv } from '../transport/ticket-keys.js';

/** Set in a worker's environment by the primary: "<index>/<count>". Not STARLING_*: those are config keys. */
export const WORKER_ENV = '_STARLING_WORKER';
/** More is refused: a typo (`--workers 1000`) should not fork a thousand processes. */
export const MAX_WORKERS = 256;

export interface WorkerIdentity {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

/** `N` (1..MAX_WORKERS) or `auto`, one per core. Throws with the message to show. */
export function parseWorkerCount(value: string): number {
  if (value === 'auto') return os.availableParallelism();
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) throw new Error(`--workers is a number from 1 to ${MAX_WORKERS} or "auto" (one per core), not "${value}"`);
  return n;
}

/** `--workers` with no value (last, or before another flag) is `--workers auto`: one per core. */
export function workersDefault(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    out.push(a);
    if (a === '--workers' && (i + 1 === argv.length || argv[i + 1]!.startsWith('-'))) out.push('auto');
  }
  return out;
}

/** This process's place among the workers; undefined in the primary or a plain `starling`. */
export function workerIdentity(env: NodeJS.ProcessEnv = process.env): WorkerIdentity | undefined {
  if (!cluster.isWorker) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(env[WORKER_ENV] ?? '');
  return m ? { index: Number(m[1]), count: Number(m[2]) } : undefined;
}

/** The config's `cluster` section, when it sets one. */
function clusterSection(config: StarlingConfig): StarlingConfig['cluster'] | undefined {
  return config.cluster?.redis !== undefined ? config.cluster : undefined;
}

/** The config worker `id` runs with (see the top of this file); the input is not changed. */
export function forWorker(config: StarlingConfig, id: WorkerIdentity | undefined): StarlingConfig {
  if (id === undefined) return config;
  const next = { ...config } as { -readonly [K in keyof StarlingConfig]: StarlingConfig[K] };
  if (config.persistence.store !== 'memory') {
    next.persistence = { ...config.persistence, dataDir: path.join(config.persistence.dataDir, `worker-${id.index}`) };
  }
  if (config.http.port !== undefined && config.http.port !== 0) {
    next.http = { ...config.http, port: config.http.port + id.index - 1 };
  }
  const c = clusterSection(config);
  if (c !== undefined) next.cluster = { ...c, node: `${c.node ?? os.hostname()}-${id.index}` };
  return next;
}

/**
 * Why these workers cannot run with this config, or undefined. `isolated`: the user asked for
 * brokers that do not share messages (--isolated-workers).
 */
export function workersProblem(config: StarlingConfig, count: number, isolated: boolean): string | undefined {
  if (clusterSection(config) === undefined && !isolated) {
    return (
      '--workers needs a `cluster` section (cluster.redis): without one each worker is a separate broker, ' +
      'and clients that the OS hands to different workers do not see each other\'s messages, retained ' +
      'messages or sessions. Add `cluster: { redis: "redis://127.0.0.1:6379" }` to the config, or pass ' +
      '--isolated-workers to run unconnected brokers on purpose (e.g. to terminate connections for a benchmark).'
    );
  }
  const unix = config.listeners.find((l) => l.type === 'unix');
  if (unix !== undefined) {
    return `--workers: the unix listener ${unix.path ?? ''} cannot be shared by workers (each would remove the socket file of the others when it stops); use a tcp listener on 127.0.0.1, or run without --workers`;
  }
  const port = config.http.port;
  if (port !== undefined && port !== 0 && port + count - 1 > 65_535) return `--workers ${count}: http.port ${port} leaves no room for one port per worker (${port}..${port + count - 1})`;
  return undefined;
}

// ---- in a worker ------------------------------------------------------------------------------

/** The messages a worker sends the primary. */
type ToPrimary = { starling: 'ready' };

/** Worker side: marks the broker's log lines, and tells the primary once it serves. */
export const worker = {
  identity: workerIdentity,
  /** Adds `worker` and `pid` to every log line of the broker's logger. */
  label(log: pino.Logger, id: WorkerIdentity | undefined): void {
    if (id !== undefined) log.setBindings({ worker: id.index, pid: process.pid });
  },
  /** The listeners with the primary's shared ticket keys where no key file is set. */
  ticketKeys(listeners: readonly ListenerOptions[] | undefined): ListenerOptions[] | undefined {
    const keys = takeWorkerTicketKeys();
    if (keys === undefined || listeners === undefined) return listeners?.slice();
    return listeners.map((l) => ((l.type === 'tls' || l.type === 'wss') && l.ticketKeyFile === undefined ? { ...l, ticketKeys: keys } : l));
  },
  /** Listeners and the HTTP server are open: the primary counts this worker as started. */
  ready(id: WorkerIdentity | undefined): void {
    if (id !== undefined) process.send?.({ starling: 'ready' } satisfies ToPrimary);
  },
};

// ---- the primary ------------------------------------------------------------------------------

export interface WorkerBounds {
  /** Delay before the first restart of a worker that died, ms; doubled at each further death. */
  restartDelay: number;
  /** The longest delay between restarts, ms. A worker up this long resets the doubling. */
  maxRestartDelay: number;
  /** How long a graceful stop may take before the remaining workers are killed, ms. */
  stopTimeout: number;
  /** V8's parallel scavenges in the workers; false adds `--no-parallel-scavenge` (see workerExecArgv). */
  parallelScavenge: boolean;
}

/** Node flags that already choose how scavenges use threads: the operator's choice stands. */
const SCAVENGE_FLAGS = /^--(no-)?(parallel[-_]scavenge|single[-_]threaded([-_]gc)?)(=|$)/;

/**
 * The Node flags a worker starts with: the primary's own (`process.execArgv`), plus
 * `--no-parallel-scavenge` unless `parallelScavenge` is true or the primary's flags already
 * choose. N workers already fill the cores; a scavenge split over V8's helper threads waits
 * for each of them, and a helper with no core to run on (the other workers, Redis and the
 * clients have them) stretched the pause: the cross-node latency's tail (docs/workers.md
 * has the figures). V8 takes its GC flags only at the process's start (changed from inside
 * a running process with v8.setFlagsFromString, `--single-threaded-gc` made it abort at its
 * next collection): they go on the worker's command line.
 */
export function workerExecArgv(execArgv: readonly string[], parallelScavenge: boolean): string[] {
  return parallelScavenge || execArgv.some((a) => SCAVENGE_FLAGS.test(a)) ? [...execArgv] : [...execArgv, '--no-parallel-scavenge'];
}

/** The wait before restarting a worker that died `failures` times in a row before: doubling, bounded. */
export function restartDelay(failures: number, bounds: Pick<WorkerBounds, 'restartDelay' | 'maxRestartDelay'>): number {
  return Math.min(bounds.restartDelay * 2 ** Math.min(failures, 30), bounds.maxRestartDelay);
}

export interface PrimaryOptions {
  count: number;
  bounds: WorkerBounds;
  /** Log level of the primary's own lines (from the config). */
  logLevel: string;
}

/**
 * `starling --workers N` in the primary: checks the config, runs the workers until a signal
 * stops them, and exits. Returns the exit status of a refusal (2) without forking.
 */
export async function runWorkers(value: string, config: StarlingConfig, isolated: boolean): Promise<number> {
  let count: number;
  try {
    count = parseWorkerCount(value);
  } catch (e) {
    process.stderr.write(`starling: ${(e as Error).message}\n`);
    return 2;
  }
  const problem = workersProblem(config, count, isolated);
  if (problem !== undefined) {
    process.stderr.write(`starling: ${problem}\n`);
    return 2;
  }
  const code = await runPrimary({ count, bounds: { ...config.workers }, logLevel: config.log.level });
  process.exit(code);
}

interface Slot {
  index: number;
  worker: Worker | undefined;
  ready: boolean;
  startedAt: number;
  /** Deaths since it last stayed up maxRestartDelay. */
  failures: number;
  restarts: number;
  timer: NodeJS.Timeout | undefined;
  /** The part of a line it has written so far, per stream. */
  partial: { out: string; err: string };
}

/**
 * Runs the primary until it is stopped: resolves with the exit code (0 after a graceful stop
 * of every worker, 1 when a worker could not start or a stop had to kill).
 */
export function runPrimary(o: PrimaryOptions): Promise<number> {
  // Each worker accepts on the shared socket itself (SCHED_NONE), unless the environment
  // asks for round robin (NODE_CLUSTER_SCHED_POLICY=rr). Round robin passes every connection
  // through the primary over IPC: measured, 150-250 µs of CPU more per connection, which
  // cancelled most of what a second core gives TLS handshakes; the kernel's own spread was
  // even under a storm (1,542 / 1,458 of 3,000). docs/workers.md has the figures.
  if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
  const out = pino.destination({ fd: 1, sync: false });
  const err = pino.destination({ fd: 2, sync: false });
  const log = pino({ level: o.logLevel, base: { name: 'starling', role: 'primary', pid: process.pid } }, out);
  process.once('exit', () => {
    try {
      out.flushSync();
      err.flushSync();
    } catch {
      // stdout is gone: nowhere left to write to.
    }
  });
  // Output of the workers is written whole lines at a time (see the top of the file).
  cluster.setupPrimary({ silent: true, execArgv: workerExecArgv(process.execArgv, o.bounds.parallelScavenge) });

  const slots: Slot[] = Array.from({ length: o.count }, (_, i) => ({
    index: i + 1,
    worker: undefined,
    ready: false,
    startedAt: 0,
    failures: 0,
    restarts: 0,
    timer: undefined,
    partial: { out: '', err: '' },
  }));
  let starting = true;
  let stopping = false;
  let exitCode = 0;
  let finish: (code: number) => void = () => undefined;
  // Drawn once: a worker restarted later must accept the tickets its predecessor issued.
  const ticketKeys = workerTicketKeysEnv();
  const done = new Promise<number>((resolve) => (finish = resolve));

  const relay = (slot: Slot, which: 'out' | 'err', chunk: Buffer): void => {
    const text = slot.partial[which] + chunk.toString('utf8');
    const end = text.lastIndexOf('\n') + 1;
    slot.partial[which] = text.slice(end);
    if (end > 0) (which === 'out' ? out : err).write(text.slice(0, end));
  };
  const flushPartial = (slot: Slot): void => {
    if (slot.partial.out !== '') out.write(`${slot.partial.out}\n`);
    if (slot.partial.err !== '') err.write(`${slot.partial.err}\n`);
    slot.partial = { out: '', err: '' };
  };

  const fork = (slot: Slot): void => {
    slot.timer = undefined;
    slot.ready = false;
    slot.startedAt = Date.now();
    const w = cluster.fork({ [WORKER_ENV]: `${slot.index}/${o.count}`, ...ticketKeys });
    slot.worker = w;
    w.process.stdout?.on('data', (c: Buffer) => relay(slot, 'out', c));
    w.process.stderr?.on('data', (c: Buffer) => relay(slot, 'err', c));
    w.on('message', (m: ToPrimary) => {
      if (m?.starling !== 'ready') return;
      slot.ready = true;
      if (slot.restarts > 0) log.info({ worker: slot.index, workerPid: w.process.pid, restarts: slot.restarts }, 'worker restarted');
      if (starting && slots.every((s) => s.ready)) {
        starting = false;
        log.info({ workers: o.count, pids: slots.map((s) => s.worker?.process.pid) }, `${o.count} workers serving`);
      }
    });
    w.on('exit', (code, signal) => {
      flushPartial(slot);
      slot.worker = undefined;
      const wasReady = slot.ready;
      slot.ready = false;
      if (stopping) {
        if (code !== 0) exitCode = 1;
        if (slots.every((s) => s.worker === undefined)) finish(exitCode);
        return;
      }
      if (starting && !wasReady) {
        // A worker that cannot start with this config will not start on a retry either.
        err.write(`starling: worker ${slot.index} could not start (${signal ?? `exit code ${code}`}); its output is above\n`);
        stop(1);
        return;
      }
      const up = Date.now() - slot.startedAt;
      if (up >= o.bounds.maxRestartDelay) slot.failures = 0;
      const delay = restartDelay(slot.failures, o.bounds);
      slot.failures = Math.min(slot.failures + 1, 30);
      slot.restarts++;
      log.error({ worker: slot.index, code, signal, upMs: up, restartInMs: delay, restarts: slot.restarts }, 'worker died: restarting it');
      slot.timer = setTimeout(() => fork(slot), delay);
    });
  };

  const stop = (code: number, signal?: string): void => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    if (signal !== undefined) log.info({ signal }, 'shutting down the workers');
    for (const s of slots) {
      if (s.timer !== undefined) clearTimeout(s.timer);
      s.timer = undefined;
      // Each worker closes its broker gracefully (5.0 clients get DISCONNECT 0x8B).
      s.worker?.process.kill('SIGTERM');
    }
    if (slots.every((s) => s.worker === undefined)) return finish(exitCode);
    setTimeout(() => {
      const left = slots.filter((s) => s.worker !== undefined);
      if (left.length === 0) return;
      log.error({ workers: left.map((s) => s.index), stopTimeoutMs: o.bounds.stopTimeout }, 'workers still running after the stop timeout: killed');
      exitCode = 1;
      for (const s of left) s.worker?.process.kill('SIGKILL');
    }, o.bounds.stopTimeout).unref();
  };

  process.on('SIGINT', () => stop(0, 'SIGINT'));
  process.on('SIGTERM', () => stop(0, 'SIGTERM'));
  // Each worker re-reads the config and the auth files itself, as a lone `starling` does.
  process.on('SIGHUP', () => {
    log.info({ workers: slots.filter((s) => s.worker).length }, 'SIGHUP: reloading every worker');
    for (const s of slots) s.worker?.process.kill('SIGHUP');
  });

  log.info({ workers: o.count, scheduling: cluster.schedulingPolicy === cluster.SCHED_RR ? 'round-robin' : 'none' }, `starting ${o.count} workers`);
  for (const s of slots) fork(s);
  return done;
}
