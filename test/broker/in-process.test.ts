// broker.client(): a client inside the process, meeting network clients (MQTT.js) on the same
// topics, with the same hooks, sessions and acknowledgements.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QoS } from '../../src/codec/types.js';
import { InProcessError, MemoryStore, type Message } from '../../src/index.js';
import { broker, real } from '../helpers/scenario.js';
import { startBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';

test('in-process: a subscription receives a network client\'s QoS 0, 1 and 2 messages, each acknowledged once handled', async (t) => {
  const b = await broker(t);
  const inside = await b.broker.client({ clientId: 'inside' });
  const got: Array<[string, QoS]> = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  assert.equal(await inside.subscribe('ip/#', async (m, d) => {
    got.push([m.payload.toString(), d.qos]);
    if (m.payload.toString() === 'two') await gate; // a slow handler holds the acknowledgement
  }, { qos: 2 }), 2);
  const pub = await real(t, b, { clientId: 'ip-pub' });
  await pub.publishAsync('ip/a', 'zero', { qos: 0 });
  await pub.publishAsync('ip/a', 'one', { qos: 1 });
  await pub.publishAsync('ip/a', 'two', { qos: 2 });
  await until('three messages', () => got.length === 3);
  assert.deepEqual(got, [['zero', 0], ['one', 1], ['two', 2]]);
  const session = b.broker.sessions.get('inside')!;
  assert.equal(session.inflight.size, 1, 'the QoS 2 delivery waits for its handler');
  release();
  await until('the QoS 2 delivery completed', () => session.inflight.size === 0);
  await inside.close();
  assert.equal(b.broker.sessions.has('inside'), false, 'a session with expiry 0 ends at close()');
});

test('in-process: a publish reaches MQTT.js subscribers, retained too, through the authorization hooks', async (t) => {
  const b = await broker(t, {
    hooks: [{ authorizePublish: (client, m) => (client.username === 'svc' && m.topic.startsWith('allowed/') ? { ok: true } : { ok: false, reasonCode: 0x87 }) }],
  });
  const sub = await real(t, b, { clientId: 'ip-sub' });
  await sub.subscribeAsync('allowed/#', { qos: 1 });
  const got: string[] = [];
  sub.on('message', (topic, payload) => got.push(`${topic} ${payload}`));
  const svc = await b.broker.client({ clientId: 'svc-1', username: 'svc' });
  assert.equal(await svc.publish('allowed/x', 'hello', { qos: 1 }), 0);
  assert.equal(await svc.publish('allowed/nobody/listens/here', 'x', { qos: 1, retain: true }), 0);
  await assert.rejects(svc.publish('denied/x', 'no', { qos: 1 }), (err: InProcessError) => err.reasonCode === 0x87);
  await assert.rejects(svc.publish('$SYS/x', 'no'), (err: InProcessError) => err.reasonCode === 0x87);
  await assert.rejects(svc.publish('bad/+', 'no'), (err: InProcessError) => err.reasonCode === 0x90);
  await until('the allowed messages', () => got.length === 2);
  assert.deepEqual(got, ['allowed/x hello', 'allowed/nobody/listens/here x']);
  assert.equal(b.broker.retained.match('allowed/#').length, 1);
  const other = await b.broker.client({ clientId: 'svc-2', username: 'intruder' });
  await assert.rejects(other.publish('allowed/x', 'no', { qos: 1 }), (err: InProcessError) => err.reasonCode === 0x87);
});

test('in-process: authorizeSubscribe and read access apply; unsubscribe stops delivery', async (t) => {
  const b = await broker(t, {
    hooks: [
      {
        authorizeSubscribe: (client, s) => (s.topicFilter.startsWith('secret') && client.username !== 'admin' ? { ok: false, reasonCode: 0x87 } : { ok: true }),
        authorizeDelivery: (target, m) => !(m.topic === 'open/hidden' && target.username === 'guest'),
      },
    ],
  });
  const guest = await b.broker.client({ clientId: 'guest', username: 'guest' });
  await assert.rejects(guest.subscribe('secret/#', () => {}), (err: InProcessError) => err.reasonCode === 0x87);
  const got: string[] = [];
  await guest.subscribe('open/#', (m) => void got.push(m.topic), { qos: 1 });
  const pub = await real(t, b, { clientId: 'ip-pub2' });
  await pub.publishAsync('open/hidden', 'x', { qos: 1 });
  await pub.publishAsync('open/shown', 'x', { qos: 1 });
  await until('the shown message', () => got.length >= 1);
  assert.equal(await guest.unsubscribe('open/#'), true);
  assert.equal(await guest.unsubscribe('open/#'), false);
  await pub.publishAsync('open/after', 'x', { qos: 1 });
  // The positive control for "nothing more arrives": a second subscription still receives.
  const later: string[] = [];
  await guest.subscribe('open/control', (m) => void later.push(m.topic));
  await pub.publishAsync('open/control', 'x', { qos: 1 });
  await until('the control message', () => later.length === 1);
  assert.deepEqual(got, ['open/shown']);
});

test('in-process: a network client taking the client id over ends it with 0x8E', async (t) => {
  const b = await broker(t);
  let closed: number | undefined;
  const inside = await b.broker.client({ clientId: 'shared-id', onClose: (code) => (closed = code) });
  await real(t, b, { clientId: 'shared-id' });
  assert.equal(closed, 0x8e);
  assert.equal(inside.connected, false);
  await assert.rejects(inside.publish('x', 'y'), (err: InProcessError) => err.reasonCode === 0x8e);
  assert.equal(b.broker.clients.get('shared-id')?.listener.startsWith('tcp'), true);
});

test('in-process: a persistent session keeps messages while closed, across a restart; a failing handler leaves its message to come again', async (t) => {
  const store = new MemoryStore();
  let b = await startBroker({ store });
  t.after(() => b.close());
  const first = await b.broker.client({ clientId: 'durable', clean: false, sessionExpiry: 3600 });
  let fail = true;
  const seen: string[] = [];
  await first.subscribe('d/#', (m: Message, d) => {
    seen.push(`${m.payload}${d.dup ? ' dup' : ''}`);
    if (fail) throw new Error('not now');
  }, { qos: 1 });
  await b.broker.client({ clientId: 'd-pub' }).then((p) => p.publish('d/1', 'one', { qos: 1 }));
  await until('the first try', () => seen.length === 1);
  await first.close();
  await b.broker.client({ clientId: 'd-pub2' }).then((p) => p.publish('d/2', 'two', { qos: 1 }));
  assert.equal(b.broker.sessions.get('durable')?.queued, 1, 'queued while the client is away');
  await b.close();
  b = await startBroker({ store });
  fail = false;
  const got: string[] = [];
  const again = await b.broker.client({ clientId: 'durable', clean: false, sessionExpiry: 3600, onMessage: (m, d) => void got.push(`${m.payload}${d.dup ? ' dup' : ''}`) });
  await until('both messages', () => got.length === 2);
  assert.deepEqual(got, ['one dup', 'two dup']);
  await until('both acknowledged', () => b.broker.sessions.get('durable')?.inflight.size === 0);
  await again.close();
});
