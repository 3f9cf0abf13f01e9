// Cluster members in one test process, on one test Redis: each a broker on a free loopback
// port, closed (leaving the cluster) when the test ends.

import type { TestContext } from 'node:test';
import type { BrokerOptions } from '../../src/index.js';
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
