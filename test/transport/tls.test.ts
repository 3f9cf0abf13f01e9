// MQTT over TLS: MQTT.js and the Mosquitto clients against a 'tls' listener, client
// certificates (required, optional, untrusted, their CN or SAN as the user name), the lowest
// TLS version, and reloading certificates without dropping connections.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { encode } from '../../src/codec/index.js';
import type { AuthenticateRequest, ListenerOptions } from '../../src/index.js';
import { createListener, type Listener, type PeerIdentity } from '../../src/transport/index.js';
import { guardFor } from '../../src/transport/guard.js';
import { host } from './host.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { have, mosquittoPub, mosquittoSub, run } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';
import { connectMqtt, endMqtt, nextMessage, subscribe } from './clients.js';
import { makePki, openssl, type Pki } from './pki.js';

let pki: Pki;

before(() => {
  if (openssl.path !== undefined) pki = makePki();
});

after(() => pki?.remove());

/** A broker with one TLS listener (plus the options given) on a free port. */
async function tlsBroker(extra: Partial<ListenerOptions> = {}, hooks: Parameters<typeof startBroker>[0] = {}): Promise<TestBroker & { tlsUrl: string }> {
  const tb = await startBroker({
    listeners: [{ type: 'tls', port: 0, host: '127.0.0.1', certFile: pki.server.cert, keyFile: pki.server.key, ...extra }],
    ...hooks,
  });
  return { ...tb, tlsUrl: `mqtts://127.0.0.1:${tb.port}` };
}

/** A TLS handshake with the listener; resolves with the socket once secure, rejects on failure. */
function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: pki.caPem, ...options }, () => resolve(socket));
    // Kept after the handshake: under TLS 1.3 a refusal arrives once the client thinks it is done.
    socket.on('error', reject);
  });
}

/**
 * Whether the server keeps a TLS connection once the client's side of the handshake is
 * done. Under TLS 1.3 the server checks the client's certificate after the client thinks the
 * handshake is over, so a refusal shows as the connection closing right after.
 */
async function kept(port: number, options: tls.ConnectionOptions = {}): Promise<boolean> {
  let socket: tls.TLSSocket;
  try {
    socket = await handshake(port, options);
  } catch {
    return false;
  }
  // A 5.0 CONNECT: an accepted connection answers with CONNACK, a refused one closes.
  socket.write(encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'kept' }, 5));
  const answer = await new Promise<boolean>((resolve) => {
    socket.once('data', () => resolve(true));
    socket.once('close', () => resolve(false));
    setTimeout(() => resolve(false), 2000).unref();
  });
  socket.destroy();
  return answer;
}

describe('tls listener', () => {
  test('MQTT.js publishes and receives over mqtts:// (ordered, lossless stream) [MQTT-4.2.0-1] [MQTT-7.1.1-1]', async (t) => {
    if (!have(t, openssl)) return;
    const tb = await tlsBroker();
    try {
      const sub = await connectMqtt(tb.tlsUrl, { ca: pki.caPem, protocolVersion: 5 });
      const pub = await connectMqtt(tb.tlsUrl, { ca: pki.caPem, protocolVersion: 4 });
      await subscribe(sub, 'tls/#');
      const got: string[] = [];
      const all = new Promise<void>((resolve) => sub.on('message', (_t, p) => got.push(p.toString()) === 100 && resolve()));
      for (let i = 0; i < 100; i++) pub.publish('tls/seq', String(i), { qos: 1 });
      await all;
      assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => String(i)));
      await endMqtt(sub, pub);
    } finally {
      await tb.close();
    }
  });

  test('mosquitto_pub and mosquitto_sub with --cafile', async (t) => {
    if (!have(t, openssl, mosquittoPub, mosquittoSub)) return;
    const tb = await tlsBroker();
    try {
      const common = ['-h', 'localhost', '-p', String(tb.port), '--cafile', pki.ca, '-V', 'mqttv5'];
      const pub = await run(mosquittoPub.path!, [...common, '-t', 'tls/mosq', '-m', 'over tls', '-q', '1', '-r']);
      assert.equal(pub.code, 0, pub.stderr);
      const sub = await run(mosquittoSub.path!, [...common, '-t', 'tls/mosq', '-C', '1', '-W', '4']);
      assert.equal(sub.code, 0, sub.stderr);
      assert.equal(sub.stdout.trim(), 'over tls');
    } finally {
      await tb.close();
    }
  });

  test('a client that does not trust the server certificate is not connected', async (t) => {
    if (!have(t, openssl)) return;
    const tb = await tlsBroker();
    try {
      await assert.rejects(connectMqtt(tb.tlsUrl, { connectTimeout: 2000 }));
    } finally {
      await tb.close();
    }
  });

  test('requireCertificate: a client without a certificate is refused, one with a certificate from the CA is served', async (t) => {
    if (!have(t, openssl)) return;
    const tb = await tlsBroker({ caFile: pki.ca, requireCertificate: true });
    try {
      assert.equal(await kept(tb.port), false, 'no certificate');
      assert.equal(await kept(tb.port, { cert: pki.pem(pki.rogue.cert), key: pki.pem(pki.rogue.key) }), false, 'certificate from another CA');
      assert.equal(await kept(tb.port, { cert: pki.pem(pki.client.cert), key: pki.pem(pki.client.key) }), true, 'certificate from the CA');
      await assert.rejects(connectMqtt(tb.tlsUrl, { ca: pki.caPem, connectTimeout: 2000 }));
      const c = await connectMqtt(tb.tlsUrl, { ca: pki.caPem, cert: pki.pem(pki.client.cert), key: pki.pem(pki.client.key) });
      await endMqtt(c);
    } finally {
      await tb.close();
    }
  });

  test('mosquitto_pub with a client certificate (--cert, --key) on a listener that requires one', async (t) => {
    if (!have(t, openssl, mosquittoPub)) return;
    const tb = await tlsBroker({ caFile: pki.ca, requireCertificate: true });
    try {
      const common = ['-h', 'localhost', '-p', String(tb.port), '--cafile', pki.ca, '-t', 'tls/cert', '-m', 'x', '-q', '1'];
      const without = await run(mosquittoPub.path!, common);
      assert.notEqual(without.code, 0, 'refused without a certificate');
      const withCert = await run(mosquittoPub.path!, [...common, '--cert', pki.client.cert, '--key', pki.client.key]);
      assert.equal(withCert.code, 0, withCert.stderr);
    } finally {
      await tb.close();
    }
  });

  test('optional client certificates: none is fine, an untrusted one is refused', async (t) => {
    if (!have(t, openssl)) return;
    const tb = await tlsBroker({ caFile: pki.ca });
    try {
      assert.equal(await kept(tb.port), true, 'no certificate');
      assert.equal(await kept(tb.port, { cert: pki.pem(pki.client.cert), key: pki.pem(pki.client.key) }), true, 'trusted');
      assert.equal(await kept(tb.port, { cert: pki.pem(pki.rogue.cert), key: pki.pem(pki.rogue.key) }), false, 'untrusted');
    } finally {
      await tb.close();
    }
  });

  test('the listener gives the broker the certificate subject, and its CN or first SAN as user name', async (t) => {
    if (!have(t, openssl)) return;
    const clientCert = { cert: pki.pem(pki.client.cert), key: pki.pem(pki.client.key) };
    const cases: Array<[Partial<ListenerOptions>, PeerIdentity | undefined]> = [
      [{}, undefined],
      [{ caFile: pki.ca }, { certificateSubject: 'O=Starling Tests, CN=device-42' }],
      [{ caFile: pki.ca, certificateAsUsername: 'cn' }, { certificateSubject: 'O=Starling Tests, CN=device-42', certificateUsername: 'device-42' }],
      [{ caFile: pki.ca, certificateAsUsername: 'san' }, { certificateSubject: 'O=Starling Tests, CN=device-42', certificateUsername: 'device-42.example' }],
    ];
    for (const [options, expected] of cases) {
      const seen: Array<PeerIdentity | undefined> = [];
      const listener = createListener(
        { type: 'tls', port: 0, certFile: pki.server.cert, keyFile: pki.server.key, ...options },
        host((stream, _info, _remote, peer) => {
          seen.push(peer);
          stream.destroy();
        }),
      );
      await listener.open();
      try {
        const socket = await handshake(listener.info.port, clientCert);
        socket.on('error', () => {});
        await once(socket, 'close');
        assert.deepEqual(seen, [expected], JSON.stringify(options));
      } finally {
        await listener.close();
      }
    }
  });

  test('certificateAsUsername refuses options that could not give a certificate', (t) => {
    if (!have(t, openssl)) return;
    const base = { type: 'tls' as const, port: 0, certFile: pki.server.cert, keyFile: pki.server.key };
    assert.throws(() => createListener({ ...base, certificateAsUsername: 'cn' }, host(() => {})), /caFile/);
    assert.throws(() => createListener({ ...base, caFile: pki.ca, certificateAsUsername: 'cn', requireCertificate: false }, host(() => {})), /requireCertificate/);
    assert.throws(() => createListener({ type: 'tls', port: 0 }, host(() => {})), /certFile and keyFile/);
    assert.throws(() => createListener({ type: 'tcp', certFile: pki.server.cert }, host(() => {})), /certFile is for tls, wss/);
  });

  test(
    "certificateAsUsername 'cn': the authenticate hook sees the certificate's CN as the user name",
    async (t) => {
      if (!have(t, openssl)) return;
      const requests: AuthenticateRequest[] = [];
      const tb = await tlsBroker(
        { caFile: pki.ca, certificateAsUsername: 'cn' },
        { hooks: [{ authenticate: (req) => (requests.push(req), { ok: true }) }] },
      );
      try {
        const c = await connectMqtt(tb.tlsUrl, { ca: pki.caPem, cert: pki.pem(pki.client.cert), key: pki.pem(pki.client.key), username: 'claimed' });
        await endMqtt(c);
        assert.equal(requests.length, 1);
        assert.equal(requests[0]!.username, 'device-42');
      } finally {
        await tb.close();
      }
    },
  );

  test('minVersion: TLS 1.1 is refused by default; a listener set to TLS 1.3 refuses TLS 1.2', async (t) => {
    if (!have(t, openssl)) return;
    // Old protocols need OpenSSL's security level 0 on both sides to be offered at all.
    const old: tls.ConnectionOptions = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' };
    const byDefault = await tlsBroker({ ciphers: 'DEFAULT@SECLEVEL=0' });
    const allowing = await tlsBroker({ minVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    const strict = await tlsBroker({ minVersion: 'TLSv1.3' });
    try {
      await assert.rejects(handshake(byDefault.port, old), 'TLS 1.1 refused by default');
      // The control: the same client does get TLS 1.1 where the listener allows it, so the
      // refusal above is the listener's doing.
      const s = await handshake(allowing.port, old);
      assert.equal(s.getProtocol(), 'TLSv1.1');
      s.destroy();
      await assert.rejects(handshake(strict.port, { maxVersion: 'TLSv1.2' }), 'TLS 1.2 refused by a 1.3 listener');
      const s13 = await handshake(strict.port);
      assert.equal(s13.getProtocol(), 'TLSv1.3');
      s13.destroy();
    } finally {
      await Promise.all([byDefault.close(), allowing.close(), strict.close()]);
    }
  });

  test('a connection that does not complete the TLS handshake within handshakeTimeout is closed', async (t) => {
    if (!have(t, openssl)) return;
    const tb = await tlsBroker({ handshakeTimeout: 300 });
    try {
      const started = Date.now();
      const silent = net.connect(tb.port, '127.0.0.1');
      silent.on('error', () => {});
      await once(silent, 'close');
      assert.ok(Date.now() - started < 2000, `closed after ${Date.now() - started} ms`);
    } finally {
      await tb.close();
    }
  });

  test('a TLS handshake closed for taking longer than handshakeTimeout is counted; a completed connection outlives it', async (t) => {
    if (!have(t, openssl)) return;
    const tb = await tlsBroker({ handshakeTimeout: 300 });
    try {
      const guard = guardFor(tb.broker);
      const client = await connectMqtt(tb.tlsUrl, { ca: pki.caPem, protocolVersion: 4 });
      const silent = net.connect(tb.port, '127.0.0.1');
      silent.on('error', () => {});
      await once(silent, 'close');
      await until('the timeout counted', () => guard.refused.handshake_timeout === 1);
      // The connection made before is still served, well past its own handshakeTimeout.
      assert.ok(client.connected);
      await subscribe(client, 'deadline/#');
      const got = nextMessage(client);
      await client.publishAsync('deadline/x', 'still here', { qos: 1 });
      assert.equal((await got).payload.toString(), 'still here');
      await endMqtt(client);
    } finally {
      await tb.close();
    }
  });

  test('closing the broker does not wait past handshakeTimeout for a connection stalled in its TLS handshake', async (t) => {
    if (!have(t, openssl)) return;
    const tb = await tlsBroker({ handshakeTimeout: 300 });
    const silent = net.connect(tb.port, '127.0.0.1');
    silent.on('error', () => {});
    await once(silent, 'connect');
    const started = Date.now();
    await tb.close();
    assert.ok(Date.now() - started < 3000, `close took ${Date.now() - started} ms`);
    silent.destroy();
  });

  describe('reloadCertificates', () => {
    let tb: TestBroker;
    let listener: Listener;
    let certFile: string;
    let keyFile: string;

    before(async () => {
      if (openssl.path === undefined) return;
      certFile = `${pki.dir}/live.crt`;
      keyFile = `${pki.dir}/live.key`;
      copyFileSync(pki.server.cert, certFile);
      copyFileSync(pki.server.key, keyFile);
      tb = await startBroker();
      listener = createListener({ type: 'tls', port: 0, certFile, keyFile }, tb.broker);
      await listener.open();
    });

    after(async () => {
      await listener?.close();
      await tb?.close();
    });

    const servedCN = async (): Promise<string> => {
      const s = await handshake(listener.info.port);
      const cn = s.getPeerCertificate().subject.CN;
      s.destroy();
      return String(cn);
    };

    test('a new certificate is served to new connections; an existing connection keeps working', async (t) => {
      if (!have(t, openssl)) return;
      const url = `mqtts://127.0.0.1:${listener.info.port}`;
      const old = await connectMqtt(url, { ca: pki.caPem, protocolVersion: 5 });
      await subscribe(old, 'reload/#');
      assert.equal(await servedCN(), 'localhost');

      copyFileSync(pki.server2.cert, certFile);
      copyFileSync(pki.server2.key, keyFile);
      await listener.reloadCertificates!();

      assert.equal(await servedCN(), 'starling-reloaded');
      const fresh = await connectMqtt(url, { ca: pki.caPem, protocolVersion: 5 });
      const got = nextMessage(old);
      await fresh.publishAsync('reload/x', 'after reload', { qos: 1 });
      assert.equal((await got).payload.toString(), 'after reload');
      await endMqtt(old, fresh);
    });

    test('a reload with a broken key is refused and the served certificate stays', async (t) => {
      if (!have(t, openssl)) return;
      const before = await servedCN();
      writeFileSync(keyFile, 'not a key');
      await assert.rejects(listener.reloadCertificates!());
      copyFileSync(pki.server.key, keyFile); // a key that does not match the certificate
      await assert.rejects(listener.reloadCertificates!());
      assert.equal(await servedCN(), before);
    });
  });
});
