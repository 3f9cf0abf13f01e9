// The password file: files written by the real mosquitto_passwd are accepted, Mosquitto's
// own $6$ example verified, Starling's schemes round trip, unknown users cost a hash, and a
// bad line is refused with its file and line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { AuthFileError } from '../../src/auth/errors.js';
import { createRecord, decodeHash, encodeHash, verifyHash } from '../../src/auth/hashes.js';
import { loadPasswordFile, parsePasswordFile, passwordLine } from '../../src/auth/password-file.js';
import { findExecutable, have, run } from '../helpers/tools.js';

const mosquittoPasswd = findExecutable('mosquitto_passwd', 'apt-get install mosquitto');
const dir = mkdtempSync(join(tmpdir(), 'starling-pw-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const pw = (s: string): Buffer => Buffer.from(s, 'utf8');

// From Mosquitto's examples/pwfile.example (Debian: /usr/share/doc/mosquitto/examples/):
// every user's password there is "password".
const MOSQUITTO_EXAMPLE = 'roger:$6$clQ4Ocu312S0qWgl$Cv2wUxgEN73c6C6jlBkswqR4AkHsvDLWvtEXZZ8NpsBLgP1WAo/qA+WXcmEN/mjDNgdUwcxRAveqNMs2xUVQYA==';

test('a file written by mosquitto_passwd (default $7$ PBKDF2-SHA512) is accepted, and its passwords verified', async (t) => {
  if (!have(t, mosquittoPasswd)) return;
  const file = join(dir, 'mosq7');
  const r1 = await run(mosquittoPasswd.path!, ['-c', '-b', file, 'alice', 'wonderland']);
  assert.equal(r1.code, 0, r1.stderr);
  const r2 = await run(mosquittoPasswd.path!, ['-b', file, 'bob', 'builder']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(readFileSync(file, 'utf8'), /^alice:\$7\$/);
  const table = await loadPasswordFile(file);
  assert.equal(table.size, 2);
  assert.equal(table.get('alice')?.scheme, 'pbkdf2-sha512');
  assert.equal(await table.verify('alice', pw('wonderland')), true);
  assert.equal(await table.verify('bob', pw('builder')), true);
});

test('wrong passwords are refused for mosquitto_passwd users', async (t) => {
  if (!have(t, mosquittoPasswd)) return;
  const file = join(dir, 'mosq7-wrong');
  assert.equal((await run(mosquittoPasswd.path!, ['-c', '-b', file, 'alice', 'wonderland'])).code, 0);
  const table = await loadPasswordFile(file);
  assert.equal(await table.verify('alice', pw('Wonderland')), false);
  assert.equal(await table.verify('alice', pw('')), false);
  assert.equal(await table.verify('alice', undefined), false);
  assert.equal(await table.verify('bob', pw('wonderland')), false);
});

test('a $6$ (SHA-512) file from mosquitto_passwd -H sha512 is accepted', async (t) => {
  if (!have(t, mosquittoPasswd)) return;
  const file = join(dir, 'mosq6');
  const r = await run(mosquittoPasswd.path!, ['-H', 'sha512', '-c', '-b', file, 'carol', 'c4r0l!']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(file, 'utf8'), /^carol:\$6\$/);
  const table = await loadPasswordFile(file);
  assert.equal(await table.verify('carol', pw('c4r0l!')), true);
  assert.equal(await table.verify('carol', pw('c4r0l')), false);
});

test('the $6$ line of Mosquitto\'s own pwfile.example verifies with its password: sha512(password || salt)', async () => {
  const table = parsePasswordFile(`${MOSQUITTO_EXAMPLE}\n`, 'pwfile.example');
  const record = table.get('roger')!;
  assert.equal(record.scheme, 'sha512');
  assert.equal(await table.verify('roger', pw('password')), true);
  assert.equal(await table.verify('roger', pw('passwore')), false);
});

test('Starling\'s schemes round trip: scrypt, $7$ and SCRAM-SHA-256 lines decode to what was encoded and verify', async () => {
  for (const [scheme, cost] of [['scrypt', 1024], ['pbkdf2-sha512', 1000], ['scram-sha-256', 4096], ['sha512', undefined]] as const) {
    const record = await createRecord(scheme, pw('s3cret'), cost === undefined ? {} : { cost });
    const text = encodeHash(record);
    assert.deepEqual(decodeHash(text), record, scheme);
    assert.equal(await verifyHash(decodeHash(text), pw('s3cret')), true, scheme);
    assert.equal(await verifyHash(decodeHash(text), pw('s3cret ')), false, scheme);
  }
});

test('Starling writes scrypt with strong defaults (N=32768, r=8, p=3, 16-byte salt, 64-byte hash)', async () => {
  const line = passwordLine('dave', await createRecord('scrypt', pw('x')));
  assert.match(line, /^dave:\$scrypt\$N=32768,r=8,p=3\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{86}==$/);
});

test('a SCRAM-SHA-256 entry is read in RFC 5803 form, the form PostgreSQL stores', async () => {
  const line = passwordLine('erin', await createRecord('scram-sha-256', pw('pencil'), { cost: 4096 }));
  assert.match(line, /^erin:SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
  const table = parsePasswordFile(`${line}\n`, 'f');
  assert.equal(await table.verify('erin', pw('pencil')), true);
});

test('blank lines, comments, CRLF line ends and blanks around fields are accepted', async () => {
  const text = `# users\r\n\r\n  ${MOSQUITTO_EXAMPLE.replace(':', ' : ')}  \r\n   # indented comment\n`;
  const table = parsePasswordFile(text, 'f');
  assert.deepEqual([...table.usernames()], ['roger']);
  assert.equal(await table.verify('roger', pw('password')), true);
});

for (const [name, line, reason] of [
  ['a line without ":"', 'alice', /expected user:hash/],
  ['an empty user name', ':$6$abc$def', /empty user name/],
  ['a missing hash', 'alice:', /no password hash/],
  ['a plain-text password', 'alice:wonderland', /not hashed/],
  ['an unknown scheme', 'alice:$5$salt$hash', /unknown hash scheme "5"/],
  ['an argon2id hash', 'alice:$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA', /argon2id/],
  ['bad base64 in the hash', 'alice:$6$clQ4Ocu312S0qWgl$not*base64', /hash is not valid base64/],
  ['a hash of the wrong length', 'alice:$6$clQ4Ocu312S0qWgl$AAAA', /hash is 3 bytes, expected 64/],
  ['a $7$ line with no iteration count', 'alice:$7$$c2FsdHNhbHRzYWx0$aGFzaA==', /iterations "" is not a number/],
  ['a $7$ line with zero iterations', `alice:$7$0$c2FsdHNhbHRzYWx0$${Buffer.alloc(64).toString('base64')}`, /iterations 0 is outside/],
  ['scrypt with N not a power of 2', `alice:$scrypt$N=1000,r=8,p=1$c2FsdHNhbHRzYWx0$${Buffer.alloc(64).toString('base64')}`, /not a power of 2/],
  ['scrypt asking for too much memory', `alice:$scrypt$N=1048576,r=16,p=1$c2FsdHNhbHRzYWx0$${Buffer.alloc(64).toString('base64')}`, /more than 1 GiB/],
] as const) {
  test(`${name} is refused with the file and line`, () => {
    assert.throws(
      () => parsePasswordFile(`# header\n${MOSQUITTO_EXAMPLE}\n${line}\n`, '/etc/starling/passwd'),
      (err: unknown) => err instanceof AuthFileError && err.file === '/etc/starling/passwd' && err.line === 3 && reason.test(err.message) && err.message.startsWith('/etc/starling/passwd:3: '),
    );
  });
}

test('a user defined twice is refused, naming both lines', () => {
  assert.throws(() => parsePasswordFile(`${MOSQUITTO_EXAMPLE}\n${MOSQUITTO_EXAMPLE}\n`, 'f'), /^AuthFileError: f:2: user "roger" already defined at line 1$/m);
});

test('a missing file is an AuthFileError for the whole file', async () => {
  await assert.rejects(loadPasswordFile(join(dir, 'nope')), (err: unknown) => err instanceof AuthFileError && err.line === 0 && /no such file/.test(err.message));
});

test('the table is immutable: load() returns a new table, the old one stays as it was', async () => {
  const a = parsePasswordFile(`${MOSQUITTO_EXAMPLE}\n`, 'f');
  const b = parsePasswordFile('', 'f');
  assert.equal(a.size, 1);
  assert.equal(b.size, 0);
  assert.ok(Object.isFrozen(a));
  assert.throws(() => ((a as unknown as { file: string }).file = 'x'));
});

test('an unknown user costs a hash of the file\'s usual kind, so timing does not tell which users exist', async () => {
  // A slow scheme makes the hash dominate the time of an answer.
  const record = await createRecord('pbkdf2-sha512', pw('right'), { cost: 150_000 });
  const table = parsePasswordFile(`${passwordLine('known', record)}\n`, 'f');
  const time = async (user: string): Promise<number> => {
    const start = process.hrtime.bigint();
    assert.equal(await table.verify(user, pw('wrong')), false);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  await time('known'); // warm up
  const known = Math.min(await time('known'), await time('known'));
  const unknown = Math.min(await time('nobody'), await time('nobody'));
  assert.ok(unknown > known * 0.5, `unknown user answered in ${unknown.toFixed(1)} ms, known user in ${known.toFixed(1)} ms`);
  assert.ok(known > 5, `the hash should dominate (${known.toFixed(1)} ms)`);
});
