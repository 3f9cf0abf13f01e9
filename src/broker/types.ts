// The broker's public types: options with their defaults, the hook signatures, and what a
// hook sees of a client. Everything here is part of the embeddable API (src/index.ts).

import type {
  ConnectPacket,
  ProtocolVersion,
  QoS,
  Subscription,
} from '../codec/types.js';
import type { Store } from '../store/types.js';
import type { ListenerInfo, ListenerOptions } from '../transport/types.js';
import type { Message } from '../message.js';
import type { Router } from './router.js';
import type { ClusterOptions } from '../cluster/config.js';

export type { Message } from '../message.js';
export type { ListenerInfo, ListenerOptions } from '../transport/types.js';

/** What hooks and events see of a connected client. */
export interface ClientInfo {
  readonly id: string;
  readonly protocolVersion: ProtocolVersion;
  readonly username: string | undefined;
  readonly remoteAddress: string;
  readonly listener: string;
  readonly keepalive: number;
}

export interface AuthenticateRequest {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly remoteAddress: string;
  readonly listener: ListenerInfo;
  readonly connect: Readonly<ConnectPacket>;
  /** The TLS client certificate's subject and the user name taken from it, when there is one. */
  readonly peer?: { readonly certificateSubject?: string; readonly certificateUsername?: string };
}

/** A hook's verdict: allow, or deny with the 5.0 reason code the client is told. */
export type Verdict = { ok: true } | { ok: false; reasonCode: number; reasonString?: string };

/** One step of an enhanced authentication exchange (5.0 AUTH). */
export type AuthStep =
  /** `username`: the identity the method proved; it becomes the client's user name. */
  | { done: true; ok: true; data?: Buffer; username?: string }
  | { done: true; ok: false; reasonCode: number }
  | { done: false; data?: Buffer };

export interface EnhancedAuthRequest {
  readonly clientId: string;
  readonly method: string;
  readonly data: Buffer | undefined;
  /** 0 for the first step (from CONNECT or a re-authenticating AUTH 0x19), then 1, 2, ... */
  readonly step: number;
  /** Carried between the steps of one exchange; the hook may keep anything here. */
  state: Record<string, unknown>;
  /** The CONNECT's user name: the identity the method must prove. */
  readonly username: string | undefined;
  readonly remoteAddress: string;
}

/** Who a message copy is about to go to: enough for a read-access check. */
export interface DeliveryTarget {
  readonly id: string;
  readonly username: string | undefined;
}

/** Hooks are async or sync, run in the order they were added, and any of them may deny. */
export interface Hooks {
  /**
   * Password or certificate check. Denial reason codes: 0x86, 0x87, 0x8A ... undefined
   * abstains: when every hook abstains, the listener's policy decides as with no hook.
   */
  authenticate?(req: AuthenticateRequest): Verdict | undefined | Promise<Verdict | undefined>;
  /** Enhanced authentication (5.0). Return undefined when the method is not yours. */
  enhancedAuth?(req: EnhancedAuthRequest): AuthStep | undefined | Promise<AuthStep | undefined>;
  authorizePublish?(client: ClientInfo, message: Message): Verdict | Promise<Verdict>;
  /** Return a verdict, or a lower QoS to grant. */
  authorizeSubscribe?(client: ClientInfo, sub: Subscription): Verdict | QoS | Promise<Verdict | QoS>;
  /**
   * Read access, per message and per subscriber, as Mosquitto's ACL checks it; synchronous
   * because it runs on the delivery path (only when some hook defines it). False drops
   * this subscriber's copy.
   */
  authorizeDelivery?(target: DeliveryTarget, message: Message): boolean;
  /** May rewrite the message (return a new one) or drop it (return null). */
  onPublish?(client: ClientInfo | undefined, message: Message): Message | null | void | Promise<Message | null | void>;
  onConnect?(client: ClientInfo): void | Promise<void>;
  onDisconnect?(client: ClientInfo, reason: string): void | Promise<void>;
  onSubscribe?(client: ClientInfo, subs: readonly Subscription[], granted: readonly number[]): void | Promise<void>;
}

export interface Limits {
  /** Largest packet accepted from a client, fixed header included. Default 1 MiB. */
  maxPacketSize: number;
  /**
   * Largest packet accepted from a client before its CONNECT is accepted: the CONNECT itself
   * and 5.0 AUTH, with will and password (capped by maxPacketSize). A larger one gets CONNACK
   * 0x95 (5.0); a 3.1/3.1.1 client is closed. Default 64 KiB.
   */
  maxConnectPacketSize: number;
  /**
   * 5.0 Receive Maximum the broker advertises: QoS 1/2 publishes a 5.0 client may have
   * unacknowledged. 3.1/3.1.1 have no Receive Maximum and are not held to it: the packet
   * identifier space bounds them (65,535; one more closes the connection). Default 1024.
   */
  receiveMaximum: number;
  /** Outbound QoS 1/2 messages in flight per client (further capped by the client's Receive Maximum). Default 1024. */
  maxInflight: number;
  /** Messages queued per session while in flight is full or the client is offline. Default 10,000. */
  maxQueuedMessages: number;
  /** Bytes queued per session: payloads and topics (one byte a character). Default 64 MiB. */
  maxQueuedBytes: number;
  /** Bytes buffered in a socket before QoS 0 messages to it are dropped. Default 4 MiB. */
  maxSocketBuffer: number;
  /** Topic Alias Maximum advertised to 5.0 clients. Default 64. */
  topicAliasMaximum: number;
  /** Largest keep alive accepted; a client asking more (or 0) is told this (5.0 Server Keep Alive). 0 = no cap. Default 0. */
  maxKeepAlive: number;
  /** Longest session expiry interval granted, seconds. Default 0xFFFFFFFF (never). */
  maxSessionExpiry: number;
  /** Longest topic name or filter, bytes. Default 65535. */
  maxTopicLength: number;
  /** Most levels in a topic name or filter. Default 128. */
  maxTopicLevels: number;
  /** Subscriptions per client. Default 10,000. */
  maxSubscriptionsPerClient: number;
  /**
   * Bytes of one client's topic filters together (one byte a character); a SUBSCRIBE that
   * would add a filter beyond it is refused for that filter (5.0: 0x97, 3.1.1: 0x80).
   * 0 = unlimited. Default 1 MiB.
   */
  maxSubscriptionBytesPerClient: number;
  /** Bytes of all sessions' topic filters together, enforced as maxSubscriptionBytesPerClient. 0 = unlimited. Default 1 GiB. */
  maxSubscriptionBytes: number;
  /**
   * Retained messages held at once (one per topic); a retained publish that would add a
   * topic beyond it is not stored (5.0 QoS 1/2: refused with 0x97). 0 = unlimited. Default 1,000,000.
   */
  maxRetainedMessages: number;
  /**
   * Bytes of all retained messages together, enforced as maxRetainedMessages: payloads, topics
   * (one byte a character), 128 bytes a message and 256 a topic level held (the memory they
   * take). 0 = unlimited. Default 1 GiB.
   */
  maxRetainedBytes: number;
  /**
   * Sessions held at once, connected or not; a CONNECT that would create one more is refused
   * (5.0: 0x97, 3.1/3.1.1: 0x03). Resuming or taking over a session is not. 0 = unlimited. Default 1,000,000.
   */
  maxSessions: number;
  /** Concurrent connections over all listeners; 0 = unlimited. Default 0. */
  maxConnections: number;
  /**
   * Open client sockets over all listeners, counted from accept (before the PROXY header,
   * TLS, the WebSocket upgrade and CONNECT); one more is closed at once. 0 = unlimited.
   * Default (undefined): the open-file limit less 128 (or half of it, if more), unbounded
   * when the limit is unknown; see transport/guard.ts.
   */
  maxSockets?: number | undefined;
  /** CONNECTs per second from one source address (IPv6: per /64), burst one second's worth; 0 = off. Default 0. */
  maxConnectRate: number;
  /** PUBLISH packets per second from one client, burst one second's worth; 0 = off. Default 0. */
  maxPublishRate: number;
  /** PUBLISH payload bytes per second from one client, burst one second's worth; 0 = off. Default 0. */
  maxByteRate: number;
  /** Time allowed between accepting a socket and its CONNECT, ms. Default 10,000. */
  connectTimeout: number;
}

export interface BrokerOptions {
  listeners?: ListenerOptions[];
  /**
   * Where sessions, queued messages, retained messages and wills outlive the process:
   * a SqliteStore (durable) or a MemoryStore. Default: none, all state is in memory only.
   */
  store?: Store;
  limits?: Partial<Limits>;
  hooks?: Hooks[];
  /** 5.0 Maximum QoS advertised; publishes above it are refused. Default 2. */
  maximumQoS?: QoS;
  /** Retained messages supported. Default true. */
  retainAvailable?: boolean;
  /** 5.0 Server Reference sent with CONNACK 0x9C/0x9D and DISCONNECT when redirecting. */
  serverReference?: string;
  /** pino log level, or false for no logs. Default 'info'. */
  logLevel?: string | false;
  /** Where logs go: a pino destination (a stream, or any object pino can write lines to). Default stdout. */
  logDestination?: NodeJS.WritableStream | { write(line: string): unknown };
  /**
   * Wraps the local router (the subscription index and matching on this node) in another
   * that the broker then routes through, e.g. a cluster's, which announces subscriptions
   * and forwards messages to other nodes. Default: the local router itself.
   */
  router?: (local: Router) => Router;
  /**
   * Makes the broker a cluster member on Redis (docs/clustering.md): createBroker() then
   * returns a ClusterBroker. Default: a standalone broker.
   */
  cluster?: ClusterOptions;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxPacketSize: 1024 * 1024,
  maxConnectPacketSize: 64 * 1024,
  receiveMaximum: 1024,
  maxInflight: 1024,
  maxQueuedMessages: 10_000,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxSocketBuffer: 4 * 1024 * 1024,
  topicAliasMaximum: 64,
  maxKeepAlive: 0,
  maxSessionExpiry: 0xffffffff,
  maxTopicLength: 65_535,
  maxTopicLevels: 128,
  maxSubscriptionsPerClient: 10_000,
  maxSubscriptionBytesPerClient: 1024 * 1024,
  maxSubscriptionBytes: 1024 * 1024 * 1024,
  maxRetainedMessages: 1_000_000,
  maxRetainedBytes: 1024 * 1024 * 1024,
  maxSessions: 1_000_000,
  maxConnections: 0,
  maxConnectRate: 0,
  maxPublishRate: 0,
  maxByteRate: 0,
  connectTimeout: 10_000,
});
