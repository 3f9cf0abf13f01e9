// A member restarted at once under its name (systemd's Restart=always) while a session that
// moved to it lately is still a ghost on its old member: the old member passes back copies
// of what reached it, among them messages the restarted member's last run had delivered to
// the session directly. The last run recorded the forward ids of those deliveries with them
// (store.noteForward, in the same commit); the new run reads them back and drops such a copy
// (docs/clustering-sessions.md, "No route gap while a session moves").

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/store/index.js';
import { encodeMessage } from '../../src/cluster/wire.js';
import type { Message } from '../../src/message.js';
import { startRedis } from '../helpers/redis.js';
import { openStoreMember } from './nodes.js';

/** A forward frame as a member sends it (router.ts): one record for the receiver's subscribers, with its forward id. */
function forwardFrame(origin: string, id: string, message: Message): Buffer {
  const body = encodeMessage(message);
  const head = Buffer.alloc(2);
  head.writeUInt16BE(Buffer.byteLength(origin));
  const record = Buffer.alloc(3);
  record.writeUInt8(0, 0); // to the subscribers
  record.writeUInt16BE(Buffer.byteLength(id), 1);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([head, Buffer.from(origin), record, Buffer.from(id), len, body]);
}

test('the Redis store keeps the forward ids noted with a session\'s deliveries across a restart, and drops them after forwardsWindow', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const admin = new Redis(redis.url);
  t.after(() => admin.disconnect());
  const first = new RedisStore({ url: redis.url, node: 'rf-1' });
  await first.open();
  first.putSession({ clientId: 'rf-s', expiryInterval: 60 });
  first.noteForward('rf-s', 'run-a.1');
  first.noteForward('rf-s', 'run-a.2');
  await first.flush();
  await first.close();

  const again = new RedisStore({ url: redis.url, node: 'rf-1' });
  again.forwardsWindow = 300;
  await again.open();
  t.after(() => again.close());
  assert.deepEqual([...(again.restoredForwards.get('rf-s') ?? [])].sort(), ['run-a.1', 'run-a.2']);
  // The session itself reads as before: the extra fields are not a delivery or anything else.
  const snapshot = await again.loadSession('rf-s');
  assert.equal(snapshot.session?.deliveries.length, 0);
  await new Promise((r) => setTimeout(r, 500));
  await again.flush();
  assert.equal(again.restoredForwards.size, 0);
  assert.deepEqual(await admin.hkeys(again.keys.session('rf-s')), ['s']);
});

test('a restarted member drops a passed-on copy of a message its last run delivered to the session, and delivers one it did not', { timeout: 30_000 }, async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  // The last run: the session, moved here lately, had message run-a.7 delivered (noted).
  const before = new RedisStore({ url: redis.url, node: 'rf-n' });
  await before.open();
  before.putSession({ clientId: 'rf-sub', expiryInterval: 300 });
  before.putSubscription('rf-sub', { filter: 'rf/#', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 });
  before.noteForward('rf-sub', 'run-a.7');
  await before.flush();
  await before.close();
  const admin = new Redis(redis.url);
  t.after(() => admin.disconnect());
  await admin.hset(before.keys.owner('rf-sub'), 'node', 'rf-n', 'epoch', '1');

  // The new run, and the old member's copies arriving in its inbox.
  const m = await openStoreMember(redis.url, 'rf-n');
  try {
    const message = (text: string) => ({ topic: 'rf/x', payload: Buffer.from(text), qos: 2 as const, retain: false });
    m.sessions.clientRecord('rf-sub', 'run-a.7', message('delivered by the last run'));
    m.sessions.clientRecord('rf-sub', 'run-a.8', message('never delivered'));
    // A message another member routes to this one directly, and the old member's ghost
    // passes on too, after the restart: once (the session counts as just arrived).
    m.broker.cluster.router.receive(forwardFrame('rf-other', 'run-b.1', message('direct, then passed on')));
    m.sessions.clientRecord('rf-sub', 'run-b.1', message('direct, then passed on'));
    assert.equal(m.sessions.handoverStats.duplicates, 2);
    assert.equal(m.sessions.handoverStats.delivered, 1);
    const session = m.broker.sessions.get('rf-sub')!;
    const queued: string[] = [];
    session.forEachOutbound((out) => queued.push(out.message.payload.toString()));
    assert.deepEqual(queued, ['never delivered', 'direct, then passed on']);
  } finally {
    await m.broker.close();
  }
});
