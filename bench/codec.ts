// Codec throughput, Starling beside mqtt-packet (the codec of MQTT.js and Aedes) in one run.
//   npm run bench:codec             (or: node dist/bench/codec.js [--seconds 1] [--rounds 5])
// Each case runs for a fixed time per round; the table shows the median of the rounds.

import { parseArgs } from 'node:util';
import mqttPacket from 'mqtt-packet';
import { Decoder, encode, type Packet, type ProtocolVersion } from '../src/codec/index.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '1' }, rounds: { type: 'string', default: '5' } },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);

interface Case {
  name: string;
  version: ProtocolVersion;
  ours: Packet;
  theirs: mqttPacket.Packet;
}

const payload64 = Buffer.alloc(64, 0x61);
const cases: Case[] = [
  {
    name: 'PUBLISH QoS 0, 64 B, 3.1.1',
    version: 4,
    ours: { type: 'publish', topic: 'site/42/device/17/temp', payload: payload64, qos: 0, retain: false, dup: false },
    theirs: { cmd: 'publish', topic: 'site/42/device/17/temp', payload: payload64, qos: 0, retain: false, dup: false },
  },
  {
    name: 'PUBLISH QoS 1, 64 B, 5.0 + props',
    version: 5,
    ours: {
      type: 'publish', topic: 'site/42/device/17/temp', payload: payload64, qos: 1, retain: false, dup: false,
      packetId: 42, properties: { messageExpiryInterval: 60, contentType: 'application/json', userProperties: [['k', 'v']] },
    },
    theirs: {
      cmd: 'publish', topic: 'site/42/device/17/temp', payload: payload64, qos: 1, retain: false, dup: false,
      messageId: 42, properties: { messageExpiryInterval: 60, contentType: 'application/json', userProperties: { k: 'v' } },
    },
  },
  {
    name: 'PUBACK, 3.1.1',
    version: 4,
    ours: { type: 'puback', packetId: 42 },
    theirs: { cmd: 'puback', messageId: 42 },
  },
  {
    name: 'SUBSCRIBE 2 filters, 5.0',
    version: 5,
    ours: {
      type: 'subscribe', packetId: 7,
      subscriptions: [
        { topicFilter: 'site/+/device/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { topicFilter: 'alerts/#', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 1 },
      ],
    },
    theirs: {
      cmd: 'subscribe', messageId: 7,
      subscriptions: [
        { topic: 'site/+/device/#', qos: 1, nl: false, rap: false, rh: 0 },
        { topic: 'alerts/#', qos: 2, nl: true, rap: true, rh: 1 },
      ],
    } as mqttPacket.ISubscribePacket,
  },
];

/** Runs `fn` (which handles `batch` packets) for SECONDS; returns packets per second. */
function rate(batch: number, fn: () => void): number {
  const deadline = process.hrtime.bigint() + BigInt(Math.round(SECONDS * 1e9));
  let n = 0;
  const t0 = process.hrtime.bigint();
  let now = t0;
  while (now < deadline) {
    for (let i = 0; i < 16; i++) fn();
    n += 16 * batch;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - t0) / 1e9);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A stream of back-to-back copies of one packet, cut into 64 KiB socket-sized chunks. */
function chunks(bytes: Buffer, count: number): Buffer[] {
  const all = Buffer.concat(Array.from({ length: count }, () => bytes));
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += 65536) out.push(all.subarray(i, i + 65536));
  return out;
}

interface Row {
  name: string;
  op: string;
  size: number;
  ours: number;
  theirs: number;
}
const rows: Row[] = [];

for (const c of cases) {
  const bytes = encode(c.ours, c.version);
  const theirBytes = mqttPacket.generate(c.theirs, { protocolVersion: c.version });
  if (!bytes.equals(theirBytes)) {
    // Both are valid encodings; they differ only where the spec leaves a choice.
    console.error(`note: ${c.name}: encodings differ (ours ${bytes.length} B, mqtt-packet ${theirBytes.length} B)`);
  }
  const count = 4096;
  const stream = chunks(bytes, count);
  const isConnectless = { role: c.ours.type === 'suback' ? 'client' : 'server', protocolVersion: c.version } as const;

  const dec: number[] = [];
  const decTheirs: number[] = [];
  const enc: number[] = [];
  const encTheirs: number[] = [];
  let sink = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const ours = new Decoder(() => sink++, isConnectless);
    dec.push(rate(count, () => { for (const chunk of stream) ours.push(chunk); }));
    const parser = mqttPacket.parser({ protocolVersion: c.version });
    parser.on('packet', () => sink++);
    decTheirs.push(rate(count, () => { for (const chunk of stream) parser.parse(chunk); }));
    enc.push(rate(1, () => { sink += encode(c.ours, c.version).length; }));
    encTheirs.push(rate(1, () => { sink += mqttPacket.generate(c.theirs, { protocolVersion: c.version }).length; }));
  }
  if (sink === 0) throw new Error('nothing was decoded');
  rows.push({ name: c.name, op: 'decode', size: bytes.length, ours: median(dec), theirs: median(decTheirs) });
  rows.push({ name: c.name, op: 'encode', size: bytes.length, ours: median(enc), theirs: median(encTheirs) });
}

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);
const mb = (pps: number, size: number): string => ((pps * size) / 1e6).toFixed(0);
console.log(`\nCodec throughput, median of ${ROUNDS} rounds of ${SECONDS}s, node ${process.version}`);
console.log('| packet | op | bytes | Starling pkt/s | MB/s | mqtt-packet pkt/s | MB/s | ratio |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.op} | ${r.size} | ${fmt(r.ours)} | ${mb(r.ours, r.size)} | ${fmt(r.theirs)} | ${mb(r.theirs, r.size)} | ${(r.ours / r.theirs).toFixed(2)}x |`,
  );
}
