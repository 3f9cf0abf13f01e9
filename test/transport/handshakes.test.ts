// The TLS listener's handshake deadline (src/transport/handshakes.ts): one sweep per listener
// in place of Node's socket timer per connection.

import assert from 'node:assert/strict';
import type net from 'node:net';
import { test } from 'node:test';
import { HandshakeDeadlines, sweepPeriod } from '../../src/transport/handshakes.js';

/** Enough of a socket for the sweep: whether it is closed, and destroy(). */
function fakeSocket(): net.Socket & { destroyCalls: number } {
  const s = { destroyed: false, destroyCalls: 0, destroy() { s.destroyed = true; s.destroyCalls++; return s; } };
  return s as unknown as net.Socket & { destroyCalls: number };
}

test('issue 15 item 13: the handshake sweep closes only the sockets past their deadline, once, and forgets completed and closed ones', () => {
  let timedOut = 0;
  const d = new HandshakeDeadlines(1000, () => timedOut++);
  try {
    const [a, b, c, e] = [fakeSocket(), fakeSocket(), fakeSocket(), fakeSocket()];
    d.start(a, 0);
    d.start(b, 100);
    d.start(c, 200);
    d.start(e, 900);
    d.done(b); // handshake completed
    c.destroy(); // the client went away
    d.sweep(999);
    assert.equal(a.destroyCalls, 0, 'not yet due');
    assert.equal(d.size, 4 - 1, 'only the completed one is gone before any is due');
    d.sweep(1150);
    assert.equal(a.destroyCalls, 1);
    assert.equal(b.destroyCalls, 0, 'completed: never closed');
    assert.equal(c.destroyCalls, 1, 'closed by its client, not again by the sweep');
    assert.equal(e.destroyCalls, 0, 'still within its time');
    assert.equal(timedOut, 1);
    assert.equal(d.size, 1);
    d.sweep(1900);
    assert.equal(e.destroyCalls, 1);
    assert.equal(timedOut, 2);
    assert.equal(d.size, 0);
  } finally {
    d.stop();
  }
});

test('issue 15 item 13: the sweep runs every quarter of handshakeTimeout, between 10 ms and 1 s', () => {
  assert.equal(sweepPeriod(10_000), 1000);
  assert.equal(sweepPeriod(300), 75);
  assert.equal(sweepPeriod(1), 10);
});

test('issue 15 item 13: abandoned deadlines close nothing, not even sockets already pending', () => {
  const d = new HandshakeDeadlines(100);
  const a = fakeSocket();
  d.start(a, 0);
  d.abandon();
  d.start(fakeSocket(), 0);
  d.sweep(10_000);
  assert.equal(a.destroyCalls, 0);
  assert.equal(d.size, 0);
});
