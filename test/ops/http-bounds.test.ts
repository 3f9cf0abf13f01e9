// The ops HTTP port under a flood of idle connections: health probes still get through (a
// new connection beyond http.maxConnections closes the oldest idle one, never a request in
// progress), and idle connections are closed after http.idleTimeout.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { createOpsServer, type OpsServer } from '../../src/index.js';
import { startBroker } from '../helpers/broker.js';
import { parsePrometheus, value } from './prometheus.js';

/** A GET on a connection of its own (no keep-alive pool): status, or the error's code. */
function probe(port: number, path: string, timeoutMs = 2000): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

async function idleSockets(port: number, n: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    sockets.push(s);
  }
  await Promise.all(sockets.map((s) => once(s, 'connect')));
  return sockets;
}

async function metric(ops: OpsServer, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${ops.address!.port}/metrics`)).text();
  return value(parsePrometheus(text), name, labels);
}

test('hardening 10: /healthz answers every probe while more idle sockets than the cap hold the port; idle ones close after http.idleTimeout', { timeout: 30_000 }, async () => {
  const tb = await startBroker();
  const ops = createOpsServer(tb.broker, { sysInterval: 0, http: { port: 0, idleTimeout: 1500 } });
  await ops.start();
  const port = ops.address!.port;
  const sockets: net.Socket[] = [];
  try {
    // More than the old cap (128) and the default http.maxConnections (64).
    sockets.push(...(await idleSockets(port, 140)));
    const results: Array<number | string> = [];
    for (let i = 0; i < 12; i++) {
      results.push(await probe(port, '/healthz'));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(results, Array(12).fill(200), 'every probe answered');
    assert.ok((await metric(ops, 'starling_http_connections_closed_total', { reason: 'evicted' }))! >= 140 - 64, 'idle connections made room');

    // Nothing sent on them: the server closes every one within its idle timeout (and the
    // check's granularity), not after Node's minutes.
    const closed = Promise.all(sockets.map((s) => (s.destroyed || s.readyState === 'closed' ? undefined : once(s, 'close'))));
    const deadline = new Promise((_, reject) => setTimeout(() => reject(new Error('idle sockets still open 6 s later')), 6000).unref());
    await Promise.race([closed, deadline]);
    assert.ok((await metric(ops, 'starling_http_connections_closed_total', { reason: 'idle' }))! > 0);
  } finally {
    for (const s of sockets) s.destroy();
    await ops.close();
    await tb.close();
  }
});

test('hardening 10: a request in progress is never the one closed for a new connection; with every one busy the new one is refused', { timeout: 30_000 }, async () => {
  const tb = await startBroker();
  const ops = createOpsServer(tb.broker, { sysInterval: 0, http: { port: 0, adminToken: 'tok', maxConnections: 2 } });
  await ops.start();
  const port = ops.address!.port;
  // Two uploads whose bodies never finish: each connection has a request in progress.
  const uploads = await idleSockets(port, 2);
  const answers = uploads.map((s) => {
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    return () => text;
  });
  const body = '{"topic":"a/b","payload":"x"}'.padEnd(100);
  for (const s of uploads) {
    s.write(`POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 9)}`);
  }
  try {
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await probe(port, '/healthz'), 'ECONNRESET', 'no idle connection to close: the new one is refused');
    assert.ok(!uploads.some((s) => s.destroyed || s.readyState !== 'open'), 'the uploads are kept');
    // Finish one upload: its connection turns idle and makes room for the next probe.
    uploads[0]!.write(body.slice(9));
    await new Promise((r) => setTimeout(r, 200));
    assert.match(answers[0]!(), /^HTTP\/1\.1 2\d\d /);
    assert.equal(await probe(port, '/healthz'), 200);
    assert.equal(uploads[1]!.readyState, 'open', 'the upload still in progress was not the one closed');
    const h = (reason: string): Promise<number> => metric(ops, 'starling_http_connections_closed_total', { reason });
    assert.ok((await h('refused'))! >= 1);
    assert.ok((await h('evicted'))! >= 1);
  } finally {
    for (const s of uploads) s.destroy();
    await ops.close();
    await tb.close();
  }
});
