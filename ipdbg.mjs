import { startRedis } from '/work/main/dist/test/helpers/redis.js';
import { storeMember } from '/work/main/dist/test/cluster/nodes.js';
import mqtt from 'mqtt';
const afters = [];
const t = { after: (f) => afters.push(f), skip() {}, diagnostic() {} };
const redis = await startRedis(t);
const a = await storeMember(t, redis.url, 'rs-a');
const b = await storeMember(t, redis.url, 'rs-b');
const sub = await mqtt.connectAsync(b.url, { clientId: 'rs-sub', reconnectPeriod: 0, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } });
const pub = await mqtt.connectAsync(a.url, { clientId: 'rs-pub', reconnectPeriod: 0, protocolVersion: 4, clean: true });
const got = [];
sub.on('message', (_t, p) => got.push(String(p)));
await sub.subscribeAsync('rs/#', { qos: 1 });
console.log('subscribed', a.broker.cluster.router.remoteRoutes);
for (let i = 0; i < 4; i++) {
  const r = await Promise.race([pub.publishAsync('rs/x', 'hello', { qos: 1 }).then(() => 'acked'), new Promise((r) => setTimeout(() => r('timeout'), 3000))]);
  console.log(i, r, got, a.broker.cluster.router.remoteRoutes, JSON.stringify(a.broker.cluster.stats));
}
console.log('cleanup');
setTimeout(() => { console.log('cleanup hung'); process.exit(3); }, 10000).unref();
await pub.endAsync(true); console.log('pub ended');
await sub.endAsync(true); console.log('sub ended');
for (const f of afters) { await f(); console.log('after done'); }
process.exit(0);
