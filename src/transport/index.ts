// Listeners: each kind accepts connections its own way and hands the broker a byte stream
// (a Duplex), the listener's description, the client's address, and what the transport
// proved about the client (a verified certificate). The broker knows nothing else about
// transports.

import type { Duplex } from 'node:stream';
import type { ListenerInfo, ListenerOptions } from '../broker/types.js';
import type { TransportGuard } from './guard.js';
import { TcpListener } from './tcp.js';
import { TlsListener } from './tls.js';
import { UnixListener } from './unix.js';
import { WebSocketListener } from './websocket.js';

/** A client's identity as its transport established it: a verified TLS client certificate. */
export interface PeerIdentity {
  /** The certificate's subject, e.g. `CN=device-42, O=Acme` (in the certificate's order). */
  readonly certificateSubject?: string | undefined;
  /**
   * Set when the listener has certificateAsUsername: the CN or first SAN. The client's user
   * name is this, whatever its CONNECT says.
   */
  readonly certificateUsername?: string | undefined;
}

/**
 * `info` is the listener's description as this connection sees it: for a client the
 * transport found not to be local (a PROXY header or a forwarding header names another
 * host) on a listener anonymous only because it is on loopback, allowAnonymous is false.
 */
export type OnStream = (stream: Duplex, info: ListenerInfo, remoteAddress: string, peer?: PeerIdentity) => void;

export interface Listener {
  /** Valid once open() resolved. */
  readonly info: ListenerInfo;
  open(): Promise<void>;
  /** Stops accepting; connections already handed over are the broker's to close. */
  close(): Promise<void>;
  /**
   * tls, wss: re-reads certFile, keyFile and caFile for new connections; open ones are kept.
   * Rejects (and keeps the old certificates) when a file is unreadable or invalid.
   */
  reloadCertificates?(): Promise<void>;
}

type Kind = NonNullable<ListenerOptions['type']>;

/** The options that mean something only for some kinds: set elsewhere, they are an error. */
const ONLY_FOR: ReadonlyArray<[keyof ListenerOptions, readonly Kind[]]> = [
  ['port', ['tcp', 'tls', 'ws', 'wss']],
  ['host', ['tcp', 'tls', 'ws', 'wss']],
  ['path', ['unix']],
  ['websocketPath', ['ws', 'wss']],
  ['certFile', ['tls', 'wss']],
  ['keyFile', ['tls', 'wss']],
  ['caFile', ['tls', 'wss']],
  ['requireCertificate', ['tls', 'wss']],
  ['certificateAsUsername', ['tls', 'wss']],
  ['minVersion', ['tls', 'wss']],
  ['ciphers', ['tls', 'wss']],
  ['proxyProtocol', ['tcp', 'tls', 'ws', 'wss']],
  ['maxFrameSize', ['ws', 'wss']],
  ['allowedOrigins', ['ws', 'wss']],
];

/**
 * `guard` is shared by a broker's listeners: it bounds their open sockets together and
 * counts what they refuse. Without one, nothing is bounded.
 */
export function createListener(options: ListenerOptions, onStream: OnStream, guard?: TransportGuard): Listener {
  const kind: Kind = options.type ?? 'tcp';
  for (const [key, kinds] of ONLY_FOR) {
    if (options[key] !== undefined && !kinds.includes(kind)) {
      throw new Error(`listener option ${key} is for ${kinds.join(', ')} listeners, not ${kind}`);
    }
  }
  switch (kind) {
    case 'tcp':
      return new TcpListener(options, onStream, guard);
    case 'tls':
      return new TlsListener(options, onStream, guard);
    case 'ws':
    case 'wss':
      return new WebSocketListener(options, onStream, guard);
    case 'unix':
      return new UnixListener(options, onStream, guard);
    default:
      throw new Error(`unknown listener type ${String(kind)}`);
  }
}

export { isLoopback } from './sockets.js';
export { DESCRIPTOR_RESERVE, derivedMaxSockets, openFileLimit, TransportGuard, type TransportRefusal } from './guard.js';
export { ProxyProtocolError, parseProxyHeader, type ProxyHeader } from './proxy-protocol.js';
