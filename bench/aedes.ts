// Aedes on a plain TCP listener with its defaults (in-memory persistence), for
// `npm run bench:compare`:   node dist/bench/aedes.js PORT

import net from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2] ?? 1883);
const aedes = await Aedes.createBroker();
const server = net.createServer(aedes.handle);
server.listen(port, '127.0.0.1', () => process.stdout.write(`aedes listening on 127.0.0.1:${port}\n`));

const stop = (): void => {
  server.close();
  aedes.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
