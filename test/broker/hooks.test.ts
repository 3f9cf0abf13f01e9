// Hooks and embedding: authorizePublish and authorizeSubscribe deny or downgrade, onPublish
// rewrites or drops, async hooks keep each client's packet order, a failing hook never
// brings the broker down; broker.publish() and the broker's events for an embedding program.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProtocolVersion, QoS, Subscription } from '../../src/codec/types.js';
import type { ClientInfo, Hooks, Message } from '../../src/index.js';
import { RawClient, delay, startBroker } from '../helpers/broker.js';
import { broker, raw, real } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';

let nextId = 1;
async function subscribe(c: RawClient, subs: Subscription[]): Promise<number[]> {
  c.send({ type: 'subscribe', packetId: nextId++, subscriptions: subs });
  return (await c.expect('suback')).reasonCodes;
}

function publish(c: RawClient, topic: string, payload: string, qos: QoS = 1, retain = false): void {
  c.send({ type: 'publish', topic, payload: Buffer.from(payload), qos, retain, dup: false, ...(qos > 0 && { packetId: nextId++ }) });
}

const denySecret: Hooks = {
  authorizePublish: (_client, message) => (message.topic.startsWith('secret/') ? { ok: false, reasonCode: 0x87 } : { ok: true }),
};

// --- authorizePublish -----------------------------------------------------------------------

test('a publish denied by authorizePublish gets PUBACK 0x87 and is not delivered (5.0)', async (t) => {
  const b = await broker(t, { hooks: [denySecret] });
  const sub = await raw(t, b);
  await subscribe(sub, [{ topicFilter: '#', qos: 1 }]);
  const pub = await raw(t, b);
  publish(pub, 'secret/plans', 'x');
  assert.equal((await pub.expect('puback')).reasonCode, 0x87);
  publish(pub, 'public/news', 'y');
  assert.equal((await pub.expect('puback')).reasonCode ?? 0, 0);
  const p = await sub.expect('publish');
  assert.equal(p.topic, 'public/news');
  await sub.silent(100);
});

test('a 3.1.1 publish denied by authorizePublish is acknowledged normally but not delivered [MQTT-3.3.5-2]', async (t) => {
  const b = await broker(t, { hooks: [denySecret] });
  const sub = await raw(t, b, { protocolVersion: 4 });
  await subscribe(sub, [{ topicFilter: 'secret/#', qos: 1 }, { topicFilter: 'public/#', qos: 1 }]);
  const pub = await raw(t, b, { protocolVersion: 4 });
  publish(pub, 'secret/plans', 'x', 1);
  const ack = await pub.expect('puback');
  assert.equal(ack.reasonCode ?? 0, 0);
  publish(pub, 'secret/more', 'x', 2);
  await pub.expect('pubrec');
  // Positive control: an allowed message from the same publisher is the first to arrive.
  publish(pub, 'public/news', 'y', 1);
  await pub.expect('puback');
  const p = await sub.expect('publish');
  assert.equal(p.topic, 'public/news');
  sub.send({ type: 'puback', packetId: p.packetId! });
  await sub.silent(200);
});

test('a retained publish denied by authorizePublish is not retained', async (t) => {
  const b = await broker(t, { hooks: [denySecret] });
  const pub = await raw(t, b);
  publish(pub, 'secret/kept', 'x', 1, true);
  assert.equal((await pub.expect('puback')).reasonCode, 0x87);
  assert.equal(b.broker.retained.size, 0);
  // Positive control: an allowed retained publish is retained.
  publish(pub, 'public/kept', 'y', 1, true);
  assert.equal((await pub.expect('puback')).reasonCode, 0x10, 'accepted, No matching subscribers');
  assert.equal(b.broker.retained.size, 1);
});

test('authorizePublish sees who publishes what, and the first denial in hook order wins', async (t) => {
  const seen: Array<[string, string | undefined, string, number]> = [];
  const calls: string[] = [];
  const b = await broker(t, {
    hooks: [
      { authorizePublish: (c, m) => (seen.push([c.id, c.username, m.topic, m.qos]), calls.push('first'), { ok: false, reasonCode: 0x97 }) },
      { authorizePublish: () => (calls.push('second'), { ok: true }) },
    ],
  });
  const pub = await raw(t, b, { clientId: 'who-publishes', username: 'ann' });
  publish(pub, 'any/topic', 'x', 1);
  assert.equal((await pub.expect('puback')).reasonCode, 0x97);
  assert.deepEqual(seen, [['who-publishes', 'ann', 'any/topic', 1]]);
  assert.deepEqual(calls, ['first']);
});

// --- authorizeSubscribe ---------------------------------------------------------------------

for (const [version, name, code] of [[5, '5.0', 0x87], [4, '3.1.1', 0x80]] as Array<[ProtocolVersion, string, number]>) {
  test(`a filter denied by authorizeSubscribe gets 0x${code.toString(16)} while the others are granted (${name})`, async (t) => {
    const b = await broker(t, {
      hooks: [{ authorizeSubscribe: (_c, sub) => (sub.topicFilter.startsWith('secret/') ? { ok: false, reasonCode: 0x87 } : { ok: true }) }],
    });
    const c = await raw(t, b, { protocolVersion: version });
    assert.deepEqual(await subscribe(c, [{ topicFilter: 'open/t', qos: 1 }, { topicFilter: 'secret/t', qos: 1 }]), [1, code]);
    b.broker.publish({ topic: 'secret/t', payload: Buffer.from('x'), qos: 0, retain: false });
    b.broker.publish({ topic: 'open/t', payload: Buffer.from('y'), qos: 0, retain: false });
    assert.equal((await c.expect('publish')).topic, 'open/t');
    await c.silent(100);
  });
}

test('authorizeSubscribe can grant a lower QoS, and messages are then sent at that QoS', async (t) => {
  const b = await broker(t, { hooks: [{ authorizeSubscribe: (_c, sub) => (sub.topicFilter === 'capped/t' ? 0 : { ok: true }) }] });
  const c = await raw(t, b);
  assert.deepEqual(await subscribe(c, [{ topicFilter: 'capped/t', qos: 2 }, { topicFilter: 'full/t', qos: 2 }]), [0, 2]);
  b.broker.publish({ topic: 'capped/t', payload: Buffer.from('x'), qos: 2, retain: false });
  assert.equal((await c.expect('publish')).qos, 0);
});

test('an async authorizeSubscribe is awaited before the SUBACK', async (t) => {
  const b = await broker(t, {
    hooks: [{ authorizeSubscribe: async (_c, sub) => (await delay(30), sub.topicFilter === 'slow/no' ? { ok: false, reasonCode: 0x87 } : 1) }],
  });
  const c = await raw(t, b);
  assert.deepEqual(await subscribe(c, [{ topicFilter: 'slow/yes', qos: 2 }, { topicFilter: 'slow/no', qos: 0 }]), [1, 0x87]);
});

// --- onPublish ------------------------------------------------------------------------------

test('onPublish can rewrite a message: subscribers get the new payload', async (t) => {
  const b = await broker(t, {
    hooks: [{ onPublish: (_c, m): Message => ({ ...m, payload: Buffer.from(m.payload.toString().toUpperCase()) }) }],
  });
  const sub = await real(t, b);
  const got: string[] = [];
  sub.on('message', (_topic, payload) => got.push(payload.toString()));
  await sub.subscribeAsync('rewrite/t', { qos: 1 });
  const pub = await real(t, b);
  await pub.publishAsync('rewrite/t', 'quiet', { qos: 1 });
  await until('the rewritten message', () => got.length === 1);
  assert.deepEqual(got, ['QUIET']);
});

test('onPublish returning null drops the message; the publisher is still acknowledged', async (t) => {
  const b = await broker(t, { hooks: [{ onPublish: (_c, m) => (m.payload.toString() === 'drop me' ? null : undefined) }] });
  const sub = await raw(t, b);
  await subscribe(sub, [{ topicFilter: 'drop/t', qos: 1 }]);
  const pub = await raw(t, b);
  publish(pub, 'drop/t', 'drop me', 1);
  assert.ok(((await pub.expect('puback')).reasonCode ?? 0) < 0x80);
  publish(pub, 'drop/t', 'keep me', 1);
  await pub.expect('puback');
  assert.equal((await sub.expect('publish')).payload.toString(), 'keep me');
  await sub.silent(100);
});

test('onPublish hooks run in the order they were added, each seeing the previous one\'s message', async (t) => {
  const b = await broker(t, {
    hooks: [
      { onPublish: (_c, m) => ({ ...m, payload: Buffer.concat([m.payload, Buffer.from('-a')]) }) },
      { onPublish: async (_c, m) => (await delay(5), { ...m, payload: Buffer.concat([m.payload, Buffer.from('-b')]) }) },
    ],
  });
  const sub = await raw(t, b);
  await subscribe(sub, [{ topicFilter: 'chain/t', qos: 0 }]);
  const pub = await raw(t, b);
  publish(pub, 'chain/t', 'm', 0);
  assert.equal((await sub.expect('publish')).payload.toString(), 'm-a-b');
});

// --- async order and failures ---------------------------------------------------------------

test('async hooks with varying delays keep each client\'s packets in order', async (t) => {
  let n = 0;
  const b = await broker(t, {
    hooks: [{ authorizePublish: async () => (await delay(n++ % 3 === 0 ? 15 : 1), { ok: true }) }],
  });
  const sub = await raw(t, b);
  await subscribe(sub, [{ topicFilter: 'async/#', qos: 1 }]);
  const pub = await raw(t, b);
  // Mixed QoS, then a SUBSCRIBE and a PINGREQ: each waits for the publishes before it.
  for (let i = 0; i < 30; i++) publish(pub, 'async/t', String(i), (i % 3) as QoS);
  pub.send({ type: 'subscribe', packetId: 999, subscriptions: [{ topicFilter: 'async/back', qos: 0 }] });
  pub.send({ type: 'pingreq' });
  const got: string[] = [];
  while (got.length < 30) {
    const p = await sub.expect('publish');
    got.push(p.payload.toString());
    if (p.qos === 1) sub.send({ type: 'puback', packetId: p.packetId! });
    if (p.qos === 2) sub.send({ type: 'pubrec', packetId: p.packetId! });
  }
  assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => String(i)));
  const kinds: string[] = [];
  for (;;) {
    const p = await pub.next();
    if (p.type === 'publish') continue; // nothing published to async/back
    kinds.push(p.type);
    if (p.type === 'pingresp') break;
  }
  assert.deepEqual(kinds, [...Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'puback' : 'pubrec')), 'suback', 'pingresp']);
});

for (const how of ['throws', 'rejects'] as const) {
  test(`an authorizePublish hook that ${how} does not bring the broker down, and the message is not delivered`, async (t) => {
    const fail = (): never => {
      throw new Error('hook bug');
    };
    const b = await broker(t, {
      hooks: [{ authorizePublish: (_c, m) => (m.topic === 'boom' ? (how === 'throws' ? fail() : Promise.reject(new Error('hook bug'))) : { ok: true }) }],
    });
    const sub = await raw(t, b);
    await subscribe(sub, [{ topicFilter: '#', qos: 0 }]);
    const bad = await raw(t, b);
    publish(bad, 'boom', 'x', 1);
    // The publisher is told it failed, one way or the other.
    const answer = await bad.next().catch(() => undefined);
    if (answer !== undefined) {
      const code = answer.type === 'puback' || answer.type === 'disconnect' ? (answer.reasonCode ?? 0) : 0;
      assert.ok(code >= 0x80, `publisher got ${answer.type} 0x${code.toString(16)}`);
    }
    await sub.silent(100);
    // Everyone else carries on.
    const good = await raw(t, b);
    publish(good, 'fine', 'y', 1);
    await good.expect('puback');
    assert.equal((await sub.expect('publish')).topic, 'fine');
  });
}

test('onConnect, onSubscribe and onDisconnect hooks that throw or reject do not disturb the client or the broker', async (t) => {
  const calls: string[] = [];
  const b = await broker(t, {
    hooks: [
      {
        onConnect: (c) => (calls.push(`connect ${c.id}`), Promise.reject(new Error('x'))),
        onSubscribe: (_c, subs, granted) => {
          calls.push(`subscribe ${subs[0]!.topicFilter} ${granted[0]}`);
          throw new Error('y');
        },
        onDisconnect: async (c) => {
          calls.push(`disconnect ${c.id}`);
          throw new Error('z');
        },
      },
    ],
  });
  const c = await raw(t, b, { clientId: 'noisy-hooks' });
  assert.deepEqual(await subscribe(c, [{ topicFilter: 'noisy/t', qos: 1 }]), [1]);
  publish(c, 'noisy/t', 'x', 0);
  await c.expect('publish');
  c.send({ type: 'disconnect' });
  await c.closedByServer();
  await until('three hook calls', () => calls.length === 3);
  assert.deepEqual(calls, ['connect noisy-hooks', 'subscribe noisy/t 1', 'disconnect noisy-hooks']);
  const again = await raw(t, b);
  again.send({ type: 'pingreq' });
  await again.expect('pingresp');
});

// --- embedding --------------------------------------------------------------------------

test('broker.publish() from the program reaches subscribers and returns how many sessions it was handed to', async (t) => {
  const b = await broker(t);
  const got: Array<[string, string, number]> = [];
  for (const qos of [0, 1] as const) {
    const c = await real(t, b);
    c.on('message', (topic, payload, packet) => got.push([topic, payload.toString(), packet.qos]));
    await c.subscribeAsync('embed/#', { qos });
  }
  const handed = b.broker.publish({ topic: 'embed/t', payload: Buffer.from('hello'), qos: 1, retain: false });
  assert.equal(handed, 2);
  await until('both subscribers to get the message', () => got.length === 2);
  assert.deepEqual(got.sort((x, y) => x[2] - y[2]), [['embed/t', 'hello', 0], ['embed/t', 'hello', 1]]);
  assert.equal(b.broker.publish({ topic: 'embed-nobody/t', payload: Buffer.from('x'), qos: 0, retain: false }), 0);
});

test('the broker emits clientConnected, published and clientDisconnected', async (t) => {
  const b = await broker(t);
  const events: string[] = [];
  b.broker.on('clientConnected', (c: ClientInfo) => events.push(`connected ${c.id} v${c.protocolVersion}`));
  b.broker.on('published', (m: Message, c: ClientInfo | undefined) => events.push(`published ${m.topic} ${m.payload.toString()} by ${c?.id ?? 'program'}`));
  b.broker.on('clientDisconnected', (c: ClientInfo) => events.push(`disconnected ${c.id}`));
  const c = await real(t, b, { clientId: 'evented', protocolVersion: 4 });
  await c.publishAsync('events/t', 'from client', { qos: 1 });
  b.broker.publish({ topic: 'events/t', payload: Buffer.from('from program'), qos: 0, retain: false });
  await c.endAsync();
  await until('four broker events', () => events.length === 4);
  assert.deepEqual(events, ['connected evented v4', 'published events/t from client by evented', 'published events/t from program by program', 'disconnected evented']);
});

test('QoS 1 publishes waiting behind an async hook count against the Receive Maximum [MQTT-3.3.4-9]', async () => {
  const tb = await startBroker({
    limits: { receiveMaximum: 2 },
    hooks: [{ authorizePublish: () => new Promise((resolve) => setTimeout(() => resolve({ ok: true }), 100)) }],
  });
  try {
    const c = await RawClient.connect(tb.port, { clientId: 'rm-async' });
    for (let id = 1; id <= 4; id++) {
      c.send({ type: 'publish', topic: 'rm/t', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: id });
    }
    let disconnect;
    for (;;) {
      const p = await c.next(3000);
      if (p.type === 'disconnect') {
        disconnect = p;
        break;
      }
    }
    assert.equal(disconnect.reasonCode, 0x93);
    await c.closedByServer();
  } finally {
    await tb.close();
  }
});

// --- authenticate abstaining ----------------------------------------------------------------

test('hardening 2: an authenticate hook answering undefined abstains: alone, the listener\'s policy decides; beside another hook, that hook does', async (t) => {
  const closed = { listeners: [{ port: 0, host: '127.0.0.1', allowAnonymous: false }] };
  const abstain: Hooks = { authenticate: () => undefined };
  const asyncAbstain: Hooks = { authenticate: async () => undefined };
  const connack = async (b: { port: number }, username?: string): Promise<number> => {
    const c = await RawClient.open(b.port, 5);
    c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: `abstain-${nextId++}`, ...(username !== undefined && { username }) });
    const code = (await c.expect('connack')).reasonCode;
    c.destroy();
    return code;
  };
  for (const hooks of [[abstain], [asyncAbstain], [abstain, asyncAbstain]]) {
    const b = await broker(t, { ...closed, hooks });
    assert.equal(await connack(b), 0x87, 'anonymous on a closed listener');
    assert.equal(await connack(b, 'someone'), 0x86, 'a user name nothing could check');
  }
  const open = await broker(t, { hooks: [abstain] });
  assert.equal(await connack(open), 0, 'anonymous on an open listener');
  const withJwt = await broker(t, { ...closed, hooks: [abstain, { authenticate: (req) => (req.username === 'token-ok' ? { ok: true } : { ok: false, reasonCode: 0x86 }) }] });
  assert.equal(await connack(withJwt, 'token-ok'), 0);
  assert.equal(await connack(withJwt, 'token-bad'), 0x86);
});
