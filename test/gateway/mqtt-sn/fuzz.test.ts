// Random and mutated datagrams: decode may only return a message or throw MqttSnError, and
// whatever it accepts must encode and decode back to the same message. Seeded and replayable:
// FUZZ_SEED=<n> FUZZ_CASES=<n> node --test dist/test/gateway/mqtt-sn/fuzz.test.js

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode, MqttSnError } from '../../../src/gateway/mqtt-sn/codec.js';
import type { Datagram } from '../../../src/gateway/mqtt-sn/types.js';
import { prng, seedFromEnv } from '../../codec/helpers.js';
import { VALID } from './fixtures.js';

const SEED = seedFromEnv('FUZZ_SEED', 0x5a17);
const CASES = seedFromEnv('FUZZ_CASES', 4000);

type Rand = () => number;
const int = (rand: Rand, min: number, max: number): number => min + Math.floor(rand() * (max - min + 1));

function randomDatagram(rand: Rand): Buffer {
  const n = int(rand, 0, 40);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  // Half of them get a plausible header, so the fuzzing reaches the per-type parsers.
  if (n >= 2 && rand() < 0.5) {
    b[0] = rand() < 0.9 ? n : int(rand, 0, 255);
    b[1] = rand() < 0.9 ? int(rand, 0, 0x1d) : 0xfe;
  }
  return b;
}

function mutate(rand: Rand, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const at = (): number => int(rand, 0, Math.max(0, b.length - 1));
  switch (int(rand, 0, 5)) {
    case 0:
      if (b.length) b[at()]! ^= 1 << int(rand, 0, 7);
      break;
    case 1:
      if (b.length) b[at()] = int(rand, 0, 255);
      break;
    case 2:
      b = b.subarray(0, at());
      break;
    case 3:
      b = Buffer.concat([b, Buffer.from([int(rand, 0, 255)])]);
      break;
    case 4: // the flags octet (third octet in the 1-octet Length form)
      if (b.length > 2) b[2] = int(rand, 0, 255);
      break;
    default: // keep the Length consistent with a changed size
      b = Buffer.concat([b, Buffer.alloc(int(rand, 1, 4), 0x61)]);
      if (b[0] !== 1 && b.length <= 255) b[0] = b.length;
  }
  return b;
}

test(`MQTT-SN fuzz: ${CASES} random and mutated datagrams only ever yield a message or MqttSnError (seed ${SEED})`, () => {
  const rand = prng(SEED);
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < CASES; i++) {
    const input = rand() < 0.4 ? randomDatagram(rand) : mutate(rand, VALID[int(rand, 0, VALID.length - 1)]!.bytes);
    let message: Datagram;
    try {
      message = decode(input);
    } catch (err) {
      if (!(err instanceof MqttSnError)) assert.fail(`case ${i} (${input.toString('hex')}): threw ${String(err)}, not an MqttSnError`);
      refused++;
      continue;
    }
    accepted++;
    assert.deepEqual(decode(encode(message)), message, `case ${i} (${input.toString('hex')}) does not survive encode`);
  }
  // Both paths must have been exercised, or the fuzzing says nothing.
  assert.ok(accepted > CASES / 20 && refused > CASES / 20, `accepted ${accepted}, refused ${refused}`);
});
