// `starling --workers 2` and TLS session resumption: a ticket one worker issued is accepted
// by the other (the primary gives both the same ticket keys), so a device that reconnects
// after an outage resumes whichever worker the OS hands it to.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encode } from '../../src/codec/index.js';
import { freePort, have, start } from '../helpers/tools.js';
import { makePki, openssl, type Pki } from '../transport/pki.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

let ids = 0;
/** A TLS connection that sends CONNECT and waits for CONNACK: which worker logged it, whether it resumed, its ticket. */
async function visit(pki: Pki, port: number, session?: Buffer): Promise<{ clientId: string; reused: boolean; ticket: Buffer | undefined }> {
  const clientId = `resume-${++ids}`;
  const socket = tls.connect({ host: '127.0.0.1', port, ca: pki.caPem, servername: 'localhost', ...(session && { session }) });
  let ticket: Buffer | undefined;
  socket.on('session', (t: Buffer) => (ticket ??= t));
  try {
    await once(socket, 'secureConnect');
    socket.write(encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId }, 5));
    await once(socket, 'data');
    return { clientId, reused: socket.isSessionReused(), ticket };
  } finally {
    socket.destroy();
  }
}

test('tls resumption 4: under --workers 2 a TLS session from one worker resumes on the other', async (t) => {
  if (!have(t, openssl)) return;
  const pki = makePki();
  const dir = mkdtempSync(join(tmpdir(), 'starling-resume-'));
  t.after(() => {
    pki.remove();
    rmSync(dir, { recursive: true, force: true });
  });
  const port = await freePort();
  const proc = start(
    process.execPath,
    [
      CLI, '--workers', '2', '--isolated-workers', '--set', 'persistence.store=memory', '--set', 'log.flushInterval=0',
      '--set', 'listeners[0].type=tls', '--set', `listeners[0].port=${port}`, '--set', `listeners[0].tls.cert=${pki.server.cert}`, '--set', `listeners[0].tls.key=${pki.server.key}`,
    ],
    // Round robin: consecutive connections go to alternate workers, so the second is on the other one.
    { timeoutMs: 30_000, env: { ...process.env, NODE_CLUSTER_SCHED_POLICY: 'rr' } },
  );
  t.after(() => proc.kill('SIGTERM'));
  await proc.line(/"msg":"2 workers serving"/, 15_000);
  const workerOf = async (clientId: string): Promise<number> =>
    (JSON.parse(await proc.line(new RegExp(`"clientId":"${clientId}"[^\\n]*"msg":"client connected"`), 5000)) as { worker: number }).worker;

  const first = await visit(pki, port);
  assert.ok(first.ticket !== undefined, 'the first connection got a session ticket');
  const issuer = await workerOf(first.clientId);
  const seen = new Set<number>();
  for (let i = 0; i < 6; i++) {
    const again = await visit(pki, port, first.ticket);
    seen.add(await workerOf(again.clientId));
    assert.equal(again.reused, true, `reconnection ${i + 1} resumed`);
  }
  assert.ok([...seen].some((w) => w !== issuer), `some reconnections reached the worker that did not issue the ticket (issuer ${issuer}, seen ${[...seen].join(',')})`);
  proc.kill('SIGTERM');
  assert.equal((await proc.exited).code, 0);
});
