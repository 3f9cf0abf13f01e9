// The settings of one MQTT-SN listener (`listeners[].mqttSn` in the config), their defaults,
// and the predefined topic table. Every bound a client can push against is here, with the
// counter that reports it (stats.ts).

/** What a program (or the config) may set; every field has a default (MQTT_SN_DEFAULTS). */
export interface MqttSnOptions {
  /** GwId in ADVERTISE and GWINFO (5.3.2). Default 1. */
  gatewayId?: number;
  /** Seconds between ADVERTISE broadcasts to `advertiseTo` (5.4.1, 6.1); 0 = none. Default 900. */
  advertiseInterval?: number;
  /** `host:port` (`[v6]:port`) ADVERTISE goes to: a broadcast or multicast address. Default none: no ADVERTISE. */
  advertiseTo?: string;
  /** Tretry (6.13): ms before an unacknowledged PUBLISH, PUBREL or REGISTER is sent again. Default 10,000. */
  retryInterval?: number;
  /** Nretry (6.13): sends after the first before the client is taken as lost (its will goes out). Default 3. */
  maxRetries?: number;
  /** Predefined topic ids (5.3.11): `1=sensors/temp, 2=actuators/valve`. Default none. */
  predefinedTopics?: string | ReadonlyMap<number, string>;
  /** Accept QoS -1 PUBLISH from clients without a connection (6.8). Default false. */
  allowQosMinus1?: boolean;
  /**
   * The user name hooks and ACLs see for this listener's clients (MQTT-SN has none):
   * `%c` stands for the client id. Default none: the client id alone identifies the client.
   */
  username?: string;
  /** Gateway clients at once on this listener (connecting, active, asleep); one more gets CONNACK 0x01 congestion. Default 100,000. */
  maxClients?: number;
  /** Largest datagram read or sent, octets; a larger one is dropped and counted. Default 4096. */
  maxDatagramSize?: number;
  /** Datagrams per second from one source address, burst one second's worth; the rest are dropped and counted. 0 = off. Default 200. */
  maxDatagramRate?: number;
  /** QoS 0 messages held for one sleeping client (6.14); beyond it they are dropped and counted. Default 1000. */
  maxSleepBuffer?: number;
  /** Topic ids one client may hold (its REGISTERs and the gateway's). Default 1000. */
  maxTopicIds?: number;
  /** The UDP socket's receive buffer, bytes (the kernel caps it at net.core.rmem_max). Default 2 MiB. */
  receiveBufferSize?: number;
  /** QoS 1/2 deliveries to one client unacknowledged at once (6.13 assumes 1). Default 1. */
  sendWindow?: number;
}

export type ResolvedMqttSnOptions = Required<Omit<MqttSnOptions, 'advertiseTo' | 'username' | 'predefinedTopics'>> & {
  advertiseTo: { host: string; port: number } | undefined;
  username: string | undefined;
  predefined: ReadonlyMap<number, string>;
  /** The same table by topic name, for deliveries. */
  predefinedByName: ReadonlyMap<string, number>;
};

export const MQTT_SN_DEFAULTS = Object.freeze({
  gatewayId: 1,
  advertiseInterval: 900,
  retryInterval: 10_000,
  maxRetries: 3,
  allowQosMinus1: false,
  maxClients: 100_000,
  maxDatagramSize: 4096,
  maxDatagramRate: 200,
  maxSleepBuffer: 1000,
  maxTopicIds: 1000,
  sendWindow: 1,
  receiveBufferSize: 2 * 1024 * 1024,
});

/** `1=a/b, 2=c/d` as a table; throws on a bad entry (the config validates the same way). */
export function parsePredefinedTopics(text: string): Map<number, string> {
  const table = new Map<number, string>();
  for (const part of text.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const id = Number(entry.slice(0, eq).trim());
    const topic = entry.slice(eq + 1).trim();
    if (eq < 0 || !Number.isInteger(id) || id < 1 || id > 0xffff || topic === '') {
      throw new Error(`predefined topic "${entry}": expected id=topic with an id from 1 to 65535`);
    }
    if (/[+#]/.test(topic)) throw new Error(`predefined topic "${entry}": a topic name, not a filter`);
    if (table.has(id)) throw new Error(`predefined topic id ${id} is given twice`);
    table.set(id, topic);
  }
  return table;
}

export const PREDEFINED_TOPICS_PATTERN = /^\s*\d{1,5}\s*=\s*[^,=+#]+(\s*,\s*\d{1,5}\s*=\s*[^,=+#]+)*\s*,?\s*$/;

function parseHostPort(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (m === null) throw new Error(`advertiseTo "${text}": expected host:port or [v6-host]:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

export function resolveOptions(o: MqttSnOptions = {}): ResolvedMqttSnOptions {
  const predefined = o.predefinedTopics === undefined ? new Map<number, string>() : typeof o.predefinedTopics === 'string' ? parsePredefinedTopics(o.predefinedTopics) : new Map(o.predefinedTopics);
  const byName = new Map<string, number>();
  for (const [id, topic] of predefined) if (!byName.has(topic)) byName.set(topic, id);
  return {
    gatewayId: o.gatewayId ?? MQTT_SN_DEFAULTS.gatewayId,
    advertiseInterval: o.advertiseInterval ?? MQTT_SN_DEFAULTS.advertiseInterval,
    advertiseTo: o.advertiseTo === undefined ? undefined : parseHostPort(o.advertiseTo),
    retryInterval: o.retryInterval ?? MQTT_SN_DEFAULTS.retryInterval,
    maxRetries: o.maxRetries ?? MQTT_SN_DEFAULTS.maxRetries,
    allowQosMinus1: o.allowQosMinus1 ?? MQTT_SN_DEFAULTS.allowQosMinus1,
    username: o.username,
    maxClients: o.maxClients ?? MQTT_SN_DEFAULTS.maxClients,
    maxDatagramSize: o.maxDatagramSize ?? MQTT_SN_DEFAULTS.maxDatagramSize,
    maxDatagramRate: o.maxDatagramRate ?? MQTT_SN_DEFAULTS.maxDatagramRate,
    maxSleepBuffer: o.maxSleepBuffer ?? MQTT_SN_DEFAULTS.maxSleepBuffer,
    maxTopicIds: o.maxTopicIds ?? MQTT_SN_DEFAULTS.maxTopicIds,
    sendWindow: Math.max(1, o.sendWindow ?? MQTT_SN_DEFAULTS.sendWindow),
    receiveBufferSize: o.receiveBufferSize ?? MQTT_SN_DEFAULTS.receiveBufferSize,
    predefined,
    predefinedByName: byName,
  };
}
