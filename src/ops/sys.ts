// $SYS/broker/... topics under Mosquitto's names (mosquitto(8), "BROKER STATUS"), so dashboards
// and scripts written for Mosquitto read Starling too. Published retained through the
// broker's program-publish API every `interval` seconds, each only when its value changed,
// as Mosquitto does. Load averages are Mosquitto's too: per-minute rates smoothed with an
// exponential moving average over 1, 5 and 15 minutes.

import { getHeapStatistics } from 'node:v8';
import { clusterSys } from '../cluster/ops.js';
import type { Broker } from '../broker/broker.js';
import { sessionTotals } from './metrics.js';

export const SYS_PREFIX = '$SYS/broker/';

/** Counters that have load averages, by their name under $SYS/broker/load/. */
const LOADS: ReadonlyArray<readonly [name: string, read: (b: Broker) => number]> = [
  ['messages/received', (b) => b.stats.packetsReceived],
  ['messages/sent', (b) => b.stats.packetsSent],
  ['publish/received', (b) => sum(b.stats.publishReceived)],
  ['publish/sent', (b) => sum(b.stats.publishSent)],
  ['publish/dropped', (b) => dropped(b)],
  ['bytes/received', (b) => b.stats.bytesReceived],
  ['bytes/sent', (b) => b.stats.bytesSent],
  ['connections', (b) => b.stats.connectionsAccepted],
];
const WINDOWS = [
  ['1min', 60],
  ['5min', 300],
  ['15min', 900],
] as const;

interface LoadState {
  last: number;
  averages: number[];
}

export class SysTopics {
  /** The most clients connected at once since the broker started. */
  maxClients = 0;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly published = new Map<string, string>();
  private readonly loads = new Map<string, LoadState>();
  private lastTick = Date.now();
  private lastFailureLogged = 0;
  private readonly onConnect = (): void => {
    if (this.broker.clients.size > this.maxClients) this.maxClients = this.broker.clients.size;
  };

  constructor(
    private readonly broker: Broker,
    /** Seconds; 0 publishes nothing (values() still works). */
    readonly interval: number,
    private readonly version: string,
  ) {
    for (const [name, read] of LOADS) this.loads.set(name, { last: read(broker), averages: WINDOWS.map(() => 0) });
    broker.on('clientConnected', this.onConnect);
  }

  start(): void {
    if (this.interval <= 0 || this.timer !== undefined) return;
    this.safeTick();
    this.timer = setInterval(() => this.safeTick(), this.interval * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.broker.off('clientConnected', this.onConnect);
  }

  /**
   * A timer's tick may not take the broker down: whatever fails (a value that needs a file
   * while the process is out of descriptors) is logged, at most once a minute, and the
   * next tick tries again.
   */
  private safeTick(): void {
    try {
      this.tick();
    } catch (err) {
      const now = Date.now();
      if (now - this.lastFailureLogged < 60_000) return;
      this.lastFailureLogged = now;
      this.broker.log.error({ err: (err as Error).message }, '$SYS publish failed; retrying at the next interval');
    }
  }

  /** Updates the load averages and publishes every topic whose value changed. */
  tick(): void {
    const now = Date.now();
    const seconds = (now - this.lastTick) / 1000;
    this.lastTick = now;
    if (seconds > 0) this.updateLoads(seconds);
    for (const [topic, value] of Object.entries(this.values())) {
      if (this.published.get(topic) === value) continue;
      this.published.set(topic, value);
      this.broker.publish({ topic, payload: Buffer.from(value), qos: 0, retain: true });
    }
  }

  /** Every $SYS topic with its current value, as it would be published now. */
  values(): Record<string, string> {
    const b = this.broker;
    const s = b.stats;
    this.onConnect();
    const held = sessionTotals(b);
    const stored = held.queued + held.inflight;
    const total = b.sessions.size;
    const connected = b.clients.size;
    const v: Record<string, string> = {
      version: `starling version ${this.version}`,
      uptime: `${Math.floor((Date.now() - this.started) / 1000)} seconds`,
      'clients/connected': String(connected),
      // Mosquitto's "disconnected": persistent sessions whose client is away.
      'clients/disconnected': String(Math.max(0, total - connected)),
      'clients/maximum': String(this.maxClients),
      'clients/total': String(total),
      'messages/received': String(s.packetsReceived),
      'messages/sent': String(s.packetsSent),
      'messages/stored': String(stored),
      'publish/messages/received': String(sum(s.publishReceived)),
      'publish/messages/sent': String(sum(s.publishSent)),
      'publish/messages/dropped': String(dropped(b)),
      'bytes/received': String(s.bytesReceived),
      'bytes/sent': String(s.bytesSent),
      'store/messages/count': String(stored),
      'subscriptions/count': String(b.views.subscriptionCount),
      'retained messages/count': String(b.retained.size),
      // From V8 itself: process.memoryUsage() reads /proc, which fails when descriptors run out.
      'heap/current': String(getHeapStatistics().used_heap_size),
    };
    Object.assign(v, clusterSys(b));
    for (const [name, state] of this.loads) {
      WINDOWS.forEach(([label], i) => (v[`load/${name}/${label}`] = state.averages[i]!.toFixed(2)));
    }
    const out: Record<string, string> = {};
    for (const [k, value] of Object.entries(v)) out[SYS_PREFIX + k] = value;
    return out;
  }

  /** Mosquitto's calc_load: new = rate + e^(-dt/window) * (old - rate), rate per minute. */
  private updateLoads(seconds: number): void {
    for (const [name, read] of LOADS) {
      const state = this.loads.get(name)!;
      const value = read(this.broker);
      const rate = ((value - state.last) * 60) / seconds;
      state.last = value;
      WINDOWS.forEach(([, window], i) => {
        const e = Math.exp(-seconds / window);
        state.averages[i] = rate + e * (state.averages[i]! - rate);
      });
    }
  }
}

function sum(xs: readonly number[]): number {
  let n = 0;
  for (const x of xs) n += x;
  return n;
}

function dropped(b: Broker): number {
  return sum(Object.values(b.stats.dropped));
}
