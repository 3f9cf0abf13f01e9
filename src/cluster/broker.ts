// A broker that is a cluster member: the Broker with the cluster's router around its local
// one, the cluster's retained set, a join before its listeners open and a leave after they
// close, and acknowledgements that also wait for the QoS 1/2 forwards to be in Redis.
// createBroker() returns one when `options.cluster` is set.

import { Broker } from '../broker/broker.js';
import type { RetainedStore } from '../broker/retained.js';
import type { BrokerOptions, ListenerInfo } from '../broker/types.js';
import type { ListenerFactory } from '../transport/types.js';
import type { ClusterOptions } from './config.js';
import { ClusterNode } from './node.js';

export class ClusterBroker extends Broker {
  readonly cluster: ClusterNode;

  constructor(options: BrokerOptions & { cluster: ClusterOptions }, openListener?: ListenerFactory) {
    const node = new ClusterNode(options.cluster);
    const inner = options.router;
    super({ ...options, router: (local) => node.wrap(inner?.(local) ?? local) }, openListener);
    this.cluster = node;
    (this as { retained: RetainedStore }).retained = node.retained;
    node.attach(this);
  }

  override async listen(): Promise<ListenerInfo[]> {
    await this.cluster.join();
    // What the store gives back must not overwrite newer copies in Redis.
    this.cluster.restoring = true;
    let infos: ListenerInfo[];
    try {
      infos = await super.listen();
    } finally {
      this.cluster.restoring = false;
    }
    if (this.cluster.connected) await this.cluster.loadRetained(true).catch(() => undefined);
    this.cluster.startInbox();
    return infos;
  }

  /** The store's durability and the forwards' acknowledgement by Redis, both. */
  override durable(): Promise<void> | undefined {
    const local = super.durable();
    const routed = this.cluster.router.durable();
    if (routed === undefined) return local;
    if (local === undefined) return routed;
    return Promise.all([local, routed]).then(() => undefined);
  }

  override async close(): Promise<void> {
    await super.close();
    await this.cluster.leave();
  }
}
