// A bounded datagram fuzz run against the live gateway: random datagrams and mutations of
// every valid fixture (CONNECT, will dialogue, PUBLISH, SUBSCRIBE, encapsulations, ...) from
// several client addresses, some of them connected first so the mutations reach the
// handlers of a connected client. No handler may throw (the listener would log it), and a
// new client is served afterwards.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { createBroker } from '../../../src/index.js';
import { gatewayStats } from '../../../src/gateway/mqtt-sn/stats.js';
import { prng, seedFromEnv } from '../../codec/helpers.js';
import { until } from '../../helpers/wait.js';
import { VALID } from './fixtures.js';
import { SnClient } from './sn-client.js';

const SEED = seedFromEnv('FUZZ_SEED', 0x6a7e);
const CASES = seedFromEnv('FUZZ_CASES', 3000);

type Rand = () => number;
const int = (rand: Rand, min: number, max: number): number => min + Math.floor(rand() * (max - min + 1));

function fuzzed(rand: Rand): Buffer {
  if (rand() < 0.3) {
    const n = int(rand, 0, 40);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
    if (n >= 2 && rand() < 0.5) {
      b[0] = n;
      b[1] = int(rand, 0, 0x1d);
    }
    return b;
  }
  const base = Buffer.from(VALID[int(rand, 0, VALID.length - 1)]!.bytes);
  if (rand() < 0.4) return base; // valid, out of any order
  const i = int(rand, 0, Math.max(0, base.length - 1));
  switch (int(rand, 0, 3)) {
    case 0:
      if (base.length) base[i]! ^= 1 << int(rand, 0, 7);
      return base;
    case 1:
      return base.subarray(0, i);
    case 2:
      if (base.length > 2) base[2] = int(rand, 0, 255);
      return base;
    default:
      if (base.length) base[i] = int(rand, 0, 255);
      return base;
  }
}

test(`MQTT-SN gateway fuzz: ${CASES} datagrams from 8 addresses, no handler throws, and a new client is served after (seed ${SEED})`, async () => {
  const errors: string[] = [];
  const broker = createBroker({
    logLevel: 'error',
    logDestination: { write: (line: string) => errors.push(line) },
    listeners: [
      { port: 0, host: '127.0.0.1' },
      { type: 'mqtt-sn', port: 0, host: '127.0.0.1', mqttSn: { maxDatagramRate: 0, retryInterval: 100, maxRetries: 1, predefinedTopics: '1=fz/pre' } },
    ],
  });
  const [tcp, sn] = await broker.listen();
  const clients: SnClient[] = [];
  try {
    const rand = prng(SEED);
    for (let i = 0; i < 8; i++) {
      const c = await SnClient.open(sn!.port);
      if (i % 2 === 0) {
        c.send({ type: 'connect', will: false, cleanSession: true, duration: 30, clientId: `fz-${i}` });
        await c.expect('connack');
        c.send({ type: 'subscribe', dup: false, qos: 2, msgId: 1, topic: { type: 'normal', name: '#' } });
      }
      clients.push(c);
    }
    for (let i = 0; i < CASES; i++) {
      clients[i % clients.length]!.sendRaw(fuzzed(rand));
      if (i % 64 === 63) await new Promise((r) => setImmediate(r));
    }
    const stats = gatewayStats(broker)[0]!;
    await until('the gateway read the datagrams', async () => {
      const before = stats.datagramsReceived;
      await new Promise((r) => setTimeout(r, 100));
      return stats.datagramsReceived === before;
    });
    assert.ok(stats.dropped.malformed > 0, 'some datagrams were malformed');
    assert.deepEqual(errors, [], 'no handler threw');

    // A new client is served.
    const fresh = await SnClient.connect(sn!.port, 'after-fuzz');
    fresh.send({ type: 'subscribe', dup: false, qos: 0, msgId: 1, topic: { type: 'short', name: 'ok' } });
    assert.equal((await fresh.expect('suback')).returnCode, 0);
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${tcp!.port}`, { reconnectPeriod: 0 });
    await pub.publishAsync('ok', 'served');
    assert.equal((await fresh.expect('publish')).payload.toString(), 'served');
    await pub.endAsync();
    await fresh.close();
  } finally {
    for (const c of clients) await c.close();
    await broker.close();
  }
});
