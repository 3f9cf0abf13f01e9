// A raw MQTT client for the crash tests (test/store/crash.test.ts, the single-node one, and
// test/cluster/cluster-sessions-crash.test.ts): a persistent session that reconnects on its
// own while the broker is down, with its session state kept in the object, as a real client
// keeps it in memory.

import net from 'node:net';
import { Decoder, encode, type Packet, type ProtocolVersion } from '../../src/codec/index.js';

/** Where the peer connects: the broker's current port. */
export interface Target {
  port: number;
}

/**
 * A client with a persistent session that reconnects on its own (every 50 ms while the broker
 * is down) and keeps its session state in this object, as a real client keeps it in memory.
 */
export class Peer {
  socket: net.Socket | undefined;
  connected = false;
  connects = 0;
  private stopped = false;

  constructor(
    readonly clientId: string,
    readonly version: ProtocolVersion,
    private readonly broker: Target,
    private readonly onPacket: (p: Packet) => void,
    private readonly onConnack: (sessionPresent: boolean) => void,
  ) {}

  send(p: Packet): void {
    if (this.connected) this.socket!.write(encode(p, this.version));
  }

  /** Keeps a connection up until stop(). */
  async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.connected && this.socket === undefined) this.open();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private open(): void {
    const socket = net.connect(this.broker.port, '127.0.0.1');
    this.socket = socket;
    const decoder = new Decoder(
      (p) => {
        if (p.type === 'connack') {
          if (p.reasonCode !== 0) return void socket.destroy();
          this.connected = true;
          this.connects++;
          this.onConnack(p.sessionPresent);
          return;
        }
        if (this.connected) this.onPacket(p);
      },
      { role: 'client', protocolVersion: this.version },
    );
    socket.on('connect', () => {
      socket.write(
        encode(
          {
            type: 'connect',
            protocolName: 'MQTT',
            protocolVersion: this.version,
            clean: false,
            keepalive: 0,
            clientId: this.clientId,
            ...(this.version === 5 && { properties: { sessionExpiryInterval: 3600 } }),
          },
          this.version,
        ),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.connected = false;
      if (this.socket === socket) this.socket = undefined;
    });
  }

  stop(): void {
    this.stopped = true;
    this.socket?.end();
  }
}
