// Session ownership (issue: hardening 1): a session belongs to the identity that made it. A
// client with another user name cannot resume it (Clean Start 0) and so cannot receive its
// queued or in-flight messages, which its own ACL may deny; the owner still can. A Clean
// Start by another user takes nothing over: the old session ends, its messages with it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProtocolVersion } from '../../src/codec/types.js';
import type { Hooks } from '../../src/index.js';
import { RawClient } from '../helpers/broker.js';
import { broker, raw } from '../helpers/scenario.js';

// Each user reads only under its own name: alice/#, bob/#.
const acl: Hooks = {
  authenticate: ({ username, password }) => (username !== undefined && password?.toString() === `${username}-pw` ? { ok: true } : { ok: false, reasonCode: 0x86 }),
  authorizeSubscribe: (client, s) => (s.topicFilter.startsWith(`${client.username}/`) ? { ok: true } : { ok: false, reasonCode: 0x87 }),
  authorizeDelivery: (target, m) => m.topic.startsWith(`${target.username}/`),
};

const login = (user: string, version: ProtocolVersion, clean: boolean) => ({
  clientId: 'alice-device',
  username: user,
  password: Buffer.from(`${user}-pw`),
  protocolVersion: version,
  clean,
  ...(version === 5 && { properties: { sessionExpiryInterval: 3600 } }),
});

for (const version of [4, 5] as const) {
  test(`hardening 1: another user cannot resume a session and read its queued and in-flight messages (${version === 5 ? '5.0' : '3.1.1'})`, async (t) => {
    const b = await broker(t, { hooks: [acl] });
    // alice subscribes, takes one message without acknowledging it (in flight), and leaves.
    const alice = await raw(t, b, login('alice', version, false));
    alice.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'alice/#', qos: 1 }] });
    await alice.expect('suback');
    const pub = await raw(t, b, { clientId: 'pub', username: 'alice', password: Buffer.from('alice-pw'), protocolVersion: version });
    pub.send({ type: 'publish', topic: 'alice/inflight', payload: Buffer.from('1'), qos: 1, retain: false, dup: false, packetId: 1 });
    assert.equal((await alice.expect('publish')).topic, 'alice/inflight');
    alice.destroy();
    await alice.closedByServer().catch(() => {});
    pub.send({ type: 'publish', topic: 'alice/queued', payload: Buffer.from('2'), qos: 1, retain: false, dup: false, packetId: 2 });
    await pub.expect('puback');
    await pub.expect('puback');

    // bob, with alice's client id and Clean Start 0: refused, and told nothing of hers.
    const bob = await RawClient.open(b.port, version);
    t.after(() => bob.destroy());
    bob.send({ type: 'connect', protocolName: 'MQTT', keepalive: 0, ...login('bob', version, false) });
    const connack = await bob.expect('connack');
    assert.equal(connack.reasonCode, version === 5 ? 0x87 : 0x05);
    assert.equal(connack.sessionPresent, false);
    await bob.closedByServer();
    assert.deepEqual(bob.packets, [], 'no PUBLISH reached bob');

    // The positive control: alice resumes her session and gets both messages.
    const back = await raw(t, b, login('alice', version, false));
    const first = await back.expect('publish');
    const second = await back.expect('publish');
    assert.deepEqual([first.topic, first.dup, second.topic], ['alice/inflight', true, 'alice/queued']);
  });
}

test('hardening 1: a Clean Start by another user takes the client id but none of the old session', async (t) => {
  const b = await broker(t, { hooks: [acl] });
  const alice = await raw(t, b, login('alice', 5, false));
  alice.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'alice/#', qos: 1 }] });
  await alice.expect('suback');
  alice.destroy();
  await b.broker.publish({ topic: 'alice/queued', payload: Buffer.from('x'), qos: 1, retain: false });
  const bob = await raw(t, b, login('bob', 5, true));
  bob.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'bob/#', qos: 1 }] });
  await bob.expect('suback');
  b.broker.publish({ topic: 'bob/control', payload: Buffer.from('y'), qos: 1, retain: false });
  const p = await bob.expect('publish');
  assert.equal(p.topic, 'bob/control', 'bob gets his own message, and nothing of alice\'s came before it');
  assert.equal(b.broker.sessions.get('alice-device')?.username, 'bob');
  assert.equal(b.broker.sessions.get('alice-device')?.subscriptions.has('alice/#'), false);
});
