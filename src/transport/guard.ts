// What every listener checks before a connection costs the broker anything: the budget of
// open sockets over all listeners (each is a file descriptor), and the count of connections
// refused before they reached the broker. A process out of descriptors (EMFILE) cannot read
// /proc, open a store file or accept a health probe; the budget refuses a new socket while
// there are still descriptors to spare, so the broker stays up and recovers when clients go.

import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type net from 'node:net';

/** Descriptors kept out of the socket budget: the store, logs, listeners, the HTTP server's 64. */
export const DESCRIPTOR_RESERVE = 128;

/** Why a connection was closed before the broker saw it; each has a counter. */
export type TransportRefusal = 'sockets' | 'accept_error' | 'origin' | 'subprotocol' | 'handshake_timeout';

/** What the guard needs from its broker: the limit (read on every accept, so a reload applies) and a log. */
export interface GuardHost {
  readonly limits: { readonly maxSockets?: number | undefined };
  readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/**
 * The process's soft limit on open files (RLIMIT_NOFILE); undefined when unlimited or
 * unknown. Linux has it in /proc; elsewhere the shell's `ulimit -n` (inherited) tells it.
 */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m !== null) return parseLimit(m[1]!);
  } catch {
    // not Linux
  }
  if (process.platform === 'win32') return undefined;
  try {
    const r = spawnSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8', timeout: 2000 });
    return r.status === 0 ? parseLimit(r.stdout.trim()) : undefined;
  } catch {
    return undefined;
  }
}

function parseLimit(text: string): number | undefined {
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * The default of limits.maxSockets for an open-file limit: the limit less DESCRIPTOR_RESERVE,
 * or half of it when the limit is small; 0 (no bound) when the limit is unknown.
 */
export function derivedMaxSockets(limit: number | undefined): number {
  if (limit === undefined) return 0;
  return Math.max(Math.floor(limit / 2), limit - DESCRIPTOR_RESERVE, 1);
}

export class TransportGuard {
  /** Client sockets open now, over all listeners, from accept (before any handshake). */
  open = 0;
  readonly refused: Record<TransportRefusal, number> = { sockets: 0, accept_error: 0, origin: 0, subprotocol: 0, handshake_timeout: 0 };
  /** TLS handshakes completed (tls, wss): resumed ones show that tickets survive restarts and workers. */
  readonly tlsHandshakes = { full: 0, resumed: 0 };
  private derived: number | undefined;
  private announced = false;
  /** When each refusal last logged a warning: a flood writes one line a minute. */
  private readonly warned = new Map<TransportRefusal, number>();
  private readonly release = (): void => {
    this.open--;
  };

  /** Without a host (a listener made outside a broker) nothing is bounded or logged. */
  constructor(private readonly host?: GuardHost) {}

  /** The bound on open sockets now; 0 for none. */
  get maxSockets(): number {
    const set = this.host?.limits.maxSockets;
    if (set !== undefined) return set;
    if (this.host === undefined) return 0;
    this.derived ??= derivedMaxSockets(openFileLimit());
    return this.derived;
  }

  /**
   * A socket just accepted: true when it may go on. Over the budget it is destroyed at
   * once, before it costs a handshake, and counted.
   */
  admit(socket: net.Socket, listener: string): boolean {
    const max = this.maxSockets;
    if (max > 0 && this.open >= max) {
      socket.on('error', () => {});
      socket.destroy();
      this.refuse('sockets', { listener, open: this.open, maxSockets: max }, 'connection closed at accept: limits.maxSockets reached');
      return false;
    }
    this.open++;
    // 'close' comes once: on() spares the wrapper once() would allocate per socket.
    socket.on('close', this.release);
    return true;
  }

  /**
   * Watches a listening server. After listen() its 'error' events are failed accepts
   * (EMFILE, ENFILE, ENOBUFS): unhandled they would end the process; here they are counted
   * and the server keeps listening. Says once what bounds the sockets.
   */
  watch(server: net.Server, listener: string): void {
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (!server.listening) return; // a failed listen() is its caller's to report
      this.refuse('accept_error', { listener, code: err.code, open: this.open }, `accept failed: ${err.message}`);
    });
    if (this.announced || this.host === undefined) return;
    this.announced = true;
    const set = this.host.limits.maxSockets;
    if (set !== undefined) {
      this.host.log.info({ maxSockets: set }, set === 0 ? 'open sockets not bounded (limits.maxSockets 0)' : `open sockets bounded to ${set} (limits.maxSockets)`);
      return;
    }
    const limit = openFileLimit();
    this.derived = derivedMaxSockets(limit);
    if (limit === undefined) this.host.log.info({ maxSockets: 0 }, 'open-file limit unknown: open sockets not bounded (set limits.maxSockets)');
    else this.host.log.info({ maxSockets: this.derived, openFileLimit: limit }, `open sockets bounded to ${this.derived}: the open-file limit ${limit} less ${limit - this.derived} kept for the store, logs and HTTP`);
  }

  /** Counts a refusal and warns, at most once a minute per reason. */
  refuse(reason: TransportRefusal, fields: Record<string, unknown>, message: string): void {
    this.refused[reason]++;
    const log = this.host?.log;
    if (log === undefined) return;
    const now = Date.now();
    const last = this.warned.get(reason);
    if (last !== undefined && now - last < 60_000) return;
    this.warned.set(reason, now);
    log.warn({ ...fields, reason, refused: this.refused[reason] }, message);
  }
}

const guards = new WeakMap<GuardHost, TransportGuard>();

/** The guard of a broker's listeners (one per host), made on first use. */
export function guardFor(host: GuardHost): TransportGuard {
  let g = guards.get(host);
  if (g === undefined) guards.set(host, (g = new TransportGuard(host)));
  return g;
}
