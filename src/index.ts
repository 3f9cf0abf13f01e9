// starling-mqtt: the embeddable broker. `createBroker(options)` returns a Broker; call
// `listen()` to open its listeners and `close()` to stop it gracefully.

import { Broker } from './broker/broker.js';
import type { BrokerOptions } from './broker/types.js';
import { createListener } from './transport/index.js';
import { ClusterBroker } from './cluster/broker.js';

/** A broker with the listener kinds of src/transport/ (tcp, tls, ws, wss, unix). */
export function createBroker(options: BrokerOptions = {}): Broker {
  // A cluster member when `cluster` is set (docs/clustering.md).
  if (options.cluster !== undefined) return new ClusterBroker({ ...options, cluster: options.cluster }, createListener);
  return new Broker(options, createListener);
}

export { Broker, type BrokerEvents, type BrokerStats } from './broker/broker.js';
export type {
  AuthenticateRequest,
  AuthStep,
  BrokerOptions,
  ClientInfo,
  EnhancedAuthRequest,
  Hooks,
  Limits,
  ListenerInfo,
  ListenerOptions,
  Message,
  Verdict,
} from './broker/types.js';
export { DEFAULT_LIMITS } from './broker/types.js';
export * as codec from './codec/index.js';
export * as topics from './topics/index.js';
export { fileAuth, type FileAuth, type FileAuthOptions } from './auth/index.js';
export type { DeliveryTarget } from './broker/types.js';
export { InProcessClient, InProcessError, type Delivery, type InProcessOptions, type MessageHandler, type PublishOptions, type SubscribeOptions } from './broker/in-process.js';
export type { ConnectedClient, DeliveryPeer } from './broker/peer.js';
export type { Router, SubscriptionEntry } from './broker/router.js';
export { LocalRouter } from './broker/router.js';
export type { ClientView, RetainedView, SessionView, SubscriptionView } from './broker/views.js';
export { registerListenerKind } from './transport/index.js';
export type { Listener, ListenerFactory, ListenerHost, PeerIdentity } from './transport/types.js';
export { createStore, MemoryStore, SqliteStore, STORE_FILE, StoreError, type SqliteStoreOptions } from './store/index.js';
export type * from './store/types.js';
export { createOpsServer, stdoutLog, SYS_PREFIX, SysTopics, type DashboardOptions, type HttpOptions, type OpsOptions, type OpsServer, type ReloadResult } from './ops/index.js';
export { ClusterBroker, ClusterNode, ClusterUrlError, parseRedisUrl, type ClusterOptions, type NodeInfo } from './cluster/index.js';
