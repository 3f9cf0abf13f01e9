// Cluster members in one test process, on one test Redis: each a broker on a free loopback
// port, closed (leaving the cluster) when the test ends.

import type { TestContext } from 'node:test';
import { createBroker, type BrokerOptions } from '../../src/index.js';
import { attachClusterSessions, type ClusterSessions } from '../../src/cluster/sessions.js';
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

/**
 * A member as the `starling` command makes one with `persistence.store: redis`: the Redis
 * store (sharing the cluster's node name) and cluster sessions, closed when the test ends.
 */
export async function storeMember(t: TestContext, redisUrl: string, name: string): Promise<{ broker: ClusterBroker; sessions: ClusterSessions; url: string; port: number }> {
  const broker = createBroker({
    logLevel: false,
    listeners: [{ port: 0, host: '127.0.0.1' }],
    cluster: { redis: redisUrl, node: name, heartbeatInterval: 200, nodeTimeout: 1500 },
    store: new RedisStore({ url: redisUrl, node: name }),
  }) as ClusterBroker;
  const sessions = attachClusterSessions(broker, { takeoverTimeout: 3000 })!;
  const [info] = await broker.listen();
  t.after(() => broker.close());
  return { broker, sessions, url: `mqtt://127.0.0.1:${info!.port}`, port: info!.port };
}
