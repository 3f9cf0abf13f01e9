// The receiving side of QoS 0 back-pressure across nodes (docs/clustering.md, "Flow
// control"). A sender pauses its publishers while a member has not answered for
// cluster.volatileWindow bytes (router.ts); a member answers a ping once it has processed
// the frame that carries it. Processing is cheap on the receiving member, so without this
// it would answer at once and then drop, for a full socket, what its subscribers cannot
// read as fast ('backpressure', Session.deliver): the senders' publishers run at full speed
// and the excess is read, forwarded and dropped.
//
// So while every client that the last frame went to has more than half of
// limits.maxSocketBuffer unsent, the member holds the frames that come next in memory,
// unprocessed: their pings go unanswered, the senders' windows fill and their publishers
// are paused, and TCP takes the wait back to them, as on a standalone node whose work takes
// its whole core. What is held is bounded by the senders' windows (they send no more until
// answered). The pub/sub connection is read on, so Redis holds nothing more for this member
// and the cluster's broadcasts and the answers to this member's own pings are not delayed.
// One slow client among others that keep up does not hold anything back (it is dropped
// for, as on a standalone node), nor does one that reads nothing for
// cluster.volatileMaxWait: the member delivers on past it.

import type { Session } from '../broker/session.js';
import type { Broker } from '../broker/broker.js';
import type { DeliveryTarget } from '../broker/types.js';

export interface VolatileFlowStats {
  /** Times the member held QoS 0 forwards back because its clients were behind. */
  waits: number;
  /** Times it delivered on because their sockets did not drain for cluster.volatileMaxWait. */
  waitTimeouts: number;
  /** Frames held now, and their bytes. */
  heldFrames: number;
  heldBytes: number;
}

interface Buffered {
  readonly socket?: { readonly writableLength: number };
}

export class VolatileFlow {
  readonly stats: VolatileFlowStats = { waits: 0, waitTimeouts: 0, heldFrames: 0, heldBytes: 0 };
  private readonly watched = new Set<Session>();
  /** Sessions the last frame reached that are behind, while all of them are; else none. */
  private readonly pending = new Set<Session>();
  /** Waited for in vain: not waited for again until they drain. */
  private readonly ignored = new WeakSet<Session>();
  /** Frames held while the clients are behind, in arrival order. */
  private held: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private since = 0;
  private last = 0;
  private readonly note = (target: DeliveryTarget): boolean => {
    this.watched.add(target as Session);
    return true;
  };

  constructor(
    private readonly broker: () => Broker | undefined,
    private readonly deliver: (frame: Buffer) => void,
    /** Whether a frame carries only answers to this member's pings (never held: order does not matter for them). */
    private readonly control: (frame: Buffer) => boolean,
    private readonly maxWait: number,
  ) {}

  /** A frame from the member's channel: delivered now, or held while its clients are behind. */
  receive(frame: Buffer): void {
    if (this.timer !== undefined && !this.control(frame)) {
      this.held.push(frame);
      this.stats.heldFrames++;
      this.stats.heldBytes += frame.length;
      return;
    }
    this.run(frame);
  }

  /** Delivers a frame, noting the sessions it reaches; starts holding if they all are behind. */
  private run(frame: Buffer): boolean {
    const broker = this.broker();
    if (broker === undefined) {
      this.deliver(frame);
      return false;
    }
    const hooks = broker.hooks;
    const check = hooks.deliveryCheck;
    const note = this.note;
    hooks.deliveryCheck = check === undefined ? note : (target, message) => (note(target), check(target, message));
    try {
      this.deliver(frame);
    } finally {
      hooks.deliveryCheck = check;
    }
    const behind = this.behind(broker);
    this.watched.clear();
    if (behind === 0) return false;
    this.stats.waits++;
    this.since = Date.now();
    this.last = behind;
    const sessions = [...this.pending];
    // Polled: 'drain' comes only once a socket is empty, later than delivering may go on.
    this.timer = setTimeout(() => this.poll(broker, sessions), 1).unref();
    return true;
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

  private poll(broker: Broker, sessions: Session[]): void {
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
        this.timer = setTimeout(() => this.poll(broker, sessions), 1).unref();
        return;
      }
      this.stats.waitTimeouts++;
      for (const s of sessions) this.ignored.add(s);
    }
    this.pending.clear();
    this.timer = undefined;
    // What was held, in order, until the clients are behind again.
    while (this.held.length > 0) {
      const frame = this.held.shift()!;
      this.stats.heldFrames--;
      this.stats.heldBytes -= frame.length;
      if (this.run(frame)) return;
    }
  }

  /** Leaving: nothing is held any longer (QoS 0: what was held is dropped). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    this.held = [];
    this.stats.heldFrames = 0;
    this.stats.heldBytes = 0;
  }
}
