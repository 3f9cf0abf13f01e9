// SCRAM-SHA-256 (RFC 5802, RFC 7677) as MQTT 5.0 enhanced authentication (section 4.12):
//
//   CONNECT  Authentication Method "SCRAM-SHA-256", Data = client-first-message
//   AUTH 0x18                                       Data = server-first-message
//   AUTH 0x18                                       Data = client-final-message
//   CONNACK 0x00                                    Data = server-final-message (v=...)
//
// and the same after AUTH 0x19 to re-authenticate. The server side only: credentials come
// from the password file's `SCRAM-SHA-256$<i>:<salt>$<StoredKey>:<ServerKey>` entries
// (RFC 5803), so the server never holds, or computes, the password itself. Users stored with
// another scheme cannot use SCRAM: their exchange fails at the proof, exactly like a wrong
// password or an unknown user, which answer with a stable made-up salt so that the
// server-first message does not tell which users exist (RFC 5802 section 9).
//
// Not supported: channel binding (SCRAM-SHA-256-PLUS; a client asking for it with "p=" is
// refused) and SASLprep (passwords are used as their UTF-8 bytes, which equals SASLprep
// for ASCII passwords).

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { AuthStep, EnhancedAuthRequest } from '../broker/types.js';
import { DEFAULTS } from './hashes.js';
import type { PasswordTable } from './password-file.js';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';

/** What SCRAM needs of a user (RFC 5802 section 3). */
export interface ScramCredentials {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/**
 * Fields a broker may pass beyond EnhancedAuthRequest: the CONNECT User Name, to bind the
 * SCRAM identity to it, and the client's address, for the failure backoff.
 */
export type ScramRequest = EnhancedAuthRequest & { readonly username?: string | undefined; readonly remoteAddress?: string };

/** A successful step that names the user SCRAM proved, for a broker that adopts it. */
export type ScramSuccess = Extract<AuthStep, { ok: true }> & { readonly username: string };

export interface ScramOptions {
  /** The current password table (read per exchange, so a reload applies to the next one). */
  credentials: () => PasswordTable | undefined;
  /**
   * The CONNECT User Name must equal the SCRAM user name, so that the ACL, which knows a
   * client by its CONNECT User Name, judges the user SCRAM proved:
   * - 'require': refuse unless the broker passes the CONNECT User Name and it matches;
   * - 'if-known': refuse a mismatch when the broker passes it (default).
   */
  bindUsername?: 'require' | 'if-known' | (() => 'require' | 'if-known');
  /** The server's part of the nonce. Default: 18 random bytes, base64. */
  nonce?: () => string;
  /**
   * Asked before an exchange for `username` starts (for login bounds); resolves to undefined
   * to go on, or to the reason code to refuse it with. `onFailure` is not called for it.
   */
  admit?: (req: ScramRequest, username: string) => Promise<number | undefined>;
  /**
   * Told of each failed exchange (for a backoff); awaited before the refusal. `admitted`:
   * the exchange had passed `admit` (a failure of the proof, not of the first message).
   */
  onFailure?: (req: ScramRequest, reason: string, admitted: boolean) => void | Promise<void>;
  /** Told of each success. */
  onSuccess?: (req: ScramRequest, username: string) => void;
}

/** Longest client message accepted, bytes: far above any real one. */
const MAX_MESSAGE = 4096;
const REFUSED = 0x86;

// --- messages -------------------------------------------------------------------------------

export interface ClientFirst {
  /** gs2-header, e.g. "n,,": echoed (base64) in the client-final message's c= attribute. */
  readonly gs2Header: string;
  readonly username: string;
  readonly nonce: string;
  /** client-first-message-bare, a part of AuthMessage. */
  readonly bare: string;
}

export interface ClientFinal {
  readonly channelBinding: Buffer;
  readonly nonce: string;
  readonly proof: Buffer;
  /** client-final-message-without-proof, a part of AuthMessage. */
  readonly withoutProof: string;
}

/** A printable nonce: %x21-7E except ',' (RFC 5802 section 7). */
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

/** saslname: '=' only as "=2C" (,) or "=3D" (=). */
function decodeSaslName(s: string): string | undefined {
  if (s.length === 0 || /=(?!2C|3D)/.test(s)) return undefined;
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** Parses client-first-message; a string says what is wrong. */
export function parseClientFirst(text: string): ClientFirst | string {
  const m = /^(n|y|p=[A-Za-z0-9.-]+),(a=[^,]*)?,(.*)$/s.exec(text);
  if (m === null) return 'malformed gs2 header';
  if (m[1]!.startsWith('p=')) return 'channel binding is not supported';
  const bare = m[3]!;
  const attrs = bare.split(',');
  if (attrs[0]!.startsWith('m=')) return 'mandatory extension not supported';
  if (attrs.length < 2 || !attrs[0]!.startsWith('n=') || !attrs[1]!.startsWith('r=')) return 'expected n=<user>,r=<nonce>';
  const username = decodeSaslName(attrs[0]!.slice(2));
  if (username === undefined) return 'malformed user name';
  const nonce = attrs[1]!.slice(2);
  if (!NONCE.test(nonce)) return 'malformed nonce';
  if (m[2] !== undefined) {
    // An authorization identity other than the user itself would be impersonation.
    const authzid = decodeSaslName(m[2].slice(2));
    if (authzid !== username) return 'authorization identity differs from the user';
  }
  return { gs2Header: `${m[1]},${m[2] ?? ''},`, username, nonce, bare };
}

/** Parses client-final-message; a string says what is wrong. */
export function parseClientFinal(text: string): ClientFinal | string {
  const at = text.lastIndexOf(',p=');
  if (at < 0) return 'no proof';
  const withoutProof = text.slice(0, at);
  const proofText = text.slice(at + 3);
  const attrs = withoutProof.split(',');
  if (attrs.length < 2 || !attrs[0]!.startsWith('c=') || !attrs[1]!.startsWith('r=')) return 'expected c=<binding>,r=<nonce>,...,p=<proof>';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(proofText)) return 'malformed proof';
  return { channelBinding: Buffer.from(attrs[0]!.slice(2), 'base64'), nonce: attrs[1]!.slice(2), proof: Buffer.from(proofText, 'base64'), withoutProof };
}

const hmac = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

// --- one exchange ---------------------------------------------------------------------------

/** The server's side of one exchange, between the first and the final message. */
export class ScramExchange {
  private constructor(
    readonly username: string,
    private readonly credentials: ScramCredentials,
    /** False for an unknown user or one without SCRAM credentials: the proof always fails. */
    private readonly real: boolean,
    private readonly first: ClientFirst,
    readonly serverFirst: string,
    private readonly nonce: string,
  ) {}

  /** Answers a client-first message with the server-first message. */
  static start(clientFirst: ClientFirst, credentials: ScramCredentials | undefined, decoy: ScramCredentials, serverNonce: string): ScramExchange {
    const c = credentials ?? decoy;
    const nonce = clientFirst.nonce + serverNonce;
    const serverFirst = `r=${nonce},s=${c.salt.toString('base64')},i=${c.iterations}`;
    return new ScramExchange(clientFirst.username, c, credentials !== undefined, clientFirst, serverFirst, nonce);
  }

  /** Checks the client-final message: the server-final message, or why it failed. */
  finish(clientFinal: ClientFinal): { ok: true; serverFinal: string } | { ok: false; reason: string } {
    if (!clientFinal.channelBinding.equals(Buffer.from(this.first.gs2Header))) return { ok: false, reason: 'channel binding differs from the gs2 header' };
    if (clientFinal.nonce !== this.nonce) return { ok: false, reason: 'nonce differs' };
    if (clientFinal.proof.length !== this.credentials.storedKey.length) return { ok: false, reason: 'proof of the wrong length' };
    const authMessage = `${this.first.bare},${this.serverFirst},${clientFinal.withoutProof}`;
    const clientSignature = hmac(this.credentials.storedKey, authMessage);
    const clientKey = xor(clientFinal.proof, clientSignature);
    // Compare before looking at `real`, so that a made-up user costs the same.
    const match = timingSafeEqual(sha256(clientKey), this.credentials.storedKey);
    if (!match || !this.real) return { ok: false, reason: 'invalid proof' };
    return { ok: true, serverFinal: `v=${hmac(this.credentials.serverKey, authMessage).toString('base64')}` };
  }
}

// --- the hook -------------------------------------------------------------------------------

const STATE = 'scram';

/**
 * The enhancedAuth hook for SCRAM-SHA-256. Returns undefined for other methods, so it can
 * sit beside hooks for other methods.
 */
export function scramAuth(options: ScramOptions): (req: EnhancedAuthRequest) => AuthStep | undefined | Promise<AuthStep | undefined> {
  const secret = randomBytes(32);
  const serverNonce = options.nonce ?? (() => randomBytes(18).toString('base64'));
  const bind = options.bindUsername ?? 'if-known';

  /** A stable made-up salt per user name, with the file's usual iteration count. */
  const decoyFor = (username: string, table: PasswordTable | undefined): ScramCredentials => ({
    iterations: usualIterations(table),
    salt: createHmac('sha256', secret).update(username).digest().subarray(0, DEFAULTS.scramSha256.saltBytes),
    storedKey: createHmac('sha256', secret).update(`stored\u0000${username}`).digest(),
    serverKey: createHmac('sha256', secret).update(`server\u0000${username}`).digest(),
  });

  const fail = async (req: ScramRequest, reason: string, admitted = false): Promise<AuthStep> => {
    await options.onFailure?.(req, reason, admitted);
    return { done: true, ok: false, reasonCode: REFUSED };
  };

  return (request) => {
    if (request.method !== SCRAM_SHA_256) return undefined;
    const req = request as ScramRequest;
    const data = req.data;
    if (data === undefined || data.length > MAX_MESSAGE || !isUtf8(data)) return fail(req, 'missing or malformed data', req.step > 0);
    const text = data.toString('utf8');

    if (req.step === 0) {
      const first = parseClientFirst(text);
      if (typeof first === 'string') return fail(req, first);
      // Bound when the CONNECT named a user; otherwise the proven SCRAM user becomes the identity.
      const known = req.username !== undefined;
      if ((typeof bind === 'function' ? bind() : bind) === 'require' && !known) return fail(req, 'the broker does not pass the CONNECT User Name to bind the SCRAM user to');
      if (known && req.username !== first.username) return fail(req, 'SCRAM user differs from the CONNECT User Name');
      const begin = (): AuthStep => {
        const table = options.credentials();
        const record = table?.get(first.username);
        const credentials = record?.scheme === 'scram-sha-256' ? record : undefined;
        const exchange = ScramExchange.start(first, credentials, decoyFor(first.username, table), serverNonce());
        req.state[STATE] = exchange;
        return { done: false, data: Buffer.from(exchange.serverFirst) };
      };
      if (options.admit === undefined) return begin();
      return options.admit(req, first.username).then((refused): AuthStep => (refused === undefined ? begin() : { done: true, ok: false, reasonCode: refused }));
    }

    const exchange = req.state[STATE];
    if (req.step !== 1 || !(exchange instanceof ScramExchange)) return fail(req, 'unexpected step', true);
    delete req.state[STATE];
    const final = parseClientFinal(text);
    if (typeof final === 'string') return fail(req, final, true);
    const result = exchange.finish(final);
    if (!result.ok) return fail(req, result.reason, true);
    options.onSuccess?.(req, exchange.username);
    const success: ScramSuccess = { done: true, ok: true, data: Buffer.from(result.serverFinal), username: exchange.username };
    return success;
  };
}

const iterationsSeen = new WeakMap<PasswordTable, number>();

/** The iteration count of the table's SCRAM entries, so a made-up user looks like a real one. */
function usualIterations(table: PasswordTable | undefined): number {
  if (table === undefined) return DEFAULTS.scramSha256.iterations;
  let n = iterationsSeen.get(table);
  if (n === undefined) {
    n = DEFAULTS.scramSha256.iterations;
    for (const user of table.usernames()) {
      const r = table.get(user);
      if (r?.scheme === 'scram-sha-256') {
        n = r.iterations;
        break;
      }
    }
    iterationsSeen.set(table, n);
  }
  return n;
}
