// 5.0 message features: Message Expiry Interval, Topic Alias in both directions, Receive
// Maximum in both directions, Maximum Packet Size in both directions, and the properties
// that travel with a message (request/response, user properties, payload format, content type).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PublishPacket, Subscription } from '../../src/codec/types.js';
import { RawClient, delay, startBroker, type TestBroker } from '../helpers/broker.js';
import { broker, raw, real, type Ctx } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';

let nextId = 1;
async function subscribe(c: RawClient, sub: Subscription): Promise<void> {
  c.send({ type: 'subscribe', packetId: nextId++, subscriptions: [sub] });
  assert.deepEqual((await c.expect('suback')).reasonCodes, [sub.qos]);
}

async function reconnect(t: Ctx, b: TestBroker, clientId: string): Promise<RawClient> {
  const c = await RawClient.open(b.port);
  t.after(() => c.destroy());
  c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId, properties: { sessionExpiryInterval: 60 } });
  assert.equal((await c.expect('connack')).sessionPresent, true);
  return c;
}

// --- Message Expiry Interval ------------------------------------------------------------

test('a queued message is forwarded with its Message Expiry Interval reduced by the time it waited [MQTT-3.3.2-6]', async (t) => {
  const b = await broker(t);
  const first = await raw(t, b, { clientId: 'expiry-wait', properties: { sessionExpiryInterval: 60 } });
  await subscribe(first, { topicFilter: 'exp/wait', qos: 1 });
  first.send({ type: 'disconnect' });
  await first.closedByServer();
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: 'exp/wait', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 1, properties: { messageExpiryInterval: 10 } });
  await pub.expect('puback');
  await delay(1200);
  const back = await reconnect(t, b, 'expiry-wait');
  const p = await back.expect('publish');
  const interval = p.properties?.messageExpiryInterval;
  assert.ok(interval !== undefined && interval <= 9 && interval >= 7, `interval ${interval}`);
});

test('a queued message whose Message Expiry Interval passes while its subscriber is away is dropped [MQTT-3.3.2-5]', async (t) => {
  const b = await broker(t);
  const first = await raw(t, b, { clientId: 'expiry-drop', properties: { sessionExpiryInterval: 60 } });
  await subscribe(first, { topicFilter: 'exp/drop', qos: 1 });
  first.send({ type: 'disconnect' });
  await first.closedByServer();
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: 'exp/drop', payload: Buffer.from('stale'), qos: 1, retain: false, dup: false, packetId: 1, properties: { messageExpiryInterval: 1 } });
  await pub.expect('puback');
  pub.send({ type: 'publish', topic: 'exp/drop', payload: Buffer.from('lasting'), qos: 1, retain: false, dup: false, packetId: 2 });
  await pub.expect('puback');
  await delay(1200);
  const back = await reconnect(t, b, 'expiry-drop');
  const p = await back.expect('publish');
  assert.equal(p.payload.toString(), 'lasting');
  assert.equal(b.broker.stats.dropped.expired, 1);
});

test('a message without a Message Expiry Interval is forwarded without one', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'exp/none', qos: 0 });
  b.broker.publish({ topic: 'exp/none', payload: Buffer.from('x'), qos: 0, retain: false });
  assert.equal((await sub.expect('publish')).properties?.messageExpiryInterval, undefined);
});

// --- Topic Alias, client to broker ----------------------------------------------------------

test('a client sets a Topic Alias with a topic and then publishes with the alias alone [MQTT-3.3.2-12]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'alias/in/#', qos: 0 });
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: 'alias/in/long/name', payload: Buffer.from('1'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
  pub.send({ type: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
  pub.send({ type: 'publish', topic: 'alias/in/other', payload: Buffer.from('3'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
  pub.send({ type: 'publish', topic: '', payload: Buffer.from('4'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
  const got: string[] = [];
  for (let i = 0; i < 4; i++) {
    const p = await sub.expect('publish');
    got.push(`${p.topic}=${p.payload.toString()}`);
    assert.equal(p.properties?.topicAlias, undefined);
  }
  assert.deepEqual(got, ['alias/in/long/name=1', 'alias/in/long/name=2', 'alias/in/other=3', 'alias/in/other=4']);
});

test('a Topic Alias above the broker\'s Topic Alias Maximum gets DISCONNECT 0x94 [MQTT-3.2.2-17] [MQTT-3.3.2-9]', async (t) => {
  const b = await broker(t, { limits: { topicAliasMaximum: 5 } });
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: 'alias/high', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 6 } });
  assert.equal((await pub.expect('disconnect')).reasonCode, 0x94);
  await pub.closedByServer();
});

test('a Topic Alias of 0 gets DISCONNECT 0x94 Topic Alias invalid, not a plain protocol error [MQTT-3.3.2-8]', async (t) => {
  // Found by the Paho interoperability suite (client_test5.py test_client_topic_alias).
  const b = await broker(t);
  const pub = await raw(t, b);
  // PUBLISH QoS 0, topic "t", properties: Topic Alias (0x23) = 0
  pub.sendRaw('30 07 0001 74 03 23 0000');
  assert.equal((await pub.expect('disconnect')).reasonCode, 0x94);
  await pub.closedByServer();
});

test('a Topic Alias sent to a broker that advertised a Topic Alias Maximum of 0 gets DISCONNECT 0x94 [MQTT-3.2.2-18]', async (t) => {
  const b = await broker(t, { limits: { topicAliasMaximum: 0 } });
  const c = await RawClient.open(b.port);
  t.after(() => c.destroy());
  c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'alias-zero' });
  assert.ok(!(await c.expect('connack')).properties?.topicAliasMaximum, 'the broker advertised topic aliases');
  c.send({ type: 'publish', topic: 'alias/zero', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
  assert.equal((await c.expect('disconnect')).reasonCode, 0x94);
});

test('an empty topic with a Topic Alias that was never set is a protocol error [MQTT-3.3.2-12]', async (t) => {
  const b = await broker(t);
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 2 } });
  assert.equal((await pub.expect('disconnect')).reasonCode, 0x82);
  await pub.closedByServer();
});

test('Topic Alias mappings do not carry over to a new connection [MQTT-3.3.2-7]', async (t) => {
  const b = await broker(t);
  const first = await raw(t, b, { clientId: 'alias-carry', properties: { sessionExpiryInterval: 60 } });
  first.send({ type: 'publish', topic: 'alias/carry', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
  first.send({ type: 'disconnect' });
  await first.closedByServer();
  const second = await reconnect(t, b, 'alias-carry');
  second.send({ type: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
  assert.equal((await second.expect('disconnect')).reasonCode, 0x82);
});

// --- Topic Alias, broker to client ----------------------------------------------------------

test('to a client with a Topic Alias Maximum the broker sends a topic once with an alias, then the alias alone, never above the maximum [MQTT-3.1.2-26] [MQTT-3.3.2-11]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b, { properties: { topicAliasMaximum: 2 } });
  await subscribe(sub, { topicFilter: 'aout/#', qos: 0 });
  const topics = ['aout/a', 'aout/a', 'aout/b', 'aout/c', 'aout/b', 'aout/c', 'aout/a'];
  for (const topic of topics) b.broker.publish({ topic, payload: Buffer.from(topic), qos: 0, retain: false });
  const known = new Map<number, string>();
  for (const [i, topic] of topics.entries()) {
    const p = await sub.expect('publish');
    // The first publish of aout/a sets an alias; the second uses it with an empty topic.
    if (i === 0) assert.deepEqual([p.topic, p.properties?.topicAlias !== undefined], ['aout/a', true]);
    if (i === 1) assert.equal(p.topic, '');
    const alias = p.properties?.topicAlias;
    if (alias !== undefined) {
      assert.ok(alias >= 1 && alias <= 2, `alias ${alias} above the client's maximum`);
      if (p.topic === '') assert.equal(known.get(alias), topic, 'alias used before it was set');
      else known.set(alias, p.topic);
    }
    assert.equal(p.topic === '' ? known.get(alias!) : p.topic, topic);
    assert.equal(p.payload.toString(), topic);
  }
  assert.equal(known.size, 2);
});

test('a message too large for the client does not leave behind a Topic Alias the client never learned', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b, { properties: { topicAliasMaximum: 4, maximumPacketSize: 100 } });
  await subscribe(sub, { topicFilter: 'abig/#', qos: 0 });
  b.broker.publish({ topic: 'abig/t', payload: Buffer.alloc(200), qos: 0, retain: false });
  b.broker.publish({ topic: 'abig/t', payload: Buffer.from('small'), qos: 0, retain: false });
  b.broker.publish({ topic: 'abig/t', payload: Buffer.from('again'), qos: 0, retain: false });
  const first = await sub.expect('publish');
  assert.equal(first.topic, 'abig/t', 'an alias the client never received was used');
  assert.equal(first.payload.toString(), 'small');
  const second = await sub.expect('publish');
  assert.deepEqual([second.topic, second.properties?.topicAlias], ['', first.properties?.topicAlias]);
});

test('a client without a Topic Alias Maximum is sent no Topic Aliases [MQTT-3.1.2-27]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'anone/#', qos: 0 });
  for (let i = 0; i < 3; i++) b.broker.publish({ topic: 'anone/t', payload: Buffer.from('x'), qos: 0, retain: false });
  for (let i = 0; i < 3; i++) {
    const p = await sub.expect('publish');
    assert.equal(p.topic, 'anone/t');
    assert.equal(p.properties?.topicAlias, undefined);
  }
});

test('MQTT.js with a Topic Alias Maximum resolves the broker\'s aliases to the full topics', async (t) => {
  const b = await broker(t);
  const sub = await real(t, b, { properties: { topicAliasMaximum: 4 } });
  const got: string[] = [];
  sub.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
  await sub.subscribeAsync('ajs/#', { qos: 1 });
  const sent: string[] = [];
  for (let i = 0; i < 6; i++) {
    const topic = `ajs/${i % 2}`;
    sent.push(`${topic}=${i}`);
    b.broker.publish({ topic, payload: Buffer.from(String(i)), qos: 1, retain: false });
  }
  await until('6 messages', () => got.length >= 6);
  assert.deepEqual(got, sent);
});

// --- Receive Maximum ------------------------------------------------------------------------

test('the broker never has more QoS 1 messages unacknowledged than the client\'s Receive Maximum; the rest follow as acks come [MQTT-3.3.4-9] [MQTT-4.9.0-2]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b, { properties: { receiveMaximum: 2 } });
  await subscribe(sub, { topicFilter: 'rm/t', qos: 1 });
  for (let i = 0; i < 6; i++) b.broker.publish({ topic: 'rm/t', payload: Buffer.from(String(i)), qos: 1, retain: false });
  const got: string[] = [];
  const a = await sub.expect('publish');
  const c = await sub.expect('publish');
  got.push(a.payload.toString(), c.payload.toString());
  await sub.silent(200);
  const pending = [a, c];
  while (got.length < 6) {
    sub.send({ type: 'puback', packetId: pending.shift()!.packetId! });
    const p = await sub.expect('publish');
    got.push(p.payload.toString());
    pending.push(p);
    assert.equal(sub.packets.length, 0, 'more than one new message for one acknowledgement');
  }
  assert.deepEqual(got, ['0', '1', '2', '3', '4', '5']);
});

test('MQTT.js with Receive Maximum 2 receives all of a burst of QoS 1 messages', async (t) => {
  const b = await broker(t);
  const sub = await real(t, b, { properties: { receiveMaximum: 2 } });
  const got: number[] = [];
  sub.on('message', (_topic, payload) => got.push(Number(payload.toString())));
  await sub.subscribeAsync('rmjs/t', { qos: 1 });
  for (let i = 0; i < 100; i++) b.broker.publish({ topic: 'rmjs/t', payload: Buffer.from(String(i)), qos: 1, retain: false });
  await until('100 messages', () => got.length >= 100);
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
});

test('with its send quota used up the broker still answers PINGREQ, SUBSCRIBE and UNSUBSCRIBE and still sends QoS 0 [MQTT-3.3.4-10] [MQTT-4.9.0-3]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b, { properties: { receiveMaximum: 1 } });
  await subscribe(sub, { topicFilter: 'quota/t', qos: 1 });
  b.broker.publish({ topic: 'quota/t', payload: Buffer.from('held'), qos: 1, retain: false });
  b.broker.publish({ topic: 'quota/t', payload: Buffer.from('waiting'), qos: 1, retain: false });
  const held = await sub.expect('publish');
  sub.send({ type: 'pingreq' });
  await sub.expect('pingresp');
  await subscribe(sub, { topicFilter: 'quota/zero', qos: 0 });
  b.broker.publish({ topic: 'quota/zero', payload: Buffer.from('q0'), qos: 0, retain: false });
  assert.equal((await sub.expect('publish')).payload.toString(), 'q0');
  sub.send({ type: 'unsubscribe', packetId: 50, topicFilters: ['quota/zero'] });
  await sub.expect('unsuback');
  sub.send({ type: 'puback', packetId: held.packetId! });
  assert.equal((await sub.expect('publish')).payload.toString(), 'waiting');
});

test('a client with more unacknowledged QoS 2 publishes than the broker\'s Receive Maximum gets DISCONNECT 0x93 [MQTT-3.3.4-7]', async (t) => {
  const b = await broker(t, { limits: { receiveMaximum: 2 } });
  const pub = await raw(t, b);
  for (const packetId of [1, 2]) {
    pub.send({ type: 'publish', topic: 'rm/in', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, packetId });
    await pub.expect('pubrec');
  }
  pub.send({ type: 'publish', topic: 'rm/in', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, packetId: 3 });
  assert.equal((await pub.expect('disconnect')).reasonCode, 0x93);
  await pub.closedByServer();
});

test('a client completing its QoS 2 flows stays within the broker\'s Receive Maximum however many it sends [MQTT-3.3.4-7]', async (t) => {
  const b = await broker(t, { limits: { receiveMaximum: 2 } });
  const pub = await raw(t, b);
  for (let packetId = 1; packetId <= 10; packetId++) {
    pub.send({ type: 'publish', topic: 'rm/ok', payload: Buffer.from('x'), qos: 2, retain: false, dup: false, packetId });
    await pub.expect('pubrec');
    pub.send({ type: 'pubrel', packetId });
    await pub.expect('pubcomp');
  }
});

// --- Maximum Packet Size --------------------------------------------------------------------

test('a message larger than the client\'s Maximum Packet Size is not sent to it; smaller ones are [MQTT-3.1.2-24]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b, { properties: { maximumPacketSize: 100 } });
  await subscribe(sub, { topicFilter: 'mps/t', qos: 0 });
  b.broker.publish({ topic: 'mps/t', payload: Buffer.alloc(200, 1), qos: 0, retain: false });
  b.broker.publish({ topic: 'mps/t', payload: Buffer.from('small'), qos: 0, retain: false });
  const p = await sub.expect('publish');
  assert.equal(p.payload.toString(), 'small');
  await sub.silent(100);
  assert.equal(b.broker.stats.dropped.too_large, 1);
});

test('a QoS 1 message too large for the client is discarded as if sent: it does not hold the client\'s receive window [MQTT-3.1.2-25]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b, { clientId: 'mps-q1', properties: { maximumPacketSize: 100, receiveMaximum: 1, sessionExpiryInterval: 60 } });
  await subscribe(sub, { topicFilter: 'mps/q1', qos: 1 });
  b.broker.publish({ topic: 'mps/q1', payload: Buffer.alloc(200, 1), qos: 1, retain: false });
  b.broker.publish({ topic: 'mps/q1', payload: Buffer.from('next'), qos: 1, retain: false });
  const p = await sub.expect('publish');
  assert.equal(p.payload.toString(), 'next');
  sub.send({ type: 'puback', packetId: p.packetId! });
  await sub.silent(100);
});

test('a packet larger than the broker\'s maximum gets DISCONNECT 0x95', async (t) => {
  const b = await broker(t, { limits: { maxPacketSize: 1024 } });
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: 'mps/in', payload: Buffer.alloc(2000), qos: 0, retain: false, dup: false });
  assert.equal((await pub.expect('disconnect')).reasonCode, 0x95);
  await pub.closedByServer();
});

test('the broker advertises its Maximum Packet Size and a packet just within it is accepted', async (t) => {
  const b = await broker(t, { limits: { maxPacketSize: 1024 } });
  const c = await RawClient.open(b.port);
  t.after(() => c.destroy());
  c.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'mps-ok' });
  assert.equal((await c.expect('connack')).properties?.maximumPacketSize, 1024);
  // 1024 bytes in all: 3 of fixed header, 8 of topic, 2 of packet id, 1 of property length.
  c.send({ type: 'publish', topic: 'mps/ok', payload: Buffer.alloc(1024 - 3 - 8 - 2 - 1), qos: 1, retain: false, dup: false, packetId: 1 });
  await c.expect('puback');
});

// --- Properties that travel with the message ------------------------------------------------

test('Response Topic and Correlation Data are forwarded unaltered [MQTT-3.3.2-15] [MQTT-3.3.2-16]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'req/t', qos: 0 });
  const pub = await raw(t, b);
  const correlationData = Buffer.from([0, 1, 2, 0xff, 0xfe]);
  pub.send({ type: 'publish', topic: 'req/t', payload: Buffer.from('q'), qos: 0, retain: false, dup: false, properties: { responseTopic: 'resp/ü/1', correlationData } });
  const p = await sub.expect('publish');
  assert.equal(p.properties?.responseTopic, 'resp/ü/1');
  assert.ok(p.properties?.correlationData?.equals(correlationData));
});

test('MQTT.js request/response: the responder answers on the Response Topic with the Correlation Data', async (t) => {
  const b = await broker(t);
  const responder = await real(t, b);
  responder.on('message', (_topic, payload, packet) => {
    const props = packet.properties!;
    void responder.publishAsync(props.responseTopic!, `re:${payload.toString()}`, { qos: 1, properties: { correlationData: props.correlationData! } });
  });
  await responder.subscribeAsync('rpc/add', { qos: 1 });
  const requester = await real(t, b);
  const replies: Array<[string, string]> = [];
  requester.on('message', (_topic, payload, packet) => replies.push([payload.toString(), packet.properties?.correlationData?.toString() ?? '']));
  await requester.subscribeAsync('rpc/replies/me', { qos: 1 });
  await requester.publishAsync('rpc/add', '1+1', { qos: 1, properties: { responseTopic: 'rpc/replies/me', correlationData: Buffer.from('req-7') } });
  await until('the reply', () => replies.length === 1);
  assert.deepEqual(replies, [['re:1+1', 'req-7']]);
});

test('User Properties are forwarded unaltered and in order, repeated names included [MQTT-3.3.2-17] [MQTT-3.3.2-18]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'up/t', qos: 1 });
  const pub = await raw(t, b);
  const userProperties: Array<[string, string]> = [['b', '1'], ['a', '2'], ['b', '3'], ['b', '1'], ['', ''], ['ключ', 'значение']];
  pub.send({ type: 'publish', topic: 'up/t', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 1, properties: { userProperties } });
  await pub.expect('puback');
  const p = await sub.expect('publish');
  assert.deepEqual(p.properties?.userProperties?.map((u) => [...u]), userProperties);
});

test('the Payload Format Indicator and the Content Type are forwarded unaltered [MQTT-3.3.2-4] [MQTT-3.3.2-20]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'pfi/#', qos: 0 });
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: 'pfi/utf8', payload: Buffer.from('{"a":"ü"}'), qos: 0, retain: false, dup: false, properties: { payloadFormatIndicator: 1, contentType: 'application/json; charset=utf-8' } });
  pub.send({ type: 'publish', topic: 'pfi/bytes', payload: Buffer.from([0xff, 0x00]), qos: 0, retain: false, dup: false, properties: { payloadFormatIndicator: 0, contentType: 'application/octet-stream' } });
  const first = await sub.expect('publish');
  assert.equal(first.properties?.payloadFormatIndicator, 1);
  assert.equal(first.properties?.contentType, 'application/json; charset=utf-8');
  const second = await sub.expect('publish');
  assert.equal(second.properties?.payloadFormatIndicator, 0);
  assert.equal(second.properties?.contentType, 'application/octet-stream');
});

test('a QoS 1 payload flagged UTF-8 that is not UTF-8 gets PUBACK 0x99 and is not forwarded', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b);
  await subscribe(sub, { topicFilter: 'pfi/bad', qos: 1 });
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: 'pfi/bad', payload: Buffer.from([0xc3, 0x28]), qos: 1, retain: false, dup: false, packetId: 4, properties: { payloadFormatIndicator: 1 } });
  const ack = await pub.expect('puback');
  assert.equal(ack.packetId, 4);
  assert.equal(ack.reasonCode, 0x99);
  await sub.silent(150);
  // Positive control: a valid UTF-8 payload with the same flag is forwarded to the same subscriber.
  pub.send({ type: 'publish', topic: 'pfi/bad', payload: Buffer.from('ok'), qos: 1, retain: false, dup: false, packetId: 5, properties: { payloadFormatIndicator: 1 } });
  assert.equal((await pub.expect('puback')).reasonCode ?? 0, 0);
  assert.equal((await sub.expect('publish')).payload.toString(), 'ok');
});

test('properties reach each subscriber with its own Subscription Identifier and the shared properties intact', async (t) => {
  const b = await broker(t);
  const one = await raw(t, b);
  one.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'mix/t', qos: 1 }], properties: { subscriptionIdentifier: 1 } });
  await one.expect('suback');
  const two = await raw(t, b);
  two.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'mix/#', qos: 1 }], properties: { subscriptionIdentifier: 2 } });
  await two.expect('suback');
  b.broker.publish({ topic: 'mix/t', payload: Buffer.from('x'), qos: 1, retain: false, properties: { contentType: 'text/plain', userProperties: [['k', 'v']] } });
  const check = (p: PublishPacket, id: number): void => {
    assert.deepEqual(p.properties?.subscriptionIdentifiers, [id]);
    assert.equal(p.properties?.contentType, 'text/plain');
    assert.deepEqual(p.properties?.userProperties?.map((u) => [...u]), [['k', 'v']]);
  };
  check(await one.expect('publish'), 1);
  check(await two.expect('publish'), 2);
});

test('a message the program publishes with only a Message Expiry Interval expires and counts down [MQTT-3.3.2-5] [MQTT-3.3.2-6]', async () => {
  const tb = await startBroker();
  try {
    const sub = await RawClient.connect(tb.port, { clientId: 'prog-exp', clean: true, properties: { sessionExpiryInterval: 60 } });
    sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'prog/exp/+', qos: 1 }] });
    await sub.expect('suback');
    sub.send({ type: 'disconnect' });
    await sub.closedByServer();
    tb.broker.publish({ topic: 'prog/exp/short', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { messageExpiryInterval: 1 } });
    tb.broker.publish({ topic: 'prog/exp/long', payload: Buffer.from('kept'), qos: 1, retain: false, properties: { messageExpiryInterval: 10 } });
    await delay(1200);
    const back = await RawClient.open(tb.port, 5);
    back.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId: 'prog-exp', properties: { sessionExpiryInterval: 60 } });
    await back.expect('connack');
    const p = await back.expect('publish');
    assert.equal(p.topic, 'prog/exp/long');
    assert.ok((p.properties?.messageExpiryInterval ?? 99) <= 9, `interval counted down, got ${p.properties?.messageExpiryInterval}`);
    await back.silent(200);
    back.destroy();
  } finally {
    await tb.close();
  }
});
