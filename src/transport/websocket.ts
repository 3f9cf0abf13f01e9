// MQTT over WebSocket ('ws', and 'wss' over TLS), section 6 of both specifications: an HTTP
// server that upgrades requests for one path, selects the "mqtt" subprotocol, and hands the
// broker each WebSocket as a byte stream of its binary messages. Before the upgrade it
// decides what a browser may do: a page from a foreign origin gets no anonymous session
// (any site a user visits could otherwise use a broker on the user's machine), and a request
// a reverse proxy forwarded is not a local client, whatever address the proxy connects from.

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { WebSocket, WebSocketServer, type RawData, type ServerOptions } from 'ws';
import type { Listener, ListenerInfo, ListenerOptions, OnStream, PeerIdentity } from './types.js';
import { DEFAULT_HANDSHAKE_TIMEOUT, ProxyFront } from './proxy-protocol.js';
import { TransportGuard } from './guard.js';
import { closeServer, formatAddress, isLoopback, listenTcp, peerKey, remoteView } from './sockets.js';
import { closeOnTlsError, TlsSettings } from './tls.js';
import { countHandshakes } from './ticket-keys.js';

/** Largest WebSocket message by default: the broker's default maximum packet size. */
export const DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;
/** How long a close handshake may take before the TCP connection is cut, ms. */
const CLOSE_TIMEOUT = 1000;

/**
 * A WebSocket seen as the byte stream MQTT wants. Each binary message's bytes are pushed as
 * they come, so several packets in one message and one packet over several messages both
 * reach the decoder intact [MQTT-6.0.0-2]. Writes made together (the broker corks) go out
 * as one binary message; a write completes when the socket took it, so writableLength is
 * what is really waiting and the broker's backpressure rules apply unchanged.
 */
export class WebSocketStream extends Duplex {
  constructor(private readonly ws: WebSocket) {
    super({ allowHalfOpen: false });
    ws.on('message', (data: RawData, isBinary: boolean) => this.received(data, isBinary));
    ws.on('close', () => this.push(null));
    ws.on('error', (err: Error) => this.destroy(err));
  }

  private received(data: RawData, isBinary: boolean): void {
    if (!isBinary) {
      // [MQTT-6.0.0-1] any other data frame closes the connection.
      this.ws.close(1003, 'MQTT needs binary frames');
      this.destroy(new Error('WebSocket text frame received: MQTT travels in binary frames'));
      return;
    }
    const chunk = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (!this.push(chunk)) this.ws.pause();
  }

  override _read(): void {
    this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.ws.send(chunk, { binary: true, compress: false }, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const data = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.ws.send(data, { binary: true, compress: false }, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A close handshake already begun is left to finish (bounded by CLOSE_TIMEOUT).
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    callback(error);
  }
}

/** What the broker speaks: [MQTT-6.0.0-4] "mqtt", and "mqttv3.1", which MQTT 3.1 clients offer. */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'] as const;

/**
 * [MQTT-6.0.0-4] the server selects "mqtt" (or "mqttv3.1"). Only called when the client
 * offered one of them: a client offering only others was refused before the upgrade; one
 * offering none at all is served without a subprotocol (old clients send no header).
 */
function selectProtocol(offered: Set<string>): string | false {
  return SUBPROTOCOLS.find((p) => offered.has(p)) ?? false;
}

/**
 * True when a Sec-WebSocket-Protocol header is absent or offers a subprotocol we speak. A
 * client must offer "mqtt" [MQTT-6.0.0-3]; one offering only others is not an MQTT client,
 * and upgrading it without a subprotocol would only make a browser fail the connection.
 */
export function subprotocolAcceptable(header: string | undefined): boolean {
  if (header === undefined) return true;
  return header.split(',').some((p) => (SUBPROTOCOLS as readonly string[]).includes(p.trim()));
}

/**
 * Headers by which a reverse proxy names the client it forwards (RFC 7239 and the common
 * de facto ones). Their presence says the client is elsewhere; their content is the
 * client's to forge, so it is not used as an address.
 */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const;

/** An origin as compared: scheme://host[:port] lowercased without a default port, or 'null'. */
export function normalizeOrigin(text: string): string {
  const t = text.trim();
  if (t === '*' || t.toLowerCase() === 'null') return t.toLowerCase();
  try {
    const url = new URL(t);
    // URL gives non-special schemes (a browser extension's) the origin 'null': keep them whole.
    return url.origin !== 'null' ? url.origin : `${url.protocol}//${url.host}`.toLowerCase();
  } catch {
    return t.toLowerCase();
  }
}

/**
 * Which browser pages may open an anonymous session: those from a loopback origin, from
 * the listener's own address, and from the listed origins (`*`: any). Requests without an
 * Origin header come from programs, not pages, and are not a browser's to police.
 */
export class OriginPolicy {
  private readonly listed: ReadonlySet<string>;
  private readonly host: string | undefined;

  constructor(allowed: readonly string[] | undefined, listenerHost: string) {
    this.listed = new Set((allowed ?? []).map(normalizeOrigin));
    for (const o of this.listed) {
      if (o !== '*' && o !== 'null' && !/^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/.test(o)) {
        throw new Error(`allowedOrigins: "${o}" is not an origin (scheme://host[:port], "null" or "*")`);
      }
    }
    // A wildcard bind names no host a page could come from.
    this.host = listenerHost === '0.0.0.0' || listenerHost === '::' ? undefined : listenerHost.replace(/^\[|\]$/g, '').toLowerCase();
  }

  allows(origin: string): boolean {
    const o = normalizeOrigin(origin);
    if (this.listed.has('*') || this.listed.has(o)) return true;
    let hostname: string;
    try {
      hostname = new URL(o).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return false; // 'null' and what does not parse: only when listed
    }
    return isLoopback(hostname) || hostname === this.host;
  }
}

/** A bodyful refusal of an upgrade request, then the socket is closed. */
function refuseUpgrade(socket: net.Socket, status: string, message: string): void {
  const body = `${message}\n`;
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function pathOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

export class WebSocketListener implements Listener {
  private readonly http: http.Server | https.Server;
  /**
   * The listening server, a plain TCP one (or the PROXY protocol front): each socket is
   * admitted by the guard before the HTTP(S) server sees it.
   */
  private readonly server: net.Server;
  private readonly wss: WebSocketServer;
  private readonly tls: TlsSettings | undefined;
  private readonly front: ProxyFront | undefined;
  private readonly type: 'ws' | 'wss';
  private readonly host: string;
  private readonly port: number;
  private readonly path: string;
  /** Connections not upgraded yet, by peerKey: each is closed when its time is up. */
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly origins: OriginPolicy;
  private address: ListenerInfo | undefined;
  /** `address` for a client that is not on this machine (PROXY header, forwarding headers). */
  private remote: ListenerInfo | undefined;

  constructor(
    private readonly options: ListenerOptions,
    private readonly onStream: OnStream,
    private readonly guard: TransportGuard = new TransportGuard(),
  ) {
    this.type = options.type === 'wss' ? 'wss' : 'ws';
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? (this.type === 'wss' ? 8084 : 8083);
    this.path = options.websocketPath ?? '/mqtt';
    this.origins = new OriginPolicy(options.allowedOrigins, this.host);
    const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    this.tls = this.type === 'wss' ? new TlsSettings(options) : undefined;
    this.http = this.tls === undefined ? http.createServer() : https.createServer(this.tls.serverOptions(timeout));
    if (this.http instanceof https.Server) {
      closeOnTlsError(this.http, guard, () => this.info.name);
      countHandshakes(this.http, guard);
    }
    // From accept to upgrade, TLS handshake included, each connection has `timeout`. Node's
    // headersTimeout would not do: it is checked every 30 s, and only on a server that
    // listens itself (this one never does: a plain TCP server or the PROXY front does).
    this.http.on('connection', (raw: net.Socket) => {
      const key = peerKey(raw);
      const timer = setTimeout(() => raw.destroy(), timeout);
      this.pending.set(key, timer);
      raw.once('close', () => {
        clearTimeout(timer);
        if (this.pending.get(key) === timer) this.pending.delete(key);
      });
    });
    this.http.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(426, { Connection: 'Upgrade', Upgrade: 'websocket', 'Content-Type': 'text/plain' });
      res.end(`MQTT over WebSocket: connect to ${this.path} with subprotocol mqtt\n`);
    });
    this.http.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.upgrade(req, socket, head));
    const wsOptions: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      handleProtocols: selectProtocol,
      closeTimeout: CLOSE_TIMEOUT,
    };
    this.wss = new WebSocketServer(wsOptions);
    const admit = (raw: net.Socket): boolean => guard.admit(raw, this.info.name);
    if (options.proxyProtocol === true) {
      this.front = new ProxyFront(
        timeout,
        (raw) => {
          this.http.emit('connection', raw);
          // HTTP reads with 'data' listeners, which do not restart a paused socket.
          if (this.tls === undefined) raw.resume();
        },
        admit,
      );
      this.server = this.front.server;
    } else {
      this.front = undefined;
      this.server = net.createServer({ noDelay: true }, (raw) => {
        if (admit(raw)) this.http.emit('connection', raw);
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
      type: this.type,
      name: this.options.name ?? `${this.type}:${this.host}:${port}`,
      host: this.host,
      port,
      websocketPath: this.path,
      allowAnonymous: this.options.allowAnonymous ?? isLoopback(this.host),
    };
    this.remote = remoteView(this.address, this.options.allowAnonymous);
    this.guard.watch(this.server, this.address.name);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  reloadCertificates(): Promise<void> {
    if (this.tls === undefined) return Promise.resolve();
    return this.tls.reload(this.http as https.Server);
  }

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    socket.on('error', () => {}); // a client gone mid-upgrade is no one's concern
    if (pathOf(req.url) !== this.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    let peer: PeerIdentity | undefined;
    if (this.tls !== undefined) {
      const who = this.tls.identify(socket as tls.TLSSocket);
      if (!who.ok) {
        socket.destroy();
        return;
      }
      peer = who.peer;
    }
    const offered = req.headers['sec-websocket-protocol'];
    if (!subprotocolAcceptable(offered)) {
      this.guard.refuse('subprotocol', { listener: this.info.name, offered }, 'WebSocket upgrade refused: no subprotocol MQTT speaks offered');
      refuseUpgrade(socket, '400 Bad Request', `MQTT over WebSocket: offer subprotocol ${SUBPROTOCOLS.join(' or ')}`);
      return;
    }
    const local = (this.front?.isLocal(socket) ?? true) && !FORWARDING_HEADERS.some((h) => req.headers[h] !== undefined);
    const info = local ? this.info : this.remote!;
    const origin = req.headers.origin;
    // RFC 6455 section 10.2 leaves the Origin check to the server. Only anonymous access is
    // at stake: a page that needs credentials to get in can do no more than any client can.
    if (origin !== undefined && info.allowAnonymous && !this.origins.allows(origin)) {
      this.guard.refuse('origin', { listener: this.info.name, origin }, 'WebSocket upgrade refused: a page from a foreign origin on a listener that allows anonymous clients');
      refuseUpgrade(socket, '403 Forbidden', 'pages from this origin may not connect anonymously (listener allowedOrigins)');
      return;
    }
    const remote = this.front?.remoteAddress(socket) ?? formatAddress(socket.remoteAddress, socket.remotePort);
    const key = peerKey(socket);
    clearTimeout(this.pending.get(key));
    this.pending.delete(key);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.onStream(new WebSocketStream(ws), info, remote, peer);
    });
  }
}
