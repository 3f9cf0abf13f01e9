// Plain TCP listener: accepts sockets and hands them to the broker as byte streams, after
// the PROXY protocol header when the listener sits behind a load balancer.

import net from 'node:net';
import type { Listener, ListenerInfo, ListenerOptions, OnStream } from './types.js';
import { TransportGuard } from './guard.js';
import { DEFAULT_HANDSHAKE_TIMEOUT, ProxyFront } from './proxy-protocol.js';
import { closeServer, formatAddress, isLoopback, listenTcp, remoteView } from './sockets.js';

export { isLoopback } from './sockets.js';

export class TcpListener implements Listener {
  private readonly server: net.Server;
  private readonly host: string;
  private readonly port: number;
  private readonly allowAnonymous: boolean;
  private readonly name: string | undefined;
  private address: ListenerInfo | undefined;
  /** `address` for a client the PROXY header places off this machine. */
  private remote: ListenerInfo | undefined;

  constructor(
    private readonly options: ListenerOptions,
    private readonly onSocket: OnStream,
    private readonly guard: TransportGuard = new TransportGuard(),
  ) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 1883;
    this.name = options.name;
    // Secure default: anonymous clients only on a listener this machine alone can reach.
    this.allowAnonymous = options.allowAnonymous ?? isLoopback(this.host);
    const admit = (socket: net.Socket): boolean => guard.admit(socket, this.info.name);
    if (options.proxyProtocol === true) {
      const front = new ProxyFront(
        options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
        (socket) => {
          socket.setNoDelay(true);
          // On loopback behind a proxy, the client is as local as its header says.
          this.onSocket(socket, front.isLocal(socket) ? this.info : this.remote!, front.remoteAddress(socket));
          // The header was read in paused mode; the broker's 'data' listener alone would not
          // restart an explicitly paused stream.
          socket.resume();
        },
        admit,
      );
      this.server = front.server;
    } else {
      this.server = net.createServer({ noDelay: true }, (socket) => {
        if (!admit(socket)) return;
        this.onSocket(socket, this.info, formatAddress(socket.remoteAddress, socket.remotePort));
      });
    }
  }

  get info(): ListenerInfo {
    if (this.address === undefined) throw new Error('listener is not open');
    return this.address;
  }

  async open(): Promise<void> {
    const port = await listenTcp(this.server, this.port, this.host);
    this.address = {
      type: 'tcp',
      name: this.name ?? `tcp:${this.host}:${port}`,
      host: this.host,
      port,
      allowAnonymous: this.allowAnonymous,
    };
    this.remote = remoteView(this.address, this.options.allowAnonymous);
    this.guard.watch(this.server, this.address.name);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }
}
