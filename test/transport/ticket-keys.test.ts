// TLS session resumption across restarts: tls.ticketKeyFile keeps the keys that encrypt
// session tickets, so a client that comes back after the broker restarted resumes its session
// (no certificate signature, no key exchange) on 'tls' and 'wss' listeners alike; a key file
// that cannot serve stops start-up with the fix in the message.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import type { ListenerOptions } from '../../src/index.js';
import { guardFor } from '../../src/transport/guard.js';
import { startBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import { have } from '../helpers/tools.js';
import { makePki, openssl, type Pki } from './pki.js';

let pki: Pki;

before(() => {
  if (openssl.path !== undefined) pki = makePki();
});

after(() => pki?.remove());

function listener(type: 'tls' | 'wss', extra: Partial<ListenerOptions> = {}): ListenerOptions {
  return { type, port: 0, host: '127.0.0.1', certFile: pki.server.cert, keyFile: pki.server.key, ...extra };
}

/** A full TLS handshake; resolves with the first session ticket the server sends after it. */
async function ticketFrom(port: number): Promise<Buffer> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: pki.caPem, servername: 'localhost' });
  try {
    // TLS 1.3 sends the tickets after the handshake.
    const [ticket] = (await once(socket, 'session')) as [Buffer];
    return ticket;
  } finally {
    socket.destroy();
  }
}

/** A TLS handshake offering `session`: whether the server resumed it. The socket stays open until `hold` resolves. */
async function resumes(port: number, session: Buffer, hold?: () => Promise<unknown>): Promise<boolean> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: pki.caPem, servername: 'localhost', session });
  try {
    await once(socket, 'secureConnect');
    await hold?.();
    return socket.isSessionReused();
  } finally {
    socket.destroy();
  }
}

test('tls resumption 1: with tls.ticketKeyFile a session from before a restart resumes (tls and wss); the file is made 0600', async (t) => {
  if (!have(t, openssl)) return;
  for (const type of ['tls', 'wss'] as const) {
    const file = join(pki.dir, `tickets-${type}.key`);
    const first = await startBroker({ listeners: [listener(type, { ticketKeyFile: file })] });
    const ticket = await ticketFrom(first.port);
    // Control: the same broker resumes it.
    assert.equal(await resumes(first.port, ticket), true, `${type}: resumed before the restart`);
    await first.close();
    assert.equal(readFileSync(file).length, 48);
    assert.equal(statSync(file).mode & 0o777, 0o600);

    const second = await startBroker({ listeners: [listener(type, { ticketKeyFile: file })] });
    try {
      // starling_tls_handshakes_total counts it as resumed (the server's side ends after the client's).
      const counted = guardFor(second.broker).tlsHandshakes;
      const resumed = await resumes(second.port, ticket, () => until('the handshake counted', () => counted.resumed + counted.full > 0));
      assert.equal(resumed, true, `${type}: resumed after the restart`);
      assert.deepEqual(counted, { full: 0, resumed: 1 });
    } finally {
      await second.close();
    }
  }
});

test('tls resumption 2: without a key file a restart refuses the old tickets (why the file exists)', async (t) => {
  if (!have(t, openssl)) return;
  const first = await startBroker({ listeners: [listener('tls')] });
  const ticket = await ticketFrom(first.port);
  await first.close();
  const second = await startBroker({ listeners: [listener('tls')] });
  try {
    assert.equal(await resumes(second.port, ticket), false);
  } finally {
    await second.close();
  }
});

test('tls resumption 3: a wrong-sized or unreadable ticket key file stops start-up, naming the file and the fix', async (t) => {
  if (!have(t, openssl)) return;
  const short = join(pki.dir, 'short.key');
  writeFileSync(short, Buffer.alloc(32), { mode: 0o600 });
  const unreadable = join(pki.dir, 'a-directory.key');
  mkdirSync(unreadable);
  for (const type of ['tls', 'wss'] as const) {
    await assert.rejects(startBroker({ listeners: [listener(type, { ticketKeyFile: short })] }), (e: Error) => {
      assert.match(e.message, new RegExp(`tls\\.ticketKeyFile ${short} holds 32 bytes, not 48`));
      assert.match(e.message, /Remove it to have new keys created at start-up, or write new ones with: head -c 48 \/dev\/urandom/);
      return true;
    });
    await assert.rejects(startBroker({ listeners: [listener(type, { ticketKeyFile: unreadable })] }), (e: Error) => {
      assert.match(e.message, new RegExp(`cannot read tls\\.ticketKeyFile ${unreadable}: .*EISDIR`));
      assert.match(e.message, /Make it readable by the broker's user, or remove it/);
      return true;
    });
  }
});

test('tls resumption 6: replacing the key file and reloading (SIGHUP) rotates the keys: tickets issued before need a full handshake', async (t) => {
  if (!have(t, openssl)) return;
  const file = join(pki.dir, 'rotated.key');
  const tb = await startBroker({ listeners: [listener('tls', { ticketKeyFile: file })] });
  try {
    const old = await ticketFrom(tb.port);
    assert.deepEqual(await tb.broker.reloadCertificates(), []);
    assert.equal(await resumes(tb.port, old), true, 'the same keys re-read: still resumed');
    writeFileSync(file, randomBytes(48));
    assert.deepEqual(await tb.broker.reloadCertificates(), []);
    assert.equal(await resumes(tb.port, old), false, 'new keys: the old ticket is refused');
    const fresh = await ticketFrom(tb.port);
    assert.equal(await resumes(tb.port, fresh), true, 'a ticket under the new keys resumes');
    // A broken file on reload is reported and the keys in force stay.
    writeFileSync(file, Buffer.alloc(5));
    const errors = await tb.broker.reloadCertificates();
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /holds 5 bytes, not 48/);
    assert.equal(await resumes(tb.port, fresh), true, 'the keys in force were kept');
  } finally {
    await tb.close();
  }
});

test('tls resumption 7: tls.sessionTimeout bounds how long a ticket resumes; the default (7200 s) outlives a short outage', async (t) => {
  if (!have(t, openssl)) return;
  const short = await startBroker({ listeners: [listener('tls', { sessionTimeout: 1 })] });
  const long = await startBroker({ listeners: [listener('tls')] });
  try {
    const [a, b] = [await ticketFrom(short.port), await ticketFrom(long.port)];
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal(await resumes(short.port, a), false, 'expired after 1 s');
    assert.equal(await resumes(long.port, b), true, 'still valid under the default');
  } finally {
    await short.close();
    await long.close();
  }
});
