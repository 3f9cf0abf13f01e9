// The TLS listener's handshake deadline: one sweep per listener instead of Node's timer per
// socket. Node's handshakeTimeout arms a socket timeout on every TLS socket, refreshes it (on
// the TLS socket and on the TCP socket under it) at every read and write of the handshake, and
// clears it afterwards: about 20 µs of a TLS connection's setup in a reconnect storm
// (docs/benchmarks.md, Reconnect storms). Here a connection costs one Map entry, removed when
// its handshake completes.

import type net from 'node:net';

/** The sweep's period: a quarter of the timeout, at most 1 s, at least 10 ms. */
export function sweepPeriod(timeoutMs: number): number {
  return Math.min(1000, Math.max(10, Math.floor(timeoutMs / 4)));
}

export class HandshakeDeadlines {
  /** TCP sockets whose TLS handshake is under way, and when each was handed to TLS, in that order. */
  private readonly pending = new Map<net.Socket, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly period: number;
  private abandoned = false;

  /**
   * `onTimeout` is told of each socket closed for taking longer than `timeoutMs`; the socket
   * is destroyed (its TLS socket closes with it).
   */
  constructor(
    readonly timeoutMs: number,
    private readonly onTimeout: () => void = () => {},
  ) {
    this.period = sweepPeriod(timeoutMs);
  }

  /** Handshakes under way (those closed since the last sweep included). */
  get size(): number {
    return this.pending.size;
  }

  /** A TCP socket handed to TLS: its handshake must complete within timeoutMs. */
  start(raw: net.Socket, now = Date.now()): void {
    if (this.abandoned) return;
    this.pending.set(raw, now);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.period);
      this.timer.unref();
    }
  }

  /** The handshake over this TCP socket completed. */
  done(raw: net.Socket): void {
    this.pending.delete(raw);
  }

  /**
   * Closes the sockets past their deadline. A closed socket's entry goes at the same time;
   * entries are in the order sockets arrived, so the sweep stops at the first one still in time.
   */
  sweep(now = Date.now()): void {
    for (const [raw, at] of this.pending) {
      if (raw.destroyed) {
        this.pending.delete(raw);
        continue;
      }
      if (now - at < this.timeoutMs) break;
      this.pending.delete(raw);
      raw.destroy();
      this.onTimeout();
    }
    if (this.pending.size === 0) this.stop();
  }

  /**
   * Stops enforcing deadlines for good, forgetting the sockets pending: for a listener that
   * cannot tell which TCP socket a completed handshake was on, and must not close it.
   */
  abandon(): void {
    this.abandoned = true;
    this.pending.clear();
    this.stop();
  }

  /** Stops the sweep; it starts again with the next socket. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
