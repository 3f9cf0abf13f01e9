// PROXY protocol v1 and v2 (HAProxy's "PROXY protocol" specification): a load balancer in
// front of the broker opens each connection with one header naming the client's real
// address. The header is read here, bounded in size and in time, before the stream reaches
// the broker; a connection without a valid one is closed and never handed over.

import net from 'node:net';
import { formatAddress, isLoopback, peerKey } from './sockets.js';

/** Time allowed for a PROXY header, a TLS handshake or a WebSocket upgrade, ms. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** A v1 header is at most 107 bytes, CRLF included (spec 2.1). */
const V1_MAX = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/**
 * A v2 header: 16 bytes, the addresses (216 at most, for AF_UNIX) and TLVs. The format
 * allows 64 KiB of TLVs; real proxies send a few hundred bytes, so more is refused.
 */
export const V2_MAX = 16 + 4096;

export class ProxyProtocolError extends Error {
  override readonly name = 'ProxyProtocolError';
}

export type ProxySource = { readonly host: string; readonly port: number } | { readonly path: string };

export interface ProxyHeader {
  readonly version: 1 | 2;
  /** Bytes the header took at the start of the stream. */
  readonly length: number;
  /**
   * The client as the proxy saw it. Undefined for a v2 LOCAL command (the proxy's own
   * health check), v1 UNKNOWN and v2 AF_UNSPEC: the connection's own address stands.
   */
  readonly source: ProxySource | undefined;
}

/**
 * Parses the header at the start of `buf`: the header once complete, undefined while more
 * bytes are needed; throws ProxyProtocolError when the bytes cannot start a valid header.
 */
export function parseProxyHeader(buf: Buffer): ProxyHeader | undefined {
  if (startsLike(buf, V2_SIGNATURE)) return buf.length < V2_SIGNATURE.length ? undefined : parseV2(buf);
  if (startsLike(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? undefined : parseV1(buf);
  throw new ProxyProtocolError('not a PROXY protocol header');
}

/** True when buf and prefix agree on their common length. */
function startsLike(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).equals(prefix.subarray(0, n));
}

const PORT = /^(0|[1-9]\d{0,4})$/;

function parseV1(buf: Buffer): ProxyHeader | undefined {
  const end = buf.subarray(0, V1_MAX).indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    if (buf.length >= V1_MAX) throw new ProxyProtocolError('PROXY v1 header longer than 107 bytes');
    return undefined;
  }
  const length = end + 2;
  const fields = buf.toString('latin1', 0, end).split(' ');
  // UNKNOWN: the receiver ignores the rest of the line and keeps the connection's address.
  if (fields[1] === 'UNKNOWN') return { version: 1, length, source: undefined };
  if (fields.length !== 6) throw new ProxyProtocolError('PROXY v1 header needs 6 fields');
  const [, proto, src, , srcPort, dstPort] = fields as [string, string, string, string, string, string];
  const family = proto === 'TCP4' ? 4 : proto === 'TCP6' ? 6 : 0;
  if (family === 0) throw new ProxyProtocolError(`PROXY v1 protocol ${proto} is not TCP4, TCP6 or UNKNOWN`);
  if (net.isIP(src) !== family || net.isIP(fields[3]!) !== family) {
    throw new ProxyProtocolError(`PROXY v1 addresses are not ${proto}`);
  }
  const port = PORT.test(srcPort) ? Number(srcPort) : NaN;
  if (!(port <= 65_535) || !PORT.test(dstPort) || Number(dstPort) > 65_535) {
    throw new ProxyProtocolError('PROXY v1 port out of range');
  }
  return { version: 1, length, source: { host: src, port } };
}

function parseV2(buf: Buffer): ProxyHeader | undefined {
  if (buf.length < 16) return undefined;
  const versionCommand = buf[12]!;
  if (versionCommand >> 4 !== 2) throw new ProxyProtocolError('PROXY v2 header with version other than 2');
  const command = versionCommand & 0x0f;
  if (command > 1) throw new ProxyProtocolError(`PROXY v2 command ${command} is neither LOCAL nor PROXY`);
  const family = buf[13]! >> 4;
  const transport = buf[13]! & 0x0f;
  const addressLength = buf.readUInt16BE(14);
  const length = 16 + addressLength;
  if (length > V2_MAX) throw new ProxyProtocolError(`PROXY v2 header of ${length} bytes exceeds ${V2_MAX}`);
  if (buf.length < length) return undefined;
  // LOCAL: the proxy speaks for itself (a health check); the block is skipped.
  if (command === 0) return { version: 2, length, source: undefined };
  if (transport > 1) throw new ProxyProtocolError('PROXY v2 transport is not a stream');
  const block = buf.subarray(16, length);
  switch (family) {
    case 0: // AF_UNSPEC
      return { version: 2, length, source: undefined };
    case 1: // AF_INET: source, destination (4 bytes each), source port, destination port
      if (block.length < 12) throw new ProxyProtocolError('PROXY v2 AF_INET block too short');
      return { version: 2, length, source: { host: Array.from(block.subarray(0, 4)).join('.'), port: block.readUInt16BE(8) } };
    case 2: // AF_INET6: 16 bytes each, then the ports
      if (block.length < 36) throw new ProxyProtocolError('PROXY v2 AF_INET6 block too short');
      return { version: 2, length, source: { host: ipv6(block.subarray(0, 16)), port: block.readUInt16BE(32) } };
    case 3: {
      // AF_UNIX: two 108-byte NUL-padded paths.
      if (block.length < 216) throw new ProxyProtocolError('PROXY v2 AF_UNIX block too short');
      const raw = block.subarray(0, 108);
      const nul = raw.indexOf(0);
      return { version: 2, length, source: { path: raw.toString('utf8', 0, nul < 0 ? 108 : nul) } };
    }
    default:
      throw new ProxyProtocolError(`PROXY v2 address family ${family} is unknown`);
  }
}

/** RFC 5952 text for 16 address bytes, as Node prints a socket's remoteAddress. */
function ipv6(b: Buffer): string {
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return `::ffff:${Array.from(b.subarray(12)).join('.')}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  // The longest run of two or more zero groups becomes '::' (the first, if tied).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The remote address text for a header's source, in the broker's `host:port` form. */
export function formatSource(source: ProxySource): string {
  return 'path' in source ? `unix:${source.path}` : formatAddress(source.host, source.port);
}

/**
 * Reads a PROXY header from a fresh socket. Resolves with the header once complete, the
 * socket paused and the bytes after the header put back; rejects on a malformed or oversized
 * header, on a timeout, or when the socket closes first. The caller destroys on rejection.
 */
export function readProxyHeader(socket: net.Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      let header: ProxyHeader | undefined;
      try {
        header = parseProxyHeader(buffered);
      } catch (err) {
        fail(err as Error);
        return;
      }
      if (header === undefined) return;
      cleanup();
      socket.pause();
      if (buffered.length > header.length) socket.unshift(buffered.subarray(header.length));
      resolve(header);
    };
    const onClose = (): void => fail(new ProxyProtocolError('connection closed before its PROXY header'));
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const timer = setTimeout(() => fail(new ProxyProtocolError(`no PROXY header within ${timeoutMs} ms`)), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onClose);
      socket.off('close', onClose);
      socket.off('error', fail);
    };
    socket.on('data', onData);
    socket.on('end', onClose);
    socket.on('close', onClose);
    socket.on('error', fail);
  });
}

/**
 * A listening TCP server for a listener behind a proxy: it reads each connection's header,
 * then hands the socket on (to the broker, or into a TLS or HTTP server by emitting
 * 'connection'), and remembers the address the header named. A server that wraps the socket
 * (TLS) hides the raw one, so the address is found again by the socket's own peer address,
 * unique among open connections.
 */
export class ProxyFront {
  readonly server: net.Server;
  private readonly sources = new Map<string, { readonly address: string; readonly local: boolean }>();

  /** `admit` sees each socket as accepted, before its header; false closes it (it did already). */
  constructor(timeoutMs: number, next: (socket: net.Socket) => void, admit: (socket: net.Socket) => boolean = () => true) {
    this.server = net.createServer({ noDelay: true }, (socket) => {
      if (!admit(socket)) return;
      socket.on('error', () => {}); // errors before the hand-over just close it
      readProxyHeader(socket, timeoutMs).then(
        (header) => {
          if (socket.destroyed) return;
          if (header.source !== undefined) {
            const key = peerKey(socket);
            // A unix socket is on the proxy's machine; for a loopback listener that is this one.
            const local = 'path' in header.source || isLoopback(header.source.host);
            this.sources.set(key, { address: formatSource(header.source), local });
            socket.once('close', () => this.sources.delete(key));
          }
          next(socket);
        },
        () => socket.destroy(),
      );
    });
  }

  /** The client's address: the one its PROXY header named, else the socket's own. */
  remoteAddress(socket: net.Socket): string {
    return this.sources.get(peerKey(socket))?.address ?? formatAddress(socket.remoteAddress, socket.remotePort);
  }

  /**
   * Whether the client is on this machine, by the address its header named; without one
   * (LOCAL, UNKNOWN) the connection's own address stands, as it does for remoteAddress().
   */
  isLocal(socket: net.Socket): boolean {
    return this.sources.get(peerKey(socket))?.local ?? isLoopback(socket.remoteAddress ?? '');
  }
}
