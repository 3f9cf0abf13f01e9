// `--from-mosquitto` for bridges: each `connection` section of a mosquitto.conf (the options
// after it, up to the next `connection`) becomes an entry of `bridges`. Semantics follow
// mosquitto.conf(5); Mosquitto's defaults are written out where Starling's differ (a 3.1.1
// link, a remote session kept, reconnection after 5 to 30 s), so that the bridge behaves as it
// did.

/** One option of a connection section. */
export interface BridgeSetting {
  readonly value: string;
  readonly line: number;
  readonly option: string;
}

export interface MosquittoBridge {
  readonly name: string;
  readonly line: number;
  readonly settings: BridgeSetting[];
}

/** What the converter lends: set a value (with its source line), report an option, note a difference. */
export interface ConversionSink {
  set(path: (string | number)[], value: unknown, line: number): void;
  skip(s: { line: number; option: string }, reason: string): void;
  note(s: { line: number; option: string }, note: string): void;
}

/** Bridge options converted, and what each becomes; docs/configuration.md shows this table. */
export const BRIDGE_CONVERTED: Readonly<Record<string, string>> = {
  connection: 'a `bridges[]` entry and its `name`',
  address: '`addresses`: `mqtt://host:port` each, `mqtts://` when `bridge_cafile` is set (also `addresses`)',
  topic: 'a line of `topics`, as written',
  bridge_protocol_version: '`protocol` (`mqttv31`: `mqttv311`, with a note); unset, `mqttv311` as in Mosquitto',
  try_private: '`tryPrivate`',
  cleansession: '`cleanStart`',
  local_cleansession: '`true`: `localSessionExpiry: 0` (the queue for the remote lasts while the bridge runs)',
  notifications: '`notifications`',
  notification_topic: '`notificationTopic`',
  restart_timeout: '`reconnectDelay` and `maxReconnectDelay` (seconds to ms); unset, 5 and 30 s as in Mosquitto',
  remote_username: '`username` (also `username`)',
  remote_password: '`password` (also `password`)',
  remote_clientid: '`clientId` (also `clientid`)',
  local_clientid: '`localClientId`',
  local_username: '`localUsername`',
  keepalive_interval: '`keepAlive`',
  bridge_session_expiry_interval: '`sessionExpiry`',
  bridge_cafile: '`tls.ca`',
  bridge_certfile: '`tls.cert`',
  bridge_keyfile: '`tls.key`',
  bridge_insecure: '`tls.insecure`',
  round_robin: '`roundRobin`',
  notifications_local_only: '`true`: as Starling does; `false`: noted, the state is published here only',
};

/** Bridge options reported as not converted, with the reason. */
export const BRIDGE_NOT_CONVERTED: Readonly<Record<string, string>> = {
  bridge_capath: 'Starling reads one PEM file: concatenate the directory\'s certificates into tls.ca',
  bridge_psk: 'TLS pre-shared keys are not supported',
  bridge_identity: 'TLS pre-shared keys are not supported',
  bridge_tls_version: 'not configurable: Node negotiates the highest version both sides have',
  bridge_alpn: 'not configurable',
  bridge_require_ocsp: 'OCSP is not supported',
  bridge_bind_address: 'not configurable: the system chooses the source address',
  bridge_attempt_unsubscribe: 'Starling unsubscribes nothing at the remote: its remote subscriptions last with the remote session',
  bridge_outgoing_retain: 'Starling keeps retain flags across the bridge (Retain As Published)',
  bridge_max_packet_size: 'not configurable',
  bridge_receive_maximum: 'not configurable: bridges[].maxInflight bounds what is sent unacknowledged',
  bridge_max_topic_alias: 'Starling\'s bridges use no topic aliases',
  start_type: 'bridges always start with Starling (Mosquitto\'s automatic); lazy and once are not supported',
  idle_timeout: 'only for lazy bridges, which are not supported',
  threshold: 'only for lazy bridges, which are not supported',
  local_password: 'the local side is an in-process client: no password is checked',
};

/** Mosquitto's bridge defaults where they differ from Starling's. */
const MOSQUITTO_DEFAULTS = { protocol: 'mqttv311', reconnectDelay: 5000, maxReconnectDelay: 30_000 } as const;

const ALIASES: Readonly<Record<string, string>> = {
  addresses: 'address',
  username: 'remote_username',
  password: 'remote_password',
  clientid: 'remote_clientid',
};

export function convertBridges(bridges: readonly MosquittoBridge[], out: ConversionSink): void {
  const names = new Set<string>();
  let i = 0;
  for (const b of bridges) {
    if (!/^[A-Za-z0-9._-]+$/.test(b.name) || names.has(b.name)) {
      out.skip({ line: b.line, option: 'connection' }, names.has(b.name) ? `a second bridge named "${b.name}"` : `"${b.name}": a bridge name is letters, digits, ".", "_" and "-" here (it is part of a topic)`);
      for (const s of b.settings) out.skip(s, `option of the bridge "${b.name}", which is not converted`);
      continue;
    }
    names.add(b.name);
    convertOne(b, ['bridges', i++], out);
  }
}

function convertOne(b: MosquittoBridge, base: (string | number)[], out: ConversionSink): void {
  const set = (key: string | string[], value: unknown, line: number): void => out.set([...base, ...(Array.isArray(key) ? key : [key])], value, line);
  const last = new Map<string, BridgeSetting>();
  const topics: BridgeSetting[] = [];
  for (const s of b.settings) {
    const option = ALIASES[s.option] ?? s.option;
    if (option === 'topic') topics.push(s);
    else last.set(option, s);
  }
  const get = (option: string): BridgeSetting | undefined => last.get(option);
  const bool = (s: BridgeSetting): boolean | undefined => {
    if (s.value === 'true' || s.value === 'false') return s.value === 'true';
    out.skip(s, `"${s.value}" is not true or false`);
    return undefined;
  };
  const int = (s: BridgeSetting, min: number, max: number): number | undefined => {
    if (/^\d+$/.test(s.value) && Number(s.value) >= min && Number(s.value) <= max) return Number(s.value);
    out.skip(s, `"${s.value}" is not a whole number from ${min} to ${max}`);
    return undefined;
  };
  set('name', b.name, b.line);

  const tls = get('bridge_cafile') !== undefined;
  const address = get('address');
  if (address === undefined) {
    out.skip({ line: b.line, option: 'connection' }, `the bridge "${b.name}" has no address: add bridges[].addresses`);
  } else {
    const urls = address.value
      .split(/\s+/)
      .filter((a) => a !== '')
      // host, host:port, an IPv6 address, [v6]:port; Mosquitto's port defaults to 1883.
      .map((a) => (/^[^:]+:\d+$/.test(a) || /^\[.*\]:\d+$/.test(a) ? a : a.includes(':') && !a.startsWith('[') ? `[${a}]:1883` : `${a}:1883`))
      .map((a) => `${tls ? 'mqtts' : 'mqtt'}://${a}`);
    set('addresses', urls.join(' '), address.line);
  }
  const roundRobin = get('round_robin');
  if (roundRobin) {
    const v = bool(roundRobin);
    if (v !== undefined) set('roundRobin', v, roundRobin.line);
  }

  const version = get('bridge_protocol_version');
  if (version === undefined) {
    set('protocol', MOSQUITTO_DEFAULTS.protocol, b.line);
  } else if (version.value === 'mqttv311' || version.value === 'mqttv50') {
    set('protocol', version.value, version.line);
  } else if (version.value === 'mqttv31') {
    set('protocol', 'mqttv311', version.line);
    out.note(version, 'Starling\'s bridges speak 3.1.1 or 5.0: 3.1.1 here (the remote must accept it)');
  } else {
    out.skip(version, `"${version.value}" is not mqttv31, mqttv311 or mqttv50`);
  }
  for (const [option, key] of [['try_private', 'tryPrivate'], ['cleansession', 'cleanStart'], ['notifications', 'notifications'], ['bridge_insecure', ['tls', 'insecure']]] as const) {
    const s = get(option);
    if (!s) continue;
    const v = bool(s);
    if (v !== undefined) set(key as string | string[], v, s.line);
  }
  for (const [option, key] of [
    ['remote_clientid', 'clientId'],
    ['remote_username', 'username'],
    ['remote_password', 'password'],
    ['local_clientid', 'localClientId'],
    ['local_username', 'localUsername'],
    ['notification_topic', 'notificationTopic'],
    ['bridge_cafile', ['tls', 'ca']],
    ['bridge_certfile', ['tls', 'cert']],
    ['bridge_keyfile', ['tls', 'key']],
  ] as const) {
    const s = get(option);
    if (s) set(key as string | string[], s.value, s.line);
  }
  if ((get('bridge_certfile') === undefined) !== (get('bridge_keyfile') === undefined)) {
    out.skip((get('bridge_certfile') ?? get('bridge_keyfile'))!, 'bridge_certfile and bridge_keyfile go together: add the missing one (Starling will not start without it)');
  }
  const keepalive = get('keepalive_interval');
  if (keepalive) {
    const v = int(keepalive, 0, 65_535);
    if (v !== undefined) set('keepAlive', v, keepalive.line);
  }
  const expiry = get('bridge_session_expiry_interval');
  if (expiry) {
    const v = int(expiry, 0, 0xffff_ffff);
    if (v !== undefined) set('sessionExpiry', v, expiry.line);
  }
  const localClean = get('local_cleansession');
  if (localClean && bool(localClean) === true) {
    set('localSessionExpiry', 0, localClean.line);
    out.note(localClean, 'the queue for the remote then lasts only while the bridge runs: a restart of Starling loses what it holds');
  }
  const localOnly = get('notifications_local_only');
  if (localOnly && bool(localOnly) === false) out.note(localOnly, 'Starling publishes the bridge state here only, not at the remote');

  const restart = get('restart_timeout');
  let delays: [number, number] | undefined = [MOSQUITTO_DEFAULTS.reconnectDelay, MOSQUITTO_DEFAULTS.maxReconnectDelay];
  if (restart) {
    const m = /^(\d+)(?:\s+(\d+))?$/.exec(restart.value);
    if (m === null || Number(m[1]) < 1) {
      out.skip(restart, `"${restart.value}" is not "base" or "base cap" in seconds`);
      delays = undefined;
    } else {
      const baseMs = Number(m[1]) * 1000;
      const capMs = m[2] === undefined ? baseMs : Math.max(baseMs, Number(m[2]) * 1000);
      delays = [baseMs, capMs];
      if (m[2] === undefined) out.note(restart, 'one value: Mosquitto waits that long every time; Starling draws each wait at random from its upper half');
    }
  }
  if (delays) {
    set('reconnectDelay', delays[0], restart?.line ?? b.line);
    set('maxReconnectDelay', delays[1], restart?.line ?? b.line);
  }

  const lines: string[] = [];
  for (const s of topics) {
    const words = s.value.split(/\s+/).filter((w) => w !== '');
    const ok =
      words.length >= 1 &&
      words.length <= 5 &&
      words.length !== 4 &&
      (words[1] === undefined || ['in', 'out', 'both'].includes(words[1])) &&
      (words[2] === undefined || /^[0-2]$/.test(words[2]));
    if (ok) lines.push(words.join(' '));
    else out.skip(s, `"${s.value}" is not PATTERN [in|out|both [QOS [LOCAL_PREFIX REMOTE_PREFIX]]]`);
  }
  if (lines.length > 0) set('topics', `${lines.join('\n')}\n`, topics[0]!.line);
  else out.skip({ line: b.line, option: 'connection' }, `the bridge "${b.name}" has no topic: add bridges[].topics`);

  for (const [option, s] of last) {
    if (Object.hasOwn(BRIDGE_CONVERTED, option) || option === 'topic') continue;
    out.skip(s, BRIDGE_NOT_CONVERTED[option] ?? `not a bridge option this converter knows (bridge "${b.name}")`);
  }
}
