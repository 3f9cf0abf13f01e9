// The MQTT-SN gateway's families in /metrics (src/ops/metrics.ts calls this): datagrams in
// and out, dropped by reason, retransmissions, lost clients, refusals, per listener. Nothing
// is written when the broker has no mqtt-sn listener. Its clients are counted with every
// other client (starling_clients_connected, starling_sessions).

import { gatewayStats } from './stats.js';

type Sample = readonly [labels: Readonly<Record<string, string>> | undefined, value: number];

export interface MetricsOut {
  counter(name: string, help: string, value: number | readonly Sample[]): void;
  gauge(name: string, help: string, value: number | readonly Sample[]): void;
}

export function renderGatewayMetrics(out: MetricsOut, broker: object): void {
  const all = gatewayStats(broker);
  if (all.length === 0) return;
  const each = (f: (s: (typeof all)[number]) => number): Sample[] => all.map((s) => [{ listener: s.listener }, f(s)]);
  out.gauge('starling_mqttsn_clients', 'MQTT-SN gateway clients held (connecting, active, asleep), by listener.', each((s) => s.clients));
  out.counter('starling_mqttsn_datagrams_received_total', 'UDP datagrams received by MQTT-SN listeners.', each((s) => s.datagramsReceived));
  out.counter('starling_mqttsn_datagrams_sent_total', 'UDP datagrams sent by MQTT-SN listeners.', each((s) => s.datagramsSent));
  out.counter(
    'starling_mqttsn_datagrams_dropped_total',
    'MQTT-SN datagrams dropped, by reason: malformed, oversized (mqttSn.maxDatagramSize), rate (mqttSn.maxDatagramRate), unknown_client, unexpected, qos_minus1.',
    all.flatMap((s) => Object.entries(s.dropped).map(([reason, n]): Sample => [{ listener: s.listener, reason }, n])),
  );
  out.counter('starling_mqttsn_retransmissions_total', 'PUBLISH, PUBREL and REGISTER sent again after mqttSn.retryInterval.', each((s) => s.retransmitted));
  out.counter('starling_mqttsn_clients_lost_total', 'MQTT-SN clients given up on: keep alive or sleep duration missed, or mqttSn.maxRetries exhausted.', each((s) => s.lost));
  out.counter('starling_mqttsn_clients_refused_total', 'MQTT-SN CONNECTs refused with congestion at mqttSn.maxClients.', each((s) => s.clientsRefused));
  out.counter('starling_mqttsn_sleep_buffer_dropped_total', 'QoS 0 messages for sleeping clients dropped beyond mqttSn.maxSleepBuffer.', each((s) => s.sleepBufferDropped));
}
