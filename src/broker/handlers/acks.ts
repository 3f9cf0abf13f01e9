// The acknowledgements of QoS 1 and 2 (sections 3.4 to 3.7, flows in 4.3). Outbound:
// PUBACK and PUBCOMP end a delivery, PUBREC moves it to PUBREL. Inbound: PUBREL releases a
// QoS 2 packet id and is answered with PUBCOMP.

import type { PubackPacket, PubcompPacket, PubrecPacket, PubrelPacket } from '../../codec/types.js';
import type { Connection } from '../connection.js';

export function handlePuback(conn: Connection, p: PubackPacket): void {
  // An unknown id is ignored: it may be a late ack for a message a clean start discarded.
  conn.session!.complete(p.packetId, 'publish');
}

export function handlePubrec(conn: Connection, p: PubrecPacket): void {
  const failed = (p.reasonCode ?? 0) >= 0x80;
  const known = conn.session!.received(p.packetId, failed);
  if (failed) return;
  // PUBREL answers PUBREC (section 4.3.3); 0x92 tells a 5.0 client the id is unknown.
  if (known || conn.protocolVersion < 5) conn.sendPubrel(p.packetId);
  else conn.send({ type: 'pubrel', packetId: p.packetId, reasonCode: 0x92 });
}

export function handlePubcomp(conn: Connection, p: PubcompPacket): void {
  conn.session!.complete(p.packetId, 'pubrel');
}

export function handlePubrel(conn: Connection, p: PubrelPacket): void {
  // [MQTT-4.3.3-11] PUBCOMP with the same id; the id may now be reused for a new message.
  const known = conn.session!.inboundQos2.delete(p.packetId);
  if (known || conn.protocolVersion < 5) conn.send({ type: 'pubcomp', packetId: p.packetId });
  else conn.send({ type: 'pubcomp', packetId: p.packetId, reasonCode: 0x92 });
}
