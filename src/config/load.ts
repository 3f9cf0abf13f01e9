// Loading the configuration, once at start-up and again on SIGHUP: schema defaults, then the
// YAML file, then STARLING_* environment variables, then command-line flags, each later one
// winning. The result is validated as a whole; any problem stops start-up with all of them.
// Nothing else in Starling reads the config file or the environment.

import { resolveClusterOptions, type ClusterOptions } from '../cluster/config.js';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { AuthFiles, FileAuthOptions } from '../auth/index.js';
import type { BrokerOptions, ListenerOptions } from '../broker/types.js';
import type { QoS } from '../codec/types.js';
import type { OpsOptions } from '../ops/types.js';
import { ConfigError, type ConfigProblem, type Origin } from './errors.js';
import { CONFIG_FILE_ENV, envOverrides, flagOverrides, type CliFlags, type Override } from './overrides.js';
import { keyOf, specAt } from './keys.js';
import {
  type AuthConfig,
  type ListenerConfig,
  type LogConfig,
  type PersistenceConfig,
  type StarlingConfig,
} from './schema.js';
import { Source, isRawObject, rawObject, readYaml } from './source.js';
import { duplicateListeners, validate } from './validate.js';

export interface LoadOptions {
  /** The YAML file. Default: $STARLING_CONFIG; without either, defaults, environment and flags only. */
  readonly file?: string | undefined;
  /** The file's text when already read (tests, SIGHUP); `file` then only names it in messages. */
  readonly text?: string | undefined;
  /** Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly flags?: CliFlags;
}

export interface LoadedConfig {
  readonly config: StarlingConfig;
  /** The file read, if any. */
  readonly file: string | undefined;
  /** Where each value that is not a default came from, by key (`listeners[0].port`). */
  readonly origins: ReadonlyMap<string, Origin>;
}

/** Reads, merges and validates the configuration; throws a ConfigError listing every problem. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? (env[CONFIG_FILE_ENV] || undefined);
  let text = options.text;
  if (text === undefined && file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const from = options.file === undefined ? ` (named by ${CONFIG_FILE_ENV})` : '';
      throw new ConfigError([
        { origin: { kind: 'file', file, line: 0, col: 0 }, key: '', message: `cannot read the config file${from}: ${(err as Error).message}` },
      ]);
    }
  }

  const problems: ConfigProblem[] = [];
  const source = text === undefined ? new Source() : readYaml(text, file ?? '<config>', problems);
  // A file that is not YAML has no keys to check: report its syntax alone.
  if (problems.length > 0) throw new ConfigError(problems);

  const fromEnv = envOverrides(env);
  const fromFlags = flagOverrides(options.flags ?? {});
  problems.push(...fromEnv.problems, ...fromFlags.problems);
  for (const o of [...fromEnv.overrides, ...fromFlags.overrides]) applyOverride(source, o, problems);

  const config = validate(source, problems);
  if (problems.length === 0) duplicateListeners(config, source, problems);
  if (problems.length > 0) throw new ConfigError(inFileOrder(problems));
  return { config: deepFreeze(config), file, origins: source.valueOrigins };
}

/** Problems in the file first, by line and column, then those from variables and flags. */
function inFileOrder(problems: ConfigProblem[]): ConfigProblem[] {
  const rank = (p: ConfigProblem): [number, number, number] =>
    p.origin.kind === 'file' ? [0, p.origin.line, p.origin.col] : [p.origin.kind === 'env' ? 1 : 2, 0, 0];
  return problems
    .map((p, i) => ({ p, i, r: rank(p) }))
    .sort((x, y) => x.r[0] - y.r[0] || x.r[1] - y.r[1] || x.r[2] - y.r[2] || x.i - y.i)
    .map((x) => x.p);
}

/** Writes one override into the raw tree, creating the lists and mappings on its way. */
function applyOverride(source: Source, o: Override, problems: ConfigProblem[]): void {
  let node: Record<string, unknown> | unknown[] = source.root;
  for (let i = 0; i < o.segments.length - 1; i++) {
    const seg = o.segments[i]!;
    const next = o.segments[i + 1]!;
    const container = node as Record<string | number, unknown>;
    let child = container[seg];
    const spec = specAt(o.segments.slice(0, i + 1));
    if (spec?.type === 'list' && !Array.isArray(child)) {
      // Overriding a listener of a file that has none starts from the default listener.
      child = spec.default.map((item) => Object.assign(rawObject(), item));
    } else if (spec?.type !== 'list' && !isRawObject(child)) {
      child = rawObject();
    }
    container[seg] = child;
    if (Array.isArray(child) && typeof next === 'number') {
      if (next > child.length) {
        const path = o.segments.slice(0, i + 2);
        problems.push({
          origin: o.origin,
          key: keyOf(path),
          message: `${keyOf(path)}: there ${child.length === 1 ? 'is 1 entry' : `are ${child.length} entries`}; a new one must be ${keyOf([...o.segments.slice(0, i + 1), child.length])}`,
        });
        return;
      }
      if (next === child.length) child.push(rawObject());
    }
    node = child as Record<string, unknown> | unknown[];
  }
  const last = o.segments[o.segments.length - 1]!;
  (node as Record<string | number, unknown>)[last] = coerce(o.segments, o.text);
  source.keyOrigins.set(keyOf(o.segments), o.origin);
  source.valueOrigins.set(keyOf(o.segments), o.origin);
}

/** Text from the environment or a flag, as the key's type when it reads as one. */
function coerce(segments: readonly (string | number)[], text: string): unknown {
  const spec = specAt(segments);
  const t = text.trim();
  switch (spec?.type) {
    case 'integer':
      return /^[+-]?\d+$/.test(t) ? Number(t) : text;
    case 'boolean':
      return /^(true|false)$/i.test(t) ? t.toLowerCase() === 'true' : text;
    case 'enum':
      return spec.values.some((v) => typeof v === 'number') && /^\d+$/.test(t) ? Number(t) : text;
    default:
      return text;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The schema's defaults alone: what a broker started with no file, variables or flags uses. */
export function defaultConfig(): StarlingConfig {
  return loadConfig({ env: {} }).config;
}

/**
 * What the CLI hands to createBroker(), and the settings BrokerOptions has no field for yet,
 * which the CLI turns into hooks (auth: the password and ACL files) or keeps for later
 * (persistence: createStore(); log.pretty: the CLI's log destination).
 */
export interface BrokerSetup {
  readonly options: BrokerOptions;
  readonly auth: AuthConfig;
  /** The store settings (a cluster member's Redis store also gets the cluster's key prefix). */
  readonly persistence: PersistenceConfig & { readonly prefix?: string };
  readonly log: LogConfig;
  /** $SYS and the HTTP server (metrics, health, admin API), for createOpsServer(). */
  readonly ops: OpsOptions;
}

export function toBrokerOptions(config: StarlingConfig): BrokerSetup {
  const options: { -readonly [K in keyof BrokerOptions]: BrokerOptions[K] } = {
    listeners: config.listeners.map(toListenerOptions),
    limits: { ...config.limits },
    maximumQoS: config.mqtt.maximumQoS as QoS,
    retainAvailable: config.mqtt.retainAvailable,
    logLevel: config.log.level,
    ...(config.mqtt.serverReference !== undefined && { serverReference: config.mqtt.serverReference }),
  };
  let persistence: BrokerSetup['persistence'] = config.persistence;
  if (config.cluster?.redis !== undefined) {
    const cluster = resolveClusterOptions(toClusterOptions(config.cluster, config.cluster.redis));
    options.cluster = cluster;
    // A member's Redis store shares the cluster's Redis (unless persistence.redis names
    // another), key prefix and node name: ownership of a client id is judged by the
    // membership key of the node name the store writes, so the two must be one name.
    if (config.persistence.store === 'redis') persistence = { ...config.persistence, redis: config.persistence.redis ?? cluster.redis, node: cluster.node, prefix: cluster.prefix };
  }
  const http = config.http;
  const ops: OpsOptions = {
    sysInterval: config.sys.interval,
    ...(http.port !== undefined && {
      http: {
        port: http.port,
        host: http.host,
        maxConnections: http.maxConnections,
        idleTimeout: http.idleTimeout,
        ...(http.adminToken !== undefined && { adminToken: http.adminToken }),
        dashboard: {
          ...http.dashboard,
          adminUsers: (http.dashboard.adminUsers ?? '')
            .split(',')
            .map((u) => u.trim())
            .filter((u) => u !== ''),
        },
      },
    }),
  };
  return { options, auth: config.auth, persistence, log: config.log, ops };
}

function toClusterOptions(c: NonNullable<StarlingConfig['cluster']>, redis: string): ClusterOptions {
  const { node, prefix, heartbeatInterval, nodeTimeout, maxPendingForwards, inboxMaxWait, volatileWindow, volatileMaxWait, fence } = c;
  return { redis, prefix, heartbeatInterval, nodeTimeout, maxPendingForwards, inboxMaxWait, volatileWindow, volatileMaxWait, fence, ...(node !== undefined && { node }) };
}

/** The config keys naming auth files, and the FileAuthOptions field each one sets. */
export const AUTH_FILE_KEYS = Object.freeze({ passwordFile: 'auth.passwordFile', aclFile: 'auth.aclFile' } as const);

/**
 * The auth files, as absolute paths: a relative path written in the config file is read from
 * the file's folder (the file may be started from anywhere, as by a service manager); one from
 * an environment variable or a flag, from the working directory, as a shell user expects.
 */
export function authFiles(loaded: LoadedConfig): AuthFiles {
  const at = (field: keyof typeof AUTH_FILE_KEYS): string | undefined => {
    const path = loaded.config.auth[field];
    if (path === undefined || isAbsolute(path)) return path;
    const origin = loaded.origins.get(AUTH_FILE_KEYS[field]);
    return origin?.kind === 'file' ? resolve(dirname(origin.file), path) : resolve(path);
  };
  return { passwordFile: at('passwordFile'), aclFile: at('aclFile') };
}

/** fileAuth's bounds from the `auth` section (the files come from authFiles()). */
export function authOptions(auth: AuthConfig): Pick<FileAuthOptions, 'logins' | 'failureDelay'> {
  const logins = {
    ...(auth.hashConcurrency !== undefined && { hashConcurrency: auth.hashConcurrency }),
    ...(auth.maxPendingLogins !== undefined && { maxPending: auth.maxPendingLogins }),
    ...(auth.maxPendingLoginsPerSource !== undefined && { maxPendingPerSource: auth.maxPendingLoginsPerSource }),
  };
  if (auth.failureDelay === 0) return { logins, failureDelay: false };
  return {
    logins,
    failureDelay: {
      ...(auth.failureDelay !== undefined && { initialMs: auth.failureDelay }),
      ...(auth.maxFailureDelay !== undefined && { maxMs: auth.maxFailureDelay }),
      ...(auth.failureMemory !== undefined && { maxAddresses: auth.failureMemory }),
    },
  };
}

function toListenerOptions(l: ListenerConfig): ListenerOptions {
  const t = l.tls;
  const options: ListenerOptions = {
    type: l.type,
    name: l.name,
    host: l.host,
    port: l.port,
    path: l.type === 'unix' ? l.path : undefined,
    websocketPath: l.type === 'ws' || l.type === 'wss' ? l.websocketPath : undefined,
    allowAnonymous: l.allowAnonymous,
    maxConnections: l.maxConnections,
    proxyProtocol: l.proxyProtocol,
    handshakeTimeout: l.handshakeTimeout,
    maxFrameSize: l.maxFrameSize,
    allowedOrigins: l.allowedOrigins
      ?.split(',')
      .map((o) => o.trim())
      .filter((o) => o !== ''),
    certFile: t?.cert,
    keyFile: t?.key,
    caFile: t?.ca,
    requireCertificate: t?.requireCertificate,
    certificateAsUsername: t?.certificateAsUsername,
    minVersion: t?.minVersion,
    ciphers: t?.ciphers,
    ticketKeyFile: t?.ticketKeyFile,
    sessionTimeout: t?.sessionTimeout,
    mqttSn: l.type === 'mqtt-sn' ? l.mqttSn : undefined,
  };
  // Keys a listener kind does not use are left out, not set to undefined.
  for (const key of Object.keys(options) as (keyof ListenerOptions)[]) {
    if (options[key] === undefined) delete options[key];
  }
  return options;
}
