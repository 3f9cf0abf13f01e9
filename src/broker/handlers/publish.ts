// PUBLISH from a client (section 3.3): topic alias, the checks a server makes, the
// Receive Maximum, QoS 2 duplicate suppression, authorization, routing, and the
// acknowledgement (PUBACK for QoS 1, PUBREC for QoS 2).

import { isUtf8 } from 'node:buffer';
import { ProtocolError } from '../../codec/errors.js';
import type { PublishPacket, PublishProperties } from '../../codec/types.js';
import { validateTopicName } from '../../topics/index.js';
import type { Connection } from '../connection.js';
import { afterDurable } from './acks.js';
import { inboundQuotaError } from '../bounds.js';
import { admitPublish, holdReading, publishDelay } from '../rate-limit.js';
import type { Message } from '../types.js';

export function handlePublish(conn: Connection, p: PublishPacket): void | Promise<void> {
  const broker = conn.broker;
  const v5 = conn.protocolVersion === 5;
  const props = p.properties;

  // [MQTT-3.3.2-9] .. [MQTT-3.3.2-12] Topic Alias: within the maximum we advertised; a
  // topic with an alias sets it, an empty topic uses it.
  let topic = p.topic;
  if (props?.topicAlias !== undefined) {
    const alias = props.topicAlias;
    if (alias > broker.limits.topicAliasMaximum) throw new ProtocolError(0x94, `topic alias ${alias} above the maximum`, 'MQTT-3.3.2-9');
    const aliases = (conn.aliasesIn ??= new Map());
    if (topic.length > 0) aliases.set(alias, topic);
    else {
      const known = aliases.get(alias);
      if (known === undefined) throw new ProtocolError(0x82, `topic alias ${alias} was never set`, 'MQTT-3.3.2-12');
      topic = known;
    }
  }
  const bad = validateTopicName(topic, { maxLength: broker.limits.maxTopicLength, maxLevels: broker.limits.maxTopicLevels });
  if (bad !== undefined) throw new ProtocolError(0x90, bad);

  // [MQTT-3.2.2-11] QoS above the advertised Maximum QoS; [MQTT-3.2.2-14] retain not available.
  if (p.qos > (broker.options.maximumQoS ?? 2)) throw new ProtocolError(0x9b, `QoS ${p.qos} not supported`, 'MQTT-3.2.2-11');
  if (p.retain && broker.options.retainAvailable === false) throw new ProtocolError(0x9a, 'retain not supported', 'MQTT-3.2.2-14');

  const session = conn.session!;
  if (p.qos === 2 && session.inboundQos2.has(p.packetId!)) {
    // [MQTT-4.3.3-9] a resent QoS 2 PUBLISH is acknowledged again, not delivered again.
    conn.send({ type: 'pubrec', packetId: p.packetId! });
    return;
  }
  if (p.qos > 0) {
    // [MQTT-3.3.4-9] no more unacknowledged QoS 1/2 publishes than our Receive Maximum: those
    // being processed, and QoS 2 ones awaiting PUBREL. 3.1/3.1.1 have none (bounds.ts).
    const over = inboundQuotaError(conn.protocolVersion, conn.unacknowledged, broker.limits.receiveMaximum);
    if (over !== undefined) throw over;
    conn.inboundUnacked++;
  }

  // Publish rates (rate-limit.ts), off by default: one comparison when they are.
  const limits = broker.limits;
  if (limits.maxPublishRate + limits.maxByteRate > 0) {
    if (v5) {
      const code = admitPublish(conn, p.payload.length);
      if (code === 0x96) return conn.disconnect(0x96, 'message rate too high');
      if (code !== 0) return ack(conn, p, code); // QoS 0: dropped
    } else {
      const ms = publishDelay(conn, p.payload.length);
      if (ms > 0) return holdReading(conn, ms, accept(conn, p, topic, props));
    }
  }
  return accept(conn, p, topic, props);
}

/** The checks that need the 5.0 reason codes, then authorization, routing and the acknowledgement. */
function accept(conn: Connection, p: PublishPacket, topic: string, props: PublishProperties | undefined): void | Promise<void> {
  const v5 = conn.protocolVersion === 5;
  // Payload Format Indicator 1 promises UTF-8 (section 3.3.2.3.2); we check the promise.
  if (v5 && props?.payloadFormatIndicator === 1 && !isUtf8(p.payload)) {
    if (p.qos === 0) throw new ProtocolError(0x99, 'payload is not UTF-8 as its format indicator says');
    return ack(conn, p, 0x99);
  }
  // Clients do not publish to $ topics (they belong to the server, e.g. $SYS).
  if (topic.charCodeAt(0) === 0x24) return ack(conn, p, 0x87);

  const message = toMessage(conn, p, topic, props);
  // Only a 5.0 acknowledgement can say a publish failed: those at QoS 1/2 may be refused.
  const result = conn.broker.publishFrom(conn, message, v5 && p.qos > 0);
  if (typeof result === 'number') return ack(conn, p, result);
  return result.then((code) => ack(conn, p, code));
}

function toMessage(conn: Connection, p: PublishPacket, topic: string, props: PublishProperties | undefined): Message {
  // A QoS 1/2 or retained message may wait in queues: copy its payload off the socket chunk.
  const payload = p.qos > 0 || p.retain ? Buffer.from(p.payload) : p.payload;
  if (props === undefined) return { topic, payload, qos: p.qos, retain: p.retain, origin: conn.id };
  const { topicAlias: _alias, subscriptionIdentifiers: _ids, ...rest } = props;
  const message: { -readonly [K in keyof Message]: Message[K] } = { topic, payload, qos: p.qos, retain: p.retain, origin: conn.id };
  if (Object.keys(rest).length > 0) message.properties = rest;
  if (rest.messageExpiryInterval !== undefined) message.expiresAt = Date.now() + rest.messageExpiryInterval * 1000;
  return message;
}

/**
 * PUBACK or PUBREC with a reason code (5.0). 3.1.1 has no way to refuse a publish, so a
 * refused one is acknowledged normally and dropped [MQTT-3.3.5-2].
 */
function ack(conn: Connection, p: PublishPacket, code: number): void {
  if (p.qos === 0 || conn.state === 'closed') return;
  const packetId = p.packetId!;
  const v5 = conn.protocolVersion === 5;
  const reasonCode = v5 && code !== 0 ? code : undefined;
  if (p.qos === 1) {
    // Counted as unacknowledged until the PUBACK is on its way (it may wait for the store).
    afterDurable(conn, () => {
      conn.inboundUnacked--;
      conn.send({ type: 'puback', packetId, ...(reasonCode !== undefined && { reasonCode }) });
    });
    return;
  }
  conn.inboundUnacked--;
  // QoS 2: remember the id until PUBREL [MQTT-4.3.3-10]; a refused one is not remembered.
  if (code < 0x80) {
    conn.session!.addInboundQos2(packetId);
  }
  afterDurable(conn, () => conn.send({ type: 'pubrec', packetId, ...(reasonCode !== undefined && { reasonCode }) }));
}
