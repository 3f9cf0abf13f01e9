// One Aedes 1.2 node of a cluster on Redis, for `npm run bench:cluster`: mqemitter-redis
// carries every message between nodes (a Redis PUBLISH per message, every node subscribed)
// and aedes-persistence-redis keeps subscriptions, retained messages and QoS 1/2 queues, as
// Aedes' documentation sets up a cluster.
//   node dist/bench/cluster-aedes.js PORT REDIS_PORT

import net from 'node:net';
import { Aedes } from 'aedes';
import mqemitterRedis from 'mqemitter-redis';
// @ts-expect-error aedes-persistence-redis ships no declaration file
import persistenceRedis from 'aedes-persistence-redis';

const port = Number(process.argv[2] ?? 1883);
const redisPort = Number(process.argv[3] ?? 6379);
const redis = { host: '127.0.0.1', port: redisPort };
const mq = mqemitterRedis(redis);
const persistence = (persistenceRedis as (o: object) => unknown)(redis);
const aedes = await Aedes.createBroker({ mq, persistence } as unknown as Parameters<typeof Aedes.createBroker>[0]);
const server = net.createServer(aedes.handle);
server.listen(port, '127.0.0.1', () => process.stdout.write(`aedes cluster node listening on 127.0.0.1:${port}, redis ${redisPort}\n`));

const stop = (): void => {
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
