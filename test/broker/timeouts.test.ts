// Timers the broker keeps for connections and sessions that are not actively talking.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, delay, startBroker } from '../helpers/broker.js';

test('a session whose expiry interval is longer than one timer can hold is kept, not ended at once', async () => {
  const tb = await startBroker();
  try {
    // 30 days in ms is above setTimeout's 2^31-1 limit; a naive timer would fire after 1 ms.
    const c = await RawClient.connect(tb.port, { clientId: 'long-expiry', clean: true, properties: { sessionExpiryInterval: 30 * 86_400 } });
    c.send({ type: 'disconnect' });
    await c.closedByServer();
    await delay(300);
    assert.ok(tb.broker.sessions.has('long-expiry'), 'the session still exists');
    const again = await RawClient.open(tb.port, 5);
    again.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId: 'long-expiry' });
    assert.equal((await again.expect('connack')).sessionPresent, true);
    again.destroy();
  } finally {
    await tb.close();
  }
});

test('a connection whose enhanced authentication is never answered is closed after the connect timeout', async () => {
  const tb = await startBroker({
    limits: { connectTimeout: 300 },
    hooks: [{ enhancedAuth: (req) => (req.method === 'toy' ? { done: false, data: Buffer.from('challenge') } : undefined) }],
  });
  try {
    const c = await RawClient.open(tb.port, 5);
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'silent', properties: { authenticationMethod: 'toy' } });
    const challenge = await c.expect('auth');
    assert.equal(challenge.reasonCode, 0x18);
    // The client never answers the challenge.
    await c.closedByServer(2000);
  } finally {
    await tb.close();
  }
});

test('an authenticate hook that throws refuses the connection with CONNACK 0x83, and the broker goes on', async () => {
  let calls = 0;
  const tb = await startBroker({
    hooks: [{ authenticate: () => { if (calls++ === 0) throw new Error('hook bug'); return { ok: true }; } }],
  });
  try {
    const c = await RawClient.open(tb.port, 5);
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'first' });
    assert.equal((await c.expect('connack')).reasonCode, 0x83);
    await c.closedByServer();
    const ok = await RawClient.connect(tb.port, { clientId: 'second' });
    ok.destroy();
  } finally {
    await tb.close();
  }
});
