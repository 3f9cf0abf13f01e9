// What a session delivers to: the delivery interface. A network connection (TCP, TLS,
// WebSocket, Unix) implements it by encoding packets onto its stream; an in-process client
// (in-process.ts) by calling the program's callback. The session decides what goes out, in
// which order and under which packet id; the peer only carries it and tells the session,
// through Session.complete/received and Session.pump, when acknowledgements arrive and when
// it can take more.

import type { QoS, Will } from '../codec/types.js';
import type { Message } from '../message.js';
import type { ClientInfo } from './types.js';

export interface DeliveryPeer {
  /** Outbound QoS 1/2 deliveries the peer accepts unacknowledged (its Receive Maximum, capped by limits.maxInflight). */
  readonly sendWindow: number;
  /** True while the peer cannot take more now: QoS 0 copies are dropped, QoS 1/2 wait in the session's queue. */
  readonly congested: boolean;
  /**
   * Carries one PUBLISH. False when it was not sent because the peer cannot take a message
   * this large [MQTT-3.1.2-24]: the session discards it as if delivered [MQTT-3.1.2-25].
   */
  sendPublish(message: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined, packetId: number, dup: boolean): boolean;
  /** Carries a PUBREL (QoS 2, second step) for a delivery the peer acknowledged with PUBREC. */
  sendPubrel(packetId: number): void;
  /** Ends the peer's connection; a 5.0 network client is told `reasonCode` first. */
  disconnect(reasonCode: number, reason: string): void;
}

/** A connected client as the session registry and the operations views know it. */
export interface ConnectedClient extends ClientInfo, DeliveryPeer {
  /** When the client's connection was accepted, ms since the epoch. */
  readonly connectedAt: number;
  /** When the last packet (or call) came from it, ms since the epoch. */
  readonly lastSeen: number;
  /** The CONNECT's will, while it stands (a network client's; an in-process client has none). */
  readonly will?: Will | undefined;
}
