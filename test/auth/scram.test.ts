// SCRAM-SHA-256 enhanced authentication: the RFC 7677 test vector for the math, the
// message rules of RFC 5802, no user enumeration, the binding of the SCRAM user to the
// CONNECT User Name, and full exchanges through the broker (CONNECT/AUTH/CONNACK and AUTH
// 0x19 re-authentication) with a SCRAM client written here from the RFC.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthStep, EnhancedAuthRequest } from '../../src/broker/types.js';
import { createRecord, scramKeys, type PasswordRecord } from '../../src/auth/hashes.js';
import { fileAuth } from '../../src/auth/index.js';
import { PasswordTable, passwordLine } from '../../src/auth/password-file.js';
import { parseClientFirst, scramAuth, SCRAM_SHA_256 } from '../../src/auth/scram.js';
import { RawClient, startBroker } from '../helpers/broker.js';

const dir = mkdtempSync(join(tmpdir(), 'starling-scram-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// --- a SCRAM-SHA-256 client, from RFC 5802 section 3 ----------------------------------------

const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();
const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

class ScramClient {
  readonly bare: string;
  private serverSignature: Buffer | undefined;

  constructor(readonly user: string, readonly password: string, readonly nonce = randomBytes(12).toString('base64')) {
    this.bare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
  }

  first(): string {
    return `n,,${this.bare}`;
  }

  final(serverFirst: string): string {
    const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
    assert.ok(attrs.r!.startsWith(this.nonce), 'the server nonce extends the client nonce');
    const salted = pbkdf2Sync(this.password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${attrs.r}`;
    const authMessage = `${this.bare},${serverFirst},${withoutProof}`;
    const signature = hmac(sha256(clientKey), authMessage);
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
    this.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** True when the server proved it knows the user's ServerKey. */
  verify(serverFinal: string): boolean {
    return serverFinal === `v=${this.serverSignature!.toString('base64')}`;
  }
}

// --- RFC 7677 section 3 test vector ---------------------------------------------------------

const RFC = {
  user: 'user',
  password: 'pencil',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  iterations: 4096,
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

async function rfcRecord(): Promise<PasswordRecord> {
  const salt = Buffer.from(RFC.salt, 'base64');
  const { storedKey, serverKey } = await scramKeys(Buffer.from(RFC.password), salt, RFC.iterations);
  return { scheme: 'scram-sha-256', iterations: RFC.iterations, salt, storedKey, serverKey };
}

function request(data: string | undefined, step: number, state: Record<string, unknown>, extra: object = {}): EnhancedAuthRequest {
  return { clientId: 'c', method: SCRAM_SHA_256, data: data === undefined ? undefined : Buffer.from(data), step, state, username: undefined, remoteAddress: '127.0.0.1:1', ...extra } as EnhancedAuthRequest;
}

test('the test client reproduces the client proof of the RFC 7677 test vector', () => {
  const client = new ScramClient(RFC.user, RFC.password, RFC.clientNonce);
  assert.equal(client.first(), RFC.clientFirst);
  assert.equal(client.final(RFC.serverFirst), RFC.clientFinal);
  assert.equal(client.verify(RFC.serverFinal), true);
});

test('the server side answers the RFC 7677 exchange byte for byte and ends with its server signature', async () => {
  const table = new PasswordTable(undefined, [[RFC.user, await rfcRecord()]]);
  const hook = scramAuth({ credentials: () => table, nonce: () => RFC.serverNonce });
  const state = {};
  const first = (await hook(request(RFC.clientFirst, 0, state))) as AuthStep;
  assert.deepEqual(first, { done: false, data: Buffer.from(RFC.serverFirst) });
  const final = (await hook(request(RFC.clientFinal, 1, state))) as AuthStep & { username?: string };
  assert.deepEqual(final, { done: true, ok: true, data: Buffer.from(RFC.serverFinal), username: 'user' });
});

test('SCRAM keys stored by starling passwd (RFC 5803 entry) work with a SCRAM client', async () => {
  const record = await createRecord('scram-sha-256', Buffer.from('correct horse'), { cost: 4096 });
  const table = new PasswordTable(undefined, [['zoe', record]]);
  const hook = scramAuth({ credentials: () => table });
  const client = new ScramClient('zoe', 'correct horse');
  const state = {};
  const s1 = (await hook(request(client.first(), 0, state))) as { done: false; data: Buffer };
  const s2 = (await hook(request(client.final(s1.data.toString()), 1, state))) as { done: true; ok: true; data: Buffer };
  assert.equal(s2.ok, true);
  assert.equal(client.verify(s2.data.toString()), true);
});

async function exchange(hook: ReturnType<typeof scramAuth>, client: ScramClient, extra: object = {}): Promise<AuthStep> {
  const state = {};
  const s1 = (await hook(request(client.first(), 0, state, extra)))!;
  if (s1.done) return s1;
  return (await hook(request(client.final(s1.data!.toString()), 1, state, extra)))!;
}

test('a wrong password fails at the proof with 0x86', async () => {
  const table = new PasswordTable(undefined, [[RFC.user, await rfcRecord()]]);
  const hook = scramAuth({ credentials: () => table });
  assert.deepEqual(await exchange(hook, new ScramClient('user', 'pencil2')), { done: true, ok: false, reasonCode: 0x86 });
});

test('an unknown user gets a stable made-up salt and the usual iteration count, and fails only at the proof', async () => {
  const table = new PasswordTable(undefined, [[RFC.user, await rfcRecord()]]);
  const hook = scramAuth({ credentials: () => table });
  const serverFirst = async (user: string): Promise<Record<string, string>> => {
    const s = (await hook(request(new ScramClient(user, 'x').first(), 0, {})))!;
    assert.equal(s.done, false, 'no early refusal that would tell the user is unknown');
    return Object.fromEntries((s as { data: Buffer }).data.toString().split(',').map((a) => [a[0]!, a.slice(2)]));
  };
  const a = await serverFirst('mallory');
  const b = await serverFirst('mallory');
  const c = await serverFirst('trent');
  assert.equal(a.s, b.s);
  assert.notEqual(a.s, c.s);
  assert.equal(Buffer.from(a.s!, 'base64').length, 16);
  assert.equal(a.i, '4096');
  assert.deepEqual(await exchange(hook, new ScramClient('mallory', 'pencil')), { done: true, ok: false, reasonCode: 0x86 });
});

test('a user stored with another scheme cannot use SCRAM (fails like a wrong password)', async () => {
  const table = new PasswordTable(undefined, [['sam', await createRecord('pbkdf2-sha512', Buffer.from('pw'), { cost: 10 })]]);
  const hook = scramAuth({ credentials: () => table });
  assert.deepEqual(await exchange(hook, new ScramClient('sam', 'pw')), { done: true, ok: false, reasonCode: 0x86 });
});

test('other authentication methods are left to other hooks', async () => {
  const hook = scramAuth({ credentials: () => undefined });
  assert.equal(await hook({ ...request('x', 0, {}), method: 'SCRAM-SHA-1' }), undefined);
});

for (const [name, first] of [
  ['channel binding (p=)', 'p=tls-server-end-point,,n=user,r=abc'],
  ['a mandatory extension (m=)', 'n,,m=ext,n=user,r=abc'],
  ['an authorization identity of another user', 'n,a=admin,n=user,r=abc'],
  ['a malformed user name', 'n,,n=us=er,r=abc'],
  ['a missing nonce', 'n,,n=user'],
  ['a nonce with a comma-free but unprintable character', 'n,,n=user,r=a\u0001b'],
] as const) {
  test(`a client-first message with ${name} is refused`, async () => {
    const hook = scramAuth({ credentials: () => undefined });
    assert.deepEqual(await hook(request(first, 0, {})), { done: true, ok: false, reasonCode: 0x86 });
  });
}

test('user names are decoded from =2C and =3D; the gs2 header is kept for the final check', () => {
  const p = parseClientFirst('y,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=xyz');
  assert.ok(typeof p !== 'string');
  assert.equal(p.username, 'a,b=c');
  assert.equal(p.gs2Header, 'y,a=a=2Cb=3Dc,');
});

test('a client-final message with another nonce or another gs2 header is refused', async () => {
  const table = new PasswordTable(undefined, [[RFC.user, await rfcRecord()]]);
  const hook = scramAuth({ credentials: () => table, nonce: () => RFC.serverNonce });
  for (const final of [
    RFC.clientFinal.replace('r=rOpr', 'r=xOpr'),
    RFC.clientFinal.replace('c=biws', `c=${Buffer.from('y,,').toString('base64')}`),
    RFC.clientFinal.replace(/,p=.*$/, ''),
  ]) {
    const state = {};
    await hook(request(RFC.clientFirst, 0, state));
    assert.deepEqual(await hook(request(final, 1, state)), { done: true, ok: false, reasonCode: 0x86 }, final);
  }
});

test('a step after the final one, or a final without a first, is refused', async () => {
  const hook = scramAuth({ credentials: () => undefined });
  assert.deepEqual(await hook(request(RFC.clientFinal, 1, {})), { done: true, ok: false, reasonCode: 0x86 });
  assert.deepEqual(await hook(request(RFC.clientFinal, 2, {})), { done: true, ok: false, reasonCode: 0x86 });
  assert.deepEqual(await hook(request(undefined, 0, {})), { done: true, ok: false, reasonCode: 0x86 });
});

test('the SCRAM user must be the CONNECT User Name when the CONNECT has one; "require" refuses a CONNECT without one', async () => {
  const table = new PasswordTable(undefined, [[RFC.user, await rfcRecord()]]);
  const ifKnown = scramAuth({ credentials: () => table });
  const required = scramAuth({ credentials: () => table, bindUsername: 'require' });
  const client = (): ScramClient => new ScramClient('user', 'pencil');
  assert.equal(((await exchange(ifKnown, client(), { username: 'user' })) as { ok: boolean }).ok, true);
  assert.deepEqual(await exchange(ifKnown, client(), { username: 'admin' }), { done: true, ok: false, reasonCode: 0x86 });
  // No CONNECT User Name: the proven SCRAM user becomes the client's identity.
  const adopted = (await exchange(ifKnown, client(), { username: undefined })) as { ok: boolean; username?: string };
  assert.equal(adopted.ok, true);
  assert.equal(adopted.username, 'user');
  assert.deepEqual(await exchange(required, client()), { done: true, ok: false, reasonCode: 0x86 });
  assert.equal(((await exchange(required, client(), { username: 'user' })) as { ok: boolean }).ok, true);
});

test('fileAuth with an ACL file requires the binding (the ACL judges the CONNECT User Name)', async () => {
  const passwordFile = join(dir, 'bind-passwd');
  const aclFile = join(dir, 'bind-acl');
  writeFileSync(passwordFile, `${passwordLine('user', await rfcRecord())}\n`);
  writeFileSync(aclFile, 'user user\ntopic readwrite #\n');
  const auth = fileAuth({ passwordFile, aclFile, failureDelay: false });
  const hook = auth.enhancedAuth! as ReturnType<typeof scramAuth>;
  assert.deepEqual(await exchange(hook, new ScramClient('user', 'pencil')), { done: true, ok: false, reasonCode: 0x86 });
  assert.equal(((await exchange(hook, new ScramClient('user', 'pencil'), { username: 'user' })) as { ok: boolean }).ok, true);
});

// --- through the broker ---------------------------------------------------------------------

async function scramBroker(t: { after(fn: () => unknown): void }) {
  const passwordFile = join(dir, `passwd-${randomBytes(4).toString('hex')}`);
  const record = await createRecord('scram-sha-256', Buffer.from('s3cr3t'), { cost: 4096 });
  writeFileSync(passwordFile, `${passwordLine('neo', record)}\n`);
  const b = await startBroker({ hooks: [fileAuth({ passwordFile, failureDelay: false })] });
  t.after(() => b.close());
  return b;
}

async function connectScram(port: number, client: ScramClient, clientId: string): Promise<{ raw: RawClient; reasonCode: number; serverFinal?: string }> {
  const raw = await RawClient.open(port, 5);
  raw.send({
    type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId, username: client.user,
    properties: { authenticationMethod: SCRAM_SHA_256, authenticationData: Buffer.from(client.first()) },
  });
  const challenge = await raw.expect('auth');
  assert.equal(challenge.reasonCode, 0x18);
  assert.equal(challenge.properties?.authenticationMethod, SCRAM_SHA_256);
  const final = client.final(challenge.properties!.authenticationData!.toString());
  raw.send({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: SCRAM_SHA_256, authenticationData: Buffer.from(final) } });
  const ack = await raw.expect('connack');
  const serverFinal = ack.properties?.authenticationData?.toString();
  return { raw, reasonCode: ack.reasonCode, ...(serverFinal !== undefined && { serverFinal }) };
}

test('5.0 SCRAM-SHA-256 through the broker: CONNECT, AUTH 0x18 challenge, AUTH 0x18 answer, CONNACK 0x00 with the server signature', async (t) => {
  const b = await scramBroker(t);
  const client = new ScramClient('neo', 's3cr3t');
  const { raw, reasonCode, serverFinal } = await connectScram(b.port, client, 'scram-ok');
  t.after(() => raw.destroy());
  assert.equal(reasonCode, 0);
  assert.ok(serverFinal !== undefined && client.verify(serverFinal), `server signature ${serverFinal}`);
  raw.send({ type: 'pingreq' });
  await raw.expect('pingresp');
});

test('5.0 SCRAM-SHA-256 with a wrong password ends with CONNACK 0x86 and the connection closed', async (t) => {
  const b = await scramBroker(t);
  const { raw, reasonCode } = await connectScram(b.port, new ScramClient('neo', 'wrong'), 'scram-bad');
  t.after(() => raw.destroy());
  assert.equal(reasonCode, 0x86);
  await raw.closedByServer();
});

test('5.0 SCRAM re-authentication with AUTH 0x19 ends with AUTH 0x00 and the server signature', async (t) => {
  const b = await scramBroker(t);
  const { raw, reasonCode } = await connectScram(b.port, new ScramClient('neo', 's3cr3t'), 'scram-reauth');
  t.after(() => raw.destroy());
  assert.equal(reasonCode, 0);
  const again = new ScramClient('neo', 's3cr3t');
  raw.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: SCRAM_SHA_256, authenticationData: Buffer.from(again.first()) } });
  const challenge = await raw.expect('auth');
  assert.equal(challenge.reasonCode, 0x18);
  raw.send({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: SCRAM_SHA_256, authenticationData: Buffer.from(again.final(challenge.properties!.authenticationData!.toString())) } });
  const done = await raw.expect('auth');
  assert.equal(done.reasonCode, 0);
  assert.equal(again.verify(done.properties!.authenticationData!.toString()), true);
});
