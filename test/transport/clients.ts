// Small clients for the transport tests: MQTT.js connections that resolve on CONNACK, and a
// minimal MQTT client over any Duplex (a TLS socket after a PROXY header, a WebSocket
// stream) speaking through Starling's codec.

import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Decoder, encode, type ConnackPacket, type Packet } from '../../src/codec/index.js';

/** An MQTT.js client, resolved once connected; rejects if the connection fails or closes first. */
export function connectMqtt(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, clientId: `t-${Math.random().toString(36).slice(2, 10)}`, ...options });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    // Kept for the client's life: a refused TLS connection can report several errors.
    client.on('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => {
      client.end(true);
      reject(new Error('connection closed before CONNACK'));
    });
  });
}

/** Subscribes and waits for SUBACK. */
export async function subscribe(client: MqttClient, topic: string, qos: 0 | 1 | 2 = 1): Promise<void> {
  await client.subscribeAsync(topic, { qos });
}

/** The next message on `client`, within `ms`. */
export function nextMessage(client: MqttClient, ms = 3000): Promise<{ topic: string; payload: Buffer }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
    client.once('message', (topic, payload) => {
      clearTimeout(t);
      resolve({ topic, payload });
    });
  });
}

export function endMqtt(...clients: MqttClient[]): Promise<void> {
  return Promise.all(clients.map((c) => c.endAsync(true).catch(() => {}))).then(() => {});
}

/** The packets a server sends over a stream, decoded as they come. */
export class StreamPeer {
  readonly packets: Packet[] = [];
  closed = false;
  private wakers: Array<() => void> = [];

  constructor(readonly stream: Duplex) {
    const decoder = new Decoder((p) => {
      this.packets.push(p);
      this.wake();
    }, { role: 'client', protocolVersion: 5 });
    stream.on('data', (chunk: Buffer) => decoder.push(chunk));
    stream.on('close', () => {
      this.closed = true;
      this.wake();
    });
    stream.on('error', () => {});
  }

  send(packet: Packet): void {
    this.stream.write(encode(packet, 5));
  }

  /** Sends a 5.0 CONNECT and returns the CONNACK. */
  async connect(clientId = `p-${Math.random().toString(36).slice(2, 10)}`): Promise<ConnackPacket> {
    this.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId });
    const p = await this.next();
    if (p.type !== 'connack') throw new Error(`expected connack, got ${p.type}`);
    return p;
  }

  async next(ms = 3000): Promise<Packet> {
    const deadline = Date.now() + ms;
    while (this.packets.length === 0) {
      if (this.closed) throw new Error('closed while waiting for a packet');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wakers.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.packets.shift()!;
  }

  /** Resolves once the stream has closed; rejects after `ms`. */
  async closedWithin(ms = 3000): Promise<void> {
    if (this.closed) return;
    await Promise.race([
      once(this.stream, 'close'),
      new Promise((_r, reject) => setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms).unref()),
    ]);
  }

  private wake(): void {
    const w = this.wakers;
    this.wakers = [];
    for (const f of w) f();
  }
}
