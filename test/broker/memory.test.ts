// What an idle connection keeps (bench/connections-memory.ts measures it): not its CONNECT
// once the CONNACK is out, and no collections for features it has not used yet.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from '../../src/broker/connection.js';
import { RawClient, delay, startBroker } from '../helpers/broker.js';

test('after the CONNACK a connection keeps its will but not the CONNECT with its password', async () => {
  const tb = await startBroker();
  try {
    const watcher = await RawClient.connect(tb.port, { clientId: 'mem-watch' });
    watcher.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'mem/will', qos: 0 }] });
    await watcher.expect('suback');
    const c = await RawClient.connect(tb.port, {
      clientId: 'mem-idle',
      username: 'u',
      password: Buffer.from('secret'),
      will: { topic: 'mem/will', payload: Buffer.from('gone'), qos: 0, retain: false },
    });
    const conn = tb.broker.clients.get('mem-idle') as Connection;
    assert.equal(conn.connect, undefined);
    assert.equal(conn.will?.payload.toString(), 'gone');
    c.socket.destroy(); // not a normal DISCONNECT: the will goes out [MQTT-3.1.2-8]
    const will = await watcher.expect('publish');
    assert.deepEqual([will.topic, will.payload.toString()], ['mem/will', 'gone']);
    watcher.socket.destroy();
  } finally {
    await tb.close();
  }
});

test('a session allocates subscriptions, in-flight and QoS 2 state only once it uses them', async () => {
  const tb = await startBroker();
  try {
    const a = await RawClient.connect(tb.port, { clientId: 'mem-a' });
    const b = await RawClient.connect(tb.port, { clientId: 'mem-b' });
    const sa = tb.broker.sessions.get('mem-a')!;
    const sb = tb.broker.sessions.get('mem-b')!;
    // Unused, both read as the same shared empty collections.
    assert.equal(sa.subscriptions, sb.subscriptions);
    assert.equal(sa.inflight, sb.inflight);
    assert.deepEqual([sa.subscriptions.size, sa.inflight.size, sa.inboundQos2Count, sa.queued], [0, 0, 0, 0]);

    a.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'mem/t', qos: 1 }] });
    await a.expect('suback');
    b.send({ type: 'publish', topic: 'mem/t', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 7 });
    await b.expect('puback');
    const p = await a.expect('publish');
    assert.notEqual(sa.subscriptions, sb.subscriptions);
    assert.deepEqual([sa.subscriptions.size, sb.subscriptions.size, sa.inflight.size], [1, 0, 1]);
    a.send({ type: 'puback', packetId: p.packetId! });
    b.send({ type: 'publish', topic: 'mem/none', payload: Buffer.from('y'), qos: 2, retain: false, dup: false, packetId: 8 });
    await b.expect('pubrec');
    assert.equal(sb.inboundQos2Count, 1);
    b.send({ type: 'pubrel', packetId: 8 });
    await b.expect('pubcomp');
    for (let i = 0; i < 100 && sa.inflight.size > 0; i++) await delay(10); // a's PUBACK, on its own socket
    assert.deepEqual([sa.inflight.size, sb.inboundQos2Count], [0, 0]);
    a.socket.destroy();
    b.socket.destroy();
  } finally {
    await tb.close();
  }
});
