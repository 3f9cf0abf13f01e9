// The `starling` command's log lines on stdout, written in batches (`log.flushInterval`).
//
// pino's own stdout destination starts a write as soon as a line comes unless one is already
// under way; each write goes through libuv's thread pool and back. In a reconnect storm that
// is a write, two thread hand-offs and a wake-up of the event loop for every few 'client
// connected' lines: on a 2-core machine it cost the broker more than serializing the lines
// did (docs/benchmarks.md, Reconnect storms). Lines collected over the interval, or until
// LOG_BATCH_BYTES of them, go out in one write instead. The price is that a line reaches
// stdout up to the interval late, and that a `kill -9` loses the lines of the last interval
// (any other exit writes them first).

import pino from 'pino';

/** Lines collected beyond this many characters are written at once, before the interval ends. */
export const LOG_BATCH_BYTES = 16 * 1024;

/** Where the batches go: a pino (SonicBoom) destination. */
export interface LogSink {
  write(data: string): unknown;
  flushSync(): void;
}

/** Collects log lines and hands them to `out` in batches; pino writes each line with write(). */
export class BatchedLog {
  private lines: string[] = [];
  private size = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.handOver();
  };

  constructor(
    private readonly out: LogSink,
    private readonly intervalMs: number,
  ) {}

  write(line: string): boolean {
    this.lines.push(line);
    this.size += line.length;
    if (this.size >= LOG_BATCH_BYTES) this.handOver();
    else if (this.timer === undefined) {
      this.timer = setTimeout(this.onTimer, this.intervalMs);
      // Pending lines do not keep the process alive: an exit writes them (flushSync).
      this.timer.unref();
    }
    return true;
  }

  /**
   * Hands what was collected to the destination now (pino's logger.flush() calls this). Like
   * pino's own destination, `done` is called once the lines are handed over, not written.
   */
  flush(done?: (err?: Error) => void): void {
    this.handOver();
    done?.();
  }

  private handOver(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.size = 0;
    this.out.write(text);
  }

  /** Writes everything before the process exits. */
  flushSync(): void {
    this.handOver();
    this.out.flushSync();
  }
}

/**
 * stdout for the broker's logs: batched over `flushIntervalMs`, or pino's own destination,
 * which writes each line as it comes, when it is 0.
 */
export function stdoutLog(flushIntervalMs: number): BatchedLog | pino.DestinationStream {
  const out = pino.destination(1);
  if (flushIntervalMs <= 0) return out;
  const log = new BatchedLog(out, flushIntervalMs);
  process.once('exit', () => {
    try {
      log.flushSync();
    } catch {
      // stdout is gone (a closed pipe): there is nowhere left to write to.
    }
  });
  return log;
}
