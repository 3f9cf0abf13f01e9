// The messages of MQTT-SN v1.2 (MQTT For Sensor Networks, Protocol Specification Version 1.2,
// section 5.4) and the forwarder encapsulation (section 5.5), as plain values. The codec in
// codec.ts turns a datagram into one of these and back; nothing here knows about sessions.

/** MsgType values (section 5.2.2, table 3). */
export const MsgType = {
  ADVERTISE: 0x00,
  SEARCHGW: 0x01,
  GWINFO: 0x02,
  CONNECT: 0x04,
  CONNACK: 0x05,
  WILLTOPICREQ: 0x06,
  WILLTOPIC: 0x07,
  WILLMSGREQ: 0x08,
  WILLMSG: 0x09,
  REGISTER: 0x0a,
  REGACK: 0x0b,
  PUBLISH: 0x0c,
  PUBACK: 0x0d,
  PUBCOMP: 0x0e,
  PUBREC: 0x0f,
  PUBREL: 0x10,
  SUBSCRIBE: 0x12,
  SUBACK: 0x13,
  UNSUBSCRIBE: 0x14,
  UNSUBACK: 0x15,
  PINGREQ: 0x16,
  PINGRESP: 0x17,
  DISCONNECT: 0x18,
  WILLTOPICUPD: 0x1a,
  WILLTOPICRESP: 0x1b,
  WILLMSGUPD: 0x1c,
  WILLMSGRESP: 0x1d,
  ENCAPSULATED: 0xfe,
} as const;

/** ReturnCode (section 5.3.10); 0x04-0xFF are reserved and refused by the codec. */
export const ReturnCode = {
  ACCEPTED: 0x00,
  CONGESTION: 0x01,
  INVALID_TOPIC_ID: 0x02,
  NOT_SUPPORTED: 0x03,
} as const;
export type ReturnCode = (typeof ReturnCode)[keyof typeof ReturnCode];

/** QoS flag (section 5.3.4): 0b11 on the wire is QoS -1, "publish without connection" (6.8). */
export type QoS = -1 | 0 | 1 | 2;
/** The QoS a subscription or a will can ask for: -1 only exists for PUBLISH. */
export type SubQoS = 0 | 1 | 2;

/** TopicIdType flag (section 5.3.4): 0b00 normal, 0b01 predefined, 0b10 short; 0b11 is reserved. */
export type TopicIdType = 'normal' | 'predefined' | 'short';

/** The TopicId field of PUBLISH (5.4.12): an id, or a short topic name of exactly two octets. */
export type PublishTopic =
  | { type: 'normal'; id: number }
  | { type: 'predefined'; id: number }
  | { type: 'short'; name: string };

/** What SUBSCRIBE and UNSUBSCRIBE name (5.4.15, 5.4.17): with type normal, a topic name (filter). */
export type SubscribeTopic =
  | { type: 'normal'; name: string }
  | { type: 'predefined'; id: number }
  | { type: 'short'; name: string };

export interface Advertise { type: 'advertise'; gwId: number; duration: number }
export interface SearchGw { type: 'searchgw'; radius: number }
/** GwAdd is only present when a client answers a SEARCHGW on a gateway's behalf (5.4.3). */
export interface GwInfo { type: 'gwinfo'; gwId: number; gwAdd?: Buffer }
/** ProtocolId (5.3.8) is always 0x01 and is not kept. */
export interface Connect { type: 'connect'; will: boolean; cleanSession: boolean; duration: number; clientId: string }
export interface Connack { type: 'connack'; returnCode: ReturnCode }
export interface WillTopicReq { type: 'willtopicreq' }
/** `will: null` is the empty WILLTOPIC (no Flags, no WillTopic) that deletes the will (5.4.7). */
export interface WillTopic { type: 'willtopic'; will: { qos: SubQoS; retain: boolean; topic: string } | null }
export interface WillMsgReq { type: 'willmsgreq' }
export interface WillMsg { type: 'willmsg'; payload: Buffer }
export interface Register { type: 'register'; topicId: number; msgId: number; topicName: string }
export interface Regack { type: 'regack'; topicId: number; msgId: number; returnCode: ReturnCode }
export interface Publish { type: 'publish'; dup: boolean; qos: QoS; retain: boolean; topic: PublishTopic; msgId: number; payload: Buffer }
export interface Puback { type: 'puback'; topicId: number; msgId: number; returnCode: ReturnCode }
export interface Pubrec { type: 'pubrec'; msgId: number }
export interface Pubrel { type: 'pubrel'; msgId: number }
export interface Pubcomp { type: 'pubcomp'; msgId: number }
export interface Subscribe { type: 'subscribe'; dup: boolean; qos: SubQoS; msgId: number; topic: SubscribeTopic }
export interface Suback { type: 'suback'; qos: SubQoS; topicId: number; msgId: number; returnCode: ReturnCode }
export interface Unsubscribe { type: 'unsubscribe'; msgId: number; topic: SubscribeTopic }
export interface Unsuback { type: 'unsuback'; msgId: number }
/** ClientId is present when a sleeping client wakes up to fetch its messages (5.4.19, 6.14). */
export interface Pingreq { type: 'pingreq'; clientId?: string }
export interface Pingresp { type: 'pingresp' }
/** Duration is present when a client goes to sleep (5.4.21, 6.14). */
export interface Disconnect { type: 'disconnect'; duration?: number }
/** `will: null` is the empty WILLTOPICUPD that deletes the will (5.4.22). */
export interface WillTopicUpd { type: 'willtopicupd'; will: { qos: SubQoS; retain: boolean; topic: string } | null }
export interface WillTopicResp { type: 'willtopicresp'; returnCode: ReturnCode }
export interface WillMsgUpd { type: 'willmsgupd'; payload: Buffer }
export interface WillMsgResp { type: 'willmsgresp'; returnCode: ReturnCode }

/** Every MQTT-SN message of section 5.4. */
export type Message =
  | Advertise | SearchGw | GwInfo | Connect | Connack | WillTopicReq | WillTopic | WillMsgReq | WillMsg
  | Register | Regack | Publish | Puback | Pubrec | Pubrel | Pubcomp | Subscribe | Suback
  | Unsubscribe | Unsuback | Pingreq | Pingresp | Disconnect | WillTopicUpd | WillTopicResp
  | WillMsgUpd | WillMsgResp;

/**
 * A message relayed by a forwarder (section 5.5): Ctrl carries the broadcast radius in its two
 * low bits, the Wireless Node Id names the client on the sensor network. One level only: the
 * codec refuses an encapsulation inside an encapsulation.
 */
export interface Encapsulated { type: 'encapsulated'; radius: number; wirelessNodeId: Buffer; message: Message }

/** What one datagram holds. */
export type Datagram = Message | Encapsulated;
