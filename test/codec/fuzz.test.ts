// Fuzzing the streaming decoder: random byte streams and mutations of the fixture table and of
// random valid packets, cut into random chunks, for both roles and every version. Whatever the
// input, the decoder may only emit packets or throw ProtocolError; it must return from every
// push; it never holds, nor allocates for one packet, more than maxPacketSize; and every packet
// it accepts must encode and decode back to itself.
//
// Seeded and replayable: FUZZ_SEED=<n> FUZZ_CASES=<n> node --test dist/test/codec/fuzz.test.js

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decoder, decode, encode, ProtocolError, type DecoderOptions } from '../../src/codec/index.js';
import type { Packet, ProtocolVersion } from '../../src/codec/types.js';
import { CONNECT_BYTES, MALFORMED, VALID, type Role } from './fixtures.js';
import { prng, seedFromEnv } from './helpers.js';
import { randomPacket, type Rand } from './random.js';

const SEED = seedFromEnv('FUZZ_SEED', 0xf0221);
const CASES = seedFromEnv('FUZZ_CASES', 220_000);
const LIMITS = [64, 4096, 65_536, 1 << 20];

interface Seed {
  bytes: Buffer;
  version: ProtocolVersion;
  role: Role;
}

const int = (rand: Rand, min: number, max: number): number => min + Math.floor(rand() * (max - min + 1));
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const isConnect = (b: Buffer): boolean => b.length > 0 && b[0]! >> 4 === 1;

function randomBytes(rand: Rand, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

function varint(value: number): Buffer {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Buffer.from(out);
}

/** Where the fixed header's Remaining Length ends (or the buffer's end if it never does). */
function headerEnd(b: Buffer): number {
  for (let i = 1; i < Math.min(b.length, 5); i++) if ((b[i]! & 0x80) === 0) return i + 1;
  return Math.min(b.length, 5);
}

/** One random mutation; the result may be valid, malformed, truncated or longer than it claims. */
function mutate(rand: Rand, input: Buffer): Buffer {
  const b = Buffer.from(input);
  const at = (): number => int(rand, 0, Math.max(0, b.length - 1));
  switch (int(rand, 0, 9)) {
    case 0: // flip one bit
      if (b.length) b[at()]! ^= 1 << int(rand, 0, 7);
      return b;
    case 1: // overwrite a byte
      if (b.length) b[at()] = int(rand, 0, 255);
      return b;
    case 2: { // insert bytes
      const i = int(rand, 0, b.length);
      return Buffer.concat([b.subarray(0, i), randomBytes(rand, int(rand, 1, 4)), b.subarray(i)]);
    }
    case 3: { // delete bytes
      const i = at();
      return Buffer.concat([b.subarray(0, i), b.subarray(i + int(rand, 1, 4))]);
    }
    case 4: // truncate
      return b.subarray(0, int(rand, 0, b.length));
    case 5: { // tamper with the Remaining Length: small changes, huge claims, 5-byte and non-minimal forms
      const end = headerEnd(b);
      const claims = [
        varint(int(rand, 0, 300)),
        varint(268_435_455),
        varint(int(rand, 0, 268_435_455)),
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]),
        Buffer.from([0x80 | int(rand, 0, 127), 0x00]),
        Buffer.from([0xff, 0xff, 0xff]),
      ];
      return Buffer.concat([b.subarray(0, 1), pick(rand, claims), b.subarray(end)]);
    }
    case 6: { // tamper with a two-byte length (strings, binary data, packet identifiers)
      if (b.length < 4) return b;
      const i = int(rand, 2, b.length - 2);
      b.writeUInt16BE(pick(rand, [0, 1, int(rand, 0, 0xffff), 0xffff, b.length - i]), i);
      return b;
    }
    case 7: // change the fixed header's type and flags
      if (b.length) b[0] = int(rand, 0, 255);
      return b;
    case 8: { // splice a random run of bytes over the middle
      const i = at();
      randomBytes(rand, int(rand, 1, 8)).copy(b, i);
      return b;
    }
    default: { // duplicate a slice
      const i = at();
      const j = int(rand, i, b.length);
      return Buffer.concat([b.subarray(0, j), b.subarray(i, j), b.subarray(j)]);
    }
  }
}

/** Random bytes that start like a packet: a real type with flags and a plausible length. */
function plausible(rand: Rand): Buffer {
  const type = int(rand, 1, 15);
  const flags = type === 3 ? int(rand, 0, 15) : [6, 8, 10].includes(type) ? 2 : rand() < 0.9 ? 0 : int(rand, 0, 15);
  const body = randomBytes(rand, int(rand, 0, 64));
  return Buffer.concat([Buffer.from([(type << 4) | flags]), varint(body.length), body]);
}

function chunks(rand: Rand, b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const style = rand();
  for (let i = 0; i < b.length; ) {
    const n = style < 0.2 ? 1 : style < 0.4 ? b.length : int(rand, 1, 1 + Math.floor(rand() * 64));
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

// Allocation watch: the largest Buffer.allocUnsafe request made while a decoder runs.
let watching = false;
let largestAlloc = 0;
const realAllocUnsafe = Buffer.allocUnsafe;
function watchAllocations(): () => void {
  Buffer.allocUnsafe = ((size: number) => {
    if (watching && size > largestAlloc) largestAlloc = size;
    return realAllocUnsafe(size);
  }) as typeof Buffer.allocUnsafe;
  return () => {
    Buffer.allocUnsafe = realAllocUnsafe;
  };
}

interface Stats {
  cases: number;
  packets: number;
  errors: Map<number, number>;
  slowestPushMs: number;
  /** Largest single allocation the decoder made, as a fraction of that case's limit. */
  largestAllocShare: number;
}

function describeCase(index: number, role: Role, options: DecoderOptions, input: Buffer): string {
  const hex = input.length > 200 ? `${input.subarray(0, 200).toString('hex')}…` : input.toString('hex');
  return `FUZZ_SEED=${SEED} case ${index}: ${role} role, ${JSON.stringify(options)}, input ${hex}`;
}

/** Pushes one input; returns normally unless an invariant breaks. */
function runCase(index: number, rand: Rand, role: Role, version: ProtocolVersion, input: Buffer, stats: Stats): void {
  const maxPacketSize = pick(rand, LIMITS);
  let lead: Buffer = Buffer.alloc(0);
  const options: DecoderOptions = { role, maxPacketSize };
  if (role === 'client') options.protocolVersion = version;
  else if (!isConnect(input)) {
    if (rand() < 0.8) lead = CONNECT_BYTES[version];
    else if (rand() < 0.75) options.protocolVersion = version;
  }
  const accepted: Packet[] = [];
  const d = new Decoder((p) => accepted.push(p), options);
  if (lead.length) d.push(lead);
  accepted.length = 0;

  for (const chunk of chunks(rand, input)) {
    const started = performance.now();
    watching = true;
    try {
      d.push(chunk);
    } catch (err) {
      if (!(err instanceof ProtocolError)) {
        assert.fail(`${describeCase(index, role, options, input)}\nthrew ${String(err)}\n${(err as Error)?.stack ?? ''}`);
      }
      stats.errors.set(err.reasonCode, (stats.errors.get(err.reasonCode) ?? 0) + 1);
      break;
    } finally {
      watching = false;
      const ms = performance.now() - started;
      if (ms > stats.slowestPushMs) stats.slowestPushMs = ms;
    }
    if (d.buffered > maxPacketSize) {
      assert.fail(`${describeCase(index, role, options, input)}\nbuffered ${d.buffered} > maxPacketSize ${maxPacketSize}`);
    }
  }
  if (largestAlloc > maxPacketSize) {
    assert.fail(`${describeCase(index, role, options, input)}\nallocated ${largestAlloc} > maxPacketSize ${maxPacketSize}`);
  }
  stats.largestAllocShare = Math.max(stats.largestAllocShare, largestAlloc / maxPacketSize);
  largestAlloc = 0;

  // Whatever the decoder accepted must be a packet the encoder can write back unchanged.
  const v = d.protocolVersion ?? version;
  for (const p of accepted) {
    stats.packets++;
    const again = p.type === 'connect'
      ? decode(encode(p, p.protocolVersion), { role })
      : decode(encode(p, v), { role, protocolVersion: v });
    assert.deepStrictEqual(again, p, `${describeCase(index, role, options, input)}\nre-encoding changed the packet`);
  }
}

function seeds(): Seed[] {
  const out: Seed[] = [];
  for (const c of VALID) if (c.bytes.length <= 20_000) out.push({ bytes: c.bytes, version: c.version, role: c.role });
  for (const c of MALFORMED) out.push({ bytes: c.bytes, version: c.version, role: c.role });
  const rand = prng(SEED ^ 0x5eed5);
  for (const version of [3, 4, 5] as const) {
    for (const role of ['server', 'client'] as const) {
      for (let i = 0; i < 150; i++) out.push({ bytes: encode(randomPacket(rand, version, role), version), version, role });
    }
  }
  return out;
}

describe(`fuzz (FUZZ_SEED=${SEED})`, () => {
  test(`at least ${CASES} random and mutated streams: only ProtocolError, bounded memory`, { timeout: 120_000 }, (t) => {
    const rand = prng(SEED);
    const pool = seeds();
    const stats: Stats = { cases: 0, packets: 0, errors: new Map(), slowestPushMs: 0, largestAllocShare: 0 };
    const restore = watchAllocations();
    const started = performance.now();
    try {
      for (let i = 0; i < CASES; i++) {
        const r = rand();
        let input: Buffer;
        let version: ProtocolVersion = pick(rand, [3, 4, 5] as const);
        let role: Role = rand() < 0.5 ? 'server' : 'client';
        if (r < 0.45) {
          // A mutated seed, one to four mutations deep.
          const s = pick(rand, pool);
          ({ version, role } = s);
          input = s.bytes;
          for (let m = int(rand, 1, 4); m > 0; m--) input = mutate(rand, input);
        } else if (r < 0.65) {
          // Several seeds of one role and version in one stream, one of them mutated.
          const first = pick(rand, pool);
          ({ version, role } = first);
          const same = pool.filter((s) => s.version === version && s.role === role && !isConnect(s.bytes));
          const parts = Array.from({ length: int(rand, 2, 6) }, () => pick(rand, same).bytes);
          const k = int(rand, 0, parts.length - 1);
          parts[k] = mutate(rand, parts[k]!);
          input = Buffer.concat(parts);
        } else if (r < 0.9) {
          input = Buffer.concat(Array.from({ length: int(rand, 1, 4) }, () => plausible(rand)));
        } else {
          input = randomBytes(rand, int(rand, 0, 256));
        }
        runCase(i, rand, role, version, input, stats);
        stats.cases++;
      }
    } finally {
      restore();
    }
    const seconds = (performance.now() - started) / 1000;
    const errors = [...stats.errors].sort((a, b) => a[0] - b[0]).map(([c, n]) => `0x${c.toString(16)}: ${n}`).join(', ');
    t.diagnostic(`seed ${SEED}: ${stats.cases} cases in ${seconds.toFixed(1)} s; ${stats.packets} packets accepted and re-encoded`);
    t.diagnostic(`ProtocolErrors by reason code: ${errors}`);
    t.diagnostic(`slowest single push: ${stats.slowestPushMs.toFixed(2)} ms`);
    t.diagnostic(`largest decoder allocation: ${(stats.largestAllocShare * 100).toFixed(1)}% of its maxPacketSize`);
    assert.ok(stats.cases >= CASES);
    // Every error class the random inputs can reach should have been reached.
    for (const code of [0x81, 0x82, 0x84, 0x90, 0x95]) assert.ok(stats.errors.has(code), `never saw 0x${code.toString(16)}`);
  });

  test('every valid fixture with a Remaining Length claiming 268,435,455 bytes is refused from the header (limit 4096); a CONNECT once its protocol level is read', () => {
    for (const c of VALID) {
      const end = headerEnd(c.bytes);
      const tampered = Buffer.concat([c.bytes.subarray(0, 1), Buffer.from([0xff, 0xff, 0xff, 0x7f]), c.bytes.subarray(end, end + 64)]);
      const options: DecoderOptions = { role: c.role, maxPacketSize: 4096 };
      // A CONNECT is read 9 bytes further, to its protocol level, so that the server can
      // answer a 5.0 client with CONNACK 0x95 (decoder.ts).
      const connect = c.role === 'server' && isConnect(c.bytes);
      const refusedAt = connect ? 4 + 9 : 4;
      if (!connect) options.protocolVersion = c.version;
      const d = new Decoder(() => assert.fail(`${c.name}: no packet expected`), options);
      let err: unknown;
      let at = -1;
      for (let i = 0; i < tampered.length && err === undefined; i++) {
        try {
          d.push(tampered.subarray(i, i + 1));
        } catch (e) {
          err = e;
          at = i;
        }
        assert.ok(d.buffered <= (connect ? 5 + 9 : 5), `${c.name}: buffered ${d.buffered}`);
      }
      assert.ok(err instanceof ProtocolError, `${c.name}: ${String(err)}`);
      assert.equal(err.reasonCode, 0x95, c.name);
      assert.equal(at, refusedAt, `${c.name}: refused at byte ${at}, not at byte ${refusedAt}`);
      if (connect) assert.equal(d.protocolVersion, c.version, `${c.name}: protocol version read`);
    }
  });
});
