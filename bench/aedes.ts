// Aedes with its defaults (in-memory persistence), for `npm run bench:compare`, on a plain
// TCP listener, or a TLS one when given a certificate and key:
//   node dist/bench/aedes.js PORT [CERT KEY]

import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Aedes } from 'aedes';

const port = Number(process.argv[2] ?? 1883);
const [cert, key] = process.argv.slice(3);
const aedes = await Aedes.createBroker();
const server = cert !== undefined && key !== undefined
  ? tls.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, aedes.handle)
  : net.createServer(aedes.handle);
server.listen(port, '127.0.0.1', () => process.stdout.write(`aedes listening on 127.0.0.1:${port}${cert ? ' (TLS)' : ''}\n`));

const stop = (): void => {
  server.close();
  aedes.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
