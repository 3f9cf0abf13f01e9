// Every fixture decodes to its packet and encodes back to its bytes; the streaming decoder
// emits the same packets however the byte stream is cut; every malformed fixture is refused
// with its reason code.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decoder, decode, encode, ProtocolError } from '../../src/codec/index.js';
import type { Packet, Properties } from '../../src/codec/types.js';
import { MALFORMED, VALID } from './fixtures.js';
import { cite, decodeCase, decoderOptions, prng, seedFromEnv, streams, type Stream } from './helpers.js';
import { h } from './hex.js';

const hex = (b: Buffer): string => (b.length > 64 ? `${b.subarray(0, 64).toString('hex')}… (${b.length} bytes)` : b.toString('hex'));

function assertBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  assert.fail(`${what}: first difference at byte ${at}\n  actual:   ${hex(actual)}\n  expected: ${hex(expected)}`);
}

function assertProtocolError(fn: () => unknown, reasonCode: number, what: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown !== undefined, `${what}: no error thrown`);
  assert.ok(thrown instanceof ProtocolError, `${what}: threw ${String(thrown)}, not a ProtocolError`);
  assert.equal(
    `0x${thrown.reasonCode.toString(16)}`,
    `0x${reasonCode.toString(16)}`,
    `${what}: wrong reason code (${thrown.message})`,
  );
}

/** Reads the fixed header by hand: [header size, remaining length]. */
function fixedHeader(bytes: Buffer): [number, number] {
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * 128 ** (i - 1);
    if ((b & 0x80) === 0) return [1 + i, value];
  }
  throw new Error('remaining length longer than four bytes');
}

describe('fixture table', () => {
  test('every valid fixture’s remaining length matches its bytes', () => {
    for (const c of VALID) {
      const [size, remaining] = fixedHeader(c.bytes);
      assert.equal(c.bytes.length, size + remaining, c.name);
    }
  });

  test('names are unique', () => {
    const names = [...VALID, ...MALFORMED].map((c) => `${c.version} ${c.name}`);
    assert.equal(new Set(names).size, names.length);
  });

  test('every packet type appears for every version it exists in', () => {
    const all: Packet['type'][] = [
      'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback',
      'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'auth',
    ];
    for (const version of [3, 4, 5] as const) {
      const seen = new Set(VALID.filter((c) => c.version === version).map((c) => c.packet.type));
      const expected = version === 5 ? all : all.filter((t) => t !== 'auth');
      assert.deepEqual([...expected].filter((t) => !seen.has(t)), [], `missing in version ${version}`);
    }
  });

  test('every 5.0 property appears in a valid fixture', () => {
    const keys = new Set<string>();
    for (const c of VALID) {
      const p = c.packet as { properties?: Properties; will?: { properties?: Properties } };
      for (const k of Object.keys(p.properties ?? {})) keys.add(k);
      for (const k of Object.keys(p.will?.properties ?? {})) keys.add(k);
    }
    const every: Array<keyof Properties> = [
      'payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData',
      'subscriptionIdentifier', 'subscriptionIdentifiers', 'sessionExpiryInterval', 'assignedClientIdentifier',
      'serverKeepAlive', 'authenticationMethod', 'authenticationData', 'requestProblemInformation',
      'willDelayInterval', 'requestResponseInformation', 'responseInformation', 'serverReference', 'reasonString',
      'receiveMaximum', 'topicAliasMaximum', 'topicAlias', 'maximumQoS', 'retainAvailable', 'userProperties',
      'maximumPacketSize', 'wildcardSubscriptionAvailable', 'subscriptionIdentifiersAvailable',
      'sharedSubscriptionAvailable',
    ];
    assert.deepEqual(every.filter((k) => !keys.has(k)), []);
  });

  test('every error class of the codec has malformed fixtures', () => {
    const codes = new Set(MALFORMED.map((c) => c.reasonCode));
    for (const code of [0x81, 0x82, 0x84, 0x90, 0x95]) assert.ok(codes.has(code), `0x${code.toString(16)}`);
  });
});

describe('decode: valid fixtures', () => {
  for (const c of VALID) {
    test(`${c.name}${cite(c)}`, () => {
      assert.deepStrictEqual(decodeCase(c), c.packet);
    });
  }
});

describe('encode: valid fixtures encode to their bytes', () => {
  for (const c of VALID) {
    if (c.decodeOnly) {
      test(`${c.name}: re-encoding decodes to the same value${cite(c)}`, () => {
        const bytes = encode(c.packet, c.version);
        assert.deepStrictEqual(decodeCase({ ...c, bytes }), c.packet);
      });
    } else {
      test(`${c.name}${cite(c)}`, () => {
        assertBytes(encode(c.packet, c.version), c.bytes, c.name);
      });
    }
  }
});

describe('decode: malformed fixtures are refused with their reason code', () => {
  for (const c of MALFORMED) {
    test(`${c.name} -> 0x${c.reasonCode.toString(16)}${cite(c)}`, () => {
      assertProtocolError(() => decodeCase(c), c.reasonCode, c.name);
    });
  }
});

describe('streaming: malformed fixtures fed one byte at a time', () => {
  for (const c of MALFORMED) {
    test(`${c.name} -> 0x${c.reasonCode.toString(16)}${cite(c)}`, () => {
      const d = new Decoder(() => {}, decoderOptions(c));
      if (c.prefix) d.push(c.prefix);
      assertProtocolError(
        () => {
          for (let i = 0; i < c.bytes.length; i++) d.push(c.bytes.subarray(i, i + 1));
          throw new Error('all bytes pushed without an error');
        },
        c.reasonCode,
        c.name,
      );
    });
  }
});

/**
 * Runs a stream cut into the given chunks and returns the packets after the lead-in CONNECT.
 * With `leadInChunks` the chunks already start with the stream's lead-in bytes.
 */
function run(s: Stream, chunks: Buffer[], leadInChunks = false): Packet[] {
  const out: Packet[] = [];
  const d = new Decoder((p) => out.push(p), s.options);
  if (s.lead.length > 0 && !leadInChunks) d.push(s.lead);
  for (const chunk of chunks) d.push(chunk);
  if (s.role === 'server') assert.equal(out.shift()?.type, 'connect');
  assert.equal(d.buffered, 0, 'bytes left buffered after the stream');
  return out;
}

const label = (s: Stream): string => `${s.role} role, version ${s.version}, ${s.cases.length} packets`;

describe('streaming: all valid packets of a role and version in one stream', () => {
  for (const s of streams(VALID)) {
    const whole = Buffer.concat(s.cases.map((c) => c.bytes));
    const expected = s.cases.map((c) => c.packet);

    test(`${label(s)}: one chunk`, () => {
      assert.deepStrictEqual(run(s, [whole]), expected);
    });

    test(`${label(s)}: random chunk sizes`, () => {
      const seed = seedFromEnv('CODEC_SEED', 0x5eed);
      const rand = prng(seed + s.version * 2 + (s.role === 'server' ? 0 : 1));
      for (let round = 0; round < 20; round++) {
        const chunks: Buffer[] = [];
        for (let i = 0; i < whole.length; ) {
          const n = 1 + Math.floor(rand() ** 3 * 300_000);
          chunks.push(whole.subarray(i, i + n));
          i += n;
        }
        assert.deepStrictEqual(run(s, chunks), expected, `seed ${seed}, round ${round}`);
      }
    });
  }

  // One byte per push: the streams without the multi-megabyte fixtures, so the test stays fast.
  for (const s of streams(VALID, 20_000)) {
    test(`${label(s)}: one byte at a time, lead-in CONNECT included`, () => {
      const whole = Buffer.concat([s.lead, ...s.cases.map((c) => c.bytes)]);
      const chunks: Buffer[] = [];
      for (let i = 0; i < whole.length; i++) chunks.push(whole.subarray(i, i + 1));
      assert.deepStrictEqual(run(s, chunks, true), s.cases.map((c) => c.packet));
    });
  }
});

describe('streaming: each valid packet split at every byte boundary', () => {
  for (const c of VALID) {
    test(`${c.name}${cite(c)}`, () => {
      const n = c.bytes.length;
      // Small packets: every split point. Large ones: the header region, the tail and a sample.
      const points = new Set<number>();
      if (n <= 4096) for (let k = 1; k < n; k++) points.add(k);
      else {
        for (let k = 1; k < 64; k++) points.add(k).add(n - k);
        const rand = prng(n);
        for (let i = 0; i < 64; i++) points.add(1 + Math.floor(rand() * (n - 1)));
      }
      for (const k of points) {
        const packets: Packet[] = [];
        const d = new Decoder((p) => packets.push(p), decoderOptions(c));
        d.push(c.bytes.subarray(0, k));
        assert.deepStrictEqual(packets, [], `split at ${k}: a packet before its last byte`);
        d.push(c.bytes.subarray(k));
        assert.deepStrictEqual(packets, [c.packet], `split at ${k}`);
        assert.equal(d.buffered, 0);
      }
    });
  }
});

describe('streaming: the decoder holds no more than it must', () => {
  test('buffered counts the bytes of the incomplete packet only', () => {
    const d = new Decoder(() => {}, { role: 'server', protocolVersion: 4 });
    const publish = h`30 07  0003 "a/b"  "hi"`;
    d.push(Buffer.concat([publish, publish.subarray(0, 4)]));
    assert.equal(d.buffered, 4);
    d.push(publish.subarray(4));
    assert.equal(d.buffered, 0);
  });
});

describe('packet size is checked from the fixed header, before the body arrives', () => {
  for (const role of ['server', 'client'] as const) {
    for (const version of [3, 4, 5] as const) {
      test(`${role} role, version ${version}: a header declaring 16,386 bytes is refused at its last length byte (limit 1024)`, () => {
        const d = new Decoder(() => assert.fail('no packet expected'), { role, protocolVersion: version, maxPacketSize: 1024 });
        d.push(h`30`);
        d.push(h`ff`);
        assert.ok(d.buffered <= 1024);
        assertProtocolError(() => d.push(h`7f`), 0x95, 'third header byte');
      });

      test(`${role} role, version ${version}: a four-byte length over the limit is refused with no body byte sent`, () => {
        const d = new Decoder(() => assert.fail('no packet expected'), { role, protocolVersion: version, maxPacketSize: 4096 });
        assertProtocolError(() => d.push(h`30 80 80 80 01`), 0x95, 'four-byte remaining length 2,097,152');
      });
    }
  }

  test('a packet exactly at the limit is accepted; one byte over is not (fixed header counted)', () => {
    const publish = h`30 07  0003 "a/b"  "hi"`; // 9 bytes in all
    assert.equal(decode(publish, { role: 'server', protocolVersion: 4, maxPacketSize: 9 }).type, 'publish');
    assertProtocolError(() => decode(publish, { role: 'server', protocolVersion: 4, maxPacketSize: 8 }), 0x95, 'limit 8');
  });

  test('the largest remaining length (0xFF 0xFF 0xFF 0x7F) is a valid header under the protocol maximum', () => {
    const d = new Decoder(() => assert.fail('no packet expected'), { role: 'server', protocolVersion: 5, maxPacketSize: 268_435_460 });
    d.push(h`30 ff ff ff 7f`);
    assert.ok(d.buffered <= 5, `buffered ${d.buffered}`);
  });
});

describe('decode() takes exactly one whole packet', () => {
  test('an incomplete packet is malformed', () => {
    assertProtocolError(() => decode(h`30 07  0003 "a/b"`, { role: 'server', protocolVersion: 4 }), 0x81, 'incomplete');
  });
  test('bytes after the packet are malformed', () => {
    assertProtocolError(() => decode(h`c0 00 c0 00`, { role: 'server', protocolVersion: 4 }), 0x81, 'trailing');
  });
});
