// log.flushInterval: the CLI's log lines collected and written to stdout in batches (the
// CLI's end of it, including the lines written at exit, is in test/e2e/cli.test.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { BatchedLog, LOG_BATCH_BYTES } from '../../src/ops/log-destination.js';

/** A destination that records each write it is given. */
function sink(): { writes: string[]; syncs: number; write(s: string): boolean; flushSync(): void } {
  return {
    writes: [],
    syncs: 0,
    write(s: string) {
      this.writes.push(s);
      return true;
    },
    flushSync() {
      this.syncs++;
    },
  };
}

const waitFor = async (cond: () => boolean, ms: number): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('reconnect storm 13: a storm of "client connected" lines reaches the destination in a few large writes, every line in order', async () => {
  const out = sink();
  const batched = new BatchedLog(out, 50);
  const log = pino({ base: { name: 'starling' } }, batched);
  for (let i = 0; i < 2000; i++) {
    log.info({ clientId: `storm-${i}`, remote: `127.0.0.1:${40000 + i}`, listener: 'tcp:127.0.0.1:1883', protocolVersion: 4, clean: true, keepalive: 60, sessionPresent: false }, 'client connected');
  }
  const total = (): string => out.writes.join('');
  await waitFor(() => total().split('\n').length === 2001, 2000);
  const lines = total().trimEnd().split('\n').map((l) => JSON.parse(l) as { clientId: string; msg: string });
  assert.deepEqual(lines.map((l) => l.clientId), Array.from({ length: 2000 }, (_, i) => `storm-${i}`));
  // Each write but the last is at least LOG_BATCH_BYTES; pino's own destination would have
  // started a write for the first line and for each line after a write completed.
  assert.ok(out.writes.length <= Math.ceil(total().length / LOG_BATCH_BYTES) + 1, `${out.writes.length} writes for ${total().length} characters`);
  assert.ok(out.writes.slice(0, -1).every((w) => w.length >= LOG_BATCH_BYTES));
});

test('reconnect storm 13: a lone line is written once the interval has passed, not before', async () => {
  const out = sink();
  const batched = new BatchedLog(out, 40);
  const t0 = performance.now();
  batched.write('{"msg":"listening on 127.0.0.1:1883"}\n');
  assert.deepEqual(out.writes, []);
  await waitFor(() => out.writes.length === 1, 2000);
  assert.ok(performance.now() - t0 >= 35, `written after ${performance.now() - t0} ms`);
  assert.equal(out.writes[0], '{"msg":"listening on 127.0.0.1:1883"}\n');
});

test('reconnect storm 13: flush() hands the lines over at once; flushSync() also writes them synchronously', () => {
  const out = sink();
  const batched = new BatchedLog(out, 60_000);
  batched.write('a\n');
  batched.write('b\n');
  let called = false;
  batched.flush(() => (called = true));
  assert.equal(called, true);
  assert.deepEqual(out.writes, ['a\nb\n']);
  batched.write('c\n');
  batched.flushSync();
  assert.deepEqual(out.writes, ['a\nb\n', 'c\n']);
  assert.equal(out.syncs, 1);
  // Nothing collected: nothing written.
  batched.flush();
  assert.equal(out.writes.length, 2);
});
