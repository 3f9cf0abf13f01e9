// A bridge's status: the retained $SYS/broker/connection/NAME/state (1 up, 0 down, as
// Mosquitto's notifications), its Prometheus families, and GET /api/v1/bridges.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createOpsServer } from '../../src/index.js';
import { until } from '../helpers/wait.js';
import { bridgedStarling, linkUp, recorder } from './helpers.js';
import { startMosquitto } from './mosquitto.js';

test('bridge 6: the link state is a retained $SYS topic, the bridge has metrics and is in the admin API', async (t) => {
  const mosq = await startMosquitto(t);
  if (mosq === undefined) return;
  const { tb, bridges, bridge } = await bridgedStarling(
    t,
    `bridges:
  - name: central
    addresses: mqtt://127.0.0.1:${mosq.port}
    clientId: edge-status
    reconnectDelay: 100
    maxReconnectDelay: 300
    topics: |
      data/# out 1
`,
  );
  const ops = createOpsServer(tb.broker, { sysInterval: 0, http: { port: 0, adminToken: 'token' }, bridges: () => bridges.statuses() });
  await ops.start();
  t.after(() => ops.close());
  const base = `http://127.0.0.1:${ops.address!.port}`;
  const metric = async (series: string): Promise<number | undefined> => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  await linkUp(bridge);
  const state = await recorder(t, tb.url, { clientId: 'state-watch' }, { '$SYS/broker/connection/+/state': { qos: 1 } });
  const last = (): string | undefined => state.on('$SYS/broker/connection/central/state').at(-1)?.payload;
  await until('state 1, retained', () => last() === '1');
  assert.equal(state.messages[0]!.retain, true, 'a new subscriber gets it as retained');
  assert.equal(await metric('starling_bridge_up{bridge="central"}'), 1);
  assert.equal(await metric('starling_bridge_state{bridge="central",state="connected"}'), 1);

  const publisher = await recorder(t, tb.url, { clientId: 'publisher' });
  await publisher.client.publishAsync('data/a', 'hello', { qos: 1 });
  await until('one message out', async () => (await metric('starling_bridge_messages_total{bridge="central",direction="out"}')) === 1);
  assert.equal(await metric('starling_bridge_bytes_total{bridge="central",direction="out"}'), 5);

  // The remote goes: 0, and what is published waits in the queue.
  await mosq.stop('SIGKILL');
  await until('state 0', () => last() === '0');
  for (let i = 0; i < 3; i++) await publisher.client.publishAsync('data/b', 'x', { qos: 1 });
  await until('queued for the remote', async () => ((await metric('starling_bridge_queued_messages{bridge="central"}')) ?? 0) + ((await metric('starling_bridge_inflight_messages{bridge="central"}')) ?? 0) === 3);
  assert.equal(await metric('starling_bridge_up{bridge="central"}'), 0);

  await mosq.restart();
  await until('state 1 again', () => last() === '1', 10_000);
  await until('the queue delivered', async () => (await metric('starling_bridge_messages_total{bridge="central",direction="out"}')) === 4);
  assert.equal(await metric('starling_bridge_reconnects_total{bridge="central"}'), 1);

  const api = await fetch(`${base}/api/v1/bridges`, { headers: { authorization: 'Bearer token' } });
  assert.equal(api.status, 200);
  const [shown] = (await api.json()) as Array<Record<string, unknown>>;
  assert.equal(shown!.name, 'central');
  assert.equal(shown!.state, 'connected');
  assert.equal(shown!.address, `mqtt://127.0.0.1:${mosq.port}`);
  assert.equal(shown!.clientId, 'edge-status');
  assert.equal(shown!.messagesOut, 4);
  assert.equal(shown!.reconnects, 1);
  assert.equal(shown!.queued, 0);
});
