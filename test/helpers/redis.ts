// A real Redis (Debian's redis-server) for the cluster tests: started on a free loopback
// port with no persistence file outside its own temporary folder, stopped by its PID.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { canConnect, findExecutable, freePort, have, start, type Proc } from './tools.js';
import { until } from './wait.js';

export const redisServer = findExecutable('redis-server', 'apt-get install redis-server');

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly proc: Proc;
  /** SIGKILL (a crash) or SIGTERM; resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and folder (after stop()). */
  restart(): Promise<TestRedis>;
}

export interface RedisOptions {
  /** `appendonly yes` with `appendfsync always`: what the cluster's durability rests on. */
  readonly appendonly?: boolean;
  /** Extra `--key value` arguments. */
  readonly args?: readonly string[];
  readonly port?: number;
  readonly dir?: string;
}

/**
 * Starts redis-server, or returns undefined when it is missing and the test was skipped
 * (a failure under CI). Stopped after the test.
 */
export async function startRedis(t: TestContext, options: RedisOptions = {}): Promise<TestRedis | undefined> {
  if (!have(t, redisServer)) return undefined;
  const redis: { current: TestRedis } = { current: undefined as unknown as TestRedis };
  await launch(options, redis);
  t.after(async () => {
    await redis.current.stop('SIGKILL');
    rmSync(redis.current.dir, { recursive: true, force: true });
  });
  return redis.current;
}

/** Starts redis-server and puts it in `holder.current` (restarts replace it there). */
async function launch(options: RedisOptions, holder: { current: TestRedis }): Promise<void> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'starling-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no'];
  if (options.appendonly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');
  args.push(...(options.args ?? []));
  const proc = start(redisServer.path!, args, { timeoutMs: 30 * 60_000 });
  await until(`redis-server on port ${port}`, () => canConnect(port), 10_000);
  holder.current = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    proc,
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      proc.kill(signal);
      await proc.exited;
    },
    async restart() {
      await launch({ ...options, port, dir }, holder);
      return holder.current;
    },
  };
}
