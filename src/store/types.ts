// The store interface: what outlives the broker process. The broker keeps its working state
// in memory (sessions, queues, the subscription index, retained messages) and writes every
// change through to a store as records; at start-up it reads the records back.
//
// Writes are synchronous calls that only queue a record; `flush()` says when everything
// queued so far is durable. That is the group commit: the broker queues the records of many
// clients' packets, and one commit makes them all durable before their acknowledgements go
// out. A message delivered to many sessions is one message record and one small delivery
// record per session.

import type { QoS, ProtocolVersion } from '../codec/types.js';
import type { Message } from '../message.js';

export interface StoredSubscription {
  readonly filter: string;
  readonly qos: QoS;
  readonly noLocal: boolean;
  readonly retainAsPublished: boolean;
  readonly retainHandling: 0 | 1 | 2;
  readonly subscriptionId?: number;
}

/** One message on its way to a session: queued or in flight. */
export interface StoredDelivery {
  /** Orders a session's deliveries: increasing in the order they were made. */
  readonly seq: number;
  /** Reserved when the delivery is made and kept until it completes. */
  readonly packetId: number;
  readonly messageId: number;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly subscriptionIds?: readonly number[];
  /** 'publish': PUBLISH to (re)send; 'pubrel': PUBREC came, PUBREL to (re)send. */
  readonly state: 'publish' | 'pubrel';
}

/** A will that is still to be published: its client is connected, or its delay runs. */
export interface StoredWill {
  readonly message: Message;
  /** Will Delay Interval, seconds. */
  readonly delay: number;
  readonly username?: string;
  readonly protocolVersion: ProtocolVersion;
}

export interface StoredSessionState {
  readonly clientId: string;
  /** Session Expiry Interval, seconds (never 0: such sessions are not stored). */
  readonly expiryInterval: number;
  readonly username?: string;
  /** When its connection ended (ms since the epoch); undefined while it was connected. */
  readonly disconnectedAt?: number;
}

export interface StoredSession extends StoredSessionState {
  readonly subscriptions: StoredSubscription[];
  /** Inbound QoS 2 packet ids whose PUBREL has not come. */
  readonly inboundQos2: number[];
  /** In `seq` order. */
  readonly deliveries: StoredDelivery[];
}

/** Everything a store holds, as read back at start-up. */
export interface Snapshot {
  readonly sessions: StoredSession[];
  /** Messages referenced by deliveries, by message id. */
  readonly messages: Map<number, Message>;
  readonly retained: Message[];
  /** Wills by client id, including those of clients without a stored session. */
  readonly wills: Map<string, StoredWill>;
}

export interface Store {
  /** 'memory' or 'sqlite': for logs and /readyz. */
  readonly kind: string;
  /**
   * Opens the store and reads back what it holds. Rejects with a message that says what is
   * wrong and how to recover when the data cannot be read; never starts empty over old data.
   */
  open(): Promise<Snapshot>;

  putSession(session: StoredSessionState): void;
  /** The session and everything it owns: subscriptions, deliveries, inbound ids. */
  deleteSession(clientId: string): void;
  putSubscription(clientId: string, sub: StoredSubscription): void;
  deleteSubscription(clientId: string, filter: string): void;
  putInbound(clientId: string, packetId: number): void;
  deleteInbound(clientId: string, packetId: number): void;

  putMessage(id: number, message: Message): void;
  deleteMessage(id: number): void;
  putDelivery(clientId: string, delivery: StoredDelivery): void;
  /** PUBREC came for this delivery: PUBREL is what is owed now. */
  releaseDelivery(clientId: string, packetId: number): void;
  deleteDelivery(clientId: string, packetId: number): void;

  putRetained(message: Message): void;
  deleteRetained(topic: string): void;
  putWill(clientId: string, will: StoredWill): void;
  deleteWill(clientId: string): void;

  /**
   * Resolves once every record queued so far is durable (for the `strict` durability,
   * synced to disk); undefined when they already are, so callers can skip the wait.
   */
  flush(): Promise<void> | undefined;
  /** Called after each commit with its duration and record count (the broker's metrics). */
  onCommit?: (durationMs: number, records: number) => void;
  /** Writes what is queued and closes. */
  close(): Promise<void>;
}
