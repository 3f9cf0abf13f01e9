// Codec statements that the fixture table does not name: each test decodes the bytes a
// client could send and checks the verdict the statement asks for.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode, ProtocolError, type ConnectPacket, type Packet } from '../../src/codec/index.js';

const connect = (over: Partial<ConnectPacket>): ConnectPacket => ({
  type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'c', ...over,
});

function rejects(bytes: Buffer, reasonCode: number, options = {}): void {
  assert.throws(() => decode(bytes, options), (err: unknown) => err instanceof ProtocolError && err.reasonCode === reasonCode);
}

/** A CONNECT with one connect-flags bit changed after encoding. */
function withFlags(packet: ConnectPacket, set: number, clear = 0): Buffer {
  const bytes = encode(packet, packet.protocolVersion);
  const at = 2 + 2 + 4 + 1; // fixed header (2), name length (2), "MQTT" (4), level (1)
  bytes[at] = (bytes[at]! | set) & ~clear;
  return bytes;
}

test('U+FEFF (EF BB BF) in a string is kept, never skipped or stripped [MQTT-1.5.4-3]', () => {
  const topic = '\uFEFFsensors/t';
  const p = decode(encode({ type: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, 5), { protocolVersion: 5 });
  assert.equal((p as { topic: string }).topic, topic);
  assert.equal(Buffer.from((p as { topic: string }).topic)[0], 0xef);
});

// The user name and password rules are numbered differently in the two versions.
const IDS = {
  5: { userAbsent: 'MQTT-3.1.2-16', userPresent: 'MQTT-3.1.2-17', passAbsent: 'MQTT-3.1.2-18', passPresent: 'MQTT-3.1.2-19', clientId: 'MQTT-3.1.3-4' },
  4: { userAbsent: 'MQTT-3.1.2-18', userPresent: 'MQTT-3.1.2-19', passAbsent: 'MQTT-3.1.2-20', passPresent: 'MQTT-3.1.2-21', clientId: 'MQTT-3.1.3-4' },
} as const;

for (const version of [4, 5] as const) {
  const v = version === 5 ? '5.0' : '3.1.1';
  const id = IDS[version];
  test(`${v}: a user name flag without a user name in the payload is malformed [${id.userPresent}]`, () => {
    rejects(withFlags(connect({ protocolVersion: version }), 0x80), 0x81);
  });
  test(`${v}: a password flag without a password in the payload is malformed [${id.passPresent}]`, () => {
    rejects(withFlags(connect({ protocolVersion: version, username: 'u' }), 0x40), 0x81);
  });
  test(`${v}: a user name present with its flag clear leaves bytes over and is malformed [${id.userAbsent}]`, () => {
    rejects(withFlags(connect({ protocolVersion: version, username: 'u' }), 0, 0x80), 0x81);
  });
  test(`${v}: a password present with its flag clear leaves bytes over and is malformed [${id.passAbsent}]`, () => {
    rejects(withFlags(connect({ protocolVersion: version, username: 'u', password: Buffer.from('p') }), 0, 0x40), 0x81);
  });
  test(`${v}: a Client Identifier that is not UTF-8 is malformed [${id.clientId}]`, () => {
    const bytes = encode(connect({ protocolVersion: version, clientId: 'ab' }), version);
    bytes[bytes.length - 1] = 0xff; // last byte of the client id
    rejects(bytes, 0x81);
  });
}

test('5.0: a Will Topic that is not UTF-8 is malformed [MQTT-3.1.3-11]', () => {
  const bytes = encode(connect({ will: { topic: 'w/x', payload: Buffer.from('p'), qos: 0, retain: false } }), 5);
  const at = bytes.indexOf(Buffer.from('w/x'));
  bytes[at + 2] = 0xc0; // an overlong-encoding lead byte
  rejects(bytes, 0x81);
});

test('a QoS 0 PUBLISH with DUP set is malformed [MQTT-3.3.1-2]', () => {
  const bytes = encode({ type: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, 4);
  bytes[0] = bytes[0]! | 0x08;
  rejects(bytes, 0x81, { protocolVersion: 4 });
});

test('a Response Topic with a wildcard is a protocol error [MQTT-3.3.2-14]', () => {
  const p: Packet = { type: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false, properties: { responseTopic: 'replies/#' } };
  rejects(encode(p, 5), 0x82, { protocolVersion: 5 });
});

test('topic names are at least one character long: an empty topic without an alias is refused [MQTT-4.7.3-1]', () => {
  rejects(encode({ type: 'publish', topic: '', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, 4), 0x82, { protocolVersion: 4 });
});

test('topic names must not contain U+0000 [MQTT-4.7.3-2]', () => {
  rejects(encode({ type: 'publish', topic: 'a\u0000b', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, 4), 0x81, { protocolVersion: 4 });
});

test('a topic of 65,535 bytes is accepted; a longer one cannot be encoded [MQTT-4.7.3-3]', () => {
  const topic = 'x'.repeat(65_535);
  const p = decode(encode({ type: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, 4), { protocolVersion: 4 });
  assert.equal((p as { topic: string }).topic.length, 65_535);
  assert.throws(() => encode({ type: 'publish', topic: `${topic}y`, payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, 4), RangeError);
});
