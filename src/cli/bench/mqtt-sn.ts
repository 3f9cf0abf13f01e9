// `starling bench mqtt-sn`: the MQTT-SN gateway beside the MQTT path of the same broker.
//   starling bench mqtt-sn [-P 4] [-d 5] [-r 20000] [-i 1] [-n 10000] [--json]
//
// It starts its own broker (mqtt-sn-server.ts, a child process) and runs, for MQTT-SN over
// UDP and then for MQTT over TCP, with the same shape:
// - QoS 0: P publishers at a fixed total rate (UDP has no flow control: the rate is the
//   offered load), one MQTT subscriber on `bench/#`: messages per second delivered, loss;
// - QoS 1: P publishers, each with `inflight` unacknowledged publishes (MQTT-SN assumes 1),
//   one MQTT subscriber at QoS 1: messages per second acknowledged and delivered, loss;
// - idle memory: N clients connected and idle (MQTT-SN: a UDP socket each; MQTT: a TCP
//   connection each), the broker's heap and external memory after a full GC, per client,
//   each in a fresh broker process.
// and prints both with their ratio (MQTT-SN / MQTT).

import dgram from 'node:dgram';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Decoder, encode, type Packet } from '../../codec/index.js';
import { decode as snDecode, encode as snEncode } from '../../gateway/mqtt-sn/codec.js';
import type { Datagram } from '../../gateway/mqtt-sn/types.js';
import type { Output } from './report.js';
import { connectPacket, subscribePacket } from './wire.js';

const SERVER = fileURLToPath(new URL('./mqtt-sn-server.js', import.meta.url));
const HOST = '127.0.0.1';

export const MQTT_SN_HELP = `starling bench mqtt-sn: the MQTT-SN gateway beside MQTT, on one broker it starts

Usage: starling bench mqtt-sn [options]

  -P, --publishers N     publishing clients (default 4)
  -d, --duration SECONDS measured time per run (default 5)
  -r, --rate N           QoS 0: messages per second offered over all publishers (default 20000)
  -i, --inflight N       QoS 1: unacknowledged publishes per publisher (default 1, as MQTT-SN assumes)
  -s, --payload BYTES    payload size (default 64)
  -n, --clients N        idle clients for the memory figure (default 10000)
      --json             print JSON instead of a table
  -h, --help             show this help`;

interface Options {
  publishers: number;
  duration: number;
  rate: number;
  inflight: number;
  payload: number;
  clients: number;
  json: boolean;
}

interface Server {
  child: ChildProcess;
  port: number;
  snPort: number;
  usage(): Promise<{ heapUsed: number; external: number; rss: number; clients: number }>;
  stop(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const child = fork(SERVER, [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [first] = (await once(child, 'message')) as [{ port: number; snPort: number }];
  return {
    child,
    port: first.port,
    snPort: first.snPort,
    async usage() {
      child.send('usage');
      const [m] = (await once(child, 'message')) as [{ usage: NodeJS.MemoryUsage; clients: number }];
      return { heapUsed: m.usage.heapUsed, external: m.usage.external, rss: m.usage.rss, clients: m.clients };
    },
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The MQTT subscriber both paths deliver to: counts PUBLISH packets, acknowledges QoS 1. */
class Subscriber {
  received = 0;
  private readonly socket: net.Socket;
  private ready: Promise<void>;

  constructor(port: number, qos: 0 | 1) {
    this.socket = net.connect(port, HOST);
    this.socket.setNoDelay(true);
    let subscribed!: () => void;
    this.ready = new Promise((r) => (subscribed = r));
    const decoder = new Decoder((p: Packet) => {
      if (p.type === 'connack') this.socket.write(subscribePacket(1, ['bench/#'], qos, 4));
      else if (p.type === 'suback') subscribed();
      else if (p.type === 'publish') {
        this.received++;
        if (p.qos === 1) this.socket.write(encode({ type: 'puback', packetId: p.packetId! }, 4));
      }
    }, { role: 'client', protocolVersion: 4 });
    this.socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    this.socket.on('error', () => {});
    this.socket.write(connectPacket(`bench-sub-${process.pid}`, 4, 60));
  }

  subscribed(): Promise<void> {
    return this.ready;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One publisher, over MQTT-SN (UDP) or MQTT (TCP). */
interface Publisher {
  connect(): Promise<void>;
  /** QoS 0: one message now. */
  send(qos: 0 | 1, msgId: number, payload: Buffer): void;
  onAck: ((msgId: number) => void) | undefined;
  close(): void;
}

class SnPublisher implements Publisher {
  private readonly socket = dgram.createSocket('udp4');
  private topicId = 0;
  private waiter: ((d: Datagram) => void) | undefined;
  onAck: ((msgId: number) => void) | undefined;

  constructor(
    private readonly port: number,
    private readonly index: number,
  ) {
    this.socket.on('message', (buf) => {
      const d = snDecode(buf);
      if (d.type === 'puback') this.onAck?.(d.msgId);
      else this.waiter?.(d);
    });
  }

  private request(m: Datagram): Promise<Datagram> {
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.socket.send(snEncode(m), this.port, HOST);
    });
  }

  async connect(): Promise<void> {
    await this.request({ type: 'connect', will: false, cleanSession: true, duration: 600, clientId: `bench-sn-${process.pid}-${this.index}` });
    const ack = await this.request({ type: 'register', topicId: 0, msgId: 1, topicName: `bench/sn/${this.index}` });
    if (ack.type !== 'regack') throw new Error(`expected REGACK, got ${ack.type}`);
    this.topicId = ack.topicId;
  }

  send(qos: 0 | 1, msgId: number, payload: Buffer): void {
    this.socket.send(snEncode({ type: 'publish', dup: false, qos, retain: false, topic: { type: 'normal', id: this.topicId }, msgId, payload }), this.port, HOST);
  }

  close(): void {
    this.socket.close();
  }
}

class MqttPublisher implements Publisher {
  private readonly socket: net.Socket;
  private connected!: () => void;
  private readonly done: Promise<void>;
  onAck: ((msgId: number) => void) | undefined;

  constructor(
    port: number,
    private readonly index: number,
  ) {
    this.done = new Promise((r) => (this.connected = r));
    this.socket = net.connect(port, HOST);
    this.socket.setNoDelay(true);
    this.socket.on('error', () => {});
    const decoder = new Decoder((p: Packet) => {
      if (p.type === 'connack') this.connected();
      else if (p.type === 'puback') this.onAck?.(p.packetId);
    }, { role: 'client', protocolVersion: 4 });
    this.socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  }

  async connect(): Promise<void> {
    this.socket.write(connectPacket(`bench-mqtt-${process.pid}-${this.index}`, 4, 600));
    await this.done;
  }

  send(qos: 0 | 1, msgId: number, payload: Buffer): void {
    this.socket.write(encode({ type: 'publish', topic: `bench/mqtt/${this.index}`, payload, qos, retain: false, dup: false, ...(qos === 1 && { packetId: msgId }) }, 4));
  }

  close(): void {
    this.socket.destroy();
  }
}

interface Throughput {
  /** Sent per second over the measured window (QoS 0: the offered rate as the timers kept it). */
  sentPerSecond: number;
  sent: number;
  acked: number;
  received: number;
  /** Delivered per second over the measured window. */
  perSecond: number;
  /** Share of what was owed (sent at QoS 0, acknowledged at QoS 1) that never arrived. */
  loss: number;
}

async function throughput(kind: 'mqtt-sn' | 'mqtt', qos: 0 | 1, o: Options): Promise<Throughput> {
  const server = await startServer();
  const sub = new Subscriber(server.port, qos);
  const pubs: Publisher[] = [];
  try {
    await sub.subscribed();
    for (let i = 0; i < o.publishers; i++) pubs.push(kind === 'mqtt-sn' ? new SnPublisher(server.snPort, i) : new MqttPublisher(server.port, i));
    await Promise.all(pubs.map((p) => p.connect()));
    const payload = Buffer.alloc(o.payload, 0x61);
    let sent = 0;
    let acked = 0;
    const start = performance.now();
    const end = start + o.duration * 1000;
    if (qos === 0) {
      // Fixed offered rate, in 10 ms ticks.
      const perTick = o.rate / 100 / o.publishers;
      let due = 0;
      while (performance.now() < end) {
        due += perTick;
        const n = Math.floor(due);
        due -= n;
        for (const p of pubs) for (let k = 0; k < n; k++) p.send(0, 0, payload);
        sent += n * pubs.length;
        await sleep(10);
      }
    } else {
      // A window of `inflight` per publisher, refilled as PUBACKs come.
      let running = true;
      for (const p of pubs) {
        let next = 1;
        p.onAck = () => {
          acked++;
          if (!running) return;
          sent++;
          p.send(1, next, payload);
          next = next === 0xffff ? 1 : next + 1;
        };
        for (let k = 0; k < o.inflight; k++) {
          sent++;
          p.send(1, next, payload);
          next = next === 0xffff ? 1 : next + 1;
        }
      }
      await sleep(o.duration * 1000);
      running = false;
    }
    const seconds = (performance.now() - start) / 1000;
    // The tail: wait until deliveries stop arriving.
    let last = -1;
    while (sub.received !== last) {
      last = sub.received;
      await sleep(300);
    }
    const owed = qos === 0 ? sent : acked;
    return { sentPerSecond: sent / seconds, sent, acked, received: sub.received, perSecond: sub.received / seconds, loss: owed === 0 ? 0 : Math.max(0, owed - sub.received) / owed };
  } finally {
    for (const p of pubs) p.close();
    sub.close();
    await server.stop();
  }
}

interface Memory {
  clients: number;
  /** Heap and external bytes per client, after a full GC. */
  bytesPerClient: number;
  seconds: number;
}

async function idleMemory(kind: 'mqtt-sn' | 'mqtt', n: number): Promise<Memory> {
  const server = await startServer();
  const udp: dgram.Socket[] = [];
  const tcp: net.Socket[] = [];
  try {
    const before = await server.usage();
    const t0 = performance.now();
    let next = 0;
    const one = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        if (kind === 'mqtt-sn') {
          const s = dgram.createSocket('udp4');
          udp.push(s);
          const ack = once(s, 'message');
          s.send(snEncode({ type: 'connect', will: false, cleanSession: true, duration: 3600, clientId: `idle-${i}` }), server.snPort, HOST);
          await ack;
        } else {
          const s = net.connect(server.port, HOST);
          s.on('error', () => {});
          tcp.push(s);
          await once(s, 'connect');
          const ack = once(s, 'data');
          s.write(connectPacket(`idle-${i}`, 4, 3600));
          await ack;
        }
      }
    };
    await Promise.all(Array.from({ length: 64 }, one));
    const seconds = (performance.now() - t0) / 1000;
    await sleep(500);
    const after = await server.usage();
    if (after.clients < n) throw new Error(`${kind}: ${after.clients} of ${n} clients connected`);
    const grown = after.heapUsed + after.external - (before.heapUsed + before.external);
    return { clients: n, bytesPerClient: grown / n, seconds };
  } finally {
    for (const s of udp) s.close();
    for (const s of tcp) s.destroy();
    await server.stop();
  }
}

function parse(argv: string[]): Options | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      publishers: { type: 'string', short: 'P' },
      duration: { type: 'string', short: 'd' },
      rate: { type: 'string', short: 'r' },
      inflight: { type: 'string', short: 'i' },
      payload: { type: 'string', short: 's' },
      clients: { type: 'string', short: 'n' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) return 'help';
  const int = (name: string, s: string | undefined, dflt: number, min: number): number => {
    if (s === undefined) return dflt;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer of at least ${min}, got ${JSON.stringify(s)}`);
    return n;
  };
  return {
    publishers: int('publishers', v.publishers, 4, 1),
    duration: int('duration', v.duration, 5, 1),
    rate: int('rate', v.rate, 20_000, 1),
    inflight: int('inflight', v.inflight, 1, 1),
    payload: int('payload', v.payload, 64, 0),
    clients: int('clients', v.clients, 10_000, 1),
    json: v.json ?? false,
  };
}

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
const pct = (n: number): string => `${(n * 100).toFixed(n === 0 ? 0 : 2)}%`;

export async function benchMqttSn(argv: string[], io: { stdout: Output; stderr: Output }): Promise<number> {
  let o: Options | 'help';
  try {
    o = parse(argv);
  } catch (err) {
    io.stderr.write(`starling bench mqtt-sn: ${(err as Error).message}\n`);
    return 2;
  }
  if (o === 'help') {
    io.stdout.write(`${MQTT_SN_HELP}\n`);
    return 0;
  }
  const result = {
    options: o,
    qos0: { mqttSn: await throughput('mqtt-sn', 0, o), mqtt: await throughput('mqtt', 0, o) },
    qos1: { mqttSn: await throughput('mqtt-sn', 1, o), mqtt: await throughput('mqtt', 1, o) },
    memory: { mqttSn: await idleMemory('mqtt-sn', o.clients), mqtt: await idleMemory('mqtt', o.clients) },
  };
  if (o.json) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const rows: string[][] = [['run', 'MQTT-SN', 'MQTT', 'MQTT-SN / MQTT']];
  const q0 = result.qos0;
  const q1 = result.qos1;
  const m = result.memory;
  rows.push([`QoS 0 sent/s (asked ${fmt(o.rate)}/s, ${o.publishers} publishers)`, fmt(q0.mqttSn.sentPerSecond), fmt(q0.mqtt.sentPerSecond), '-']);
  rows.push([`QoS 0 delivered/s`, fmt(q0.mqttSn.perSecond), fmt(q0.mqtt.perSecond), (q0.mqttSn.perSecond / q0.mqtt.perSecond).toFixed(2)]);
  rows.push(['QoS 0 loss', pct(q0.mqttSn.loss), pct(q0.mqtt.loss), '-']);
  rows.push([`QoS 1 delivered/s (in flight ${o.inflight} per publisher)`, fmt(q1.mqttSn.perSecond), fmt(q1.mqtt.perSecond), (q1.mqttSn.perSecond / q1.mqtt.perSecond).toFixed(2)]);
  rows.push(['QoS 1 loss', pct(q1.mqttSn.loss), pct(q1.mqtt.loss), '-']);
  rows.push([`idle memory per client, bytes (${fmt(o.clients)} clients)`, fmt(m.mqttSn.bytesPerClient), fmt(m.mqtt.bytesPerClient), (m.mqttSn.bytesPerClient / m.mqtt.bytesPerClient).toFixed(2)]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  io.stdout.write(`${rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n')}\n`);
  return 0;
}
