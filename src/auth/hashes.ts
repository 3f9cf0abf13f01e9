// Password hashes: the schemes a password file line can hold, how each is written and read,
// and how a password is checked against one. All comparisons are constant-time; the slow
// schemes run on libuv's thread pool so a login never blocks the event loop.
//
//   $6$<salt>$<hash>                    Mosquitto sha512: base64 salt, base64 of
//                                       SHA-512(password || salt) (mosquitto_passwd -H sha512)
//   $7$<iterations>$<salt>$<hash>       Mosquitto sha512-pbkdf2: PBKDF2-HMAC-SHA512, 64 bytes
//                                       (mosquitto_passwd's default since 2.0)
//   $scrypt$N=<N>,r=<r>,p=<p>$<salt>$<hash>
//                                       Starling's default: scrypt (RFC 7914)
//   SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
//                                       SCRAM credentials as RFC 5803 writes them (the same
//                                       text PostgreSQL stores): usable for SCRAM-SHA-256
//                                       enhanced authentication and for plain passwords

import { createHash, createHmac, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export type PasswordRecord =
  | { readonly scheme: 'sha512'; readonly salt: Buffer; readonly hash: Buffer }
  | { readonly scheme: 'pbkdf2-sha512'; readonly iterations: number; readonly salt: Buffer; readonly hash: Buffer }
  | { readonly scheme: 'scrypt'; readonly N: number; readonly r: number; readonly p: number; readonly salt: Buffer; readonly hash: Buffer }
  | { readonly scheme: 'scram-sha-256'; readonly iterations: number; readonly salt: Buffer; readonly storedKey: Buffer; readonly serverKey: Buffer };

export type Scheme = PasswordRecord['scheme'];

/**
 * Starling's defaults. scrypt N=2^15, r=8, p=3 is one of OWASP's equivalent minimums for
 * scrypt (32 MiB per check); PBKDF2 iteration counts follow OWASP's 2023 figures for
 * HMAC-SHA512 (210,000) and HMAC-SHA256 (600,000). mosquitto_passwd 2.0 writes 101
 * iterations: such files are read as they are, only new lines get the stronger count.
 */
export const DEFAULTS = Object.freeze({
  scrypt: Object.freeze({ N: 32_768, r: 8, p: 3, saltBytes: 16, hashBytes: 64 }),
  pbkdf2Sha512: Object.freeze({ iterations: 210_000, saltBytes: 12 }),
  scramSha256: Object.freeze({ iterations: 600_000, saltBytes: 16 }),
});

/** Work bounds a file may ask for: a hostile or mistyped line cannot stall the broker. */
const MAX_ITERATIONS = 10_000_000;
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;

const SHA512_BYTES = 64;
const SHA256_BYTES = 32;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function base64(text: string, what: string): Buffer {
  if (text.length === 0 || !BASE64.test(text)) throw new Error(`${what} is not valid base64`);
  return Buffer.from(text, 'base64');
}

function integer(text: string, what: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text)) throw new Error(`${what} "${text}" is not a number`);
  const n = Number(text);
  if (n < min || n > max) throw new Error(`${what} ${n} is outside ${min}..${max}`);
  return n;
}

function length(buf: Buffer, bytes: number, what: string): Buffer {
  if (buf.length !== bytes) throw new Error(`${what} is ${buf.length} bytes, expected ${bytes}`);
  return buf;
}

function salt(text: string): Buffer {
  const s = base64(text, 'salt');
  if (s.length < 8) throw new Error(`salt is ${s.length} bytes, at least 8 expected`);
  return s;
}

/** Reads the hash part of a password file line; throws an Error whose message says what is wrong. */
export function decodeHash(text: string): PasswordRecord {
  if (text.startsWith('$6$')) {
    const parts = text.slice(3).split('$');
    if (parts.length !== 2) throw new Error('a $6$ hash is $6$<salt>$<hash>');
    return { scheme: 'sha512', salt: salt(parts[0]!), hash: length(base64(parts[1]!, 'hash'), SHA512_BYTES, 'hash') };
  }
  if (text.startsWith('$7$')) {
    const parts = text.slice(3).split('$');
    if (parts.length !== 3) throw new Error('a $7$ hash is $7$<iterations>$<salt>$<hash>');
    return {
      scheme: 'pbkdf2-sha512',
      iterations: integer(parts[0]!, 'iterations', 1, MAX_ITERATIONS),
      salt: salt(parts[1]!),
      hash: length(base64(parts[2]!, 'hash'), SHA512_BYTES, 'hash'),
    };
  }
  if (text.startsWith('$scrypt$')) {
    const parts = text.slice(8).split('$');
    if (parts.length !== 3) throw new Error('a $scrypt$ hash is $scrypt$N=<N>,r=<r>,p=<p>$<salt>$<hash>');
    const m = /^N=([0-9]+),r=([0-9]+),p=([0-9]+)$/.exec(parts[0]!);
    if (m === null) throw new Error(`scrypt parameters "${parts[0]}" are not N=<N>,r=<r>,p=<p>`);
    const N = integer(m[1]!, 'scrypt N', 2, 2 ** 30);
    if ((N & (N - 1)) !== 0) throw new Error(`scrypt N ${N} is not a power of 2`);
    const r = integer(m[2]!, 'scrypt r', 1, 1024);
    const p = integer(m[3]!, 'scrypt p', 1, 1024);
    if (128 * N * r > MAX_SCRYPT_MEMORY) throw new Error(`scrypt N=${N},r=${r} needs more than 1 GiB`);
    const hash = base64(parts[2]!, 'hash');
    if (hash.length < 16 || hash.length > 128) throw new Error(`hash is ${hash.length} bytes, expected 16..128`);
    return { scheme: 'scrypt', N, r, p, salt: salt(parts[1]!), hash };
  }
  if (text.startsWith('SCRAM-SHA-256$')) {
    const m = /^SCRAM-SHA-256\$([^:$]+):([^:$]+)\$([^:$]+):([^:$]+)$/.exec(text);
    if (m === null) throw new Error('a SCRAM-SHA-256 entry is SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>');
    return {
      scheme: 'scram-sha-256',
      iterations: integer(m[1]!, 'iterations', 1, MAX_ITERATIONS),
      salt: salt(m[2]!),
      storedKey: length(base64(m[3]!, 'StoredKey'), SHA256_BYTES, 'StoredKey'),
      serverKey: length(base64(m[4]!, 'ServerKey'), SHA256_BYTES, 'ServerKey'),
    };
  }
  if (text.startsWith('$argon2id$')) throw new Error('argon2id hashes are not supported (Node 20 has no argon2); re-create the user with starling passwd');
  if (!text.startsWith('$')) throw new Error('the password is not hashed (plain-text passwords are not accepted); use starling passwd or mosquitto_passwd -U');
  throw new Error(`unknown hash scheme "${text.split('$')[1] ?? ''}"`);
}

/** The text a password file holds for a record. */
export function encodeHash(record: PasswordRecord): string {
  const b = (buf: Buffer): string => buf.toString('base64');
  switch (record.scheme) {
    case 'sha512':
      return `$6$${b(record.salt)}$${b(record.hash)}`;
    case 'pbkdf2-sha512':
      return `$7$${record.iterations}$${b(record.salt)}$${b(record.hash)}`;
    case 'scrypt':
      return `$scrypt$N=${record.N},r=${record.r},p=${record.p}$${b(record.salt)}$${b(record.hash)}`;
    case 'scram-sha-256':
      return `SCRAM-SHA-256$${record.iterations}:${b(record.salt)}$${b(record.storedKey)}:${b(record.serverKey)}`;
  }
}

const pbkdf2Async = (password: Buffer, saltBytes: Buffer, iterations: number, bytes: number, digest: string): Promise<Buffer> =>
  new Promise((resolve, reject) => pbkdf2(password, saltBytes, iterations, bytes, digest, (err, key) => (err ? reject(err) : resolve(key))));

function scryptMaxmem(N: number, r: number, p: number): number {
  // Node refuses when 128*N*r (plus its own overhead) exceeds maxmem (default 32 MiB).
  return 128 * N * r + 128 * r * p + 1024 * 1024;
}

const scryptAsync = (password: Buffer, saltBytes: Buffer, bytes: number, N: number, r: number, p: number): Promise<Buffer> =>
  new Promise((resolve, reject) =>
    scrypt(password, saltBytes, bytes, { N, r, p, maxmem: scryptMaxmem(N, r, p) }, (err, key) => (err ? reject(err) : resolve(key))),
  );

const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/** SCRAM-SHA-256 keys from a password (RFC 5802 section 3; the password is used as its bytes, no SASLprep). */
export async function scramKeys(password: Buffer, saltBytes: Buffer, iterations: number): Promise<{ clientKey: Buffer; storedKey: Buffer; serverKey: Buffer }> {
  const salted = await pbkdf2Async(password, saltBytes, iterations, SHA256_BYTES, 'sha256');
  const clientKey = hmac(salted, 'Client Key');
  return { clientKey, storedKey: sha256(clientKey), serverKey: hmac(salted, 'Server Key') };
}

/** True when the password matches the record. Constant-time in the comparison. */
export async function verifyHash(record: PasswordRecord, password: Buffer): Promise<boolean> {
  switch (record.scheme) {
    case 'sha512': {
      // Mosquitto hashes the password followed by the salt bytes, one SHA-512 pass.
      const h = createHash('sha512').update(password).update(record.salt).digest();
      return timingSafeEqual(h, record.hash);
    }
    case 'pbkdf2-sha512':
      return timingSafeEqual(await pbkdf2Async(password, record.salt, record.iterations, SHA512_BYTES, 'sha512'), record.hash);
    case 'scrypt':
      return timingSafeEqual(await scryptAsync(password, record.salt, record.hash.length, record.N, record.r, record.p), record.hash);
    case 'scram-sha-256':
      return timingSafeEqual((await scramKeys(password, record.salt, record.iterations)).storedKey, record.storedKey);
  }
}

export interface CreateOptions {
  /** PBKDF2 iterations ($7$, SCRAM) or scrypt N (a power of 2). */
  cost?: number;
}

/** A new record for a password, with a fresh random salt. */
export async function createRecord(scheme: Scheme, password: Buffer, options: CreateOptions = {}): Promise<PasswordRecord> {
  switch (scheme) {
    case 'sha512': {
      const s = randomBytes(12);
      return { scheme, salt: s, hash: createHash('sha512').update(password).update(s).digest() };
    }
    case 'pbkdf2-sha512': {
      const iterations = options.cost ?? DEFAULTS.pbkdf2Sha512.iterations;
      const s = randomBytes(DEFAULTS.pbkdf2Sha512.saltBytes);
      return { scheme, iterations, salt: s, hash: await pbkdf2Async(password, s, iterations, SHA512_BYTES, 'sha512') };
    }
    case 'scrypt': {
      const { r, p, saltBytes, hashBytes } = DEFAULTS.scrypt;
      const N = options.cost ?? DEFAULTS.scrypt.N;
      const s = randomBytes(saltBytes);
      return { scheme, N, r, p, salt: s, hash: await scryptAsync(password, s, hashBytes, N, r, p) };
    }
    case 'scram-sha-256': {
      const iterations = options.cost ?? DEFAULTS.scramSha256.iterations;
      const s = randomBytes(DEFAULTS.scramSha256.saltBytes);
      const { storedKey, serverKey } = await scramKeys(password, s, iterations);
      return { scheme, iterations, salt: s, storedKey, serverKey };
    }
  }
}

/**
 * A record of the same scheme and cost as `like`, matching no password: checked when the
 * user is unknown so that the answer takes as long as for a known user.
 */
export function decoyLike(like: PasswordRecord | undefined): PasswordRecord {
  const { N, r: blockSize, p, saltBytes, hashBytes } = DEFAULTS.scrypt;
  const r: PasswordRecord = like ?? { scheme: 'scrypt', N, r: blockSize, p, salt: Buffer.alloc(saltBytes), hash: Buffer.alloc(hashBytes) };
  switch (r.scheme) {
    case 'sha512':
      return { ...r, salt: randomBytes(r.salt.length), hash: randomBytes(SHA512_BYTES) };
    case 'pbkdf2-sha512':
      return { ...r, salt: randomBytes(r.salt.length), hash: randomBytes(SHA512_BYTES) };
    case 'scrypt':
      return { ...r, salt: randomBytes(r.salt.length), hash: randomBytes(r.hash.length) };
    case 'scram-sha-256':
      return { ...r, salt: randomBytes(r.salt.length), storedKey: randomBytes(SHA256_BYTES), serverKey: randomBytes(SHA256_BYTES) };
  }
}

/** Records of one key cost the same to check: the scheme and its cost parameters. */
export function costKey(r: PasswordRecord): string {
  switch (r.scheme) {
    case 'sha512':
      return r.scheme;
    case 'scrypt':
      return `${r.scheme}:${r.N}:${r.r}:${r.p}:${r.hash.length}`;
    default:
      return `${r.scheme}:${r.iterations}`;
  }
}

/**
 * Least work a hash should cost an attacker who has the file, below which loading warns:
 * $7$ and SCRAM at OWASP's PBKDF2 figures (the counts `starling passwd` writes), scrypt at
 * N=2^15 with r=8 (its default). mosquitto_passwd 2.0 writes $7$ with 101 iterations.
 */
export const WEAK_BELOW = Object.freeze({ pbkdf2Sha512: DEFAULTS.pbkdf2Sha512.iterations, scramSha256: 4096, scryptMemory: 128 * DEFAULTS.scrypt.N * DEFAULTS.scrypt.r });

/** Why a record is cheap to crack offline, or undefined when it is not. */
export function weakness(r: PasswordRecord): string | undefined {
  switch (r.scheme) {
    case 'sha512':
      return '$6$ is one salted SHA-512 (re-create the user with starling passwd)';
    case 'pbkdf2-sha512':
      return r.iterations < WEAK_BELOW.pbkdf2Sha512 ? `$7$ with ${r.iterations} iterations (fewer than ${WEAK_BELOW.pbkdf2Sha512})` : undefined;
    case 'scram-sha-256':
      return r.iterations < WEAK_BELOW.scramSha256 ? `SCRAM-SHA-256 with ${r.iterations} iterations (fewer than ${WEAK_BELOW.scramSha256}, RFC 7677)` : undefined;
    case 'scrypt':
      return 128 * r.N * r.r < WEAK_BELOW.scryptMemory ? `scrypt N=${r.N},r=${r.r} (less than N=${DEFAULTS.scrypt.N},r=${DEFAULTS.scrypt.r})` : undefined;
  }
}
