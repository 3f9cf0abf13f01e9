// One behaviour suite for every store: what is written comes back after close and reopen,
// deletes stay deleted, and a session's deletion takes what it owns with it.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { Message, Snapshot, Store } from '../../src/index.js';
import { storeKinds } from './kinds.js';


const message = (topic: string, extra: Partial<Message> = {}): Message => ({ topic, payload: Buffer.from(`payload of ${topic}`), qos: 1, retain: false, ...extra });

async function reopen(make: () => Store, store: Store): Promise<{ store: Store; snap: Snapshot }> {
  await store.close();
  const next = make();
  return { store: next, snap: await next.open() };
}

for (const kind of storeKinds) {
  describe(`store behaviour: ${kind.name}`, () => {
    test('an empty store opens empty', async () => {
      const make = kind.fresh();
      const store = make();
      const snap = await store.open();
      assert.deepEqual(snap.sessions, []);
      assert.equal(snap.messages.size, 0);
      assert.deepEqual(snap.retained, []);
      assert.equal(snap.wills.size, 0);
      await store.close();
    });

    test('sessions, subscriptions, inbound ids and deliveries come back', async () => {
      const make = kind.fresh();
      let store = make();
      await store.open();
      store.putSession({ clientId: 'a', expiryInterval: 3600, username: 'alice' });
      store.putSession({ clientId: 'b', expiryInterval: 60, disconnectedAt: 1_700_000_000_000 });
      store.putSubscription('a', { filter: 'x/+', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 1, subscriptionId: 7 });
      store.putSubscription('a', { filter: 'y/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 });
      store.putInbound('a', 12);
      store.putInbound('a', 13);
      const props = { correlationData: Buffer.from([0, 1, 255]), userProperties: [['k', 'v']] as Array<[string, string]>, contentType: 'text/plain' };
      store.putMessage(1, message('x/1', { properties: props, expiresAt: 1_900_000_000_000, origin: 'pub' }));
      store.putMessage(2, message('x/2', { qos: 2 }));
      store.putDelivery('a', { seq: 5, packetId: 300, messageId: 2, qos: 2, retain: false, state: 'publish' });
      store.putDelivery('a', { seq: 4, packetId: 299, messageId: 1, qos: 1, retain: true, subscriptionIds: [7, 9], state: 'publish' });
      store.putDelivery('b', { seq: 6, packetId: 1, messageId: 1, qos: 1, retain: false, state: 'publish' });
      store.releaseDelivery('a', 300);
      await store.flush();
      const { store: s2, snap } = await reopen(make, store);
      store = s2;
      const a = snap.sessions.find((s) => s.clientId === 'a')!;
      assert.equal(a.expiryInterval, 3600);
      assert.equal(a.username, 'alice');
      assert.equal(a.disconnectedAt, undefined);
      assert.deepEqual(
        [...a.subscriptions].sort((x, y) => x.filter.localeCompare(y.filter)),
        [
          { filter: 'x/+', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 1, subscriptionId: 7 },
          { filter: 'y/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        ],
      );
      assert.deepEqual([...a.inboundQos2].sort(), [12, 13]);
      assert.deepEqual(a.deliveries, [
        { seq: 4, packetId: 299, messageId: 1, qos: 1, retain: true, subscriptionIds: [7, 9], state: 'publish' },
        { seq: 5, packetId: 300, messageId: 2, qos: 2, retain: false, state: 'pubrel' },
      ]);
      const b = snap.sessions.find((s) => s.clientId === 'b')!;
      assert.equal(b.disconnectedAt, 1_700_000_000_000);
      assert.equal(b.deliveries.length, 1);
      const m1 = snap.messages.get(1)!;
      assert.equal(m1.topic, 'x/1');
      assert.equal(m1.payload.toString(), 'payload of x/1');
      assert.deepEqual(m1.properties, props);
      assert.ok(Buffer.isBuffer(m1.properties!.correlationData));
      assert.equal(m1.expiresAt, 1_900_000_000_000);
      assert.equal(m1.origin, 'pub');
      assert.equal(snap.messages.get(2)!.qos, 2);
      await store.close();
    });

    test('deletes stay deleted, and deleting a session takes what it owns', async () => {
      const make = kind.fresh();
      let store = make();
      await store.open();
      store.putSession({ clientId: 'a', expiryInterval: 10 });
      store.putSession({ clientId: 'b', expiryInterval: 10 });
      for (const c of ['a', 'b']) {
        store.putSubscription(c, { filter: 't', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 });
        store.putInbound(c, 1);
      }
      store.putMessage(1, message('t'));
      store.putDelivery('a', { seq: 1, packetId: 1, messageId: 1, qos: 1, retain: false, state: 'publish' });
      store.putDelivery('b', { seq: 2, packetId: 1, messageId: 1, qos: 1, retain: false, state: 'publish' });
      store.putDelivery('b', { seq: 3, packetId: 2, messageId: 1, qos: 1, retain: false, state: 'publish' });
      store.deleteSession('a');
      store.deleteSubscription('b', 't');
      store.deleteInbound('b', 1);
      store.deleteDelivery('b', 1);
      await store.flush();
      let snap: Snapshot;
      ({ store, snap } = await reopen(make, store));
      assert.deepEqual(
        snap.sessions.map((s) => s.clientId),
        ['b'],
      );
      const b = snap.sessions[0]!;
      assert.deepEqual(b.subscriptions, []);
      assert.deepEqual(b.inboundQos2, []);
      assert.deepEqual(b.deliveries.map((d) => d.packetId), [2]);
      store.deleteDelivery('b', 2);
      store.deleteMessage(1);
      ({ store, snap } = await reopen(make, store));
      assert.equal(snap.messages.size, 0);
      assert.deepEqual(snap.sessions[0]!.deliveries, []);
      await store.close();
    });

    test('retained messages: one per topic, replaced and deleted', async () => {
      const make = kind.fresh();
      let store = make();
      await store.open();
      store.putRetained(message('r/1', { retain: true, payload: Buffer.from('old') }));
      store.putRetained(message('r/1', { retain: true, payload: Buffer.from('new'), properties: { payloadFormatIndicator: 1 } }));
      store.putRetained(message('r/2', { retain: true, qos: 0 }));
      store.putRetained(message('r/3', { retain: true }));
      store.deleteRetained('r/3');
      let snap: Snapshot;
      ({ store, snap } = await reopen(make, store));
      const byTopic = new Map(snap.retained.map((m) => [m.topic, m]));
      assert.deepEqual([...byTopic.keys()].sort(), ['r/1', 'r/2']);
      assert.equal(byTopic.get('r/1')!.payload.toString(), 'new');
      assert.equal(byTopic.get('r/1')!.retain, true);
      assert.deepEqual(byTopic.get('r/1')!.properties, { payloadFormatIndicator: 1 });
      assert.equal(byTopic.get('r/2')!.qos, 0);
      await store.close();
    });

    test('wills come back until deleted', async () => {
      const make = kind.fresh();
      let store = make();
      await store.open();
      store.putWill('w1', { message: message('will/1', { qos: 2, retain: true, origin: 'w1' }), delay: 30, username: 'u', protocolVersion: 5 });
      store.putWill('w2', { message: message('will/2'), delay: 0, protocolVersion: 4 });
      store.deleteWill('w2');
      let snap: Snapshot;
      ({ store, snap } = await reopen(make, store));
      assert.deepEqual([...snap.wills.keys()], ['w1']);
      const w = snap.wills.get('w1')!;
      assert.equal(w.delay, 30);
      assert.equal(w.username, 'u');
      assert.equal(w.protocolVersion, 5);
      assert.equal(w.message.topic, 'will/1');
      assert.equal(w.message.qos, 2);
      assert.equal(w.message.retain, true);
      assert.equal(w.message.origin, 'w1');
      await store.close();
    });

    test('flush resolves once the queued records are durable, and is undefined when nothing waits', async () => {
      const make = kind.fresh();
      const store = make();
      await store.open();
      store.putSession({ clientId: 'f', expiryInterval: 1 });
      const f = store.flush();
      if (f !== undefined) await f;
      assert.equal(store.flush(), undefined);
      await store.close();
    });
  });
}
