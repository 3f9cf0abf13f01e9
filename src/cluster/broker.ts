// A broker that is a cluster member: the Broker with the cluster's router around its local
// one, the cluster's retained set, a join before its listeners open and a leave after they
// close, and acknowledgements that also wait for the QoS 1/2 forwards to be in Redis.
// createBroker() returns one when `options.cluster` is set.

import { Broker } from '../broker/broker.js';
import type { RetainedStore } from '../broker/retained.js';
import type { BrokerOptions, ClientInfo, ListenerInfo, Message } from '../broker/types.js';
import type { MaybePromise } from '../broker/hooks.js';
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

  /**
   * Set once a publish went through a hook that answered with a promise: from then on an
   * acknowledgement may come after other messages were routed, so it waits for every
   * pending forward instead of only its own message's.
   */
  private asyncPublishes = false;
  /** The client whose publish was routed last, for the durable() call its acknowledgement makes next. */
  private lastPublisher: ClientInfo | undefined;
  /** Per publisher, the forward wait its latest acknowledgement is behind: acknowledgements keep their order. */
  private readonly behind = new WeakMap<ClientInfo, Promise<void>>();

  override publishFrom(client: ClientInfo, message: Message, refusable = false): MaybePromise<number> {
    const r = super.publishFrom(client, message, refusable);
    if (typeof r !== 'number') {
      this.asyncPublishes = true;
      return r;
    }
    this.lastPublisher = client;
    // QoS 0 that took a node beyond its window: the publisher is not read again until that
    // node catches up (a pending publish pauses its connection), as TCP slows the publishers
    // of a standalone node. Only QoS 0: QoS 1/2 acknowledgements have their own flow.
    const wait = message.qos === 0 ? this.cluster.router.backpressure() : undefined;
    if (wait === undefined) return r;
    return wait.then(() => {
      // The wait is the broker's: it must not count against the client's keep alive.
      if ('lastSeen' in client) (client as { lastSeen: number }).lastSeen = Date.now();
      return r;
    });
  }

  /**
   * The store's durability and the forwards' acknowledgement by Redis, both. A publish's
   * acknowledgement calls it right after routing (handlers/acks.ts afterDurable), so a
   * message that forwarded nothing waits only for its publisher's earlier ones: local
   * clients keep their pace while Redis is away, and each client's acknowledgements stay in
   * order.
   */
  override durable(): Promise<void> | undefined {
    const local = super.durable();
    const client = this.lastPublisher;
    this.lastPublisher = undefined;
    let routed: Promise<void> | undefined;
    if (this.asyncPublishes) routed = this.cluster.router.durable(false);
    else if (client !== undefined) {
      routed = this.cluster.router.durable(true);
      if (routed === undefined) routed = this.behind.get(client);
      else {
        const mine = routed;
        this.behind.set(client, mine);
        const forget = (): void => {
          if (this.behind.get(client) === mine) this.behind.delete(client);
        };
        mine.then(forget, forget);
      }
    }
    if (routed === undefined) return local;
    if (local === undefined) return routed;
    return Promise.all([local, routed]).then(() => undefined);
  }

  override async close(): Promise<void> {
    await super.close();
    await this.cluster.leave();
  }
}
