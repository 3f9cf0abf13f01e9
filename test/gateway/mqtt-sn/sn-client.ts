// Test harness for the MQTT-SN gateway: a broker with an mqtt-sn listener (and a TCP one for
// MQTT clients) on free loopback ports, and a UDP client that sends exactly the messages a
// test gives it through our codec and collects what comes back.

import dgram from 'node:dgram';
import { once } from 'node:events';
import { createBroker, type Broker, type BrokerOptions } from '../../../src/index.js';
import type { MqttSnOptions } from '../../../src/gateway/mqtt-sn/options.js';
import { decode, encode } from '../../../src/gateway/mqtt-sn/codec.js';
import type { Datagram } from '../../../src/gateway/mqtt-sn/types.js';

export interface SnBroker {
  broker: Broker;
  /** The UDP port of the MQTT-SN listener. */
  snPort: number;
  /** The TCP port of the MQTT listener. */
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startSnBroker(mqttSn: MqttSnOptions = {}, options: BrokerOptions = {}, host = '127.0.0.1'): Promise<SnBroker> {
  const broker = createBroker({
    logLevel: false,
    listeners: [
      { port: 0, host: '127.0.0.1' },
      { type: 'mqtt-sn', port: 0, host, mqttSn: { retryInterval: 300, ...mqttSn } },
    ],
    ...options,
  });
  const [tcp, sn] = await broker.listen();
  return { broker, port: tcp!.port, snPort: sn!.port, url: `mqtt://127.0.0.1:${tcp!.port}`, close: () => broker.close() };
}

type Of<T extends Datagram['type']> = Extract<Datagram, { type: T }>;

export class SnClient {
  readonly received: Datagram[] = [];
  private waiters: Array<() => void> = [];
  /** Drops the next n datagrams from the gateway (a lost datagram). */
  dropIncoming = 0;

  private constructor(
    readonly socket: dgram.Socket,
    readonly port: number,
    readonly host: string,
  ) {
    socket.on('message', (buf) => {
      if (this.dropIncoming > 0) {
        this.dropIncoming--;
        return;
      }
      this.received.push(decode(buf));
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }

  /** `from`: the local address to send from (another loopback address is another source). */
  static async open(port: number, host = '127.0.0.1', from = host): Promise<SnClient> {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.bind(0, from);
    await once(socket, 'listening');
    // A test that fails before close() must not keep the process alive.
    socket.unref();
    return new SnClient(socket, port, host);
  }

  /** CONNECT (no will) and CONNACK accepted. */
  static async connect(port: number, clientId: string, opts: { clean?: boolean; duration?: number; host?: string; from?: string } = {}): Promise<SnClient> {
    const c = await SnClient.open(port, opts.host, opts.from);
    c.send({ type: 'connect', will: false, cleanSession: opts.clean ?? true, duration: opts.duration ?? 60, clientId });
    const ack = await c.expect('connack');
    if (ack.returnCode !== 0) throw new Error(`CONNACK refused: ${ack.returnCode}`);
    return c;
  }

  send(m: Datagram): void {
    this.sendRaw(encode(m));
  }

  sendRaw(buf: Buffer): void {
    this.socket.send(buf, this.port, this.host);
  }

  async next(ms = 3000): Promise<Datagram> {
    const deadline = Date.now() + ms;
    while (this.received.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no datagram within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received.shift()!;
  }

  async expect<T extends Datagram['type']>(type: T, ms = 3000): Promise<Of<T>> {
    const d = await this.next(ms);
    if (d.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(d, (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString() : v))}`);
    return d as Of<T>;
  }

  /** Nothing arrives for `ms` (each use has a positive control on the same client). */
  async silent(ms = 300): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.received.length > 0) throw new Error(`unexpected datagram ${this.received[0]!.type}`);
  }

  /** REGISTER a topic name; resolves to its topic id. */
  async register(topicName: string, msgId = 1): Promise<number> {
    this.send({ type: 'register', topicId: 0, msgId, topicName });
    const ack = await this.expect('regack');
    if (ack.returnCode !== 0 || ack.msgId !== msgId) throw new Error(`REGACK ${ack.returnCode}`);
    return ack.topicId;
  }

  /** The next PUBLISH, answering a REGISTER before it (as a client must); with its topic name. */
  async publishReceived(ms = 3000): Promise<{ publish: Of<'publish'>; topicName: string | undefined }> {
    let d = await this.next(ms);
    let topicName: string | undefined;
    if (d.type === 'register') {
      topicName = d.topicName;
      this.send({ type: 'regack', topicId: d.topicId, msgId: d.msgId, returnCode: 0 });
      d = await this.next(ms);
    }
    if (d.type !== 'publish') throw new Error(`expected publish, got ${d.type}`);
    return { publish: d, topicName };
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}
