// A TLS listener taking the user name from the client certificate (certificateAsUsername,
// Mosquitto's use_identity_as_username) together with a password file (issue 15, item 9):
// the verified certificate authenticates the client, the password file is not consulted for
// it, and the ACL still judges it by that user name. Real certificates from pki.ts; MQTT.js
// (5.0 and 3.1.1) and mosquitto_pub as clients.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IClientOptions } from 'mqtt';
import { createRecord } from '../../src/auth/hashes.js';
import { fileAuth } from '../../src/auth/index.js';
import { passwordLine } from '../../src/auth/password-file.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { have, mosquittoPub, run } from '../helpers/tools.js';
import { connectMqtt, endMqtt } from '../transport/clients.js';
import { makePki, openssl, type Pki } from '../transport/pki.js';

let pki: Pki;
const dir = mkdtempSync(join(tmpdir(), 'starling-certuser-'));

before(() => {
  if (openssl.path !== undefined) pki = makePki();
});

after(() => {
  pki?.remove();
  rmSync(dir, { recursive: true, force: true });
});

/** A TLS listener with certificateAsUsername 'cn', fileAuth with a password file (without device-42) and an ACL. */
async function broker(t: { after(fn: () => unknown): void }): Promise<TestBroker & { tlsUrl: string }> {
  const passwordFile = join(dir, 'passwd');
  writeFileSync(passwordFile, `${passwordLine('alice', await createRecord('pbkdf2-sha512', Buffer.from('wonderland'), { cost: 1000 }))}\n`);
  const aclFile = join(dir, 'acl');
  writeFileSync(aclFile, 'user device-42\ntopic readwrite devices/device-42/#\n');
  const tb = await startBroker({
    listeners: [{ type: 'tls', port: 0, host: '127.0.0.1', certFile: pki.server.cert, keyFile: pki.server.key, caFile: pki.ca, certificateAsUsername: 'cn' }],
    hooks: [fileAuth({ passwordFile, aclFile, failureDelay: false })],
  });
  t.after(() => tb.close());
  return { ...tb, tlsUrl: `mqtts://127.0.0.1:${tb.port}` };
}

test('hardening 9: a client whose user name comes from its verified certificate connects without a password (5.0 and 3.1.1); the ACL judges it by that name', async (t) => {
  if (!have(t, openssl)) return;
  const tb = await broker(t);
  const tlsOptions: IClientOptions = { ca: pki.caPem, cert: pki.pem(pki.client.cert), key: pki.pem(pki.client.key) };
  for (const protocolVersion of [5, 4] as const) {
    const c = await connectMqtt(tb.tlsUrl, { ...tlsOptions, protocolVersion });
    t.after(() => endMqtt(c));
    await c.publishAsync('devices/device-42/state', 'up', { qos: 1 });
    if (protocolVersion === 5) {
      await assert.rejects(c.publishAsync('devices/device-7/state', 'x', { qos: 1 }), (err: { code?: number }) => err.code === 0x87, 'the ACL still applies to device-42');
    }
  }
  // A password sent along is not what authenticates it: a wrong one changes nothing.
  const withPassword = await connectMqtt(tb.tlsUrl, { ...tlsOptions, protocolVersion: 5, username: 'claimed', password: 'wrong' });
  t.after(() => endMqtt(withPassword));
  await withPassword.publishAsync('devices/device-42/state', 'again', { qos: 1 });
});

test('hardening 9: mosquitto_pub with only a client certificate publishes through a listener with certificateAsUsername and a password file', async (t) => {
  if (!have(t, openssl, mosquittoPub)) return;
  const tb = await broker(t);
  const args = ['-h', '127.0.0.1', '-p', String(tb.port), '--cafile', pki.ca, '--cert', pki.client.cert, '--key', pki.client.key, '-q', '1', '-m', 'hello'];
  const ok = await run(mosquittoPub.path!, [...args, '-t', 'devices/device-42/hello', '-i', 'mosq-device-42']);
  assert.equal(ok.code, 0, ok.stderr);
});
