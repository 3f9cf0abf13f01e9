// TLS listener, and the TLS settings it shares with 'wss': certificate files that can be
// re-read without dropping connections, the client-certificate policy, and the identity a
// verified client certificate gives (its subject, and optionally a user name).

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { Listener, ListenerInfo, ListenerOptions, OnStream, PeerIdentity } from './types.js';
import { DEFAULT_HANDSHAKE_TIMEOUT, ProxyFront } from './proxy-protocol.js';
import { TransportGuard } from './guard.js';
import { closeServer, formatAddress, isLoopback, listenTcp, remoteView } from './sockets.js';
import { countHandshakes, loadTicketKeys } from './ticket-keys.js';

interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
  ticketKeys: Buffer | undefined;
}

/** What a client's certificate says about it, or why it is refused. */
export type Identification = { ok: true; peer: PeerIdentity | undefined } | { ok: false; reason: string };

/** Seconds a TLS session stays resumable: OpenSSL's default, which Mosquitto keeps. */
export const DEFAULT_SESSION_TIMEOUT = 7200;

/** The SAN kinds whose value can serve as a user name. */
const SAN_TYPES = new Set(['DNS', 'email', 'URI', 'IP Address']);

/** The TLS side of a 'tls' or 'wss' listener. */
export class TlsSettings {
  /** Client certificates are asked for (caFile given). */
  readonly requestCert: boolean;
  readonly requireCertificate: boolean;
  readonly certificateAsUsername: 'cn' | 'san' | undefined;
  private readonly certFile: string;
  private readonly keyFile: string;
  private readonly caFile: string | undefined;

  constructor(private readonly options: ListenerOptions) {
    const kind = options.type ?? 'tcp';
    if (options.certFile === undefined || options.keyFile === undefined) {
      throw new Error(`a ${kind} listener needs certFile and keyFile`);
    }
    this.certFile = options.certFile;
    this.keyFile = options.keyFile;
    this.caFile = options.caFile;
    this.certificateAsUsername = options.certificateAsUsername;
    if (this.certificateAsUsername !== undefined && options.requireCertificate === false) {
      throw new Error('certificateAsUsername needs requireCertificate: a user name cannot come from a missing certificate');
    }
    this.requireCertificate = options.requireCertificate ?? this.certificateAsUsername !== undefined;
    if (this.requireCertificate && this.caFile === undefined) {
      throw new Error('requireCertificate and certificateAsUsername need caFile, the CA that signs client certificates');
    }
    this.requestCert = this.caFile !== undefined;
  }

  /** Options for tls.createServer or https.createServer (reads the files now). */
  serverOptions(handshakeTimeout: number): tls.TlsOptions {
    return {
      ...this.contextOptions(this.readSync()),
      requestCert: this.requestCert,
      rejectUnauthorized: this.requireCertificate,
      handshakeTimeout,
      noDelay: true,
    };
  }

  /**
   * Re-reads the files and installs them for new connections; open connections keep the
   * context they were made with. If a file is unreadable or the key does not match the
   * certificate, this rejects and the old context stays.
   */
  async reload(server: tls.Server): Promise<void> {
    const [cert, key, ca] = await Promise.all([
      readFile(this.certFile),
      readFile(this.keyFile),
      this.caFile === undefined ? undefined : readFile(this.caFile),
    ]);
    // An operator rotates the ticket keys by replacing the file and sending SIGHUP.
    const ticketKeys = this.ticketKeys();
    server.setSecureContext(this.contextOptions({ cert, key, ca, ticketKeys }));
    if (ticketKeys !== undefined) server.setTicketKeys(ticketKeys);
  }

  /**
   * Who a client is by its certificate. With no caFile nothing is asked. A certificate that
   * does not verify is refused even where certificates are optional: the client claimed an
   * identity it cannot prove.
   */
  identify(socket: tls.TLSSocket): Identification {
    if (!this.requestCert) return { ok: true, peer: undefined };
    const cert = socket.getPeerCertificate();
    if (cert === null || cert === undefined || Object.keys(cert).length === 0) {
      // Only reachable when certificates are optional: Node refuses a missing one otherwise.
      return this.requireCertificate ? { ok: false, reason: 'no client certificate' } : { ok: true, peer: undefined };
    }
    if (!socket.authorized) return { ok: false, reason: `client certificate not trusted: ${String(socket.authorizationError)}` };
    const certificateSubject = socket.getPeerX509Certificate()?.subject.split('\n').join(', ');
    if (this.certificateAsUsername === undefined) return { ok: true, peer: { certificateSubject } };
    const username =
      this.certificateAsUsername === 'cn' ? commonName(cert.subject as unknown) : firstSubjectAltName(cert.subjectaltname);
    if (username === undefined || username === '') {
      return { ok: false, reason: `client certificate has no ${this.certificateAsUsername === 'cn' ? 'single Common Name' : 'usable Subject Alternative Name'}` };
    }
    return { ok: true, peer: { certificateSubject, certificateUsername: username } };
  }

  private contextOptions(files: TlsFiles): tls.SecureContextOptions {
    return {
      cert: files.cert,
      key: files.key,
      ...(files.ca === undefined ? {} : { ca: files.ca }),
      minVersion: this.options.minVersion ?? 'TLSv1.2',
      ...(this.options.ciphers === undefined ? {} : { ciphers: this.options.ciphers }),
      ...(files.ticketKeys === undefined ? {} : { ticketKeys: files.ticketKeys }),
      // Node's 300 s would make devices back from a longer outage pay full handshakes.
      sessionTimeout: this.options.sessionTimeout ?? DEFAULT_SESSION_TIMEOUT,
    };
  }

  private ticketKeys(): Buffer | undefined {
    return this.options.ticketKeyFile === undefined ? this.options.ticketKeys : loadTicketKeys(this.options.ticketKeyFile);
  }

  private readSync(): TlsFiles {
    const read = (what: string, file: string): Buffer => {
      try {
        return readFileSync(file);
      } catch (err) {
        throw new Error(`cannot read ${what} ${file}: ${(err as Error).message}`);
      }
    };
    return {
      cert: read('certFile', this.certFile),
      key: read('keyFile', this.keyFile),
      ca: this.caFile === undefined ? undefined : read('caFile', this.caFile),
      ticketKeys: this.ticketKeys(),
    };
  }
}

/**
 * A failed or timed-out handshake is reported as 'tlsClientError', but Node leaves the
 * socket open (a silent client would outlive handshakeTimeout): close it. One past
 * `handshakeTimeout` is counted.
 */
export function closeOnTlsError(server: tls.Server, guard?: TransportGuard, listener?: () => string): void {
  server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
    socket.destroy();
    if (guard !== undefined && err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
      guard.refuse('handshake_timeout', { listener: listener?.() }, 'connection closed: TLS handshake not completed within handshakeTimeout');
    }
  });
}

/** The subject's CN; undefined when absent or repeated (which one would be ambiguous). */
function commonName(subject: unknown): string | undefined {
  if (typeof subject !== 'object' || subject === null) return undefined;
  const cn = (subject as Record<string, unknown>).CN;
  return typeof cn === 'string' ? cn : undefined;
}

/**
 * The first DNS, email, URI or IP Address entry of Node's subjectaltname text
 * (`DNS:a.example, IP Address:10.0.0.1`, values with special characters JSON-quoted).
 */
export function firstSubjectAltName(san: string | undefined): string | undefined {
  if (san === undefined) return undefined;
  let i = 0;
  while (i < san.length) {
    const colon = san.indexOf(':', i);
    if (colon < 0) return undefined;
    const type = san.slice(i, colon);
    let value: string;
    let next: number;
    if (san[colon + 1] === '"') {
      const quoted = /^"(?:[^"\\]|\\.)*"/.exec(san.slice(colon + 1));
      if (quoted === null) return undefined;
      value = JSON.parse(quoted[0]) as string;
      next = colon + 1 + quoted[0].length;
    } else {
      const comma = san.indexOf(', ', colon + 1);
      next = comma < 0 ? san.length : comma;
      value = san.slice(colon + 1, next);
    }
    if (SAN_TYPES.has(type) && value !== '') return value;
    if (next === san.length) return undefined;
    if (!san.startsWith(', ', next)) return undefined;
    i = next + 2;
  }
  return undefined;
}

export class TlsListener implements Listener {
  private readonly tlsServer: tls.Server;
  /**
   * The listening server, a plain TCP one (or the PROXY protocol front): each socket is
   * admitted by the guard before the TLS server sees it, so a refused one costs no handshake.
   */
  private readonly server: net.Server;
  private readonly settings: TlsSettings;
  private readonly front: ProxyFront | undefined;
  private readonly host: string;
  private readonly port: number;
  private address: ListenerInfo | undefined;
  /** `address` for a client the PROXY header places off this machine. */
  private remote: ListenerInfo | undefined;

  constructor(
    private readonly options: ListenerOptions,
    private readonly onStream: OnStream,
    private readonly guard: TransportGuard = new TransportGuard(),
  ) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 8883;
    this.settings = new TlsSettings(options);
    const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    this.tlsServer = tls.createServer(this.settings.serverOptions(timeout), (socket) => this.secured(socket));
    closeOnTlsError(this.tlsServer, guard, () => this.info.name);
    countHandshakes(this.tlsServer, guard);
    const admit = (raw: net.Socket): boolean => guard.admit(raw, this.info.name);
    const handOver = (raw: net.Socket): void => {
      this.tlsServer.emit('connection', raw);
    };
    if (options.proxyProtocol === true) {
      // The header comes before the TLS handshake, on the raw TCP connection.
      this.front = new ProxyFront(timeout, handOver, admit);
      this.server = this.front.server;
    } else {
      this.front = undefined;
      // Paused: the TLS socket starts reading the TCP socket's handle itself, so the TCP
      // socket's own stream need not start (and stop) reading first.
      this.server = net.createServer({ noDelay: true, pauseOnConnect: true }, (raw) => {
        if (admit(raw)) handOver(raw);
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
      type: 'tls',
      name: this.options.name ?? `tls:${this.host}:${port}`,
      host: this.host,
      port,
      allowAnonymous: this.options.allowAnonymous ?? isLoopback(this.host),
    };
    this.remote = remoteView(this.address, this.options.allowAnonymous);
    this.guard.watch(this.server, this.address.name);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  reloadCertificates(): Promise<void> {
    return this.settings.reload(this.tlsServer);
  }

  private secured(socket: tls.TLSSocket): void {
    const who = this.settings.identify(socket);
    if (!who.ok) {
      socket.destroy();
      return;
    }
    const front = this.front;
    if (front === undefined) {
      this.onStream(socket, this.info, formatAddress(socket.remoteAddress, socket.remotePort), who.peer);
      return;
    }
    this.onStream(socket, front.isLocal(socket) ? this.info : this.remote!, front.remoteAddress(socket), who.peer);
  }
}
