// Mosquitto's bridge flag (protocol level | 0x80 in a 3.1/3.1.1 CONNECT), honoured by
// Starling as by Mosquitto: the same byte-level scenario runs against both and must give the
// same result: no echo of the bridge's own messages (No Local), retain flags as published.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode, type ProtocolError, type ProtocolVersion } from '../../src/codec/index.js';
import { RawClient, startBroker } from '../helpers/broker.js';
import { startMosquitto } from './mosquitto.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a bridge-flagged client and a plain one receive; each line `who topic retain=N`. */
async function scenario(port: number, version: ProtocolVersion): Promise<string[]> {
  const bridge = await RawClient.connect(port, { protocolVersion: version, bridge: true, clientId: `bridge-${version}` });
  const plain = await RawClient.connect(port, { protocolVersion: 4, clientId: `plain-${version}` });
  for (const c of [bridge, plain]) {
    c.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: `t${version}/#`, qos: 0 }] });
    await c.expect('suback');
  }
  // The bridge's own message, then a retained and a plain one from the other client.
  bridge.send({ type: 'publish', topic: `t${version}/own`, payload: Buffer.from('o'), qos: 0, retain: false, dup: false });
  await sleep(100);
  plain.send({ type: 'publish', topic: `t${version}/kept`, payload: Buffer.from('k'), qos: 0, retain: true, dup: false });
  plain.send({ type: 'publish', topic: `t${version}/plain`, payload: Buffer.from('p'), qos: 0, retain: false, dup: false });
  await sleep(300);
  const lines: string[] = [];
  for (const [who, c] of [['bridge', bridge], ['plain', plain]] as const) {
    for (const p of c.packets) if (p.type === 'publish') lines.push(`${who} ${p.topic} retain=${p.retain ? 1 : 0}`);
    c.socket.destroy();
  }
  return lines.sort();
}

for (const version of [4, 3] as const) {
  test(`bridge 3: a CONNECT with the bridge flag (0x${(version | 0x80).toString(16)}) is accepted and honoured as Mosquitto does: No Local, Retain As Published`, async (t) => {
    const tb = await startBroker();
    t.after(() => tb.close());
    const starling = await scenario(tb.port, version);
    assert.deepEqual(starling, [
      // Its own message is not sent back; the retained one keeps its flag.
      `bridge t${version}/kept retain=1`,
      `bridge t${version}/plain retain=0`,
      // A plain 3.1.1 client gets live messages with retain 0 [MQTT-3.3.1-9], and the bridge's too.
      `plain t${version}/kept retain=0`,
      `plain t${version}/own retain=0`,
      `plain t${version}/plain retain=0`,
    ].sort());
    const mosq = await startMosquitto(t);
    if (mosq === undefined) return;
    assert.deepEqual(await scenario(mosq.port, version), starling, 'Mosquitto behaves the same');
  });
}

test('bridge 3: the codec reads and writes the bridge flag on 3.1/3.1.1 levels only', () => {
  for (const version of [3, 4] as const) {
    const bytes = encode({ type: 'connect', protocolName: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: true, keepalive: 30, clientId: 'b', bridge: true }, version);
    assert.equal(bytes[version === 3 ? 10 : 8], version | 0x80, 'the level byte');
    const p = decode(bytes, { role: 'server' });
    assert.ok(p.type === 'connect' && p.protocolVersion === version && p.bridge === true);
  }
  const plain = decode(encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'p' }, 4), { role: 'server' });
  assert.ok(plain.type === 'connect' && plain.bridge === undefined);
  // 5.0 has its own subscription options: 0x85 is not a level.
  const v5 = encode({ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: 'x' }, 5);
  v5[8] = 0x85;
  assert.throws(() => decode(v5, { role: 'server' }), (err: ProtocolError) => err.reasonCode === 0x84);
});
