// What durability costs: QoS 1 publishes to persistent subscribers, through Starling with
// each `persistence.durability` (strict, batched, none) and through Mosquitto with its
// persistence on, in one run.
//   npm run bench:durable            (or: node dist/bench/durable.js [options])
//
// P publishers (clean sessions) each keep at most W QoS 1 publishes unacknowledged; S
// subscribers hold persistent sessions (clean=false, 3.1.1) with QoS 1 subscriptions to
// every publisher's topic and acknowledge every message. Measured over `--duration` seconds
// after `--warmup`: PUBACKs per second at the publishers, deliveries per second at the
// subscribers, and the publish-to-PUBACK time (p50, p99, max). After the run every
// acknowledged message must have reached every subscriber; a loss is printed in the table.
//
// Mosquitto's `persistence true` writes its state to disk every `autosave_interval` (1800 s by
// default) and at shutdown, and acknowledges at once: it is the in-memory figure of a peer,
// not a durable one. Starling `strict` syncs before every PUBACK (group commit).

import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Decoder, encode, type Packet } from '../src/codec/index.js';
import { freePort, mosquittoConfig, startServer, stopServer, type Running } from './processes.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '1' },
    repeats: { type: 'string', default: '3' },
    publishers: { type: 'string', default: '4' },
    subscribers: { type: 'string', default: '2' },
    inflight: { type: 'string', default: '32' },
    payload: { type: 'string', default: '64' },
    brokers: { type: 'string', default: 'strict,batched,none,mosquitto,mosquitto-unbounded' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write(`Usage: node dist/bench/durable.js [--duration 4] [--warmup 1] [--repeats 3]
       [--publishers 4] [--subscribers 2] [--inflight 32] [--payload 64]
       [--brokers strict,batched,none,mosquitto,mosquitto-unbounded] [--json]\n`);
  process.exit(0);
}

const DURATION = Number(args.duration) * 1000;
const WARMUP = Number(args.warmup) * 1000;
const REPEATS = Number(args.repeats);
const PUBLISHERS = Number(args.publishers);
const SUBSCRIBERS = Number(args.subscribers);
const INFLIGHT = Math.min(Number(args.inflight), 65535);
const PAYLOAD = Buffer.alloc(Number(args.payload), 'x');

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = path.resolve(here, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'starling-durable-bench-'));

// ---- brokers ------------------------------------------------------------------------------------

type BrokerName = 'strict' | 'batched' | 'none' | 'mosquitto' | 'mosquitto-unbounded';
const LABEL: Record<BrokerName, string> = {
  strict: 'Starling, durability strict (default)',
  batched: 'Starling, durability batched (50 ms)',
  none: 'Starling, durability none (memory)',
  mosquitto: 'Mosquitto, persistence true',
  'mosquitto-unbounded': 'Mosquitto, persistence true, max_queued_messages 0',
};

let runs = 0;
function command(name: BrokerName, port: number): [string, string[]] {
  const data = path.join(tmp, `data-${++runs}`);
  if (name === 'mosquitto' || name === 'mosquitto-unbounded') {
    // Its default max_queued_messages (1000) drops QoS 1 messages it has acknowledged once a
    // subscriber falls that far behind; the 'unbounded' variant queues without limit.
    const queue = name === 'mosquitto-unbounded' ? ['max_queued_messages 0'] : [];
    const conf = mosquittoConfig(tmp, port, ['persistence true', `persistence_location ${data}/`, ...queue]);
    mkdirSync(data, { recursive: true });
    return ['/usr/sbin/mosquitto', ['-c', conf]];
  }
  return [
    process.execPath,
    [path.join(root, 'dist/src/cli/main.js'), '--port', String(port), '--log-level', 'warn', '--set', `persistence.dataDir=${data}`, '--set', `persistence.durability=${name}`],
  ];
}

function startBroker(name: BrokerName): Promise<Running> {
  return freePort().then((port) => startServer(name, port, command(name, port), 15_000));
}

const stopBroker = (r: Running): Promise<void> => stopServer(r, 5000);

process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));

// ---- clients ------------------------------------------------------------------------------------

/** A 3.1.1 client over the codec: enough for CONNECT, SUBSCRIBE, PUBLISH and PUBACK. */
class Client {
  readonly socket: net.Socket;
  private readonly decoder: Decoder;
  private connack: ((sessionPresent: boolean) => void) | undefined;
  onPacket: (p: Packet) => void = () => {};

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    this.socket.on('error', () => {});
    this.decoder = new Decoder(
      (p) => {
        if (p.type === 'connack') this.connack?.(p.sessionPresent);
        else this.onPacket(p);
      },
      { role: 'client', protocolVersion: 4 },
    );
    this.socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
  }

  async connect(clientId: string, clean: boolean): Promise<void> {
    if (this.socket.connecting) await once(this.socket, 'connect');
    const acked = new Promise<boolean>((resolve) => (this.connack = resolve));
    this.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean, keepalive: 0, clientId });
    await acked;
  }

  send(p: Packet): void {
    this.socket.write(encode(p, 4));
  }

  close(): void {
    this.socket.destroy();
  }
}

interface Result {
  broker: BrokerName;
  /** PUBACKs per second at the publishers. */
  acked: number;
  /** Deliveries per second summed over the subscribers. */
  delivered: number;
  p50: number;
  p99: number;
  max: number;
  /** Acknowledged messages some subscriber did not get. */
  lost: number;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function measure(name: BrokerName, run: number): Promise<Result> {
  const broker = await startBroker(name);
  const prefix = `bench/durable/${run}`;
  const subs: Array<{ client: Client; got: Set<string>; count: number }> = [];
  try {
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const client = new Client(broker.port);
      const sub = { client, got: new Set<string>(), count: 0 };
      subs.push(sub);
      // A persistent session: clean=false.
      await client.connect(`durable-sub-${run}-${i}`, false);
      const subacked = new Promise<void>((resolve) => {
        client.onPacket = (p) => {
          if (p.type === 'suback') resolve();
          else if (p.type === 'publish') {
            sub.got.add(p.payload.toString('latin1', 0, 16));
            sub.count++;
            if (p.qos > 0) client.send({ type: 'puback', packetId: p.packetId! });
          }
        };
      });
      client.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: `${prefix}/#`, qos: 1 }] });
      await subacked;
    }

    const t0 = performance.now();
    const measureFrom = t0 + WARMUP;
    const measureTo = measureFrom + DURATION;
    const latencies: number[] = [];
    const acknowledged: string[] = [];
    let ackedInWindow = 0;
    let stopped = false;
    const subCountAtStart = { value: 0 };
    const pubs: Array<Promise<void>> = [];
    for (let i = 0; i < PUBLISHERS; i++) {
      const client = new Client(broker.port);
      await client.connect(`durable-pub-${run}-${i}`, true);
      const sentAt = new Float64Array(INFLIGHT + 1);
      const ids = new Array<string>(INFLIGHT + 1);
      let seq = 0;
      let outstanding = 0;
      const topic = `${prefix}/${i}`;
      const publish = (packetId: number): void => {
        // The first 16 bytes name the message: publisher and sequence.
        const id = `${i.toString().padStart(3, '0')}:${(seq++).toString().padStart(12, '0')}`;
        const payload = Buffer.from(PAYLOAD);
        payload.write(id, 0, 'latin1');
        ids[packetId] = id;
        sentAt[packetId] = performance.now();
        outstanding++;
        client.send({ type: 'publish', topic, payload, qos: 1, retain: false, dup: false, packetId });
      };
      pubs.push(
        new Promise<void>((resolve) => {
          client.onPacket = (p) => {
            if (p.type !== 'puback') return;
            outstanding--;
            const now = performance.now();
            acknowledged.push(ids[p.packetId]!);
            if (now >= measureFrom && now < measureTo) {
              latencies.push(now - sentAt[p.packetId]!);
              ackedInWindow++;
            }
            if (!stopped && now < measureTo) publish(p.packetId);
            else if (outstanding === 0) {
              client.close();
              resolve();
            }
          };
          for (let id = 1; id <= INFLIGHT; id++) publish(id);
        }),
      );
    }
    await new Promise((r) => setTimeout(r, Math.max(0, measureFrom - performance.now())));
    subCountAtStart.value = subs.reduce((s, x) => s + x.count, 0);
    await new Promise((r) => setTimeout(r, Math.max(0, measureTo - performance.now())));
    const delivered = subs.reduce((s, x) => s + x.count, 0) - subCountAtStart.value;
    stopped = true;
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000));
    if ((await Promise.race([Promise.all(pubs), timeout])) === 'timeout') throw new Error(`${name}: publishers did not finish within 15 s`);
    // Every acknowledged message reaches every subscriber (waiting a little for the tail).
    const missing = (): number => subs.reduce((s, x) => s + acknowledged.filter((id) => !x.got.has(id)).length, 0);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && subs.some((x) => x.got.size < acknowledged.length)) await new Promise((r) => setTimeout(r, 50));
    const lost = missing();
    const sorted = Float64Array.from(latencies).sort();
    return {
      broker: name,
      acked: ackedInWindow / (DURATION / 1000),
      delivered: delivered / (DURATION / 1000),
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      max: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN,
      lost,
    };
  } finally {
    for (const s of subs) s.client.close();
    await stopBroker(broker);
  }
}

// ---- run and report -----------------------------------------------------------------------------

const brokers = args.brokers.split(',').map((b) => b.trim()) as BrokerName[];
for (const b of brokers) if (!(b in LABEL)) throw new Error(`unknown broker ${b}: strict, batched, none, mosquitto or mosquitto-unbounded`);
const results = new Map<BrokerName, Result[]>();
const started = Date.now();
for (let r = 0; r < REPEATS; r++) {
  // The order rotates between repetitions: no broker always runs first on a cold machine.
  const order = brokers.map((_, i) => brokers[(i + r) % brokers.length]!);
  for (const b of order) {
    const result = await measure(b, r * brokers.length + order.indexOf(b));
    process.stderr.write(`${b}: ${Math.round(result.acked)} acked/s, p99 ${result.p99.toFixed(2)} ms, lost ${result.lost}\n`);
    results.set(b, [...(results.get(b) ?? []), result]);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const summary = brokers.map((b) => {
  const rs = results.get(b)!;
  return {
    broker: b,
    acked: median(rs.map((x) => x.acked)),
    delivered: median(rs.map((x) => x.delivered)),
    p50: median(rs.map((x) => x.p50)),
    p99: median(rs.map((x) => x.p99)),
    max: Math.max(...rs.map((x) => x.max)),
    lost: rs.reduce((s, x) => s + x.lost, 0),
  };
});

if (args.json) {
  process.stdout.write(`${JSON.stringify({ summary, runs: Object.fromEntries(results) }, null, 2)}\n`);
} else {
  const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
  const memory = summary.find((s) => s.broker === 'none');
  const mosquitto = summary.find((s) => s.broker === 'mosquitto');
  const lines = [
    `QoS 1, ${PUBLISHERS} publishers × ${INFLIGHT} in flight → ${SUBSCRIBERS} persistent subscribers, ${PAYLOAD.length}-byte payloads; ` +
      `median of ${REPEATS} runs of ${DURATION / 1000} s (${os.cpus().length} cores, Node ${process.versions.node})`,
    '',
    '| broker | PUBACK/s | deliveries/s | p50 ms | p99 ms | max ms | lost | vs memory | vs Mosquitto |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...summary.map(
      (s) =>
        `| ${LABEL[s.broker]} | ${fmt(s.acked)} | ${fmt(s.delivered)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.max, 1)} | ${s.lost} | ` +
        `${memory !== undefined ? fmt(s.acked / memory.acked, 2) : '–'} | ${mosquitto !== undefined ? fmt(s.acked / mosquitto.acked, 2) : '–'} |`,
    ),
  ];
  const strict = summary.find((s) => s.broker === 'strict');
  if (strict !== undefined && memory !== undefined) {
    const ratio = strict.acked / memory.acked;
    lines.push('', `strict reaches ${(ratio * 100).toFixed(0)}% of the in-memory QoS 1 throughput: ${ratio >= 0.5 ? 'meets' : 'misses'} the 50% target.`);
  }
  lines.push(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
