// A Session and the router driven through their interfaces with a fake peer: no socket, no
// broker. What a session sends, in which order and under which packet id, is the same for
// any DeliveryPeer (a network connection, an in-process client, later an MQTT-SN client).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QoS } from '../../src/codec/types.js';
import type { Message } from '../../src/message.js';
import type { DeliveryPeer } from '../../src/broker/peer.js';
import { Session, type DropReason } from '../../src/broker/session.js';

interface Sent {
  kind: 'publish' | 'pubrel';
  topic?: string;
  qos?: QoS;
  packetId: number;
  dup?: boolean;
  ids?: number[] | undefined;
}

class FakePeer implements DeliveryPeer {
  readonly sent: Sent[] = [];
  congested = false;
  /** Messages whose payload is longer than this are refused as too large. */
  maxPayload = Infinity;
  disconnected: number | undefined;
  constructor(readonly sendWindow = 2) {}
  sendPublish(message: Message, qos: QoS, _retain: boolean, ids: number[] | undefined, packetId: number, dup: boolean): boolean {
    if (message.payload.length > this.maxPayload) return false;
    this.sent.push({ kind: 'publish', topic: message.topic, qos, packetId, dup, ids });
    return true;
  }
  sendPubrel(packetId: number): void {
    this.sent.push({ kind: 'pubrel', packetId });
  }
  disconnect(reasonCode: number): void {
    this.disconnected = reasonCode;
  }
}

const LIMITS = { maxInflight: 1024, maxQueuedMessages: 3, maxQueuedBytes: 1 << 20 };

function session(): { s: Session; drops: DropReason[] } {
  const drops: DropReason[] = [];
  return { s: new Session('fake', LIMITS, (r) => drops.push(r)), drops };
}

const msg = (topic: string, qos: QoS = 1, size = 1): Message => ({ topic, payload: Buffer.alloc(size), qos, retain: false });

test('QoS 0: sent to a peer, dropped (and counted) when the peer is congested or absent', () => {
  const { s, drops } = session();
  s.deliver(msg('none', 0), 0, false, undefined);
  const peer = new FakePeer();
  s.resume(peer);
  s.deliver(msg('a', 0), 0, false, undefined);
  peer.congested = true;
  s.deliver(msg('b', 0), 0, false, undefined);
  assert.deepEqual(peer.sent.map((x) => x.topic), ['a']);
  assert.deepEqual(drops, ['offline_qos0', 'backpressure']);
});

test('QoS 1: the send window holds the rest in order; each PUBACK lets the next go [MQTT-4.4.0-1]', () => {
  const { s } = session();
  const peer = new FakePeer(2);
  s.resume(peer);
  for (const t of ['m1', 'm2', 'm3', 'm4']) s.deliver(msg(t), 1, false, undefined);
  assert.deepEqual(peer.sent.map((x) => x.topic), ['m1', 'm2']);
  assert.equal(s.queued, 2);
  assert.equal(s.complete(peer.sent[0]!.packetId, 'publish'), true);
  assert.deepEqual(peer.sent.map((x) => x.topic), ['m1', 'm2', 'm3']);
  assert.equal(s.complete(12345, 'publish'), false, 'an unknown packet id is not a completion');
  // Distinct packet ids for messages in flight [MQTT-2.2.1-3].
  assert.equal(new Set(peer.sent.map((x) => x.packetId)).size, 3);
});

test('a congested peer holds QoS 1 in the queue until pump() is called after it drains', () => {
  const { s } = session();
  const peer = new FakePeer(10);
  s.resume(peer);
  peer.congested = true;
  s.deliver(msg('held'), 1, false, undefined);
  assert.equal(peer.sent.length, 0);
  peer.congested = false;
  s.pump();
  assert.deepEqual(peer.sent.map((x) => x.topic), ['held']);
});

test('the queue bound drops the newest message, counted as queue_full', () => {
  const { s, drops } = session();
  for (const t of ['q1', 'q2', 'q3', 'q4']) s.deliver(msg(t), 1, false, undefined);
  assert.equal(s.queued, 3);
  assert.deepEqual(drops, ['queue_full']);
  const peer = new FakePeer(10);
  s.resume(peer);
  assert.deepEqual(peer.sent.map((x) => x.topic), ['q1', 'q2', 'q3']);
});

test('QoS 2: PUBREC moves a delivery to PUBREL, which a new peer is sent again; PUBCOMP ends it [MQTT-4.3.3-4]', () => {
  const { s } = session();
  const first = new FakePeer(10);
  s.resume(first);
  s.deliver(msg('two', 2), 2, false, [7]);
  s.deliver(msg('unacked', 2), 2, false, undefined);
  const [a, b] = first.sent;
  assert.deepEqual(a!.ids, [7]);
  assert.equal(s.received(a!.packetId, false), true);
  // The peer goes; the session is taken over by another one.
  const second = new FakePeer(10);
  s.resume(second);
  assert.deepEqual(
    second.sent.map((x) => [x.kind, x.packetId, x.dup]),
    [
      ['pubrel', a!.packetId, undefined],
      ['publish', b!.packetId, true],
    ],
    'in their original order, the unacknowledged PUBLISH with DUP set',
  );
  assert.equal(s.complete(a!.packetId, 'publish'), false, 'a QoS 2 delivery is not completed by PUBACK');
  assert.equal(s.complete(a!.packetId, 'pubrel'), true);
  assert.equal(s.inflight.size, 1);
});

test('a PUBREC with a failure code ends the exchange and frees the id; no PUBREL follows', () => {
  const { s } = session();
  const peer = new FakePeer(1);
  s.resume(peer);
  s.deliver(msg('refused', 2), 2, false, undefined);
  s.deliver(msg('next', 2), 2, false, undefined);
  assert.equal(s.received(peer.sent[0]!.packetId, true), true);
  assert.deepEqual(peer.sent.map((x) => [x.kind, x.topic]), [['publish', 'refused'], ['publish', 'next']]);
});

test('a message too large for the peer is discarded as if delivered [MQTT-3.1.2-25], and the next one goes', () => {
  const { s } = session();
  const peer = new FakePeer(1);
  peer.maxPayload = 10;
  s.resume(peer);
  s.deliver(msg('big', 1, 100), 1, false, undefined);
  s.deliver(msg('small', 1, 1), 1, false, undefined);
  assert.deepEqual(peer.sent.map((x) => x.topic), ['small']);
  assert.equal(s.inflight.size, 1);
});
