// The bridges of a broker: built from the config's `bridges` list, started and stopped
// together, and shown to operations (metrics, the admin API).
//
// In a cluster each bridge must run on one node at a time (two nodes holding the same remote
// client id would take the session from each other): placeBridges() runs them on the member
// that holds the cluster's bridges lease. The local session, and with it the queue for the
// remote, is that member's own.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { Broker } from '../broker/broker.js';
import { ClusterBroker } from '../cluster/broker.js';
import { Lease } from '../cluster/lease.js';
import type { BridgeConfig } from '../config/schema.js';
import { Bridge, type BridgeAddress, type BridgeOptions, type BridgeStatus } from './bridge.js';
import { parseRules, RuleError } from './rules.js';

export { Bridge, backoff, type BridgeAddress, type BridgeOptions, type BridgeState, type BridgeStatus, type BridgeTls } from './bridge.js';
export { inbound, outbound, parseRule, parseRules, RuleError, type Direction, type TopicRule } from './rules.js';

/** A bridge's config that cannot work: names the bridge and the key. */
export class BridgeConfigError extends Error {}

const TRANSPORTS: Readonly<Record<string, { transport: BridgeAddress['transport']; port: number }>> = {
  'mqtt:': { transport: 'tcp', port: 1883 },
  'tcp:': { transport: 'tcp', port: 1883 },
  'mqtts:': { transport: 'tls', port: 8883 },
  'tls:': { transport: 'tls', port: 8883 },
  'ssl:': { transport: 'tls', port: 8883 },
  'ws:': { transport: 'ws', port: 80 },
  'wss:': { transport: 'wss', port: 443 },
};

/** `mqtt://a:1883, mqtts://b` as addresses. */
export function parseAddresses(text: string): BridgeAddress[] {
  return text
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .map((raw) => {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new Error(`${JSON.stringify(raw)} is not a URL`);
      }
      const kind = TRANSPORTS[url.protocol];
      if (kind === undefined) throw new Error(`${JSON.stringify(raw)}: ${url.protocol} is not mqtt:, mqtts:, ws: or wss:`);
      if (url.hostname === '') throw new Error(`${JSON.stringify(raw)} names no host`);
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      return { url: raw, transport: kind.transport, host, port: url.port === '' ? kind.port : Number(url.port) };
    });
}

/**
 * A bridge's options from its config entry. `baseDir` resolves relative TLS file paths (the
 * config file's folder). Throws a BridgeConfigError naming what is wrong.
 */
export function toBridgeOptions(c: BridgeConfig, baseDir = process.cwd()): BridgeOptions {
  const fail = (key: string, message: string): never => {
    throw new BridgeConfigError(`bridges "${c.name}": ${key}: ${message}`);
  };
  if (c.name === undefined) throw new BridgeConfigError('bridges: each bridge needs a name');
  if (c.addresses === undefined) fail('addresses', 'required: the remote broker\'s address');
  if (c.topics === undefined) fail('topics', 'required: at least one rule');
  let addresses: BridgeAddress[] = [];
  try {
    addresses = parseAddresses(c.addresses!);
  } catch (err) {
    fail('addresses', (err as Error).message);
  }
  let rules: BridgeOptions['rules'] = [];
  try {
    rules = parseRules(c.topics!);
  } catch (err) {
    fail('topics', err instanceof RuleError ? err.message : String(err));
  }
  const file = (key: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(isAbsolute(path) ? path : resolve(baseDir, path));
    } catch (err) {
      return fail(`tls.${key}`, `cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const t = c.tls;
  if (t !== undefined && (t.cert === undefined) !== (t.key === undefined)) fail('tls', 'cert and key go together');
  if (c.maxReconnectDelay < c.reconnectDelay) fail('maxReconnectDelay', `is less than reconnectDelay (${c.reconnectDelay} ms)`);
  const clientId = c.clientId ?? `${hostname()}.${c.name}`;
  const v5 = c.protocol === 'mqttv50';
  return {
    name: c.name,
    addresses,
    roundRobin: c.roundRobin,
    protocolVersion: v5 ? 5 : 4,
    tryPrivate: c.tryPrivate,
    clientId,
    ...(c.username !== undefined && { username: c.username }),
    ...(c.password !== undefined && { password: c.password }),
    keepAlive: c.keepAlive,
    cleanStart: c.cleanStart,
    sessionExpiry: c.sessionExpiry,
    localClientId: c.localClientId ?? `local.${clientId}`,
    ...(c.localUsername !== undefined && { localUsername: c.localUsername }),
    localSessionExpiry: c.localSessionExpiry,
    maxInflight: c.maxInflight,
    reconnectDelay: c.reconnectDelay,
    maxReconnectDelay: c.maxReconnectDelay,
    ...(c.notifications && { notificationTopic: c.notificationTopic ?? `$SYS/broker/connection/${c.name}/state` }),
    rules,
    ...(t !== undefined && {
      tls: { ca: file('ca', t.ca), cert: file('cert', t.cert), key: file('key', t.key), insecure: t.insecure },
    }),
  };
}

export class BridgeManager {
  readonly bridges: readonly Bridge[];

  constructor(broker: Broker, options: readonly BridgeOptions[]) {
    const names = new Set<string>();
    const ids = new Set<string>();
    for (const o of options) {
      if (names.has(o.name)) throw new BridgeConfigError(`bridges: two bridges are named "${o.name}"`);
      if (ids.has(o.localClientId)) throw new BridgeConfigError(`bridges "${o.name}": localClientId ${JSON.stringify(o.localClientId)} is another bridge's too`);
      names.add(o.name);
      ids.add(o.localClientId);
    }
    this.bridges = options.map((o) => new Bridge(broker, o));
  }

  /** Starts every bridge (on the node that should run them). A bridge that cannot start is logged and skipped. */
  async start(log?: (bridge: string, err: Error) => void): Promise<void> {
    await Promise.all(
      this.bridges.map((b) =>
        b.start().catch((err: Error) => {
          log?.(b.name, err);
        }),
      ),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.bridges.map((b) => b.stop()));
  }

  statuses(): BridgeStatus[] {
    return this.bridges.map((b) => b.status());
  }
}

/** The CLI's way in: the enabled bridges of a config, not started. */
export function bridgesFromConfig(broker: Broker, bridges: readonly BridgeConfig[], baseDir?: string): BridgeManager {
  return new BridgeManager(
    broker,
    bridges.filter((b) => b.enabled).map((b) => toBridgeOptions(b, baseDir)),
  );
}

/**
 * Runs the bridges on one process of the deployment: on a cluster member, only while it
 * holds the cluster's `bridges` lease (one member at a time, moving to another within
 * `cluster.nodeTimeout` when the holder dies: src/cluster/lease.ts); otherwise here, when
 * `here` (the CLI passes false for workers 2..N of isolated workers). Resolves once placed;
 * the returned function stops them and gives the lease up.
 */
export async function placeBridges(broker: Broker, bridges: BridgeManager, here: boolean, log: (bridge: string, err: Error) => void): Promise<() => Promise<void>> {
  if (bridges.bridges.length === 0) return async () => undefined;
  if (broker instanceof ClusterBroker) {
    const node = broker.cluster;
    const lease = new Lease(node.cmd, `${node.keys.prefix}lease:bridges`, node.name, node.options.nodeTimeout, {
      acquired: async () => {
        broker.log.info({ node: node.name }, 'this member runs the bridges (it holds the bridges lease)');
        await bridges.start(log);
      },
      lost: async () => {
        broker.log.warn({ node: node.name }, 'this member no longer holds the bridges lease: bridges stopped');
        await bridges.stop();
      },
    });
    lease.start();
    return async () => {
      await lease.stop();
      await bridges.stop();
    };
  }
  if (here) await bridges.start(log);
  return () => bridges.stop();
}
