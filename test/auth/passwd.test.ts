// `starling passwd` on temporary files: -c -b creates, -b adds and updates, -D deletes,
// the password can be typed twice (a pipe, or a terminal without echo), --mosquitto lines
// are read by the real Mosquitto broker, --scram lines carry SCRAM credentials.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { passwd, type PasswdIO } from '../../src/cli/passwd.js';
import { loadPasswordFile } from '../../src/auth/password-file.js';
import { findExecutable, freePort, have, mosquittoPub, run, start } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'starling-passwd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const mosquitto = findExecutable('mosquitto', 'apt-get install mosquitto');
for (const d of ['/usr/sbin', '/sbin']) if (mosquitto.path === undefined && existsSync(`${d}/mosquitto`)) Object.assign(mosquitto, { path: `${d}/mosquitto` });

let n = 0;
const path = (): string => join(dir, `passwd-${n++}`);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs passwd with `input` on a pipe (or a fake terminal) for stdin. */
async function cli(argv: string[], input = '', terminal = false): Promise<Run> {
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?(m: boolean): void; raw?: boolean[] };
  if (terminal) {
    stdin.isTTY = true;
    stdin.raw = [];
    stdin.setRawMode = (m: boolean) => void stdin.raw!.push(m);
  }
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const io: PasswdIO = { stdin, stdout, stderr };
  const done = passwd(argv, io);
  if (input !== '') stdin.write(input);
  stdin.end();
  const code = await done;
  if (terminal) assert.deepEqual(stdin.raw, [true, false], 'raw mode on while typing, off after');
  return { code, stdout: out, stderr: err };
}

const FAST = ['--scrypt-n', '1024'];

/** Resolves once something accepts connections on the port (Mosquitto's log is buffered on a pipe). */
async function listening(port: number): Promise<void> {
  const connects = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
  await until(`something listening on ${port}`, connects, 5000, 50);
}

test('passwd -c -b creates the file with one scrypt line, readable by its owner only', async () => {
  const f = path();
  const r = await cli(['-c', '-b', ...FAST, f, 'alice', 'wonderland']);
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(f, 'utf8');
  assert.match(text, /^alice:\$scrypt\$N=1024,r=8,p=3\$[^$]+\$[^$]+\n$/);
  assert.equal(statSync(f).mode & 0o777, 0o600);
  const table = await loadPasswordFile(f);
  assert.equal(await table.verify('alice', Buffer.from('wonderland')), true);
  assert.equal(await table.verify('alice', Buffer.from('wonderlan')), false);
});

test('passwd -c replaces an existing file', async () => {
  const f = path();
  writeFileSync(f, 'old:$6$x$y\n');
  assert.equal((await cli(['-c', '-b', ...FAST, f, 'new', 'pw'])).code, 0);
  assert.deepEqual([...(await loadPasswordFile(f)).usernames()], ['new']);
});

test('passwd -b adds a user, and updates an existing user in place, keeping comments and other lines', async () => {
  const f = path();
  await cli(['-c', '-b', ...FAST, f, 'alice', 'one']);
  writeFileSync(f, `# managed by hand\n${readFileSync(f, 'utf8')}`);
  assert.equal((await cli(['-b', ...FAST, f, 'bob', 'builder'])).code, 0);
  const before = readFileSync(f, 'utf8').split('\n');
  assert.equal((await cli(['-b', ...FAST, f, 'alice', 'two'])).code, 0);
  const after = readFileSync(f, 'utf8').split('\n');
  assert.equal(after[0], '# managed by hand');
  assert.match(after[1]!, /^alice:/);
  assert.notEqual(after[1], before[1]);
  assert.equal(after[2], before[2], 'bob untouched');
  const table = await loadPasswordFile(f);
  assert.equal(await table.verify('alice', Buffer.from('two')), true);
  assert.equal(await table.verify('alice', Buffer.from('one')), false);
  assert.equal(await table.verify('bob', Buffer.from('builder')), true);
});

test('passwd -D deletes a user; deleting a missing user is an error', async () => {
  const f = path();
  await cli(['-c', '-b', ...FAST, f, 'alice', 'one']);
  await cli(['-b', ...FAST, f, 'bob', 'two']);
  assert.equal((await cli(['-D', f, 'alice'])).code, 0);
  assert.deepEqual([...(await loadPasswordFile(f)).usernames()], ['bob']);
  const r = await cli(['-D', f, 'alice']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /user alice not found/);
});

test('without -b the password is read twice from a pipe; a mismatch changes nothing', async () => {
  const f = path();
  const r = await cli(['-c', ...FAST, f, 'carol'], 'typed\ntyped\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Password: .*Reenter password: /s);
  assert.equal(await (await loadPasswordFile(f)).verify('carol', Buffer.from('typed')), true);
  const before = readFileSync(f, 'utf8');
  const bad = await cli([...FAST, f, 'carol'], 'one\ntwo\n');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /passwords do not match/);
  assert.equal(readFileSync(f, 'utf8'), before);
});

test('on a terminal the password is typed in raw mode, without echo; Backspace erases', async () => {
  const f = path();
  const r = await cli(['-c', ...FAST, f, 'dave'], 'secrex\u007ft\rsecret\r', true);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stderr.includes('secret') && !r.stdout.includes('secret'), 'nothing echoed');
  assert.equal(await (await loadPasswordFile(f)).verify('dave', Buffer.from('secret')), true);
});

test('passwd --mosquitto writes a $7$ line; --scram an RFC 5803 SCRAM-SHA-256 entry', async () => {
  const f = path();
  assert.equal((await cli(['-c', '-b', '--mosquitto', '--iterations', '1000', f, 'mo', 'pw1'])).code, 0);
  assert.equal((await cli(['-b', '--scram', '--iterations', '4096', f, 'sc', 'pw2'])).code, 0);
  const text = readFileSync(f, 'utf8');
  assert.match(text, /^mo:\$7\$1000\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/m);
  assert.match(text, /^sc:SCRAM-SHA-256\$4096:/m);
  const table = await loadPasswordFile(f);
  assert.equal(await table.verify('mo', Buffer.from('pw1')), true);
  assert.equal(await table.verify('sc', Buffer.from('pw2')), true);
});

test('a --mosquitto file is accepted by the real Mosquitto broker', async (t) => {
  if (!have(t, mosquitto, mosquittoPub)) return;
  const f = path();
  assert.equal((await cli(['-c', '-b', '--mosquitto', f, 'alice', 'wonderland'])).code, 0);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `user ${userInfo().username}\nlistener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${f}\nlog_dest stdout\n`);
  const broker = start(mosquitto.path!, ['-c', conf], { timeoutMs: 15_000 });
  t.after(() => broker.kill());
  await listening(port);
  const pub = (password: string) => run(mosquittoPub.path!, ['-h', '127.0.0.1', '-p', String(port), '-u', 'alice', '-P', password, '-t', 't', '-m', 'x']);
  const ok = await pub('wonderland');
  assert.equal(ok.code, 0, ok.stderr);
  const bad = await pub('wrong');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /not authori[sz]ed/i);
});

for (const [name, argv, message] of [
  ['-c with -D', ['-c', '-D', 'f', 'u'], /-c and -D/],
  ['--mosquitto with --scram', ['--mosquitto', '--scram', '-b', 'f', 'u', 'p'], /--mosquitto and --scram/],
  ['a missing user', ['f'], /expected FILE USER/],
  ['-b without a password', ['-b', 'f', 'u'], /expected FILE USER PASSWORD/],
  ['a user name with ":"', ['-b', 'f', 'a:b', 'p'], /must not contain ":"/],
  ['--iterations below 4096 for SCRAM', ['-b', '--scram', '--iterations', '100', 'f', 'u', 'p'], /--iterations must be a whole number from 4096/],
  ['--scrypt-n not a power of 2', ['-b', '--scrypt-n', '1000', 'f', 'u', 'p'], /power of 2/],
  ['an unknown option', ['-x', 'f', 'u'], /Unknown option/],
] as const) {
  test(`passwd refuses ${name} with exit code 2 and the usage`, async () => {
    const r = await cli([...argv]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /Usage: starling passwd/);
  });
}

test('passwd without -c on a missing file says to use -c', async () => {
  const r = await cli(['-b', join(dir, 'missing'), 'u', 'p']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /use -c to create it/);
});

test('passwd -h prints the usage', async () => {
  const r = await cli(['-h']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: starling passwd/);
});
