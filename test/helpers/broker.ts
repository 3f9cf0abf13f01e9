// Test harness: a broker on a free loopback port, and a raw MQTT client over a plain
// socket that speaks through Starling's codec, for byte-level scenarios that real client
// libraries would refuse to produce (bad packets, precise ordering, missing acks).

import net from 'node:net';
import { once } from 'node:events';
import { createBroker, type Broker, type BrokerOptions } from '../../src/index.js';
import { Decoder, encode, type ConnectPacket, type Packet, type PacketType, type ProtocolVersion } from '../../src/codec/index.js';

export interface TestBroker {
  broker: Broker;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  const broker = createBroker({ logLevel: false, listeners: [{ port: 0, host: '127.0.0.1' }], ...options });
  const [info] = await broker.listen();
  return { broker, port: info!.port, url: `mqtt://127.0.0.1:${info!.port}`, close: () => broker.close() };
}

/** A client that sends exactly the packets (or bytes) a test gives it. */
export class RawClient {
  readonly packets: Packet[] = [];
  readonly socket: net.Socket;
  closed = false;
  private readonly decoder: Decoder;
  private waiters: Array<() => void> = [];

  private constructor(socket: net.Socket, version: ProtocolVersion) {
    this.socket = socket;
    this.decoder = new Decoder((p) => {
      this.packets.push(p);
      this.wake();
    }, { role: 'client', protocolVersion: version });
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async open(port: number, version: ProtocolVersion = 5): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawClient(socket, version);
  }

  /** Opens a socket and completes CONNECT/CONNACK; throws unless the CONNACK accepts. */
  static async connect(port: number, connect: Partial<ConnectPacket> = {}): Promise<RawClient> {
    const version = connect.protocolVersion ?? 5;
    const c = await RawClient.open(port, version);
    c.send({ type: 'connect', protocolName: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId: `raw-${Math.random().toString(36).slice(2, 10)}`, ...connect });
    const ack = await c.expect('connack');
    if (ack.reasonCode !== 0) throw new Error(`CONNACK refused: 0x${ack.reasonCode.toString(16)}`);
    return c;
  }

  get version(): ProtocolVersion {
    return this.decoder.protocolVersion ?? 5;
  }

  send(packet: Packet): void {
    this.socket.write(encode(packet, packet.type === 'connect' ? packet.protocolVersion : this.version));
  }

  sendRaw(bytes: Buffer | string): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes.replace(/\s+/g, ''), 'hex') : bytes);
  }

  /** The next packet not yet taken, waiting up to `ms`. */
  async next(ms = 2000): Promise<Packet> {
    const deadline = Date.now() + ms;
    while (this.packets.length === 0) {
      if (this.closed) throw new Error('connection closed while waiting for a packet');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.packets.shift()!;
  }

  /** The next packet, which must be of `type`. */
  async expect<T extends PacketType>(type: T, ms = 2000): Promise<Extract<Packet, { type: T }>> {
    const p = await this.next(ms);
    if (p.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(p, (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString() : v))}`);
    return p as Extract<Packet, { type: T }>;
  }

  /** Resolves once the server has closed the connection (rejects after `ms`). */
  async closedByServer(ms = 2000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`connection still open after ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /**
   * Asserts that nothing arrives for `ms`. A test using it also awaits a positive control: a
   * message that must arrive on the same client, so it cannot pass with delivery broken.
   */
  async silent(ms = 200): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.packets.length > 0) throw new Error(`unexpected packet ${this.packets[0]!.type}`);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
