// Attacks on the web dashboard (docs/dashboard.md) over real sockets: what a publisher can
// make the dashboard hold, and what a browser holding the login cookie can be made to do.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { createBroker, createOpsServer } from '../../src/index.js';
import { until } from '../helpers/wait.js';
import { TOKEN, login, startDashboard } from '../dashboard/helpers.js';

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

test('attack: with the login cookie and without the CSRF header no verb changes anything (admin API and logout)', async (t) => {
  let reloads = 0;
  const broker = createBroker({ logLevel: false, listeners: [{ port: 0, host: '127.0.0.1' }] });
  const [info] = await broker.listen();
  const ops = createOpsServer(broker, { sysInterval: 0, http: { port: 0, adminToken: TOKEN }, config: () => ({}), reload: () => (reloads++, { ok: true, applied: [], needsRestart: [] }) });
  await ops.start();
  t.after(async () => {
    await ops.close();
    await broker.close();
  });
  const d = { broker, base: `http://127.0.0.1:${ops.address!.port}`, mqttPort: info!.port };
  const victim = await mqtt.connectAsync(`mqtt://127.0.0.1:${d.mqttPort}`, { reconnectPeriod: 0, clientId: 'victim' });
  t.after(() => victim.endAsync(true));
  await victim.publishAsync('kept/topic', 'retained', { qos: 1, retain: true });
  const seen: string[] = [];
  victim.on('message', (topic) => seen.push(topic));
  await victim.subscribeAsync('injected/#');
  const s = await login(d.base);
  const verbs: Array<[string, string, string?]> = [
    ['POST', '/api/v1/clients/victim/disconnect'],
    ['DELETE', '/api/v1/retained?topic=kept%2Ftopic'],
    ['POST', '/api/v1/publish', JSON.stringify({ topic: 'injected/x', payload: 'x' })],
    ['POST', '/api/v1/reload'],
    ['PUT', '/api/v1/publish', JSON.stringify({ topic: 'injected/x', payload: 'x' })],
    ['PATCH', '/api/v1/retained?topic=kept%2Ftopic'],
    ['POST', '/dashboard/logout'],
  ];
  for (const [method, path, body] of verbs) {
    for (const csrf of [undefined, 'wrong', `${s.csrf}x`]) {
      const headers: Record<string, string> = { cookie: s.cookie, 'content-type': 'application/json' };
      if (csrf !== undefined) headers['x-starling-csrf'] = csrf;
      const res = await fetch(`${d.base}${path}`, { method, headers, ...(body !== undefined && { body }) });
      assert.equal(res.status, 403, `${method} ${path} with CSRF ${csrf}: ${res.status}`);
    }
  }
  // Nothing happened: the login, the client, the retained message are all still there.
  assert.equal((await fetch(`${d.base}/dashboard/session`, { headers: { cookie: s.cookie } })).status, 200);
  assert.ok(victim.connected);
  assert.equal(d.broker.views.retained('kept/topic', 1).total, 1);
  assert.equal(reloads, 0);
  // The positive control: the same publish with the header goes through.
  const ok = await fetch(`${d.base}/api/v1/publish`, { method: 'POST', headers: { cookie: s.cookie, 'content-type': 'application/json', 'x-starling-csrf': s.csrf }, body: JSON.stringify({ topic: 'injected/ok', payload: 'x' }) });
  assert.equal(ok.status, 200);
  await until('the control publish arrives', () => seen.includes('injected/ok'));
  assert.deepEqual(seen, ['injected/ok']);
  const reload = await fetch(`${d.base}/api/v1/reload`, { method: 'POST', headers: { cookie: s.cookie, 'x-starling-csrf': s.csrf } });
  assert.equal(reload.status, 200);
  assert.equal(reloads, 1);
});

test('attack: a cookie is worthless after logout, and a cookie the server did not issue is never adopted (fixation)', async (t) => {
  const d = await startDashboard();
  t.after(() => d.close());
  const s = await login(d.base);
  const stream = await fetch(`${d.base}/dashboard/stream`, { headers: { cookie: s.cookie } });
  assert.equal(stream.status, 200);
  const out = await fetch(`${d.base}/dashboard/logout`, { method: 'POST', headers: { cookie: s.cookie, 'x-starling-csrf': s.csrf } });
  assert.equal(out.status, 200);
  assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
  // The stream the login held ends with it.
  const reader = stream.body!.getReader();
  for (;;) if ((await reader.read()).done) break;
  for (const [method, path] of [['GET', '/dashboard/session'], ['GET', '/dashboard/stream'], ['GET', '/api/v1/clients'], ['POST', '/api/v1/reload']] as const) {
    const res = await fetch(`${d.base}${path}`, { method, headers: { cookie: s.cookie, 'x-starling-csrf': s.csrf } });
    assert.equal(res.status, 401, `${method} ${path} after logout: ${res.status}`);
    await res.body?.cancel();
  }
  // Fixation: a value planted in the browser before login is not the login's.
  const planted = 'starling_session=attacker-chosen-value';
  assert.equal((await fetch(`${d.base}/dashboard/session`, { headers: { cookie: planted } })).status, 401);
  const res = await fetch(`${d.base}/dashboard/login`, { method: 'POST', headers: { cookie: planted, 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKEN }) });
  assert.equal(res.status, 200);
  const issued = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  assert.notEqual(issued, planted);
  assert.equal((await fetch(`${d.base}/dashboard/session`, { headers: { cookie: planted } })).status, 401);
  assert.equal((await fetch(`${d.base}/dashboard/session`, { headers: { cookie: issued } })).status, 200);
  // A login form posted cross-site (no JSON content type) is refused before the token is looked at.
  const form = await fetch(`${d.base}/dashboard/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${TOKEN}` });
  assert.equal(form.status, 415);
});
