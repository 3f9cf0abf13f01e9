// Keep alive (3.1.1 section 3.1.2.10, 5.0 section 3.1.2.10, PINGREQ 3.12): a client silent
// for one and a half times its keep alive is disconnected; any packet, PINGREQ included,
// keeps it alive; 0 switches the mechanism off; the 5.0 Server Keep Alive replaces the
// client's value. Every test uses a keep alive of 1 s.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { RawClient, delay, startBroker } from '../helpers/broker.js';

/** Waits for the server to close `c` and returns how long after `since` that was. */
async function closedAfter(c: RawClient, since: number, ms = 3200): Promise<number> {
  await c.closedByServer(ms);
  return Date.now() - since;
}

// Each test waits on the clock for seconds; they run side by side, each with its own broker.
describe('keep alive', { concurrency: true }, () => {
  test('3.1.1: a client silent for 1.5 times its keep alive is disconnected [MQTT-3.1.2-24]', async () => {
    const b = await startBroker();
    const start = Date.now();
    const c = await RawClient.connect(b.port, { protocolVersion: 4, clientId: 'ka-silent-4', keepalive: 1 });
    try {
      const elapsed = await closedAfter(c, start);
      assert.ok(elapsed >= 1400, `closed after ${elapsed} ms, before 1.5 x keep alive`);
      assert.deepEqual(c.packets, [], '3.1.1 has no DISCONNECT from the server');
    } finally {
      c.destroy();
      await b.close();
    }
  });

  test('5.0: a client silent for 1.5 times its keep alive gets DISCONNECT 0x8D, then nothing more, and is closed [MQTT-3.1.2-22] [MQTT-3.14.4-1] [MQTT-3.14.4-2]', async () => {
    const b = await startBroker();
    const start = Date.now();
    const c = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'ka-silent-5', keepalive: 1 });
    try {
      const d = await c.expect('disconnect', 3200);
      const elapsed = Date.now() - start;
      assert.equal(d.reasonCode, 0x8d);
      assert.ok(elapsed >= 1400, `DISCONNECT after ${elapsed} ms, before 1.5 x keep alive`);
      await c.closedByServer();
      assert.deepEqual(c.packets, [], 'nothing after the DISCONNECT');
    } finally {
      c.destroy();
      await b.close();
    }
  });

  for (const version of [4, 5] as const) {
    test(`${version === 5 ? '5.0' : '3.1.1'}: PINGREQ is answered with PINGRESP and keeps the connection alive past 1.5 times the keep alive [MQTT-3.12.4-1]`, async () => {
      const b = await startBroker();
      const c = await RawClient.connect(b.port, { protocolVersion: version, clientId: `ka-ping-${version}`, keepalive: 1 });
      try {
        for (let i = 0; i < 5; i++) {
          await delay(500);
          c.send({ type: 'pingreq' });
          await c.expect('pingresp', 1000);
        }
        // 2.5 s since the CONNECT, more than 1.5 x 1 s: still open because of the pings.
        assert.equal(c.closed, false);
        assert.ok(b.broker.clients.has(`ka-ping-${version}`));
      } finally {
        c.destroy();
        await b.close();
      }
    });
  }

  test('any control packet, not only PINGREQ, counts as activity for keep alive [MQTT-3.1.2-22]', async () => {
    const b = await startBroker();
    const c = await RawClient.connect(b.port, { protocolVersion: 5, clientId: 'ka-publish', keepalive: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        await delay(500);
        c.send({ type: 'publish', topic: 'ka/activity', payload: Buffer.from(String(i)), qos: 0, retain: false, dup: false });
      }
      await c.silent(100);
      assert.equal(c.closed, false);
      // Positive control: the connection still answers, so silent() would have seen a DISCONNECT.
      c.send({ type: 'pingreq' });
      await c.expect('pingresp');
    } finally {
      c.destroy();
      await b.close();
    }
  });

  test('MQTT.js with keep alive 1 stays connected by its own pings for 3 s [MQTT-3.12.4-1]', async () => {
    const b = await startBroker();
    const client = mqtt.connect(b.url, { protocolVersion: 5, clientId: 'ka-mqttjs', keepalive: 1, reconnectPeriod: 0 });
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      let pingresps = 0;
      let closed = false;
      client.on('packetreceive', (p) => {
        if (p.cmd === 'pingresp') pingresps++;
      });
      client.on('close', () => (closed = true));
      await delay(3000);
      assert.equal(closed, false);
      assert.ok(pingresps >= 1, `MQTT.js got ${pingresps} PINGRESP`);
    } finally {
      client.end(true);
      await b.close();
    }
  });

  test('keep alive 0 switches the mechanism off: a silent client is still connected after 2 s', async () => {
    const b = await startBroker();
    const c = await RawClient.connect(b.port, { protocolVersion: 4, clientId: 'ka-zero', keepalive: 0 });
    try {
      await c.silent(2200);
      assert.equal(c.closed, false);
      c.send({ type: 'pingreq' });
      await c.expect('pingresp');
    } finally {
      c.destroy();
      await b.close();
    }
  });

  test('5.0: the broker enforces its Server Keep Alive when it replaces a longer client keep alive', async () => {
    const b = await startBroker({ limits: { maxKeepAlive: 1 } });
    const start = Date.now();
    const c = await RawClient.open(b.port, 5);
    try {
      c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, clientId: 'ka-server' });
      const ack = await c.expect('connack');
      assert.equal(ack.properties?.serverKeepAlive, 1);
      const d = await c.expect('disconnect', 3200);
      assert.equal(d.reasonCode, 0x8d);
      assert.ok(Date.now() - start >= 1400);
      await c.closedByServer();
    } finally {
      c.destroy();
      await b.close();
    }
  });
});
