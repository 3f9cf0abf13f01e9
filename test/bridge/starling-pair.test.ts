// Two Starlings bridged `#` both ways (one bridge, direction both): a message published on
// either arrives once on each, over 5.0 (No Local, Retain As Published) and 3.1.1 (the bridge
// flag, honoured by the remote Starling).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import { bridgedStarling, flowing, linkUp, recorder } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const protocol of ['mqttv50', 'mqttv311'] as const) {
  test(`bridge 5: two Starlings bridged # both ways: a message arrives once on each (${protocol})`, async (t) => {
    const central = await startBroker();
    t.after(() => central.close());
    const { tb: edge, bridge } = await bridgedStarling(
      t,
      `bridges:
  - name: central
    addresses: mqtt://127.0.0.1:${central.port}
    protocol: ${protocol}
    clientId: edge-pair
    topics: |
      # both 2
`,
    );
    await linkUp(bridge);
    const here = await recorder(t, edge.url, { clientId: 'edge-watch' }, { '#': { qos: 2 } });
    const there = await recorder(t, central.url, { clientId: 'central-watch' }, { '#': { qos: 2 } });
    await flowing(there.client, 'probe/in', here, 'probe/in');
    await flowing(here.client, 'probe/out', there, 'probe/out');
    for (const qos of [0, 1, 2] as const) {
      await here.client.publishAsync(`from/edge/${qos}`, 'e', { qos });
      await there.client.publishAsync(`from/central/${qos}`, 'c', { qos });
    }
    await here.client.publishAsync('kept/edge', 'r', { qos: 1, retain: true });
    const expected = [0, 1, 2].flatMap((q) => [`from/edge/${q}`, `from/central/${q}`]).concat('kept/edge');
    await until('every message on both', () => expected.every((topic) => here.on(topic).length > 0 && there.on(topic).length > 0));
    await sleep(500); // a loop would have brought them round again by now
    for (const topic of expected) {
      assert.equal(here.on(topic).length, 1, `${topic} once on the edge`);
      assert.equal(there.on(topic).length, 1, `${topic} once on the central`);
    }
    assert.equal(central.broker.retained.size, 1, 'the retained message is kept on the central too');
    // Quiet once delivered: nothing goes round.
    const before = bridge.status();
    await sleep(300);
    assert.equal(bridge.status().messagesOut, before.messagesOut);
    assert.equal(bridge.status().messagesIn, before.messagesIn);
  });
}
