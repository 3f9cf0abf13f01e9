// What an operator sees of the auth files on the real CLI (issue 15, item 14): relative paths
// are read from the config file's folder, a missing file names its key and path, start-up
// says which files loaded and warns about weak hashes, and ACL denials are logged at debug
// level and counted in /metrics.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { createRecord } from '../../src/auth/hashes.js';
import { passwordLine } from '../../src/auth/password-file.js';
import { freePort, run, start, type Proc } from '../helpers/tools.js';
import { parsePrometheus, value } from '../ops/prometheus.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'starling-authfiles-'));
const procs = new Set<Proc>();
const clients = new Set<MqttClient>();

after(() => {
  for (const c of clients) c.end(true);
  for (const p of procs) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

let folders = 0;
/** A fresh folder holding a config file and its auth files; the CLI runs from another one. */
function folder(): { config: string; cwd: string; path(name: string): string } {
  const root = join(dir, `case-${folders++}`);
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'run'));
  return { config: join(root, 'etc', 'starling.yaml'), cwd: join(root, 'run'), path: (name) => join(root, 'etc', name) };
}

const line = async (user: string, password: string): Promise<string> =>
  passwordLine(user, await createRecord('scrypt', Buffer.from(password), { cost: 1024 }));

function serve(config: string, cwd: string): Proc {
  const proc = start(process.execPath, [CLI, '--config', config, '--set', 'persistence.store=memory'], { timeoutMs: 15_000, cwd });
  procs.add(proc);
  return proc;
}

const json = (l: string): Record<string, unknown> => JSON.parse(l) as Record<string, unknown>;

async function connect(port: number, username: string, password: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 5, clientId: `${username}-files`, username, password });
  clients.add(c);
  return c;
}

test('hardening 14: relative auth file paths are read from the config file\'s folder, and start-up logs which files loaded', async () => {
  const f = folder();
  writeFileSync(f.path('passwd'), `${await line('alice', 'wonderland')}\n`);
  writeFileSync(f.path('acl'), 'user alice\ntopic readwrite alice/#\n');
  const port = await freePort();
  writeFileSync(f.config, `listeners:\n  - port: ${port}\nauth:\n  passwordFile: passwd\n  aclFile: acl\n`);
  const proc = serve(f.config, f.cwd);
  const loaded = json(await proc.line(/"msg":"auth files loaded"/));
  assert.deepEqual(
    { passwordFile: loaded.passwordFile, users: loaded.users, aclFile: loaded.aclFile, acl: loaded.acl },
    { passwordFile: f.path('passwd'), users: 1, aclFile: f.path('acl'), acl: { users: 1, rules: 1, patterns: 0 } },
  );
  await proc.line(/"msg":"listening on /);
  const alice = await connect(port, 'alice', 'wonderland');
  await alice.publishAsync('alice/x', 'ok', { qos: 1 });
  proc.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0);
});

test('hardening 14: a missing auth file stops start-up with its key and absolute path', async () => {
  const f = folder();
  writeFileSync(f.config, 'auth:\n  passwordFile: missing-passwd\n');
  const exit = await run(process.execPath, [CLI, '--config', f.config, '--set', 'persistence.store=memory'], { cwd: f.cwd });
  assert.equal(exit.code, 2);
  assert.equal(exit.stderr, `starling: auth.passwordFile: ${f.path('missing-passwd')}: no such file\n`);
});

test('hardening 14: weak $6$ and low-iteration $7$ hashes are warned about at start-up, naming the users', async () => {
  const f = folder();
  const weak = [
    passwordLine('old-sha', await createRecord('sha512', Buffer.from('pw'))),
    passwordLine('mosq-default', await createRecord('pbkdf2-sha512', Buffer.from('pw'), { cost: 101 })),
    passwordLine('strong', await createRecord('pbkdf2-sha512', Buffer.from('pw'), { cost: 210_000 })),
  ];
  writeFileSync(f.path('passwd'), `${weak.join('\n')}\n`);
  const port = await freePort();
  writeFileSync(f.config, `listeners:\n  - port: ${port}\nauth:\n  passwordFile: ${f.path('passwd')}\n`);
  const proc = serve(f.config, f.cwd);
  await proc.line(/"msg":"listening on /);
  const warnings = proc.stdout.split('\n').filter((l) => /"msg":"weak password hashes/.test(l)).map(json);
  assert.deepEqual(
    warnings.map((w) => [w.level, w.users, w.reason]),
    [
      [40, ['old-sha'], '$6$ is one salted SHA-512 (re-create the user with starling passwd)'],
      [40, ['mosq-default'], '$7$ with 101 iterations (fewer than 210000)'],
    ],
  );
  proc.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0);
});

test('hardening 14: ACL denials are logged at debug level and counted in /metrics by access', async () => {
  const f = folder();
  writeFileSync(f.path('passwd'), `${await line('alice', 'wonderland')}\n`);
  writeFileSync(f.path('acl'), 'user alice\ntopic readwrite alice/#\n');
  const [port, httpPort] = [await freePort(), await freePort()];
  writeFileSync(
    f.config,
    `listeners:\n  - port: ${port}\nauth:\n  passwordFile: ${f.path('passwd')}\n  aclFile: ${f.path('acl')}\nlog:\n  level: debug\nhttp:\n  port: ${httpPort}\n`,
  );
  const proc = serve(f.config, f.cwd);
  await proc.line(/"msg":"http listening on /);
  const alice = await connect(port, 'alice', 'wonderland');
  await assert.rejects(alice.publishAsync('bob/inbox', 'x', { qos: 1 }), (err: { code?: number }) => err.code === 0x87);
  await assert.rejects(alice.subscribeAsync('bob/#', { qos: 1 }));
  const denied = json(await proc.line(/"access":"publish".*"msg":"ACL denied"/));
  assert.deepEqual([denied.level, denied.clientId, denied.username, denied.topic], [20, 'alice-files', 'alice', 'bob/inbox']);
  await proc.line(/"access":"subscribe","topic":"bob\/#","msg":"ACL denied"/);
  const families = parsePrometheus(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text());
  assert.equal(value(families, 'starling_acl_denied_total', { access: 'publish' }), 1);
  assert.equal(value(families, 'starling_acl_denied_total', { access: 'subscribe' }), 1);
  assert.equal(value(families, 'starling_acl_denied_total', { access: 'read' }), 0);
  assert.equal(value(families, 'starling_auth_password_checks_total', { kind: 'hashed' }), 1);
  assert.equal(value(families, 'starling_auth_logins_refused_total', { reason: 'source' }), 0);
  assert.equal(value(families, 'starling_auth_pending_logins'), 0);
  assert.equal(value(families, 'starling_auth_hashing'), 0);
  assert.equal(value(families, 'starling_auth_failures_forgotten_total'), 0);
  proc.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0);
});
