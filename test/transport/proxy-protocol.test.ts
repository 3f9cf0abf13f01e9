// PROXY protocol v1 and v2 in front of tcp, tls and ws listeners: headers built by hand, the
// client's real address reaching the authenticate hook, and connections without a valid
// header (missing, garbage, oversized, too slow) closed before the broker sees them.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import WebSocket, { createWebSocketStream } from 'ws';
import { encode } from '../../src/codec/index.js';
import type { AuthenticateRequest, ListenerOptions } from '../../src/index.js';
import { parseProxyHeader, ProxyProtocolError } from '../../src/transport/index.js';
import { delay, RawClient, startBroker, type TestBroker } from '../helpers/broker.js';
import { have } from '../helpers/tools.js';
import { StreamPeer } from './clients.js';
import { makePki, openssl, type Pki } from './pki.js';

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

function v1(line: string): Buffer {
  return Buffer.from(`${line}\r\n`, 'latin1');
}

/** A v2 header: command 0 LOCAL / 1 PROXY, family byte, address block (and TLVs). */
function v2(command: number, familyTransport: number, block: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(block.length);
  return Buffer.concat([SIG, Buffer.from([0x20 | command, familyTransport]), len, block]);
}

function port16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

const inet = (src: number[], srcPort: number): Buffer => Buffer.concat([Buffer.from(src), Buffer.from([10, 0, 0, 1]), port16(srcPort), port16(1883)]);
const inet6 = (src: string, srcPort: number): Buffer => Buffer.concat([Buffer.from(src, 'hex'), Buffer.alloc(16), port16(srcPort), port16(1883)]);

describe('PROXY header parsing', () => {
  const cases: Array<[string, Buffer, string | undefined | 'incomplete' | RegExp]> = [
    ['v1 TCP4', v1('PROXY TCP4 203.0.113.7 10.0.0.1 41000 1883'), '203.0.113.7:41000'],
    ['v1 TCP6', v1('PROXY TCP6 2001:db8::7 2001:db8::1 41000 1883'), '2001:db8::7:41000'],
    ['v1 UNKNOWN keeps the connection address', v1('PROXY UNKNOWN ignored stuff'), undefined],
    ['v1 incomplete', Buffer.from('PROXY TCP4 203.0.113.7 10.0', 'latin1'), 'incomplete'],
    ['v1 prefix only', Buffer.from('PRO', 'latin1'), 'incomplete'],
    ['v1 without CRLF within 107 bytes', Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`, 'latin1'), /107 bytes/],
    ['v1 wrong family', v1('PROXY TCP4 2001:db8::7 10.0.0.1 41000 1883'), /not TCP4/],
    ['v1 port out of range', v1('PROXY TCP4 203.0.113.7 10.0.0.1 70000 1883'), /port/],
    ['v1 missing field', v1('PROXY TCP4 203.0.113.7 10.0.0.1 41000'), /6 fields/],
    ['v1 unknown protocol', v1('PROXY UDP4 203.0.113.7 10.0.0.1 41000 1883'), /UDP4/],
    ['v2 AF_INET', v2(1, 0x11, inet([198, 51, 100, 9], 5555)), '198.51.100.9:5555'],
    ['v2 AF_INET6', v2(1, 0x21, inet6('20010db8000000000000000000000007', 4242)), '2001:db8::7:4242'],
    ['v2 AF_INET6 v4-mapped', v2(1, 0x21, inet6('00000000000000000000ffffc6336409', 4242)), '::ffff:198.51.100.9:4242'],
    ['v2 AF_INET with a TLV after the addresses', v2(1, 0x11, Buffer.concat([inet([192, 0, 2, 1], 1), Buffer.from([0x04, 0, 3, 1, 2, 3])])), '192.0.2.1:1'],
    ['v2 LOCAL keeps the connection address', v2(0, 0x00, Buffer.alloc(0)), undefined],
    ['v2 AF_UNSPEC keeps the connection address', v2(1, 0x00, Buffer.alloc(0)), undefined],
    ['v2 signature only', SIG, 'incomplete'],
    ['v2 block incomplete', v2(1, 0x11, inet([198, 51, 100, 9], 5555)).subarray(0, 20), 'incomplete'],
    ['v2 version 1 byte', Buffer.concat([SIG, Buffer.from([0x11, 0x11, 0, 12]), Buffer.alloc(12)]), /version/],
    ['v2 command 2', Buffer.concat([SIG, Buffer.from([0x22, 0x11, 0, 12]), Buffer.alloc(12)]), /command/],
    ['v2 AF_INET block too short', v2(1, 0x11, Buffer.alloc(8)), /too short/],
    ['v2 datagram transport', v2(1, 0x12, inet([198, 51, 100, 9], 5555)), /stream/],
    ['v2 over the size cap', Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0xff, 0xff])]), /exceeds/],
    ['MQTT CONNECT instead of a header', Buffer.from([0x10, 0x10, 0x00, 0x04]), /not a PROXY/],
    ['HTTP instead of a header', Buffer.from('GET / HTTP/1.1\r\n', 'latin1'), /not a PROXY/],
  ];
  for (const [name, bytes, expected] of cases) {
    test(name, () => {
      if (expected instanceof RegExp) {
        assert.throws(() => parseProxyHeader(bytes), (err: Error) => err instanceof ProxyProtocolError && expected.test(err.message));
        return;
      }
      const header = parseProxyHeader(bytes);
      if (expected === 'incomplete') {
        assert.equal(header, undefined);
        return;
      }
      assert.ok(header);
      assert.equal(header.length, bytes.length);
      const source = header.source;
      const text = source === undefined ? undefined : 'path' in source ? source.path : `${source.host}:${source.port}`;
      assert.equal(text, expected);
    });
  }

  test('bytes after the header are not part of it', () => {
    const header = v1('PROXY TCP4 203.0.113.7 10.0.0.1 41000 1883');
    assert.equal(parseProxyHeader(Buffer.concat([header, Buffer.from([0x10, 0x00])]))?.length, header.length);
  });
});

/** A broker whose authenticate hook accepts everyone and records what it saw. */
async function proxiedBroker(listener: ListenerOptions): Promise<TestBroker & { seen: AuthenticateRequest[] }> {
  const seen: AuthenticateRequest[] = [];
  const tb = await startBroker({ listeners: [{ port: 0, host: '127.0.0.1', proxyProtocol: true, ...listener }], hooks: [{ authenticate: (r) => (seen.push(r), { ok: true }) }] });
  return { ...tb, seen };
}

async function connectAfter(port: number, ...header: Buffer[]): Promise<RawClient> {
  const c = await RawClient.open(port);
  for (const part of header) {
    c.sendRaw(part);
    if (header.length > 1) await delay(5);
  }
  c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: `px-${Math.random().toString(36).slice(2, 8)}` });
  return c;
}

describe('tcp listener with proxyProtocol', () => {
  let tb: TestBroker & { seen: AuthenticateRequest[] };

  before(async () => {
    tb = await proxiedBroker({ type: 'tcp', handshakeTimeout: 300 });
  });

  after(() => tb.close());

  test('a v1 header: the client address it names is the remote address', async () => {
    const c = await connectAfter(tb.port, v1('PROXY TCP4 203.0.113.7 10.0.0.1 41000 1883'));
    assert.equal((await c.expect('connack')).reasonCode, 0);
    assert.equal(tb.seen.at(-1)!.remoteAddress, '203.0.113.7:41000');
    c.destroy();
  });

  test('a header and the CONNECT after it in one TCP segment: both are read', async () => {
    const c = await RawClient.open(tb.port);
    const connect = encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'same-segment' }, 5);
    c.sendRaw(Buffer.concat([v2(1, 0x11, inet([203, 0, 113, 8], 999)), connect]));
    assert.equal((await c.expect('connack')).reasonCode, 0);
    assert.equal(tb.seen.at(-1)!.remoteAddress, '203.0.113.8:999');
    c.destroy();
  });

  test('a v2 header (IPv6), sent a few bytes at a time: the address it names is the remote address', async () => {
    const header = v2(1, 0x21, inet6('20010db8000000000000000000000042', 50123));
    const c = await connectAfter(tb.port, header.subarray(0, 3), header.subarray(3, 14), header.subarray(14, 30), header.subarray(30));
    assert.equal((await c.expect('connack')).reasonCode, 0);
    assert.equal(tb.seen.at(-1)!.remoteAddress, '[2001:db8::42]:50123');
    c.destroy();
  });

  test('a v2 LOCAL header (a health check) keeps the connection own address', async () => {
    const c = await connectAfter(tb.port, v2(0, 0, Buffer.alloc(0)));
    assert.equal((await c.expect('connack')).reasonCode, 0);
    assert.match(tb.seen.at(-1)!.remoteAddress, /^127\.0\.0\.1:\d+$/);
    c.destroy();
  });

  test('a connection without a header is closed and never reaches the broker', async () => {
    const before = tb.seen.length;
    const accepted = tb.broker.stats.connectionsAccepted;
    const c = await connectAfter(tb.port);
    await c.closedByServer();
    assert.equal(c.packets.length, 0);
    assert.equal(tb.seen.length, before);
    assert.equal(tb.broker.stats.connectionsAccepted, accepted);
  });

  test('a garbage header is closed; so is an oversized v2 header', async () => {
    const accepted = tb.broker.stats.connectionsAccepted;
    const garbage = await RawClient.open(tb.port);
    garbage.sendRaw(Buffer.from('PROXY TCP4 not-an-address 10.0.0.1 1 2\r\n', 'latin1'));
    await garbage.closedByServer();
    const huge = await RawClient.open(tb.port);
    huge.sendRaw(Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0x40, 0x00])]));
    await huge.closedByServer();
    assert.equal(tb.broker.stats.connectionsAccepted, accepted);
  });

  test('a header that does not complete within handshakeTimeout is closed', async () => {
    const accepted = tb.broker.stats.connectionsAccepted;
    const slow = await RawClient.open(tb.port);
    slow.sendRaw(Buffer.from('PROXY TCP4 203.0.113.7', 'latin1'));
    await slow.closedByServer(2000);
    const silent = await RawClient.open(tb.port);
    await silent.closedByServer(2000);
    assert.equal(tb.broker.stats.connectionsAccepted, accepted);
  });
});

describe('tls and ws listeners with proxyProtocol', () => {
  let pki: Pki;

  before(() => {
    if (openssl.path !== undefined) pki = makePki();
  });

  after(() => pki?.remove());

  /** A TCP connection that sends `header`, ready to carry TLS or HTTP. */
  async function rawWithHeader(port: number, header: Buffer | undefined): Promise<net.Socket> {
    const raw = net.connect(port, '127.0.0.1');
    raw.on('error', () => {});
    await once(raw, 'connect');
    if (header !== undefined) raw.write(header);
    return raw;
  }

  test('tls: the header comes before the TLS handshake; its address reaches the authenticate hook', async (t) => {
    if (!have(t, openssl)) return;
    const tb = await proxiedBroker({ type: 'tls', certFile: pki.server.cert, keyFile: pki.server.key });
    try {
      const raw = await rawWithHeader(tb.port, v2(1, 0x11, inet([198, 51, 100, 20], 61000)));
      const secure = tls.connect({ socket: raw, ca: pki.caPem, servername: 'localhost' });
      await once(secure, 'secureConnect');
      const peer = new StreamPeer(secure);
      assert.equal((await peer.connect()).reasonCode, 0);
      assert.equal(tb.seen.at(-1)!.remoteAddress, '198.51.100.20:61000');
      secure.destroy();

      // Without a header the ClientHello is not a PROXY header: closed before any TLS.
      const bare = await rawWithHeader(tb.port, undefined);
      const refused = tls.connect({ socket: bare, ca: pki.caPem, servername: 'localhost' });
      const outcome = await new Promise<string>((resolve) => {
        refused.once('secureConnect', () => resolve('secure'));
        refused.once('error', () => resolve('error'));
        refused.once('close', () => resolve('closed'));
      });
      assert.notEqual(outcome, 'secure');
    } finally {
      await tb.close();
    }
  });

  /**
   * A transport for tls.connect over `raw` whose first write carries `header` too: the
   * ClientHello arrives in the same segment as the PROXY header, as from a real proxy.
   */
  function prepending(raw: net.Socket, header: Buffer): Duplex {
    let first = true;
    const d = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        raw.write(first ? Buffer.concat([header, chunk]) : chunk, cb);
        first = false;
      },
      destroy(err, cb) {
        raw.destroy();
        cb(err);
      },
    });
    raw.on('data', (chunk: Buffer) => d.push(chunk));
    raw.on('close', () => d.push(null));
    return d;
  }

  test('tls: a header and the ClientHello in one segment', async (t) => {
    if (!have(t, openssl)) return;
    const tb = await proxiedBroker({ type: 'tls', certFile: pki.server.cert, keyFile: pki.server.key });
    try {
      const raw = await rawWithHeader(tb.port, undefined);
      const secure = tls.connect({ socket: prepending(raw, v1('PROXY TCP4 198.51.100.21 10.0.0.1 61001 8883')), ca: pki.caPem, servername: 'localhost' });
      await once(secure, 'secureConnect');
      const peer = new StreamPeer(secure);
      assert.equal((await peer.connect()).reasonCode, 0);
      assert.equal(tb.seen.at(-1)!.remoteAddress, '198.51.100.21:61001');
      secure.destroy();
    } finally {
      await tb.close();
    }
  });

  test('ws: a header and the upgrade request in one segment', async () => {
    const tb = await proxiedBroker({ type: 'ws' });
    try {
      const raw = await rawWithHeader(tb.port, undefined);
      const response = new Promise<string>((resolve) => raw.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
      raw.write(
        Buffer.concat([
          v1('PROXY TCP4 192.0.2.5 10.0.0.1 5000 8083'),
          Buffer.from(
            'GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n',
            'latin1',
          ),
        ]),
      );
      const head = await response;
      assert.match(head, /^HTTP\/1\.1 101 /);
      assert.match(head, /Sec-WebSocket-Protocol: mqtt/i);
      raw.destroy();
    } finally {
      await tb.close();
    }
  });

  test('ws: the header comes before the HTTP upgrade; its address reaches the authenticate hook', async () => {
    const tb = await proxiedBroker({ type: 'ws' });
    try {
      const raw = await rawWithHeader(tb.port, v1('PROXY TCP6 2001:db8::99 2001:db8::1 40000 8083'));
      const ws = new WebSocket(`ws://127.0.0.1:${tb.port}/mqtt`, ['mqtt'], { createConnection: () => raw });
      ws.on('error', () => {});
      await once(ws, 'open');
      const peer = new StreamPeer(createWebSocketStream(ws));
      assert.equal((await peer.connect()).reasonCode, 0);
      assert.equal(tb.seen.at(-1)!.remoteAddress, '[2001:db8::99]:40000');
      ws.close();
    } finally {
      await tb.close();
    }
  });

  test('wss: PROXY header, TLS, then the WebSocket upgrade', async (t) => {
    if (!have(t, openssl)) return;
    const tb = await proxiedBroker({ type: 'wss', certFile: pki.server.cert, keyFile: pki.server.key });
    try {
      const raw = await rawWithHeader(tb.port, v1('PROXY TCP4 192.0.2.77 10.0.0.1 12345 8084'));
      const secure = tls.connect({ socket: raw, ca: pki.caPem, servername: 'localhost' });
      await once(secure, 'secureConnect');
      const ws = new WebSocket(`wss://127.0.0.1:${tb.port}/mqtt`, ['mqtt'], { createConnection: () => secure });
      ws.on('error', () => {});
      await once(ws, 'open');
      const peer = new StreamPeer(createWebSocketStream(ws));
      assert.equal((await peer.connect()).reasonCode, 0);
      assert.equal(tb.seen.at(-1)!.remoteAddress, '192.0.2.77:12345');
      ws.close();
    } finally {
      await tb.close();
    }
  });
});

describe('anonymous clients behind a proxy on a loopback listener', () => {
  /** The CONNACK reason code an anonymous 5.0 client gets after `header`. */
  async function anonymousAfter(port: number, header: Buffer): Promise<number> {
    const c = await connectAfter(port, header);
    try {
      return (await c.expect('connack')).reasonCode;
    } finally {
      c.destroy();
    }
  }

  test('hardening 7: a PROXY header naming a remote client is not a local client: no anonymous session by default', async () => {
    const tb = await startBroker({ listeners: [{ type: 'tcp', port: 0, host: '127.0.0.1', proxyProtocol: true }] });
    try {
      assert.equal(tb.broker.addresses[0]!.allowAnonymous, true, 'the listener itself is on loopback');
      assert.equal(await anonymousAfter(tb.port, v1('PROXY TCP4 203.0.113.5 127.0.0.1 5000 1883')), 0x87);
      assert.equal(await anonymousAfter(tb.port, v2(1, 0x21, inet6('20010db8000000000000000000000005', 5000))), 0x87);
      // The client as the header names it decides, not the proxy's own loopback address.
      assert.equal(await anonymousAfter(tb.port, v1('PROXY TCP4 127.0.0.1 127.0.0.1 5001 1883')), 0);
      assert.equal(await anonymousAfter(tb.port, v1('PROXY TCP6 ::1 ::1 5002 1883')), 0);
      // LOCAL (the proxy's health check) keeps the connection's own, loopback, address.
      assert.equal(await anonymousAfter(tb.port, v2(0, 0, Buffer.alloc(0))), 0);
    } finally {
      await tb.close();
    }
  });

  test('hardening 7: an authenticate hook sees the connection\'s anonymous policy in its listener', async () => {
    const seen: AuthenticateRequest[] = [];
    const hook = { authenticate: (r: AuthenticateRequest) => (seen.push(r), r.username !== undefined || r.listener.allowAnonymous ? { ok: true as const } : { ok: false as const, reasonCode: 0x87 }) };
    const tb = await startBroker({ listeners: [{ type: 'tcp', port: 0, host: '127.0.0.1', proxyProtocol: true }], hooks: [hook] });
    try {
      assert.equal(await anonymousAfter(tb.port, v1('PROXY TCP4 203.0.113.5 127.0.0.1 5000 1883')), 0x87);
      assert.equal(seen.at(-1)!.listener.allowAnonymous, false);
      assert.equal(seen.at(-1)!.listener.name, tb.broker.addresses[0]!.name);
      assert.equal(await anonymousAfter(tb.port, v1('PROXY TCP4 127.0.0.1 127.0.0.1 5001 1883')), 0);
      assert.equal(seen.at(-1)!.listener.allowAnonymous, true);
    } finally {
      await tb.close();
    }
  });

  test('hardening 7: allowAnonymous set explicitly holds for every client, wherever its header places it', async () => {
    const open = await startBroker({ listeners: [{ type: 'tcp', port: 0, host: '127.0.0.1', proxyProtocol: true, allowAnonymous: true }] });
    const closed = await startBroker({ listeners: [{ type: 'tcp', port: 0, host: '127.0.0.1', proxyProtocol: true, allowAnonymous: false }] });
    try {
      assert.equal(await anonymousAfter(open.port, v1('PROXY TCP4 203.0.113.5 127.0.0.1 5000 1883')), 0);
      assert.equal(await anonymousAfter(closed.port, v1('PROXY TCP4 127.0.0.1 127.0.0.1 5000 1883')), 0x87);
    } finally {
      await open.close();
      await closed.close();
    }
  });

  test('hardening 7: tls and ws listeners with proxyProtocol follow the header too', async (t) => {
    const ws = await startBroker({ listeners: [{ type: 'ws', port: 0, host: '127.0.0.1', proxyProtocol: true }] });
    try {
      for (const [header, expected] of [
        [v1('PROXY TCP4 198.51.100.3 127.0.0.1 4000 8083'), 0x87],
        [v1('PROXY TCP4 127.0.0.1 127.0.0.1 4001 8083'), 0],
      ] as const) {
        const raw = net.connect(ws.port, '127.0.0.1');
        raw.on('error', () => {});
        await once(raw, 'connect');
        raw.write(header);
        const sock = new WebSocket(`ws://127.0.0.1:${ws.port}/mqtt`, ['mqtt'], { createConnection: () => raw });
        sock.on('error', () => {});
        await once(sock, 'open');
        const peer = new StreamPeer(createWebSocketStream(sock));
        assert.equal((await peer.connect()).reasonCode, expected);
        sock.terminate();
      }
    } finally {
      await ws.close();
    }
    if (!have(t, openssl)) return;
    const pki = makePki();
    const tb = await startBroker({ listeners: [{ type: 'tls', port: 0, host: '127.0.0.1', proxyProtocol: true, certFile: pki.server.cert, keyFile: pki.server.key }] });
    try {
      const raw = net.connect(tb.port, '127.0.0.1');
      raw.on('error', () => {});
      await once(raw, 'connect');
      raw.write(v1('PROXY TCP4 198.51.100.4 127.0.0.1 4002 8883'));
      const secure = tls.connect({ socket: raw, ca: pki.caPem, servername: 'localhost' });
      await once(secure, 'secureConnect');
      assert.equal((await new StreamPeer(secure).connect()).reasonCode, 0x87);
      secure.destroy();
    } finally {
      await tb.close();
      pki.remove();
    }
  });
});
