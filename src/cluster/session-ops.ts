// What operations see of cluster sessions (src/cluster/sessions.ts) and fencing (fence.ts):
// /metrics and $SYS call these through ops.ts; nothing for a broker without them.

import type { Broker } from '../broker/broker.js';
import { clusterSessionsOf } from './fence.js';

type Sample = readonly [Readonly<Record<string, string>> | undefined, number];
interface Out {
  gauge(name: string, help: string, value: number | readonly Sample[]): void;
  counter(name: string, help: string, value: number | readonly Sample[]): void;
}

export function clusterSessionMetrics(out: Out, broker: Broker): void {
  const cs = clusterSessionsOf(broker);
  if (cs === undefined) return;
  const s = cs.sessions.stats;
  out.counter('starling_cluster_sessions_taken_total', 'Client ids this node took over: `from="live"` asked from a live node (it answered with the session), `from="dead"` taken straight from a dead one at CONNECT.', [
    [{ from: 'live' }, s.takenFromLive],
    [{ from: 'dead' }, s.takenFromDead],
  ]);
  out.counter('starling_cluster_sessions_given_away_total', 'Sessions this node handed to another node that took their client id over.', s.givenAway);
  out.counter('starling_cluster_sessions_adopted_from_dead_total', "Sessions of dead nodes this node adopted as their survivor (persistence.deadNodeCheck).", s.adoptedFromDead);
  out.counter('starling_cluster_dead_wills_published_total', "Wills of dead nodes' clients this node published as their survivor.", s.deadWillsPublished);
  out.counter('starling_cluster_connects_refused_total', 'CONNECTs refused (0x89) because their client id could not be had from another node within persistence.takeoverTimeout.', s.refused);
  out.counter('starling_cluster_owner_records_dropped_total', "Client ids' owner records deleted as their sessions ended on this node.", s.ownersDropped);
  out.counter('starling_cluster_session_writes_refused_total', "Store commits' writes of a client's session or will refused because another node owns the client id now (a fenced node's stale writes).", cs.sessions.store.stats.refusedWrites);
  const d = cs.sessions.inboxStats;
  out.counter('starling_cluster_dead_inbox_entries_read_total', "Entries of dead members' inboxes read for the sessions leaving them (docs/clustering-sessions.md).", d.entriesRead);
  out.counter('starling_cluster_dead_inbox_delivered_total', "Messages of dead members' inboxes delivered to the sessions leaving them.", d.messagesDelivered);
  out.counter('starling_cluster_dead_inbox_duplicates_total', "Messages of dead members' inboxes not delivered: the session had its copy through this node already.", d.duplicatesSkipped);
  out.counter('starling_cluster_dead_inboxes_retired_total', "Dead members' inboxes deleted once none of their sessions was left.", d.inboxesRetired);
  const h = cs.sessions.handoverStats;
  out.counter('starling_cluster_handover_records_total', 'Messages the old member of a session taken here passed on for it (handover.ts), by outcome: delivered, duplicate (it had its copy here already), passed_on (the session moved on again), unclaimed (no session for it here), dropped (more arrived while the session was loading than limits.maxQueuedMessages).', [
    [{ outcome: 'delivered' }, h.delivered],
    [{ outcome: 'duplicate' }, h.duplicates],
    [{ outcome: 'passed_on' }, h.passedOn],
    [{ outcome: 'unclaimed' }, h.unclaimed],
    [{ outcome: 'dropped' }, h.dropped],
  ]);
  const f = cs.fence;
  if (f === undefined) return;
  out.gauge('starling_cluster_fenced', '1 while this member is fenced: cut off from Redis too long, it refuses CONNECTs (cluster.fence).', f.fenced ? 1 : 0);
  out.counter('starling_cluster_fences_total', 'Times this member fenced itself (membership not renewed for two thirds of cluster.nodeTimeout).', f.stats.fences);
  out.counter('starling_cluster_fence_disconnects_total', 'Clients with persistent sessions disconnected by a fence (0x9C Use another server).', f.stats.clientsDisconnected);
  out.counter('starling_cluster_fence_connects_refused_total', 'CONNECTs refused while fenced (0x9C).', f.stats.connectsRefused);
  out.counter('starling_cluster_fence_sessions_dropped_total', 'Sessions dropped here on rejoining because another node had taken them during the fence.', f.stats.sessionsDropped);
}

/** `$SYS/broker/cluster/sessions/...` and `cluster/fence/...` values (names relative to `$SYS/broker/`). */
export function clusterSessionSys(broker: Broker): Record<string, string> {
  const cs = clusterSessionsOf(broker);
  if (cs === undefined) return {};
  const s = cs.sessions.stats;
  const out: Record<string, string> = {
    'cluster/sessions/taken/live': String(s.takenFromLive),
    'cluster/sessions/taken/dead': String(s.takenFromDead),
    'cluster/sessions/given': String(s.givenAway),
    'cluster/sessions/adopted': String(s.adoptedFromDead),
    'cluster/sessions/wills': String(s.deadWillsPublished),
    'cluster/sessions/refused': String(s.refused),
    'cluster/sessions/owners/dropped': String(s.ownersDropped),
    'cluster/sessions/writes/refused': String(cs.sessions.store.stats.refusedWrites),
    'cluster/sessions/dead-inbox/delivered': String(cs.sessions.inboxStats.messagesDelivered),
    'cluster/sessions/dead-inbox/duplicates': String(cs.sessions.inboxStats.duplicatesSkipped),
    'cluster/sessions/handover/delivered': String(cs.sessions.handoverStats.delivered),
    'cluster/sessions/handover/duplicates': String(cs.sessions.handoverStats.duplicates),
    'cluster/sessions/handover/unclaimed': String(cs.sessions.handoverStats.unclaimed),
  };
  const f = cs.fence;
  if (f !== undefined) {
    out['cluster/fence/fenced'] = f.fenced ? '1' : '0';
    out['cluster/fence/count'] = String(f.stats.fences);
    out['cluster/fence/disconnects'] = String(f.stats.clientsDisconnected);
    out['cluster/fence/refused'] = String(f.stats.connectsRefused);
    out['cluster/fence/dropped'] = String(f.stats.sessionsDropped);
  }
  return out;
}
