// `starling passwd`: manages a password file the way mosquitto_passwd does (-c, -b, -D),
// writing Starling's scrypt lines by default, Mosquitto's $7$ lines with --mosquitto (for a
// file Mosquitto also reads) and SCRAM-SHA-256 entries with --scram (for SCRAM enhanced
// authentication; they check plain passwords too).
//
// The file is replaced atomically (written beside it, then renamed), keeps its mode, and is
// created readable by its owner only. Other lines, comments included, are kept as they are.

import { chmod, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRecord, type Scheme } from '../auth/hashes.js';
import { parsePasswordFile, passwordLine } from '../auth/password-file.js';

const USAGE = `Usage: starling passwd [-c | -D] [--mosquitto | --scram] [--iterations N | --scrypt-n N] FILE USER
       starling passwd [-c] -b [--mosquitto | --scram] [--iterations N | --scrypt-n N] FILE USER PASSWORD

Adds or updates USER's password in FILE, asking for it twice (not echoed).
  -c, --create     create FILE, replacing any existing file
  -b, --batch      take the password from the command line (visible to other users of
                   this machine through the process list: for scripts and tests)
  -D, --delete     delete USER instead
      --mosquitto  write Mosquitto's PBKDF2-SHA512 hash ($7$), which Mosquitto reads too
      --scram      write SCRAM-SHA-256 credentials, for SCRAM enhanced authentication
      --iterations N
                   PBKDF2 iterations for --mosquitto (default 210000) or --scram
                   (default 600000; at least 4096)
      --scrypt-n N scrypt cost N, a power of 2 (default 32768)
  -h, --help       show this help
Without --mosquitto or --scram the password is hashed with scrypt (N=32768, r=8, p=3:
32 MiB and about 0.3 s of one core per check; lower N trades strength for login speed).`;

export interface PasswdIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

class UsageError extends Error {}

/** Runs `starling passwd` with its arguments; resolves to the exit code. */
export async function passwd(argv: string[], io: PasswdIO = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const err = (msg: string): void => void io.stderr.write(`starling passwd: ${msg}\n`);
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        create: { type: 'boolean', short: 'c' },
        batch: { type: 'boolean', short: 'b' },
        delete: { type: 'boolean', short: 'D' },
        mosquitto: { type: 'boolean' },
        scram: { type: 'boolean' },
        iterations: { type: 'string' },
        'scrypt-n': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (values.create && values.delete) throw new UsageError('-c and -D cannot be used together');
    if (values.mosquitto && values.scram) throw new UsageError('--mosquitto and --scram cannot be used together');
    const expected = values.batch && !values.delete ? 3 : 2;
    if (positionals.length !== expected) throw new UsageError(values.batch ? 'expected FILE USER PASSWORD' : 'expected FILE USER');
    const [file, user, batchPassword] = positionals as [string, string, string | undefined];
    const bad = checkUsername(user);
    if (bad !== undefined) throw new UsageError(bad);

    const scheme: Scheme = values.mosquitto ? 'pbkdf2-sha512' : values.scram ? 'scram-sha-256' : 'scrypt';
    let cost: number | undefined;
    if (values.iterations !== undefined) {
      if (scheme === 'scrypt') throw new UsageError('--iterations applies to --mosquitto or --scram');
      cost = Number(values.iterations);
      const min = scheme === 'scram-sha-256' ? 4096 : 1;
      if (!Number.isInteger(cost) || cost < min || cost > 10_000_000) throw new UsageError(`--iterations must be a whole number from ${min} to 10000000`);
    }
    if (values['scrypt-n'] !== undefined) {
      if (scheme !== 'scrypt') throw new UsageError('--scrypt-n applies to scrypt, the default scheme');
      cost = Number(values['scrypt-n']);
      if (!Number.isInteger(cost) || cost < 1024 || cost > 2 ** 20 || (cost & (cost - 1)) !== 0) throw new UsageError('--scrypt-n must be a power of 2 from 1024 to 1048576');
    }

    let lines: string[] = [];
    if (!values.create) {
      try {
        lines = (await readFile(file, 'utf8')).split('\n');
        if (lines.at(-1) === '') lines.pop();
      } catch (e) {
        err(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}${(e as NodeJS.ErrnoException).code === 'ENOENT' ? ' (use -c to create it)' : ''}`);
        return 1;
      }
    }

    const at = lines.findIndex((l) => lineUser(l) === user);
    if (values.delete) {
      if (at < 0) {
        err(`user ${user} not found in ${file}`);
        return 1;
      }
      lines = lines.filter((l) => lineUser(l) !== user);
    } else {
      const password = batchPassword ?? (await askTwice(io));
      if (password === undefined) return 1;
      if (password.length === 0) {
        err('empty password');
        return 1;
      }
      const line = passwordLine(user, await createRecord(scheme, Buffer.from(password, 'utf8'), cost === undefined ? {} : { cost }));
      if (at < 0) lines.push(line);
      else lines = lines.flatMap((l, i) => (i === at ? [line] : lineUser(l) === user ? [] : [l]));
    }

    const text = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
    await replaceFile(file, text);
    try {
      parsePasswordFile(text, file);
    } catch (e) {
      err(`warning: ${(e as Error).message}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err((e as Error).message);
      io.stderr.write(`${USAGE}\n`);
      return 2;
    }
    err((e as Error).message);
    return 1;
  }
}

function checkUsername(user: string): string | undefined {
  if (user.length === 0) return 'empty user name';
  if (user.includes(':')) return 'the user name must not contain ":"';
  if (/[\u0000-\u001f\u007f]/.test(user)) return 'the user name must not contain control characters';
  if (user !== user.trim()) return 'the user name must not start or end with spaces';
  if (user.startsWith('#')) return 'the user name must not start with "#" (a comment in the file)';
  if (Buffer.byteLength(user) > 65_535) return 'the user name is longer than 65535 bytes';
  return undefined;
}

/** The user a password file line is for, or undefined for blank and comment lines. */
function lineUser(line: string): string | undefined {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return undefined;
  const colon = t.indexOf(':');
  return colon < 0 ? undefined : t.slice(0, colon).trim();
}

/** Writes beside the file and renames over it: a crash leaves the old file or the new one. */
async function replaceFile(file: string, text: string): Promise<void> {
  let mode = 0o600;
  try {
    mode = (await stat(file)).mode & 0o777;
  } catch {
    // A new file: owner only.
  }
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, text, { mode, flag: 'wx' });
    await chmod(tmp, mode);
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/** Asks for the password twice; undefined (after saying why) when they differ or input ends. */
async function askTwice(io: PasswdIO): Promise<string | undefined> {
  const input = new Input(io.stdin);
  const tty = io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function';
  if (tty) io.stdin.setRawMode!(true);
  const read = (): Promise<string | undefined> => (tty ? input.keys() : input.line());
  try {
    io.stderr.write('Password: ');
    const first = await read();
    io.stderr.write('\nReenter password: ');
    const second = first === undefined ? undefined : await read();
    io.stderr.write('\n');
    if (first === undefined || second === undefined) {
      io.stderr.write('starling passwd: no password given\n');
      return undefined;
    }
    if (first !== second) {
      io.stderr.write('starling passwd: passwords do not match\n');
      return undefined;
    }
    return first;
  } finally {
    if (tty) io.stdin.setRawMode!(false);
    input.close();
  }
}

/** Text from stdin, taken a line (pipe) or a key (terminal in raw mode) at a time. */
class Input {
  private buffer = '';
  private ended = false;
  private waiting: (() => void) | undefined;
  private readonly onData = (chunk: Buffer | string): void => {
    this.buffer += chunk.toString();
    this.wake();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake();
  };

  constructor(private readonly stream: NodeJS.ReadableStream) {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.resume();
  }

  /** The next line; at the end of input, what is left, or undefined if nothing. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl >= 0) {
        const line = this.buffer.slice(0, nl).replace(/\r$/, '');
        this.buffer = this.buffer.slice(nl + 1);
        return line;
      }
      if (this.ended) {
        const rest = this.buffer;
        this.buffer = '';
        return rest === '' ? undefined : rest;
      }
      await this.more();
    }
  }

  /** Keystrokes up to Enter, nothing echoed: Backspace erases, Ctrl-C or Ctrl-D abort. */
  async keys(): Promise<string | undefined> {
    let typed = '';
    for (;;) {
      if (this.buffer.length === 0) {
        if (this.ended) return undefined;
        await this.more();
        continue;
      }
      const ch = this.buffer[0]!;
      this.buffer = this.buffer.slice(1);
      if (ch === '\r' || ch === '\n') return typed;
      if (ch === '\u0003' || ch === '\u0004') return undefined;
      if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
      else typed += ch;
    }
  }

  close(): void {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.pause();
  }

  private more(): Promise<void> {
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }
}
