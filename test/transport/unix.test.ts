// MQTT over a Unix domain socket: MQTT.js through the socket file, anonymous by default (the
// socket is local), and the socket file's life: a stale one replaced, ours removed at close,
// a live one or a non-socket file never touched.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuthenticateRequest } from '../../src/index.js';
import { createBroker } from '../../src/index.js';
import { connectMqtt, endMqtt, nextMessage, subscribe } from './clients.js';

describe('unix listener', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'starling-unix-'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test('MQTT.js publishes and subscribes through the socket file, anonymous by default (ordered, lossless stream) [MQTT-4.2.0-1] [MQTT-7.1.1-1]', async () => {
    const path = join(dir, 'a.sock');
    const broker = createBroker({ logLevel: false, listeners: [{ type: 'unix', path }] });
    const [info] = await broker.listen();
    try {
      assert.equal(info!.allowAnonymous, true);
      assert.equal(info!.path, path);
      const sub = await connectMqtt('mqtt://localhost', { unixSocket: true, path, protocolVersion: 5 });
      const pub = await connectMqtt('mqtt://localhost', { unixSocket: true, path, protocolVersion: 4 });
      await subscribe(sub, 'unix/#');
      const got = nextMessage(sub);
      await pub.publishAsync('unix/x', 'local', { qos: 1 });
      assert.equal((await got).payload.toString(), 'local');
      await endMqtt(sub, pub);
    } finally {
      await broker.close();
    }
    assert.equal(existsSync(path), false, 'socket file removed at close');
  });

  test('the authenticate hook sees the unix socket as the remote address', async () => {
    const path = join(dir, 'b.sock');
    const seen: AuthenticateRequest[] = [];
    const broker = createBroker({ logLevel: false, listeners: [{ type: 'unix', path }], hooks: [{ authenticate: (r) => (seen.push(r), { ok: true }) }] });
    await broker.listen();
    try {
      await endMqtt(await connectMqtt('mqtt://localhost', { unixSocket: true, path }));
      assert.equal(seen[0]!.remoteAddress, `unix:${path}`);
      assert.equal(seen[0]!.listener.type, 'unix');
    } finally {
      await broker.close();
    }
  });

  test('a stale socket file is replaced at open', async () => {
    const path = join(dir, 'stale.sock');
    // A socket file whose server is gone: a process that listened and was killed.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`], { timeout: 5000 });
    assert.equal(existsSync(path), true);
    const broker = createBroker({ logLevel: false, listeners: [{ type: 'unix', path }] });
    await broker.listen();
    try {
      await endMqtt(await connectMqtt('mqtt://localhost', { unixSocket: true, path }));
    } finally {
      await broker.close();
    }
  });

  test('a socket another process listens on is not taken over, and a regular file is not deleted', async () => {
    const live = join(dir, 'live.sock');
    const other = net.createServer();
    await new Promise<void>((r) => other.listen(live, r));
    try {
      const broker = createBroker({ logLevel: false, listeners: [{ type: 'unix', path: live }] });
      await assert.rejects(broker.listen(), /another process is listening/);
      await broker.close();
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }

    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'keep me');
    const broker = createBroker({ logLevel: false, listeners: [{ type: 'unix', path: file }] });
    await assert.rejects(broker.listen(), /not a socket/);
    await broker.close();
    assert.equal(readFileSync(file, 'utf8'), 'keep me');
  });

  test('a unix listener needs a path and takes no port or PROXY protocol', () => {
    const broker = createBroker({ logLevel: false, listeners: [{ type: 'unix' }] });
    return assert.rejects(broker.listen(), /needs a path/).then(async () => {
      await broker.close();
      const b2 = createBroker({ logLevel: false, listeners: [{ type: 'unix', path: join(dir, 'x.sock'), proxyProtocol: true }] });
      await assert.rejects(b2.listen(), /proxyProtocol is for/);
      await b2.close();
    });
  });
});
