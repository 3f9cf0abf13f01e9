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
}

/** A hook's verdict: allow, or deny with the 5.0 reason code the client is told. */
export type Verdict = { ok: true } | { ok: false; reasonCode: number; reasonString?: string };

/** One step of an enhanced authentication exchange (5.0 AUTH). */
export type AuthStep =
  | { done: true; ok: true; data?: Buffer }
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
   */
  type?: 'tcp';
  /** Default 1883. 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1: a fresh broker is reachable from this machine only. */
  host?: string;
  /** A name for logs and hooks; default `tcp:{host}:{port}`. */
  name?: string;
  /**
   * Anonymous clients (no user name, no authenticate hook allowing them). Default: allowed
   * only when the listener is bound to a loopback address.
   */
  allowAnonymous?: boolean;
}

export interface ListenerInfo {
  readonly type: NonNullable<ListenerOptions['type']>;
  readonly name: string;
  readonly host: string;
  readonly port: number;
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
  /** Concurrent connections over all listeners; 0 = unlimited. Default 0. */
  maxConnections: number;
  /** Time allowed between accepting a socket and its CONNECT, ms. Default 10,000. */
  connectTimeout: number;
}

export interface BrokerOptions {
  listeners?: ListenerOptions[];
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
  /** Where logs go: a pino destination stream. Default stdout. */
  logDestination?: NodeJS.WritableStream;
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
  maxConnections: 0,
  connectTimeout: 10_000,
});

export type { UserProperty };
