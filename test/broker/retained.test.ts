// Retained messages (5.0 section 3.3.1.3 and 3.8.3.1, 3.1.1 section 3.3.1.3): stored per
// topic, replaced, deleted by an empty payload, sent with RETAIN 1 to new subscriptions per
// Retain Handling, RETAIN 0 on live forwarding unless Retain As Published, and expiry.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProtocolVersion, QoS, Subscription } from '../../src/codec/types.js';
import { RETAINED_MESSAGE_OVERHEAD, RETAINED_NODE_OVERHEAD } from '../../src/broker/bounds.js';
import { MemoryRetainedStore } from '../../src/broker/retained.js';
import type { Message } from '../../src/broker/types.js';
import { topicMatches } from '../../src/topics/index.js';
import { RawClient, delay } from '../helpers/broker.js';
import { broker, raw, real } from '../helpers/scenario.js';
import { mulberry32 } from '../../src/cli/bench/random.js';
import { until } from '../helpers/wait.js';

let nextId = 1;
async function subscribe(c: RawClient, sub: Subscription): Promise<void> {
  c.send({ type: 'subscribe', packetId: nextId++, subscriptions: [sub] });
  assert.deepEqual((await c.expect('suback')).reasonCodes, [sub.qos]);
}

/** Publishes with a raw client and waits for the acknowledgement, so the broker has it. */
async function publish(c: RawClient, topic: string, payload: string, retain: boolean, qos: QoS = 1, properties?: { messageExpiryInterval?: number }): Promise<void> {
  const packetId = qos > 0 ? nextId++ : undefined;
  c.send({ type: 'publish', topic, payload: Buffer.from(payload), qos, retain, dup: false, ...(packetId && { packetId }), ...(properties && { properties }) });
  if (qos === 1) await c.expect('puback');
  if (qos === 2) {
    await c.expect('pubrec');
    c.send({ type: 'pubrel', packetId: packetId! });
    await c.expect('pubcomp');
  }
  if (qos === 0) {
    // QoS 0 has no acknowledgement: a PINGRESP proves the broker handled what came before.
    c.send({ type: 'pingreq' });
    await c.expect('pingresp');
  }
}

const versions: Array<[ProtocolVersion, string]> = [
  [5, '5.0'],
  [4, '3.1.1'],
];

for (const [version, name] of versions) {
  const ids = version === 5 ? '[MQTT-3.3.1-5] [MQTT-3.3.1-9]' : '[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8]';
  test(`a retained message is stored and sent with RETAIN 1 to a later subscriber (${name}) ${ids}`, async (t) => {
    const b = await broker(t);
    const pub = await raw(t, b, { protocolVersion: version });
    await publish(pub, 'ret/stored', 'kept', true);
    const sub = await raw(t, b, { protocolVersion: version });
    await subscribe(sub, { topicFilter: 'ret/stored', qos: 1 });
    const p = await sub.expect('publish');
    assert.equal(p.payload.toString(), 'kept');
    assert.equal(p.retain, true);
    assert.equal(p.qos, 1);
  });
}

test('a newer retained message replaces the one stored for its topic (5.0) [MQTT-3.3.1-5]', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b);
  await publish(pub, 'ret/replace', 'old', true);
  await publish(pub, 'ret/replace', 'new', true);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'ret/replace', qos: 1 });
  assert.equal((await sub.expect('publish')).payload.toString(), 'new');
  await sub.silent(150);
});

test('a retained QoS 0 publish replaces the retained message of its topic, and keeps its own QoS (3.1.1) [MQTT-3.3.1-7] [MQTT-3.3.1-5]', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b, { protocolVersion: 4 });
  await publish(pub, 'ret/q0', 'qos1', true, 1);
  await publish(pub, 'ret/q0', 'qos0', true, 0);
  const sub = await raw(t, b, { protocolVersion: 4 });
  await subscribe(sub, { topicFilter: 'ret/q0', qos: 2 });
  const p = await sub.expect('publish');
  assert.equal(p.payload.toString(), 'qos0');
  assert.equal(p.qos, 0);
  await sub.silent(150);
});

for (const [version, name] of versions) {
  const ids = version === 5 ? '[MQTT-3.3.1-6] [MQTT-3.3.1-7]' : '[MQTT-3.3.1-10] [MQTT-3.3.1-11]';
  test(`a retained publish with an empty payload is delivered to current subscribers and deletes the retained message (${name}) ${ids}`, async (t) => {
    const b = await broker(t);
    const pub = await raw(t, b, { protocolVersion: version });
    await publish(pub, 'ret/delete', 'doomed', true);
    const live = await raw(t, b, { protocolVersion: version });
    await subscribe(live, { topicFilter: 'ret/delete', qos: 1 });
    live.send({ type: 'puback', packetId: (await live.expect('publish')).packetId! });
    await publish(pub, 'ret/delete', '', true);
    const p = await live.expect('publish');
    assert.equal(p.payload.length, 0);
    assert.equal(b.broker.retained.size, 0);
    const later = await raw(t, b, { protocolVersion: version });
    await subscribe(later, { topicFilter: 'ret/#', qos: 1 });
    await later.silent(200);
  });
}

for (const [version, name] of versions) {
  const id = version === 5 ? 'MQTT-3.3.1-8' : 'MQTT-3.3.1-12';
  test(`a publish with RETAIN 0 neither stores, replaces nor removes the retained message (${name}) [${id}]`, async (t) => {
    const b = await broker(t);
    const pub = await raw(t, b, { protocolVersion: version });
    await publish(pub, 'ret/plain', 'retained', true);
    await publish(pub, 'ret/plain', 'not retained', false);
    await publish(pub, 'ret/plain', '', false);
    await publish(pub, 'ret/other', 'never retained', false);
    const sub = await raw(t, b, { protocolVersion: version });
    await subscribe(sub, { topicFilter: 'ret/#', qos: 1 });
    const p = await sub.expect('publish');
    assert.equal(p.topic, 'ret/plain');
    assert.equal(p.payload.toString(), 'retained');
    await sub.silent(150);
  });
}

for (const [version, name] of versions) {
  const id = version === 5 ? 'MQTT-3.3.1-12' : 'MQTT-3.3.1-9';
  test(`a retained message forwarded to an existing subscription has RETAIN 0 (${name}) [${id}]`, async (t) => {
    const b = await broker(t);
    const sub = await raw(t, b, { protocolVersion: version });
    await subscribe(sub, { topicFilter: 'ret/live', qos: 1 });
    const pub = await raw(t, b, { protocolVersion: version });
    await publish(pub, 'ret/live', 'now', true);
    const p = await sub.expect('publish');
    assert.equal(p.payload.toString(), 'now');
    assert.equal(p.retain, false);
  });
}

test('with Retain As Published the RETAIN flag is forwarded as the publisher set it [MQTT-3.3.1-13]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'ret/rap', qos: 1, retainAsPublished: true });
  const pub = await raw(t, b);
  await publish(pub, 'ret/rap', 'retained', true);
  await publish(pub, 'ret/rap', 'plain', false);
  const first = await sub.expect('publish');
  assert.deepEqual([first.payload.toString(), first.retain], ['retained', true]);
  sub.send({ type: 'puback', packetId: first.packetId! });
  const second = await sub.expect('publish');
  assert.deepEqual([second.payload.toString(), second.retain], ['plain', false]);
});

test('MQTT.js sees retained messages flagged retain on subscribe and unflagged when live (5.0) [MQTT-3.3.1-9] [MQTT-3.3.1-12]', async (t) => {
  const b = await broker(t);
  const pub = await real(t, b);
  await pub.publishAsync('ret/mqttjs', 'stored', { qos: 1, retain: true });
  const sub = await real(t, b);
  const got: Array<[string, boolean]> = [];
  sub.on('message', (_topic, payload, packet) => got.push([payload.toString(), packet.retain]));
  await sub.subscribeAsync('ret/mqttjs', { qos: 1 });
  await pub.publishAsync('ret/mqttjs', 'live', { qos: 1, retain: true });
  await until('the retained and the live message', () => got.length >= 2);
  assert.deepEqual(got, [['stored', true], ['live', false]]);
});

test('Retain Handling 0 sends the retained messages again when a subscription is replaced [MQTT-3.3.1-9] [MQTT-3.8.4-4]', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b);
  await publish(pub, 'ret/rh0', 'r', true);
  const sub = await raw(t, b);
  for (let i = 0; i < 2; i++) {
    await subscribe(sub, { topicFilter: 'ret/rh0', qos: 0, retainHandling: 0 });
    const p = await sub.expect('publish');
    assert.equal(p.retain, true);
  }
});

test('a 3.1.1 SUBSCRIBE repeating an existing filter sends the retained messages again [MQTT-3.8.4-3]', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b, { protocolVersion: 4 });
  await publish(pub, 'ret/again', 'r', true);
  const sub = await raw(t, b, { protocolVersion: 4 });
  for (let i = 0; i < 2; i++) {
    await subscribe(sub, { topicFilter: 'ret/again', qos: 0 });
    assert.equal((await sub.expect('publish')).payload.toString(), 'r');
  }
});

test('Retain Handling 1 sends retained messages only when the subscription did not exist [MQTT-3.3.1-10]', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b);
  await publish(pub, 'ret/rh1', 'r', true);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'ret/rh1', qos: 0, retainHandling: 1 });
  assert.equal((await sub.expect('publish')).retain, true);
  await subscribe(sub, { topicFilter: 'ret/rh1', qos: 0, retainHandling: 1 });
  await sub.silent(200);
});

test('Retain Handling 2 never sends retained messages on subscribe [MQTT-3.3.1-11]', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b);
  await publish(pub, 'ret/rh2', 'r', true);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'ret/rh2', qos: 0, retainHandling: 2 });
  await sub.silent(200);
  // Live messages still flow.
  await publish(pub, 'ret/rh2', 'live', false);
  assert.equal((await sub.expect('publish')).payload.toString(), 'live');
});

test('a wildcard subscription receives the retained message of every matching topic', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b);
  for (const topic of ['ret/w/a', 'ret/w/b', 'ret/w/c/d', 'ret/x']) await publish(pub, topic, topic, true);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'ret/w/+', qos: 0 });
  const topics = [(await sub.expect('publish')).topic, (await sub.expect('publish')).topic].sort();
  assert.deepEqual(topics, ['ret/w/a', 'ret/w/b']);
  await sub.silent(150);
});

test('a retained message whose Message Expiry Interval has passed is not sent to new subscribers [MQTT-3.3.2-5]', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b);
  await publish(pub, 'ret/expired', 'stale', true, 1, { messageExpiryInterval: 1 });
  await publish(pub, 'ret/fresh', 'fresh', true, 1, { messageExpiryInterval: 60 });
  await delay(1100);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'ret/+', qos: 1 });
  const p = await sub.expect('publish');
  assert.equal(p.topic, 'ret/fresh');
  await sub.silent(150);
});

test('a retained message is sent with its Message Expiry Interval reduced by the time it was stored [MQTT-3.3.2-6]', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b);
  await publish(pub, 'ret/ttl', 'ttl', true, 1, { messageExpiryInterval: 10 });
  await delay(1200);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'ret/ttl', qos: 1 });
  const interval = (await sub.expect('publish')).properties?.messageExpiryInterval;
  assert.ok(interval !== undefined && interval <= 9 && interval >= 7, `interval ${interval}`);
});

test('retained messages outlive the session of the client that published them (3.1.1) [MQTT-3.1.2-7]', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b, { protocolVersion: 4, clean: true });
  await publish(pub, 'ret/outlive', 'still here', true);
  pub.send({ type: 'disconnect' });
  await pub.closedByServer();
  const sub = await raw(t, b, { protocolVersion: 4 });
  await subscribe(sub, { topicFilter: 'ret/outlive', qos: 1 });
  assert.equal((await sub.expect('publish')).payload.toString(), 'still here');
});

test('a retained message from broker.publish() is stored and sent to later subscribers', async (t) => {
  const b = await broker(t);
  b.broker.publish({ topic: 'ret/embedded', payload: Buffer.from('from the program'), qos: 1, retain: true });
  const sub = await real(t, b);
  const got: string[] = [];
  sub.on('message', (_topic, payload) => got.push(payload.toString()));
  await sub.subscribeAsync('ret/embedded', { qos: 1 });
  await until('the retained message', () => got.length > 0);
  assert.deepEqual(got, ['from the program']);
});

// The store itself: wildcard filters walk a tree of topic levels (retained-trie.ts). These
// check it against the reference matcher, topicMatches.

const retainedMessage = (topic: string, payload = topic, expiresAt?: number): Message => ({
  topic,
  payload: Buffer.from(payload),
  qos: 0,
  retain: true,
  ...(expiresAt !== undefined && { expiresAt }),
});
const topicsOf = (messages: readonly Message[]): string[] => messages.map((m) => m.topic).sort();

for (const seed of [1, 2, 3]) {
  test(`retained store: match agrees with topicMatches on random topics and filters, through churn (seed ${seed}) [MQTT-4.7.2-1]`, () => {
    const rand = mulberry32(seed);
    const int = (n: number): number => Math.floor(rand() * n);
    // A small alphabet, so filters and topics meet often; '' makes empty levels, '$x' and
    // '$SYS' exercise [MQTT-4.7.2-1].
    const LEVELS = ['a', 'b', 'ab', '', '$x', '$SYS'];
    const level = (): string => LEVELS[int(LEVELS.length)];
    const topic = (): string => Array.from({ length: 1 + int(5) }, level).join('/');
    const filter = (): string => {
      const n = 1 + int(5);
      const levels = Array.from({ length: n }, () => (rand() < 0.3 ? '+' : level()));
      if (rand() < 0.3) levels[n - 1] = '#';
      const f = levels.join('/');
      return rand() < 0.1 ? `$share/g/${f}` : f;
    };
    const store = new MemoryRetainedStore();
    const held = new Set<string>();
    for (let round = 0; round < 20; round++) {
      // Churn: mostly stores, some deletes (empty payload), some replacements.
      for (let i = 0; i < 100; i++) {
        const t = topic();
        if (rand() < 0.3) {
          store.set(retainedMessage(t, ''));
          held.delete(t);
        } else {
          store.set(retainedMessage(t, `${round}`));
          held.add(t);
        }
      }
      assert.equal(store.size, held.size);
      for (let i = 0; i < 100; i++) {
        const f = filter();
        const expected = [...held].filter((t) => topicMatches(f, t)).sort();
        assert.deepEqual(topicsOf(store.match(f)), expected, `filter ${JSON.stringify(f)}`);
      }
    }
    for (const t of held) store.set(retainedMessage(t, ''));
    assert.equal(store.size, 0);
    assert.equal(store.bytes, 0);
    assert.equal(store.payloadBytes, 0);
    assert.equal(store.nodeCount, 0);
  });
}

test('retained store: a filter starting with a wildcard does not match topics starting with $ [MQTT-4.7.2-1]', () => {
  const store = new MemoryRetainedStore();
  for (const t of ['$SYS/broker/uptime', '$x', 'a/$x', 'a']) store.set(retainedMessage(t));
  assert.deepEqual(topicsOf(store.match('#')), ['a', 'a/$x']);
  assert.deepEqual(topicsOf(store.match('+')), ['a']);
  assert.deepEqual(topicsOf(store.match('+/+/uptime')), []);
  assert.deepEqual(topicsOf(store.match('$SYS/#')), ['$SYS/broker/uptime']);
  assert.deepEqual(topicsOf(store.match('$SYS/+/uptime')), ['$SYS/broker/uptime']);
  assert.deepEqual(topicsOf(store.match('a/+')), ['a/$x']);
});

test('retained store: a/# matches a itself and everything below it (section 4.7.1.2)', () => {
  const store = new MemoryRetainedStore();
  for (const t of ['a', 'a/b', 'a/b/c', 'ab', 'b/a']) store.set(retainedMessage(t));
  assert.deepEqual(topicsOf(store.match('a/#')), ['a', 'a/b', 'a/b/c']);
  assert.deepEqual(topicsOf(store.match('a/b/#')), ['a/b', 'a/b/c']);
  assert.deepEqual(topicsOf(store.match('+/#')), ['a', 'a/b', 'a/b/c', 'ab', 'b/a']);
  assert.deepEqual(topicsOf(store.match('a/+/#')), ['a/b', 'a/b/c']);
});

test('retained store: empty levels are levels, for + and # alike', () => {
  const store = new MemoryRetainedStore();
  for (const t of ['a//b', '/a', '/', 'a/', 'a/b']) store.set(retainedMessage(t));
  assert.deepEqual(topicsOf(store.match('a/+/b')), ['a//b']);
  assert.deepEqual(topicsOf(store.match('+/a')), ['/a']);
  assert.deepEqual(topicsOf(store.match('+/+')), ['/', '/a', 'a/', 'a/b']);
  assert.deepEqual(topicsOf(store.match('/#')), ['/', '/a']);
  assert.deepEqual(topicsOf(store.match('a/+')), ['a/', 'a/b']);
  assert.deepEqual(topicsOf(store.match('a//#')), ['a/', 'a//b']);
  assert.deepEqual(topicsOf(store.match('/')), ['/']);
});

test('retained store: deleting messages prunes the emptied branches, and keeps the bytes and count right', () => {
  const store = new MemoryRetainedStore();
  store.set(retainedMessage('a/b/c/d', 'xyz'));
  store.set(retainedMessage('a/b', 'pq'));
  store.set(retainedMessage('a/x', 'r'));
  assert.equal(store.nodeCount, 5);
  assert.equal(store.payloadBytes, 6);
  // Payloads, topics, a fixed cost per message and per trie node (bounds.ts).
  assert.equal(store.bytes, 6 + 'a/b/c/d'.length + 'a/b'.length + 'a/x'.length + 3 * RETAINED_MESSAGE_OVERHEAD + 5 * RETAINED_NODE_OVERHEAD);
  store.set(retainedMessage('a/b/c/d', ''));
  // a/b holds a message: the prune stops there.
  assert.equal(store.nodeCount, 3);
  assert.deepEqual(topicsOf(store.match('a/#')), ['a/b', 'a/x']);
  store.set(retainedMessage('a/b', 'longer'));
  assert.equal(store.payloadBytes, 7);
  assert.equal(store.bytes, 7 + 'a/b'.length + 'a/x'.length + 2 * RETAINED_MESSAGE_OVERHEAD + 3 * RETAINED_NODE_OVERHEAD);
  store.set(retainedMessage('a/b', ''));
  store.set(retainedMessage('a/x', ''));
  store.set(retainedMessage('never/held', ''));
  assert.equal(store.nodeCount, 0);
  assert.equal(store.size, 0);
  assert.equal(store.bytes, 0);
  assert.deepEqual(store.match('#'), []);
});

test('retained store: a wildcard match drops expired messages and prunes their branches [MQTT-3.3.2-5]', () => {
  const store = new MemoryRetainedStore();
  store.set(retainedMessage('e/old/x', 'old', Date.now() - 1));
  store.set(retainedMessage('e/new', 'new', Date.now() + 60_000));
  store.set(retainedMessage('e/kept', 'kept'));
  assert.deepEqual(topicsOf(store.match('e/#')), ['e/kept', 'e/new']);
  assert.equal(store.size, 2);
  assert.equal(store.payloadBytes, 7);
  assert.equal(store.nodeCount, 3);
  // At the bound, the sweep drops expired messages to make room.
  store.set(retainedMessage('e/new', 'new', Date.now() - 1));
  assert.equal(store.admits(retainedMessage('e/more'), 2, 0), true);
  assert.equal(store.size, 1);
  assert.equal(store.nodeCount, 2);
});

test('retained store: the payload is copied off the buffer it came in', () => {
  const store = new MemoryRetainedStore();
  const chunk = Buffer.from('abc');
  store.set({ topic: 'copy/a', payload: chunk, qos: 0, retain: true });
  chunk.write('xyz');
  assert.equal(store.match('copy/+')[0]!.payload.toString(), 'abc');
});

test('retained store: a topic thousands of levels deep is stored, matched and deleted without deep recursion', () => {
  const store = new MemoryRetainedStore();
  const deep = '/'.repeat(60_000);
  store.set(retainedMessage(deep));
  store.set(retainedMessage(`${deep}x`));
  assert.equal(store.match('#').length, 2);
  assert.equal(store.match(`${'+/'.repeat(60_000)}x`).length, 1);
  store.set(retainedMessage(deep, ''));
  store.set(retainedMessage(`${deep}x`, ''));
  assert.equal(store.nodeCount, 0);
});

test('hardening 5: retained store: admits counts a new topic\'s name and the trie nodes it adds, as bytes then counts them', () => {
  const store = new MemoryRetainedStore();
  store.set(retainedMessage('s/a/b', 'x'));
  const held = store.bytes;
  assert.equal(held, 1 + 5 + RETAINED_MESSAGE_OVERHEAD + 3 * RETAINED_NODE_OVERHEAD);
  // s/a/c adds one node (c); s/z/y/x three.
  const near = 1 + 5 + RETAINED_MESSAGE_OVERHEAD + RETAINED_NODE_OVERHEAD;
  assert.equal(store.admits(retainedMessage('s/a/c', 'x'), 0, held + near), true);
  assert.equal(store.admits(retainedMessage('s/a/c', 'x'), 0, held + near - 1), false);
  const far = 1 + 7 + RETAINED_MESSAGE_OVERHEAD + 3 * RETAINED_NODE_OVERHEAD;
  assert.equal(store.admits(retainedMessage('s/z/y/x', 'x'), 0, held + far), true);
  assert.equal(store.admits(retainedMessage('s/z/y/x', 'x'), 0, held + far - 1), false);
  // s/a holds no message but its node exists: it adds no node.
  assert.equal(store.admits(retainedMessage('s/a', 'x'), 0, held + 1 + 3 + RETAINED_MESSAGE_OVERHEAD), true);
  store.set(retainedMessage('s/a', 'x'));
  assert.equal(store.bytes, held + 1 + 3 + RETAINED_MESSAGE_OVERHEAD);
  // A replacement no larger always fits, even over the bound.
  assert.equal(store.admits(retainedMessage('s/a/b', 'y'), 0, 1), true);
});
