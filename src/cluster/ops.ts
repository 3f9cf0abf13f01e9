// What operations see of the cluster: /readyz, /metrics, $SYS and the admin API call these,
// and each answers nothing for a standalone broker.

import type { Broker } from '../broker/broker.js';
import type { ClusterNode } from './node.js';
import { clusterSessionMetrics, clusterSessionSys } from './session-ops.js';

type Sample = readonly [Readonly<Record<string, string>> | undefined, number];
interface Out {
  gauge(name: string, help: string, value: number | readonly Sample[]): void;
  counter(name: string, help: string, value: number | readonly Sample[]): void;
}

function nodeOf(broker: Broker): ClusterNode | undefined {
  return (broker as { cluster?: ClusterNode }).cluster;
}

/**
 * The cluster's part of /readyz. Redis away leaves the node ready (it serves its own
 * clients; a load balancer that took it out would take every node out) but `degraded`.
 */
export function clusterReadiness(broker: Broker): { cluster?: Record<string, unknown>; degraded?: boolean } {
  const c = nodeOf(broker);
  if (c === undefined) return {};
  return {
    cluster: { node: c.name, state: c.state, redis: c.connected ? 'connected' : 'unavailable', nodes: c.membership.alive.size },
    degraded: c.state !== 'connected',
  };
}

export function clusterMetrics(out: Out, broker: Broker): void {
  clusterSessionMetrics(out, broker);
  const c = nodeOf(broker);
  if (c === undefined) return;
  const r = c.router.stats;
  const t = c.totals;
  out.gauge('starling_cluster_connected', '1 while the node is connected to Redis and in sync with the cluster, 0 while degraded.', c.state === 'connected' ? 1 : 0);
  out.gauge('starling_cluster_nodes', 'Live cluster members, as this node last saw them (itself included).', c.membership.alive.size);
  out.gauge('starling_cluster_routes', 'Distinct filters: `scope="node"` held here, `scope="remote"` other nodes\' in this node\'s table, `scope="cluster"` all nodes\' summed.', [
    [{ scope: 'node' }, c.router.ownRoutes],
    [{ scope: 'remote' }, c.router.remoteRoutes],
    [{ scope: 'cluster' }, t.routes],
  ]);
  out.counter('starling_cluster_forwarded_messages_total', 'Messages sent to other nodes (one per node): `scope="node"` this one, `scope="cluster"` all live nodes.', [
    [{ scope: 'node' }, r.forwardedMessages],
    [{ scope: 'cluster' }, t.forwardedMessages],
  ]);
  out.counter('starling_cluster_forwarded_bytes_total', 'Bytes of the messages sent to other nodes.', [
    [{ scope: 'node' }, r.forwardedBytes],
    [{ scope: 'cluster' }, t.forwardedBytes],
  ]);
  out.counter('starling_cluster_forward_frames_total', 'Redis commands that carried the forwards (batching: messages per frame).', r.forwardedFrames);
  out.counter('starling_cluster_received_messages_total', 'Messages received from other nodes.', r.receivedMessages);
  out.counter('starling_cluster_forwards_dropped_total', 'Forwards not sent: QoS 0 while Redis was away, QoS 1/2 beyond cluster.maxPendingForwards.', r.forwardsDropped);
  out.counter('starling_cluster_volatile_shed_total', 'QoS 0 forwards dropped at this node because the receiving node had not caught up (cluster.volatileWindow).', r.volatileShed);
  out.counter('starling_cluster_volatile_waits_total', 'QoS 0 publishes after which the publisher was paused (not read) because a node they went to had not caught up (cluster.volatileWindow).', r.volatileWaits);
  out.counter('starling_cluster_volatile_wait_timeouts_total', 'Times a node stayed behind for cluster.volatileMaxWait: its publishers were let go and QoS 0 to it is shed until it catches up.', r.volatileWaitTimeouts);
  out.counter('starling_cluster_volatile_read_waits_total', 'Times this node held QoS 0 forwards back (unanswered, so their senders pause their publishers) because every client the last ones went to had half of limits.maxSocketBuffer unsent.', c.volatileFlow.stats.waits);
  out.counter('starling_cluster_volatile_read_wait_timeouts_total', 'Times this node delivered on because those clients did not drain for cluster.volatileMaxWait.', c.volatileFlow.stats.waitTimeouts);
  out.gauge('starling_cluster_volatile_held_bytes', 'Bytes of QoS 0 forwards held back now (bounded by the senders\' cluster.volatileWindow).', c.volatileFlow.stats.heldBytes);
  out.counter('starling_cluster_inbox_waits_total', 'Times the inbox reader paused because a local session it delivered to had no room (flow control of QoS 1/2 forwards).', c.stats.inboxWaits);
  out.counter('starling_cluster_inbox_wait_timeouts_total', 'Times the inbox reader stopped waiting for a session whose queue did not shrink for cluster.inboxMaxWait.', c.stats.inboxWaitTimeouts);
  out.gauge('starling_cluster_pending_forwards', 'QoS 1/2 forwards waiting for Redis to acknowledge them (bounded by cluster.maxPendingForwards).', r.pendingForwards);
  out.counter('starling_cluster_undeliverable_total', 'Forwarded messages that found no subscriber here (it left meanwhile).', r.undeliverable);
  out.counter('starling_cluster_resyncs_total', 'Times the node re-read the cluster state after Redis came back.', c.stats.resyncs);
  out.gauge('starling_cluster_redis_rtt_seconds', 'Round-trip time of the last heartbeat to Redis.', c.membership.rttMs / 1000);
}

/** `$SYS/broker/cluster/...` values (names relative to `$SYS/broker/`). */
export function clusterSys(broker: Broker): Record<string, string> {
  const c = nodeOf(broker);
  if (c === undefined) return clusterSessionSys(broker);
  const r = c.router.stats;
  return {
    ...clusterSessionSys(broker),
    'cluster/node': c.name,
    'cluster/state': c.state,
    'cluster/nodes': String(c.membership.alive.size),
    'cluster/routes/node': String(c.router.ownRoutes),
    'cluster/routes/cluster': String(c.totals.routes),
    'cluster/forwarded/messages': String(r.forwardedMessages),
    'cluster/forwarded/bytes': String(r.forwardedBytes),
    'cluster/forwarded/messages/cluster': String(c.totals.forwardedMessages),
    'cluster/forwarded/bytes/cluster': String(c.totals.forwardedBytes),
    'cluster/received/messages': String(r.receivedMessages),
    'cluster/redis/rtt': c.membership.rttMs.toFixed(3),
  };
}

/** GET /api/v1/cluster/nodes: every node that joined, alive or not, with its routes. */
export async function clusterNodes(broker: Broker): Promise<unknown> {
  const c = nodeOf(broker);
  if (c === undefined) return undefined;
  const routes = c.router.routeCounts();
  const nodes = await c.membership.list();
  return {
    self: c.name,
    state: c.state,
    nodes: nodes.map((n) => ({ ...n, self: n.name === c.name, routes: n.name === c.name ? c.router.ownRoutes : (routes.get(n.name) ?? 0) })),
  };
}

/** GET /api/v1/cluster/clients/{id}: which node holds a client id (the ownership record in Redis). */
export async function clusterClient(broker: Broker, clientId: string): Promise<unknown> {
  const c = nodeOf(broker);
  if (c === undefined) return undefined;
  const owner = await c.cmd.hgetall(c.keys.owner(clientId));
  const local = broker.clients.has(clientId);
  return { clientId, node: owner.node ?? (local ? c.name : null), ...(owner.epoch !== undefined && { epoch: Number(owner.epoch) }), connectedHere: local };
}
