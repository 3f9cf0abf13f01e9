// The one table of packets that the codec's decode, encode, streaming, mqtt-packet and fuzz
// tests all read (STYLE.md item 1; modelled on mochi-mqtt's packets/tpackets.go).
//
// Every byte is written by hand from the specifications, with a comment per field: MQTT 3.1
// (IBM, protocol name "MQIsdp", level 3), MQTT 3.1.1 (OASIS, level 4) and MQTT 5.0 (OASIS,
// level 5). `statements` holds the ids of the normative statements a case exercises, as the
// specification numbers them (3.1.1 and 5.0 number them differently; 3.1 has none). Where the
// rule has no numbered statement, `statements` is empty and `section` names where it is said.
//
// Role: 'server' cases are bytes a client sends (decoded by a server), 'client' cases are bytes
// a server sends (decoded by a client).

import type { Packet, ProtocolVersion, Subscription } from '../../src/codec/types.js';
import { h } from './hex.js';

export type Role = 'server' | 'client';

export interface ValidCase {
  name: string;
  statements: string[];
  section?: string;
  version: ProtocolVersion;
  role: Role;
  bytes: Buffer;
  packet: Packet;
  /** Valid bytes the encoder writes differently (properties out of identifier order, ...). */
  decodeOnly?: boolean;
}

export interface MalformedCase {
  name: string;
  statements: string[];
  section?: string;
  version: ProtocolVersion;
  role: Role;
  bytes: Buffer;
  /** The reason code the ProtocolError must carry. */
  reasonCode: number;
  maxPacketSize?: number;
  /** Decode on a fresh server-role decoder that has seen no CONNECT yet. */
  fresh?: boolean;
  /** Bytes pushed first into the same fresh decoder (e.g. a valid CONNECT). */
  prefix?: Buffer;
}

const s = (text: string): Buffer => Buffer.from(text, 'utf8');
const fill = (length: number, byte: number): Buffer => Buffer.alloc(length, byte);

// ---------------------------------------------------------------------------------------------
// MQTT 3.1 (protocol name "MQIsdp", level 3)
// ---------------------------------------------------------------------------------------------

const v3Connect = h`
  10 10           # CONNECT, remaining length 16
  0006 "MQIsdp"   # protocol name
  03              # protocol level 3
  02              # connect flags: clean session
  003c            # keep alive 60
  0002 "c3"       # client identifier
`;

const v3: ValidCase[] = [
  {
    name: '3.1 CONNECT with protocol name MQIsdp, level 3',
    statements: [],
    section: '3.1 §3.1',
    version: 3,
    role: 'server',
    bytes: v3Connect,
    packet: { type: 'connect', protocolName: 'MQIsdp', protocolVersion: 3, clean: true, keepalive: 60, clientId: 'c3' },
  },
  {
    name: '3.1 CONNECT with will, user name and password',
    statements: [],
    section: '3.1 §3.1',
    version: 3,
    role: 'server',
    bytes: h`
      10 20           # CONNECT, remaining length 32
      0006 "MQIsdp" 03
      c6              # user name, password, will QoS 0, will flag, clean session
      003c            # keep alive 60
      0006 "mosq-1"   # client identifier
      0001 "w"        # will topic
      0001 "x"        # will message
      0001 "u"        # user name
      0001 "p"        # password
    `,
    packet: {
      type: 'connect',
      protocolName: 'MQIsdp',
      protocolVersion: 3,
      clean: true,
      keepalive: 60,
      clientId: 'mosq-1',
      will: { topic: 'w', payload: s('x'), qos: 0, retain: false },
      username: 'u',
      password: s('p'),
    },
  },
  {
    name: '3.1 PUBLISH QoS 1',
    statements: [],
    section: '3.1 §3.3',
    version: 3,
    role: 'server',
    bytes: h`32 09  0003 "a/b"  0001  "hi"`,
    packet: { type: 'publish', topic: 'a/b', payload: s('hi'), qos: 1, retain: false, dup: false, packetId: 1 },
  },
  {
    name: '3.1 SUBSCRIBE',
    statements: [],
    section: '3.1 §3.8',
    version: 3,
    role: 'server',
    bytes: h`82 08  0002  0003 "a/#" 01`,
    packet: { type: 'subscribe', packetId: 2, subscriptions: [{ topicFilter: 'a/#', qos: 1 }] },
  },
  {
    name: '3.1 UNSUBSCRIBE',
    statements: [],
    section: '3.1 §3.10',
    version: 3,
    role: 'server',
    bytes: h`a2 07  0003  0003 "a/#"`,
    packet: { type: 'unsubscribe', packetId: 3, topicFilters: ['a/#'] },
  },
  {
    name: '3.1 PUBREL',
    statements: [],
    section: '3.1 §3.6',
    version: 3,
    role: 'server',
    bytes: h`62 02 0001`,
    packet: { type: 'pubrel', packetId: 1 },
  },
  {
    name: '3.1 PUBCOMP',
    statements: [],
    section: '3.1 §3.7',
    version: 3,
    role: 'server',
    bytes: h`70 02 0001`,
    packet: { type: 'pubcomp', packetId: 1 },
  },
  { name: '3.1 PINGREQ', statements: [], version: 3, role: 'server', bytes: h`c0 00`, packet: { type: 'pingreq' } },
  { name: '3.1 DISCONNECT', statements: [], version: 3, role: 'server', bytes: h`e0 00`, packet: { type: 'disconnect' } },
  {
    name: '3.1 CONNACK accepted (no session present flag in 3.1)',
    statements: [],
    section: '3.1 §3.2',
    version: 3,
    role: 'client',
    bytes: h`20 02  00  00`,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0 },
  },
  {
    name: '3.1 CONNACK identifier rejected',
    statements: [],
    section: '3.1 §3.2',
    version: 3,
    role: 'client',
    bytes: h`20 02  00  02`,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 2 },
  },
  {
    name: '3.1 PUBLISH QoS 2 retained, server to client',
    statements: [],
    section: '3.1 §3.3',
    version: 3,
    role: 'client',
    bytes: h`35 07  0001 "t"  0007  "ok"`,
    packet: { type: 'publish', topic: 't', payload: s('ok'), qos: 2, retain: true, dup: false, packetId: 7 },
  },
  {
    name: '3.1 PUBACK, server to client',
    statements: [],
    section: '3.1 §3.4',
    version: 3,
    role: 'client',
    bytes: h`40 02 0004`,
    packet: { type: 'puback', packetId: 4 },
  },
  {
    name: '3.1 PUBREC, server to client',
    statements: [],
    section: '3.1 §3.5',
    version: 3,
    role: 'client',
    bytes: h`50 02 0007`,
    packet: { type: 'pubrec', packetId: 7 },
  },
  {
    name: '3.1 SUBACK',
    statements: [],
    section: '3.1 §3.9',
    version: 3,
    role: 'client',
    bytes: h`90 03  0002  01`,
    packet: { type: 'suback', packetId: 2, reasonCodes: [1] },
  },
  {
    name: '3.1 UNSUBACK',
    statements: [],
    section: '3.1 §3.11',
    version: 3,
    role: 'client',
    bytes: h`b0 02  0003`,
    packet: { type: 'unsuback', packetId: 3 },
  },
  { name: '3.1 PINGRESP', statements: [], version: 3, role: 'client', bytes: h`d0 00`, packet: { type: 'pingresp' } },
];

// ---------------------------------------------------------------------------------------------
// MQTT 3.1.1 (level 4)
// ---------------------------------------------------------------------------------------------

const v4Connect = h`
  10 0e           # CONNECT, remaining length 14
  0004 "MQTT"     # protocol name
  04              # protocol level 4
  02              # connect flags: clean session
  003c            # keep alive 60
  0002 "c1"       # client identifier
`;

const v4: ValidCase[] = [
  {
    name: '3.1.1 CONNECT minimal, client identifier first in the payload',
    statements: ['MQTT-3.1.3-3'],
    version: 4,
    role: 'server',
    bytes: v4Connect,
    packet: { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: 'c1' },
  },
  {
    name: '3.1.1 CONNECT with a zero-byte client identifier and clean session',
    statements: ['MQTT-3.1.3-6', 'MQTT-3.1.3-7'],
    version: 4,
    role: 'server',
    bytes: h`10 0c  0004 "MQTT" 04  02  0000  0000`,
    packet: { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: '' },
  },
  {
    name: '3.1.1 CONNECT with will (QoS 1, retained), user name and binary password, in payload order',
    statements: ['MQTT-3.1.3-1', 'MQTT-3.1.2-9', 'MQTT-3.1.2-19', 'MQTT-3.1.2-21'],
    version: 4,
    role: 'server',
    bytes: h`
      10 2d             # CONNECT, remaining length 45
      0004 "MQTT" 04
      ec                # user name, password, will retain, will QoS 1, will flag; clean session 0
      012c              # keep alive 300
      0008 "client-1"   # client identifier
      0006 "will/t"     # will topic
      0003 "bye"        # will message
      0004 "user"       # user name
      0004 000102ff     # password: binary data
    `,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: false,
      keepalive: 300,
      clientId: 'client-1',
      will: { topic: 'will/t', payload: s('bye'), qos: 1, retain: true },
      username: 'user',
      password: h`000102ff`,
    },
  },
  {
    name: '3.1.1 CONNECT with will QoS 2, empty will message, user name without password',
    statements: ['MQTT-3.1.2-14', 'MQTT-3.1.2-20'],
    version: 4,
    role: 'server',
    bytes: h`
      10 17             # CONNECT, remaining length 23
      0004 "MQTT" 04
      96                # user name, will QoS 2, will flag, clean session
      000a              # keep alive 10
      0001 "x"          # client identifier
      0003 "a/b"        # will topic
      0000              # will message: zero bytes
      0001 "u"          # user name
    `,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 10,
      clientId: 'x',
      will: { topic: 'a/b', payload: Buffer.alloc(0), qos: 2, retain: false },
      username: 'u',
    },
  },
  {
    name: '3.1.1 CONNECT with a non-ASCII client identifier',
    statements: ['MQTT-3.1.3-4'],
    version: 4,
    role: 'server',
    bytes: h`10 0e  0004 "MQTT" 04  02  003c  0002 c3a9   # client identifier "é"`,
    packet: { type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: 'é' },
  },
  {
    name: '3.1.1 PUBLISH QoS 0 has no packet identifier',
    statements: ['MQTT-3.3.2-1', 'MQTT-2.3.1-5'],
    version: 4,
    role: 'server',
    bytes: h`30 07  0003 "a/b"  "hi"`,
    packet: { type: 'publish', topic: 'a/b', payload: s('hi'), qos: 0, retain: false, dup: false },
  },
  {
    name: '3.1.1 PUBLISH QoS 1 retained with a zero-length payload',
    statements: ['MQTT-2.3.1-1'],
    section: '3.1.1 §3.3.3',
    version: 4,
    role: 'server',
    bytes: h`33 07  0003 "a/b"  0001`,
    packet: { type: 'publish', topic: 'a/b', payload: Buffer.alloc(0), qos: 1, retain: true, dup: false, packetId: 1 },
  },
  {
    name: '3.1.1 PUBLISH QoS 2 DUP with packet identifier 65535',
    statements: ['MQTT-3.3.1-1'],
    version: 4,
    role: 'server',
    bytes: h`3c 08  0001 "t"  ffff  010203`,
    packet: { type: 'publish', topic: 't', payload: h`010203`, qos: 2, retain: false, dup: true, packetId: 0xffff },
  },
  {
    name: '3.1.1 PUBLISH with a multi-byte UTF-8 topic (2, 3 and 4 byte sequences)',
    statements: ['MQTT-3.3.2-1'],
    version: 4,
    role: 'server',
    bytes: h`
      30 14               # PUBLISH QoS 0, remaining length 20
      0012                # topic length 18
      73656e736f722f      # "sensor/"
      f09f8ca1            # U+1F321 thermometer
      2f                  # "/"
      e6b8a9 e5baa6       # U+6E29 U+5EA6
    `,
    packet: { type: 'publish', topic: 'sensor/\u{1F321}/温度', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false },
  },
  {
    name: '3.1.1 PUBLISH topic starting with 0xEF 0xBB 0xBF keeps U+FEFF',
    statements: ['MQTT-1.5.3-3'],
    version: 4,
    role: 'server',
    bytes: h`30 06  0004 efbbbf "x"`,
    packet: { type: 'publish', topic: '\uFEFFx', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false },
  },
  {
    name: '3.1.1 PUBLISH with a two-byte remaining length (203)',
    statements: [],
    section: '3.1.1 §2.2.3',
    version: 4,
    role: 'server',
    bytes: Buffer.concat([h`30 cb 01  0001 "t"`, fill(200, 0x61)]),
    packet: { type: 'publish', topic: 't', payload: fill(200, 0x61), qos: 0, retain: false, dup: false },
  },
  {
    name: '3.1.1 PUBLISH with the smallest four-byte remaining length (2,097,152)',
    statements: [],
    section: '3.1.1 §2.2.3',
    version: 4,
    role: 'server',
    bytes: Buffer.concat([h`30 80 80 80 01  0001 "t"`, fill(2_097_149, 0x5a)]),
    packet: { type: 'publish', topic: 't', payload: fill(2_097_149, 0x5a), qos: 0, retain: false, dup: false },
  },
  {
    name: '3.1.1 PUBACK',
    statements: [],
    section: '3.1.1 §3.4',
    version: 4,
    role: 'server',
    bytes: h`40 02 0001`,
    packet: { type: 'puback', packetId: 1 },
  },
  {
    name: '3.1.1 PUBREC',
    statements: [],
    section: '3.1.1 §3.5',
    version: 4,
    role: 'server',
    bytes: h`50 02 0002`,
    packet: { type: 'pubrec', packetId: 2 },
  },
  {
    name: '3.1.1 PUBREL with fixed header flags 0010',
    statements: ['MQTT-3.6.1-1'],
    version: 4,
    role: 'server',
    bytes: h`62 02 0003`,
    packet: { type: 'pubrel', packetId: 3 },
  },
  {
    name: '3.1.1 PUBCOMP',
    statements: [],
    section: '3.1.1 §3.7',
    version: 4,
    role: 'server',
    bytes: h`70 02 0004`,
    packet: { type: 'pubcomp', packetId: 4 },
  },
  {
    name: '3.1.1 SUBSCRIBE with three filters at QoS 0, 1 and 2',
    statements: ['MQTT-3.8.1-1', 'MQTT-3.8.3-1'],
    version: 4,
    role: 'server',
    bytes: h`
      82 12           # SUBSCRIBE, flags 0010, remaining length 18
      000a            # packet identifier 10
      0003 "a/+" 00   # filter, requested QoS 0
      0003 "b/#" 01   # filter, requested QoS 1
      0001 "#"   02   # filter, requested QoS 2
    `,
    packet: {
      type: 'subscribe',
      packetId: 10,
      subscriptions: [
        { topicFilter: 'a/+', qos: 0 },
        { topicFilter: 'b/#', qos: 1 },
        { topicFilter: '#', qos: 2 },
      ],
    },
  },
  {
    name: '3.1.1 UNSUBSCRIBE with two filters',
    statements: ['MQTT-3.10.1-1', 'MQTT-3.10.3-1'],
    version: 4,
    role: 'server',
    bytes: h`a2 0c  000b  0003 "a/+"  0003 "b/#"`,
    packet: { type: 'unsubscribe', packetId: 11, topicFilters: ['a/+', 'b/#'] },
  },
  { name: '3.1.1 PINGREQ', statements: [], version: 4, role: 'server', bytes: h`c0 00`, packet: { type: 'pingreq' } },
  { name: '3.1.1 DISCONNECT', statements: [], version: 4, role: 'server', bytes: h`e0 00`, packet: { type: 'disconnect' } },
  {
    name: '3.1.1 CONNACK accepted with session present',
    statements: ['MQTT-3.2.2-2'],
    version: 4,
    role: 'client',
    bytes: h`20 02  01  00`,
    packet: { type: 'connack', sessionPresent: true, reasonCode: 0 },
  },
  {
    name: '3.1.1 CONNACK return code 5 (not authorized)',
    statements: ['MQTT-3.2.2-4'],
    version: 4,
    role: 'client',
    bytes: h`20 02  00  05`,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 5 },
  },
  {
    name: '3.1.1 PUBLISH QoS 1, server to client',
    statements: [],
    section: '3.1.1 §3.3',
    version: 4,
    role: 'client',
    bytes: h`32 0a  0005 "a/b/c"  0007  "x"`,
    packet: { type: 'publish', topic: 'a/b/c', payload: s('x'), qos: 1, retain: false, dup: false, packetId: 7 },
  },
  {
    name: '3.1.1 PUBLISH with the largest two-byte remaining length (16,383)',
    statements: [],
    section: '3.1.1 §2.2.3',
    version: 4,
    role: 'client',
    bytes: Buffer.concat([h`30 ff 7f  0001 "t"`, fill(16_380, 0x62)]),
    packet: { type: 'publish', topic: 't', payload: fill(16_380, 0x62), qos: 0, retain: false, dup: false },
  },
  {
    name: '3.1.1 PUBACK, server to client',
    statements: [],
    version: 4,
    role: 'client',
    bytes: h`40 02 0007`,
    packet: { type: 'puback', packetId: 7 },
  },
  {
    name: '3.1.1 PUBREL, server to client',
    statements: ['MQTT-3.6.1-1'],
    version: 4,
    role: 'client',
    bytes: h`62 02 0008`,
    packet: { type: 'pubrel', packetId: 8 },
  },
  {
    name: '3.1.1 SUBACK with granted QoS 0, 1, 2 and failure 0x80',
    statements: ['MQTT-3.9.3-1', 'MQTT-3.9.3-2'],
    version: 4,
    role: 'client',
    bytes: h`90 06  000a  00 01 02 80`,
    packet: { type: 'suback', packetId: 10, reasonCodes: [0, 1, 2, 0x80] },
  },
  {
    name: '3.1.1 UNSUBACK has no payload',
    statements: [],
    section: '3.1.1 §3.11',
    version: 4,
    role: 'client',
    bytes: h`b0 02  000b`,
    packet: { type: 'unsuback', packetId: 11 },
  },
  { name: '3.1.1 PINGRESP', statements: [], version: 4, role: 'client', bytes: h`d0 00`, packet: { type: 'pingresp' } },
];

// ---------------------------------------------------------------------------------------------
// MQTT 5.0 (level 5)
// ---------------------------------------------------------------------------------------------

const v5Connect = h`
  10 0f           # CONNECT, remaining length 15
  0004 "MQTT"     # protocol name
  05              # protocol version 5
  02              # connect flags: clean start
  003c            # keep alive 60
  00              # property length 0
  0002 "c5"       # client identifier
`;

/** One SUBSCRIBE carrying every combination of QoS, No Local, Retain As Published and Retain Handling. */
function allSubscriptionOptions(): { bytes: Buffer; subscriptions: Subscription[] } {
  const parts: Buffer[] = [h`82 ff 01  0001  00   # SUBSCRIBE, remaining length 255; packet id 1; no properties`];
  const subscriptions: Subscription[] = [];
  let i = 0;
  for (const retainHandling of [0, 1, 2] as const) {
    for (const retainAsPublished of [false, true]) {
      for (const noLocal of [false, true]) {
        for (const qos of [0, 1, 2] as const) {
          const topicFilter = `o/${i.toString(16).padStart(2, '0')}`;
          // Subscription options (5.0 §3.8.3.1): bits 0-1 QoS, bit 2 No Local, bit 3 Retain As
          // Published, bits 4-5 Retain Handling, bits 6-7 reserved.
          const options = qos | (noLocal ? 0x04 : 0) | (retainAsPublished ? 0x08 : 0) | (retainHandling << 4);
          parts.push(h`0004`, Buffer.from(topicFilter, 'ascii'), Buffer.from([options]));
          subscriptions.push({ topicFilter, qos, noLocal, retainAsPublished, retainHandling });
          i++;
        }
      }
    }
  }
  return { bytes: Buffer.concat(parts), subscriptions };
}
const options36 = allSubscriptionOptions();

const v5: ValidCase[] = [
  {
    name: '5.0 CONNECT minimal with a zero property length',
    statements: ['MQTT-2.2.2-1', 'MQTT-3.1.3-3'],
    version: 5,
    role: 'server',
    bytes: v5Connect,
    packet: { type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, clientId: 'c5' },
  },
  {
    name: '5.0 CONNECT with every CONNECT property and every will property',
    statements: ['MQTT-3.1.3-1', 'MQTT-3.1.2-9', 'MQTT-1.5.7-1'],
    section: '5.0 §3.1.2.11, §3.1.3.2',
    version: 5,
    role: 'server',
    bytes: h`
      10 84 01                # CONNECT, remaining length 132 (two-byte Variable Byte Integer)
      0004 "MQTT" 05
      d6                      # user name, password, will QoS 2, will flag, clean start
      001e                    # keep alive 30
      31                      # property length 49
        11 00000e10           #   session expiry interval 3600
        15 0005 "scram"       #   authentication method
        16 0003 010203        #   authentication data
        17 00                 #   request problem information 0
        19 01                 #   request response information 1
        21 0014               #   receive maximum 20
        22 000a               #   topic alias maximum 10
        26 0001 "k" 0001 "v"  #   user property k=v
        26 0001 "k" 0002 "v2" #   user property k=v2 (names may repeat)
        27 00001000           #   maximum packet size 4096
      0002 "c5"               # client identifier
      2d                      # will property length 45
        01 01                 #   payload format indicator 1 (UTF-8)
        02 0000003c           #   message expiry interval 60
        03 000a "text/plain"  #   content type
        08 0005 "reply"       #   response topic
        09 0002 abcd          #   correlation data
        18 0000001e           #   will delay interval 30
        26 0001 "w" 0001 "1"  #   user property
      0004 "will"             # will topic
      0004 "gone"             # will payload
      0004 "user"             # user name
      0002 "pw"               # password
    `,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepalive: 30,
      clientId: 'c5',
      properties: {
        sessionExpiryInterval: 3600,
        authenticationMethod: 'scram',
        authenticationData: h`010203`,
        requestProblemInformation: false,
        requestResponseInformation: true,
        receiveMaximum: 20,
        topicAliasMaximum: 10,
        userProperties: [
          ['k', 'v'],
          ['k', 'v2'],
        ],
        maximumPacketSize: 4096,
      },
      will: {
        topic: 'will',
        payload: s('gone'),
        qos: 2,
        retain: false,
        properties: {
          payloadFormatIndicator: 1,
          messageExpiryInterval: 60,
          contentType: 'text/plain',
          responseTopic: 'reply',
          correlationData: h`abcd`,
          willDelayInterval: 30,
          userProperties: [['w', '1']],
        },
      },
      username: 'user',
      password: s('pw'),
    },
  },
  {
    name: '5.0 CONNECT with a password and no user name, zero-byte client identifier',
    statements: ['MQTT-3.1.3-6'],
    section: '5.0 §3.1.2.9',
    version: 5,
    role: 'server',
    bytes: h`
      10 15  0004 "MQTT" 05
      42                      # password flag, clean start (allowed without user name in 5.0)
      0000                    # keep alive 0
      00                      # property length 0
      0000                    # client identifier: zero bytes
      0006 "secret"           # password
    `,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepalive: 0,
      clientId: '',
      password: s('secret'),
    },
  },
  {
    name: '5.0 CONNECT with a retained QoS 1 will without will properties',
    statements: ['MQTT-3.1.2-9'],
    version: 5,
    role: 'server',
    bytes: h`
      10 16  0004 "MQTT" 05
      2c                      # will retain, will QoS 1, will flag; clean start 0
      003c  00
      0001 "c"                # client identifier
      00                      # will property length 0
      0003 "t/w"              # will topic
      0000                    # will payload: zero bytes
    `,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: false,
      keepalive: 60,
      clientId: 'c',
      will: { topic: 't/w', payload: Buffer.alloc(0), qos: 1, retain: true },
    },
  },
  {
    name: '5.0 CONNECT with properties out of identifier order',
    statements: [],
    section: '5.0 §2.2.2',
    version: 5,
    role: 'server',
    decodeOnly: true,
    bytes: h`
      10 16  0004 "MQTT" 05  02  003c
      08                      # property length 8
        21 0014               #   receive maximum 20
        11 0000000a           #   session expiry interval 10
      0001 "x"
    `,
    packet: {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepalive: 60,
      clientId: 'x',
      properties: { receiveMaximum: 20, sessionExpiryInterval: 10 },
    },
  },
  {
    name: '5.0 PUBLISH QoS 0 with a zero property length',
    statements: ['MQTT-2.2.2-1', 'MQTT-2.2.1-2'],
    version: 5,
    role: 'server',
    bytes: h`30 08  0003 "a/b"  00  "hi"`,
    packet: { type: 'publish', topic: 'a/b', payload: s('hi'), qos: 0, retain: false, dup: false },
  },
  {
    name: '5.0 PUBLISH QoS 1 with every property a client may send',
    statements: ['MQTT-3.3.2-13', 'MQTT-3.3.2-19'],
    section: '5.0 §3.3.2.3',
    version: 5,
    role: 'server',
    bytes: h`
      32 46                         # PUBLISH QoS 1, remaining length 70
      0003 "a/b"                    # topic name
      1234                          # packet identifier
      3b                            # property length 59
        01 01                       #   payload format indicator 1
        02 00000078                 #   message expiry interval 120
        03 0010 "application/json"  #   content type
        08 0007 "reply/1"           #   response topic
        09 0004 deadbeef            #   correlation data
        23 0005                     #   topic alias 5
        26 0003 "key" 0005 "value"  #   user property
      "x=1"                         # payload
    `,
    packet: {
      type: 'publish',
      topic: 'a/b',
      payload: s('x=1'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 0x1234,
      properties: {
        payloadFormatIndicator: 1,
        messageExpiryInterval: 120,
        contentType: 'application/json',
        responseTopic: 'reply/1',
        correlationData: h`deadbeef`,
        topicAlias: 5,
        userProperties: [['key', 'value']],
      },
    },
  },
  {
    name: '5.0 PUBLISH with an empty topic name and a topic alias',
    statements: [],
    section: '5.0 §3.3.2.3.4',
    version: 5,
    role: 'server',
    bytes: h`30 07  0000  03 23 0001  "z"`,
    packet: { type: 'publish', topic: '', payload: s('z'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } },
  },
  {
    name: '5.0 PUBLISH with properties out of identifier order',
    statements: [],
    section: '5.0 §2.2.2',
    version: 5,
    role: 'server',
    decodeOnly: true,
    bytes: h`
      30 0e  0001 "t"
      09                      # property length 9
        26 0001 "a" 0001 "b"  #   user property first
        01 00                 #   then payload format indicator 0
      "p"
    `,
    packet: {
      type: 'publish',
      topic: 't',
      payload: s('p'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { userProperties: [['a', 'b']], payloadFormatIndicator: 0 },
    },
  },
  {
    name: '5.0 PUBLISH with the smallest three-byte remaining length (16,384)',
    statements: ['MQTT-1.5.5-1'],
    version: 5,
    role: 'server',
    bytes: Buffer.concat([h`30 80 80 01  0001 "t"  00`, fill(16_380, 0x63)]),
    packet: { type: 'publish', topic: 't', payload: fill(16_380, 0x63), qos: 0, retain: false, dup: false },
  },
  {
    name: '5.0 PUBLISH with a multi-byte UTF-8 topic and user property',
    statements: ['MQTT-3.3.2-1', 'MQTT-1.5.7-1'],
    version: 5,
    role: 'server',
    bytes: h`
      30 1f
      0012 73656e736f722f f09f8ca1 2f e6b8a9 e5baa6   # "sensor/" U+1F321 "/" U+6E29 U+5EA6
      0a                                              # property length 10
        26 0002 c3a9 0003 e6b8a9                      #   user property "é" = U+6E29
    `,
    packet: {
      type: 'publish',
      topic: 'sensor/\u{1F321}/温度',
      payload: Buffer.alloc(0),
      qos: 0,
      retain: false,
      dup: false,
      properties: { userProperties: [['é', '温']] },
    },
  },
  {
    name: '5.0 PUBACK short form: Remaining Length 2 means Success',
    statements: [],
    section: '5.0 §3.4.2.1',
    version: 5,
    role: 'server',
    bytes: h`40 02 0001`,
    packet: { type: 'puback', packetId: 1 },
  },
  {
    name: '5.0 PUBACK with a reason code and no property length',
    statements: ['MQTT-3.4.2-1'],
    section: '5.0 §3.4.2.2.1',
    version: 5,
    role: 'server',
    bytes: h`40 03  0001  10   # 0x10 No matching subscribers`,
    packet: { type: 'puback', packetId: 1, reasonCode: 0x10 },
  },
  {
    name: '5.0 PUBACK with reason code 0 and an explicit zero property length',
    statements: [],
    section: '5.0 §3.4.2',
    version: 5,
    role: 'server',
    decodeOnly: true,
    bytes: h`40 04  0001  00  00`,
    packet: { type: 'puback', packetId: 1, reasonCode: 0 },
  },
  {
    name: '5.0 PUBACK with reason string and user property',
    statements: ['MQTT-3.4.2-1'],
    section: '5.0 §3.4.2.2',
    version: 5,
    role: 'server',
    bytes: h`
      40 12  0002
      80                      # 0x80 Unspecified error
      0e                      # property length 14
        1f 0004 "oops"        #   reason string
        26 0001 "a" 0001 "b"  #   user property
    `,
    packet: {
      type: 'puback',
      packetId: 2,
      reasonCode: 0x80,
      properties: { reasonString: 'oops', userProperties: [['a', 'b']] },
    },
  },
  {
    name: '5.0 PUBREC with reason code 0x91',
    statements: ['MQTT-3.5.2-1'],
    version: 5,
    role: 'server',
    bytes: h`50 03  0005  91   # Packet Identifier in use`,
    packet: { type: 'pubrec', packetId: 5, reasonCode: 0x91 },
  },
  {
    name: '5.0 PUBREL with reason code 0x92',
    statements: ['MQTT-3.6.1-1', 'MQTT-3.6.2-1'],
    version: 5,
    role: 'server',
    bytes: h`62 03  0006  92   # Packet Identifier not found`,
    packet: { type: 'pubrel', packetId: 6, reasonCode: 0x92 },
  },
  {
    name: '5.0 PUBCOMP with a reason string',
    statements: ['MQTT-3.7.2-1'],
    version: 5,
    role: 'server',
    bytes: h`70 09  0007  00  05 1f 0002 "ok"`,
    packet: { type: 'pubcomp', packetId: 7, reasonCode: 0, properties: { reasonString: 'ok' } },
  },
  {
    name: '5.0 SUBSCRIBE with all 36 combinations of subscription options',
    statements: ['MQTT-3.8.1-1', 'MQTT-3.8.3-1'],
    section: '5.0 §3.8.3.1',
    version: 5,
    role: 'server',
    bytes: options36.bytes,
    packet: { type: 'subscribe', packetId: 1, subscriptions: options36.subscriptions },
  },
  {
    name: '5.0 SUBSCRIBE with the largest subscription identifier (four-byte 268,435,455)',
    statements: ['MQTT-1.5.5-1'],
    section: '5.0 §3.8.2.1.2',
    version: 5,
    role: 'server',
    bytes: h`
      82 15  0102
      0c                        # property length 12
        0b ffffff7f             #   subscription identifier 268,435,455
        26 0001 "s" 0001 "1"    #   user property
      0003 "a/#" 01
    `,
    packet: {
      type: 'subscribe',
      packetId: 0x0102,
      properties: { subscriptionIdentifier: 268_435_455, userProperties: [['s', '1']] },
      subscriptions: [{ topicFilter: 'a/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
    },
  },
  {
    name: '5.0 SUBSCRIBE with a two-byte subscription identifier (128)',
    statements: [],
    section: '5.0 §3.8.2.1.2',
    version: 5,
    role: 'server',
    bytes: h`82 0a  0003  03 0b 8001  0001 "x" 02`,
    packet: {
      type: 'subscribe',
      packetId: 3,
      properties: { subscriptionIdentifier: 128 },
      subscriptions: [{ topicFilter: 'x', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
    },
  },
  {
    name: '5.0 SUBSCRIBE to a shared subscription without No Local',
    statements: ['MQTT-3.8.3-4'],
    version: 5,
    role: 'server',
    bytes: h`82 10  0004  00  000a "$share/g/t"  29   # retain handling 2, retain as published, QoS 1`,
    packet: {
      type: 'subscribe',
      packetId: 4,
      subscriptions: [{ topicFilter: '$share/g/t', qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 2 }],
    },
  },
  {
    name: '5.0 UNSUBSCRIBE with a user property and two filters',
    statements: ['MQTT-3.10.1-1', 'MQTT-3.10.3-1'],
    version: 5,
    role: 'server',
    bytes: h`a2 1b  0007  07 26 0001 "u" 0001 "v"  0003 "a/+"  000a "$share/g/t"`,
    packet: {
      type: 'unsubscribe',
      packetId: 7,
      properties: { userProperties: [['u', 'v']] },
      topicFilters: ['a/+', '$share/g/t'],
    },
  },
  { name: '5.0 PINGREQ', statements: [], version: 5, role: 'server', bytes: h`c0 00`, packet: { type: 'pingreq' } },
  {
    name: '5.0 DISCONNECT short form: Remaining Length 0 means Normal disconnection',
    statements: ['MQTT-3.14.2-1'],
    section: '5.0 §3.14.2.1',
    version: 5,
    role: 'server',
    bytes: h`e0 00`,
    packet: { type: 'disconnect' },
  },
  {
    name: '5.0 DISCONNECT with a reason code and no property length',
    statements: ['MQTT-3.14.2-1'],
    section: '5.0 §3.14.2.2.1',
    version: 5,
    role: 'server',
    bytes: h`e0 01  04   # Disconnect with Will Message`,
    packet: { type: 'disconnect', reasonCode: 4 },
  },
  {
    name: '5.0 DISCONNECT from a client with session expiry, reason string and user property',
    statements: ['MQTT-3.14.2-1'],
    version: 5,
    role: 'server',
    bytes: h`
      e0 14  00
      12                      # property length 18
        11 00000064           #   session expiry interval 100
        1f 0003 "bye"         #   reason string
        26 0001 "a" 0001 "b"  #   user property
    `,
    packet: {
      type: 'disconnect',
      reasonCode: 0,
      properties: { sessionExpiryInterval: 100, reasonString: 'bye', userProperties: [['a', 'b']] },
    },
  },
  {
    name: '5.0 DISCONNECT with reason code 0 and an explicit zero property length',
    statements: [],
    section: '5.0 §3.14.2',
    version: 5,
    role: 'server',
    decodeOnly: true,
    bytes: h`e0 02  00  00`,
    packet: { type: 'disconnect', reasonCode: 0 },
  },
  {
    name: '5.0 AUTH short form: Remaining Length 0 means Success',
    statements: [],
    section: '5.0 §3.15.2.1',
    version: 5,
    role: 'server',
    bytes: h`f0 00`,
    packet: { type: 'auth' },
  },
  {
    name: '5.0 AUTH continue authentication with every AUTH property',
    statements: ['MQTT-3.15.1-1', 'MQTT-3.15.2-1'],
    version: 5,
    role: 'server',
    bytes: h`
      f0 1f  18               # 0x18 Continue authentication
      1d                      # property length 29
        15 0005 "scram"       #   authentication method
        16 0004 01020304      #   authentication data
        1f 0004 "next"        #   reason string
        26 0001 "a" 0001 "b"  #   user property
    `,
    packet: {
      type: 'auth',
      reasonCode: 0x18,
      properties: {
        authenticationMethod: 'scram',
        authenticationData: h`01020304`,
        reasonString: 'next',
        userProperties: [['a', 'b']],
      },
    },
  },
  {
    name: '5.0 CONNACK minimal',
    statements: ['MQTT-3.2.2-1'],
    version: 5,
    role: 'client',
    bytes: h`20 03  00  00  00`,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0 },
  },
  {
    name: '5.0 CONNACK with session present and every CONNACK property',
    statements: ['MQTT-3.2.2-3'],
    section: '5.0 §3.2.2.3',
    version: 5,
    role: 'client',
    bytes: h`
      20 4c  01  00           # session present; Success
      49                      # property length 73
        11 0000001e           #   session expiry interval 30
        12 0004 "auto"        #   assigned client identifier
        13 001e               #   server keep alive 30
        15 0005 "scram"       #   authentication method
        16 0001 ff            #   authentication data
        1a 0005 "resp/"       #   response information
        1c 0002 "s2"          #   server reference
        1f 0002 "ok"          #   reason string
        21 ffff               #   receive maximum 65535
        22 0005               #   topic alias maximum 5
        24 01                 #   maximum QoS 1
        25 00                 #   retain available 0
        26 0001 "c" 0001 "d"  #   user property
        27 00010000           #   maximum packet size 65536
        28 00                 #   wildcard subscription available 0
        29 01                 #   subscription identifiers available 1
        2a 00                 #   shared subscription available 0
    `,
    packet: {
      type: 'connack',
      sessionPresent: true,
      reasonCode: 0,
      properties: {
        sessionExpiryInterval: 30,
        assignedClientIdentifier: 'auto',
        serverKeepAlive: 30,
        authenticationMethod: 'scram',
        authenticationData: h`ff`,
        responseInformation: 'resp/',
        serverReference: 's2',
        reasonString: 'ok',
        receiveMaximum: 65535,
        topicAliasMaximum: 5,
        maximumQoS: 1,
        retainAvailable: false,
        userProperties: [['c', 'd']],
        maximumPacketSize: 65536,
        wildcardSubscriptionAvailable: false,
        subscriptionIdentifiersAvailable: true,
        sharedSubscriptionAvailable: false,
      },
    },
  },
  {
    name: '5.0 CONNACK refused with 0x87 Not authorized',
    statements: ['MQTT-3.2.2-6', 'MQTT-3.2.2-8'],
    version: 5,
    role: 'client',
    bytes: h`20 03  00  87  00`,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0x87 },
  },
  {
    name: '5.0 CONNACK with maximum QoS 0',
    statements: ['MQTT-3.2.2-9'],
    version: 5,
    role: 'client',
    bytes: h`20 05  00  00  02 24 00`,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0, properties: { maximumQoS: 0 } },
  },
  {
    name: '5.0 PUBLISH to a client with two subscription identifiers (1 and 268,435,455)',
    statements: ['MQTT-3.3.4-4'],
    version: 5,
    role: 'client',
    bytes: h`
      30 0b  0001 "s"
      07                      # property length 7
        0b 01                 #   subscription identifier 1
        0b ffffff7f           #   subscription identifier 268,435,455
    `,
    packet: {
      type: 'publish',
      topic: 's',
      payload: Buffer.alloc(0),
      qos: 0,
      retain: false,
      dup: false,
      properties: { subscriptionIdentifiers: [1, 268_435_455] },
    },
  },
  {
    name: '5.0 PUBLISH to a client with the largest two-byte remaining length (16,383)',
    statements: ['MQTT-1.5.5-1'],
    version: 5,
    role: 'client',
    bytes: Buffer.concat([h`30 ff 7f  0001 "t"  00`, fill(16_379, 0x64)]),
    packet: { type: 'publish', topic: 't', payload: fill(16_379, 0x64), qos: 0, retain: false, dup: false },
  },
  {
    name: '5.0 PUBACK, server to client',
    statements: [],
    version: 5,
    role: 'client',
    bytes: h`40 02 0009`,
    packet: { type: 'puback', packetId: 9 },
  },
  {
    name: '5.0 SUBACK with every Subscribe reason code and a reason string',
    statements: ['MQTT-3.9.3-1', 'MQTT-3.9.3-2'],
    version: 5,
    role: 'client',
    bytes: h`
      90 15  000a
      06 1f 0003 "why"                        # property length 6: reason string
      00 01 02 80 83 87 8f 91 97 9e a1 a2     # one reason code per filter
    `,
    packet: {
      type: 'suback',
      packetId: 10,
      properties: { reasonString: 'why' },
      reasonCodes: [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2],
    },
  },
  {
    name: '5.0 UNSUBACK with every Unsubscribe reason code',
    statements: ['MQTT-3.11.3-1', 'MQTT-3.11.3-2'],
    version: 5,
    role: 'client',
    bytes: h`b0 0a  000b  00  00 11 80 83 87 8f 91`,
    packet: { type: 'unsuback', packetId: 11, reasonCodes: [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91] },
  },
  {
    name: '5.0 UNSUBACK with a user property',
    statements: ['MQTT-3.11.3-2'],
    version: 5,
    role: 'client',
    bytes: h`b0 0b  000c  07 26 0001 "x" 0001 "y"  00`,
    packet: { type: 'unsuback', packetId: 12, properties: { userProperties: [['x', 'y']] }, reasonCodes: [0] },
  },
  { name: '5.0 PINGRESP', statements: [], version: 5, role: 'client', bytes: h`d0 00`, packet: { type: 'pingresp' } },
  {
    name: '5.0 DISCONNECT from a server: 0x9C Use another server, with server reference',
    statements: ['MQTT-3.14.2-1', 'MQTT-3.14.2-2'],
    version: 5,
    role: 'client',
    bytes: h`
      e0 13  9c
      11                      # property length 17
        1c 0007 "b2:1883"     #   server reference
        1f 0004 "move"        #   reason string
    `,
    packet: { type: 'disconnect', reasonCode: 0x9c, properties: { serverReference: 'b2:1883', reasonString: 'move' } },
  },
  {
    name: '5.0 AUTH from a server',
    statements: ['MQTT-3.15.2-1'],
    version: 5,
    role: 'client',
    bytes: h`f0 0f  00  0d 15 0005 "scram" 16 0002 aabb`,
    packet: {
      type: 'auth',
      reasonCode: 0,
      properties: { authenticationMethod: 'scram', authenticationData: h`aabb` },
    },
  },
];

export const VALID: readonly ValidCase[] = [...v3, ...v4, ...v5];

/** A valid CONNECT per version: the first packet of every server-role stream. */
export const CONNECT_BYTES: Readonly<Record<ProtocolVersion, Buffer>> = { 3: v3Connect, 4: v4Connect, 5: v5Connect };

// ---------------------------------------------------------------------------------------------
// Malformed packets and protocol errors
// ---------------------------------------------------------------------------------------------

const MALFORMED_PACKET = 0x81;
const PROTOCOL_ERROR = 0x82;
const UNSUPPORTED_VERSION = 0x84;
const TOPIC_NAME_INVALID = 0x90;
const TOPIC_ALIAS_INVALID = 0x94;
const PACKET_TOO_LARGE = 0x95;

type Extra = Partial<Pick<MalformedCase, 'section' | 'maxPacketSize' | 'fresh' | 'prefix'>>;

function bad(
  version: ProtocolVersion,
  role: Role,
  reasonCode: number,
  name: string,
  statements: string[],
  bytes: Buffer,
  extra: Extra = {},
): MalformedCase {
  return { name, statements, version, role, bytes, reasonCode, ...extra };
}

const m3: MalformedCase[] = [
  bad(3, 'server', UNSUPPORTED_VERSION, '3.1 name MQTT with level 3 is not a supported combination', [],
    h`10 0e  0004 "MQTT" 03  02  003c  0002 "c3"`, { section: '3.1.1 §3.1.2.2' }),
  bad(3, 'server', MALFORMED_PACKET, '3.1 has no AUTH packet type (15 is reserved)', [], h`f0 00`,
    { section: '3.1 §2.1' }),
  bad(3, 'server', MALFORMED_PACKET, '3.1 CONNECT reserved flag set', [],
    h`10 10  0006 "MQIsdp" 03  03  003c  0002 "c3"`, { section: '3.1 §3.1' }),
];

const m4: MalformedCase[] = [
  // Fixed header (3.1.1 §2.2)
  bad(4, 'server', MALFORMED_PACKET, 'remaining length with a fifth byte', [],
    h`30 ff ff ff ff 01`, { section: '3.1.1 §2.2.3' }),
  bad(4, 'server', MALFORMED_PACKET, 'reserved packet type 0', [], h`00 00`, { section: '3.1.1 §2.2.1' }),
  bad(4, 'server', MALFORMED_PACKET, 'packet type 15 is reserved before 5.0', [], h`f0 00`,
    { section: '3.1.1 §2.2.1' }),
  bad(4, 'server', MALFORMED_PACKET, 'CONNECT with fixed header flags 0001', ['MQTT-2.2.2-1', 'MQTT-2.2.2-2'],
    h`11 0e  0004 "MQTT" 04  02  003c  0002 "c1"`),
  bad(4, 'server', MALFORMED_PACKET, 'PUBREL with fixed header flags 0000', ['MQTT-3.6.1-1'], h`60 02 0001`),
  bad(4, 'server', MALFORMED_PACKET, 'SUBSCRIBE with fixed header flags 0000', ['MQTT-3.8.1-1'],
    h`80 06  0001  0001 "a" 00`),
  bad(4, 'server', MALFORMED_PACKET, 'UNSUBSCRIBE with fixed header flags 0000', ['MQTT-3.10.1-1'],
    h`a0 05  0001  0001 "a"`),
  bad(4, 'server', MALFORMED_PACKET, 'PINGREQ with fixed header flags 1000', ['MQTT-2.2.2-2'], h`c8 00`),
  bad(4, 'server', MALFORMED_PACKET, 'DISCONNECT with fixed header flags 0010', ['MQTT-3.14.1-1'], h`e2 00`),
  bad(4, 'server', MALFORMED_PACKET, 'PUBLISH with both QoS bits set', ['MQTT-3.3.1-4'],
    h`36 05  0001 "t"  0001`),
  bad(4, 'server', MALFORMED_PACKET, 'PUBLISH QoS 0 with DUP set', ['MQTT-3.3.1-2'], h`38 03  0001 "t"`),

  // UTF-8 strings (3.1.1 §1.5.3)
  bad(4, 'server', MALFORMED_PACKET, 'topic with an invalid UTF-8 byte 0xFF', ['MQTT-1.5.3-1'],
    h`30 04  0002 "a" ff`),
  bad(4, 'server', MALFORMED_PACKET, 'topic with an encoded surrogate U+D800', ['MQTT-1.5.3-1'],
    h`30 05  0003 eda080`),
  bad(4, 'server', MALFORMED_PACKET, 'topic with an overlong encoding of "/"', ['MQTT-1.5.3-1'],
    h`30 04  0002 c0af`),
  bad(4, 'server', MALFORMED_PACKET, 'topic with U+0000', ['MQTT-1.5.3-2'], h`30 04  0002 "a" 00`),
  bad(4, 'server', MALFORMED_PACKET, 'client identifier with invalid UTF-8', ['MQTT-3.1.3-4', 'MQTT-1.5.3-1'],
    h`10 0e  0004 "MQTT" 04  02  003c  0002 c328`),
  bad(4, 'server', MALFORMED_PACKET, 'will topic with invalid UTF-8', ['MQTT-3.1.3-10', 'MQTT-1.5.3-1'],
    h`10 13  0004 "MQTT" 04  06  003c  0002 "c1"  0001 ff  0000`),
  bad(4, 'server', MALFORMED_PACKET, 'user name with U+0000', ['MQTT-3.1.3-11', 'MQTT-1.5.3-2'],
    h`10 11  0004 "MQTT" 04  82  003c  0002 "c1"  0001 00`),
  bad(4, 'server', MALFORMED_PACKET, 'SUBSCRIBE topic filter with invalid UTF-8', ['MQTT-3.8.3-1'],
    h`82 06  0001  0001 ff  00`),
  bad(4, 'server', MALFORMED_PACKET, 'UNSUBSCRIBE topic filter with U+0000', ['MQTT-3.10.3-1', 'MQTT-1.5.3-2'],
    h`a2 05  0001  0001 00`),

  // Topic names (0x90)
  bad(4, 'server', TOPIC_NAME_INVALID, 'PUBLISH topic with the single-level wildcard', ['MQTT-3.3.2-2'],
    h`30 05  0003 "a/+"`),
  bad(4, 'server', TOPIC_NAME_INVALID, 'PUBLISH QoS 1 topic with the multi-level wildcard', ['MQTT-3.3.2-2'],
    h`32 07  0003 "a/#"  0001`),
  bad(4, 'server', TOPIC_NAME_INVALID, 'will topic with a wildcard', [],
    h`10 15  0004 "MQTT" 04  06  003c  0002 "c1"  0003 "a/#"  0000`, { section: '3.1.1 §3.1.3.2, §4.7' }),

  // CONNECT
  bad(4, 'server', MALFORMED_PACKET, 'CONNECT reserved flag set', ['MQTT-3.1.2-3'],
    h`10 0e  0004 "MQTT" 04  03  003c  0002 "c1"`),
  bad(4, 'server', MALFORMED_PACKET, 'will QoS 1 without the will flag', ['MQTT-3.1.2-11', 'MQTT-3.1.2-13'],
    h`10 0e  0004 "MQTT" 04  0a  003c  0002 "c1"`),
  bad(4, 'server', MALFORMED_PACKET, 'will retain without the will flag', ['MQTT-3.1.2-11', 'MQTT-3.1.2-15'],
    h`10 0e  0004 "MQTT" 04  22  003c  0002 "c1"`),
  bad(4, 'server', MALFORMED_PACKET, 'will QoS 3', ['MQTT-3.1.2-14'],
    h`10 13  0004 "MQTT" 04  1e  003c  0002 "c1"  0001 "w"  0000`),
  bad(4, 'server', MALFORMED_PACKET, 'password flag without the user name flag', ['MQTT-3.1.2-22'],
    h`10 11  0004 "MQTT" 04  42  003c  0002 "c1"  0001 "p"`),
  bad(4, 'server', UNSUPPORTED_VERSION, 'protocol level 6', ['MQTT-3.1.2-2'],
    h`10 0e  0004 "MQTT" 06  02  003c  0002 "c1"`),
  bad(4, 'server', UNSUPPORTED_VERSION, 'name MQIsdp with level 4', [],
    h`10 10  0006 "MQIsdp" 04  02  003c  0002 "c1"`, { section: '3.1.1 §3.1.2.1' }),
  bad(4, 'server', PROTOCOL_ERROR, 'unknown protocol name MQTX', ['MQTT-3.1.2-1'],
    h`10 0e  0004 "MQTX" 04  02  003c  0002 "c1"`),
  bad(4, 'server', MALFORMED_PACKET, 'client identifier longer than the packet', ['MQTT-3.1.4-1'],
    h`10 0e  0004 "MQTT" 04  02  003c  0005 "ab"`),
  bad(4, 'server', MALFORMED_PACKET, 'CONNECT with a byte after the last field', ['MQTT-3.1.4-1'],
    h`10 0f  0004 "MQTT" 04  02  003c  0002 "c1"  00`),

  // Lengths
  bad(4, 'server', MALFORMED_PACKET, 'PUBLISH QoS 1 cut inside its packet identifier', [],
    h`32 04  0001 "t"  00`, { section: '3.1.1 §3.3.2.2' }),
  bad(4, 'server', MALFORMED_PACKET, 'PUBACK with remaining length 1', [], h`40 01 00`, { section: '3.1.1 §3.4.1' }),
  bad(4, 'server', MALFORMED_PACKET, 'PUBACK with remaining length 3', [], h`40 03 0001 00`,
    { section: '3.1.1 §3.4.1' }),
  bad(4, 'server', MALFORMED_PACKET, 'PINGREQ with a body', [], h`c0 01 00`, { section: '3.1.1 §3.12' }),
  bad(4, 'server', MALFORMED_PACKET, 'DISCONNECT with a body', [], h`e0 01 00`, { section: '3.1.1 §3.14' }),
  bad(4, 'server', MALFORMED_PACKET, 'SUBSCRIBE filter without its QoS byte', [],
    h`82 05  0001  0001 "a"`, { section: '3.1.1 §3.8.3' }),

  // Packet identifiers and SUBSCRIBE / UNSUBSCRIBE payloads
  bad(4, 'server', PROTOCOL_ERROR, 'PUBLISH QoS 1 with packet identifier 0', ['MQTT-2.3.1-1'],
    h`32 05  0001 "t"  0000`),
  bad(4, 'server', PROTOCOL_ERROR, 'SUBSCRIBE with packet identifier 0', ['MQTT-2.3.1-1'],
    h`82 06  0000  0001 "a" 00`),
  bad(4, 'server', PROTOCOL_ERROR, 'UNSUBSCRIBE with packet identifier 0', ['MQTT-2.3.1-1'],
    h`a2 05  0000  0001 "a"`),
  bad(4, 'server', PROTOCOL_ERROR, 'SUBSCRIBE without a topic filter', ['MQTT-3.8.3-3'], h`82 02 0001`),
  bad(4, 'server', PROTOCOL_ERROR, 'UNSUBSCRIBE without a topic filter', ['MQTT-3.10.3-2'], h`a2 02 0001`),
  bad(4, 'server', MALFORMED_PACKET, 'SUBSCRIBE requested QoS 3', ['MQTT-3-8.3-4'], h`82 06  0001  0001 "a" 03`),
  bad(4, 'server', MALFORMED_PACKET, 'SUBSCRIBE reserved bit 2 set in 3.1.1', ['MQTT-3-8.3-4'],
    h`82 06  0001  0001 "a" 04`),

  // Packet order and direction
  bad(4, 'server', PROTOCOL_ERROR, 'first packet is not CONNECT', ['MQTT-3.1.0-1'], h`c0 00`, { fresh: true }),
  bad(4, 'server', PROTOCOL_ERROR, 'second CONNECT', ['MQTT-3.1.0-2'], v4Connect, { prefix: v4Connect }),
  bad(4, 'server', PROTOCOL_ERROR, 'a client sends CONNACK', [], h`20 02 00 00`, { section: '3.1.1 §2.2.1' }),
  bad(4, 'server', PROTOCOL_ERROR, 'a client sends SUBACK', [], h`90 03 0001 00`, { section: '3.1.1 §2.2.1' }),
  bad(4, 'server', PROTOCOL_ERROR, 'a client sends UNSUBACK', [], h`b0 02 0001`, { section: '3.1.1 §2.2.1' }),
  bad(4, 'server', PROTOCOL_ERROR, 'a client sends PINGRESP', [], h`d0 00`, { section: '3.1.1 §2.2.1' }),
  bad(4, 'client', PROTOCOL_ERROR, 'a server sends CONNECT', [], v4Connect, { section: '3.1.1 §2.2.1' }),
  bad(4, 'client', PROTOCOL_ERROR, 'a server sends SUBSCRIBE', [], h`82 06 0001 0001 "a" 00`,
    { section: '3.1.1 §2.2.1' }),
  bad(4, 'client', PROTOCOL_ERROR, 'a server sends UNSUBSCRIBE', [], h`a2 05 0001 0001 "a"`,
    { section: '3.1.1 §2.2.1' }),
  bad(4, 'client', PROTOCOL_ERROR, 'a server sends PINGREQ', [], h`c0 00`, { section: '3.1.1 §2.2.1' }),
  bad(4, 'client', PROTOCOL_ERROR, 'SUBACK return code 0x03', ['MQTT-3.9.3-2'], h`90 03 0001 03`),
  bad(4, 'client', MALFORMED_PACKET, 'CONNACK with remaining length 3', [], h`20 03 00 00 00`,
    { section: '3.1.1 §3.2.1' }),
  bad(4, 'client', MALFORMED_PACKET, 'UNSUBACK with remaining length 3', [], h`b0 03 0001 00`,
    { section: '3.1.1 §3.11.1' }),

  // Packet size (checked from the fixed header)
  bad(4, 'server', PACKET_TOO_LARGE, 'fixed header declares 16,386 bytes, limit 1024', [], h`30 ff 7f`,
    { maxPacketSize: 1024, section: '5.0 §3.1.2.11.4 (limit set by the receiver)' }),
  bad(4, 'server', PACKET_TOO_LARGE, 'packet one byte over the limit, fixed header counted', [],
    h`30 07  0003 "a/b"  "hi"`, { maxPacketSize: 8, section: '5.0 §3.1.2.11.4' }),
];

const m5: MalformedCase[] = [
  // Variable Byte Integers (5.0 §1.5.5)
  bad(5, 'server', MALFORMED_PACKET, 'remaining length with a fifth byte', [], h`30 80 80 80 80 01`,
    { section: '5.0 §1.5.5' }),
  bad(5, 'server', MALFORMED_PACKET, 'remaining length not minimally encoded', ['MQTT-1.5.5-1'], h`c0 80 00`),
  bad(5, 'server', MALFORMED_PACKET, 'property length not minimally encoded', ['MQTT-1.5.5-1'],
    h`30 06  0001 "t"  80 00  "x"`),
  bad(5, 'server', MALFORMED_PACKET, 'subscription identifier not minimally encoded', ['MQTT-1.5.5-1'],
    h`82 0a  0001  03 0b 8100  0001 "a" 00`),

  // Fixed header flags (5.0 §2.1.3)
  bad(5, 'server', MALFORMED_PACKET, 'AUTH with fixed header flags 0001', ['MQTT-3.15.1-1', 'MQTT-2.1.3-1'], h`f1 00`),
  bad(5, 'server', MALFORMED_PACKET, 'PUBREL with fixed header flags 0000', ['MQTT-3.6.1-1'], h`60 02 0001`),
  bad(5, 'server', MALFORMED_PACKET, 'SUBSCRIBE with fixed header flags 0011', ['MQTT-3.8.1-1'],
    h`83 07  0001  00  0001 "a" 00`),
  bad(5, 'server', MALFORMED_PACKET, 'DISCONNECT with fixed header flags 0001', ['MQTT-3.14.1-1'], h`e1 00`),
  bad(5, 'server', MALFORMED_PACKET, 'PUBLISH with both QoS bits set', ['MQTT-3.3.1-4'],
    h`36 06  0001 "t"  0001  00`),

  // CONNECT flags
  bad(5, 'server', MALFORMED_PACKET, 'CONNECT reserved flag set', ['MQTT-3.1.2-3'],
    h`10 0f  0004 "MQTT" 05  03  003c  00  0002 "c5"`),
  bad(5, 'server', MALFORMED_PACKET, 'will QoS 1 without the will flag', ['MQTT-3.1.2-11'],
    h`10 0f  0004 "MQTT" 05  0a  003c  00  0002 "c5"`),
  bad(5, 'server', MALFORMED_PACKET, 'will retain without the will flag', ['MQTT-3.1.2-13'],
    h`10 0f  0004 "MQTT" 05  22  003c  00  0002 "c5"`),
  bad(5, 'server', MALFORMED_PACKET, 'will QoS 3', ['MQTT-3.1.2-12'],
    h`10 15  0004 "MQTT" 05  1e  003c  00  0002 "c5"  00  0001 "w"  0000`),
  bad(5, 'server', UNSUPPORTED_VERSION, 'name MQIsdp with version 5', ['MQTT-3.1.2-1'],
    h`10 11  0006 "MQIsdp" 05  02  003c  00  0002 "c5"`),

  // Properties: identifiers and the packets that may carry them (5.0 §2.2.2.2)
  bad(5, 'server', MALFORMED_PACKET, 'unknown property identifier 0x05', [],
    h`30 06  0001 "t"  02 05 00`, { section: '5.0 §2.2.2.2' }),
  bad(5, 'server', MALFORMED_PACKET, 'session expiry interval in PUBLISH', [],
    h`30 09  0001 "t"  05 11 0000000a`, { section: '5.0 §2.2.2.2' }),
  bad(5, 'server', MALFORMED_PACKET, 'topic alias in will properties', [],
    h`10 18  0004 "MQTT" 05  06  003c  00  0002 "c5"  03 23 0001  0001 "w"  0000`, { section: '5.0 §2.2.2.2' }),
  bad(5, 'server', MALFORMED_PACKET, 'subscription identifier in PUBACK', [],
    h`40 06  0001  00  02 0b 01`, { section: '5.0 §2.2.2.2' }),
  bad(5, 'client', MALFORMED_PACKET, 'topic alias in CONNACK', [],
    h`20 06  00 00  03 23 0001`, { section: '5.0 §2.2.2.2' }),
  bad(5, 'server', MALFORMED_PACKET, 'property length longer than the packet', [],
    h`30 05  0001 "t"  05 01`, { section: '5.0 §2.2.2.1' }),
  bad(5, 'server', MALFORMED_PACKET, 'property value cut by the property length', [],
    h`30 06  0001 "t"  02 02 00`, { section: '5.0 §2.2.2.1' }),
  bad(5, 'server', MALFORMED_PACKET, 'user property without its value', [],
    h`30 08  0001 "t"  04 26 0001 "k"`, { section: '5.0 §1.5.7' }),

  // Properties: duplicates and values (5.0 §3.x.2.x "It is a Protocol Error to include ... more than once")
  bad(5, 'server', PROTOCOL_ERROR, 'message expiry interval twice in PUBLISH', [],
    h`30 0e  0001 "t"  0a 02 00000001 02 00000002`, { section: '5.0 §3.3.2.3.3' }),
  bad(5, 'server', PROTOCOL_ERROR, 'session expiry interval twice in CONNECT', [],
    h`10 19  0004 "MQTT" 05  02  003c  0a 11 00000001 11 00000002  0002 "c5"`, { section: '5.0 §3.1.2.11.2' }),
  bad(5, 'server', PROTOCOL_ERROR, 'reason string twice in PUBACK', [],
    h`40 0c  0001  10  08 1f 0001 "a" 1f 0001 "b"`, { section: '5.0 §3.4.2.2.2' }),
  bad(5, 'server', PROTOCOL_ERROR, 'subscription identifier twice in SUBSCRIBE', [],
    h`82 0b  0001  04 0b 01 0b 02  0001 "a" 00`, { section: '5.0 §3.8.2.1.2' }),
  bad(5, 'server', PROTOCOL_ERROR, 'subscription identifier in a PUBLISH from a client', ['MQTT-3.3.4-6'],
    h`30 06  0001 "t"  02 0b 01`),
  bad(5, 'server', PROTOCOL_ERROR, 'receive maximum 0 in CONNECT', [],
    h`10 12  0004 "MQTT" 05  02  003c  03 21 0000  0002 "c5"`, { section: '5.0 §3.1.2.11.3' }),
  bad(5, 'server', PROTOCOL_ERROR, 'maximum packet size 0 in CONNECT', [],
    h`10 14  0004 "MQTT" 05  02  003c  05 27 00000000  0002 "c5"`, { section: '5.0 §3.1.2.11.4' }),
  bad(5, 'server', PROTOCOL_ERROR, 'request problem information 2', [],
    h`10 11  0004 "MQTT" 05  02  003c  02 17 02  0002 "c5"`, { section: '5.0 §3.1.2.11.7' }),
  bad(5, 'server', PROTOCOL_ERROR, 'request response information 2', [],
    h`10 11  0004 "MQTT" 05  02  003c  02 19 02  0002 "c5"`, { section: '5.0 §3.1.2.11.6' }),
  bad(5, 'server', TOPIC_ALIAS_INVALID, 'topic alias 0', ['MQTT-3.3.2-8'], h`30 07  0001 "t"  03 23 0000`),
  bad(5, 'server', PROTOCOL_ERROR, 'payload format indicator 2', [],
    h`30 06  0001 "t"  02 01 02`, { section: '5.0 §3.3.2.3.2 (only 0 and 1 are defined; API contract)' }),
  bad(5, 'server', PROTOCOL_ERROR, 'subscription identifier 0 in SUBSCRIBE', [],
    h`82 09  0001  02 0b 00  0001 "a" 00`, { section: '5.0 §3.8.2.1.2' }),
  bad(5, 'client', PROTOCOL_ERROR, 'maximum QoS 2 in CONNACK', [],
    h`20 05  00 00  02 24 02`, { section: '5.0 §3.2.2.3.4' }),
  bad(5, 'client', PROTOCOL_ERROR, 'retain available 2 in CONNACK', [],
    h`20 05  00 00  02 25 02`, { section: '5.0 §3.2.2.3.5' }),
  bad(5, 'client', PROTOCOL_ERROR, 'receive maximum 0 in CONNACK', [],
    h`20 06  00 00  03 21 0000`, { section: '5.0 §3.2.2.3.3' }),

  // UTF-8 strings (5.0 §1.5.4, §1.5.7)
  bad(5, 'server', MALFORMED_PACKET, 'topic with an encoded surrogate U+D800', ['MQTT-1.5.4-1'],
    h`30 06  0003 eda080  00`),
  bad(5, 'server', MALFORMED_PACKET, 'topic with a code point above U+10FFFF', ['MQTT-1.5.4-1'],
    h`30 07  0004 f4908080  00`),
  bad(5, 'server', MALFORMED_PACKET, 'topic ending inside a multi-byte sequence', ['MQTT-1.5.4-1'],
    h`30 05  0002 e6b8  00`),
  bad(5, 'server', MALFORMED_PACKET, 'topic with U+0000', ['MQTT-1.5.4-2'], h`30 05  0002 "a" 00  00`),
  bad(5, 'server', MALFORMED_PACKET, 'user property value with invalid UTF-8', ['MQTT-1.5.7-1'],
    h`30 0b  0001 "t"  07 26 0001 "k" 0001 ff`),
  bad(5, 'server', MALFORMED_PACKET, 'reason string with U+0000', ['MQTT-1.5.4-2'],
    h`40 08  0001  80  04 1f 0001 00`),
  bad(5, 'server', MALFORMED_PACKET, 'content type with an encoded surrogate', ['MQTT-1.5.4-1', 'MQTT-3.3.2-19'],
    h`30 0a  0001 "t"  06 03 0003 eda080`),
  bad(5, 'server', MALFORMED_PACKET, 'user name with invalid UTF-8', ['MQTT-3.1.3-12'],
    h`10 12  0004 "MQTT" 05  82  003c  00  0002 "c5"  0001 ff`),

  // Topic names
  bad(5, 'server', TOPIC_NAME_INVALID, 'PUBLISH topic with the single-level wildcard', ['MQTT-3.3.2-2'],
    h`30 06  0003 "a/+"  00`),
  bad(5, 'server', PROTOCOL_ERROR, 'PUBLISH with an empty topic and no topic alias', [],
    h`30 03  0000  00`, { section: '5.0 §3.3.2.1' }),

  // Packet identifiers
  bad(5, 'server', PROTOCOL_ERROR, 'PUBLISH QoS 1 with packet identifier 0', ['MQTT-2.2.1-3'],
    h`32 06  0001 "t"  0000  00`),
  bad(5, 'server', PROTOCOL_ERROR, 'PUBACK with packet identifier 0', [], h`40 02 0000`,
    { section: '5.0 §2.2.1' }),

  // SUBSCRIBE / UNSUBSCRIBE payloads (5.0 §3.8.3, §3.10.3)
  bad(5, 'server', PROTOCOL_ERROR, 'SUBSCRIBE without a topic filter', ['MQTT-3.8.3-2'], h`82 03  0001  00`),
  bad(5, 'server', PROTOCOL_ERROR, 'UNSUBSCRIBE without a topic filter', ['MQTT-3.10.3-2'], h`a2 03  0001  00`),
  bad(5, 'server', PROTOCOL_ERROR, 'subscription retain handling 3', [],
    h`82 07  0001  00  0001 "a" 30`, { section: '5.0 §3.8.3.1' }),
  // 5.0 §3.8.3.1: "It is a Protocol Error if the Maximum QoS field has the value 3." (In 3.1.1 the
  // same byte is malformed [MQTT-3-8.3-4]; 5.0 changed the class.)
  bad(5, 'server', PROTOCOL_ERROR, 'subscription maximum QoS 3', [],
    h`82 07  0001  00  0001 "a" 03`, { section: '5.0 §3.8.3.1' }),
  bad(5, 'server', MALFORMED_PACKET, 'subscription options reserved bit 6 set', ['MQTT-3.8.3-5'],
    h`82 07  0001  00  0001 "a" 40`),
  bad(5, 'server', PROTOCOL_ERROR, 'No Local on a shared subscription', ['MQTT-3.8.3-4'],
    h`82 10  0001  00  000a "$share/g/t" 04`),

  // Reason codes not valid for the packet
  bad(5, 'server', PROTOCOL_ERROR, 'PUBACK reason code 0x01', ['MQTT-3.4.2-1'], h`40 03  0001  01`),
  bad(5, 'server', PROTOCOL_ERROR, 'PUBREC reason code 0x92', ['MQTT-3.5.2-1'], h`50 03  0001  92`),
  bad(5, 'server', PROTOCOL_ERROR, 'PUBREL reason code 0x10', ['MQTT-3.6.2-1'], h`62 03  0001  10`),
  bad(5, 'client', PROTOCOL_ERROR, 'PUBCOMP reason code 0x80', ['MQTT-3.7.2-1'], h`70 03  0001  80`),
  bad(5, 'client', PROTOCOL_ERROR, 'SUBACK reason code 0x03', ['MQTT-3.9.3-2'], h`90 04  0001  00  03`),
  bad(5, 'client', PROTOCOL_ERROR, 'UNSUBACK reason code 0x01', ['MQTT-3.11.3-2'], h`b0 04  0001  00  01`),
  bad(5, 'server', PROTOCOL_ERROR, 'DISCONNECT reason code 0x01', ['MQTT-3.14.2-1'], h`e0 01  01`),
  bad(5, 'server', PROTOCOL_ERROR, 'AUTH reason code 0x01', ['MQTT-3.15.2-1'], h`f0 02  01  00`),
  bad(5, 'server', PROTOCOL_ERROR, 'AUTH continue authentication without an authentication method', [],
    h`f0 09  18  07 1f 0004 "next"`, { section: '5.0 §3.15.2.2.2' }),
  bad(5, 'server', PROTOCOL_ERROR, 'CONNECT with authentication data and no authentication method', [],
    h`10 14  0004 "MQTT" 05  02  003c  05 16 0002 abcd  0002 "c5"`, { section: '5.0 §3.1.2.11.10' }),
  bad(5, 'client', PROTOCOL_ERROR, 'CONNACK reason code 0x01', ['MQTT-3.2.2-8'], h`20 03  00  01  00`),
  bad(5, 'client', MALFORMED_PACKET, 'CONNACK acknowledge flags with reserved bit 1 set', ['MQTT-3.2.2-1'],
    h`20 03  02  00  00`),

  // Packet order and direction
  bad(5, 'server', PROTOCOL_ERROR, 'first packet is AUTH, not CONNECT', ['MQTT-3.1.0-1'], h`f0 00`, { fresh: true }),
  bad(5, 'server', PROTOCOL_ERROR, 'second CONNECT', ['MQTT-3.1.0-2'], v5Connect, { prefix: v5Connect }),
  bad(5, 'server', PROTOCOL_ERROR, 'a client sends CONNACK', [], h`20 03 00 00 00`, { section: '5.0 §2.1.2' }),
  bad(5, 'client', PROTOCOL_ERROR, 'a server sends SUBSCRIBE', [], h`82 07 0001 00 0001 "a" 00`,
    { section: '5.0 §2.1.2' }),

  // Packet size (checked from the fixed header)
  bad(5, 'server', PACKET_TOO_LARGE, 'largest remaining length (268,435,455) over a limit of 268,435,455', [],
    h`30 ff ff ff 7f`, { maxPacketSize: 268_435_455, section: '5.0 §1.5.5, §3.1.2.11.4' }),
  bad(5, 'client', PACKET_TOO_LARGE, 'fixed header declares 2,097,157 bytes, limit 4096', [],
    h`30 80 80 80 01`, { maxPacketSize: 4096, section: '5.0 §3.1.2.11.4' }),
];

export const MALFORMED: readonly MalformedCase[] = [...m3, ...m4, ...m5];
