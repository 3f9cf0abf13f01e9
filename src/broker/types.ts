// The broker's public types: options with their defaults, the hook signatures, and what a
// hook sees of a client. Everything here is part of the embeddable API (src/index.ts).

import type {
  ConnectPacket,
  ProtocolVersion,
  PublishProperties,
  QoS,
  Subscription,
  UserProperty,
} from '../codec/types.js';
import type { Store } from '../store/types.js';

/** A message as the broker routes it. Shared by every subscriber it goes to: never mutated. */
export interface Message {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  /** 5.0 properties that travel with the message (no Topic Alias, no Subscription Ids). */
  readonly properties?: Readonly<PublishProperties>;
  /** Absolute expiry time in ms since the epoch, from the Message Expiry Interval. */
  readonly expiresAt?: number;
  /** The publishing client's id, for No Local; undefined for broker-made messages. */
  readonly origin?: string;
}

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
  /** Password or certificate check. Denial reason codes: 0x86, 0x87, 0x8A ... */
  authenticate?(req: AuthenticateRequest): Verdict | Promise<Verdict>;
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

export interface ListenerOptions {
  /**
   * The transport. Default 'tcp'. Each kind is built in src/transport/ and only hands the
   * broker a byte stream: the broker cannot tell them apart.
   * - 'tcp': plain MQTT over TCP.
   * - 'tls': MQTT over TLS (certFile and keyFile required).
   * - 'ws': MQTT over WebSocket (binary frames, subprotocol "mqtt").
   * - 'wss': MQTT over WebSocket over TLS (the TLS options as for 'tls').
   * - 'unix': a Unix domain socket at `path` (counts as local for allowAnonymous).
   */
  type?: 'tcp' | 'tls' | 'ws' | 'wss' | 'unix';
  /** Default 1883 (tcp), 8883 (tls), 8083 (ws), 8084 (wss). 0 picks a free port. Not for unix. */
  port?: number;
  /** Default 127.0.0.1: a fresh broker is reachable from this machine only. Not for unix. */
  host?: string;
  /** unix only: the socket file (required); a stale one is removed at open, ours at close. */
  path?: string;
  /** ws, wss only: the URL path WebSocket clients connect to. Default '/mqtt'. */
  websocketPath?: string;
  /** A name for logs and hooks; default `{type}:{host}:{port}` (`unix:{path}`). */
  name?: string;
  /**
   * Open connections on this listener (counting those not yet past CONNECT); a CONNECT
   * beyond it is refused with 0x89 Server busy (3.1.1: 0x03). 0 = unlimited. Default 0.
   */
  maxConnections?: number;
  /**
   * Anonymous clients (no user name, no authenticate hook allowing them). Default: allowed
   * only when the listener is bound to a loopback address or is a Unix socket.
   */
  allowAnonymous?: boolean;

  // TLS ('tls' and 'wss').
  /** PEM certificate chain file (server certificate first). Required for tls and wss. */
  certFile?: string;
  /** PEM private key file. Required for tls and wss. */
  keyFile?: string;
  /** PEM file of the CAs that sign client certificates. Setting it asks clients for one. */
  caFile?: string;
  /**
   * Refuse clients without a certificate signed by caFile. Default false, or true when
   * certificateAsUsername is set (a user name from a certificate needs a certificate).
   */
  requireCertificate?: boolean;
  /**
   * The verified client certificate's identity becomes the client's user name: 'cn' the
   * subject's Common Name, 'san' its first Subject Alternative Name (DNS, email, URI or IP).
   * A certificate without one is refused. Default: the CONNECT user name is used.
   */
  certificateAsUsername?: 'cn' | 'san';
  /** Lowest TLS version accepted. Default 'TLSv1.2'. */
  minVersion?: 'TLSv1.3' | 'TLSv1.2' | 'TLSv1.1' | 'TLSv1';
  /** OpenSSL cipher list for TLS 1.2 and lower. Default: Node's. */
  ciphers?: string;

  // Before the stream reaches the broker.
  /**
   * tcp, tls, ws, wss: every connection starts with a PROXY protocol v1 or v2 header (from a
   * load balancer such as HAProxy or AWS NLB), whose source address becomes the client's
   * remote address. A connection without a valid header is closed. Default false: enable
   * it only behind a proxy, since any client could otherwise claim any address.
   */
  proxyProtocol?: boolean;
  /**
   * Time allowed for each step before the stream reaches the broker (PROXY header, TLS
   * handshake, WebSocket upgrade request), ms. Default 10,000.
   */
  handshakeTimeout?: number;
  /**
   * ws, wss: largest WebSocket message accepted, bytes (a larger one closes the connection
   * with 1009). Keep it at least limits.maxPacketSize. Default 1 MiB.
   */
  maxFrameSize?: number;
}

export interface ListenerInfo {
  readonly type: NonNullable<ListenerOptions['type']>;
  readonly name: string;
  /** The bound address; for a unix listener, the socket file's path. */
  readonly host: string;
  /** The bound port; 0 for a unix listener. */
  readonly port: number;
  /** unix: the socket file. */
  readonly path?: string;
  /** ws, wss: the URL path WebSocket clients connect to. */
  readonly websocketPath?: string;
  readonly allowAnonymous: boolean;
}

export interface Limits {
  /** Largest packet accepted from a client, fixed header included. Default 1 MiB. */
  maxPacketSize: number;
  /** 5.0 Receive Maximum the broker advertises: QoS 1/2 publishes a client may have unacknowledged. Default 1024. */
  receiveMaximum: number;
  /** Outbound QoS 1/2 messages in flight per client (further capped by the client's Receive Maximum). Default 1024. */
  maxInflight: number;
  /** Messages queued per session while in flight is full or the client is offline. Default 10,000. */
  maxQueuedMessages: number;
  /** Payload bytes queued per session. Default 64 MiB. */
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
   * Retained messages held at once (one per topic); a retained publish that would add a
   * topic beyond it is not stored (5.0 QoS 1/2: refused with 0x97). 0 = unlimited. Default 1,000,000.
   */
  maxRetainedMessages: number;
  /** Payload bytes of all retained messages together, enforced as maxRetainedMessages. 0 = unlimited. Default 1 GiB. */
  maxRetainedBytes: number;
  /**
   * Sessions held at once, connected or not; a CONNECT that would create one more is refused
   * (5.0: 0x97, 3.1/3.1.1: 0x03). Resuming or taking over a session is not. 0 = unlimited. Default 1,000,000.
   */
  maxSessions: number;
  /** Concurrent connections over all listeners; 0 = unlimited. Default 0. */
  maxConnections: number;
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
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxPacketSize: 1024 * 1024,
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
  maxRetainedMessages: 1_000_000,
  maxRetainedBytes: 1024 * 1024 * 1024,
  maxSessions: 1_000_000,
  maxConnections: 0,
  maxConnectRate: 0,
  maxPublishRate: 0,
  maxByteRate: 0,
  connectTimeout: 10_000,
});

export type { UserProperty };
