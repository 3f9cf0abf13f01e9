// The cluster as the overview shows it, read each second from what the node already keeps in
// memory (membership as of its last heartbeat, its route table, the totals it exchanged): no
// Redis command per sample, so an open dashboard adds nothing to the cluster's traffic.

import type { Broker } from '../../broker/broker.js';
import type { ClusterNode, ClusterState } from '../../cluster/node.js';

export interface ClusterNodeSample {
  readonly name: string;
  /** As this node last saw it (its key in Redis present at the last heartbeat). */
  readonly alive: boolean;
  readonly self: boolean;
  /** Distinct filters the node holds, as this node's route table knows them. */
  readonly routes: number;
}

export interface ClusterSample {
  /** This node's name. */
  readonly node: string;
  readonly state: ClusterState;
  /** Redis as this node sees it: `degraded` while it is away (the node serves its own clients). */
  readonly redis: 'connected' | 'degraded';
  /** Round-trip time of the last heartbeat, ms. */
  readonly rttMs: number;
  readonly nodes: readonly ClusterNodeSample[];
  /** This node's totals since start. */
  readonly forwardedMessages: number;
  readonly forwardedBytes: number;
  readonly receivedMessages: number;
  /** The live nodes' sums, as exchanged at the last heartbeat. */
  readonly totals: { readonly nodes: number; readonly routes: number; readonly forwardedMessages: number; readonly forwardedBytes: number; readonly receivedMessages: number };
}

/** Undefined on a standalone broker (the overview then hides the panel). */
export function clusterSample(broker: Broker): ClusterSample | undefined {
  // The same seam src/cluster/ops.ts reads: a ClusterBroker carries its node.
  const c = (broker as { cluster?: ClusterNode }).cluster;
  if (c === undefined) return undefined;
  const routes = c.router.routeCounts();
  const m = c.membership;
  const names = [...new Set([c.name, ...m.alive, ...m.dead])].sort();
  const r = c.router.stats;
  const t = c.totals;
  return {
    node: c.name,
    state: c.state,
    redis: c.state === 'connected' ? 'connected' : 'degraded',
    rttMs: m.rttMs,
    nodes: names.map((name) => ({
      name,
      alive: name === c.name ? c.state !== 'left' : m.alive.has(name),
      self: name === c.name,
      routes: name === c.name ? c.router.ownRoutes : (routes.get(name) ?? 0),
    })),
    forwardedMessages: r.forwardedMessages,
    forwardedBytes: r.forwardedBytes,
    receivedMessages: r.receivedMessages,
    totals: { nodes: t.nodes, routes: t.routes, forwardedMessages: t.forwardedMessages, forwardedBytes: t.forwardedBytes, receivedMessages: t.receivedMessages },
  };
}
