// Bounds on the work logins can make the broker do, decided before any of it is done. One
// check of a `starling passwd` hash costs about a quarter of a second of one core, so without
// bounds a single client sending CONNECTs it never waits for keeps every core busy and real
// logins wait for seconds.
//
// - Per source (sourceKey: a host, an IPv6 /64): logins are checked one after another, never
//   two at once, and at most `maxPendingPerSource` are in progress (waiting, being checked,
//   or waiting out the delay before a refusal); one more is refused at once (0x9F), costing
//   nothing. An attacker's source holds at most one hashing slot.
// - Failures are counted when the attempt starts, per source and per (source, user name),
//   and the next attempt's hash waits out the delay they give (backoff.ts). Closing the
//   socket without waiting for the answer therefore changes nothing, and a success for user
//   A clears the source's count and A's but not the count against user B.
// - Over all sources: at most `hashConcurrency` hashes run at once; the others wait in
//   arrival order, one per source at a time (so sources take turns), and at most `maxPending`
//   logins wait in all; one more is refused at once (0x89).
// - An unknown user (or a missing password) costs no hash: once the time a check of the
//   file's usual kind takes is known, the answer waits that long instead, after taking its
//   turn like a real check, so timing does not tell which users exist.

import { FailureBackoff, type BackoffOptions } from './backoff.js';
import { costKey, type PasswordRecord } from './hashes.js';

export interface LoginLimits {
  /** Password hashes computed at once over all clients. Default 2. */
  hashConcurrency?: number;
  /** Logins admitted and not yet checked, over all sources; one more is refused (0x89). Default 128. */
  maxPending?: number;
  /** Logins in progress from one source, the delay before a refusal included; one more is refused (0x9F). Default 4. */
  maxPendingPerSource?: number;
}

export const LOGIN_DEFAULTS: Readonly<Required<LoginLimits>> = Object.freeze({ hashConcurrency: 2, maxPending: 128, maxPendingPerSource: 4 });

export interface LoginStats {
  /** Password hashes computed (real checks, and the first check of an unknown user). */
  hashed: number;
  /** Checks of unknown users and missing passwords answered after a wait instead of a hash. */
  imitated: number;
  /** Logins refused before any work because their source had maxPendingPerSource in progress. */
  refusedSource: number;
  /** Logins refused before any work because maxPending logins were waiting. */
  refusedBusy: number;
  /** Addresses, and address and user name pairs, whose failures were forgotten to stay within the failure memory. */
  readonly forgotten: number;
}

/** Why a login was not accepted: a wrong password, or a bound that refused it unchecked. */
export type Outcome = { ok: true } | { ok: false; why: 'failed' | 'source' | 'busy' };

/**
 * The check of one password: resolves to whether it matched. `release` gives the hashing
 * slot back early (a check that only waits does not need it).
 */
export type PasswordCheck = (release: () => void) => Promise<boolean>;

interface Source {
  /** Logins from this source admitted and not yet answered. */
  pending: number;
  /** Settles when the last admitted login has been checked: the next one goes after it. */
  tail: Promise<void>;
}

/** A wait that does not keep the process alive: a broker that closes drops pending logins. */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Weight of the newest measurement in the moving average of check times. */
const TIMING_WEIGHT = 0.2;
const MAX_TIMINGS = 64;

export class LoginGuard {
  readonly stats: LoginStats;
  private readonly limits: Required<LoginLimits>;
  private readonly sources = new Map<string, Source>();
  private readonly bySource: FailureBackoff | undefined;
  private readonly byUser: FailureBackoff | undefined;
  /** Checks waiting for a hashing slot, in arrival order (each source has at most one here). */
  private readonly queue: Array<() => void> = [];
  private running = 0;
  private admitted = 0;
  /** Moving average of how long a check takes, ms, per cost (hashes.ts, costKey). */
  private readonly timings = new Map<string, number>();

  constructor(limits: LoginLimits = {}, backoff: BackoffOptions | false = {}) {
    this.limits = { ...LOGIN_DEFAULTS, ...limits };
    if (backoff !== false) {
      this.bySource = new FailureBackoff(backoff);
      this.byUser = new FailureBackoff(backoff);
    }
    const tables = [this.bySource, this.byUser];
    this.stats = {
      hashed: 0,
      imitated: 0,
      refusedSource: 0,
      refusedBusy: 0,
      get forgotten() {
        return (tables[0]?.evicted ?? 0) + (tables[1]?.evicted ?? 0);
      },
    };
  }

  /** Logins admitted and not yet checked. */
  get pending(): number {
    return this.admitted;
  }

  /** Hashes being computed now. */
  get hashing(): number {
    return this.running;
  }

  /**
   * One password login from `source` (a sourceKey) for `username`: admitted or refused at
   * once, then checked in its turn; a refusal for a wrong password comes after the failure
   * delay. `check` must not throw.
   */
  async check(source: string, username: string, check: PasswordCheck): Promise<Outcome> {
    const s = this.admit(source);
    if (typeof s === 'string') return { ok: false, why: s };
    let counted = true;
    const checked = (): void => {
      if (counted) {
        counted = false;
        this.admitted--;
      }
    };
    const next = await this.inTurn(s, source, username);
    try {
      await this.slot();
      let held = true;
      const release = (): void => {
        if (held) {
          held = false;
          this.free();
        }
      };
      let ok: boolean;
      try {
        ok = await check(release);
      } finally {
        release();
        checked();
      }
      if (ok) {
        this.succeeded(source, username);
        return { ok: true };
      }
      const delay = this.failedNow(source, username);
      next();
      if (delay > 0) await sleep(delay);
      return { ok: false, why: 'failed' };
    } finally {
      checked();
      next();
      this.leave(source, s);
    }
  }

  /**
   * The start of an exchange whose failure is only known later (SCRAM): admitted, waits out
   * the failure delay, and is counted as a failure until `succeeded()` says otherwise.
   */
  async start(source: string, username: string): Promise<Outcome> {
    const s = this.admit(source);
    if (typeof s === 'string') return { ok: false, why: s };
    const next = await this.inTurn(s, source, username);
    try {
      return { ok: true };
    } finally {
      this.admitted--;
      next();
      this.leave(source, s);
    }
  }

  /**
   * A failure known after the fact: counted now unless `start()` already counted it, and
   * resolved once its delay is over (the moment to answer).
   */
  failed(source: string, username: string, counted: boolean): Promise<void> {
    if (!counted) this.charge(source, username);
    const delay = this.failedNow(source, username);
    return delay > 0 ? sleep(delay) : Promise.resolve();
  }

  /** A success: the source and this user's count from it start afresh; other users' do not. */
  succeeded(source: string, username: string): void {
    this.bySource?.succeeded(source);
    this.byUser?.succeeded(pair(source, username));
  }

  /** Runs a real check, timing it for imitate(). */
  async timed(record: PasswordRecord, check: () => Promise<boolean>): Promise<boolean> {
    const t0 = performance.now();
    const ok = await check();
    this.stats.hashed++;
    const ms = performance.now() - t0;
    const key = costKey(record);
    const old = this.timings.get(key);
    if (old === undefined && this.timings.size >= MAX_TIMINGS) this.timings.clear();
    this.timings.set(key, old === undefined ? ms : old + (ms - old) * TIMING_WEIGHT);
    return ok;
  }

  /**
   * A check that cannot succeed (unknown user, no password) answered as late as a real
   * check of `like` would be, without its work: the first time, `like` is really checked to
   * learn how long that takes.
   */
  async imitate(like: PasswordRecord, release: () => void, real: () => Promise<boolean>): Promise<false> {
    const ms = this.timings.get(costKey(like));
    if (ms === undefined) {
      await this.timed(like, real);
      return false;
    }
    release();
    this.stats.imitated++;
    await sleep(ms);
    return false;
  }

  private admit(source: string): Source | 'source' | 'busy' {
    if (this.admitted >= this.limits.maxPending) {
      this.stats.refusedBusy++;
      return 'busy';
    }
    let s = this.sources.get(source);
    if (s === undefined) this.sources.set(source, (s = { pending: 0, tail: Promise.resolve() }));
    if (s.pending >= this.limits.maxPendingPerSource) {
      this.stats.refusedSource++;
      return 'source';
    }
    s.pending++;
    this.admitted++;
    return s;
  }

  private leave(source: string, s: Source): void {
    if (--s.pending === 0) this.sources.delete(source);
  }

  /**
   * Joins the source's line (its logins are checked one at a time), waits out the failure
   * delay, and counts the attempt as a failure until told otherwise. Resolves to the call
   * that lets the source's next login go.
   */
  private async inTurn(s: Source, source: string, username: string): Promise<() => void> {
    const prev = s.tail;
    let next!: () => void;
    s.tail = new Promise((resolve) => (next = resolve));
    await prev;
    await this.waitTurn(source, username);
    this.charge(source, username);
    return next;
  }

  /** Waits until the delays of the failures so far, from this source and against this user, are over. */
  private async waitTurn(source: string, username: string): Promise<void> {
    if (this.bySource === undefined) return;
    const ms = Math.max(this.bySource.remaining(source), this.byUser!.remaining(pair(source, username)));
    if (ms > 0) await sleep(ms);
  }

  /** Counts the attempt as a failure now; a success takes it back. */
  private charge(source: string, username: string): void {
    this.bySource?.fail(source);
    this.byUser?.fail(pair(source, username));
  }

  /** The failure is final: its delay runs from now. Returns that delay, ms. */
  private failedNow(source: string, username: string): number {
    if (this.bySource === undefined) return 0;
    const key = pair(source, username);
    this.bySource.stamp(source);
    this.byUser!.stamp(key);
    return Math.max(this.bySource.current(source), this.byUser!.current(key));
  }

  private slot(): Promise<void> | void {
    if (this.running < this.limits.hashConcurrency) {
      this.running++;
      return;
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  /** A slot is given back: the longest-waiting check takes it over, or it is free. */
  private free(): void {
    const next = this.queue.shift();
    if (next !== undefined) next();
    else this.running--;
  }
}

function pair(source: string, username: string): string {
  return `${source}\u0000${username}`;
}
