// log.pretty: pino's JSON lines as readable text (the CLI's end of it is in test/e2e/cli.test.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { prettyLine, prettyLog } from '../../src/ops/index.js';

test('a pino line becomes time, level, message and the other fields as key=value', () => {
  const time = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  const line = JSON.stringify({ level: 40, time, pid: 1, hostname: 'h', name: 'starling', msg: 'slow client', clientId: 'a b', queued: 3, ok: true });
  assert.equal(prettyLine(line), '03:04:05.678 WARN  slow client clientId="a b" queued=3 ok=true');
});

test('a line that is not JSON passes through unchanged', () => {
  assert.equal(prettyLine('not json {'), 'not json {');
});

test('a logger writing through prettyLog gives one pretty line per entry, also across chunk boundaries', async () => {
  const out: string[] = [];
  const sink = { write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WritableStream;
  const stream = prettyLog(sink);
  const log = pino({ base: { name: 'starling' } }, stream);
  log.info({ clientId: 'c1' }, 'client connected');
  log.error('store failed');
  stream.write('{"level":30,"msg":"split ');
  stream.write('line"}\n');
  await new Promise((r) => stream.end(r));
  const lines = out.join('').split('\n').filter(Boolean);
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO  client connected clientId=c1$/);
  assert.match(lines[1]!, / ERROR store failed$/);
  assert.equal(lines[2], ' INFO  split line');
});
