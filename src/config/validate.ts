// Checks the raw settings against the schema and builds the typed config: unknown keys (with
// the nearest valid one), wrong types, values out of range, then what only makes sense
// between keys of one listener. Every problem is collected; none stops the walk.

import type { ConfigProblem, Origin } from './errors.js';
import {
  DEFAULT_HOST,
  DEFAULT_PORTS,
  DEFAULT_WEBSOCKET_PATH,
  SCHEMA,
  type LeafSpec,
  type ListSpec,
  type ListenerConfig,
  type ListenerType,
  type ObjectSpec,
  type Spec,
  type StarlingConfig,
} from './schema.js';
import { keyOf, leaves } from './keys.js';
import { isRawObject, type Source } from './source.js';
import { nearest } from './suggest.js';

type Path = readonly (string | number)[];

export function validate(source: Source, problems: ConfigProblem[]): StarlingConfig {
  const v = new Validator(source, problems);
  const config = v.object(SCHEMA, source.root, []) as StarlingConfig;
  v.cluster(config.cluster);
  return { ...config, listeners: config.listeners.map((l, i) => v.listener(l, i)) };
}

class Validator {
  constructor(
    private readonly source: Source,
    private readonly problems: ConfigProblem[],
  ) {}

  private report(origin: Origin, path: Path, message: string, extra: { expected?: string; suggestion?: string } = {}): void {
    this.problems.push({ origin, key: keyOf(path), message, ...extra });
  }

  node(spec: Spec, raw: unknown, path: Path): unknown {
    switch (spec.type) {
      case 'object':
        return this.object(spec, raw, path);
      case 'list':
        return this.list(spec, raw, path);
      default:
        return this.leaf(spec, raw, path);
    }
  }

  object(spec: ObjectSpec, raw: unknown, path: Path): Record<string, unknown> | undefined {
    if (raw === undefined || raw === null) {
      if (spec.optional) return undefined;
      raw = {};
    }
    const out: Record<string, unknown> = {};
    if (!isRawObject(raw)) {
      const expected = `a mapping of ${Object.keys(spec.fields).join(', ')}`;
      this.report(this.source.valueOrigin(path), path, `${keyOf(path)}: expected ${expected}, got ${describe(raw)}`, { expected });
      raw = {};
    }
    const given = raw as Record<string, unknown>;
    for (const name of Object.keys(given)) {
      if (!Object.hasOwn(spec.fields, name)) this.unknownKey(spec, name, path);
    }
    for (const [name, child] of Object.entries(spec.fields)) {
      const value = this.node(child, Object.hasOwn(given, name) ? given[name] : undefined, [...path, name]);
      if (value !== undefined) out[name] = value;
    }
    return out;
  }

  private unknownKey(spec: ObjectSpec, name: string, path: Path): void {
    const where = path.length === 0 ? 'at the top level' : `in ${keyOf(path)}`;
    let suggestion = nearest(name, Object.keys(spec.fields));
    let hint = suggestion ? `; did you mean "${suggestion}"?` : '';
    if (!suggestion) {
      // Written at the wrong level, e.g. `maxPacketSize` at the top instead of under `limits`.
      const elsewhere = leaves().find((l) => l.segments[l.segments.length - 1]!.toLowerCase() === name.toLowerCase());
      if (elsewhere) {
        suggestion = elsewhere.key;
        hint = `; it belongs at "${elsewhere.key}"`;
      }
    }
    // The valid keys help when there is no likely typo to point at.
    if (!suggestion) hint = ` (valid: ${Object.keys(spec.fields).join(', ')})`;
    this.report(this.source.keyOrigin([...path, name]), [...path, name], `unknown key "${name}" ${where}${hint}`, {
      ...(suggestion && { suggestion }),
    });
  }

  list(spec: ListSpec, raw: unknown, path: Path): unknown[] {
    if (raw === undefined || raw === null) raw = spec.default.map((item) => ({ ...item }));
    if (!Array.isArray(raw)) {
      const expected = `a list (each entry starting with "- ")`;
      this.report(this.source.valueOrigin(path), path, `${keyOf(path)}: expected ${expected}, got ${describe(raw)}`, { expected });
      raw = spec.default.map((item) => ({ ...item }));
    }
    const items = raw as unknown[];
    if (items.length < spec.minItems) {
      const expected = `at least ${spec.minItems} ${spec.minItems === 1 ? 'entry' : 'entries'}`;
      this.report(this.source.valueOrigin(path), path, `${keyOf(path)}: expected ${expected}, got none`, { expected });
    }
    return items.map((item, i) => this.object(spec.items, item, [...path, i]));
  }

  leaf(spec: LeafSpec, raw: unknown, path: Path): unknown {
    if (raw === undefined || raw === null) return spec.default;
    const origin = this.source.valueOrigin(path);
    const key = keyOf(path);
    const wrong = (expected: string, hint = ''): undefined => {
      this.report(origin, path, `${key}: expected ${expected}, got ${describe(raw)}${hint}`, { expected });
      return undefined;
    };
    switch (spec.type) {
      case 'integer': {
        const expected = range(spec.min, spec.max) + (spec.unit ? ` (${spec.unit})` : '');
        if (typeof raw !== 'number' || !Number.isInteger(raw)) return wrong(`an integer ${expected}`);
        if (raw < spec.min || (spec.max !== undefined && raw > spec.max)) {
          this.report(origin, path, `${key}: ${raw} is out of range: expected an integer ${expected}`, { expected: `an integer ${expected}` });
          return undefined;
        }
        return raw;
      }
      case 'boolean':
        if (typeof raw === 'boolean') return raw;
        return wrong('true or false', typeof raw === 'string' && /^(yes|no|on|off|y|n)$/i.test(raw) ? ' (YAML 1.2 reads that as text: write true or false)' : '');
      case 'string':
        if (typeof raw !== 'string') return wrong('a string', typeof raw === 'number' ? ` (quote it: "${raw}")` : '');
        if (raw.trim() === '') return wrong('a non-empty string');
        if (spec.pattern && !spec.pattern.regex.test(raw)) return wrong(spec.pattern.expected);
        return raw;
      case 'enum': {
        if (spec.values.includes(raw as string | number)) return raw;
        const expected = `one of ${spec.values.join(', ')}`;
        const suggestion = typeof raw === 'string' ? nearest(raw, spec.values.map(String)) : undefined;
        return wrong(expected, suggestion ? `; did you mean ${suggestion}?` : '');
      }
    }
  }

  /** A `cluster` section makes a member only with the Redis the members meet in. */
  cluster(c: StarlingConfig['cluster']): void {
    if (c === undefined || c.redis !== undefined) return;
    const path = ['cluster'];
    this.report(this.source.keyOrigin(path), path, 'cluster: needs cluster.redis, the Redis URL the members meet in (docs/clustering.md)');
  }

  /** The rules between one listener's keys, then the defaults that depend on its type. */
  listener(l: ListenerConfig, i: number): ListenerConfig {
    const path = ['listeners', i];
    const type = l.type as ListenerType | undefined;
    if (type === undefined) return l; // its type was reported
    const rule = (key: string, message: string): void => {
      const segments = [...path, ...key.split('.')];
      this.report(this.source.keyOrigin(segments), segments, `${keyOf(segments)}: ${message}`);
    };
    for (const [key, kinds] of ONLY_FOR) {
      if (get(l, key) !== undefined && !kinds.includes(type)) {
        const hint = key === 'path' ? ' (the URL path of a WebSocket listener is websocketPath)' : '';
        rule(key, `is for ${list(kinds)} listeners, not ${type}${hint}`);
      }
    }
    if (type === 'unix' && l.path === undefined) rule('type', 'a unix listener needs path, the socket file');
    if (type === 'tls' || type === 'wss') {
      if (l.tls?.cert === undefined) rule(l.tls ? 'tls' : 'type', `a ${type} listener needs tls.cert, its certificate file`);
      if (l.tls?.key === undefined) rule(l.tls ? 'tls' : 'type', `a ${type} listener needs tls.key, its private key file`);
      const t = l.tls;
      if (t && t.certificateAsUsername !== undefined && t.requireCertificate === false) {
        rule('tls.requireCertificate', 'must not be false with certificateAsUsername: a user name cannot come from a missing certificate');
      }
      if (t && (t.requireCertificate === true || t.certificateAsUsername !== undefined) && t.ca === undefined) {
        rule(t.requireCertificate === true ? 'tls.requireCertificate' : 'tls.certificateAsUsername', 'needs tls.ca, the CA that signs client certificates');
      }
    }
    if (type === 'unix') return l;
    const filled: Record<string, unknown> = {
      ...l,
      host: l.host ?? DEFAULT_HOST,
      port: l.port ?? DEFAULT_PORTS[type],
      ...((type === 'ws' || type === 'wss') && { websocketPath: l.websocketPath ?? DEFAULT_WEBSOCKET_PATH }),
    };
    // In the schema's order, as --print-config shows it.
    const ordered: Record<string, unknown> = {};
    for (const key of Object.keys(SCHEMA.fields.listeners.items.fields)) {
      if (filled[key] !== undefined) ordered[key] = filled[key];
    }
    return ordered as ListenerConfig;
  }
}

/** The listener keys that mean something only for some types: elsewhere they are an error. */
const ONLY_FOR: ReadonlyArray<readonly [string, readonly ListenerType[]]> = [
  ['host', ['tcp', 'tls', 'ws', 'wss', 'mqtt-sn']],
  ['port', ['tcp', 'tls', 'ws', 'wss', 'mqtt-sn']],
  ['path', ['unix']],
  ['websocketPath', ['ws', 'wss']],
  ['proxyProtocol', ['tcp', 'tls', 'ws', 'wss']],
  ['maxFrameSize', ['ws', 'wss']],
  ['allowedOrigins', ['ws', 'wss']],
  ['tls', ['tls', 'wss']],
  ['mqttSn', ['mqtt-sn']],
];

/** Two listeners on one address, or one socket file: the second could never open. */
export function duplicateListeners(config: StarlingConfig, source: Source, problems: ConfigProblem[]): void {
  const seen = new Map<string, number>();
  config.listeners.forEach((l, i) => {
    // UDP (mqtt-sn) and TCP ports are separate spaces: 1883/tcp and 1883/udp do not clash.
    const address = l.type === 'unix' ? `unix:${l.path}` : l.port === 0 ? undefined : `${l.type === 'mqtt-sn' ? 'udp:' : ''}${l.host}:${l.port}`;
    if (address === undefined) return;
    const first = seen.get(address);
    if (first === undefined) {
      seen.set(address, i);
      return;
    }
    const path = ['listeners', i];
    problems.push({
      origin: source.valueOrigin(path),
      key: keyOf(path),
      message: `${keyOf(path)}: listens on ${address} like listeners[${first}]; each listener needs its own address`,
    });
  });
}

function get(obj: object, key: string): unknown {
  return (obj as Record<string, unknown>)[key];
}

function range(min: number, max: number | undefined): string {
  return max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
}

function list(items: readonly string[]): string {
  return items.length === 1 ? items[0]! : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (isRawObject(value)) return 'a mapping';
  return String(value);
}
