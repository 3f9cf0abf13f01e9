// Dashboard logins under a guessing flood: they go through the broker's login guard, so one
// address guessing at /dashboard/login is slowed by its back-off and holds at most one of the
// hashing slots MQTT logins use, while logins from other addresses go ahead.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRecord, fileAuth, passwordLine } from '../../src/auth/index.js';
import { createBroker, createOpsServer } from '../../src/index.js';
import { encode } from '../../src/codec/encoder.js';

/** POST /dashboard/login from `localAddress` (a loopback address other than the flood's). */
function postFrom(port: number, localAddress: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, localAddress, method: 'POST', path: '/dashboard/login', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(text);
  });
}

/** An MQTT 3.1.1 CONNECT with a password from `localAddress`: resolves to the CONNACK's return code. */
function mqttLoginFrom(port: number, localAddress: string, username: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: '127.0.0.1', port, localAddress }, () => {
      socket.write(encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'mqtt-during-flood', username, password: Buffer.from(password) }, 4));
    });
    socket.once('data', (d: Buffer) => {
      socket.destroy();
      // CONNACK: 0x20 0x02 flags code
      if (d[0] === 0x20) resolve(d[3]!);
      else reject(new Error(`not a CONNACK: ${d.toString('hex')}`));
    });
    socket.on('error', reject);
  });
}

const within = <T>(ms: number, what: string, p: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
};

test('dash2 1: a flood of wrong dashboard passwords from one address is slowed and counted; a login from another address, dashboard or MQTT, goes ahead', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-dash-logins-'));
  // scrypt at Starling's default cost: each check is real work in the thread pool.
  const lines = [passwordLine('alice', await createRecord('scrypt', Buffer.from('alice-pw'))), passwordLine('device', await createRecord('scrypt', Buffer.from('device-pw')))];
  writeFileSync(join(dir, 'passwd'), `${lines.join('\n')}\n`);
  const auth = fileAuth({ passwordFile: join(dir, 'passwd') });
  const broker = createBroker({ logLevel: false, hooks: [auth], listeners: [{ port: 0, host: '127.0.0.1' }] });
  const [info] = await broker.listen();
  let checkedFlood = 0;
  const ops = createOpsServer(broker, {
    sysInterval: 0,
    http: { port: 0, host: '127.0.0.1', dashboard: { adminUsers: ['alice'] } },
    checkPassword: (u, p, release) => {
      if (p === 'guess') checkedFlood++;
      return auth.verifyPassword(u, p, release);
    },
    loginGuard: auth.guard,
  });
  await ops.start();
  const port = ops.address!.port;
  const statuses = new Map<number, number>();
  let sent = 0;
  let flooding = true;
  // Eight guessers on 127.0.0.1, each sending its next guess as soon as the last is answered
  // (a guess still waiting out the back-off when the server closes ends with an error: 0).
  const flood = Array.from({ length: 8 }, async () => {
    while (flooding) {
      sent++;
      const status = await postFrom(port, '127.0.0.1', { username: 'alice', password: 'guess' }).catch(() => 0);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    // A functional deadline with a wide margin for a loaded 2-core machine: two scrypt checks.
    assert.equal(await within(8000, 'the dashboard login from 127.0.0.2', postFrom(port, '127.0.0.2', { username: 'alice', password: 'alice-pw' })), 200);
    assert.equal(await within(8000, 'the MQTT login from 127.0.0.3', mqttLoginFrom(info!.port, '127.0.0.3', 'device', 'device-pw')), 0);
    // Flood for 3 s in all, whatever the two logins took.
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - started))));
    flooding = false;
    await new Promise((r) => setTimeout(r, 300));
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (re: RegExp): number => Number(re.exec(metrics)?.[1] ?? NaN);
    // Back-off 250 ms doubling: checks at about 0, 0.25, 0.75, 1.75 and 3.75 s of the flood.
    assert.ok(checkedFlood <= 6, `${checkedFlood} of ${sent} guesses were checked`);
    assert.ok(checkedFlood >= 2, `${checkedFlood} guesses were checked`);
    assert.ok(sent >= 40, `the flood sent ${sent} guesses`);
    const seen401 = statuses.get(401) ?? 0;
    const seen429 = statuses.get(429) ?? 0;
    assert.ok(seen401 >= 1 && seen429 >= 1, `statuses ${JSON.stringify([...statuses])}`);
    // Counted by the server; a guess answered after the client stopped counting may add to them.
    assert.ok(value(/^starling_dashboard_login_failures_total (\d+)$/m) >= seen401);
    assert.ok(value(/^starling_dashboard_logins_throttled_total\{reason="source"\} (\d+)$/m) >= seen429);
    assert.ok(value(/^starling_dashboard_logins_checked_total (\d+)$/m) <= checkedFlood + 1, 'the flood\'s checks and alice\'s');
    assert.match(metrics, /^starling_dashboard_logins_total 1$/m);
    // The hashing bound is MQTT's: the flood's hashes are counted by the broker's guard too.
    assert.ok(auth.stats.logins.hashed <= checkedFlood + 2, `hashed ${auth.stats.logins.hashed}`);
  } finally {
    flooding = false;
    await ops.close();
    await Promise.all(flood);
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
