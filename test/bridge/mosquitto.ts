// A real Mosquitto (Debian's `mosquitto`) for the bridge tests: started on a free loopback
// port with a generated config in its own temporary folder, stopped by its PID, restartable
// on the same port and folder (its persistence file there keeps its sessions).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { canConnect, findExecutable, freePort, have, start, type Proc } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

export const mosquittoBroker = findExecutable('mosquitto', 'apt-get install mosquitto');

export interface TestMosquitto {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  proc: Proc;
  /** SIGTERM (Mosquitto saves its persistence file) or SIGKILL; resolves once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port, folder and config. */
  restart(): Promise<void>;
  /** SIGSTOP: the process freezes, its sockets stay open and answer nothing. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
}

export interface MosquittoOptions {
  /** Lines added to the generated config (a `connection` block, limits). */
  readonly extra?: string;
  /** Keep sessions and messages across restarts (persistence true, in its folder). */
  readonly persistence?: boolean;
}

/** Starts mosquitto, or returns undefined when it is missing and the test was skipped (a failure under CI). */
export async function startMosquitto(t: TestContext, options: MosquittoOptions = {}): Promise<TestMosquitto | undefined> {
  if (!have(t, mosquittoBroker)) return undefined;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'starling-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      // Started as root, Mosquitto would switch to the user "mosquitto", which cannot write
      // its persistence file in this folder.
      `user ${userInfo().username}`,
      `persistence ${options.persistence ? 'true' : 'false'}`,
      `persistence_location ${dir}/`,
      'log_dest stdout',
      'log_type all',
      options.extra ?? '',
      '',
    ].join('\n'),
  );
  const launch = async (): Promise<Proc> => {
    const proc = start(mosquittoBroker.path!, ['-c', conf], { timeoutMs: 10 * 60_000 });
    await until(`mosquitto on port ${port}`, () => (proc.child.exitCode !== null ? Promise.reject(new Error(`mosquitto exited: ${proc.stdout}${proc.stderr}`)) : canConnect(port)), 10_000);
    return proc;
  };
  const m: TestMosquitto = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    proc: await launch(),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      m.proc.kill(signal);
      await m.proc.exited;
    },
    async restart() {
      m.proc = await launch();
    },
    pause() {
      m.proc.child.kill('SIGSTOP');
    },
    resume() {
      m.proc.child.kill('SIGCONT');
    },
  };
  t.after(async () => {
    m.proc.child.kill('SIGCONT');
    m.proc.kill('SIGKILL');
    await m.proc.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  return m;
}
