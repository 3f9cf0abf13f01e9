// Cluster members in one test process, on one test Redis: each a broker on a free loopback
// port, closed (leaving the cluster) when the test ends.

import type { TestContext } from 'node:test';
import type { BrokerOptions } from '../../src/index.js';
import type { ClusterBroker } from '../../src/cluster/index.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';

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

/** Waits until every member's route table holds `filters` other nodes' filters in all. */
export async function routesSettled(members: readonly Member[], what: string, check: (m: Member) => boolean): Promise<void> {
  await until(what, () => members.every(check), 5000);
}
