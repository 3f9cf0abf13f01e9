// SUBSCRIBE (section 3.8) and SUBACK (3.9): each filter is validated and authorized on its
// own and gets its own return code (subscriptions.ts); SUBACK goes before any retained
// message, and retained messages follow the 5.0 Retain Handling option.

import type { QoS, SubscribePacket } from '../../codec/types.js';
import type { Connection } from '../connection.js';
import { isPromise } from '../hooks.js';
import { addSubscriptions, asBridgeSubscribe, authorizeSubscriptions, deliverRetained } from '../subscriptions.js';
import type { Verdict } from '../types.js';

export function handleSubscribe(conn: Connection, p: SubscribePacket): void | Promise<void> {
  if (conn.bridge) p = asBridgeSubscribe(p);
  const verdicts = authorizeSubscriptions(conn.broker, conn, p.subscriptions);
  if (isPromise(verdicts)) return verdicts.then((v) => (conn.state !== 'closed' ? subscribe(conn, p, v) : undefined));
  return subscribe(conn, p, verdicts);
}

function subscribe(conn: Connection, p: SubscribePacket, verdicts: ReadonlyArray<Verdict | QoS>): void | Promise<void> {
  const broker = conn.broker;
  const session = conn.session!;
  const subscriptionId = p.properties?.subscriptionIdentifier;
  const { codes, added } = addSubscriptions(broker, conn, session, p.subscriptions, verdicts, subscriptionId, conn.protocolVersion === 5);
  const suback = (): void => {
    conn.send({ type: 'suback', packetId: p.packetId, reasonCodes: codes });
    deliverRetained(broker, conn, session, added, subscriptionId);
    broker.notify(broker.hooks.onSubscribe(conn, p.subscriptions, codes));
  };
  // A stored subscription is acknowledged once durable: a message accepted after SUBACK
  // must find it after a crash too.
  const durable = broker.durable();
  if (durable === undefined) return suback();
  return durable.then(() => (conn.state === 'connected' ? suback() : undefined));
}
