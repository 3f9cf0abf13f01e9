// One sample of the broker a second, for the overview's live charts: counters turned into
// rates over the last second, gauges read through broker.views and broker.stats, memory,
// event-loop lag and store commit latency measured over that second. One timer serves every
// open stream, and runs only while one is open.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Broker } from '../../broker/broker.js';
import type { BridgeStatus } from '../../bridge/bridge.js';
import { clusterSample, type ClusterSample } from './cluster.js';
import type { TopicTree } from './topic-tree.js';

export interface Sample {
  /** ms since the epoch. */
  readonly t: number;
  readonly uptime: number;
  readonly clients: number;
  readonly sessions: number;
  readonly subscriptions: number;
  readonly retained: number;
  /** Per second over the last second. */
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Totals since start, by reason. */
  readonly dropped: Readonly<Record<string, number>>;
  readonly droppedRate: number;
  readonly limited: Readonly<Record<string, number>>;
  readonly memory: { readonly rss: number; readonly heapUsed: number; readonly heapTotal: number; readonly external: number };
  /** Event-loop delay over the last second, ms. */
  readonly loop: { readonly p99: number; readonly max: number };
  /** Store commits over the last second: how many and their latency, ms. */
  readonly commits: { readonly count: number; readonly mean: number; readonly max: number };
  readonly topics: { readonly nodes: number; readonly untracked: number };
  /** The bridges (OpsOptions.bridges), in their order; absent without any. */
  readonly bridges?: readonly BridgeSample[];
  /** This node and its cluster; absent on a standalone broker. */
  readonly cluster?: ClusterSample;
}

/** One bridge as the overview shows it: up is `connected`, every other state is down. */
export interface BridgeSample {
  readonly name: string;
  readonly up: boolean;
  readonly state: BridgeStatus['state'];
  readonly address: string | null;
  readonly lastError: string | null;
  /** Totals since the bridge started: in is from the remote, out is to it. */
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Per second over the last second. */
  readonly messagesInRate: number;
  readonly messagesOutRate: number;
  readonly queued: number;
  readonly inflight: number;
  readonly reconnects: number;
}

export class Sampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(s: Sample) => void>();
  private readonly loop = monitorEventLoopDelay({ resolution: 10 });
  private prev: { t: number; in: number; out: number; bytesIn: number; bytesOut: number; dropped: number } | undefined;
  private commitCount = 0;
  private commitSum = 0;
  private commitMax = 0;
  private readonly onCommit = (ms: number): void => {
    this.commitCount++;
    this.commitSum += ms;
    if (ms > this.commitMax) this.commitMax = ms;
  };
  latest: Sample | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly tree: TopicTree | undefined,
    private readonly bridges?: () => readonly BridgeStatus[],
    private readonly intervalMs = 1000,
  ) {}

  /** The bridges' totals at the last sample, for their rates. */
  private prevBridges = new Map<string, { in: number; out: number }>();

  /** Calls `f` with every sample until the returned function is called. */
  subscribe(f: (s: Sample) => void): () => void {
    this.listeners.add(f);
    if (this.timer === undefined) this.start();
    if (this.latest !== undefined) f(this.latest);
    return () => {
      this.listeners.delete(f);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.loop.disable();
    this.broker.off('storeCommit', this.onCommit);
    this.prev = undefined;
    this.prevBridges.clear();
  }

  /** `secs`: since the last sample; undefined for the first (rates 0). */
  private bridgeSamples(secs: number | undefined): { bridges?: BridgeSample[] } {
    let statuses: readonly BridgeStatus[];
    try {
      statuses = this.bridges?.() ?? [];
    } catch {
      // A bridge's status should not fail; if it does, the rest of the sample still goes.
      statuses = [];
    }
    if (statuses.length === 0) {
      this.prevBridges.clear();
      return {};
    }
    const prev = this.prevBridges;
    const next = new Map<string, { in: number; out: number }>();
    const rate = (now: number, before: number | undefined): number => (secs === undefined || before === undefined ? 0 : Math.max(0, (now - before) / secs));
    const bridges = statuses.map((b): BridgeSample => {
      next.set(b.name, { in: b.messagesIn, out: b.messagesOut });
      return {
        name: b.name,
        up: b.state === 'connected',
        state: b.state,
        address: b.address ?? null,
        lastError: b.lastError ?? null,
        messagesIn: b.messagesIn,
        messagesOut: b.messagesOut,
        bytesIn: b.bytesIn,
        bytesOut: b.bytesOut,
        messagesInRate: rate(b.messagesIn, prev.get(b.name)?.in),
        messagesOutRate: rate(b.messagesOut, prev.get(b.name)?.out),
        queued: b.queued,
        inflight: b.inflight,
        reconnects: b.reconnects,
      };
    });
    this.prevBridges = next;
    return { bridges };
  }

  private clusterPart(): { cluster?: ClusterSample } {
    try {
      const cluster = clusterSample(this.broker);
      return cluster === undefined ? {} : { cluster };
    } catch {
      // The cluster's figures should not fail; if they do, the rest of the sample still goes.
      return {};
    }
  }

  private start(): void {
    this.loop.enable();
    this.broker.on('storeCommit', this.onCommit);
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const b = this.broker;
    const s = b.stats;
    const now = Date.now();
    const dropped = Object.values(s.dropped).reduce((a, n) => a + n, 0);
    const cur = { t: now, in: s.messagesReceived, out: s.messagesSent, bytesIn: s.bytesReceived, bytesOut: s.bytesSent, dropped };
    const p = this.prev;
    const secs = p === undefined ? 1 : Math.max((now - p.t) / 1000, 0.001);
    const rate = (a: number, b: number | undefined): number => (b === undefined ? 0 : Math.max(0, (a - b) / secs));
    this.tree?.tick(secs);
    let memory: NodeJS.MemoryUsage | undefined;
    try {
      memory = process.memoryUsage();
    } catch {
      // EMFILE reading /proc: shown as zero for this second rather than failing the stream.
    }
    const loopMs = (ns: number): number => (Number.isFinite(ns) ? ns / 1e6 : 0);
    const sample: Sample = {
      t: now,
      uptime: process.uptime(),
      clients: b.views.clientCount,
      sessions: b.views.sessionCount,
      subscriptions: b.views.subscriptionCount,
      retained: b.views.retainedCount,
      messagesIn: rate(cur.in, p?.in),
      messagesOut: rate(cur.out, p?.out),
      bytesIn: rate(cur.bytesIn, p?.bytesIn),
      bytesOut: rate(cur.bytesOut, p?.bytesOut),
      dropped: { ...s.dropped },
      droppedRate: rate(cur.dropped, p?.dropped),
      limited: { ...s.limited },
      memory: { rss: memory?.rss ?? 0, heapUsed: memory?.heapUsed ?? 0, heapTotal: memory?.heapTotal ?? 0, external: memory?.external ?? 0 },
      loop: { p99: loopMs(this.loop.percentile(99)), max: loopMs(this.loop.max) },
      commits: { count: this.commitCount, mean: this.commitCount === 0 ? 0 : this.commitSum / this.commitCount, max: this.commitMax },
      topics: { nodes: this.tree?.size ?? 0, untracked: this.tree?.untracked ?? 0 },
      ...this.bridgeSamples(p === undefined ? undefined : secs),
      ...this.clusterPart(),
    };
    this.loop.reset();
    this.commitCount = 0;
    this.commitSum = 0;
    this.commitMax = 0;
    this.prev = cur;
    this.latest = sample;
    for (const f of this.listeners) f(sample);
  }
}
