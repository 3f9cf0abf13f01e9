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
  const pubrel = (): void => {
    if (known || conn.protocolVersion < 5) conn.sendPubrel(p.packetId);
    else conn.send({ type: 'pubrel', packetId: p.packetId, reasonCode: 0x92 });
  };
  // Not before the new state is durable: after PUBREL the client may forget the packet id,
  // and a restart must then resend PUBREL, not the PUBLISH.
  afterDurable(conn, pubrel);
}

export function handlePubcomp(conn: Connection, p: PubcompPacket): void {
  conn.session!.complete(p.packetId, 'pubrel');
}

export function handlePubrel(conn: Connection, p: PubrelPacket): void {
  // [MQTT-4.3.3-11] PUBCOMP with the same id; the id may now be reused for a new message.
  const session = conn.session!;
  const known = session.releaseInboundQos2(p.packetId);
  // After PUBCOMP the client may reuse the id for a new message, which a restart that still
  // remembered it would take for a duplicate: the release must be durable first.
  afterDurable(conn, () => {
    if (known || conn.protocolVersion < 5) conn.send({ type: 'pubcomp', packetId: p.packetId });
    else conn.send({ type: 'pubcomp', packetId: p.packetId, reasonCode: 0x92 });
  });
}

/**
 * Runs `send` once what the store holds is durable, without holding the packets behind
 * (acknowledgements keep their order: commits complete in order). A failed commit drops
 * the connection instead: the client will retry what it was not told was done.
 */
export function afterDurable(conn: Connection, send: () => void): void {
  const durable = conn.broker.durable();
  if (durable === undefined) return send();
  durable.then(
    () => {
      if (conn.state === 'connected') send();
    },
    () => conn.disconnect(0x83, 'store commit failed'),
  );
}
