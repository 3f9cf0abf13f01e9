// Plain TCP listener: accepts sockets and hands them to the broker as byte streams.

import net from 'node:net';
import type { ListenerInfo, ListenerOptions } from '../broker/types.js';
import type { Listener, OnStream } from './index.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

export class TcpListener implements Listener {
  private readonly server: net.Server;
  private readonly host: string;
  private readonly port: number;
  private readonly allowAnonymous: boolean;
  private readonly name: string | undefined;
  private address: ListenerInfo | undefined;

  constructor(
    options: ListenerOptions,
    private readonly onSocket: OnStream,
  ) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 1883;
    this.name = options.name;
    // Secure default: anonymous clients only on a listener this machine alone can reach.
    this.allowAnonymous = options.allowAnonymous ?? isLoopback(this.host);
    this.server = net.createServer({ noDelay: true }, (socket) => {
      this.onSocket(socket, this.info, `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`);
    });
  }

  get info(): ListenerInfo {
    if (this.address === undefined) throw new Error('listener is not open');
    return this.address;
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', reject);
        const port = (this.server.address() as net.AddressInfo).port;
        this.address = {
          type: 'tcp',
          name: this.name ?? `tcp:${this.host}:${port}`,
          host: this.host,
          port,
          allowAnonymous: this.allowAnonymous,
        };
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
