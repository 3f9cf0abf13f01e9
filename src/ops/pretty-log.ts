// `log.pretty`: pino's JSON lines turned into one short human-readable line each, for a
// terminal. Written here rather than taken from pino-pretty: the format is small, and the
// broker's dependencies stay few.
//
//   06:31:02.118 INFO  client connected clientId=sensor-1 remote=127.0.0.1:50312 protocolVersion=5

import { Writable } from 'node:stream';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, shown in their own place or not at all. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

/** Formats one pino JSON line; a line that is not JSON passes through unchanged. */
export function prettyLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (entry === null || typeof entry !== 'object') return line;
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const level = LEVELS[entry.level as number] ?? String(entry.level);
  let out = `${time} ${level} ${typeof entry.msg === 'string' ? entry.msg : ''}`;
  for (const [key, value] of Object.entries(entry)) {
    if (HIDDEN.has(key) || value === undefined) continue;
    const text = typeof value === 'string' && !/[\s"=]/.test(value) && value !== '' ? value : JSON.stringify(value);
    out += ` ${key}=${text}`;
  }
  return out;
}

/** A stream for BrokerOptions.logDestination that writes pretty lines to `out`. */
export function prettyLog(out: NodeJS.WritableStream = process.stdout): Writable {
  let partial = '';
  return new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, done) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      if (lines.length > 0) out.write(lines.map(prettyLine).join('\n') + '\n');
      done();
    },
    final(done) {
      if (partial !== '') out.write(prettyLine(partial) + '\n');
      done();
    },
  });
}
