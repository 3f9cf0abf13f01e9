// The Redis store beyond the shared behaviour suite (test/store/behaviour.test.ts): what it
// writes to Redis. One group commit is one MULTI/EXEC; a message for many sessions is stored
// once; a client's keys share one hash slot; one session reads back on its own.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisStore, StoreKeys } from '../../src/store/index.js';
import type { Message } from '../../src/message.js';
import { RawClient, startBroker } from '../helpers/broker.js';
import { startRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const message = (topic: string): Message => ({ topic, payload: Buffer.from(`payload of ${topic}`), qos: 1, retain: false });

async function execCalls(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  return Number(/cmdstat_exec:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

describe('redis store', () => {
  test('the records of one turn of the event loop go in one MULTI/EXEC, and flush() resolves when Redis answered', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const admin = new Redis(redis.url);
    t.after(() => admin.disconnect());
    const store = new RedisStore({ url: redis.url, node: 'n' });
    await store.open();
    const before = await execCalls(admin);
    for (let i = 1; i <= 50; i++) {
      store.putSession({ clientId: `c${i}`, expiryInterval: 60 });
      store.putMessage(i, message(`t/${i}`));
      store.putDelivery(`c${i}`, { seq: i, packetId: 1, messageId: i, qos: 1, retain: false, state: 'publish' });
    }
    const commits: number[] = [];
    store.onCommit = (_ms, records) => commits.push(records);
    const f = store.flush();
    assert.ok(f instanceof Promise);
    await f;
    assert.equal((await execCalls(admin)) - before, 1);
    assert.equal(commits.length, 1);
    assert.ok(commits[0]! >= 150, `records in the commit: ${commits[0]}`);
    // Durable once resolved: another connection reads it.
    assert.equal(await admin.hexists(store.keys.session('c50'), 'd:1'), 1);
    await store.close();
  });

  test("a client's keys share one hash slot (its id is their hash tag), so one MULTI can hold them on a Redis Cluster", () => {
    const keys = new StoreKeys();
    for (const id of ['c1', 'a:b', 'x{y}']) {
      const tagged = [keys.session(id), keys.will(id), keys.owner(id)].map((k) => /\{([^}]*)\}/.exec(k)?.[1]);
      assert.deepEqual(new Set(tagged).size, 1, `${id}: ${tagged}`);
      assert.notEqual(tagged[0], undefined);
    }
  });

  test('a QoS 1 message for three offline sessions is stored once, and deleted once all three have it', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const admin = new Redis(redis.url);
    t.after(() => admin.disconnect());
    const store = new RedisStore({ url: redis.url, node: 'n' });
    const b = await startBroker({ store });
    t.after(() => b.close());
    const ids = ['s1', 's2', 's3'];
    for (const id of ids) {
      const c = await RawClient.connect(b.port, { clientId: id, clean: false, properties: { sessionExpiryInterval: 600 } });
      c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'once/#', qos: 1 }] });
      await c.expect('suback');
      c.send({ type: 'disconnect', reasonCode: 0 });
      await c.closedByServer();
    }
    b.broker.publish({ topic: 'once/1', payload: Buffer.alloc(1000, 'x'), qos: 1, retain: false });
    await b.broker.durable();
    const messagesKey = store.keys.messages(store.ns);
    assert.equal(await admin.hlen(messagesKey), 1, 'one message record');
    for (const id of ids) assert.deepEqual((await admin.hkeys(store.keys.session(id))).filter((f) => f.startsWith('d:')).length, 1, `${id}: one delivery record`);
    for (const id of ids) {
      const c = await RawClient.connect(b.port, { clientId: id, clean: false, properties: { sessionExpiryInterval: 600 } });
      const p = await c.expect('publish');
      c.send({ type: 'puback', packetId: p.packetId! });
      c.send({ type: 'disconnect', reasonCode: 0 });
      await c.closedByServer();
    }
    await until('the message record to go', async () => (await admin.hlen(messagesKey)) === 0, 5000);
    for (const id of ids) assert.deepEqual((await admin.hkeys(store.keys.session(id))).filter((f) => f.startsWith('d:')), []);
  });

  test('loadSession reads one session with its messages, a handed-over one with its messages inline', async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const store = new RedisStore({ url: redis.url, node: 'n' });
    await store.open();
    store.putSession({ clientId: 'one', expiryInterval: 60, username: 'u' });
    store.putSubscription('one', { filter: 'a/#', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 });
    store.putMessage(7, message('a/7'));
    store.putDelivery('one', { seq: 1, packetId: 3, messageId: 7, qos: 2, retain: false, state: 'publish' });
    store.releaseDelivery('one', 3);
    store.putWill('one', { message: message('will/one'), delay: 5, protocolVersion: 5 });
    await store.flush();
    const loaded = await store.loadSession('one');
    assert.equal(loaded.session?.username, 'u');
    assert.deepEqual(loaded.session?.subscriptions.map((s) => s.filter), ['a/#']);
    assert.equal(loaded.session?.deliveries.length, 1);
    const d = loaded.session!.deliveries[0]!;
    assert.equal(d.state, 'pubrel');
    assert.equal(loaded.messages.get(d.messageId)?.topic, 'a/7');
    assert.equal(loaded.will?.message.topic, 'will/one');

    // Handed over: the session no longer needs this node's message record.
    store.deleteSession('one');
    store.handOver(loaded.session!, loaded.messages);
    store.deleteMessage(7);
    await store.flush();
    const again = await store.loadSession('one');
    assert.equal(again.session?.deliveries[0]?.state, 'pubrel');
    assert.equal(again.messages.get(again.session!.deliveries[0]!.messageId)?.payload.toString(), 'payload of a/7');
    await store.close();
  });
});
