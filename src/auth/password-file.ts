// The password file: one `user:hash` line per user, as mosquitto_passwd writes it, with
// Starling's own schemes beside Mosquitto's (see hashes.ts). Loading gives a new immutable
// table, or throws an AuthFileError naming the file and line: on a reload the caller keeps
// the table it had.
//
// Reading follows Mosquitto's pwfile parser (src/security_default.c, pwfile__parse): blank
// lines and lines starting with '#' are skipped, the user name and the hash are trimmed.
// Where Mosquitto only warns and drops a line (no ':', a hash it cannot decode), Starling
// refuses the file: a typo should not silently lock a user out or leave an old hash in use.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { AuthFileError, unreadable } from './errors.js';
import { costKey, decodeHash, decoyLike, encodeHash, verifyHash, weakness, type PasswordRecord } from './hashes.js';

/** The longest user name MQTT can carry. */
const MAX_USERNAME = 65_535;

export class PasswordTable {
  private readonly records: ReadonlyMap<string, PasswordRecord>;
  /** Checked for unknown users: same scheme and cost as most of the file's entries. */
  readonly decoy: PasswordRecord;

  constructor(
    /** Where the table came from, for messages; undefined when built in memory. */
    readonly file: string | undefined,
    records: Iterable<readonly [string, PasswordRecord]>,
  ) {
    this.records = new Map(records);
    this.decoy = decoyLike(mostCommon(this.records.values()));
    Object.freeze(this);
  }

  get size(): number {
    return this.records.size;
  }

  has(username: string): boolean {
    return this.records.has(username);
  }

  get(username: string): PasswordRecord | undefined {
    return this.records.get(username);
  }

  usernames(): IterableIterator<string> {
    return this.records.keys();
  }

  /** The users whose hash is cheap to crack, by reason (see hashes.ts, weakness). */
  weak(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [user, record] of this.records) {
      const why = weakness(record);
      if (why === undefined) continue;
      const users = out.get(why);
      if (users === undefined) out.set(why, [user]);
      else users.push(user);
    }
    return out;
  }

  /**
   * True when the user exists and the password matches. An unknown user, or a missing
   * password, still costs one hash of the file's usual kind, so that timing does not tell
   * which user names exist.
   */
  async verify(username: string | undefined, password: Buffer | undefined): Promise<boolean> {
    const record = username === undefined ? undefined : this.records.get(username);
    if (record === undefined || password === undefined) {
      await verifyHash(record ?? this.decoy, password ?? Buffer.alloc(0));
      return false;
    }
    return verifyHash(record, password);
  }
}

function mostCommon(records: Iterable<PasswordRecord>): PasswordRecord | undefined {
  const counts = new Map<string, { n: number; record: PasswordRecord }>();
  let best: { n: number; record: PasswordRecord } | undefined;
  for (const r of records) {
    const key = costKey(r);
    const c = counts.get(key) ?? { n: 0, record: r };
    c.n++;
    counts.set(key, c);
    if (best === undefined || c.n > best.n) best = c;
  }
  return best?.record;
}

/** Parses a password file's text. `file` names it in errors. */
export function parsePasswordFile(text: string, file: string): PasswordTable {
  const records = new Map<string, PasswordRecord>();
  const firstLine = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw new AuthFileError(file, lineNo, 'expected user:hash');
    const username = line.slice(0, colon).trim();
    const hash = line.slice(colon + 1).trim();
    if (username === '') throw new AuthFileError(file, lineNo, 'empty user name');
    if (Buffer.byteLength(username) > MAX_USERNAME) throw new AuthFileError(file, lineNo, 'user name longer than 65535 bytes');
    if (hash === '') throw new AuthFileError(file, lineNo, `no password hash for user "${username}"`);
    const seen = firstLine.get(username);
    if (seen !== undefined) throw new AuthFileError(file, lineNo, `user "${username}" already defined at line ${seen}`);
    try {
      records.set(username, decodeHash(hash));
    } catch (err) {
      throw new AuthFileError(file, lineNo, `user "${username}": ${(err as Error).message}`);
    }
    firstLine.set(username, lineNo);
  }
  return new PasswordTable(file, records);
}

export async function loadPasswordFile(file: string): Promise<PasswordTable> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
  return parsePasswordFile(text, file);
}

export function loadPasswordFileSync(file: string): PasswordTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
  return parsePasswordFile(text, file);
}

/** One line of a password file (no newline). */
export function passwordLine(username: string, record: PasswordRecord): string {
  return `${username}:${encodeHash(record)}`;
}
