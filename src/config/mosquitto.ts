// `starling --from-mosquitto mosquitto.conf`: a Mosquitto 2.x configuration as a Starling
// config file, and every option that could not be converted with the reason. Semantics follow
// mosquitto.conf(5): listener-scoped options apply to the last `listener` (before the first,
// to the default listener on 1883); with `per_listener_settings true` the authentication
// options are listener-scoped too; `allow_anonymous` defaults to false once listeners exist.
//
// Only options written in the file are converted. Where Mosquitto's defaults differ from
// Starling's (max_inflight_messages 20, max_queued_messages 1000 ...) Starling's apply.

import { basename } from 'node:path';
import { Document, isScalar } from 'yaml';
import { convertBridges, type MosquittoBridge } from './mosquitto-bridges.js';
import { BRIDGE_OPTIONS, CONVERTED, LISTENER_SCOPED, NOT_CONVERTED, SECURITY, TLS_VERSIONS } from './mosquitto-options.js';
import type { ListenerType } from './schema.js';

export interface Unconverted {
  readonly line: number;
  readonly option: string;
  readonly reason: string;
}

/** A conversion that is close but not exact; the user should know the difference. */
export interface ConversionNote {
  readonly line: number;
  readonly option: string;
  readonly note: string;
}

export interface MosquittoConversion {
  /** The Starling config file, YAML, with comments naming each value's source line. */
  readonly config: string;
  readonly unconverted: readonly Unconverted[];
  readonly notes: readonly ConversionNote[];
}

interface Setting<T> {
  readonly value: T;
  readonly line: number;
  readonly option: string;
}

interface MListener {
  readonly line: number;
  port: number;
  host?: string;
  unixPath?: string;
  settings: Map<string, Setting<string>>;
}

export function fromMosquitto(text: string, file: string): MosquittoConversion {
  return new Converter(basename(file)).run(text);
}

type Path = (string | number)[];

class Converter {
  private readonly unconverted: Unconverted[] = [];
  private readonly notes: ConversionNote[] = [];
  private readonly listeners: MListener[] = [];
  private defaultListener: MListener | undefined;
  private readonly global = new Map<string, Setting<string>>();
  /** Output values and the line each came from. */
  private readonly out: Record<string, unknown> = {};
  private readonly sources = new Map<string, number>();
  private readonly bridges: MosquittoBridge[] = [];

  constructor(private readonly file: string) {}

  run(text: string): MosquittoConversion {
    const lines = text.split(/\r?\n/).map((raw, i) => ({ line: i + 1, raw: raw.trim() }));
    const entries = lines
      .filter((l) => l.raw !== '' && !l.raw.startsWith('#'))
      .map((l) => {
        const m = /^(\S+)\s*(.*)$/.exec(l.raw)!;
        return { line: l.line, option: m[1]!, value: m[2]!.trim() };
      });
    // Mosquitto reads per_listener_settings wherever it is; it decides how the rest is read.
    const perListener = entries.some((e) => e.option === 'per_listener_settings' && e.value === 'true');
    let bridge: MosquittoBridge | undefined;
    let current: MListener | undefined;
    for (const e of entries) {
      const { option, value, line } = e;
      const setting = { value, line, option };
      // A connection's options are the bridge options after it, up to the next connection.
      if (option === 'connection') {
        bridge = { name: value, line, settings: [] };
        this.bridges.push(bridge);
      } else if (BRIDGE_OPTIONS.has(option) || option.startsWith('bridge_')) {
        if (bridge) bridge.settings.push(setting);
        else this.skip(e, 'a bridge option before any connection');
      } else if (option === 'listener') {
        const [portText = '', where] = value.split(/\s+/);
        const port = Number(portText);
        if (!/^\d+$/.test(portText) || port > 65_535) {
          this.skip(e, `"${portText}" is not a port`);
          current = undefined;
          continue;
        }
        current = { line, port, settings: new Map() };
        if (where !== undefined && (port === 0 || where.includes('/'))) current.unixPath = where;
        else if (where !== undefined) current.host = where;
        this.listeners.push(current);
      } else if (option === 'port' || option === 'bind_address') {
        const l = this.defaults(line);
        if (option === 'port') {
          if (!/^\d+$/.test(value) || Number(value) > 65_535) this.skip(e, `"${value}" is not a port`);
          else l.port = Number(value);
        } else {
          l.host = value;
        }
      } else if (LISTENER_SCOPED.has(option) || (perListener && SECURITY.has(option))) {
        (current ?? this.defaults(line)).settings.set(option, setting);
      } else if (Object.hasOwn(CONVERTED, option)) {
        this.global.set(option, setting);
      } else if (Object.hasOwn(NOT_CONVERTED, option)) {
        this.skip(e, NOT_CONVERTED[option]!);
      } else if (option.startsWith('plugin_opt_') || option.startsWith('auth_opt_')) {
        this.skip(e, 'Starling has hooks instead of plugins');
      } else {
        this.skip(e, 'not a Mosquitto option this converter knows');
      }
    }
    const all = this.defaultListener ? [this.defaultListener, ...this.listeners] : this.listeners;
    all.forEach((l, i) => this.listener(l, i));
    this.security(all, perListener);
    this.limits(all);
    this.persistence();
    convertBridges(this.bridges, { set: (p, v, l) => this.set(p, v, l), skip: (s, r) => this.skip(s, r), note: (s, n) => this.note(s, n) });
    return { config: this.yaml(), unconverted: this.byLine(this.unconverted), notes: this.byLine(this.notes) };
  }

  /** Mosquitto's default listener, made by port, bind_address or listener options before any `listener`. */
  private defaults(line: number): MListener {
    this.defaultListener ??= { line, port: 1883, settings: new Map() };
    return this.defaultListener;
  }

  private skip(s: { line: number; option: string }, reason: string): void {
    this.unconverted.push({ line: s.line, option: s.option, reason });
  }

  private note(s: { line: number; option: string }, note: string): void {
    this.notes.push({ line: s.line, option: s.option, note });
  }

  private set(path: Path, value: unknown, line: number): void {
    let node: Record<string | number, unknown> = this.out;
    for (let i = 0; i < path.length - 1; i++) {
      node[path[i]!] ??= typeof path[i + 1] === 'number' ? [] : {};
      node = node[path[i]!] as Record<string | number, unknown>;
    }
    node[path[path.length - 1]!] = value;
    this.sources.set(path.join('.'), line);
  }

  private bool(s: Setting<string>): boolean | undefined {
    if (s.value === 'true' || s.value === 'false') return s.value === 'true';
    this.skip(s, `"${s.value}" is not true or false`);
    return undefined;
  }

  private int(s: Setting<string>, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const n = Number(s.value);
    if (/^-?\d+$/.test(s.value) && n >= min && n <= max) return n;
    this.skip(s, `"${s.value}" is not a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`);
    return undefined;
  }

  private listener(l: MListener, i: number): void {
    const s = (option: string): Setting<string> | undefined => l.settings.get(option);
    const base: Path = ['listeners', i];
    const protocol = s('protocol');
    if (protocol && protocol.value !== 'mqtt' && protocol.value !== 'websockets') {
      this.skip(protocol, `protocol ${protocol.value} is not supported; the listener is converted as mqtt`);
    }
    const websockets = protocol?.value === 'websockets';
    const cert = s('certfile');
    const key = s('keyfile');
    const secure = cert !== undefined || key !== undefined;
    const type: ListenerType = l.unixPath !== undefined ? 'unix' : websockets ? (secure ? 'wss' : 'ws') : secure ? 'tls' : 'tcp';
    this.set([...base, 'type'], type, l.line);
    if (type === 'unix') {
      this.set([...base, 'path'], l.unixPath, l.line);
    } else {
      const domain = s('socket_domain');
      if (domain && domain.value !== 'ipv4' && domain.value !== 'ipv6') this.skip(domain, `"${domain.value}" is not ipv4 or ipv6`);
      this.set([...base, 'host'], l.host ?? (domain?.value === 'ipv6' ? '::' : '0.0.0.0'), l.host === undefined && domain ? domain.line : l.line);
      this.set([...base, 'port'], l.port, l.line);
      if (websockets) {
        this.note(protocol!, 'Mosquitto accepts WebSocket clients on any URL path; Starling on websocketPath only (default /mqtt)');
      }
    }
    const anonymous = s('listener_allow_anonymous') ?? s('allow_anonymous') ?? this.global.get('allow_anonymous');
    const allow = anonymous ? this.bool(anonymous) : false;
    if (allow !== undefined) this.set([...base, 'allowAnonymous'], allow, anonymous?.line ?? l.line);

    // Mosquitto's max_connections counts this listener's sockets, as Starling's does.
    const max = s('max_connections');
    const m = max && this.int(max, -1);
    if (m !== undefined && m > 0) this.set([...base, 'maxConnections'], m, max!.line);

    const proxy = s('enable_proxy_protocol');
    if (proxy) {
      if (proxy.value === '1' || proxy.value === '2') this.set([...base, 'proxyProtocol'], true, proxy.line);
      else this.skip(proxy, `"${proxy.value}" is not 1 or 2`);
    }
    const ca = s('cafile');
    if (!secure) {
      for (const option of ['cafile', 'require_certificate', 'use_identity_as_username', 'tls_version', 'ciphers']) {
        const t = s(option);
        if (t) this.skip(t, 'a TLS option on a listener without certfile and keyfile (not TLS in Mosquitto either)');
      }
    } else {
      const tls: Path = [...base, 'tls'];
      for (const [option, field] of [[cert, 'cert'], [key, 'key'], [ca, 'ca']] as const) {
        if (option) this.set([...tls, field], option.value, option.line);
      }
      if (!cert || !key) {
        this.skip((cert ?? key)!, 'Mosquitto needs both certfile and keyfile: add the missing one as tls.cert or tls.key (Starling will not start without it)');
      }
      const require = s('require_certificate');
      const required = require ? this.bool(require) : undefined;
      if (required !== undefined) this.set([...tls, 'requireCertificate'], required, require!.line);
      const identity = s('use_identity_as_username');
      if (identity && this.bool(identity)) {
        if (required) this.set([...tls, 'certificateAsUsername'], 'cn', identity.line);
        else this.skip(identity, 'has effect only with require_certificate true');
      }
      const version = s('tls_version');
      if (version) {
        const v = TLS_VERSIONS[version.value];
        if (v) this.set([...tls, 'minVersion'], v, version.line);
        else this.skip(version, `"${version.value}" is not tlsv1.3, tlsv1.2, tlsv1.1 or tlsv1`);
      }
      const ciphers = s('ciphers');
      if (ciphers) this.set([...tls, 'ciphers'], ciphers.value, ciphers.line);
    }
  }

  /** password_file and acl_file: global, or per listener only when every listener agrees. */
  private security(all: MListener[], perListener: boolean): void {
    for (const [option, field] of [['password_file', 'passwordFile'], ['acl_file', 'aclFile']] as const) {
      if (!perListener) {
        const g = this.global.get(option);
        if (g) this.set(['auth', field], g.value, g.line);
        continue;
      }
      const given = all.map((l) => l.settings.get(option));
      const first = given.find((g) => g !== undefined);
      if (!first) continue;
      if (given.every((g) => g?.value === first.value)) {
        this.set(['auth', field], first.value, first.line);
      } else {
        for (const g of given) {
          if (g) this.skip(g, `per-listener ${option}: Starling has one ${option.replace('_', ' ')} for all listeners, and here the listeners differ`);
        }
      }
    }
  }

  private limits(all: MListener[]): void {
    const g = (option: string): Setting<string> | undefined => this.global.get(option);
    const inflight = g('max_inflight_messages');
    const n = inflight && this.int(inflight, 0, 65_535);
    if (n === 0) this.note(inflight!, 'no maximum in Mosquitto: 65535, the most MQTT allows in flight');
    if (n !== undefined) this.set(['limits', 'maxInflight'], n === 0 ? 65_535 : n, inflight!.line);

    for (const [option, key] of [['max_queued_messages', 'maxQueuedMessages'], ['max_queued_bytes', 'maxQueuedBytes']] as const) {
      const s = g(option);
      const v = s && this.int(s, 0);
      if (v === 0) this.skip(s!, `0 means no maximum; Starling bounds every queue, so limits.${key} keeps its default`);
      else if (v !== undefined) this.set(['limits', key], v, s!.line);
    }

    const packet = g('max_packet_size');
    const message = g('message_size_limit');
    const p = packet && this.int(packet, 20, 268_435_460);
    if (p !== undefined) this.set(['limits', 'maxPacketSize'], p, packet!.line);
    const m = message && this.int(message, 0, 268_435_455);
    if (m === 0) this.skip(message!, '0 means no limit; Starling keeps limits.maxPacketSize at its default');
    else if (m !== undefined && p !== undefined) this.skip(message!, 'max_packet_size is set and takes its place');
    else if (m !== undefined) {
      this.set(['limits', 'maxPacketSize'], Math.max(m, 20), message!.line);
      this.note(message!, 'Mosquitto bounds the payload and drops a larger message; Starling bounds the whole packet (topic and properties too) and disconnects the client: raise it by your longest topic');
    }

    const keepalive = g('max_keepalive');
    const k = keepalive && this.int(keepalive, 0, 65_535);
    if (k !== undefined) this.set(['limits', 'maxKeepAlive'], k, keepalive!.line);

    const globalMax = g('global_max_connections');
    const gm = globalMax && this.int(globalMax, -1);
    if (gm !== undefined) this.set(['limits', 'maxConnections'], Math.max(gm, 0), globalMax!.line);

    this.uniform(all, 'max_qos', ['mqtt', 'maximumQoS'], 0, 2);
    this.uniform(all, 'max_topic_alias', ['limits', 'topicAliasMaximum'], 0, 65_535);

    const retain = g('retain_available');
    const r = retain && this.bool(retain);
    if (r !== undefined) this.set(['mqtt', 'retainAvailable'], r, retain!.line);
  }

  /** A listener option Starling has once for all listeners: converted when all agree. */
  private uniform(all: MListener[], option: string, path: Path, min: number, max: number): void {
    const given = all.map((l) => l.settings.get(option));
    const present = given.filter((s) => s !== undefined);
    if (present.length === 0) return;
    if (given.every((s) => s?.value === present[0]!.value)) {
      const v = this.int(present[0]!, min, max);
      if (v !== undefined) this.set(path, v, present[0]!.line);
      return;
    }
    for (const s of present) this.skip(s, `${path.join('.')} is one value for all listeners, and here the listeners differ`);
  }

  private persistence(): void {
    const on = this.global.get('persistence');
    const enabled = on && this.bool(on);
    if (enabled !== undefined) {
      this.set(['persistence', 'store'], enabled ? 'sqlite' : 'memory', on!.line);
      if (enabled) this.note(on!, 'Starling keeps its own store (starling.db in persistence.dataDir, synced before each acknowledgement); Mosquitto\'s mosquitto.db is not read');
    }
    const location = this.global.get('persistence_location');
    if (location) this.set(['persistence', 'dataDir'], location.value, location.line);
  }

  private yaml(): string {
    const doc = new Document(this.out);
    doc.commentBefore = [
      ` Converted from ${this.file} by starling --from-mosquitto. Review it before use.`,
      ' A comment names the line of each converted option. Options the Mosquitto file leaves',
      ' unset take Starling\'s defaults, which differ from Mosquitto\'s: see docs/configuration.md.',
    ].join('\n');
    for (const [path, line] of this.sources) {
      const node = doc.getIn(path.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s)), true);
      if (isScalar(node)) node.comment = ` ${this.file}:${line}`;
    }
    const report = this.byLine(this.unconverted);
    if (report.length > 0) {
      doc.comment = [' Not converted:', ...report.map((u) => ` ${this.file}:${u.line} ${u.option}: ${u.reason}`)].join('\n');
    }
    return doc.toString({ lineWidth: 0 });
  }

  private byLine<T extends { line: number }>(items: T[]): T[] {
    return [...items].sort((a, b) => a.line - b.line);
  }
}
