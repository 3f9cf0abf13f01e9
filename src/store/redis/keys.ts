// Key names of the Redis store beyond those the cluster shares (src/cluster/wire.ts). Every
// per-client key carries the client id as its `{hash tag}`, so on a Redis Cluster a session,
// its will and its owner record sit in one slot and one MULTI can write them together.

import { ClusterKeys } from '../../cluster/wire.js';

export class StoreKeys extends ClusterKeys {
  /** String: the client's pending will (JSON), in the session's slot. */
  will(clientId: string): string {
    return `${this.prefix}will:{${clientId}}`;
  }
  /** Set of client ids whose session or will a node wrote: a dead node's clients are found here. */
  nodeSessions(node: string): string {
    return `${this.prefix}node-sessions:{${node}}`;
  }
  /**
   * Hash message id -> encodeMessage: the messages one run of one node stored (`ns` is
   * `node/run`). A message delivered to many sessions is here once; its deliveries name it.
   */
  messages(ns: string): string {
    return `${this.prefix}msg:{${ns}}`;
  }
  /** Hash: the message namespaces (`node/run`) of a node's runs -> when retired (0: live). */
  runs(node: string): string {
    return `${this.prefix}runs:{${node}}`;
  }
  /** SET NX with an expiry: the survivor that publishes a dead node's wills holds it. */
  willsLock(node: string): string {
    return `${this.prefix}wills-lock:{${node}}`;
  }
  /** Pub/sub channel of the session handover between nodes (see src/cluster/sessions.ts). */
  sessionChannel(node: string): string {
    return `${this.channel(node)}:sessions`;
  }
}
