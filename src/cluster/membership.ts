// Who is in the cluster. A member joins by adding its name to the set `keys.nodes` and
// keeps the string `keys.node(name)` alive with a TTL (`nodeTimeout`) that its heartbeat
// refreshes every `heartbeatInterval`: a node is alive exactly while that key exists, so a
// node killed with SIGKILL drops out within `nodeTimeout`, and every survivor sees it by
// looking, without trusting any message the dead node would have had to send. The session
// side (src/cluster/sessions.ts) reads the same keys; this file is the only writer.
//
// A node leaving gracefully deletes its key and leaves the set, and says so on the broadcast
// channel so the others drop its routes at once rather than after the TTL.

import { EventEmitter } from 'node:events';
import type { RedisClient } from './config.js';
import type { ClusterKeys } from './wire.js';

export interface MembershipEvents {
  up: [node: string];
  down: [node: string];
}

export interface NodeInfo {
  readonly name: string;
  readonly alive: boolean;
  /** What the node wrote in its key: host, pid, start time (absent once it is gone). */
  readonly info?: Record<string, unknown>;
}

export class Membership extends EventEmitter<MembershipEvents> {
  /** Nodes last seen alive (self included). */
  readonly alive = new Set<string>();
  /** Nodes that joined and are not alive, as last looked at. */
  readonly dead = new Set<string>();
  /** Round-trip time of the last heartbeat, ms (the cluster's Redis RTT gauge). */
  rttMs = 0;
  /**
   * When the last membership write Redis answered was sent (ms, this process's clock): the
   * key lives at least nodeTimeout from then, so no other node can find this one dead
   * earlier. Fencing (fence.ts) judges by it.
   */
  renewedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** No node is declared down before this time: after Redis returns, give others time to re-announce. */
  private graceUntil = 0;
  private checking = false;
  /** Called after each heartbeat's check (the node's counters ride on it). */
  onBeat: (() => void) | undefined;
  private readonly info: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ClusterKeys,
    readonly self: string,
    private readonly heartbeatInterval: number,
    private readonly nodeTimeout: number,
    /**
     * Called once per node found dead (its key expired without a goodbye), on every node
     * that sees it: what must happen once (its clients' wills) needs its own compare-and-set.
     */
    readonly onNodeDown: (node: string) => void = () => {},
  ) {
    super();
    this.info = JSON.stringify({ pid: process.pid, started: Date.now() });
  }

  /** Writes this node's membership (join, and again after Redis came back). */
  async announce(): Promise<void> {
    const t0 = performance.now();
    const sentAt = Date.now();
    await Promise.all([this.redis.sadd(this.keys.nodes, this.self), this.redis.set(this.keys.node(this.self), this.info, 'PX', this.nodeTimeout)]);
    this.rttMs = performance.now() - t0;
    this.renewedAt = Math.max(this.renewedAt, sentAt);
    this.alive.add(this.self);
    this.dead.delete(this.self);
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.beat(), this.heartbeatInterval);
    this.timer.unref();
  }

  /** After a Redis outage nodes re-announce within a heartbeat: wait a TTL before judging them. */
  resynced(): void {
    this.graceUntil = Date.now() + this.nodeTimeout;
  }

  private async beat(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    try {
      const t0 = performance.now();
      const sentAt = Date.now();
      // SET, not PEXPIRE: a Redis restarted without our key gets it back at the next beat.
      await this.redis.set(this.keys.node(this.self), this.info, 'PX', this.nodeTimeout);
      this.rttMs = performance.now() - t0;
      this.renewedAt = Math.max(this.renewedAt, sentAt);
      await this.check();
      this.onBeat?.();
    } catch {
      // Redis away: the cluster's 'degraded' state says so; membership is judged again once it returns.
    }
  }

  /** Looks at every joined node's key and reports the changes. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const names = await this.redis.smembers(this.keys.nodes);
      const present = await Promise.all(names.map((n) => (n === this.self ? 1 : this.redis.exists(this.keys.node(n)))));
      const judge = Date.now() >= this.graceUntil;
      names.forEach((n, i) => {
        if (present[i] === 1) this.markUp(n);
        else if (judge) this.markDown(n);
      });
    } finally {
      this.checking = false;
    }
  }

  markUp(node: string): void {
    if (node === this.self || this.alive.has(node)) return;
    this.alive.add(node);
    this.dead.delete(node);
    this.emit('up', node);
  }

  /** `graceful`: it said it left, after doing its clients' wills itself: no onNodeDown. */
  markDown(node: string, graceful = false): void {
    if (node === this.self || this.dead.has(node)) return;
    this.alive.delete(node);
    this.dead.add(node);
    this.emit('down', node);
    if (graceful) return;
    try {
      this.onNodeDown(node);
    } catch {
      // The callback's failure is its own; membership goes on.
    }
  }

  /** Every joined node with its state, for the admin API. */
  async list(): Promise<NodeInfo[]> {
    const names = (await this.redis.smembers(this.keys.nodes)).sort();
    const values = await Promise.all(names.map((n) => this.redis.get(this.keys.node(n))));
    return names.map((name, i) => {
      const v = values[i];
      let info: Record<string, unknown> | undefined;
      try {
        info = v != null ? (JSON.parse(v) as Record<string, unknown>) : undefined;
      } catch {
        info = undefined;
      }
      return { name, alive: v != null, ...(info !== undefined && { info }) };
    });
  }

  /** Graceful leave: the key and the set entry go, so nobody waits for the TTL. */
  async leave(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.redis.status !== 'ready') return;
    await Promise.all([this.redis.del(this.keys.node(this.self)), this.redis.srem(this.keys.nodes, this.self)]);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
