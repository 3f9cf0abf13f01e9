// The bridges' Prometheus families, written by /metrics (src/ops/metrics.ts) when the ops
// server is given the bridges. One series per bridge, labelled with its name.

import type { BridgeState, BridgeStatus } from './bridge.js';

type Sample = readonly [labels: Readonly<Record<string, string>> | undefined, value: number];

/** What this needs of the exposition writer. */
export interface MetricWriter {
  gauge(name: string, help: string, value: number | readonly Sample[]): void;
  counter(name: string, help: string, value: number | readonly Sample[]): void;
}

const STATES: readonly BridgeState[] = ['connected', 'connecting', 'disconnected', 'stopped'];

export function writeBridgeMetrics(out: MetricWriter, bridges: readonly BridgeStatus[]): void {
  if (bridges.length === 0) return;
  const each = (value: (b: BridgeStatus) => number): Sample[] => bridges.map((b) => [{ bridge: b.name }, value(b)]);
  out.gauge('starling_bridge_up', '1 while the bridge is connected to its remote.', each((b) => (b.state === 'connected' ? 1 : 0)));
  out.gauge(
    'starling_bridge_state',
    'The bridge\'s state: 1 for the state it is in.',
    bridges.flatMap((b) => STATES.map((s): Sample => [{ bridge: b.name, state: s }, b.state === s ? 1 : 0])),
  );
  out.counter('starling_bridge_messages_total', 'Messages carried, by direction: out (acknowledged by the remote at QoS 1/2), in (published here).', [
    ...each((b) => b.messagesOut).map(([l, v]): Sample => [{ ...l, direction: 'out' }, v]),
    ...each((b) => b.messagesIn).map(([l, v]): Sample => [{ ...l, direction: 'in' }, v]),
  ]);
  out.counter('starling_bridge_bytes_total', 'Payload bytes carried, by direction.', [
    ...each((b) => b.bytesOut).map(([l, v]): Sample => [{ ...l, direction: 'out' }, v]),
    ...each((b) => b.bytesIn).map(([l, v]): Sample => [{ ...l, direction: 'in' }, v]),
  ]);
  out.gauge('starling_bridge_queued_messages', 'Messages for the remote waiting in the bridge\'s local session (bounded by limits.maxQueuedMessages and limits.maxQueuedBytes).', each((b) => b.queued));
  out.gauge('starling_bridge_inflight_messages', 'Messages sent to the remote and not yet acknowledged.', each((b) => b.inflight));
  out.counter('starling_bridge_reconnects_total', 'Times the link came back after being lost.', each((b) => b.reconnects));
  out.counter('starling_bridge_connect_failures_total', 'Connection attempts that failed.', each((b) => b.connectFailures));
  out.counter('starling_bridge_resent_total', 'PUBLISH (with DUP) and PUBREL packets sent again after a reconnection.', each((b) => b.resent));
  out.counter('starling_bridge_dropped_total', 'Messages not carried, by reason: qos0_offline (QoS 0 for the remote while the link was down), refused_here (from the remote, refused by an ACL, a hook, a topic check, or malformed properties), too_large (a packet from the remote beyond limits.maxPacketSize: the link is closed).', [
    ...each((b) => b.droppedOut).map(([l, v]): Sample => [{ ...l, reason: 'qos0_offline' }, v]),
    ...each((b) => b.refusedIn).map(([l, v]): Sample => [{ ...l, reason: 'refused_here' }, v]),
    ...each((b) => b.tooLargeIn).map(([l, v]): Sample => [{ ...l, reason: 'too_large' }, v]),
  ]);
}
