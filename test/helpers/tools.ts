// External tools for the interoperability and end-to-end tests: finding them, skipping
// loudly when one is missing (a failure under CI, where the packages must be installed),
// and running child processes that cannot outlive their test.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import net from 'node:net';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** CI runs must have every tool: a missing one fails instead of skipping. */
export const CI = process.env.CI === 'true';

export interface Tool {
  /** What the test needs, as named in the skip message. */
  readonly name: string;
  /** The executable, or undefined when not found. */
  readonly path: string | undefined;
  /** How to get it. */
  readonly hint: string;
  /** Anything learnt while probing it (a version). */
  readonly version?: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** An executable by name, searched on PATH. */
export function findExecutable(name: string, hint: string): Tool {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, name))) return { name, path: join(dir, name), hint };
  }
  return { name, path: undefined, hint };
}

/**
 * A Python interpreter that can import `module` (printing `version`, a Python expression).
 * Debian installs its python3-* packages for /usr/bin/python3, which need not be the python3
 * first on PATH, so that one is tried first.
 */
export function findPythonWith(module: string, version: string, name: string, hint: string): Tool {
  const candidates = ['/usr/bin/python3', findExecutable('python3', '').path].filter((p): p is string => p !== undefined);
  for (const python of new Set(candidates)) {
    const r = spawnSync(python, ['-c', `import ${module}; print(${version})`], { encoding: 'utf8', timeout: 20_000 });
    if (r.status === 0) return { name, path: python, hint, version: r.stdout.trim() };
  }
  return { name, path: undefined, hint };
}

/** A Python interpreter that can import paho-mqtt. */
export function findPythonWithPaho(): Tool {
  return findPythonWith('paho.mqtt', 'paho.mqtt.__version__', 'python3 with paho-mqtt', 'apt-get install python3-paho-mqtt');
}

export const mosquittoPub = findExecutable('mosquitto_pub', 'apt-get install mosquitto-clients');
export const mosquittoSub = findExecutable('mosquitto_sub', 'apt-get install mosquitto-clients');

/**
 * True when the tool is there. Otherwise the test is skipped with the reason printed, or,
 * under CI, fails with the install hint.
 */
export function have(t: TestContext, ...tools: Tool[]): boolean {
  const missing = tools.filter((tool) => tool.path === undefined);
  if (missing.length === 0) return true;
  const message = missing.map((tool) => `${tool.name} not found: ${tool.hint}`).join('; ');
  if (CI) assert.fail(`${message} (CI=true: interoperability tools must be installed)`);
  t.diagnostic(`SKIPPED: ${message}`);
  t.skip(message);
  return false;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A child process whose output is collected and which is killed once its time is up. */
export interface Proc {
  readonly child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** Resolves with the first stdout line matching `pattern`; rejects after `ms` or on exit. */
  line(pattern: RegExp, ms?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): void;
}

export interface StartOptions {
  /** Killed with SIGKILL after this long. Default 5000 ms. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function start(command: string, args: readonly string[], options: StartOptions = {}): Proc {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd });
  let stdout = '';
  let stderr = '';
  let done = false;
  const watchers = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    for (const w of watchers) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 5000);
  const exited = new Promise<Exit>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      done = true;
      for (const w of watchers) w();
      resolve({ code, signal, stdout, stderr });
    };
    child.on('close', finish);
    child.on('error', (err) => {
      stderr += String(err);
      finish(null, null);
    });
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    line(pattern: RegExp, ms = 5000): Promise<string> {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = stdout.split('\n').find((l) => pattern.test(l));
          if (found !== undefined) {
            cleanup();
            resolve(found);
          } else if (done) {
            cleanup();
            reject(new Error(`${command} exited before printing ${pattern}; stdout: ${stdout} stderr: ${stderr}`));
          }
        };
        const t = setTimeout(() => {
          cleanup();
          reject(new Error(`${command} printed no line matching ${pattern} within ${ms} ms; stdout: ${stdout} stderr: ${stderr}`));
        }, ms);
        const cleanup = (): void => {
          clearTimeout(t);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Runs a command to completion (killed after `timeoutMs`). */
export function run(command: string, args: readonly string[], options: StartOptions = {}): Promise<Exit> {
  return start(command, args, options).exited;
}

/** A TCP port that was free a moment ago (for programs that must be told their port). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True once something accepts TCP connections on 127.0.0.1:`port` (a server the test started). */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
