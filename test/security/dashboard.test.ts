// Attacks on the web dashboard (docs/dashboard.md) over real sockets: what a publisher can
// make the dashboard hold, and what a browser holding the login cookie can be made to do.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { login, startDashboard } from '../dashboard/helpers.js';

test('attack: many long topics do not grow the dashboard topic tree beyond http.dashboard.maxTopicBytes', async (t) => {
  const d = await startDashboard();
  t.after(() => d.close());
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${d.mqttPort}`, { reconnectPeriod: 0 });
  t.after(() => c.endAsync(true));
  // 400 topics of one 30,000-character level: 12 MB of names, which maxTopics (10,000
  // nodes) alone let the tree keep for as long as the broker runs.
  const long = 'x'.repeat(30_000);
  for (let i = 0; i < 400; i++) await c.publishAsync(`${long}${i}/leaf`, 'p', { qos: 1 });
  const s = await login(d.base);
  const metrics = await (await fetch(`${d.base}/metrics`)).text();
  const untracked = Number(/^starling_dashboard_topics_untracked_total (\d+)/m.exec(metrics)?.[1]);
  const top = (await (await fetch(`${d.base}/dashboard/topics?limit=1000`, { headers: { cookie: s.cookie } })).json()) as { total: number; nodes: Array<{ name: string }> };
  const held = top.nodes.reduce((n, x) => n + x.name.length, 0);
  assert.ok(held <= 1024 * 1024, `the tree holds ${held} characters of topic names`);
  assert.ok(top.total < 400 && top.total > 0, `top-level nodes: ${top.total}`);
  assert.ok(untracked >= 400 - top.total, `untracked: ${untracked}`);
  // A short topic still finds room beside them.
  await c.publishAsync('short/one', 'p', { qos: 1 });
  const short = await fetch(`${d.base}/dashboard/topics?prefix=short`, { headers: { cookie: s.cookie } });
  assert.equal(short.status, 200);
});
