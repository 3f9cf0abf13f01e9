// AUTH (section 3.15): the continuation of an enhanced authentication exchange started by
// CONNECT, or a re-authentication (reason 0x19) on a connected session (section 4.12.1).

import { ProtocolError } from '../../codec/errors.js';
import type { AuthPacket } from '../../codec/types.js';
import type { Connection } from '../connection.js';
import { enhancedStep } from './connect.js';

export function handleAuth(conn: Connection, p: AuthPacket): void | Promise<void> {
  const method = p.properties?.authenticationMethod;
  const code = p.reasonCode ?? 0;
  // [MQTT-4.12.0-5] the method must be the one the exchange started with.
  if (conn.auth === undefined || method !== conn.auth.method) {
    throw new ProtocolError(0x82, 'AUTH without the authentication method of CONNECT', 'MQTT-4.12.0-5');
  }
  if (code === 0x19) {
    if (conn.state !== 'connected') throw new ProtocolError(0x82, 're-authentication before CONNACK');
    const auth = conn.auth;
    auth.step = 0;
    auth.state = {};
    // Re-authentication succeeded: AUTH 0x00 (section 4.12.1).
    auth.onSuccess = (d) => conn.send({ type: 'auth', reasonCode: 0, properties: { authenticationMethod: auth.method, ...(d && { authenticationData: d }) } });
  } else if (code !== 0x18) {
    throw new ProtocolError(0x82, `AUTH with reason 0x${code.toString(16)} from a client`);
  }
  return enhancedStep(conn, p.properties?.authenticationData);
}
