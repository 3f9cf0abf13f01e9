// Will messages (section 3.1.3.2): published when a connection closes without a normal
// DISCONNECT [MQTT-3.1.2-8], after the 5.0 Will Delay Interval, or when the session ends if
// that comes first [MQTT-3.1.3-9]; never once the client has reconnected to the session.

import type { Will } from '../codec/types.js';
import type { Connection } from './connection.js';
import type { Broker } from './broker.js';
import type { Session } from './session.js';
import { longTimeout } from './timers.js';
import type { Message } from '../message.js';
import type { ClientInfo } from './types.js';

/**
 * A CONNECT's will as the connection keeps it: the payload and correlation data are slices
 * of the socket's chunk, and copies let the chunk go.
 */
export function detachWill(will: Will): Will {
  const props = will.properties;
  const correlationData = props?.correlationData;
  return {
    ...will,
    payload: Buffer.from(will.payload),
    ...(props !== undefined && { properties: correlationData === undefined ? props : { ...props, correlationData: Buffer.from(correlationData) } }),
  };
}

/** The will of a connection as a message to route (its expiry is set when it goes out). */
export function willMessage(conn: Connection): Message | undefined {
  const will = conn.will;
  if (will === undefined) return undefined;
  let properties: Message['properties'];
  if (will.properties !== undefined) {
    const { willDelayInterval: _delay, ...rest } = will.properties;
    properties = rest;
  }
  return { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, ...(properties && { properties }), origin: conn.id };
}

/** The 5.0 Will Delay Interval of a connection's will, seconds (0 without one). */
export function willDelay(conn: Connection): number {
  return conn.protocolVersion === 5 ? (conn.will?.properties?.willDelayInterval ?? 0) : 0;
}

/**
 * Decides the will of a client that just went: now, after its delay, or (when the session
 * ends first) with the session.
 */
export function settleWill(broker: Broker, client: ClientInfo, session: Session, will: Message, delay: number): void {
  const send = willClient(broker, client, will);
  if (delay === 0 || session.expiryInterval === 0) {
    send();
    return;
  }
  session.willPublish = send;
  longTimeout(Math.min(delay, session.expiryInterval) * 1000, () => publishWill(session), (t) => (session.willTimer = t));
}

/** A function that publishes a will (once the store forgets it) when called. */
export function willClient(broker: Broker, client: ClientInfo, will: Message): () => void {
  return () => {
    broker.persistence?.willSettled(client.id);
    // Its Message Expiry Interval counts from publication, not from the close that started
    // the Will Delay (section 3.1.3.2.4).
    const interval = will.properties?.messageExpiryInterval;
    const message = interval === undefined ? will : { ...will, expiresAt: Date.now() + interval * 1000 };
    const r = broker.publishFrom(client, message);
    if (typeof r !== 'number') r.catch((err: unknown) => broker.log.error({ err, clientId: client.id }, 'will failed'));
  };
}

/** Publishes a delayed will now (its delay ran out, or the session is ending). */
export function publishWill(session: Session): void {
  const send = session.willPublish;
  cancelWill(session);
  send?.();
}

/** A new connection to the session before the delay ran out: no will [MQTT-3.1.3-9]. */
export function cancelWill(session: Session): void {
  if (session.willTimer) clearTimeout(session.willTimer);
  session.willTimer = undefined;
  session.willPublish = undefined;
}
