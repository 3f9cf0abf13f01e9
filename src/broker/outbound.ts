// Outbound PUBLISH encoding. A message reaching many subscribers is encoded once per
// variant (protocol family, QoS, retain flag) and the bytes are shared; a QoS 1/2 delivery
// copies them and writes its own packet id. Deliveries that differ per subscriber (5.0
// subscription ids, topic aliases, a counting-down Message Expiry Interval, DUP) are
// encoded on their own.

import { encodePublish } from '../codec/encoder.js';
import type { PublishPacket, PublishProperties, QoS } from '../codec/types.js';
import type { Connection } from './connection.js';
import type { Message } from './types.js';

/** Per-message cache of encoded variants: index = (5.0 ? 6 : 0) + qos * 2 + retain. */
type Cached = Message & { encoded?: Array<Buffer | undefined> };

export function encodeMessage(
  conn: Connection,
  message: Message,
  qos: QoS,
  retain: boolean,
  subscriptionIds: number[] | undefined,
  packetId: number,
  dup: boolean,
): Buffer | undefined {
  const v5 = conn.protocolVersion === 5;
  let buf: Buffer;
  if (!dup && (!v5 || (subscriptionIds === undefined && conn.aliasesOut === undefined && message.expiresAt === undefined))) {
    const variants = ((message as Cached).encoded ??= []);
    const slot = (v5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0);
    let shared = variants[slot];
    if (shared === undefined) {
      shared = encodePublish(packet(message, qos, retain, false, 1, v5 ? message.properties : undefined), conn.protocolVersion);
      variants[slot] = shared;
    }
    if (qos === 0) {
      buf = shared;
    } else {
      buf = Buffer.allocUnsafe(shared.length);
      shared.copy(buf);
      const at = packetIdOffset(buf);
      buf[at] = packetId >> 8;
      buf[at + 1] = packetId & 0xff;
    }
  } else if (!v5) {
    buf = encodePublish(packet(message, qos, retain, dup, packetId, undefined), conn.protocolVersion);
  } else {
    const props = personalProperties(message, subscriptionIds);
    const alias = conn.aliasesOut?.lookup(message.topic);
    let topic = message.topic;
    if (alias !== undefined) {
      props.topicAlias = alias.alias;
      if (alias.known) topic = '';
    }
    buf = encodePublish({ ...packet(message, qos, retain, dup, packetId, props), topic }, 5);
    // [MQTT-3.1.2-25] a packet too large to send is discarded, so the alias it would have set
    // stays unknown to the client; only a sent packet teaches the client an alias.
    if (alias !== undefined && !alias.known && buf.length <= conn.maxOutboundPacket) conn.aliasesOut!.remember(message.topic, alias.alias);
  }
  // [MQTT-3.1.2-24] never send a client more than its Maximum Packet Size.
  return buf.length > conn.maxOutboundPacket ? undefined : buf;
}

function packet(message: Message, qos: QoS, retain: boolean, dup: boolean, packetId: number, properties: PublishProperties | undefined): PublishPacket {
  const p: PublishPacket = { type: 'publish', topic: message.topic, payload: message.payload, qos, retain, dup };
  if (qos > 0) p.packetId = packetId;
  if (properties !== undefined) p.properties = properties;
  return p;
}

/** Properties for one subscriber: its subscription ids and the remaining expiry. */
function personalProperties(message: Message, subscriptionIds: number[] | undefined): PublishProperties {
  const props: PublishProperties = { ...message.properties };
  if (subscriptionIds !== undefined) props.subscriptionIdentifiers = subscriptionIds;
  if (message.expiresAt !== undefined) {
    // [MQTT-3.3.2-6] the interval sent is the received one minus the time spent waiting.
    props.messageExpiryInterval = Math.max(0, Math.ceil((message.expiresAt - Date.now()) / 1000));
  }
  return props;
}

/** Where the packet id sits in an encoded PUBLISH: after the fixed header and the topic. */
function packetIdOffset(buf: Buffer): number {
  let i = 1;
  while (buf[i]! & 0x80) i++;
  i++;
  return i + 2 + ((buf[i]! << 8) | buf[i + 1]!);
}
