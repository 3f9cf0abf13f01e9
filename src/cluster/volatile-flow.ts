// The receiving side of QoS 0 back-pressure across nodes (docs/clustering.md, "Flow
// control"). A sender pauses its publishers while a member has not answered for
// cluster.volatileWindow bytes (router.ts); a member answers once it has processed a frame.
// Processing is cheap on the receiving member, so without this it would answer at once and
// then drop, for a full socket, what its subscribers cannot read as fast ('backpressure',
// Session.deliver): the senders' publishers run at full speed and the excess is read,
// forwarded and dropped.
//
// So the member stops reading its pub/sub connection while every client that the last frame
// went to has more than half of limits.maxSocketBuffer unsent: its pings go unanswered,
// the senders' windows fill and their publishers are paused, and TCP takes the wait back to
// them, as on a standalone node whose work takes its whole core. One slow client among
// others that keep up does not stop it (it is dropped for, as on a standalone node), nor
// does one that reads nothing for cluster.volatileMaxWait: the member reads on past it.

import type { Session } from '../broker/session.js';
import type { Broker } from '../broker/broker.js';
import type { DeliveryTarget } from '../broker/types.js';

export interface VolatileFlowStats {
  /** Times the member stopped reading QoS 0 forwards because its clients were behind. */
  waits: number;
  /** Times it read on because their sockets did not drain for cluster.volatileMaxWait. */
  waitTimeouts: number;
}

export interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

interface Buffered {
  readonly socket?: { readonly writableLength: number };
}

export class VolatileFlow {
  readonly stats: VolatileFlowStats = { waits: 0, waitTimeouts: 0 };
  private readonly watched = new Set<Session>();
  /** Sessions the last frame reached that are behind, while all of them are; else none. */
  private readonly pending = new Set<Session>();
  /** Waited for in vain: not waited for again until they drain. */
  private readonly ignored = new WeakSet<Session>();
  private timer: NodeJS.Timeout | undefined;
  private since = 0;
  private last = 0;
  private readonly note = (target: DeliveryTarget): boolean => {
    this.watched.add(target as Session);
    return true;
  };

  constructor(
    private readonly broker: () => Broker | undefined,
    /** The pub/sub connection's socket (none for a Redis Cluster: no back-pressure then). */
    private readonly socket: () => Pausable | undefined,
    private readonly maxWait: number,
  ) {}

  /** Delivers a frame, noting the sessions it reaches, and pauses reading if they all are behind. */
  receive(deliver: () => void): void {
    const broker = this.broker();
    if (broker === undefined || this.timer !== undefined) {
      deliver();
      return;
    }
    const hooks = broker.hooks;
    const check = hooks.deliveryCheck;
    const note = this.note;
    hooks.deliveryCheck = check === undefined ? note : (target, message) => (note(target), check(target, message));
    try {
      deliver();
    } finally {
      hooks.deliveryCheck = check;
    }
    const behind = this.behind(broker);
    this.watched.clear();
    if (behind === 0) return;
    const socket = this.socket();
    if (socket === undefined) return;
    this.stats.waits++;
    socket.pause();
    this.since = Date.now();
    this.last = behind;
    // Polled: 'drain' comes only once a socket is empty, later than reading may go on.
    this.timer = setTimeout(() => this.poll(broker, socket, [...this.pending]), 1).unref();
  }

  /** Bytes unsent to the sessions the last frame reached when every one is behind; else 0. */
  private behind(broker: Broker): number {
    const high = broker.limits.maxSocketBuffer / 2;
    let bytes = 0;
    for (const s of this.watched) {
      const length = (s.peer as Buffered | undefined)?.socket?.writableLength;
      if (length === undefined) continue; // offline or in-process: nothing to wait for
      if (length <= high) {
        this.ignored.delete(s);
        this.pending.clear();
        return 0;
      }
      if (this.ignored.has(s)) continue;
      this.pending.add(s);
      bytes += length;
    }
    return bytes;
  }

  private poll(broker: Broker, socket: Pausable, sessions: Session[]): void {
    const low = broker.limits.maxSocketBuffer / 4;
    let queued = 0;
    let drained = false;
    for (const s of sessions) {
      const length = (s.peer as Buffered | undefined)?.socket?.writableLength;
      if (length === undefined || length <= low) {
        drained = true;
        break;
      }
      queued += length;
    }
    const now = Date.now();
    if (!drained) {
      if (queued < this.last) this.since = now;
      this.last = queued;
      if (now - this.since < this.maxWait) {
        this.timer = setTimeout(() => this.poll(broker, socket, sessions), 1).unref();
        return;
      }
      this.stats.waitTimeouts++;
      for (const s of sessions) this.ignored.add(s);
    }
    this.pending.clear();
    this.timer = undefined;
    socket.resume();
  }

  /** Leaving: reading is not held any longer. */
  stop(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    this.socket()?.resume();
  }
}
