// Small helpers every listener shares: opening and closing a server, printing a peer, and
// telling a local client from a remote one.

import type net from 'node:net';
import type { ListenerInfo } from '../broker/types.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+|localhost)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * The listener's description as one connection sees it when the transport learnt that its
 * client is not on this machine (a PROXY header or a forwarding header named another host).
 * A listener that allows anonymous clients only because it is bound to loopback does not
 * allow them then; an explicit allowAnonymous stands as written.
 */
export function remoteView(info: ListenerInfo, explicitAnonymous: boolean | undefined): ListenerInfo {
  return explicitAnonymous === undefined && info.allowAnonymous ? Object.freeze({ ...info, allowAnonymous: false }) : info;
}

/** `host:port`, with an IPv6 host in brackets so the port stays readable. */
export function formatAddress(host: string | undefined, port: number | undefined): string {
  const h = host ?? '?';
  // join() makes one flat string; a template literal this long is a rope of three strings,
  // and every connection keeps its address for its whole life.
  return (h.includes(':') ? ['[', h, ']:', port ?? 0] : [h, ':', port ?? 0]).join('');
}

/**
 * A key for a connection that survives wrapping (a TLS socket reports its TCP socket's peer):
 * the peer address and port, unique among open connections to one listener.
 */
export function peerKey(socket: net.Socket): string {
  return `${socket.remoteAddress ?? '?'}|${socket.remotePort ?? 0}`;
}

/** Opens `server` on host:port; resolves with the port bound (for port 0). */
export function listenTcp(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Stops accepting; resolves once the connections it accepted are gone, as net.Server does. */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
}
