// What a hostile client can make the broker hold, in resident memory: the attacks of issue 15
// (items 5 and 6), each against a fresh broker in a child process (node --expose-gc, no store,
// as `starling --port N` runs without persistence), with the limits it is given.
//   npx tsc -p . && node dist/bench/memory-attacks.js [attack...] [--limits '{"maxRetainedBytes":33554432}']
// Attacks (all by default):
//   retained  one client publishes 3,000 retained messages, 1-byte payload, 60 KB topics (QoS 0)
//   filters   one client subscribes to 3,000 filters of 60 KB, one SUBSCRIBE each
//   queue     an offline persistent session on 'q/#' is sent 3,000 QoS 1 messages with 60 KB
//             topics and a 1-byte payload
//   connect   400 connections each send all but the last byte of a 1 MiB CONNECT
//             (--connect-bytes N: of an N-byte one, e.g. one at limits.maxConnectPacketSize)
// Each line: the RSS before, at the end of the attack, and after a full GC once the attacker
// has gone (what the broker keeps), and what the broker stored. Figures vary by some MB
// between runs; the differences that matter here are hundreds of MB.

import { fork } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBroker, type Broker } from '../src/index.js';
import { Decoder, encode } from '../src/codec/index.js';
import type { Packet, ProtocolVersion } from '../src/codec/types.js';

const self = fileURLToPath(import.meta.url);
const ATTACKS = ['retained', 'filters', 'queue', 'connect'] as const;
type Attack = (typeof ATTACKS)[number];
const COUNT = 3_000;
const NAME = 60_000;
const CONNECTS = 400;
let connectSize = 1024 * 1024;

type ToServer = { cmd: 'sample'; gc: boolean } | { cmd: 'stop' };
interface Sample {
  rss: number;
  heapUsed: number;
  external: number;
  retained: number;
  subscriptions: number;
  queued: number;
  connections: number;
}

// ---- the broker child --------------------------------------------------------------------

async function serve(limits: Record<string, number>): Promise<void> {
  const broker: Broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }], logLevel: false, limits });
  const port = (await broker.listen())[0]!.port;
  const gc = (globalThis as { gc?: () => void }).gc!;
  process.on('message', (m: ToServer) => {
    if (m.cmd === 'stop') process.exit(0);
    if (m.gc) for (let i = 0; i < 3; i++) gc();
    let queued = 0;
    for (const s of broker.sessions.values()) queued += s.queued;
    const u = process.memoryUsage();
    const sample: Sample = { rss: u.rss, heapUsed: u.heapUsed, external: u.external, retained: broker.retained.size, subscriptions: broker.views.subscriptionCount, queued, connections: broker.connections.size };
    process.send!(sample);
  });
  process.send!({ port });
}

// ---- a minimal client ------------------------------------------------------------------------

class Client {
  private readonly packets: Packet[] = [];
  private wake: (() => void) | undefined;
  closed = false;
  private constructor(readonly socket: net.Socket, version: ProtocolVersion) {
    const decoder = new Decoder((p) => {
      this.packets.push(p);
      this.wake?.();
    }, { role: 'client', protocolVersion: version, maxPacketSize: 256 * 1024 * 1024 });
    socket.on('data', (b: Buffer) => decoder.push(b));
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, clientId: string, version: ProtocolVersion = 4, extra: object = {}): Promise<Client> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const c = new Client(socket, version);
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId, ...extra } as Packet);
    const ack = await c.next();
    if (ack.type !== 'connack' || ack.reasonCode !== 0) throw new Error(`CONNACK: ${JSON.stringify(ack)}`);
    return c;
  }

  send(p: Packet): boolean {
    return this.socket.write(encode(p, 4));
  }

  async next(): Promise<Packet> {
    while (this.packets.length === 0) {
      if (this.closed) throw new Error('closed');
      await new Promise<void>((r) => (this.wake = r));
    }
    return this.packets.shift()!;
  }

  /** Waits until the broker has handled everything sent so far (PINGRESP comes after it). */
  async sync(): Promise<Packet[]> {
    this.socket.write(Buffer.from([0xc0, 0x00]));
    const got: Packet[] = [];
    for (;;) {
      const p = await this.next();
      if (p.type === 'pingresp') return got;
      got.push(p);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const longName = (prefix: string, i: number): string => `${prefix}/${i}/`.padEnd(NAME, 'x');

async function drainWrites(socket: net.Socket): Promise<void> {
  if (socket.writableNeedDrain) await once(socket, 'drain');
}

// ---- the attacks -------------------------------------------------------------------------------

async function attack(name: Attack, port: number): Promise<string> {
  switch (name) {
    case 'retained': {
      const c = await Client.connect(port, 'attack-retained');
      for (let i = 0; i < COUNT; i++) {
        c.send({ type: 'publish', topic: longName('r', i), payload: Buffer.from('x'), qos: 0, retain: true, dup: false });
        await drainWrites(c.socket);
      }
      await c.sync();
      c.close();
      return `${COUNT} retained publishes sent`;
    }
    case 'filters': {
      const c = await Client.connect(port, 'attack-filters');
      for (let i = 0; i < COUNT; i++) {
        c.send({ type: 'subscribe', packetId: (i % 65_535) + 1, subscriptions: [{ topicFilter: longName('f', i), qos: 0 }] });
        await drainWrites(c.socket);
      }
      const acks = await c.sync();
      const granted = acks.filter((p) => p.type === 'suback' && p.reasonCodes[0]! < 0x80).length;
      // The connection stays open: its subscriptions are held while it is.
      (globalThis as { keep?: Client }).keep = c;
      return `${granted} of ${COUNT} filters granted`;
    }
    case 'queue': {
      const sub = await Client.connect(port, 'attack-queue-sub', 4, { clean: false });
      sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'q/#', qos: 1 }] });
      await sub.sync();
      sub.close();
      await new Promise((r) => setTimeout(r, 200));
      const c = await Client.connect(port, 'attack-queue-pub');
      for (let i = 0; i < COUNT; i++) {
        c.send({ type: 'publish', topic: longName('q', i), payload: Buffer.from('x'), qos: 1, packetId: (i % 65_535) + 1, retain: false, dup: false });
        await drainWrites(c.socket);
      }
      await c.sync();
      c.close();
      return `${COUNT} QoS 1 publishes sent to an offline session`;
    }
    case 'connect': {
      // A CONNECT (5.0) declaring 1 MiB, whose body starts as a real one does: the attacker
      // sends all of it but the last byte, and waits.
      const body = connectSize - 5;
      const head = Buffer.from([0x10, 0x80 | (body & 0x7f), 0x80 | ((body >> 7) & 0x7f), 0x80 | ((body >> 14) & 0x7f), body >> 21]);
      const start = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 0x02, 0, 0]);
      const packet = Buffer.concat([head, start, Buffer.alloc(connectSize - head.length - start.length - 1, 0x61)]);
      const sockets: net.Socket[] = [];
      let refused = 0;
      await Promise.all(
        Array.from({ length: CONNECTS }, async () => {
          const s = net.connect(port, '127.0.0.1');
          s.on('error', () => {});
          s.on('data', () => {});
          s.on('close', () => refused++);
          sockets.push(s);
          await once(s, 'connect');
          s.write(packet);
        }),
      );
      await new Promise((r) => setTimeout(r, 2000));
      (globalThis as { keepSockets?: net.Socket[] }).keepSockets = sockets;
      return `${CONNECTS} partial CONNECTs of ${connectSize} bytes sent; ${refused} closed by the broker`;
    }
  }
}

// ---- the coordinator -----------------------------------------------------------------------------

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`;

async function run(name: Attack, limits: Record<string, number>): Promise<void> {
  const child = fork(self, ['--serve', JSON.stringify(limits)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const request = async (gc: boolean): Promise<Sample> => {
    const reply = once(child, 'message') as Promise<[Sample]>;
    child.send({ cmd: 'sample', gc } satisfies ToServer);
    return (await reply)[0];
  };
  try {
    const [{ port }] = (await once(child, 'message')) as [{ port: number }];
    await new Promise((r) => setTimeout(r, 300));
    const before = await request(true);
    const what = await attack(name, port);
    const during = await request(false);
    const g = globalThis as { keep?: Client; keepSockets?: net.Socket[] };
    // The connect attack is measured with its sockets still open: that is when it holds memory.
    const held = await request(true);
    g.keep?.close();
    for (const s of g.keepSockets ?? []) s.destroy();
    g.keep = undefined;
    g.keepSockets = undefined;
    await new Promise((r) => setTimeout(r, 500));
    const after = await request(true);
    process.stdout.write(
      `${name.padEnd(9)} ${what}\n` +
        `          RSS ${mb(before.rss)} -> ${mb(during.rss)} (held, GC: ${mb(held.rss)}; heap ${mb(held.heapUsed)}, external ${mb(held.external)}) -> ${mb(after.rss)} after the attacker left\n` +
        `          stored: ${held.retained} retained, ${held.subscriptions} subscriptions, ${held.queued} queued, ${held.connections} connections\n`,
    );
  } finally {
    child.send({ cmd: 'stop' } satisfies ToServer);
    await once(child, 'exit');
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { limits: { type: 'string', default: '{}' }, 'connect-bytes': { type: 'string' }, serve: { type: 'string' } },
  });
  if (values.serve !== undefined) return serve(JSON.parse(values.serve) as Record<string, number>);
  const limits = JSON.parse(values.limits) as Record<string, number>;
  if (values['connect-bytes'] !== undefined) connectSize = Number(values['connect-bytes']);
  const chosen = positionals.length === 0 ? [...ATTACKS] : positionals;
  for (const a of chosen) {
    if (!(ATTACKS as readonly string[]).includes(a)) throw new Error(`unknown attack ${a}: ${ATTACKS.join(', ')}`);
    await run(a as Attack, limits);
  }
}

await main();
