// QoS 0, 1 and 2 in both directions (5.0 section 4.3, 3.1.1 section 4.3): packet
// identifiers, acknowledgement flows, exactly-once delivery of inbound QoS 2, and the QoS a
// subscriber receives.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectPacket, QoS } from '../../src/codec/types.js';
import { RawClient, delay, type TestBroker } from '../helpers/broker.js';
import { broker, raw, real, type Ctx } from '../helpers/scenario.js';
import { until } from '../helpers/wait.js';

/** CONNECT options for a session that outlives its connection, in 5.0 or 3.1.1. */
function persistent(clientId: string, protocolVersion: 5 | 4, clean = true): Partial<ConnectPacket> {
  return protocolVersion === 5
    ? { clientId, protocolVersion, clean, properties: { sessionExpiryInterval: 60 } }
    : { clientId, protocolVersion, clean: false };
}

/** Reconnects to a persistent session and checks that it was resumed. */
async function resume(t: Ctx, b: TestBroker, clientId: string, protocolVersion: 5 | 4): Promise<RawClient> {
  const c = await RawClient.open(b.port, protocolVersion);
  t.after(() => c.destroy());
  c.send({ type: 'connect', protocolName: 'MQTT', keepalive: 0, ...persistent(clientId, protocolVersion, false) } as ConnectPacket);
  assert.equal((await c.expect('connack')).sessionPresent, true);
  return c;
}

const VERSIONS = [[5, '5.0'], [4, '3.1.1']] as const;

async function subscribe(c: RawClient, topicFilter: string, qos: QoS, packetId = 1): Promise<void> {
  c.send({ type: 'subscribe', packetId, subscriptions: [{ topicFilter, qos }] });
  const ack = await c.expect('suback');
  assert.deepEqual(ack.reasonCodes, [qos]);
}

for (const [version, name] of VERSIONS) {
  test(`a QoS 0 message is forwarded with QoS 0 and DUP 0 (${name}) [MQTT-4.3.1-1]`, async (t) => {
    const b = await broker(t);
    const sub = await raw(t, b, { protocolVersion: version });
    await subscribe(sub, 'q0/t', 2);
    const pub = await raw(t, b, { protocolVersion: version });
    pub.send({ type: 'publish', topic: 'q0/t', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    const p = await sub.expect('publish');
    assert.equal(p.qos, 0);
    assert.equal(p.dup, false);
    assert.equal(p.packetId, undefined);
  });
}

for (const [version, name] of VERSIONS) {
  const ids = version === 5 ? '[MQTT-4.3.2-4] [MQTT-3.3.4-1] [MQTT-2.2.1-5]' : '[MQTT-4.3.2-2] [MQTT-3.3.4-1] [MQTT-2.3.1-6]';
  test(`an inbound QoS 1 PUBLISH is answered by a PUBACK with its packet identifier (${name}) ${ids}`, async (t) => {
    const b = await broker(t);
    const pub = await raw(t, b, { protocolVersion: version });
    pub.send({ type: 'publish', topic: 'q1/in', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 4242 });
    const ack = await pub.expect('puback');
    assert.equal(ack.packetId, 4242);
  });
}

test('after its PUBACK a QoS 1 packet identifier is reused for a new message, which is delivered again [MQTT-4.3.2-5]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b);
  await subscribe(sub, 'q1/reuse', 1);
  const pub = await raw(t, b);
  for (const body of ['first', 'second']) {
    pub.send({ type: 'publish', topic: 'q1/reuse', payload: Buffer.from(body), qos: 1, retain: false, dup: body === 'second', packetId: 7 });
    assert.equal((await pub.expect('puback')).packetId, 7);
    const p = await sub.expect('publish');
    assert.equal(p.payload.toString(), body);
    sub.send({ type: 'puback', packetId: p.packetId! });
  }
});

test('the broker sends QoS 1 with a non-zero packet identifier, DUP 0, unique among those in flight [MQTT-2.2.1-4] [MQTT-4.3.2-1] [MQTT-4.3.2-2]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b);
  await subscribe(sub, 'q1/ids', 1);
  for (let i = 0; i < 20; i++) b.broker.publish({ topic: 'q1/ids', payload: Buffer.from(String(i)), qos: 1, retain: false });
  const ids = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const p = await sub.expect('publish');
    assert.equal(p.qos, 1);
    assert.equal(p.dup, false);
    assert.ok(p.packetId !== undefined && p.packetId > 0 && p.packetId <= 0xffff, `packet id ${p.packetId}`);
    ids.add(p.packetId);
  }
  // None acknowledged: all twenty are in flight at once, so their ids must all differ.
  assert.equal(ids.size, 20);
});

test('packet identifiers are reused once acknowledged but never while still in flight, and 0 is never used [MQTT-2.2.1-4]', async (t) => {
  const b = await broker(t, { limits: { maxInflight: 64 } });
  const sub = await raw(t, b);
  await subscribe(sub, 'q1/wrap', 1);
  // The first delivery stays unacknowledged for the whole test; every other one is acked
  // on arrival. Past 65,535 deliveries the identifiers must wrap round and skip the held one.
  const total = 66_000;
  let received = 0;
  let held = 0;
  let reused = 0;
  const seen = new Set<number>();
  const drain = async (): Promise<void> => {
    while (received < total) {
      const p = await sub.expect('publish', 5000);
      const id = p.packetId!;
      assert.ok(id > 0, 'packet id 0');
      assert.notEqual(id, held, `id ${id} reused while its first message is unacknowledged`);
      if (seen.has(id)) reused++;
      seen.add(id);
      received++;
      if (held === 0) held = id;
      else sub.send({ type: 'puback', packetId: id });
    }
  };
  const done = drain();
  for (let sent = 0; sent < total; sent += 1000) {
    for (let i = 0; i < 1000; i++) b.broker.publish({ topic: 'q1/wrap', payload: Buffer.from('x'), qos: 1, retain: false });
    while (received < sent) await delay(1);
  }
  await done;
  assert.equal(received, total);
  assert.ok(reused > 0, 'packet identifiers never wrapped round to be reused');
});

for (const version of [5, 4] as const) {
  const id = version === 5 ? 'MQTT-3.8.4-8' : 'MQTT-3.8.4-6';
  test(`a subscriber receives each message at the lower of the published and the granted QoS (${version === 5 ? '5.0' : '3.1.1'}) [${id}]`, async (t) => {
    const b = await broker(t);
    const sub = await raw(t, b, { protocolVersion: version });
    for (const granted of [0, 1, 2] as const) await subscribe(sub, `min/${granted}`, granted, granted + 1);
    const pub = await raw(t, b, { protocolVersion: version });
    for (const published of [0, 1, 2] as const) {
      for (const granted of [0, 1, 2] as const) {
        const packetId = published === 0 ? undefined : 100 + granted;
        pub.send({ type: 'publish', topic: `min/${granted}`, payload: Buffer.from(`${published}`), qos: published, retain: false, dup: false, ...(packetId && { packetId }) });
        if (published === 1) await pub.expect('puback');
        if (published === 2) {
          await pub.expect('pubrec');
          pub.send({ type: 'pubrel', packetId: packetId! });
          await pub.expect('pubcomp');
        }
        const p = await sub.expect('publish');
        assert.equal(p.topic, `min/${granted}`);
        assert.equal(p.qos, Math.min(published, granted), `published ${published}, granted ${granted}`);
        if (p.qos === 1) sub.send({ type: 'puback', packetId: p.packetId! });
        if (p.qos === 2) {
          sub.send({ type: 'pubrec', packetId: p.packetId! });
          await sub.expect('pubrel');
          sub.send({ type: 'pubcomp', packetId: p.packetId! });
        }
      }
    }
  });
}

test('the broker sends QoS 2 with a fresh identifier and DUP 0, answers PUBREC with PUBREL of the same id, and PUBCOMP ends it [MQTT-4.3.3-1] [MQTT-4.3.3-2] [MQTT-4.3.3-4] [MQTT-2.2.1-5]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b, { properties: { receiveMaximum: 1 } });
  await subscribe(sub, 'q2/out', 2);
  b.broker.publish({ topic: 'q2/out', payload: Buffer.from('a'), qos: 2, retain: false });
  b.broker.publish({ topic: 'q2/out', payload: Buffer.from('b'), qos: 2, retain: false });
  const p = await sub.expect('publish');
  assert.equal(p.qos, 2);
  assert.equal(p.dup, false);
  assert.ok(p.packetId! > 0);
  sub.send({ type: 'pubrec', packetId: p.packetId! });
  const rel = await sub.expect('pubrel');
  assert.equal(rel.packetId, p.packetId);
  // With a window of one, the second message waits for the PUBCOMP, not for the PUBREC.
  await sub.silent(150);
  sub.send({ type: 'pubcomp', packetId: p.packetId! });
  const second = await sub.expect('publish');
  assert.equal(second.payload.toString(), 'b');
});

for (const [version, name] of VERSIONS) {
  const ids = version === 5 ? '[MQTT-4.3.2-3] [MQTT-4.4.0-1] [MQTT-3.3.1-1]' : '[MQTT-4.3.2-1] [MQTT-4.4.0-1] [MQTT-3.3.1-1]';
  test(`an unacknowledged QoS 1 message is kept and sent again with DUP 1 and the same id when the session resumes, not before (${name}) ${ids}`, async (t) => {
    const b = await broker(t);
    const clientId = `q1-resume-${version}`;
    const first = await raw(t, b, persistent(clientId, version));
    await subscribe(first, 'q1/resume', 1);
    b.broker.publish({ topic: 'q1/resume', payload: Buffer.from('m'), qos: 1, retain: false });
    const p = await first.expect('publish');
    assert.equal(p.dup, false);
    await first.silent(300); // no retransmission on the same connection
    first.destroy();
    await delay(50);
    const again = await resume(t, b, clientId, version);
    const resent = await again.expect('publish');
    assert.equal(resent.packetId, p.packetId);
    assert.equal(resent.dup, true);
    assert.equal(resent.payload.toString(), 'm');
    again.send({ type: 'puback', packetId: resent.packetId! });
    await again.silent(200);
  });
}

for (const [version, name] of VERSIONS) {
  const ids = version === 5 ? '[MQTT-4.3.3-5] [MQTT-4.3.3-6] [MQTT-4.4.0-1]' : '[MQTT-4.3.3-1] [MQTT-4.4.0-1] [MQTT-2.3.1-6]';
  test(`once PUBREL is sent the broker resends PUBREL with the same id, never the PUBLISH, until PUBCOMP arrives (${name}) ${ids}`, async (t) => {
    const b = await broker(t);
    const clientId = `q2-pubrel-resume-${version}`;
    const first = await raw(t, b, persistent(clientId, version));
    await subscribe(first, 'q2/resume', 2);
    b.broker.publish({ topic: 'q2/resume', payload: Buffer.from('m'), qos: 2, retain: false });
    const p = await first.expect('publish');
    assert.deepEqual([p.qos, p.dup], [2, false]);
    first.send({ type: 'pubrec', packetId: p.packetId! });
    assert.equal((await first.expect('pubrel')).packetId, p.packetId);
    first.destroy();
    await delay(50);
    const again = await resume(t, b, clientId, version);
    const rel = await again.expect('pubrel');
    assert.equal(rel.packetId, p.packetId);
    again.send({ type: 'pubcomp', packetId: p.packetId! });
    await again.silent(200);
  });
}

test('a QoS 2 PUBLISH already sent is completed after a reconnection even though its Message Expiry Interval has passed [MQTT-4.3.3-7]', async (t) => {
  const b = await broker(t);
  const clientId = 'q2-expiry';
  const first = await raw(t, b, { clientId, clean: true, properties: { sessionExpiryInterval: 60 } });
  await subscribe(first, 'q2/expiry', 2);
  b.broker.publish({ topic: 'q2/expiry', payload: Buffer.from('m'), qos: 2, retain: false, properties: { messageExpiryInterval: 1 }, expiresAt: Date.now() + 1000 });
  const p = await first.expect('publish');
  first.destroy();
  await delay(1200);
  const again = await RawClient.open(b.port);
  t.after(() => again.destroy());
  again.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId, properties: { sessionExpiryInterval: 60 } });
  await again.expect('connack');
  const resent = await again.expect('publish');
  assert.equal(resent.packetId, p.packetId);
  assert.equal(resent.dup, true);
});

for (const [ack, code] of [['puback', 1], ['pubrec', 2]] as const) {
  test(`a ${ack.toUpperCase()} with reason code 0x80 acknowledges the message: it is not sent again on reconnection [MQTT-4.4.0-2]`, async (t) => {
    const b = await broker(t);
    const clientId = `refuse-${ack}`;
    const first = await raw(t, b, { clientId, clean: true, properties: { sessionExpiryInterval: 60 } });
    await subscribe(first, 'refuse/t', code);
    b.broker.publish({ topic: 'refuse/t', payload: Buffer.from('m'), qos: code, retain: false });
    const p = await first.expect('publish');
    first.send({ type: ack, packetId: p.packetId!, reasonCode: 0x80 });
    await first.silent(150); // in particular no PUBREL after a failed PUBREC
    first.destroy();
    await delay(50);
    const again = await RawClient.open(b.port);
    t.after(() => again.destroy());
    again.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId, properties: { sessionExpiryInterval: 60 } });
    assert.equal((await again.expect('connack')).sessionPresent, true);
    await again.silent(200);
  });
}

for (const version of [5, 4, 3] as const) {
  const name = { 5: '5.0', 4: '3.1.1', 3: '3.1' }[version];
  const ids = version === 5 ? '[MQTT-4.3.3-8] [MQTT-4.3.3-10] [MQTT-4.3.3-11]' : version === 4 ? '[MQTT-4.3.3-2]' : '';
  test(`an inbound QoS 2 PUBLISH sent again with DUP 1 before PUBREL is acknowledged again but delivered once (${name}) ${ids}`.trim(), async (t) => {
    const b = await broker(t);
    const sub = await raw(t, b, { protocolVersion: version });
    await subscribe(sub, 'q2/once', 2);
    const pub = await raw(t, b, { protocolVersion: version });
    const publish = { type: 'publish', topic: 'q2/once', payload: Buffer.from('only once'), qos: 2, retain: false, dup: false, packetId: 11 } as const;
    pub.send(publish);
    assert.equal((await pub.expect('pubrec')).packetId, 11);
    pub.send({ ...publish, dup: true });
    assert.equal((await pub.expect('pubrec')).packetId, 11);
    pub.send({ type: 'pubrel', packetId: 11 });
    assert.equal((await pub.expect('pubcomp')).packetId, 11);
    const p = await sub.expect('publish');
    assert.equal(p.payload.toString(), 'only once');
    sub.send({ type: 'pubrec', packetId: p.packetId! });
    await sub.expect('pubrel');
    sub.send({ type: 'pubcomp', packetId: p.packetId! });
    await sub.silent(200);
  });
}

test('a persistent session remembers an inbound QoS 2 id across a reconnection: the resent PUBLISH is not delivered again [MQTT-4.3.3-10]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b);
  await subscribe(sub, 'q2/across', 0);
  const clientId = 'q2-across';
  const first = await raw(t, b, { clientId, properties: { sessionExpiryInterval: 60 } });
  const publish = { type: 'publish', topic: 'q2/across', payload: Buffer.from('once'), qos: 2, retain: false, dup: false, packetId: 21 } as const;
  first.send(publish);
  await first.expect('pubrec');
  assert.equal((await sub.expect('publish')).payload.toString(), 'once');
  first.destroy();
  await delay(50);
  const again = await RawClient.open(b.port);
  t.after(() => again.destroy());
  again.send({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: false, keepalive: 0, clientId, properties: { sessionExpiryInterval: 60 } });
  assert.equal((await again.expect('connack')).sessionPresent, true);
  again.send({ ...publish, dup: true });
  assert.equal((await again.expect('pubrec')).packetId, 21);
  again.send({ type: 'pubrel', packetId: 21 });
  const comp = await again.expect('pubcomp');
  assert.equal(comp.reasonCode ?? 0, 0);
  await sub.silent(200);
});

test('after PUBCOMP an inbound QoS 2 packet identifier starts a new message [MQTT-4.3.3-12]', async (t) => {
  const b = await broker(t);
  const sub = await raw(t, b);
  await subscribe(sub, 'q2/new', 0);
  const pub = await raw(t, b);
  for (const body of ['one', 'two']) {
    pub.send({ type: 'publish', topic: 'q2/new', payload: Buffer.from(body), qos: 2, retain: false, dup: false, packetId: 5 });
    await pub.expect('pubrec');
    pub.send({ type: 'pubrel', packetId: 5 });
    await pub.expect('pubcomp');
    assert.equal((await sub.expect('publish')).payload.toString(), body);
  }
});

test('after a PUBREC of 0x80 or above an inbound QoS 2 packet identifier starts a new message [MQTT-4.3.3-9]', async (t) => {
  const b = await broker(t, { hooks: [{ authorizePublish: (_c, m) => (m.payload.toString() === 'deny' ? { ok: false, reasonCode: 0x87 } : { ok: true }) }] });
  const sub = await raw(t, b);
  await subscribe(sub, 'q2/refused', 0);
  const pub = await raw(t, b);
  pub.send({ type: 'publish', topic: 'q2/refused', payload: Buffer.from('deny'), qos: 2, retain: false, dup: false, packetId: 9 });
  assert.equal((await pub.expect('pubrec')).reasonCode, 0x87);
  pub.send({ type: 'publish', topic: 'q2/refused', payload: Buffer.from('allow'), qos: 2, retain: false, dup: false, packetId: 9 });
  const rec = await pub.expect('pubrec');
  assert.equal(rec.reasonCode ?? 0, 0);
  pub.send({ type: 'pubrel', packetId: 9 });
  await pub.expect('pubcomp');
  assert.equal((await sub.expect('publish')).payload.toString(), 'allow');
});

test('a 5.0 PUBREL for an unknown packet identifier is answered by PUBCOMP 0x92 [MQTT-4.3.3-11]', async (t) => {
  const b = await broker(t);
  const c = await raw(t, b);
  c.send({ type: 'pubrel', packetId: 321 });
  const comp = await c.expect('pubcomp');
  assert.equal(comp.packetId, 321);
  assert.equal(comp.reasonCode, 0x92);
});

for (const protocolVersion of [5, 4] as const) {
  test(`MQTT.js clients exchange QoS 2 messages exactly once, in order (${protocolVersion === 5 ? '5.0' : '3.1.1'})`, async (t) => {
    const b = await broker(t);
    const sub = await real(t, b, { protocolVersion });
    const got: string[] = [];
    sub.on('message', (_topic, payload) => got.push(payload.toString()));
    await sub.subscribeAsync('q2/mqttjs', { qos: 2 });
    const pub = await real(t, b, { protocolVersion });
    const sent = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await Promise.all(sent.map((m) => pub.publishAsync('q2/mqttjs', m, { qos: 2 })));
    await until('50 messages', () => got.length >= sent.length);
    await delay(100);
    assert.deepEqual(got, sent);
  });
}
