// SIGHUP end to end, on the real CLI: what a reload re-reads besides the password file
// (test/e2e/cli.test.ts): the ACL file, the TLS certificate files, and live limits (a
// publish rate). Connected clients stay connected through each reload. Auth files named by
// a reload for the first time, or changed to others, are applied, through SIGHUP and
// POST /api/v1/reload; a file that does not load is reported as an error.

import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Decoder, encode } from '../../src/codec/index.js';
import { createRecord } from '../../src/auth/hashes.js';
import { passwordLine } from '../../src/auth/password-file.js';
import { RawClient, delay } from '../helpers/broker.js';
import { freePort, have, start, type Proc } from '../helpers/tools.js';
import { makePki, openssl, type Pki } from '../transport/pki.js';
import { until } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'starling-reload-'));
const procs = new Set<Proc>();
const clients = new Set<RawClient>();
let pki: Pki | undefined;

after(() => {
  for (const c of clients) c.destroy();
  for (const p of procs) p.kill();
  pki?.remove();
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI with `yaml` as its config file (memory store), once `port` is listening. */
async function serve(yaml: string, port: number, env: NodeJS.ProcessEnv = {}): Promise<{ proc: Proc; config: string }> {
  const config = join(dir, `starling-${port}.yaml`);
  writeFileSync(config, yaml);
  const proc = start(process.execPath, [CLI, '--config', config, '--set', 'persistence.store=memory'], { timeoutMs: 15_000, env: { ...process.env, ...env } });
  procs.add(proc);
  await proc.line(new RegExp(`"msg":"listening on 127\\.0\\.0\\.1:${port}"`));
  return { proc, config };
}

async function client(port: number, clientId: string): Promise<RawClient> {
  const c = await RawClient.connect(port, { clientId });
  clients.add(c);
  return c;
}

let nextId = 1;
async function subscribeCode(c: RawClient, topicFilter: string): Promise<number> {
  c.send({ type: 'subscribe', packetId: nextId++, subscriptions: [{ topicFilter, qos: 1 }] });
  return (await c.expect('suback')).reasonCodes[0]!;
}

async function stop(proc: Proc): Promise<void> {
  proc.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0);
}

test('SIGHUP re-reads the ACL file: a filter refused before is granted after, and the client stays connected', async () => {
  const acl = join(dir, 'acl');
  writeFileSync(acl, 'topic readwrite a/#\n');
  const port = await freePort();
  const { proc } = await serve(`listeners:\n  - port: ${port}\nauth:\n  aclFile: ${acl}\n`, port);
  const c = await client(port, 'acl-client');
  assert.equal(await subscribeCode(c, 'a/#'), 1);
  assert.equal(await subscribeCode(c, 'b/#'), 0x87);

  writeFileSync(acl, 'topic readwrite a/#\ntopic readwrite b/#\n');
  proc.kill('SIGHUP');
  await proc.line(/"msg":"auth files reloaded"/);
  assert.equal(await subscribeCode(c, 'b/#'), 1);
  c.send({ type: 'publish', topic: 'b/x', payload: Buffer.from('granted'), qos: 1, retain: false, dup: false, packetId: nextId++ });
  const [first, second] = [await c.next(), await c.next()];
  const publish = [first, second].find((p) => p.type === 'publish');
  assert.equal(publish?.type === 'publish' && publish.payload.toString(), 'granted');
  assert.equal(c.closed, false);
  await stop(proc);
});

test('SIGHUP re-reads the certificate files of a tls listener: new connections get the new certificate, an open one keeps working', async (t) => {
  if (!have(t, openssl)) return;
  pki ??= makePki();
  const cert = join(dir, 'live.crt');
  const key = join(dir, 'live.key');
  copyFileSync(pki.server.cert, cert);
  copyFileSync(pki.server.key, key);
  const [tcpPort, tlsPort] = [await freePort(), await freePort()];
  const { proc } = await serve(`listeners:\n  - port: ${tcpPort}\n  - type: tls\n    port: ${tlsPort}\n    allowAnonymous: true\n    tls: { cert: ${cert}, key: ${key} }\n`, tlsPort);
  const ca = pki.caPem;
  const servedCN = async (): Promise<string> => {
    const s = tls.connect({ host: '127.0.0.1', port: tlsPort, ca });
    await new Promise<void>((resolve, reject) => s.once('secureConnect', resolve).once('error', reject));
    const cn = String(s.getPeerCertificate().subject.CN);
    s.destroy();
    return cn;
  };
  assert.equal(await servedCN(), 'localhost');
  const old = tls.connect({ host: '127.0.0.1', port: tlsPort, ca });
  await new Promise<void>((resolve, reject) => old.once('secureConnect', resolve).once('error', reject));
  t.after(() => old.destroy());

  copyFileSync(pki.server2.cert, cert);
  copyFileSync(pki.server2.key, key);
  proc.kill('SIGHUP');
  let cn = '';
  for (let i = 0; i < 30 && cn !== 'starling-reloaded'; i++) {
    await delay(100);
    cn = await servedCN();
  }
  assert.equal(cn, 'starling-reloaded');
  // The connection made before the reload still speaks MQTT.
  const got = new Promise<string>((resolve) => {
    const d = new Decoder((p) => resolve(p.type), { role: 'client', protocolVersion: 5 });
    old.on('data', (chunk: Buffer) => d.push(chunk));
  });
  old.write(encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'before-reload' }, 5));
  assert.equal(await got, 'connack');
  await stop(proc);
});

test('SIGHUP applies a new limits.maxPublishRate to a client already connected (PUBACK 0x97 beyond it)', async () => {
  const port = await freePort();
  const { proc, config } = await serve(`listeners:\n  - port: ${port}\n`, port);
  const c = await client(port, 'rate-client');
  const publish = async (): Promise<number> => {
    c.send({ type: 'publish', topic: 'r', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: nextId++ });
    return (await c.expect('puback')).reasonCode ?? 0;
  };
  for (let i = 0; i < 5; i++) assert.equal(await publish(), 0x10);
  writeFileSync(config, `listeners:\n  - port: ${port}\nlimits:\n  maxPublishRate: 2\n`);
  proc.kill('SIGHUP');
  await proc.line(/"msg":"config reloaded"/);
  const codes = [await publish(), await publish(), await publish()];
  assert.deepEqual(codes, [0x10, 0x10, 0x97]);
  assert.equal(c.closed, false);
  await stop(proc);
});

/** The CONNACK code a 5.0 CONNECT with this user name and password gets. */
async function connack(port: number, username: string, password: string): Promise<number> {
  const c = await RawClient.open(port, 5);
  clients.add(c);
  c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: `login-${nextId++}`, username, password: Buffer.from(password) });
  const code = (await c.expect('connack')).reasonCode;
  c.destroy();
  return code;
}

/** A password file with one user (a cheap hash: these tests are about reloading). */
async function passwordFile(name: string, user: string, password: string): Promise<string> {
  const file = join(dir, name);
  writeFileSync(file, `${passwordLine(user, await createRecord('pbkdf2-sha512', Buffer.from(password), { cost: 1000 }))}\n`);
  return file;
}

test('hardening 2: SIGHUP adding auth.passwordFile to a broker started without one applies it: from then on a wrong password is refused', async () => {
  const port = await freePort();
  const { proc, config } = await serve(`listeners:\n  - port: ${port}\n`, port);
  assert.equal(await connack(port, 'alice', 'anything'), 0, 'without a password file user names are not checked');
  const passwd = await passwordFile('passwd-added', 'alice', 'wonderland');
  writeFileSync(config, `listeners:\n  - port: ${port}\nauth:\n  passwordFile: ${passwd}\n`);
  proc.kill('SIGHUP');
  await proc.line(/"msg":"config reloaded"/);
  assert.match(proc.stdout, /auth\.passwordFile: \(unset\) -> \S+passwd-added \(applied\)/);
  assert.equal(await connack(port, 'alice', 'anything'), 0x86);
  assert.equal(await connack(port, 'alice', 'wonderland'), 0);
  await stop(proc);
});

test('hardening 2: SIGHUP pointing auth.aclFile at another file applies that file', async () => {
  const [first, second] = [join(dir, 'acl-first'), join(dir, 'acl-second')];
  writeFileSync(first, 'topic readwrite a/#\n');
  writeFileSync(second, 'topic readwrite b/#\n');
  const port = await freePort();
  const { proc, config } = await serve(`listeners:\n  - port: ${port}\nauth:\n  aclFile: ${first}\n`, port);
  const c = await client(port, 'acl-switch');
  assert.deepEqual([await subscribeCode(c, 'a/#'), await subscribeCode(c, 'b/#')], [1, 0x87]);
  writeFileSync(config, `listeners:\n  - port: ${port}\nauth:\n  aclFile: ${second}\n`);
  proc.kill('SIGHUP');
  await proc.line(/"msg":"config reloaded"/);
  assert.deepEqual([await subscribeCode(c, 'a/#'), await subscribeCode(c, 'b/#')], [0x87, 1]);
  await stop(proc);
});

test('hardening 2: SIGHUP adding auth.aclFile to a broker started without one applies it, and removing it again lifts it', async () => {
  const acl = join(dir, 'acl-added');
  writeFileSync(acl, 'topic readwrite a/#\n');
  const port = await freePort();
  const base = `listeners:\n  - port: ${port}\n`;
  const { proc, config } = await serve(base, port);
  const c = await client(port, 'acl-added');
  assert.deepEqual([await subscribeCode(c, 'a/#'), await subscribeCode(c, 'b/#')], [1, 1], 'no ACL: everything allowed');
  writeFileSync(config, `${base}auth:\n  aclFile: ${acl}\n`);
  proc.kill('SIGHUP');
  await proc.line(/"msg":"config reloaded"/);
  assert.deepEqual([await subscribeCode(c, 'a/#'), await subscribeCode(c, 'b/#')], [1, 0x87]);
  writeFileSync(config, base);
  proc.kill('SIGHUP');
  await until('the second reload', () => proc.stdout.split('\n').filter((l) => l.includes('"msg":"config reloaded"')).length === 2);
  assert.deepEqual([await subscribeCode(c, 'a/#'), await subscribeCode(c, 'b/#')], [1, 1], 'the ACL file removed');
  await stop(proc);
});

test('hardening 2: POST /api/v1/reload applies a password file named for the first time, and answers 422 naming key, file and line when a bad line keeps the old rules', async () => {
  const [port, httpPort] = [await freePort(), await freePort()];
  const token = 'reload-test-token';
  const base = `listeners:\n  - port: ${port}\nhttp:\n  port: ${httpPort}\n`;
  const { proc, config } = await serve(base, port, { STARLING_HTTP_ADMIN_TOKEN: token });
  await proc.line(/"msg":"http listening on /);
  const reload = async (): Promise<{ status: number; body: { ok: boolean; applied: string[]; needsRestart: string[]; error?: string } }> => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/reload`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as never };
  };
  const passwd = await passwordFile('passwd-posted', 'alice', 'wonderland');
  writeFileSync(config, `${base}auth:\n  passwordFile: ${passwd}\n`);
  const added = await reload();
  assert.equal(added.status, 200);
  assert.deepEqual(added.body, { ok: true, applied: ['auth.passwordFile'], needsRestart: [] });
  assert.equal(await connack(port, 'alice', 'anything'), 0x86);
  assert.equal(await connack(port, 'alice', 'wonderland'), 0);

  writeFileSync(passwd, `${passwordLine('alice', await createRecord('pbkdf2-sha512', Buffer.from('changed'), { cost: 1000 }))}\nbob\n`);
  const bad = await reload();
  assert.equal(bad.status, 422);
  assert.equal(bad.body.ok, false);
  assert.equal(bad.body.error, `auth.passwordFile: ${passwd}:2: expected user:hash`);
  assert.equal(await connack(port, 'alice', 'wonderland'), 0, 'the previous passwords stay');
  await stop(proc);
});
