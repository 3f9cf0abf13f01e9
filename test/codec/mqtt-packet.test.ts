// Cross-check against mqtt-packet (the parser/generator of MQTT.js and Aedes), a second,
// independent reading of the same specifications: on every valid fixture both decoders must
// agree, and random valid packets must survive ours -> mqtt-packet and mqtt-packet -> ours.
//
// Both sides are brought into one comparable form (`Norm`) that keeps what both libraries
// model and drops what mqtt-packet does not:
// - User Properties: mqtt-packet keeps an object (name -> value, or value[] for a repeated
//   name), so the relative order of different names is lost; compared as such an object.
// - Short forms: mqtt-packet reports reasonCode 0 whether or not the byte was on the wire, and
//   its generator always writes DISCONNECT's and AUTH's reason code; so for the acks,
//   DISCONNECT and AUTH an absent reason code compares as 0x00 (what the spec says absence means).
// - Payload Format Indicator: mqtt-packet decodes it as a boolean; compared as 0/1.
// - Subscription Identifier in PUBLISH: mqtt-packet gives a number for one and an array for
//   several; compared as an array.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { decode, encode } from '../../src/codec/index.js';
import type { Packet, ProtocolVersion } from '../../src/codec/types.js';
import { VALID, type Role } from './fixtures.js';
import { cite, decodeCase, prng, seedFromEnv } from './helpers.js';
import { randomPacket } from './random.js';

type Norm = Record<string, unknown>;
type Their = Record<string, unknown>;

function userPropsObject(pairs: ReadonlyArray<readonly [string, string]>): Norm {
  const out: Norm = {};
  for (const [name, value] of pairs) {
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

/** Properties in the common form; `publish` says whether 0x0B is a list (PUBLISH) or one value. */
function normProps(props: object | undefined, publish: boolean, ours: boolean): Norm | undefined {
  if (!props) return undefined;
  const out: Norm = {};
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (key === 'userProperties') {
      out[key] = ours ? userPropsObject(value as Array<[string, string]>) : { ...(value as Norm) };
    } else if (key === 'payloadFormatIndicator') {
      out[key] = value === true || value === 1 ? 1 : 0;
    } else if (publish && (key === 'subscriptionIdentifier' || key === 'subscriptionIdentifiers')) {
      out.subscriptionIdentifiers = Array.isArray(value) ? [...(value as number[])] : [value];
    } else {
      out[key] = value;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const withProps = (n: Norm, props: Norm | undefined): Norm => (props ? { ...n, properties: props } : n);

/** Our packet in the common form. */
function normOurs(p: Packet, version: ProtocolVersion): Norm {
  switch (p.type) {
    case 'connect': {
      const n: Norm = {
        type: p.type,
        protocolName: p.protocolName,
        protocolVersion: p.protocolVersion,
        clean: p.clean,
        keepalive: p.keepalive,
        clientId: p.clientId,
      };
      if (p.will) {
        n.will = withProps(
          { topic: p.will.topic, payload: p.will.payload, qos: p.will.qos, retain: p.will.retain },
          normProps(p.will.properties, false, true),
        );
      }
      if (p.username !== undefined) n.username = p.username;
      if (p.password !== undefined) n.password = p.password;
      return withProps(n, normProps(p.properties, false, true));
    }
    case 'connack':
      return withProps({ type: p.type, sessionPresent: p.sessionPresent, reasonCode: p.reasonCode }, normProps(p.properties, false, true));
    case 'publish': {
      const n: Norm = { type: p.type, topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup };
      if (p.packetId !== undefined) n.packetId = p.packetId;
      return withProps(n, normProps(p.properties, true, true));
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      const n: Norm = { type: p.type, packetId: p.packetId };
      if (version === 5) n.reasonCode = p.reasonCode ?? 0;
      return withProps(n, normProps(p.properties, false, true));
    }
    case 'subscribe':
      return withProps(
        {
          type: p.type,
          packetId: p.packetId,
          subscriptions: p.subscriptions.map((s) =>
            version === 5
              ? { topicFilter: s.topicFilter, qos: s.qos, noLocal: !!s.noLocal, retainAsPublished: !!s.retainAsPublished, retainHandling: s.retainHandling ?? 0 }
              : { topicFilter: s.topicFilter, qos: s.qos },
          ),
        },
        normProps(p.properties, false, true),
      );
    case 'suback':
      return withProps({ type: p.type, packetId: p.packetId, reasonCodes: p.reasonCodes }, normProps(p.properties, false, true));
    case 'unsubscribe':
      return withProps({ type: p.type, packetId: p.packetId, topicFilters: p.topicFilters }, normProps(p.properties, false, true));
    case 'unsuback': {
      const n: Norm = { type: p.type, packetId: p.packetId };
      if (version === 5) n.reasonCodes = p.reasonCodes ?? [];
      return withProps(n, normProps(p.properties, false, true));
    }
    case 'pingreq':
    case 'pingresp':
      return { type: p.type };
    case 'disconnect':
    case 'auth': {
      const n: Norm = { type: p.type };
      if (version === 5) n.reasonCode = p.reasonCode ?? 0;
      return withProps(n, normProps(p.properties, false, true));
    }
  }
}

/** An mqtt-packet packet in the common form. */
function normTheirs(p: Their, version: ProtocolVersion): Norm {
  const type = p.cmd as Packet['type'];
  const props = (publish = false): Norm | undefined => normProps(p.properties as object | undefined, publish, false);
  switch (type) {
    case 'connect': {
      const n: Norm = {
        type,
        protocolName: p.protocolId,
        protocolVersion: p.protocolVersion,
        clean: p.clean,
        keepalive: p.keepalive,
        clientId: p.clientId,
      };
      const will = p.will as Their | undefined;
      if (will) {
        n.will = withProps(
          { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain },
          normProps(will.properties as object | undefined, false, false),
        );
      }
      if (p.username !== undefined) n.username = p.username;
      if (p.password !== undefined) n.password = p.password;
      return withProps(n, props());
    }
    case 'connack':
      return withProps(
        { type, sessionPresent: p.sessionPresent, reasonCode: version === 5 ? p.reasonCode : p.returnCode },
        props(),
      );
    case 'publish': {
      const n: Norm = { type, topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup };
      if ((p.qos as number) > 0) n.packetId = p.messageId;
      return withProps(n, props(true));
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp': {
      const n: Norm = { type, packetId: p.messageId };
      if (version === 5) n.reasonCode = p.reasonCode ?? 0;
      return withProps(n, props());
    }
    case 'subscribe':
      return withProps(
        {
          type,
          packetId: p.messageId,
          subscriptions: (p.subscriptions as Their[]).map((s) =>
            version === 5
              ? { topicFilter: s.topic, qos: s.qos, noLocal: s.nl, retainAsPublished: s.rap, retainHandling: s.rh }
              : { topicFilter: s.topic, qos: s.qos },
          ),
        },
        props(),
      );
    case 'suback':
      return withProps({ type, packetId: p.messageId, reasonCodes: p.granted }, props());
    case 'unsubscribe':
      return withProps({ type, packetId: p.messageId, topicFilters: p.unsubscriptions }, props());
    case 'unsuback': {
      const n: Norm = { type, packetId: p.messageId };
      if (version === 5) n.reasonCodes = p.granted;
      return withProps(n, props());
    }
    case 'pingreq':
    case 'pingresp':
      return { type };
    case 'disconnect':
    case 'auth': {
      const n: Norm = { type };
      if (version === 5) n.reasonCode = p.reasonCode ?? 0;
      return withProps(n, props());
    }
  }
}

/** Our packet in mqtt-packet's shape, for its generator. */
function toTheirs(p: Packet, version: ProtocolVersion): Their {
  const props = (properties: object | undefined, publish = false): Their | undefined => {
    const n = normProps(properties, publish, true);
    if (!n) return undefined;
    const out: Their = { ...n };
    if ('payloadFormatIndicator' in out) out.payloadFormatIndicator = out.payloadFormatIndicator === 1;
    if (publish && 'subscriptionIdentifiers' in out) {
      out.subscriptionIdentifier = out.subscriptionIdentifiers;
      delete out.subscriptionIdentifiers;
    }
    return out;
  };
  const withTheirProps = (t: Their, properties: Their | undefined): Their => (properties ? { ...t, properties } : t);
  switch (p.type) {
    case 'connect': {
      const t: Their = {
        cmd: 'connect',
        protocolId: p.protocolName,
        protocolVersion: p.protocolVersion,
        clean: p.clean,
        keepalive: p.keepalive,
        clientId: p.clientId,
      };
      if (p.will) {
        t.will = withTheirProps(
          { topic: p.will.topic, payload: p.will.payload, qos: p.will.qos, retain: p.will.retain },
          props(p.will.properties),
        );
      }
      if (p.username !== undefined) t.username = p.username;
      if (p.password !== undefined) t.password = p.password;
      return withTheirProps(t, props(p.properties));
    }
    case 'connack':
      return withTheirProps(
        { cmd: 'connack', sessionPresent: p.sessionPresent, [version === 5 ? 'reasonCode' : 'returnCode']: p.reasonCode },
        props(p.properties),
      );
    case 'publish': {
      const t: Their = { cmd: 'publish', topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup };
      if (p.packetId !== undefined) t.messageId = p.packetId;
      return withTheirProps(t, props(p.properties, true));
    }
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return withTheirProps({ cmd: p.type, messageId: p.packetId, reasonCode: p.reasonCode ?? 0 }, props(p.properties));
    case 'subscribe':
      return withTheirProps(
        {
          cmd: 'subscribe',
          messageId: p.packetId,
          subscriptions: p.subscriptions.map((s) => ({
            topic: s.topicFilter,
            qos: s.qos,
            nl: !!s.noLocal,
            rap: !!s.retainAsPublished,
            rh: s.retainHandling ?? 0,
          })),
        },
        props(p.properties),
      );
    case 'suback':
      return withTheirProps({ cmd: 'suback', messageId: p.packetId, granted: p.reasonCodes }, props(p.properties));
    case 'unsubscribe':
      return withTheirProps({ cmd: 'unsubscribe', messageId: p.packetId, unsubscriptions: p.topicFilters }, props(p.properties));
    case 'unsuback':
      return withTheirProps({ cmd: 'unsuback', messageId: p.packetId, granted: p.reasonCodes ?? [] }, props(p.properties));
    case 'pingreq':
    case 'pingresp':
      return { cmd: p.type };
    case 'disconnect':
    case 'auth':
      return withTheirProps({ cmd: p.type, reasonCode: p.reasonCode ?? 0 }, props(p.properties));
  }
}

/** Parses one packet with mqtt-packet; throws what it reports. */
function theirParse(bytes: Buffer, version: ProtocolVersion): Their {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const packets: Their[] = [];
  let error: unknown;
  parser.on('packet', (p) => packets.push(p as unknown as Their));
  parser.on('error', (e) => (error ??= e));
  parser.parse(bytes);
  if (error !== undefined) throw error;
  assert.equal(packets.length, 1, 'mqtt-packet emitted no packet');
  return packets[0]!;
}

function theirGenerate(p: Packet, version: ProtocolVersion): Buffer {
  return mqttPacket.generate(toTheirs(p, version) as unknown as mqttPacket.Packet, { protocolVersion: version });
}

function ourDecode(bytes: Buffer, version: ProtocolVersion, role: Role): Packet {
  const connect = bytes.length > 0 && bytes[0]! >> 4 === 1;
  return decode(bytes, connect && role === 'server' ? { role } : { role, protocolVersion: version });
}

// Where mqtt-packet deviates from the specification, the fixture is left out here, with why.
const MQTT_PACKET_DEVIATIONS = new Map<string, string>([
  [
    '5.0 AUTH short form: Remaining Length 0 means Success',
    'mqtt-packet reads a reason code byte that is not there and reports "Invalid auth reason code"; ' +
      '5.0 §3.15.2.1 allows an AUTH with Remaining Length 0',
  ],
]);

/**
 * mqtt-packet deviation: its parser tests `if (result.userProperties[name])` for truthiness, so
 * when a name's first value is the empty string a later pair with that name overwrites it
 * instead of being collected (5.0 §3.3.2.3.7: "The same name is allowed to appear more than
 * once"). Such random packets are left out of the ours -> mqtt-packet direction.
 */
function losesRepeatedUserProperty(p: Packet): boolean {
  const lists: Array<ReadonlyArray<readonly [string, string]> | undefined> = [
    'properties' in p ? p.properties?.userProperties : undefined,
    p.type === 'connect' ? p.will?.properties?.userProperties : undefined,
  ];
  return lists.some((pairs) => {
    if (!pairs) return false;
    const first = new Map<string, string>();
    for (const [name, value] of pairs) {
      if (first.has(name) && first.get(name) === '') return true;
      if (!first.has(name)) first.set(name, value);
    }
    return false;
  });
}

describe('mqtt-packet decodes every valid fixture as we do', () => {
  for (const c of VALID) {
    const deviation = MQTT_PACKET_DEVIATIONS.get(c.name);
    if (deviation !== undefined) {
      // Asserted, not skipped: if mqtt-packet is fixed this fails and the exclusion goes.
      test(`${c.name}${cite(c)}: mqtt-packet still deviates (${deviation})`, () => {
        assert.throws(() => theirParse(c.bytes, c.version));
        assert.doesNotThrow(() => decodeCase(c));
      });
      continue;
    }
    test(`${c.name}${cite(c)}`, () => {
      const ours = normOurs(decodeCase(c), c.version);
      const theirs = normTheirs(theirParse(c.bytes, c.version), c.version);
      assert.deepStrictEqual(theirs, ours);
    });
  }
});

// Random valid packets: a few thousand per direction, from a seeded PRNG.
const SEED = seedFromEnv('CODEC_SEED', 0xc0dec);
const PER_KIND = 400; // 3 versions x 2 roles x 400 = 2,400 packets per direction

function* randomCases(seedOffset: number, generable: boolean): Generator<[Packet, ProtocolVersion, Role]> {
  const rand = prng(SEED + seedOffset);
  for (const version of [3, 4, 5] as const) {
    for (const role of ['server', 'client'] as const) {
      for (let i = 0; i < PER_KIND; i++) yield [randomPacket(rand, version, role, { mqttPacketGenerable: generable }), version, role];
    }
  }
}

const show = (p: Packet, version: ProtocolVersion, role: Role): string =>
  `seed ${SEED}, version ${version}, ${role} role: ${JSON.stringify(p, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v))}`;

describe(`random valid packets (seed ${SEED})`, () => {
  test('encoded by us, parsed by mqtt-packet', (t) => {
    let n = 0;
    let left = 0;
    for (const [p, version, role] of randomCases(1, false)) {
      n++;
      // mqtt-packet deviations (documented above): the AUTH short form, and repeated user
      // property names whose first value is empty.
      const deviates =
        (p.type === 'auth' && p.reasonCode === undefined && p.properties === undefined) || losesRepeatedUserProperty(p);
      if (deviates) {
        left++;
        continue;
      }
      const bytes = encode(p, version);
      assert.deepStrictEqual(normTheirs(theirParse(bytes, version), version), normOurs(p, version), show(p, version, role));
    }
    assert.equal(n, 6 * PER_KIND);
    t.diagnostic(`${n - left} packets compared, ${left} left out for known mqtt-packet deviations`);
    assert.ok(left < n / 10);
  });

  test('generated by mqtt-packet, decoded by us', () => {
    let n = 0;
    for (const [p, version, role] of randomCases(2, true)) {
      n++;
      // mqtt-packet cannot write the AUTH short form: it writes reason 0x00 with empty
      // properties, an AUTH without its required Authentication Method (5.0 §3.15.2.2.2).
      if (p.type === 'auth' && p.reasonCode === undefined && p.properties === undefined) continue;
      const bytes = theirGenerate(p, version);
      assert.deepStrictEqual(normOurs(ourDecode(bytes, version, role), version), normOurs(p, version), show(p, version, role));
    }
    assert.equal(n, 6 * PER_KIND);
  });

  test('encode -> decode is the identity on random packets', () => {
    for (const [p, version, role] of randomCases(3, false)) {
      assert.deepStrictEqual(ourDecode(encode(p, version), version, role), p, show(p, version, role));
    }
  });
});


