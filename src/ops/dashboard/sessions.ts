// The dashboard's logins: a random session id in an HttpOnly, SameSite=Strict cookie, and a
// second random token the page sends back in a header on every verb that changes something.
// The cookie alone never authorizes a change: another site can make a browser send the
// cookie (a form POST), but cannot read the token nor set a custom header without CORS,
// which this server never grants.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'starling_session';
export const CSRF_HEADER = 'x-starling-csrf';

export interface Login {
  readonly csrf: string;
  /** The password file's user who logged in; null for the admin token. */
  readonly user: string | null;
  readonly createdAt: number;
  lastUsed: number;
  /** Called when the login ends (logout, expiry, eviction): its streams close. */
  readonly onEnd: Set<() => void>;
}

export interface LoginStats {
  logins: number;
  failures: number;
  /** Ended by age (sessionTimeout), by a newer login beyond maxSessions, or by logout. */
  ended: { expired: number; evicted: number; logout: number };
}

export class LoginSessions {
  /** By the SHA-256 of the cookie's value, so a heap dump holds no usable cookie. Insertion order is age. */
  private readonly byDigest = new Map<string, Login>();
  readonly stats: LoginStats = { logins: 0, failures: 0, ended: { expired: 0, evicted: 0, logout: 0 } };

  constructor(
    private readonly maxSessions: number,
    /** Idle time after which a login ends, ms. */
    private readonly timeout: number,
  ) {}

  get size(): number {
    return this.byDigest.size;
  }

  /** A new login: its cookie value and CSRF token. Beyond maxSessions the least recently used login ends. */
  create(user: string | undefined, now = Date.now()): { id: string; login: Login } {
    this.sweep(now);
    while (this.byDigest.size >= this.maxSessions) {
      let oldest: [string, Login] | undefined;
      for (const entry of this.byDigest) if (oldest === undefined || entry[1].lastUsed < oldest[1].lastUsed) oldest = entry;
      this.end(oldest![0], 'evicted');
    }
    const id = randomBytes(32).toString('base64url');
    const login: Login = { csrf: randomBytes(24).toString('base64url'), user: user ?? null, createdAt: now, lastUsed: now, onEnd: new Set() };
    this.byDigest.set(digest(id), login);
    this.stats.logins++;
    return { id, login };
  }

  /** The login a request's cookie names, if it is still valid; marks it used. */
  get(req: IncomingMessage, now = Date.now()): Login | undefined {
    const id = cookieValue(req.headers.cookie, COOKIE);
    if (id === undefined) return undefined;
    const key = digest(id);
    const login = this.byDigest.get(key);
    if (login === undefined) return undefined;
    if (now - login.lastUsed > this.timeout) {
      this.end(key, 'expired');
      return undefined;
    }
    login.lastUsed = now;
    return login;
  }

  /** Ends the login a request's cookie names; false when there was none. */
  logout(req: IncomingMessage): boolean {
    const id = cookieValue(req.headers.cookie, COOKIE);
    if (id === undefined) return false;
    return this.end(digest(id), 'logout');
  }

  /** Ends logins idle longer than the timeout. */
  sweep(now = Date.now()): void {
    for (const [key, login] of this.byDigest) if (now - login.lastUsed > this.timeout) this.end(key, 'expired');
  }

  endAll(): void {
    for (const key of [...this.byDigest.keys()]) this.end(key, 'logout');
  }

  private end(key: string, why: keyof LoginStats['ended']): boolean {
    const login = this.byDigest.get(key);
    if (login === undefined) return false;
    this.byDigest.delete(key);
    this.stats.ended[why]++;
    for (const f of login.onEnd) f();
    login.onEnd.clear();
    return true;
  }
}

/** True when the request carries the login's CSRF token in its header. */
export function csrfOk(req: IncomingMessage, login: Login): boolean {
  const sent = req.headers[CSRF_HEADER];
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(login.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function sessionCookie(id: string, maxAgeSeconds: number): string {
  return `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}

export function clearedCookie(): string {
  return `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function digest(id: string): string {
  return createHash('sha256').update(id).digest('base64');
}
