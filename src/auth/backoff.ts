// A delay before refusing a failed login, growing with each consecutive failure from the
// same address: password guessing slows to a crawl while a user who mistypes once waits a
// moment. The table of addresses is bounded; the least recently failing address is
// forgotten first, and a success clears its address.
//
// Addresses are hosts without the port; IPv6 hosts count per /64, the block one subscriber
// usually holds, so that hopping between addresses of one's own block does not help.
// On its own it only delays answers; LoginGuard (login-guard.ts) also makes the next attempt
// wait out the delay before any password is hashed for it, so that a client which does not
// wait for answers gains nothing.

export interface BackoffOptions {
  /** Delay before the first refusal from an address, ms. Doubles per further failure. Default 250. */
  initialMs?: number;
  /** The longest delay, ms. Default 10,000. */
  maxMs?: number;
  /** Addresses remembered at once. Default 10,000. */
  maxAddresses?: number;
  /** An address with no failure for this long starts again from `initialMs`, ms. Default 600,000 (10 min). */
  forgetAfterMs?: number;
}

export const BACKOFF_DEFAULTS: Readonly<Required<BackoffOptions>> = Object.freeze({
  initialMs: 250,
  maxMs: 10_000,
  maxAddresses: 10_000,
  forgetAfterMs: 600_000,
});

interface Entry {
  failures: number;
  last: number;
}

export class FailureBackoff {
  private readonly options: Required<BackoffOptions>;
  /** Insertion order is recency order: an updated entry is moved to the end. */
  private readonly entries = new Map<string, Entry>();

  constructor(options: BackoffOptions = {}, private readonly now: () => number = Date.now) {
    this.options = { ...BACKOFF_DEFAULTS, ...options };
  }

  /** Addresses forgotten to keep the table within maxAddresses (not those forgotten for quiet). */
  evicted = 0;

  get size(): number {
    return this.entries.size;
  }

  /** Records a failure from `address` and returns how long to wait before answering it, ms. */
  fail(address: string): number {
    const now = this.now();
    const { maxAddresses, forgetAfterMs } = this.options;
    let e = this.entries.get(address);
    if (e !== undefined) this.entries.delete(address);
    if (e === undefined || now - e.last > forgetAfterMs) e = { failures: 0, last: now };
    e.failures++;
    e.last = now;
    this.entries.set(address, e);
    while (this.entries.size > maxAddresses) {
      this.entries.delete(this.entries.keys().next().value!);
      this.evicted++;
    }
    return this.delayOf(e.failures);
  }

  /** The delay the current count of failures gives, ms; 0 for an address without failures. */
  current(address: string): number {
    const e = this.live(address);
    return e === undefined ? 0 : this.delayOf(e.failures);
  }

  /** How long from now until the delay of the last failure is over, ms (0: not waiting). */
  remaining(address: string): number {
    const e = this.live(address);
    return e === undefined ? 0 : Math.max(0, e.last + this.delayOf(e.failures) - this.now());
  }

  /** Moves the last failure to now, without counting another (a failure counted in advance). */
  stamp(address: string): void {
    const e = this.live(address);
    if (e !== undefined) e.last = this.now();
  }

  private live(address: string): Entry | undefined {
    const e = this.entries.get(address);
    return e === undefined || this.now() - e.last > this.options.forgetAfterMs ? undefined : e;
  }

  private delayOf(failures: number): number {
    const { initialMs, maxMs } = this.options;
    return failures <= 0 ? 0 : Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 30));
  }

  /** Records a failure and waits out its delay. */
  failed(address: string): Promise<void> {
    const ms = this.fail(address);
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** A successful login: the address starts afresh. */
  succeeded(address: string): void {
    this.entries.delete(address);
  }
}

/**
 * The host a remote address ("1.2.3.4:5678", "[2001:db8::1]:5678") counts under: IPv4 as
 * is (IPv4-mapped IPv6 included), IPv6 by its /64 prefix.
 */
export function sourceKey(remoteAddress: string): string {
  let host = remoteAddress;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end > 0) host = host.slice(1, end);
  } else {
    const m = /^([^:]*):[0-9]+$/.exec(host);
    if (m !== null) host = m[1]!;
  }
  const mapped = /^::ffff:([0-9.]+)$/i.exec(host);
  if (mapped !== null) return mapped[1]!;
  if (!host.includes(':')) return host;
  const groups = expandIPv6(host.split('%')[0]!);
  return groups === undefined ? host : `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(host: string): string[] | undefined {
  const halves = host.toLowerCase().split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : [];
  if (tail.length > 0 && tail.at(-1)!.includes('.')) tail.splice(-1, 1, '0', '0'); // embedded IPv4: not in the prefix
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(Math.max(fill, 0)).fill('0'), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => g.replace(/^0+(?=.)/, ''));
}
