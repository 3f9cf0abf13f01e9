// How the codec tests feed a fixture to the decoder, shared by the round-trip, mqtt-packet and
// fuzz tests so that all three read the table the same way.

import { Decoder, decode, type DecoderOptions } from '../../src/codec/index.js';
import type { Packet, ProtocolVersion } from '../../src/codec/types.js';
import { CONNECT_BYTES, type MalformedCase, type Role, type ValidCase } from './fixtures.js';
import { mulberry32 } from '../../src/cli/bench/random.js';

const isConnect = (bytes: Buffer): boolean => bytes.length > 0 && bytes[0]! >> 4 === 1;

/**
 * A server-role decoder learns the version from CONNECT and refuses anything before it, so
 * CONNECT cases (and order cases) run on a fresh decoder; every other case runs on a decoder
 * told the version up front, as if its CONNECT had been read.
 */
function isFresh(c: ValidCase | MalformedCase): boolean {
  if (c.role !== 'server') return false;
  if ('fresh' in c && (c.fresh || c.prefix)) return true;
  return isConnect(c.bytes);
}

export function decoderOptions(c: ValidCase | MalformedCase): DecoderOptions {
  const options: DecoderOptions = { role: c.role };
  if (!isFresh(c)) options.protocolVersion = c.version;
  if ('maxPacketSize' in c && c.maxPacketSize !== undefined) options.maxPacketSize = c.maxPacketSize;
  return options;
}

/** Decodes a case's bytes as one whole packet (after its prefix, if any). */
export function decodeCase(c: ValidCase | MalformedCase): Packet {
  const prefix = 'prefix' in c ? c.prefix : undefined;
  if (!prefix) return decode(c.bytes, decoderOptions(c));
  const packets: Packet[] = [];
  const d = new Decoder((p) => packets.push(p), decoderOptions(c));
  d.push(prefix);
  packets.length = 0;
  d.push(c.bytes);
  if (packets.length !== 1 || d.buffered !== 0) throw new Error(`expected one packet, got ${packets.length}`);
  return packets[0]!;
}

export interface Stream {
  version: ProtocolVersion;
  role: Role;
  /** What the decoder is created with. */
  options: DecoderOptions;
  /** Bytes to push first that emit no packet the test compares (a server stream's CONNECT). */
  lead: Buffer;
  cases: ValidCase[];
}

/**
 * One stream per role and version: every valid case of that role and version, in table order,
 * as one byte stream. A server stream starts with a CONNECT (the first packet must be one) and
 * holds no other CONNECT (a second is a Protocol Error), so CONNECT cases are left out of it.
 */
export function streams(cases: readonly ValidCase[], maxBytes = Infinity): Stream[] {
  const out: Stream[] = [];
  for (const version of [3, 4, 5] as const) {
    for (const role of ['server', 'client'] as const) {
      const selected = cases.filter(
        (c) => c.version === version && c.role === role && !(role === 'server' && isConnect(c.bytes)) &&
          c.bytes.length <= maxBytes,
      );
      if (selected.length === 0) continue;
      out.push({
        version,
        role,
        options: role === 'server' ? { role } : { role, protocolVersion: version },
        lead: role === 'server' ? CONNECT_BYTES[version] : Buffer.alloc(0),
        cases: selected,
      });
    }
  }
  return out;
}

/** Test name suffix citing the case's statements, e.g. " [MQTT-3.1.2-3]". */
export function cite(c: { statements: string[]; section?: string | undefined }): string {
  if (c.statements.length > 0) return ` ${c.statements.map((s) => `[${s}]`).join(' ')}`;
  return c.section ? ` (${c.section})` : '';
}

/** Deterministic PRNG (mulberry32) so a failing run can be replayed from its seed. */
export const prng = mulberry32;

export function seedFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer seed`);
  return n;
}
