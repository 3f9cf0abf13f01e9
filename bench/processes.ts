// Brokers as child processes for the side-by-side benchmarks: a free loopback port, a start
// that waits until the port accepts connections, a stop by pid (SIGTERM, then SIGKILL), and
// a Mosquitto config written for the run. Every child still running when the benchmark
// exits, or is interrupted, is killed.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface Running {
  child: ChildProcess;
  port: number;
  /** The last few KB of its output, for a crash report. */
  tail: () => string;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const c of children) if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
}
process.once('exit', killAll);
process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts `command` (which must listen on `port`) and resolves once the port accepts. */
export async function startServer(name: string, port: number, [cmd, argv]: [string, string[]], timeoutMs = 10_000): Promise<Running> {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-4096);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const r: Running = { child, port, tail: () => out, exit: undefined };
  child.once('exit', (code, signal) => {
    r.exit = { code, signal };
    children.delete(child);
  });
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(port))) {
    if (r.exit) throw new Error(`${name} exited at start (${r.exit.code ?? r.exit.signal}): ${out.trim()}`);
    if (Date.now() > deadline) throw new Error(`${name} did not listen on port ${port} within ${timeoutMs / 1000} s`);
    await new Promise((res) => setTimeout(res, 50));
  }
  return r;
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopServer(r: Running, graceMs = 3000): Promise<void> {
  if (r.exit) return;
  const exited = once(r.child, 'exit');
  r.child.kill('SIGTERM');
  const t = setTimeout(() => r.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

/** Writes a Mosquitto config for one loopback listener, anonymous clients, errors on stderr. */
export function mosquittoConfig(dir: string, port: number, extra: string[]): string {
  const conf = path.join(dir, `mosquitto-${port}.conf`);
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', ...extra, 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'));
  return conf;
}
