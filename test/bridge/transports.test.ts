// The ways to a remote: TLS with a CA and a client certificate, WebSocket, failover from a
// dead address, and round robin over live ones.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBroker } from '../helpers/broker.js';
import { freePort, have } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';
import { makePki, openssl } from '../transport/pki.js';
import { bridgedStarling, flowing, linkUp, recorder } from './helpers.js';
import { startMosquitto } from './mosquitto.js';

test('bridge 8: TLS with a client certificate, secure WebSocket, and failover from a dead address to a WebSocket one, against Mosquitto', async (t) => {
  if (!have(t, openssl)) return;
  const pki = makePki();
  t.after(() => pki.remove());
  const [tlsPort, wsPort, wssPort, deadPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const mosq = await startMosquitto(t, {
    extra: [
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${pki.ca}`,
      `certfile ${pki.server.cert}`,
      `keyfile ${pki.server.key}`,
      'require_certificate true',
      `listener ${wsPort} 127.0.0.1`,
      'protocol websockets',
      `listener ${wssPort} 127.0.0.1`,
      'protocol websockets',
      `certfile ${pki.server.cert}`,
      `keyfile ${pki.server.key}`,
    ].join('\n'),
  });
  if (mosq === undefined) return;
  const { tb, bridges } = await bridgedStarling(
    t,
    `bridges:
  - name: secure
    addresses: mqtts://127.0.0.1:${tlsPort}
    clientId: edge-tls
    tls:
      ca: ${pki.ca}
      cert: ${pki.client.cert}
      key: ${pki.client.key}
    topics: |
      tls/# out 1
  - name: web
    addresses: mqtt://127.0.0.1:${deadPort}, ws://127.0.0.1:${wsPort}/mqtt
    clientId: edge-ws
    reconnectDelay: 50
    maxReconnectDelay: 200
    topics: |
      ws/# both 1
  - name: websecure
    addresses: wss://127.0.0.1:${wssPort}/mqtt
    clientId: edge-wss
    tls:
      ca: ${pki.ca}
    topics: |
      wss/# out 1
`,
  );
  const [secure, web, websecure] = bridges.bridges;
  await linkUp(secure!);
  await linkUp(web!);
  await linkUp(websecure!);
  assert.equal(web!.status().address, `ws://127.0.0.1:${wsPort}/mqtt`, 'on the second address');
  assert.ok(web!.status().connectFailures >= 1, 'after the first failed');
  const here = await recorder(t, tb.url, {}, { 'ws/#': { qos: 1 } });
  const there = await recorder(t, mosq.url, {}, { '#': { qos: 1 } });
  await flowing(here.client, 'tls/a', there, 'tls/a');
  await flowing(here.client, 'wss/a', there, 'wss/a');
  await flowing(here.client, 'ws/out', there, 'ws/out');
  await flowing(there.client, 'ws/in', here, 'ws/in');
});

test('bridge 8: a remote whose certificate the CA does not sign is not connected to', async (t) => {
  if (!have(t, openssl)) return;
  const pki = makePki();
  t.after(() => pki.remove());
  const tlsPort = await freePort();
  const mosq = await startMosquitto(t, { extra: [`listener ${tlsPort} 127.0.0.1`, `certfile ${pki.rogue.cert}`, `keyfile ${pki.rogue.key}`].join('\n') });
  if (mosq === undefined) return;
  const { bridge } = await bridgedStarling(
    t,
    `bridges:
  - name: wary
    addresses: mqtts://127.0.0.1:${tlsPort}
    reconnectDelay: 50
    maxReconnectDelay: 100
    tls:
      ca: ${pki.ca}
    topics: |
      # out 0
`,
  );
  await until('attempts refused', () => bridge.status().connectFailures >= 2);
  assert.notEqual(bridge.status().state, 'connected');
  assert.match(bridge.status().lastError ?? '', /certificate|self.signed|verify/i);
});

for (const roundRobin of [true, false]) {
  test(`bridge 8: after losing the link, roundRobin ${roundRobin} ${roundRobin ? 'goes on to the next address' : 'starts again from the first'}`, async (t) => {
    const a = await startBroker();
    const b = await startBroker();
    t.after(async () => {
      await a.close();
      await b.close();
    });
    const { bridge } = await bridgedStarling(
      t,
      `bridges:
  - name: pair
    addresses: mqtt://127.0.0.1:${a.port} mqtt://127.0.0.1:${b.port}
    clientId: edge-rr
    roundRobin: ${roundRobin}
    reconnectDelay: 20
    maxReconnectDelay: 50
    topics: |
      # out 0
`,
    );
    await linkUp(bridge);
    assert.equal(bridge.status().address, a.url);
    // An operator on the first remote ends the bridge's connection; the remote stays up.
    assert.ok(a.broker.views.disconnect('edge-rr', 0x98));
    await until('connected again', () => bridge.status().reconnects === 1 && bridge.status().state === 'connected');
    assert.equal(bridge.status().address, roundRobin ? b.url : a.url);
    assert.equal(roundRobin ? b.broker.clients.has('edge-rr') : a.broker.clients.has('edge-rr'), true);
  });
}
