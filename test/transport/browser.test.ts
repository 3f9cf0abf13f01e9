// MQTT over WebSocket from a real browser: Debian's Chromium, driven headless by
// playwright-core, loads MQTT.js's browser bundle from a page served on loopback and talks
// to a Starling ws listener with the browser's own WebSocket (section 6 of MQTT 5.0 and
// 3.1.1: binary frames, subprotocol "mqtt"). A Node MQTT.js client on TCP shares the broker.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { test } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { startBroker } from '../helpers/broker.js';
import { have, type Tool } from '../helpers/tools.js';
import { connectMqtt, endMqtt, nextMessage, subscribe } from './clients.js';

const CHROMIUM = '/usr/bin/chromium';
const browser: Tool = { name: 'chromium', path: existsSync(CHROMIUM) ? CHROMIUM : undefined, hint: 'apt-get install chromium' };

/** What the page's script defines (see PAGE), as the test calls it in the page. */
interface PageApi {
  connectBroker(url: string): Promise<boolean>;
  nextOn(topic: string, ms: number): Promise<string>;
  client: { subscribeAsync(topics: string[], opts: { qos: 0 | 1 | 2 }): Promise<unknown>; publishAsync(topic: string, payload: string, opts: { qos: 0 | 1 | 2 }): Promise<unknown>; endAsync(): Promise<void> };
}

// The browser bundle MQTT.js ships, an IIFE that defines the global `mqtt`. The package's
// exports map hides dist/, so it is found beside the package's resolved entry point.
const mqttMain = createRequire(import.meta.url).resolve('mqtt');
const BUNDLE = join(mqttMain.slice(0, mqttMain.lastIndexOf(`${sep}mqtt${sep}`) + 6), 'dist', 'mqtt.min.js');

const PAGE = `<!doctype html><meta charset="utf-8"><title>starling browser test</title>
<script src="/mqtt.min.js"></script>
<script>
  // The test drives the page through these: connect, then wait for messages by topic.
  window.received = [];
  window.waiters = [];
  window.connectBroker = (url) => new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, clientId: 'browser-' + Math.random().toString(36).slice(2, 10) });
    window.client = client;
    client.on('message', (topic, payload) => {
      window.received.push({ topic, payload: payload.toString() });
      for (const w of window.waiters.splice(0)) w();
    });
    client.once('connect', () => resolve(true));
    client.once('error', (err) => reject(new Error(String(err && err.message))));
  });
  window.nextOn = (topic, ms) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message on ' + topic + ' within ' + ms + ' ms')), ms);
    const look = () => {
      const i = window.received.findIndex((m) => m.topic === topic);
      if (i >= 0) { clearTimeout(timer); resolve(window.received.splice(i, 1)[0].payload); }
      else window.waiters.push(look);
    };
    look();
  });
</script>`;

test('Chromium with MQTT.js over ws:// publishes, subscribes and receives from a Node client over TCP', { timeout: 30_000 }, async (t) => {
  if (!have(t, browser)) return;
  const tb = await startBroker({ listeners: [{ type: 'ws', port: 0, host: '127.0.0.1' }, { type: 'tcp', port: 0, host: '127.0.0.1' }] });
  t.after(() => tb.close());
  const [ws, tcp] = tb.broker.addresses;
  const brokerUrl = `ws://127.0.0.1:${ws!.port}${ws!.websocketPath ?? '/mqtt'}`;

  const bundle = readFileSync(BUNDLE);
  const server = http.createServer((req, res) => {
    if (req.url === '/mqtt.min.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  // A fresh profile each run (CI runs as root, hence --no-sandbox).
  const profile = mkdtempSync(join(tmpdir(), 'starling-chromium-'));
  t.after(() => rmSync(profile, { recursive: true, force: true }));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 15_000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-proxy-server', '--disable-dev-shm-usage'],
    });
  } catch (err) {
    assert.fail(`Chromium at ${CHROMIUM} did not start: ${(err as Error).message}`);
  }
  t.after(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(pageUrl);

  const node = await connectMqtt(`mqtt://127.0.0.1:${tcp!.port}`, { protocolVersion: 4 });
  t.after(() => endMqtt(node));
  await subscribe(node, 'browser/up');

  assert.equal(await page.evaluate((url) => (globalThis as unknown as PageApi).connectBroker(url), brokerUrl), true);
  assert.equal(tb.broker.clients.size, 2);
  const browserClient = [...tb.broker.clients.values()].find((c) => c.id.startsWith('browser-'))!;
  assert.equal(browserClient.listener, ws!.name);
  assert.equal(browserClient.protocolVersion, 5);
  await page.evaluate(() => (globalThis as unknown as PageApi).client.subscribeAsync(['browser/echo', 'browser/down'], { qos: 1 }));

  // Round trip: the browser's publish comes back to itself through the broker.
  const echoed = page.evaluate(() => (globalThis as unknown as PageApi).nextOn('browser/echo', 5000));
  await page.evaluate(() => (globalThis as unknown as PageApi).client.publishAsync('browser/echo', 'hello from chromium', { qos: 1 }));
  assert.equal(await echoed, 'hello from chromium');

  // Browser to Node, across transports.
  const up = nextMessage(node, 5000);
  await page.evaluate(() => (globalThis as unknown as PageApi).client.publishAsync('browser/up', 'to node', { qos: 0 }));
  assert.deepEqual(await up.then((m) => [m.topic, m.payload.toString()]), ['browser/up', 'to node']);

  // Node to browser: a message from a 3.1.1 TCP client reaches the 5.0 WebSocket client.
  const down = page.evaluate(() => (globalThis as unknown as PageApi).nextOn('browser/down', 5000));
  await node.publishAsync('browser/down', 'from node', { qos: 1 });
  assert.equal(await down, 'from node');

  await page.evaluate(() => (globalThis as unknown as PageApi).client.endAsync());
  assert.deepEqual(errors, []);
});
