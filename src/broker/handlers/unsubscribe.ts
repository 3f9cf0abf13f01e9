// UNSUBSCRIBE (section 3.10) and UNSUBACK (3.11): filters are compared character by
// character [MQTT-3.10.4-1]; UNSUBACK is sent even when nothing matched [MQTT-3.10.4-5].

import type { UnsubscribePacket } from '../../codec/types.js';
import type { Connection } from '../connection.js';

export function handleUnsubscribe(conn: Connection, p: UnsubscribePacket): void {
  const session = conn.session!;
  const codes = p.topicFilters.map((filter) => {
    const existed = session.subscriptions.delete(filter);
    if (existed) conn.broker.index.remove(conn.id, filter);
    return existed ? 0x00 : 0x11; // 0x11 No subscription existed (5.0)
  });
  conn.send({ type: 'unsuback', packetId: p.packetId, reasonCodes: codes });
}
