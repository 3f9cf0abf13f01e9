// MQTT control packets of 3.1 (level 3), 3.1.1 (level 4) and 5.0 (level 5) as typed values.
// One discriminated union on `type`; fields that exist only in 5.0 are optional and are
// ignored when encoding for an older level. Buffers in decoded packets may be slices of the
// chunk they arrived in: copy them before keeping them for long.

export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;

/** Two-byte packet identifier, 1..65535. */
export type PacketId = number;

export type UserProperty = readonly [name: string, value: string];

/**
 * Every MQTT 5.0 property (section 2.2.2.2). Which ones a packet may carry is checked by the
 * decoder against the table in `properties.ts`; the per-packet aliases below narrow the type.
 */
export interface Properties {
  payloadFormatIndicator?: 0 | 1; // 0x01
  messageExpiryInterval?: number; // 0x02
  contentType?: string; // 0x03
  responseTopic?: string; // 0x08
  correlationData?: Buffer; // 0x09
  /** 0x0B in SUBSCRIBE: exactly one. */
  subscriptionIdentifier?: number;
  /** 0x0B in PUBLISH (server to client): one per matching subscription, in order. */
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number; // 0x11
  assignedClientIdentifier?: string; // 0x12
  serverKeepAlive?: number; // 0x13
  authenticationMethod?: string; // 0x15
  authenticationData?: Buffer; // 0x16
  requestProblemInformation?: boolean; // 0x17
  willDelayInterval?: number; // 0x18
  requestResponseInformation?: boolean; // 0x19
  responseInformation?: string; // 0x1A
  serverReference?: string; // 0x1C
  reasonString?: string; // 0x1F
  receiveMaximum?: number; // 0x21
  topicAliasMaximum?: number; // 0x22
  topicAlias?: number; // 0x23
  maximumQoS?: 0 | 1; // 0x24
  retainAvailable?: boolean; // 0x25
  /** 0x26, in the order they appeared; names may repeat. */
  userProperties?: UserProperty[];
  maximumPacketSize?: number; // 0x27
  wildcardSubscriptionAvailable?: boolean; // 0x28
  subscriptionIdentifiersAvailable?: boolean; // 0x29
  sharedSubscriptionAvailable?: boolean; // 0x2A
}

export type ConnectProperties = Pick<
  Properties,
  | 'sessionExpiryInterval'
  | 'authenticationMethod'
  | 'authenticationData'
  | 'requestProblemInformation'
  | 'requestResponseInformation'
  | 'receiveMaximum'
  | 'topicAliasMaximum'
  | 'userProperties'
  | 'maximumPacketSize'
>;

export type WillProperties = Pick<
  Properties,
  | 'payloadFormatIndicator'
  | 'messageExpiryInterval'
  | 'contentType'
  | 'responseTopic'
  | 'correlationData'
  | 'willDelayInterval'
  | 'userProperties'
>;

export type ConnackProperties = Pick<
  Properties,
  | 'sessionExpiryInterval'
  | 'assignedClientIdentifier'
  | 'serverKeepAlive'
  | 'authenticationMethod'
  | 'authenticationData'
  | 'responseInformation'
  | 'serverReference'
  | 'reasonString'
  | 'receiveMaximum'
  | 'topicAliasMaximum'
  | 'maximumQoS'
  | 'retainAvailable'
  | 'userProperties'
  | 'maximumPacketSize'
  | 'wildcardSubscriptionAvailable'
  | 'subscriptionIdentifiersAvailable'
  | 'sharedSubscriptionAvailable'
>;

export type PublishProperties = Pick<
  Properties,
  | 'payloadFormatIndicator'
  | 'messageExpiryInterval'
  | 'contentType'
  | 'responseTopic'
  | 'correlationData'
  | 'subscriptionIdentifiers'
  | 'topicAlias'
  | 'userProperties'
>;

export type AckProperties = Pick<Properties, 'reasonString' | 'userProperties'>;
export type SubscribeProperties = Pick<Properties, 'subscriptionIdentifier' | 'userProperties'>;
export type UnsubscribeProperties = Pick<Properties, 'userProperties'>;
export type DisconnectProperties = Pick<
  Properties,
  'sessionExpiryInterval' | 'serverReference' | 'reasonString' | 'userProperties'
>;
export type AuthProperties = Pick<
  Properties,
  'authenticationMethod' | 'authenticationData' | 'reasonString' | 'userProperties'
>;

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: WillProperties;
}

export interface ConnectPacket {
  type: 'connect';
  /** 'MQIsdp' for level 3, 'MQTT' for 4 and 5. */
  protocolName: 'MQTT' | 'MQIsdp';
  protocolVersion: ProtocolVersion;
  /** Clean Session (3.1, 3.1.1) or Clean Start (5.0). */
  clean: boolean;
  keepalive: number;
  clientId: string;
  /**
   * 3.1/3.1.1 only: Mosquitto's bridge flag, the protocol level with 0x80 set (0x83, 0x84):
   * the client is another broker's bridge. Not part of MQTT; decoded so that such a
   * bridge can connect (and its subscriptions get No Local and Retain As Published).
   */
  bridge?: boolean;
  will?: Will;
  username?: string;
  password?: Buffer;
  properties?: ConnectProperties;
}

export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  /** 5.0 reason code; for 3.1/3.1.1 the return code (0..5). */
  reasonCode: number;
  properties?: ConnackProperties;
}

export interface PublishPacket {
  type: 'publish';
  /** Empty only in 5.0 when a topic alias stands for it. */
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present exactly when qos > 0. */
  packetId?: PacketId;
  properties?: PublishProperties;
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one shape. */
export interface AckPacket<T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> {
  type: T;
  packetId: PacketId;
  /** 5.0 only; absent means 0x00 Success. */
  reasonCode?: number;
  properties?: AckProperties;
}
export type PubackPacket = AckPacket<'puback'>;
export type PubrecPacket = AckPacket<'pubrec'>;
export type PubrelPacket = AckPacket<'pubrel'>;
export type PubcompPacket = AckPacket<'pubcomp'>;

export interface Subscription {
  topicFilter: string;
  qos: QoS;
  /** 5.0 subscription options; absent means false / false / 0. */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: 'subscribe';
  packetId: PacketId;
  subscriptions: Subscription[];
  properties?: SubscribeProperties;
}

export interface SubackPacket {
  type: 'suback';
  packetId: PacketId;
  /** One per filter: granted QoS 0..2 or a failure (0x80 in 3.1.1, 5.0 reason codes). */
  reasonCodes: number[];
  properties?: AckProperties;
}

export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: PacketId;
  topicFilters: string[];
  properties?: UnsubscribeProperties;
}

export interface UnsubackPacket {
  type: 'unsuback';
  packetId: PacketId;
  /** 5.0 only: one per filter. */
  reasonCodes?: number[];
  properties?: AckProperties;
}

export interface PingreqPacket {
  type: 'pingreq';
}

export interface PingrespPacket {
  type: 'pingresp';
}

export interface DisconnectPacket {
  type: 'disconnect';
  /** 5.0 only; absent means 0x00 Normal disconnection. */
  reasonCode?: number;
  properties?: DisconnectProperties;
}

/** 5.0 only. */
export interface AuthPacket {
  type: 'auth';
  /** Absent means 0x00 Success. */
  reasonCode?: number;
  properties?: AuthProperties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

export type PacketType = Packet['type'];

/** The control packet type numbers of the fixed header (section 2.1.2). */
export const PACKET_TYPE_CODES: Readonly<Record<PacketType, number>> = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
};

/** The largest packet MQTT can express: 1 byte of header, 4 of length, 268,435,455 of body. */
export const MAX_PACKET_SIZE = 268_435_460;
