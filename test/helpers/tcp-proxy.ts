// A TCP proxy on a free loopback port that a test can cut: the netsplit between one cluster
// member and Redis, while the other members keep their own connections. cut() drops every
// connection through it and refuses new ones (they are closed at once); restore() lets
// connections through again.

import net from 'node:net';
import type { TestContext } from 'node:test';

export interface TcpProxy {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` for a Redis behind it. */
  readonly url: string;
  cut(): void;
  restore(): void;
  readonly isCut: boolean;
}

export async function startTcpProxy(t: TestContext, targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let isCut = false;
  const server = net.createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  t.after(() => {
    for (const s of open) s.destroy();
    server.close();
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    cut() {
      isCut = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    restore() {
      isCut = false;
    },
    get isCut() {
      return isCut;
    },
  };
}
