// A lease in Redis: one member of the cluster at a time holds a name (a key with its node
// name and a TTL), renews it while it lives, and gives it up when it stops. What must run
// once in a cluster (the bridges: two members holding one remote client id would take the
// session from each other) runs on the member that holds its lease.
//
// Safety before liveness: a member that cannot renew (Redis away, the member stalled) gives
// the work up once the TTL it last set could have run out, before another member can take
// the key; while Redis is away nobody holds it and the work pauses. The TTL is the cluster's
// `nodeTimeout`, so a killed holder's work moves within that long.

import type { RedisClient } from './config.js';

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface LeaseHandlers {
  /** This member now holds the lease: start the work. */
  acquired(): void | Promise<void>;
  /** It no longer does (or is stopping): stop the work. */
  lost(): void | Promise<void>;
}

export class Lease {
  private timer: NodeJS.Timeout | undefined;
  private holding = false;
  /** When the TTL last set by this member runs out (ms since the epoch). */
  private expiresAt = 0;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly redis: RedisClient,
    /** The Redis key of the lease. */
    readonly key: string,
    /** This member's name, the key's value while it holds it. */
    readonly owner: string,
    private readonly ttlMs: number,
    private readonly handlers: LeaseHandlers,
  ) {}

  get held(): boolean {
    return this.holding;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), Math.max(50, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /** Stops trying; gives the work and the key up when held. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.holding) return;
    await this.lose();
    await answerWithin(this.redis.eval(RELEASE, 1, this.key, this.owner), this.ttlMs / 3).catch(() => undefined);
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const sentAt = Date.now();
      let answer: 'ok' | 'refused' | 'no answer';
      try {
        // The cluster's connections queue commands while Redis is away: wait a third of the TTL.
        const ok = this.holding
          ? Number(await answerWithin(this.redis.eval(RENEW, 1, this.key, this.owner, String(this.ttlMs)), this.ttlMs / 3)) === 1
          : (await answerWithin(this.redis.set(this.key, this.owner, 'PX', this.ttlMs, 'NX'), this.ttlMs / 3)) === 'OK';
        answer = ok ? 'ok' : 'refused';
      } catch {
        answer = 'no answer';
      }
      if (this.stopped) return;
      if (answer === 'ok') {
        // Counted from when the command was sent: the key may have been set any time after.
        this.expiresAt = sentAt + this.ttlMs;
        if (!this.holding) {
          this.holding = true;
          await this.handlers.acquired();
        }
      } else if (this.holding && (answer === 'refused' || Date.now() >= this.expiresAt - this.ttlMs / 3)) {
        // Refused: the key ran out or is another member's. No answer: give up a third of the
        // TTL before it can run out, so that two members never run the work at once.
        await this.lose();
      }
    } finally {
      this.busy = false;
    }
  }

  private async lose(): Promise<void> {
    if (!this.holding) return;
    this.holding = false;
    await this.handlers.lost();
  }
}

/** The command's answer, or a rejection once `ms` have passed without one. */
function answerWithin<T>(command: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('Redis did not answer')), ms);
  });
  command.catch(() => undefined); // answered after the timeout: nothing waits for it
  return Promise.race([command, late]).finally(() => clearTimeout(timer));
}
