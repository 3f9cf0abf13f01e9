// UNSUBSCRIBE (section 3.10) and UNSUBACK (3.11): filters are compared character by
// character [MQTT-3.10.4-1]; UNSUBACK is sent even when nothing matched [MQTT-3.10.4-5].

import type { UnsubscribePacket } from '../../codec/types.js';
import type { Connection } from '../connection.js';

export function handleUnsubscribe(conn: Connection, p: UnsubscribePacket): void | Promise<void> {
  const session = conn.session!;
  // 0x11 No subscription existed (5.0).
  const codes = p.topicFilters.map((filter) => (conn.broker.unsubscribe(session, filter) ? 0x00 : 0x11));
  const unsuback = (): void => conn.send({ type: 'unsuback', packetId: p.packetId, reasonCodes: codes });
  const durable = conn.broker.durable();
  if (durable === undefined) return unsuback();
  return durable.then(unsuback);
}
