// The broker `starling bench mqtt-sn` measures: a child process (node --expose-gc) with one
// TCP and one mqtt-sn listener on free loopback ports. It tells its parent the ports over
// IPC and answers 'usage' with process.memoryUsage() after a full GC, so the memory figures
// are what the clients keep, not garbage waiting for a collection.

import { createBroker } from '../../index.js';

async function main(): Promise<void> {
  const broker = createBroker({
    logLevel: false,
    limits: { maxConnections: 0 },
    listeners: [
      { port: 0, host: '127.0.0.1' },
      // One source address carries every bench client: no per-source rate, room for all.
      { type: 'mqtt-sn', port: 0, host: '127.0.0.1', mqttSn: { maxDatagramRate: 0, maxClients: 1_000_000, sendWindow: 64 } },
    ],
  });
  const [tcp, sn] = await broker.listen();
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (m: unknown) => {
    if (m === 'usage') {
      gc?.();
      gc?.();
      process.send!({ usage: process.memoryUsage(), clients: broker.clients.size });
    }
  });
  process.send!({ port: tcp!.port, snPort: sn!.port });
}

void main();
