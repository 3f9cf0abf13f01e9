// PINGREQ (section 3.12): answered with PINGRESP [MQTT-3.12.4-1]. Receiving it already
// counted as activity for keep alive.

import type { Connection } from '../connection.js';

export function handlePingreq(conn: Connection): void {
  conn.send({ type: 'pingresp' });
}
