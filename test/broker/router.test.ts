// The Router interface, one suite run against the local router and against a decorator
// that wraps it (as a cluster router will): the results are the same, and a broker built
// with the decorator cannot tell. Sessions here have fake peers, no sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QoS } from '../../src/codec/types.js';
import type { Message } from '../../src/message.js';
import { LocalRouter, type Router, type SubscriptionEntry } from '../../src/broker/router.js';
import { Session } from '../../src/broker/session.js';
import type { DeliveryPeer } from '../../src/broker/peer.js';
import type { StoredSubscription } from '../../src/store/types.js';
import { broker, real } from '../helpers/scenario.js';

/** Passes everything to the router it wraps and records each call, as a cluster router would announce them. */
class Recording implements Router {
  readonly calls: string[] = [];
  constructor(private readonly inner: Router) {}
  get size(): number {
    return this.inner.size;
  }
  subscribe(session: Session, sub: StoredSubscription): SubscriptionEntry {
    this.calls.push(`+${session.clientId} ${sub.filter}`);
    return this.inner.subscribe(session, sub);
  }
  unsubscribe(session: Session, filter: string): boolean {
    this.calls.push(`-${session.clientId} ${filter}`);
    return this.inner.unsubscribe(session, filter);
  }
  publish(message: Message): number {
    this.calls.push(`>${message.topic}`);
    return this.inner.publish(message);
  }
}

interface Got {
  topic: string;
  qos: QoS;
  retain: boolean;
  ids: number[] | undefined;
}

function online(id: string): { session: Session; got: Got[] } {
  const got: Got[] = [];
  const peer: DeliveryPeer = {
    sendWindow: 100,
    congested: false,
    sendPublish: (m, qos, retain, ids) => (got.push({ topic: m.topic, qos, retain, ids }), true),
    sendPubrel: () => {},
    disconnect: () => {},
  };
  const session = new Session(id, { maxInflight: 100, maxQueuedMessages: 100, maxQueuedBytes: 1 << 20 }, () => {});
  session.resume(peer);
  return { session, got };
}

const sub = (filter: string, qos: QoS, extra: Partial<StoredSubscription> = {}): StoredSubscription => ({
  filter,
  qos,
  noLocal: false,
  retainAsPublished: false,
  retainHandling: 0,
  ...extra,
});

const message = (topic: string, qos: QoS, extra: Partial<Message> = {}): Message => ({ topic, payload: Buffer.from('x'), qos, retain: false, ...extra });

for (const [name, make] of [
  ['local router', () => new LocalRouter()],
  ['decorated router', () => new Recording(new LocalRouter())],
] as Array<[string, () => Router]>) {
  test(`${name}: overlapping subscriptions give one copy at the highest QoS with every identifier [MQTT-3.3.4-2], [MQTT-3.3.4-3]`, () => {
    const router = make();
    const a = online('a');
    router.subscribe(a.session, sub('x/+', 0, { subscriptionId: 1 }));
    router.subscribe(a.session, sub('x/#', 2, { subscriptionId: 2 }));
    assert.equal(router.publish(message('x/y', 2)), 1);
    assert.deepEqual(a.got.map((g) => [g.topic, g.qos, g.ids?.sort()]), [['x/y', 2, [1, 2]]]);
    assert.equal(router.size, 2);
  });

  test(`${name}: No Local keeps a message from its publisher [MQTT-3.8.3-3]; Retain As Published keeps the flag [MQTT-3.3.1-12]`, () => {
    const router = make();
    const a = online('a');
    const b = online('b');
    router.subscribe(a.session, sub('n/#', 1, { noLocal: true }));
    router.subscribe(b.session, sub('n/#', 1, { retainAsPublished: true }));
    assert.equal(router.publish(message('n/1', 1, { origin: 'a', retain: true })), 1);
    assert.equal(a.got.length, 0);
    assert.deepEqual(b.got.map((g) => [g.topic, g.retain]), [['n/1', true]]);
    // The positive control: a message from someone else reaches a.
    router.publish(message('n/2', 1, { origin: 'b' }));
    assert.deepEqual(a.got.map((g) => g.topic), ['n/2']);
  });

  test(`${name}: a shared group takes turns between its members`, () => {
    const router = make();
    const a = online('a');
    const b = online('b');
    router.subscribe(a.session, sub('$share/g/s/#', 1));
    router.subscribe(b.session, sub('$share/g/s/#', 1));
    for (let i = 0; i < 4; i++) assert.equal(router.publish(message(`s/${i}`, 1)), 1);
    assert.equal(a.got.length, 2);
    assert.equal(b.got.length, 2);
  });

  test(`${name}: unsubscribe removes a subscription once; a replaced one counts once [MQTT-3.8.4-3]`, () => {
    const router = make();
    const a = online('a');
    router.subscribe(a.session, sub('u/1', 0));
    router.subscribe(a.session, sub('u/1', 1));
    assert.equal(router.size, 1);
    router.publish(message('u/1', 1));
    assert.deepEqual(a.got.map((g) => g.qos), [1], 'the replacing subscription holds');
    assert.equal(router.unsubscribe(a.session, 'u/1'), true);
    assert.equal(router.unsubscribe(a.session, 'u/1'), false);
    assert.equal(router.publish(message('u/1', 1)), 0);
    assert.equal(a.got.length, 1);
    assert.equal(router.size, 0);
  });
}

test('a broker routing through a decorator works as before, and the decorator sees every subscription change and publish', async (t) => {
  let recording: Recording | undefined;
  const b = await broker(t, { router: (local) => (recording = new Recording(local)) });
  assert.ok(recording);
  assert.equal(b.broker.router, recording);
  const sub = await real(t, b, { clientId: 'deco-sub' });
  await sub.subscribeAsync('deco/#', { qos: 1 });
  const got = new Promise<string>((resolve) => sub.on('message', (topic, payload) => resolve(`${topic} ${payload}`)));
  const pub = await real(t, b, { clientId: 'deco-pub' });
  await pub.publishAsync('deco/a', 'hi', { qos: 1 });
  assert.equal(await got, 'deco/a hi');
  await sub.unsubscribeAsync('deco/#');
  await sub.subscribeAsync('deco/again', { qos: 0 });
  await sub.endAsync();
  // The session ended with its connection: its remaining subscription left through the router too.
  for (let i = 0; i < 50 && !recording.calls.includes('-deco-sub deco/again'); i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(recording.calls, ['+deco-sub deco/#', '>deco/a', '-deco-sub deco/#', '+deco-sub deco/again', '-deco-sub deco/again']);
  assert.equal(b.broker.router.size, 0);
});
