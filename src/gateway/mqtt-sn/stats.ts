// The MQTT-SN gateway's counters: what each listener dropped and why, what it resent, which
// clients it gave up on. The clients themselves are sessions like any other and are counted
// by the broker's own metrics; these are the datagram-level figures only a gateway has.
// Metrics (src/ops/metrics.ts) reads them through gatewayStats(broker).

export type DatagramDrop =
  /** Not valid MQTT-SN v1.2: the codec refused it (truncated, bad length, unknown type, ...). */
  | 'malformed'
  /** Larger than mqttSn.maxDatagramSize. */
  | 'oversized'
  /** Beyond mqttSn.maxDatagramRate from its source address. */
  | 'rate'
  /** From an address with no connected client, of a type that needs one. */
  | 'unknown_client'
  /** A message the gateway does not take in its client's state (a WILLMSG before WILLTOPIC, a CONNACK, ...). */
  | 'unexpected'
  /** QoS -1 PUBLISH on a listener without mqttSn.allowQosMinus1, or to a topic id that needs a connection. */
  | 'qos_minus1';

export interface GatewayStats {
  readonly listener: string;
  datagramsReceived: number;
  datagramsSent: number;
  dropped: Record<DatagramDrop, number>;
  /** PUBLISH, PUBREL and REGISTER sent again after mqttSn.retryInterval. */
  retransmitted: number;
  /** Clients given up on: keep alive (or sleep duration) missed, or mqttSn.maxRetries exhausted. */
  lost: number;
  /** CONNECTs refused with congestion because mqttSn.maxClients were held. */
  clientsRefused: number;
  /** QoS 0 messages for a sleeping client beyond mqttSn.maxSleepBuffer. */
  sleepBufferDropped: number;
  /** Gateway clients held now (connecting, active, asleep). */
  clients: number;
}

export function newStats(listener: string): GatewayStats {
  return {
    listener,
    datagramsReceived: 0,
    datagramsSent: 0,
    dropped: { malformed: 0, oversized: 0, rate: 0, unknown_client: 0, unexpected: 0, qos_minus1: 0 },
    retransmitted: 0,
    lost: 0,
    clientsRefused: 0,
    sleepBufferDropped: 0,
    clients: 0,
  };
}

const registry = new WeakMap<object, Set<GatewayStats>>();

/** A listener's counters join its broker's while it is open. */
export function registerStats(broker: object, stats: GatewayStats): () => void {
  let set = registry.get(broker);
  if (set === undefined) registry.set(broker, (set = new Set()));
  set.add(stats);
  return () => set.delete(stats);
}

/** The counters of every MQTT-SN listener of `broker` (none: an empty list). */
export function gatewayStats(broker: object): readonly GatewayStats[] {
  const set = registry.get(broker);
  return set === undefined ? [] : [...set];
}
