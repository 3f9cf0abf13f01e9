// The failed-login backoff: doubling per consecutive failure from one source, capped,
// forgotten after a quiet spell or a success, with a bounded table of sources.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKOFF_DEFAULTS, FailureBackoff, sourceKey } from '../../src/auth/backoff.js';

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

test('the delay doubles with each consecutive failure from a source, up to the maximum', () => {
  const c = clock();
  const b = new FailureBackoff({}, c.now);
  const delays = Array.from({ length: 8 }, () => b.fail('1.2.3.4'));
  assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  assert.equal(b.fail('5.6.7.8'), 250, 'another source starts afresh');
});

test('defaults: 250 ms doubling to 10 s, 10,000 sources, forgotten after 10 minutes without failure', () => {
  assert.deepEqual({ ...BACKOFF_DEFAULTS }, { initialMs: 250, maxMs: 10_000, maxAddresses: 10_000, forgetAfterMs: 600_000 });
});

test('a success clears the source; a quiet spell longer than forgetAfterMs does too', () => {
  const c = clock();
  const b = new FailureBackoff({ initialMs: 100, forgetAfterMs: 60_000 }, c.now);
  b.fail('a');
  assert.equal(b.fail('a'), 200);
  b.succeeded('a');
  assert.equal(b.fail('a'), 100);
  assert.equal(b.fail('a'), 200);
  c.advance(60_001);
  assert.equal(b.fail('a'), 100);
});

test('the table is bounded: the source that failed longest ago is forgotten first', () => {
  const c = clock();
  const b = new FailureBackoff({ maxAddresses: 3, initialMs: 1 }, c.now);
  b.fail('a');
  b.fail('b');
  b.fail('c');
  b.fail('a'); // a is now the most recent
  b.fail('d'); // b goes
  assert.equal(b.size, 3);
  assert.equal(b.fail('a'), 4, 'a kept its count');
  assert.equal(b.fail('b'), 1, 'b was forgotten');
});

test('sources are hosts without ports; IPv4-mapped addresses as IPv4; IPv6 by /64', () => {
  assert.equal(sourceKey('192.0.2.7:51234'), '192.0.2.7');
  assert.equal(sourceKey('[::ffff:192.0.2.7]:51234'), '192.0.2.7');
  assert.equal(sourceKey('[2001:db8:1:2:3:4:5:6]:1883'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('[2001:db8:1:2::9]:1883'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('[2001:db8::1]:1883'), '2001:db8:0:0::/64');
  assert.equal(sourceKey('[::1]:1883'), '0:0:0:0::/64');
  assert.equal(sourceKey('[fe80::1%eth0]:1883'), 'fe80:0:0:0::/64');
  assert.equal(sourceKey('unix-socket'), 'unix-socket');
});

test('failed() waits out the delay', async () => {
  const b = new FailureBackoff({ initialMs: 40 });
  const start = Date.now();
  await b.failed('x');
  assert.ok(Date.now() - start >= 35);
});
