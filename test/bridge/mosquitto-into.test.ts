// Mosquitto's own bridge as the client: a Mosquitto `connection` to Starling, both ways,
// over 3.1.1 (with its bridge flag) and 5.0. Each message arrives once on each side.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import { flowing, recorder } from './helpers.js';
import { startMosquitto } from './mosquitto.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const version of ['mqttv311', 'mqttv50'] as const) {
  test(`bridge 4: Mosquitto's bridge into Starling, both ways, no echo (${version})`, async (t) => {
    const tb = await startBroker();
    t.after(() => tb.close());
    const mosq = await startMosquitto(t, {
      extra: [
        'connection to-starling',
        `address 127.0.0.1:${tb.port}`,
        `bridge_protocol_version ${version}`,
        'try_private true',
        'cleansession false',
        'remote_clientid mosquitto-edge',
        'restart_timeout 1',
        'topic # both 1 m/ s/',
      ].join('\n'),
    });
    if (mosq === undefined) return;
    await until('Mosquitto connected to Starling', () => tb.broker.clients.has('mosquitto-edge'), 10_000);
    const star = await recorder(t, tb.url, { clientId: 'star-watch' }, { 's/#': { qos: 1 } });
    const mos = await recorder(t, mosq.url, { clientId: 'mosq-watch' }, { 'm/#': { qos: 1 } });
    await flowing(mos.client, 'm/probe-in', star, 's/probe-in');
    await flowing(star.client, 's/probe-out', mos, 'm/probe-out');

    await mos.client.publishAsync('m/from-mosquitto', 'a', { qos: 1 });
    await star.client.publishAsync('s/from-starling', 'b', { qos: 1 });
    await star.client.publishAsync('s/kept', 'k', { qos: 1, retain: true });
    await until('both across', () => star.on('s/from-mosquitto').length > 0 && mos.on('m/from-starling').length > 0 && mos.on('m/kept').length > 0);
    await sleep(300); // time for an echo, if there were one
    for (const [who, r, topics] of [['Starling', star, ['s/from-mosquitto', 's/from-starling', 's/kept']], ['Mosquitto', mos, ['m/from-mosquitto', 'm/from-starling', 'm/kept']]] as const) {
      for (const topic of topics) assert.equal(r.on(topic).length, 1, `${topic} once on ${who}`);
    }
    // Retained at Mosquitto as at Starling: the bridge kept the flag.
    const late = await recorder(t, mosq.url, { clientId: 'late' }, { 'm/kept': { qos: 1 } });
    await until('the retained message at Mosquitto', () => late.messages.length > 0);
    assert.equal(late.messages[0]!.retain, true);
  });
}
