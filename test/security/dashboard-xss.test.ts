// Attack: markup in what clients choose (client ids, user names, topic names, payloads, will
// topics) and in config values, shown by the dashboard in Debian's Chromium (headless,
// playwright-core). Nothing may execute nor become an element: each value must show as text.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { have } from '../helpers/tools.js';
import { chromiumTool, launchChromium, startDashboard, TOKEN } from '../dashboard/helpers.js';

const SEEN = 15_000;

/** Markup that runs script or makes an element if it is ever parsed as HTML; `n` tells which value did. */
const mark = (n: number): string => `<img src=x onerror=window.__xss=${n}><b data-xss=${n}>`;

test('attack: markup in client ids, user names, topics, payloads, wills and config values shows as text and never runs in the dashboard', async (t) => {
  if (!have(t, chromiumTool)) return;
  const d = await startDashboard(
    {},
    {
      listeners: [{ port: 0, host: '127.0.0.1', name: `listener ${mark(1)}` }],
      config: () => ({ http: { adminToken: '[redacted]' }, note: mark(2), [`key ${mark(3)}`]: true }),
    },
  );
  t.after(() => d.close());
  const url = `mqtt://127.0.0.1:${d.mqttPort}`;
  const c = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    clientId: `xss-${mark(4)}`,
    username: `user ${mark(5)}`,
    will: { topic: `will/${mark(6)}`, payload: Buffer.from(mark(7)), qos: 0, retain: false },
  });
  t.after(() => c.endAsync(true));
  await c.subscribeAsync(`sub/${mark(8)}`);
  await c.publishAsync(`xss/${mark(9)}`, mark(10), { retain: true, qos: 1 });
  await c.publishAsync(`xss/json`, JSON.stringify({ [mark(11)]: mark(12) }), { retain: true, qos: 1 });

  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, baseURL: d.base });
  const page = await context.newPage();
  page.setDefaultTimeout(SEEN);
  const dialogs: string[] = [];
  page.on('dialog', (dl) => {
    dialogs.push(dl.message());
    void dl.dismiss();
  });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const clean = async (where: string): Promise<void> => {
    const found = await page.evaluate(() => ({
      ran: (window as unknown as { __xss?: number }).__xss,
      elements: document.querySelectorAll('img[src="x"], [data-xss], script:not([src])').length,
    }));
    assert.deepEqual({ ...found, dialogs, errors }, { ran: undefined, elements: 0, dialogs: [], errors: [] }, where);
  };
  const shown = (n: number): Promise<void> => page.getByText(mark(n), { exact: false }).first().waitFor();

  await page.goto('/');
  await page.getByTestId('token').fill(TOKEN);
  await page.getByTestId('login').click();
  await page.getByTestId('nav-overview').waitFor();
  await page.getByTestId('listeners').getByText(mark(1), { exact: false }).waitFor();
  await clean('overview');

  await page.getByTestId('nav-clients').click();
  await page.getByTestId('client-search').fill('xss-');
  await shown(4);
  await shown(5);
  await page.locator('[data-client]').first().click();
  await page.getByTestId('client-detail').getByText(mark(6), { exact: false }).first().waitFor();
  await page.getByTestId('client-detail').getByText(mark(8), { exact: false }).first().waitFor();
  await clean('clients and client detail');

  await page.getByTestId('nav-topics').click();
  await page.getByTestId('topic-search').fill('img');
  await shown(9);
  await page.locator('[data-topic]').filter({ hasText: mark(9) }).first().click();
  await shown(10);
  await clean('topics');

  await page.getByTestId('nav-retained').click();
  await page.getByTestId('retained-prefix').fill('xss/');
  await page.locator('[data-topic="xss/json"]').click();
  await page.getByTestId('as-json').click();
  await page.getByTestId('retained-payload').getByText(mark(12), { exact: false }).waitFor();
  await page.locator('[data-topic]').filter({ hasText: mark(9) }).first().click();
  await page.getByTestId('as-text').click();
  await page.getByTestId('retained-payload').getByText(mark(10), { exact: false }).waitFor();
  await clean('retained');

  await page.getByTestId('nav-client').click();
  await page.getByTestId('sub-filter').fill('xss/#');
  await page.getByTestId('sub-start').click();
  await page.getByTestId('sub-messages').getByText(mark(10), { exact: false }).first().waitFor();
  await page.getByTestId('sub-messages').getByText(mark(9), { exact: false }).first().waitFor();
  await clean('client (watched subscription)');

  await page.getByTestId('nav-config').click();
  await page.getByTestId('config').getByText(mark(2), { exact: false }).first().waitFor();
  await page.getByTestId('config').getByText(mark(3), { exact: false }).first().waitFor();
  await clean('config');
});
