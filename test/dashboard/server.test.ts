// The dashboard's server side over real HTTP: the login and its cookie, refusals without it,
// CSRF on verbs that change things, the sample stream, the client list at scale, the topic
// tree and its bound, a subscription watched by hand, and the dashboard's metrics.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { createRecord, passwordLine } from '../../src/auth/index.js';
import type { InProcessClient } from '../../src/broker/in-process.js';
import { start } from '../helpers/tools.js';
import { SnClient } from '../gateway/mqtt-sn/sn-client.js';
import { login, readEvents, startDashboard, TOKEN } from './helpers.js';

test('dashboard: nothing but the login page and its assets is served without a login', async () => {
  const d = await startDashboard();
  try {
    const page = await fetch(`${d.base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    assert.match(page.headers.get('content-security-policy')!, /default-src 'self'/);
    const html = await page.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, 'the page names its script');
    assert.equal((await fetch(`${d.base}${asset}`)).status, 200);
    for (const path of ['/dashboard/session', '/dashboard/info', '/dashboard/stream', '/dashboard/clients', '/dashboard/topics', '/dashboard/watch?filter=%23', '/api/v1/clients', '/api/v1/config']) {
      const res = await fetch(`${d.base}${path}`);
      assert.equal(res.status, 401, path);
      assert.doesNotMatch(await res.text(), /clientId|listeners/, path);
    }
    for (const [method, path] of [['POST', '/dashboard/logout'], ['POST', '/api/v1/publish'], ['DELETE', '/api/v1/retained?topic=a'], ['POST', '/api/v1/reload'], ['POST', '/api/v1/clients/x/disconnect']] as const) {
      assert.equal((await fetch(`${d.base}${path}`, { method })).status, 401, `${method} ${path}`);
    }
    // A forged cookie is no login.
    assert.equal((await fetch(`${d.base}/dashboard/clients`, { headers: { cookie: 'starling_session=forged' } })).status, 401);
  } finally {
    await d.close();
  }
});

test('dashboard: a wrong token is refused; the login is JSON only; the cookie is HttpOnly and SameSite=Strict', async () => {
  const d = await startDashboard();
  try {
    const wrong = await fetch(`${d.base}/dashboard/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'nope' }) });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    // What a cross-site HTML form can send: refused before the token is looked at.
    const form = await fetch(`${d.base}/dashboard/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${TOKEN}` });
    assert.equal(form.status, 415);
    assert.equal((await fetch(`${d.base}/dashboard/login`)).status, 405);
    const s = await login(d.base);
    assert.match(s.setCookie, /^starling_session=[\w-]{40,};/);
    assert.match(s.setCookie, /; HttpOnly/);
    assert.match(s.setCookie, /; SameSite=Strict/);
    assert.match(s.setCookie, /; Path=\//);
    const session = await fetch(`${d.base}/dashboard/session`, { headers: { cookie: s.cookie } });
    assert.equal(session.status, 200);
    assert.equal(((await session.json()) as { csrf: string }).csrf, s.csrf);
    const metrics = await (await fetch(`${d.base}/metrics`)).text();
    assert.match(metrics, /^starling_dashboard_login_failures_total 1$/m);
    assert.match(metrics, /^starling_dashboard_logins_total 1$/m);
    assert.match(metrics, /^starling_dashboard_sessions 1$/m);
  } finally {
    await d.close();
  }
});

test('dashboard: the admin API answers a login; a verb that changes things needs the CSRF header', async () => {
  const d = await startDashboard();
  try {
    const s = await login(d.base);
    const clients = await fetch(`${d.base}/api/v1/clients`, { headers: { cookie: s.cookie } });
    assert.equal(clients.status, 200);
    await d.broker.client({ clientId: 'kept' }).then((c) => c.publish('keep/me', 'x', { retain: true }));
    const body = JSON.stringify({ topic: 'from/dashboard', payload: 'hi' });
    const noToken = await fetch(`${d.base}/api/v1/publish`, { method: 'POST', headers: { cookie: s.cookie, 'content-type': 'application/json' }, body });
    assert.equal(noToken.status, 403);
    const badToken = await fetch(`${d.base}/api/v1/publish`, { method: 'POST', headers: { cookie: s.cookie, 'content-type': 'application/json', 'x-starling-csrf': `${s.csrf.slice(1)}x` }, body });
    assert.equal(badToken.status, 403);
    assert.equal((await fetch(`${d.base}/api/v1/retained?topic=keep/me`, { method: 'DELETE', headers: { cookie: s.cookie } })).status, 403);
    assert.equal((await fetch(`${d.base}/api/v1/reload`, { method: 'POST', headers: { cookie: s.cookie } })).status, 403);
    assert.equal((await fetch(`${d.base}/dashboard/logout`, { method: 'POST', headers: { cookie: s.cookie } })).status, 403);
    assert.equal(d.broker.views.retainedCount, 1, 'nothing was deleted without the CSRF token');
    const ok = await fetch(`${d.base}/api/v1/publish`, { method: 'POST', headers: { cookie: s.cookie, 'content-type': 'application/json', 'x-starling-csrf': s.csrf }, body });
    assert.equal(ok.status, 200);
    const del = await fetch(`${d.base}/api/v1/retained?topic=keep/me`, { method: 'DELETE', headers: { cookie: s.cookie, 'x-starling-csrf': s.csrf } });
    assert.equal(del.status, 200);
    assert.equal(d.broker.views.retainedCount, 0);
    // A client's detail shows its will (size only, not the payload).
    const willed = await mqtt.connectAsync(`mqtt://127.0.0.1:${d.mqttPort}`, { clientId: 'willed', reconnectPeriod: 0, will: { topic: 'w/t', payload: Buffer.from('gone'), qos: 1, retain: true } });
    const detail = (await (await fetch(`${d.base}/api/v1/clients/willed`, { headers: { cookie: s.cookie } })).json()) as { will: unknown };
    assert.deepEqual(detail.will, { topic: 'w/t', qos: 1, retain: true, payloadBytes: 4, delayInterval: 0 });
    await willed.endAsync();
    // The bearer token still works alone, as before.
    assert.equal((await fetch(`${d.base}/api/v1/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  } finally {
    await d.close();
  }
});

test('dashboard: logout ends the login and closes its stream', async () => {
  const d = await startDashboard();
  try {
    const s = await login(d.base);
    const stream = await fetch(`${d.base}/dashboard/stream`, { headers: { cookie: s.cookie } });
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type')!, /^text\/event-stream/);
    const out = await fetch(`${d.base}/dashboard/logout`, { method: 'POST', headers: { cookie: s.cookie, 'x-starling-csrf': s.csrf } });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie')!, /Max-Age=0/);
    await assert.rejects(readEvents(stream, () => false, 5000), /stream ended/);
    assert.equal((await fetch(`${d.base}/dashboard/clients`, { headers: { cookie: s.cookie } })).status, 401);
    assert.equal((await fetch(`${d.base}/api/v1/clients`, { headers: { cookie: s.cookie } })).status, 401);
  } finally {
    await d.close();
  }
});

test('dashboard: logins beyond maxSessions end the least recently used', async () => {
  const d = await startDashboard({ maxSessions: 2 });
  try {
    const a = await login(d.base);
    const b = await login(d.base);
    const c = await login(d.base);
    assert.equal((await fetch(`${d.base}/dashboard/session`, { headers: { cookie: a.cookie } })).status, 401);
    assert.equal((await fetch(`${d.base}/dashboard/session`, { headers: { cookie: b.cookie } })).status, 200);
    assert.equal((await fetch(`${d.base}/dashboard/session`, { headers: { cookie: c.cookie } })).status, 200);
    assert.match(await (await fetch(`${d.base}/metrics`)).text(), /^starling_dashboard_sessions_ended_total\{reason="evicted"\} 1$/m);
  } finally {
    await d.close();
  }
});

test('dashboard: the stream sends a sample a second with the message rate of what is published', async () => {
  const d = await startDashboard();
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${d.mqttPort}`, { clientId: 'rate-pub', reconnectPeriod: 0 });
  const timer = setInterval(() => {
    for (let i = 0; i < 20; i++) client.publish('rate/t', 'x');
  }, 50);
  try {
    const s = await login(d.base);
    const stream = await fetch(`${d.base}/dashboard/stream`, { headers: { cookie: s.cookie } });
    type S = { messagesIn: number; bytesIn: number; clients: number; memory: { rss: number }; loop: { p99: number }; dropped: Record<string, number> };
    const seen = await readEvents<S>(stream, (_, x) => x.messagesIn > 50, 8000);
    const last = seen.at(-1)!.data;
    assert.equal(last.clients, 1);
    assert.ok(last.bytesIn > 0);
    assert.ok(last.memory.rss > 0);
    assert.equal(typeof last.loop.p99, 'number');
    assert.equal(typeof last.dropped.queue_full, 'number');
  } finally {
    clearInterval(timer);
    await client.endAsync();
    await d.close();
  }
});

test('dashboard: 100,000 clients are searched, sorted and paged', async () => {
  const d = await startDashboard();
  const clients: InProcessClient[] = [];
  try {
    for (let i = 0; i < 100_000; i++) clients.push(await d.broker.client({ clientId: `dev-${String(i).padStart(6, '0')}` }));
    const s = await login(d.base);
    const get = async (q: string): Promise<{ total: number; matched: number; clients: Array<{ id: string }> }> => {
      const res = await fetch(`${d.base}/dashboard/clients?${q}`, { headers: { cookie: s.cookie } });
      assert.equal(res.status, 200, q);
      return (await res.json()) as { total: number; matched: number; clients: Array<{ id: string }> };
    };
    const first = await get('limit=50');
    assert.equal(first.total, 100_000);
    assert.equal(first.clients.length, 50);
    assert.equal(first.clients[0]!.id, 'dev-000000');
    const last = await get('sort=id&dir=desc&offset=10&limit=5');
    assert.deepEqual(last.clients.map((c) => c.id), ['dev-099989', 'dev-099988', 'dev-099987', 'dev-099986', 'dev-099985']);
    const found = await get('q=DEV-04242');
    assert.equal(found.matched, 10);
    assert.equal(found.clients[0]!.id, 'dev-042420');
    assert.equal((await get('limit=100000')).clients.length, 500, 'a page is at most 500');
    assert.equal((await fetch(`${d.base}/dashboard/clients?sort=password`, { headers: { cookie: s.cookie } })).status, 400);
    assert.equal((await fetch(`${d.base}/dashboard/clients?offset=-1`, { headers: { cookie: s.cookie } })).status, 400);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await d.close();
  }
});

test('dashboard: the topic tree counts each branch, keeps the last payload, and stays within maxTopics', async () => {
  const d = await startDashboard({ maxTopics: 6 });
  const c = await d.broker.client({ clientId: 'tree' });
  try {
    await c.publish('plant/line1/temp', '21.5');
    await c.publish('plant/line1/temp', '22.0');
    await c.publish('plant/line2/temp', Buffer.from([0xff, 0x00]));
    await c.publish('other/x', 'y');
    await c.publish('other/y/z', 'no room');
    const s = await login(d.base);
    type T = { total: number; nodes: Array<{ name: string; topic: string; messages: number; children: number; last?: { payload: string; encoding: string } }>; size: number; untracked: number };
    const top = (await (await fetch(`${d.base}/dashboard/topics`, { headers: { cookie: s.cookie } })).json()) as T;
    assert.deepEqual(top.nodes.map((n) => [n.name, n.messages]), [['plant', 3], ['other', 2]]);
    assert.equal(top.size, 6);
    assert.equal(top.untracked, 2);
    const line1 = (await (await fetch(`${d.base}/dashboard/topics?prefix=plant/line1`, { headers: { cookie: s.cookie } })).json()) as T;
    assert.deepEqual(line1.nodes[0], { ...line1.nodes[0], name: 'temp', topic: 'plant/line1/temp', messages: 2 });
    assert.equal(line1.nodes[0]!.last!.payload, '22.0');
    const found = (await (await fetch(`${d.base}/dashboard/topics?q=temp`, { headers: { cookie: s.cookie } })).json()) as T;
    assert.deepEqual(found.nodes.map((n) => n.topic), ['plant/line1/temp', 'plant/line2/temp']);
    assert.deepEqual(found.nodes[1]!.last, { ...found.nodes[1]!.last, payload: '/wA=', encoding: 'base64' });
    assert.equal((await fetch(`${d.base}/dashboard/topics?prefix=nowhere`, { headers: { cookie: s.cookie } })).status, 404);
    assert.match(await (await fetch(`${d.base}/metrics`)).text(), /^starling_dashboard_topics_untracked_total 2$/m);
  } finally {
    await c.close();
    await d.close();
  }
});

test('dashboard: a subscription watched from the page streams what is published, within watchRate', async () => {
  const d = await startDashboard({ watchRate: 3 });
  const pub = await d.broker.client({ clientId: 'watched-pub' });
  try {
    await pub.publish('watch/kept', 'retained before', { retain: true });
    const s = await login(d.base);
    assert.equal((await fetch(`${d.base}/dashboard/watch?filter=a/%23/b`, { headers: { cookie: s.cookie } })).status, 400);
    const stream = await fetch(`${d.base}/dashboard/watch?filter=watch/%23`, { headers: { cookie: s.cookie } });
    assert.equal(stream.status, 200);
    type M = { topic?: string; payload?: string; filter?: string };
    const done = readEvents<M>(stream, (e, m) => e === 'message' && m.payload === 'm1', 5000);
    // The subscription is made before the stream's first byte: publishing now is seen.
    for (let i = 0; i < 10; i++) await pub.publish('watch/it', `m${i}`);
    const seen = await done;
    assert.deepEqual(seen[0], { event: 'subscribed', data: { filter: 'watch/#', qos: 0 } });
    // The retained message, sent during the subscription, counts within the rate too.
    assert.deepEqual(seen.filter((e) => e.event === 'message').map((e) => e.data.payload), ['retained before', 'm0', 'm1']);
    const metrics = await (await fetch(`${d.base}/metrics`)).text();
    // 11 sent, 3 a second shown: the rest skipped (6 shown if a second ended midway).
    const skipped = Number(/^starling_dashboard_watch_skipped_total (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(skipped >= 5 && skipped <= 8, `skipped ${skipped}`);
  } finally {
    await pub.close();
    await d.close();
  }
});

test('dashboard: the starling command serves the page at / when http.port is set', { timeout: 30_000 }, async () => {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const proc = start(process.execPath, [cli, '--port', '0'], {
    timeoutMs: 25_000,
    env: { ...process.env, STARLING_HTTP_PORT: '0', STARLING_HTTP_ADMIN_TOKEN: TOKEN, STARLING_PERSISTENCE_STORE: 'memory' },
  });
  try {
    const line = await proc.line(/"msg":"http listening on /, 20_000);
    const port = /:(\d+)$/.exec((JSON.parse(line) as { msg: string }).msg)![1];
    const base = `http://127.0.0.1:${port}`;
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="app">/);
    assert.equal((await fetch(`${base}/dashboard/stream`)).status, 401);
    const s = await login(base);
    assert.equal((await fetch(`${base}/dashboard/info`, { headers: { cookie: s.cookie } })).status, 200);
    const config = (await (await fetch(`${base}/api/v1/config`, { headers: { cookie: s.cookie } })).json()) as { http: { adminToken: string; dashboard: { maxTopics: number } } };
    assert.equal(config.http.adminToken, '[redacted]');
    assert.equal(config.http.dashboard.maxTopics, 10_000);
  } finally {
    proc.kill('SIGTERM');
    await proc.exited;
  }
});

test('dashboard: a user of http.dashboard.adminUsers logs in with the password file\'s password; others are refused', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-dashboard-'));
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const lines = [passwordLine('alice', await createRecord('sha512', Buffer.from('alice-pw'))), passwordLine('bob', await createRecord('sha512', Buffer.from('bob-pw')))];
  writeFileSync(join(dir, 'passwd'), `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'starling.yaml'), 'listeners:\n  - port: 0\npersistence:\n  store: memory\nauth:\n  passwordFile: passwd\nhttp:\n  port: 0\n  dashboard:\n    adminUsers: "alice, carol"\n');
  // No admin token: the users alone log in, and the admin API answers them.
  const proc = start(process.execPath, [cli, '--config', join(dir, 'starling.yaml')], { timeoutMs: 25_000 });
  const post = (base: string, body: unknown): Promise<Response> => fetch(`${base}/dashboard/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  try {
    const line = await proc.line(/"msg":"http listening on /, 20_000);
    const base = `http://127.0.0.1:${/:(\d+)$/.exec((JSON.parse(line) as { msg: string }).msg)![1]}`;
    assert.equal((await post(base, { username: 'alice', password: 'wrong' })).status, 401);
    assert.equal((await post(base, { username: 'bob', password: 'bob-pw' })).status, 401, 'bob is in the file but not an admin user');
    assert.equal((await post(base, { username: 'carol', password: '' })).status, 401, 'carol is an admin user but not in the file');
    assert.equal((await post(base, { token: '' })).status, 401);
    const ok = await post(base, { username: 'alice', password: 'alice-pw' });
    assert.equal(ok.status, 200);
    const cookie = ok.headers.get('set-cookie')!.split(';')[0]!;
    const session = (await (await fetch(`${base}/dashboard/session`, { headers: { cookie } })).json()) as { user: string };
    assert.equal(session.user, 'alice');
    assert.equal((await fetch(`${base}/api/v1/clients`, { headers: { cookie } })).status, 200);
    assert.equal((await fetch(`${base}/api/v1/clients`)).status, 404, 'without a token the API stays off for bearer requests');
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^starling_dashboard_login_failures_total 4$/m);
  } finally {
    proc.kill('SIGTERM');
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dashboard: streams take at most half of http.maxConnections; the oldest is closed for a new one', async () => {
  const d = await startDashboard({}, { maxConnections: 5 });
  try {
    const s = await login(d.base);
    const open = async (): Promise<Response> => {
      const res = await fetch(`${d.base}/dashboard/stream`, { headers: { cookie: s.cookie } });
      assert.equal(res.status, 200);
      return res;
    };
    const first = await open();
    const second = await open();
    const third = await open();
    await assert.rejects(readEvents(first, () => false, 5000), /stream ended/);
    await readEvents(second, (e) => e === 'sample', 5000);
    await readEvents(third, (e) => e === 'sample', 5000);
    // The probes still get through.
    assert.equal((await fetch(`${d.base}/healthz`)).status, 200);
    assert.match(await (await fetch(`${d.base}/metrics`)).text(), /^starling_dashboard_streams_evicted_total 1$/m);
  } finally {
    await d.close();
  }
});

test('dash2 3: an MQTT-SN client is listed and detailed as "MQTT-SN 1.2" with its UDP address; sorting by protocol sets it apart', async () => {
  const d = await startDashboard({}, { listeners: [{ port: 0, host: '127.0.0.1' }, { type: 'mqtt-sn', port: 0, host: '127.0.0.1', name: 'sn' }] });
  const sn = await SnClient.connect(d.broker.addresses.find((l) => l.type === 'mqtt-sn')!.port, 'sn-sensor-1');
  const tcp = await mqtt.connectAsync(`mqtt://127.0.0.1:${d.mqttPort}`, { clientId: 'tcp-sensor-1', reconnectPeriod: 0 });
  try {
    const s = await login(d.base);
    const get = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${d.base}${path}`, { headers: { cookie: s.cookie } });
      assert.equal(res.status, 200, path);
      return (await res.json()) as T;
    };
    type Row = { id: string; address: string; listener: string; protocol: string; protocolVersion: number };
    const list = await get<{ clients: Row[] }>('/dashboard/clients?q=sensor&sort=protocol');
    assert.deepEqual(list.clients.map((c) => [c.id, c.protocol]), [['tcp-sensor-1', 'MQTT 3.1.1'], ['sn-sensor-1', 'MQTT-SN 1.2']]);
    const row = list.clients[1]!;
    assert.equal(row.address, `127.0.0.1:${sn.socket.address().port}`);
    assert.equal(row.listener, 'sn');
    const detail = await get<Row>('/dashboard/client?id=sn-sensor-1');
    assert.equal(detail.protocol, 'MQTT-SN 1.2');
    assert.equal(detail.address, row.address);
    assert.equal((await fetch(`${d.base}/dashboard/client?id=nobody`, { headers: { cookie: s.cookie } })).status, 404);
  } finally {
    sn.send({ type: 'disconnect' });
    sn.socket.close();
    await tcp.endAsync();
    await d.close();
  }
});
