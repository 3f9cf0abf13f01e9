// Counters shared between the worker threads and the coordinator (plain stores into a
// SharedArrayBuffer: the coordinator reads them at any moment without a message round
// trip), percentiles, and what /proc says about a process.

import { readdirSync, readFileSync } from 'node:fs';

/** Counter slots; each worker owns SLOT_SIZE doubles of the shared buffer. */
export const C = {
  sent: 0,
  /** QoS 1 PUBACKs, QoS 2 PUBCOMPs received by publishers. */
  acked: 1,
  /** PUBLISH packets received by subscribers. */
  received: 2,
  /** Received messages not seen before (per subscriber and publisher). */
  unique: 3,
  duplicates: 4,
  /** Messages that arrived after a later one of the same publisher. */
  outOfOrder: 5,
  connected: 6,
  connectFailed: 7,
  errors: 8,
  subscribed: 9,
  refused: 10,
  inflight: 11,
  bytesIn: 12,
} as const;
export const SLOT_SIZE = 16;

export class Counters {
  readonly view: Float64Array;
  constructor(readonly buffer: SharedArrayBuffer, readonly workers: number) {
    this.view = new Float64Array(buffer);
  }

  static create(workers: number): Counters {
    return new Counters(new SharedArrayBuffer(workers * SLOT_SIZE * 8), workers);
  }

  /** One worker's own slots. */
  static slot(buffer: SharedArrayBuffer, worker: number): Float64Array {
    return new Float64Array(buffer, worker * SLOT_SIZE * 8, SLOT_SIZE);
  }

  sum(slot: number): number {
    let s = 0;
    for (let w = 0; w < this.workers; w++) s += this.view[w * SLOT_SIZE + slot]!;
    return s;
  }

  snapshot(): Snapshot {
    return {
      at: performance.now(),
      sent: this.sum(C.sent),
      acked: this.sum(C.acked),
      received: this.sum(C.received),
      unique: this.sum(C.unique),
      inflight: this.sum(C.inflight),
    };
  }
}

export interface Snapshot {
  at: number;
  sent: number;
  acked: number;
  received: number;
  unique: number;
  inflight: number;
}

export interface LatencySummary {
  /** Samples, each a message's time from before its publisher's write to its subscriber's read. */
  count: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function summarizeLatency(samplesUs: Float64Array): LatencySummary | undefined {
  const n = samplesUs.length;
  if (n === 0) return undefined;
  const sorted = samplesUs.slice().sort();
  const at = (q: number): number => sorted[Math.min(n - 1, Math.ceil(q * n) - 1)]! / 1000;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { count: n, p50: r(at(0.5)), p90: r(at(0.9)), p99: r(at(0.99)), p999: r(at(0.999)), max: r(sorted[n - 1]! / 1000), mean: r(sum / n / 1000) };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

// ---- /proc ----------------------------------------------------------------------------------

const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux architecture Node runs on

export interface ProcSample {
  /** performance.now() when taken. */
  at: number;
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
  /** The kernel's part of cpuSeconds: for a connection storm, most of it is the network stack. */
  systemSeconds: number;
  rssKB: number;
  peakRssKB: number;
}

/**
 * CPU time and memory of a process on this machine, its child processes included (the
 * workers of `starling --workers N`, whose primary is the pid given); undefined when it has
 * gone. A child that exited and was replaced takes its CPU time with it.
 */
export function sampleProcess(pid: number): ProcSample | undefined {
  const own = sampleOne(pid);
  if (own === undefined) return undefined;
  for (const child of childPids(pid)) {
    const c = sampleOne(child);
    if (c === undefined) continue;
    own.cpuSeconds += c.cpuSeconds;
    own.systemSeconds += c.systemSeconds;
    own.rssKB += c.rssKB;
    // The sum of the peaks: an upper bound on the peak of the sum.
    own.peakRssKB += c.peakRssKB;
  }
  return own;
}

/** The pids whose parent is `pid` (this kernel has no /proc/PID/task/TID/children). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function sampleOne(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { at: performance.now(), cpuSeconds: (utime + stime) / CLOCK_TICKS, systemSeconds: stime / CLOCK_TICKS, rssKB: kb('VmRSS'), peakRssKB: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Percent of one core used between two samples. */
export function cpuPercent(a: ProcSample | undefined, b: ProcSample | undefined): number | undefined {
  if (!a || !b || b.at <= a.at) return undefined;
  return Math.round(((b.cpuSeconds - a.cpuSeconds) / ((b.at - a.at) / 1000)) * 1000) / 10;
}

/** The soft limit on open files of a process ('self' for this one). */
export function openFileLimit(pid: number | 'self' = 'self'): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : undefined;
  } catch {
    return undefined;
  }
}
