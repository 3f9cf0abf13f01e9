// The mqtt-sn listener kind in the config: a file, variables and --set make one, its keys
// are checked like any other, and the broker the CLI would build serves MQTT-SN clients.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig, toBrokerOptions, type CliFlags } from '../../../src/config/index.js';
import { createBroker } from '../../../src/index.js';
import { SnClient } from './sn-client.js';

function load(text: string, flags: CliFlags = {}): ReturnType<typeof loadConfig> {
  return loadConfig({ file: 'starling.yaml', text, env: {}, flags });
}

test('--set listeners[1].type=mqtt-sn adds a UDP listener on port 1884 by default', () => {
  const { config } = load('', { set: ['listeners[1].type=mqtt-sn'] });
  assert.deepEqual(config.listeners[1], { type: 'mqtt-sn', host: '127.0.0.1', port: 1884, handshakeTimeout: 10_000 });
});

test('listeners[].mqttSn keys: defaults filled, predefined topics checked, only for mqtt-sn listeners', () => {
  const { config } = load('listeners:\n  - type: mqtt-sn\n    port: 0\n    mqttSn:\n      predefinedTopics: "1=a/b, 2=c/d"\n      retryInterval: 500\n');
  const sn = config.listeners[0]!.mqttSn!;
  assert.equal(sn.predefinedTopics, '1=a/b, 2=c/d');
  assert.equal(sn.retryInterval, 500);
  assert.equal(sn.maxRetries, 3);
  assert.equal(sn.maxClients, 100_000);
  const refused = (text: string): string => {
    try {
      load(text);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    assert.fail('expected a refusal');
  };
  assert.match(refused('listeners:\n  - type: tcp\n    mqttSn:\n      gatewayId: 2\n'), /mqttSn: is for mqtt-sn listeners, not tcp/);
  assert.match(refused('listeners:\n  - type: mqtt-sn\n    mqttSn:\n      predefinedTopics: "x=a/b"\n'), /id=topic pairs/);
  assert.match(refused('listeners:\n  - type: mqtt-sn\n    mqttSn:\n      predefinedTopics: "1=a/#"\n'), /id=topic pairs/);
});

test('a TCP and an MQTT-SN listener may share a port number (TCP and UDP are separate)', () => {
  const { config } = load('listeners:\n  - port: 1883\n  - type: mqtt-sn\n    port: 1883\n');
  assert.equal(config.listeners.length, 2);
});

test('the broker built from --set options serves MQTT-SN clients with the predefined topics of the config', async () => {
  const loaded = load('', { port: '0', set: ['listeners[1].type=mqtt-sn', 'listeners[1].port=0', 'listeners[1].mqttSn.predefinedTopics=5=from/config'] });
  const setup = toBrokerOptions(loaded.config);
  const broker = createBroker({ ...setup.options, logLevel: false });
  const [, sn] = await broker.listen();
  try {
    assert.equal(sn!.type, 'mqtt-sn');
    const c = await SnClient.connect(sn!.port, 'from-config');
    c.send({ type: 'subscribe', dup: false, qos: 0, msgId: 1, topic: { type: 'predefined', id: 5 } });
    assert.equal((await c.expect('suback')).returnCode, 0);
    broker.publish({ topic: 'from/config', payload: Buffer.from('x'), qos: 0, retain: false });
    assert.deepEqual((await c.expect('publish')).topic, { type: 'predefined', id: 5 });
    await c.close();
  } finally {
    await broker.close();
  }
});
