// Packet dispatch: one handler per packet type. Before the CONNACK only CONNECT and the
// AUTH exchange are processed [MQTT-3.1.4-7] (packets that arrive while an async step of
// the connect runs wait in the connection's backlog).

import { ProtocolError } from '../../codec/errors.js';
import type { Packet } from '../../codec/types.js';
import type { Connection } from '../connection.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './acks.js';
import { handleAuth } from './auth.js';
import { handleConnect } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handlePingreq } from './pingreq.js';
import { handlePublish } from './publish.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';

export function dispatch(conn: Connection, packet: Packet): void | Promise<void> {
  if (conn.state !== 'connected' && packet.type !== 'connect' && packet.type !== 'auth') {
    if (conn.state === 'closed') return;
    throw new ProtocolError(0x82, `${packet.type.toUpperCase()} before the connection was accepted`);
  }
  switch (packet.type) {
    case 'connect':
      return handleConnect(conn, packet);
    case 'publish':
      return handlePublish(conn, packet);
    case 'puback':
      return handlePuback(conn, packet);
    case 'pubrec':
      return handlePubrec(conn, packet);
    case 'pubrel':
      return handlePubrel(conn, packet);
    case 'pubcomp':
      return handlePubcomp(conn, packet);
    case 'subscribe':
      return handleSubscribe(conn, packet);
    case 'unsubscribe':
      return handleUnsubscribe(conn, packet);
    case 'pingreq':
      return handlePingreq(conn);
    case 'disconnect':
      return handleDisconnect(conn, packet);
    case 'auth':
      return handleAuth(conn, packet);
    default:
      // The decoder refuses packets a client never sends; this is the type system's check.
      throw new ProtocolError(0x82, `unexpected ${packet.type}`);
  }
}
