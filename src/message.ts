// The message as the broker routes, stores and hands to hooks: a neutral module that the
// broker, the stores and the transports import without importing each other.

import type { PublishProperties, QoS } from './codec/types.js';

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
