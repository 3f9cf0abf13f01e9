// DISCONNECT from a client (section 3.14): a normal disconnection deletes the will
// [MQTT-3.14.4-3]; any other 5.0 reason (0x04, or an error) keeps it. 5.0 may change the
// Session Expiry Interval, but not from 0 to non-zero (section 3.14.2.2.2, no statement id;
// [MQTT-3.14.2-2] is the server's own rule never to send it).

import { ProtocolError } from '../../codec/errors.js';
import type { DisconnectPacket } from '../../codec/types.js';
import type { Connection } from '../connection.js';

export function handleDisconnect(conn: Connection, p: DisconnectPacket): void {
  const session = conn.session!;
  const expiry = p.properties?.sessionExpiryInterval;
  if (expiry !== undefined) {
    const original = conn.requestedExpiry;
    if (original === 0 && expiry !== 0) {
      throw new ProtocolError(0x82, 'session expiry set at DISCONNECT after CONNECT had 0');
    }
    session.expiryInterval = Math.min(expiry, conn.broker.limits.maxSessionExpiry);
  }
  // Only a normal disconnection (0x00) deletes the will [MQTT-3.14.4-3]; 0x04 and the error
  // codes leave it to be published [MQTT-3.1.2-8].
  if (p.reasonCode === undefined || p.reasonCode === 0x00) conn.willCleared = true;
  conn.close(p.reasonCode === undefined || p.reasonCode === 0 ? 'client disconnected' : `client disconnected with reason 0x${p.reasonCode.toString(16)}`);
}
