// The table of MQTT-SN v1.2 datagrams that the codec, scapy and fuzz tests read. Every byte is
// written by hand from the specification (MQTT-SN Protocol Specification v1.2, sections 5.2 to
// 5.5), never produced by the encoder, with a comment per field.

import type { Datagram } from '../../../src/gateway/mqtt-sn/types.js';
import type { MqttSnReason } from '../../../src/gateway/mqtt-sn/codec.js';
import { h } from '../../codec/hex.js';

export interface ValidCase {
  name: string;
  /** The section of the specification the message is defined in. */
  section: string;
  bytes: Buffer;
  message: Datagram;
  /** Valid bytes the encoder writes differently (3-octet Length below 256, unused flag bits). */
  decodeOnly?: boolean;
}

export interface MalformedCase {
  name: string;
  section: string;
  bytes: Buffer;
  reason: MqttSnReason;
}

const b = (text: string): Buffer => Buffer.from(text, 'utf8');
const fill = (length: number, byte: number): Buffer => Buffer.alloc(length, byte);

/** A PUBLISH whose total is `total` octets (3-octet Length form from 258 up). */
function bigPublish(total: number): Buffer {
  const payload = total - 4 - 5;
  const head = Buffer.alloc(4);
  head[0] = 0x01;
  head.writeUInt16BE(total, 1);
  head[3] = 0x0c;
  return Buffer.concat([head, h`20 0001 0002`, fill(payload, 0x61)]);
}

export const VALID: ValidCase[] = [
  { name: 'ADVERTISE', section: '5.4.1', bytes: h`05 00  07  0384 # GwId 7, Duration 900 s`, message: { type: 'advertise', gwId: 7, duration: 900 } },
  { name: 'SEARCHGW', section: '5.4.2', bytes: h`03 01  02  # Radius 2`, message: { type: 'searchgw', radius: 2 } },
  { name: 'GWINFO from a gateway (no GwAdd)', section: '5.4.3', bytes: h`03 02 07`, message: { type: 'gwinfo', gwId: 7 } },
  {
    name: 'GWINFO from a client (with GwAdd)',
    section: '5.4.3',
    bytes: h`07 02 07  c0a80001 # GwAdd 192.168.0.1`,
    message: { type: 'gwinfo', gwId: 7, gwAdd: Buffer.from([192, 168, 0, 1]) },
  },
  {
    name: 'CONNECT with CleanSession',
    section: '5.4.4',
    bytes: h`0a 04  04 # Flags: CleanSession
             01 # ProtocolId
             003c # Duration 60
             "sn-1"`,
    message: { type: 'connect', will: false, cleanSession: true, duration: 60, clientId: 'sn-1' },
  },
  {
    name: 'CONNECT with Will, 23-octet ClientId',
    section: '5.4.4',
    bytes: h`1d 04  08 01 0000 "abcdefghijklmnopqrstuvw"`,
    message: { type: 'connect', will: true, cleanSession: false, duration: 0, clientId: 'abcdefghijklmnopqrstuvw' },
  },
  {
    name: 'CONNECT with unused flag bits set (ignored)',
    section: '5.4.4',
    bytes: h`07 04  f7 # DUP, QoS -1, Retain, TopicIdType 3: not used in CONNECT; CleanSession
             01 0001 "c"`,
    message: { type: 'connect', will: false, cleanSession: true, duration: 1, clientId: 'c' },
    decodeOnly: true,
  },
  { name: 'CONNACK accepted', section: '5.4.5', bytes: h`03 05 00`, message: { type: 'connack', returnCode: 0 } },
  { name: 'CONNACK congestion', section: '5.4.5', bytes: h`03 05 01`, message: { type: 'connack', returnCode: 1 } },
  { name: 'WILLTOPICREQ', section: '5.4.6', bytes: h`02 06`, message: { type: 'willtopicreq' } },
  {
    name: 'WILLTOPIC QoS 1, Retain',
    section: '5.4.7',
    bytes: h`09 07  30 # QoS 1, Retain
             "a/will"`,
    message: { type: 'willtopic', will: { qos: 1, retain: true, topic: 'a/will' } },
  },
  { name: 'WILLTOPIC empty (deletes the will)', section: '5.4.7', bytes: h`02 07`, message: { type: 'willtopic', will: null } },
  { name: 'WILLMSGREQ', section: '5.4.8', bytes: h`02 08`, message: { type: 'willmsgreq' } },
  { name: 'WILLMSG', section: '5.4.9', bytes: h`05 09 "bye"`, message: { type: 'willmsg', payload: b('bye') } },
  {
    name: 'REGISTER',
    section: '5.4.10',
    bytes: h`0c 0a  0000 # TopicId 0 (client to gateway)
             0011 # MsgId 17
             "s/temp"`,
    message: { type: 'register', topicId: 0, msgId: 17, topicName: 's/temp' },
  },
  { name: 'REGACK accepted', section: '5.4.11', bytes: h`07 0b 0005 0011 00`, message: { type: 'regack', topicId: 5, msgId: 17, returnCode: 0 } },
  {
    name: 'PUBLISH QoS 0, normal topic id',
    section: '5.4.12',
    bytes: h`0b 0c  00 # Flags
             0005 # TopicId
             0000 # MsgId
             "21.5"`,
    message: { type: 'publish', dup: false, qos: 0, retain: false, topic: { type: 'normal', id: 5 }, msgId: 0, payload: b('21.5') },
  },
  {
    name: 'PUBLISH DUP QoS 1 Retain, predefined topic id',
    section: '5.4.12',
    bytes: h`08 0c  b1 # DUP, QoS 1, Retain, predefined
             0101 0042 "x"`,
    message: { type: 'publish', dup: true, qos: 1, retain: true, topic: { type: 'predefined', id: 0x0101 }, msgId: 0x42, payload: b('x') },
  },
  {
    name: 'PUBLISH QoS 2, short topic name',
    section: '5.4.12',
    bytes: h`07 0c  42 # QoS 2, short topic name
             "ab" 0009`,
    message: { type: 'publish', dup: false, qos: 2, retain: false, topic: { type: 'short', name: 'ab' }, msgId: 9, payload: Buffer.alloc(0) },
  },
  {
    name: 'PUBLISH QoS -1, predefined topic id',
    section: '5.4.12, 6.8',
    bytes: h`09 0c  61 # QoS -1 (0b11), predefined
             0001 0000 "on"`,
    message: { type: 'publish', dup: false, qos: -1, retain: false, topic: { type: 'predefined', id: 1 }, msgId: 0, payload: b('on') },
  },
  {
    name: 'PUBLISH of 255 octets: longest 1-octet Length',
    section: '5.2.1',
    bytes: Buffer.concat([h`ff 0c 20 0001 0002`, fill(248, 0x61)]),
    message: { type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'normal', id: 1 }, msgId: 2, payload: fill(248, 0x61) },
  },
  {
    name: 'PUBLISH of 258 octets: 3-octet Length',
    section: '5.2.1',
    bytes: bigPublish(258),
    message: { type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'normal', id: 1 }, msgId: 2, payload: fill(249, 0x61) },
  },
  {
    name: 'PUBLISH of 1500 octets: 3-octet Length',
    section: '5.2.1',
    bytes: bigPublish(1500),
    message: { type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'normal', id: 1 }, msgId: 2, payload: fill(1491, 0x61) },
  },
  {
    name: 'PUBACK 3-octet Length form of a short message (allowed, "may use")',
    section: '5.2.1',
    bytes: h`01 0009 0d  0005 0011 00`,
    message: { type: 'puback', topicId: 5, msgId: 17, returnCode: 0 },
    decodeOnly: true,
  },
  {
    name: 'PUBLISH 3-octet Length form of a short message',
    section: '5.2.1',
    bytes: h`01 000b 0c  00 0005 0000 "ab"`,
    message: { type: 'publish', dup: false, qos: 0, retain: false, topic: { type: 'normal', id: 5 }, msgId: 0, payload: b('ab') },
    decodeOnly: true,
  },
  { name: 'PUBACK invalid topic id', section: '5.4.13', bytes: h`07 0d 0005 0011 02`, message: { type: 'puback', topicId: 5, msgId: 17, returnCode: 2 } },
  { name: 'PUBCOMP', section: '5.4.14', bytes: h`04 0e 0011`, message: { type: 'pubcomp', msgId: 17 } },
  { name: 'PUBREC', section: '5.4.14', bytes: h`04 0f 0011`, message: { type: 'pubrec', msgId: 17 } },
  { name: 'PUBREL', section: '5.4.14', bytes: h`04 10 0011`, message: { type: 'pubrel', msgId: 17 } },
  {
    name: 'SUBSCRIBE QoS 1, topic name',
    section: '5.4.15',
    bytes: h`08 12  20 # QoS 1, TopicIdType normal: a topic name follows
             0003 "s/#"`,
    message: { type: 'subscribe', dup: false, qos: 1, msgId: 3, topic: { type: 'normal', name: 's/#' } },
  },
  {
    name: 'SUBSCRIBE DUP QoS 2, predefined topic id',
    section: '5.4.15',
    bytes: h`07 12  c1 0004 0101`,
    message: { type: 'subscribe', dup: true, qos: 2, msgId: 4, topic: { type: 'predefined', id: 0x0101 } },
  },
  {
    name: 'SUBSCRIBE QoS 0, short topic name',
    section: '5.4.15',
    bytes: h`07 12  02 0005 "ab"`,
    message: { type: 'subscribe', dup: false, qos: 0, msgId: 5, topic: { type: 'short', name: 'ab' } },
  },
  {
    name: 'SUBACK QoS 1, not supported',
    section: '5.4.16',
    bytes: h`08 13  20 0000 0003 03`,
    message: { type: 'suback', qos: 1, topicId: 0, msgId: 3, returnCode: 3 },
  },
  {
    name: 'UNSUBSCRIBE topic name',
    section: '5.4.17',
    bytes: h`08 14  00 0006 "s/#"`,
    message: { type: 'unsubscribe', msgId: 6, topic: { type: 'normal', name: 's/#' } },
  },
  {
    name: 'UNSUBSCRIBE predefined topic id',
    section: '5.4.17',
    bytes: h`07 14  01 0006 0101`,
    message: { type: 'unsubscribe', msgId: 6, topic: { type: 'predefined', id: 0x0101 } },
  },
  {
    name: 'UNSUBSCRIBE short topic name',
    section: '5.4.17',
    bytes: h`07 14  02 0006 "ab"`,
    message: { type: 'unsubscribe', msgId: 6, topic: { type: 'short', name: 'ab' } },
  },
  { name: 'UNSUBACK', section: '5.4.18', bytes: h`04 15 0006`, message: { type: 'unsuback', msgId: 6 } },
  { name: 'PINGREQ', section: '5.4.19', bytes: h`02 16`, message: { type: 'pingreq' } },
  { name: 'PINGREQ with ClientId (sleeping client awake)', section: '5.4.19, 6.14', bytes: h`06 16 "sn-1"`, message: { type: 'pingreq', clientId: 'sn-1' } },
  { name: 'PINGRESP', section: '5.4.20', bytes: h`02 17`, message: { type: 'pingresp' } },
  { name: 'DISCONNECT', section: '5.4.21', bytes: h`02 18`, message: { type: 'disconnect' } },
  { name: 'DISCONNECT with Duration (sleep)', section: '5.4.21, 6.14', bytes: h`04 18 0e10`, message: { type: 'disconnect', duration: 3600 } },
  {
    name: 'WILLTOPICUPD QoS 2',
    section: '5.4.22',
    bytes: h`05 1a  40 "w/"`,
    message: { type: 'willtopicupd', will: { qos: 2, retain: false, topic: 'w/' } },
  },
  { name: 'WILLTOPICUPD empty (deletes the will)', section: '5.4.22', bytes: h`02 1a`, message: { type: 'willtopicupd', will: null } },
  { name: 'WILLMSGUPD', section: '5.4.23', bytes: h`04 1c "hi"`, message: { type: 'willmsgupd', payload: b('hi') } },
  { name: 'WILLTOPICRESP', section: '5.4.24', bytes: h`03 1b 00`, message: { type: 'willtopicresp', returnCode: 0 } },
  { name: 'WILLMSGRESP', section: '5.4.25', bytes: h`03 1d 01`, message: { type: 'willmsgresp', returnCode: 1 } },
  {
    name: 'Encapsulated CONNECT from a forwarder',
    section: '5.5',
    bytes: h`05 fe  01 # Ctrl: radius 1
             a1b2 # Wireless Node Id
             07 04 04 01 003c "n"`,
    message: {
      type: 'encapsulated',
      radius: 1,
      wirelessNodeId: Buffer.from([0xa1, 0xb2]),
      message: { type: 'connect', will: false, cleanSession: true, duration: 60, clientId: 'n' },
    },
  },
  {
    name: 'Encapsulated PINGRESP to a forwarder, 8-octet node id',
    section: '5.5',
    bytes: h`0b fe 00 0011223344556677  02 17`,
    message: { type: 'encapsulated', radius: 0, wirelessNodeId: Buffer.from('0011223344556677', 'hex'), message: { type: 'pingresp' } },
  },
];

export const MALFORMED: MalformedCase[] = [
  { name: 'empty datagram', section: '5.2.1', bytes: h``, reason: 'truncated' },
  { name: 'Length only', section: '5.2.1', bytes: h`02`, reason: 'truncated' },
  { name: 'Length 0', section: '5.2.1', bytes: h`00 18`, reason: 'bad-length' },
  { name: '3-octet Length cut short', section: '5.2.1', bytes: h`01 00`, reason: 'truncated' },
  { name: '3-octet Length of 3', section: '5.2.1', bytes: h`01 0003 18`, reason: 'bad-length' },
  { name: 'Length longer than the datagram', section: '5.2.1', bytes: h`05 0e 0011`, reason: 'truncated' },
  { name: 'Length shorter than the datagram', section: '5.2.1', bytes: h`04 0e 0011 00`, reason: 'length-mismatch' },
  { name: '3-octet Length shorter than the datagram', section: '5.2.1', bytes: h`01 0006 0e 0011 00`, reason: 'length-mismatch' },
  { name: 'reserved MsgType 0x03', section: '5.2.2', bytes: h`02 03`, reason: 'unknown-type' },
  { name: 'reserved MsgType 0x11', section: '5.2.2', bytes: h`02 11`, reason: 'unknown-type' },
  { name: 'reserved MsgType 0x19', section: '5.2.2', bytes: h`02 19`, reason: 'unknown-type' },
  { name: 'reserved MsgType 0xFF', section: '5.2.2', bytes: h`02 ff`, reason: 'unknown-type' },
  { name: 'ADVERTISE without Duration', section: '5.4.1', bytes: h`03 00 07`, reason: 'truncated' },
  { name: 'CONNACK with a trailing octet', section: '5.4.5', bytes: h`04 05 00 00`, reason: 'bad-length' },
  { name: 'CONNACK reserved ReturnCode 4', section: '5.3.10', bytes: h`03 05 04`, reason: 'bad-return-code' },
  { name: 'CONNECT with empty ClientId', section: '5.3.1', bytes: h`06 04 04 01 003c`, reason: 'empty-client-id' },
  { name: 'CONNECT with 24-octet ClientId', section: '5.3.1', bytes: h`1e 04 04 01 003c "abcdefghijklmnopqrstuvwx"`, reason: 'client-id-too-long' },
  { name: 'CONNECT with ProtocolId 2', section: '5.3.8', bytes: h`07 04 04 02 003c "c"`, reason: 'bad-protocol-id' },
  { name: 'CONNECT ClientId not UTF-8', section: '5.3.1', bytes: h`07 04 04 01 003c ff`, reason: 'bad-utf8' },
  { name: 'CONNECT cut inside Duration', section: '5.4.4', bytes: h`05 04 04 01 00`, reason: 'truncated' },
  { name: 'PUBLISH TopicIdType 0b11 (reserved)', section: '5.3.4', bytes: h`07 0c 03 0001 0000`, reason: 'bad-flags' },
  { name: 'PUBLISH without MsgId', section: '5.4.12', bytes: h`05 0c 00 0001`, reason: 'truncated' },
  { name: 'SUBSCRIBE QoS -1', section: '5.4.15', bytes: h`07 12 60 0001 "ab"`, reason: 'bad-flags' },
  { name: 'SUBSCRIBE TopicIdType 0b11 (reserved)', section: '5.3.4', bytes: h`07 12 03 0001 0001`, reason: 'bad-flags' },
  { name: 'SUBSCRIBE short topic name of 3 octets', section: '5.4.15', bytes: h`08 12 02 0001 "abc"`, reason: 'short-topic-length' },
  { name: 'SUBSCRIBE short topic name of 1 octet', section: '5.4.15', bytes: h`06 12 02 0001 "a"`, reason: 'short-topic-length' },
  { name: 'SUBSCRIBE predefined id with a trailing octet', section: '5.4.15', bytes: h`08 12 01 0001 0001 00`, reason: 'bad-length' },
  { name: 'UNSUBSCRIBE short topic name of 0 octets', section: '5.4.17', bytes: h`05 14 02 0001`, reason: 'short-topic-length' },
  { name: 'SUBACK QoS -1', section: '5.4.16', bytes: h`08 13 60 0000 0003 00`, reason: 'bad-flags' },
  { name: 'WILLTOPIC QoS -1', section: '5.4.7', bytes: h`04 07 60 "w"`, reason: 'bad-flags' },
  { name: 'PINGREQ with 24-octet ClientId', section: '5.3.1', bytes: h`1a 16 "abcdefghijklmnopqrstuvwx"`, reason: 'client-id-too-long' },
  { name: 'DISCONNECT with one Duration octet', section: '5.4.21', bytes: h`03 18 00`, reason: 'truncated' },
  { name: 'DISCONNECT with a trailing octet', section: '5.4.21', bytes: h`05 18 0001 00`, reason: 'bad-length' },
  { name: 'encapsulation without Ctrl', section: '5.5', bytes: h`02 fe 02 17`, reason: 'truncated' },
  { name: 'encapsulation with nothing inside', section: '5.2.1', bytes: h`04 fe 00 01`, reason: 'truncated' },
  { name: 'encapsulation inside an encapsulation', section: '5.5', bytes: h`04 fe 00 01  04 fe 00 01  02 17`, reason: 'nested-encapsulation' },
  { name: 'encapsulated message shorter than its Length', section: '5.2.1', bytes: h`04 fe 00 01  04 0e 00`, reason: 'truncated' },
];
