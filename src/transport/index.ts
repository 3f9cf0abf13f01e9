// Listeners: each kind accepts connections its own way and hands the broker a byte stream
// (a Duplex), the listener's description, the client's address, and what the transport
// proved about the client (a verified certificate). The broker knows nothing else about
// transports: createBroker() (src/index.ts) gives it `createListener`, which looks the kind
// up in the table below; a new kind is one more entry (or `registerListenerKind`).

import type { Listener, ListenerFactory, ListenerHost, ListenerOptions } from './types.js';
import { guardFor } from './guard.js';
import { mqttSnListener } from '../gateway/mqtt-sn/listener.js';
import { TcpListener } from './tcp.js';
import { TlsListener } from './tls.js';
import { UnixListener } from './unix.js';
import { WebSocketListener } from './websocket.js';

type Kind = NonNullable<ListenerOptions['type']>;

/** The options that mean something only for some kinds: set elsewhere, they are an error. */
const ONLY_FOR: ReadonlyArray<[keyof ListenerOptions, readonly Kind[]]> = [
  ['port', ['tcp', 'tls', 'ws', 'wss', 'mqtt-sn']],
  ['host', ['tcp', 'tls', 'ws', 'wss', 'mqtt-sn']],
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
  ['mqttSn', ['mqtt-sn']],
];

// Every listener of one broker shares one guard (guardFor): it bounds their open sockets
// together (limits.maxSockets) and counts what they refuse.
const KINDS = new Map<Kind, ListenerFactory>([
  ['tcp', (options, host) => new TcpListener(options, (...a) => host.accept(...a), guardFor(host))],
  ['tls', (options, host) => new TlsListener(options, (...a) => host.accept(...a), guardFor(host))],
  // A WebSocket message holds at least one packet: its cap follows the packet limit.
  ['ws', websocket],
  ['wss', websocket],
  ['unix', (options, host) => new UnixListener(options, (...a) => host.accept(...a), guardFor(host))],
  // A datagram gateway: its clients open broker sessions themselves (the host is the broker).
  ['mqtt-sn', mqttSnListener],
]);

function websocket(options: ListenerOptions, host: ListenerHost): Listener {
  const cfg = options.maxFrameSize === undefined ? { ...options, maxFrameSize: host.limits.maxPacketSize } : options;
  return new WebSocketListener(cfg, (...a) => host.accept(...a), guardFor(host));
}

/** Adds (or replaces) the factory of a listener kind. */
export function registerListenerKind(kind: Kind, factory: ListenerFactory): void {
  KINDS.set(kind, factory);
}

/** A listener of `options.type` (default tcp), not yet open. */
export const createListener: ListenerFactory = (options, host) => {
  const kind: Kind = options.type ?? 'tcp';
  for (const [key, kinds] of ONLY_FOR) {
    if (options[key] !== undefined && !kinds.includes(kind)) {
      throw new Error(`listener option ${key} is for ${kinds.join(', ')} listeners, not ${kind}`);
    }
  }
  const factory = KINDS.get(kind);
  if (factory === undefined) throw new Error(`unknown listener type ${String(kind)}`);
  return factory(options, host);
};

export { isLoopback } from './sockets.js';
export { DESCRIPTOR_RESERVE, derivedMaxSockets, openFileLimit, TransportGuard, type TransportRefusal } from './guard.js';
export { ProxyProtocolError, parseProxyHeader, type ProxyHeader } from './proxy-protocol.js';
export type * from './types.js';
