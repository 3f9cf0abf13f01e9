// Fencing: a member cut off from Redis steps back before the others can find it dead.
//
// A member whose membership key has not been renewed for cluster.nodeTimeout is declared dead
// by the others: one adopts its sessions (ClusterSessions.publishWillsOf) and its clients may
// reconnect to any survivor. The cut-off member cannot know that, and if it kept its clients
// one client id would be connected twice during the split, and its store commits, queued
// while Redis was away, would write session state it no longer owns over the adopter's.
//
// So, judged on its own clock from when it sent the last membership write Redis answered
// (the key lives at least nodeTimeout from then, so nobody can find it dead earlier), once a
// third of nodeTimeout is left the member fences itself:
//
// - it disconnects its clients with persistent sessions: MQTT 5 DISCONNECT 0x9C Use another
//   server (with mqtt.serverReference when set), 3.1.1 clients are closed. 0x9C rather than
//   0x8B Server shutting down: the broker is not going away, the client should reconnect,
//   through the load balancer, to a member that can reach the cluster, and its session is
//   there in Redis. Their wills are not published here: the will stays in Redis as last
//   committed, for the adopter to publish as a dead node's (or for the client's next
//   CONNECT to settle, as after a takeover);
// - it refuses every CONNECT (0x9C; 3.1.1: 0x03 Server unavailable): a client id cannot be
//   claimed without Redis anyway, and a refusal at once beats a wait for connectTimeout;
// - the Redis store's writes of a client's session and will apply only while its owner
//   record names this node (src/store/redis/guard.ts), so what was queued meanwhile cannot
//   overwrite an adopter's state when Redis returns.
//
// When a membership write sent after the fence is answered (Redis is back), the member looks
// at the owner record of every session it holds without a client: one another node took is
// dropped here without writing anything (the guard refuses those writes), the others stay.
// Then it takes CONNECTs again.
//
// Clients with a clean session (3.1.1 clean session, 5.0 Session Expiry 0) stay connected:
// they have nothing in Redis to protect, and a Redis outage (every member fenced at once)
// then keeps serving them, as docs/clustering.md promises.

import type { Broker } from '../broker/broker.js';
import { InProcessClient } from '../broker/in-process.js';
import type { ConnectedClient } from '../broker/peer.js';
import { cancelWill } from '../broker/will.js';
import { readOwner } from '../store/redis/owner.js';
import type { ClusterNode } from './node.js';
import type { ClusterSessions } from './sessions.js';

export interface FenceStats {
  /** Times this member fenced itself. */
  fences: number;
  /** Clients disconnected by a fence (0x9C). */
  clientsDisconnected: number;
  /** CONNECTs refused while fenced. */
  connectsRefused: number;
  /** Sessions dropped here on rejoining because another node had taken them. */
  sessionsDropped: number;
}

/** The error a fenced member's acquire() rejects with: the CONNECT is refused with its code. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
  readonly reasonCode = 0x9c;
}

export class Fence {
  readonly stats: FenceStats = { fences: 0, clientsDisconnected: 0, connectsRefused: 0, sessionsDropped: 0 };
  private fencedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private rejoining = false;

  constructor(
    private readonly broker: Broker,
    private readonly node: ClusterNode,
    private readonly sessions: ClusterSessions,
  ) {}

  get fenced(): boolean {
    return this.fencedAt !== 0;
  }

  /** How long without a renewal before fencing: nodeTimeout less a third of it. */
  get after(): number {
    return this.node.options.nodeTimeout - Math.floor(this.node.options.nodeTimeout / 3);
  }

  start(): void {
    // Often enough that the fence comes well inside the third of nodeTimeout kept as margin.
    const every = Math.max(20, Math.min(this.node.options.heartbeatInterval, Math.floor(this.node.options.nodeTimeout / 10)));
    this.timer = setInterval(() => void this.check(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Throws FencedError while fenced (a CONNECT must not claim a client id now). */
  admit(): void {
    if (!this.fenced) return;
    this.stats.connectsRefused++;
    throw new FencedError('this member is cut off from the cluster (fenced): use another server');
  }

  async check(): Promise<void> {
    if (this.node.state === 'left') return;
    const renewed = this.node.membership.renewedAt;
    if (renewed === 0) return; // never joined: it holds nothing another member could take
    if (!this.fenced) {
      if (Date.now() - renewed >= this.after) this.fence(renewed);
    } else if (renewed > this.fencedAt && !this.rejoining) {
      this.rejoining = true;
      try {
        await this.rejoin();
      } catch (err) {
        this.broker.log.warn({ err: (err as Error).message }, 'cluster fence: rejoining failed; trying again');
      } finally {
        this.rejoining = false;
      }
    }
  }

  private fence(renewed: number): void {
    this.fencedAt = Date.now();
    this.stats.fences++;
    let disconnected = 0;
    for (const client of [...this.broker.sessions.clients.values()]) {
      // A bridge's local side: its bridge stops when the bridges lease lapses (lease.ts).
      if (client instanceof InProcessClient) continue;
      const session = this.broker.sessions.get(client.id);
      if (session === undefined || session.expiryInterval === 0) continue;
      // The will stays in Redis as last committed: the adopter publishes it (a dead node's
      // client), or the client's next CONNECT settles it. Published here too it could go twice.
      (client as ConnectedClient & { will?: unknown }).will = undefined;
      client.disconnect(0x9c, 'fenced: cut off from the cluster');
      disconnected++;
    }
    this.stats.clientsDisconnected += disconnected;
    this.broker.log.warn(
      { node: this.node.name, sinceRenewalMs: this.fencedAt - renewed, nodeTimeout: this.node.options.nodeTimeout, disconnected },
      'cluster fence: membership not renewed in time; persistent clients disconnected (0x9C) and CONNECTs refused until Redis answers again',
    );
  }

  /** Redis answers again: sessions another node took are dropped here, then CONNECTs are let in. */
  private async rejoin(): Promise<void> {
    const broker = this.broker;
    const store = this.sessions.store;
    let dropped = 0;
    for (const session of [...broker.sessions.values()]) {
      if (session.peer !== undefined) continue;
      const clientId = session.clientId;
      await this.sessions.serial(clientId, async () => {
        const owner = await readOwner(store.redis, store.keys.owner(clientId));
        // No owner record (a session written before this member had cluster sessions): kept.
        if (owner.node === '' || owner.node === this.node.name || broker.sessions.get(clientId) !== session || session.peer !== undefined) return;
        // Its state in Redis is the new owner's: nothing of it is written from here (the
        // store's guard refuses), and a will waiting here is the new owner's to settle.
        cancelWill(session);
        broker.sessions.end(session);
        dropped++;
      });
    }
    await store.flush();
    this.stats.sessionsDropped += dropped;
    const fencedFor = Date.now() - this.fencedAt;
    this.fencedAt = 0;
    broker.log.info({ node: this.node.name, fencedForMs: fencedFor, sessionsDropped: dropped }, 'cluster fence: Redis answers again; taking CONNECTs');
  }
}

const fences = new WeakMap<Broker, { sessions: ClusterSessions; fence: Fence | undefined }>();

/**
 * Called by attachClusterSessions: the store's writes guarded by owner records, and on a
 * cluster member (unless cluster.fence is false) the fence around CONNECTs.
 */
export function installFence(broker: Broker, sessions: ClusterSessions): Fence | undefined {
  sessions.store.guardOwners = true;
  sessions.store.onRefused = (keys) => broker.log.warn({ owners: keys.length }, 'cluster sessions: writes of sessions another node owns now were refused');
  const node = (broker as { cluster?: ClusterNode }).cluster;
  let fence: Fence | undefined;
  if (node !== undefined && node.options.fence) {
    const f = (fence = new Fence(broker, node, sessions));
    const registry = broker.sessions;
    const inner = registry.acquire!;
    registry.acquire = (clientId, clean, open) => {
      try {
        f.admit();
      } catch (err) {
        return Promise.reject(err as Error);
      }
      return inner(clientId, clean, open);
    };
    f.start();
    sessions.store.beforeClose.push(async () => f.stop());
  }
  fences.set(broker, { sessions, fence });
  return fence;
}

/** The cluster sessions and fence of a broker (for /metrics and $SYS). */
export function clusterSessionsOf(broker: Broker): { sessions: ClusterSessions; fence: Fence | undefined } | undefined {
  return fences.get(broker);
}
