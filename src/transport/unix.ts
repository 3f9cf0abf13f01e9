// Unix domain socket listener: MQTT for processes on this machine, through a socket file
// whose permissions decide who may connect. It counts as local for the anonymous default.

import { lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import type { Listener, ListenerInfo, ListenerOptions, OnStream } from './types.js';
import { TransportGuard } from './guard.js';
import { closeServer } from './sockets.js';

export class UnixListener implements Listener {
  private readonly server: net.Server;
  private readonly path: string;
  private address: ListenerInfo | undefined;

  constructor(
    private readonly options: ListenerOptions,
    onStream: OnStream,
    private readonly guard: TransportGuard = new TransportGuard(),
  ) {
    if (options.path === undefined || options.path === '') throw new Error('a unix listener needs a path');
    this.path = options.path;
    const remote = `unix:${this.path}`;
    this.server = net.createServer((socket) => {
      if (guard.admit(socket, this.info.name)) onStream(socket, this.info, remote);
    });
  }

  get info(): ListenerInfo {
    if (this.address === undefined) throw new Error('listener is not open');
    return this.address;
  }

  async open(): Promise<void> {
    await removeStaleSocket(this.path);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.path, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.address = {
      type: 'unix',
      name: this.options.name ?? `unix:${this.path}`,
      host: this.path,
      port: 0,
      path: this.path,
      // Only this machine's processes reach it, like a loopback address.
      allowAnonymous: this.options.allowAnonymous ?? true,
    };
    this.guard.watch(this.server, this.address.name);
  }

  async close(): Promise<void> {
    const wasOpen = this.server.listening;
    await closeServer(this.server);
    if (wasOpen) await unlink(this.path).catch(() => {}); // Node removes it already on most systems
  }
}

/**
 * A socket file left by a process that died is removed; one another process still listens
 * on is an error (EADDRINUSE), and so is a path that is not a socket (never deleted).
 */
async function removeStaleSocket(path: string): Promise<void> {
  let stat;
  try {
    stat = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stat.isSocket()) throw new Error(`unix listener: ${path} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) {
    throw Object.assign(new Error(`unix listener: another process is listening on ${path}`), { code: 'EADDRINUSE' });
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
