// 100,000 concurrent MQTT connections in one Starling process, over in-memory streams.
//   npx tsc -p . && node dist/bench/connections-inprocess.js [-n 100000]
//
// TCP cannot show this here: every socket is a file descriptor, and this machine's hard
// open-file limit is 20,000 (root cannot raise it in this VM). So the connections here are
// pairs of in-memory streams, one end handed to `broker.accept()` as an embedding program
// can, the other written and read by a minimal MQTT 3.1.1 client in this same process. No
// descriptors, no kernel sockets, no libuv handles: what is measured is what the broker
// itself does with N clients at once. It connects them all (keep alive 60 s), subscribes
// every one, delivers one message to all N, then has every client ping and counts the
// answers; and it reports the memory per connection (V8 heap and external, after a full
// GC) beside the same N stream pairs without a broker. What a TCP socket adds (Node's
// Socket, its libuv handle, kernel buffers) is measured with real sockets by
// `npm run bench:memory` (bench/connections-memory.ts) up to 19,000 connections.
// Bounded: every stage has a deadline.

import { Duplex } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { parseArgs } from 'node:util';
import { runInNewContext } from 'node:vm';
import { Decoder, encode, type Packet } from '../src/codec/index.js';
import { createBroker } from '../src/index.js';
import type { ListenerInfo } from '../src/broker/types.js';
import { connectPacket, subscribePacket } from '../src/cli/bench/wire.js';

const { values: args } = parseArgs({ options: { connections: { type: 'string', short: 'n', default: '100000' } } });
const N = Number(args.connections);
const STAGE_MS = 120_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** One end of an in-memory byte pipe: what is written to it is read from its peer. */
class End extends Duplex {
  peer: End | undefined;
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.peer?.push(chunk);
    done();
  }
  override _final(done: (err?: Error | null) => void): void {
    this.peer?.push(null);
    done();
  }
  override _read(): void {}
}

function pair(): [End, End] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Notes which types of packet a client end has received, through the project's own decoder. */
class Client {
  readonly seen = new Set<Packet['type']>();
  private readonly decoder = new Decoder(this, { role: 'client', protocolVersion: 4 });

  constructor(readonly end: End) {
    end.on('data', (chunk: Buffer) => this.decoder.push(chunk));
  }

  onPacket(p: Packet): void {
    this.seen.add(p.type);
  }

  send(p: Packet): void {
    this.end.write(encode(p, 4));
  }
}

const LISTENER: ListenerInfo = { type: 'tcp', name: 'in-process', host: '127.0.0.1', port: 0, allowAnonymous: true };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Heap and external memory after the event loop has run what was queued, and full GCs. */
async function memory(): Promise<{ heap: number; external: number }> {
  await sleep(200);
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external };
}

/** Waits until every client has seen a packet of `type`; returns the seconds it took. */
async function until(clients: Client[], type: Packet['type'], what: string): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    let done = 0;
    for (const c of clients) if (c.seen.has(type)) done++;
    if (done === clients.length) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > STAGE_MS) throw new Error(`${what}: ${done} of ${clients.length} after ${STAGE_MS / 1000} s`);
    await sleep(5);
  }
}

const rows: [string, string][] = [];
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const kb = (bytes: number): string => `${fmt(bytes / N / 1024, 2)} KB`;

// The floor: N stream pairs with their clients, and no broker.
let floor = 0;
{
  const before = await memory();
  const held: Client[] = [];
  for (let i = 0; i < N; i++) {
    const [client, server] = pair();
    server.on('data', () => {});
    held.push(new Client(client));
  }
  const after = await memory();
  floor = after.heap - before.heap + after.external - before.external;
  rows.push(['N stream pairs and clients, no broker', `${kb(after.heap - before.heap)} heap + ${kb(after.external - before.external)} external per connection`]);
  held.length = 0;
}

const broker = createBroker({ listeners: [], logLevel: 'warn' });
await broker.listen();
const before = await memory();
const clients: Client[] = [];
let t0 = performance.now();
for (let i = 0; i < N; i++) {
  const [client, server] = pair();
  broker.accept(server, LISTENER, '127.0.0.1');
  clients.push(new Client(client));
  client.write(connectPacket(`inproc-${i}`, 4, 60));
  if (i % 1000 === 999) await sleep(0); // let the broker answer as the connections arrive
}
await until(clients, 'connack', 'CONNACK');
rows.push(['connect', `${fmt(N)} clients connected in ${fmt((performance.now() - t0) / 1000, 2)} s; the broker holds ${fmt(broker.clients.size)}`]);

t0 = performance.now();
for (let i = 0; i < N; i++) clients[i]!.end.write(subscribePacket(1, ['all/#', `one/${i}`], 0, 4));
await until(clients, 'suback', 'SUBACK');
rows.push(['subscribe', `${fmt(2 * N)} subscriptions acknowledged in ${fmt((performance.now() - t0) / 1000, 2)} s`]);

const held = await memory();
rows.push(['memory with the broker, N connected and subscribed', `${kb(held.heap - before.heap)} heap + ${kb(held.external - before.external)} external per connection (the clients' ends included)`]);
rows.push(['the broker alone (the difference)', `${kb(held.heap - before.heap + held.external - before.external - floor)} per connection, its 2 subscriptions included`]);

t0 = performance.now();
clients[0]!.send({ type: 'publish', topic: 'all/x', payload: Buffer.from('hello'), qos: 0, retain: false, dup: false });
await until(clients, 'publish', 'PUBLISH to all');
rows.push(['one PUBLISH to all N', `delivered to all ${fmt(N)} in ${fmt(performance.now() - t0, 0)} ms`]);

t0 = performance.now();
for (const c of clients) c.send({ type: 'pingreq' });
await until(clients, 'pingresp', 'PINGRESP');
rows.push(['every client pings', `${fmt(N)} PINGRESPs in ${fmt((performance.now() - t0) / 1000, 2)} s`]);

t0 = performance.now();
for (const c of clients) c.end.end();
await broker.close();
rows.push(['close', `${fmt((performance.now() - t0) / 1000, 2)} s`]);

const width = Math.max(...rows.map(([name]) => name.length));
console.log(`in-process connections bench: node ${process.version}, ${fmt(N)} connections, MQTT 3.1.1`);
for (const [name, value] of rows) console.log(`  ${name.padEnd(width)}  ${value}`);
