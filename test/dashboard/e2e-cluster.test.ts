// The overview's cluster panel and the Clients page's cluster lookup in a real browser
// (Debian's Chromium, headless, through playwright-core): two cluster members on one test
// Redis, each with its dashboard; the page is A's. Photographed into artifacts/screenshots/.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import type { Page } from 'playwright-core';
import { attachClusterSessions } from '../../src/cluster/sessions.js';
import { RedisStore } from '../../src/store/index.js';
import { startRedis } from '../helpers/redis.js';
import { have } from '../helpers/tools.js';
import { chromiumTool, launchChromium, startDashboard, TOKEN } from './helpers.js';

const SHOTS = fileURLToPath(new URL('../../../artifacts/screenshots/', import.meta.url));
/** A functional deadline for what the page shows, with room for a loaded 2-core machine. */
const SEEN = 15_000;
/** Short, so B's absence shows soon; the heartbeat well inside it. */
const fast = { heartbeatInterval: 200, nodeTimeout: 1500 };

async function logIn(page: Page): Promise<void> {
  await page.goto('/');
  await page.getByTestId('token').fill(TOKEN);
  await page.getByTestId('login').click();
  await page.getByTestId('nav-overview').waitFor();
}

test('dash3 2: the overview of cluster member A lists A and B alive with Redis connected; B gone shows B down; a client on B is found on B from A\'s Clients page; a standalone broker has no cluster panel', { timeout: 90_000 }, async (t) => {
  if (!have(t, chromiumTool)) return;
  const redis = await startRedis(t);
  if (redis === undefined) return;
  // Closed last first, and before Redis stops (its t.after runs first): B's Redis store
  // would otherwise wait for a Redis that is gone.
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  try {
    await run(cleanups, redis.url);
  } finally {
    for (const f of cleanups.reverse()) await f();
  }
});

async function run(cleanups: Array<() => Promise<unknown> | unknown>, redisUrl: string): Promise<void> {
  const t = { after: (f: () => Promise<unknown> | unknown) => cleanups.push(f) };
  // Cluster sessions (the Redis store) write which node holds a client id: what the lookup reads.
  // B has them (attached before listen(), as the starling command does); A needs only to read.
  const a = await startDashboard({}, { cluster: { redis: redisUrl, node: 'node-a', ...fast } });
  t.after(() => a.close());
  const b = await startDashboard({}, { cluster: { redis: redisUrl, node: 'node-b', ...fast }, store: new RedisStore({ url: redisUrl, node: 'node-b' }), beforeListen: (broker) => void attachClusterSessions(broker, { takeoverTimeout: 3000 }) });
  let bOpen = true;
  t.after(() => (bOpen ? b.close() : undefined));
  const standalone = await startDashboard();
  t.after(() => standalone.close());
  mkdirSync(SHOTS, { recursive: true });

  const onB = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.mqttPort}`, { clientId: 'held-by-b', reconnectPeriod: 0 });
  t.after(() => onB.endAsync().catch(() => undefined));
  await onB.subscribeAsync('plant/#', { qos: 1 });
  const onA = await mqtt.connectAsync(`mqtt://127.0.0.1:${a.mqttPort}`, { clientId: 'on-a', reconnectPeriod: 0 });
  t.after(() => onA.endAsync());

  const browser = await launchChromium();
  t.after(() => browser.close());
  const errors: string[] = [];
  const open = async (base: string): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, baseURL: base });
    t.after(() => context.close());
    const page = await context.newPage();
    page.setDefaultTimeout(SEEN);
    page.on('pageerror', (err) => errors.push(err.message));
    return page;
  };

  // Standalone: the overview runs without the panel.
  const plain = await open(standalone.base);
  await logIn(plain);
  await plain.getByTestId('tile-clients').getByText('0').waitFor();
  assert.equal(await plain.getByTestId('cluster').count(), 0);

  const page = await open(a.base);
  await logIn(page);
  const panel = page.getByTestId('cluster');
  await panel.waitFor();
  await panel.getByText('2 of 2 alive · this node node-a').waitFor();
  await page.getByTestId('cluster-redis').getByText(/^Redis connected · /).waitFor();
  await page.getByTestId('cluster-node-node-a').getByTestId('cluster-node-state').getByText('alive').waitFor();
  await page.getByTestId('cluster-node-node-b').getByTestId('cluster-node-state').getByText('alive').waitFor();
  // B's subscription is one route, known at A.
  await page.getByTestId('cluster-node-node-b').locator('td.num').getByText('1', { exact: true }).waitFor();
  for (let i = 0; i < 3; i++) await onA.publishAsync('plant/line1/temp', String(20 + i), { qos: 1 });
  await page.getByTestId('cluster-totals').getByText(/^3 · 3$/).waitFor();
  await page.screenshot({ path: `${SHOTS}overview-cluster.png`, fullPage: false });

  // The Clients page: a client id held by B is not listed here; looked up, the cluster names B.
  await page.getByTestId('nav-clients').click();
  await page.getByTestId('client-search').fill('held-by-b');
  await page.getByTestId('cluster-lookup').click();
  await page.getByTestId('detail-node').getByText('node-b', { exact: true }).waitFor();
  await page.getByTestId('client-detail').getByText('held by another node').waitFor();

  await b.close();
  bOpen = false;
  await page.getByTestId('nav-overview').click();
  await page.getByTestId('cluster-node-node-b').getByTestId('cluster-node-state').getByText('down').waitFor();
  await panel.getByText('1 of 2 alive · this node node-a').waitFor();
  await page.screenshot({ path: `${SHOTS}overview-cluster-node-down.png`, fullPage: false });
  assert.deepEqual(errors, []);
}
