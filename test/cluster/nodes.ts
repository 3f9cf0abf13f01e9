// Cluster members in one test process, on one test Redis: each a broker on a free loopback
// port, closed (leaving the cluster) when the test ends.

import type { TestContext } from 'node:test';
import { createBroker, type BrokerOptions } from '../../src/index.js';
import { attachClusterSessions, type ClusterSessions, type ClusterSessionsOptions } from '../../src/cluster/sessions.js';
import { RedisStore } from '../../src/store/index.js';
import type { ClusterBroker } from '../../src/cluster/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';

export interface Member extends TestBroker {
  readonly broker: ClusterBroker;
  readonly name: string;
}

let seq = 0;

export async function member(t: TestContext, redisUrl: string, name = `n${++seq}`, options: BrokerOptions = {}, cluster: Record<string, unknown> = {}): Promise<Member> {
  const b = await startBroker({ ...options, cluster: { redis: redisUrl, node: name, heartbeatInterval: 200, nodeTimeout: 1500, ...cluster } });
  t.after(() => b.close());
  return { ...b, broker: b.broker as ClusterBroker, name };
}

/** A member as the `starling` command makes one with `persistence.store: redis`. */
export interface StoreMember {
  readonly broker: ClusterBroker;
  readonly sessions: ClusterSessions;
  readonly store: RedisStore;
  readonly url: string;
  readonly port: number;
}

/**
 * A member with the Redis store (sharing the cluster's node name and Redis, `redisUrl`, which
 * may be a proxy) and cluster sessions; the caller closes it.
 */
export async function openStoreMember(redisUrl: string, name: string, sessions: ClusterSessionsOptions = { takeoverTimeout: 3000 }): Promise<StoreMember> {
  const store = new RedisStore({ url: redisUrl, node: name });
  const broker = createBroker({
    logLevel: false,
    listeners: [{ port: 0, host: '127.0.0.1' }],
    cluster: { redis: redisUrl, node: name, heartbeatInterval: 200, nodeTimeout: 1500 },
    store,
  }) as ClusterBroker;
  const cs = attachClusterSessions(broker, sessions)!;
  const [info] = await broker.listen();
  return { broker, sessions: cs, store, url: `mqtt://127.0.0.1:${info!.port}`, port: info!.port };
}

/** openStoreMember, closed when the test ends. */
export async function storeMember(t: TestContext, redisUrl: string, name: string, sessions?: ClusterSessionsOptions): Promise<StoreMember> {
  const m = await openStoreMember(redisUrl, name, sessions);
  t.after(() => m.broker.close());
  return m;
}
