// `starling --from-mosquitto` for bridges: each `connection` section becomes a bridges[]
// entry that loads and runs; what cannot be converted is reported with its line.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bridgesFromConfig, toBridgeOptions } from '../../src/bridge/index.js';
import { fromMosquitto, loadConfig } from '../../src/config/index.js';
import { startBroker } from '../helpers/broker.js';
import { flowing, linkUp, recorder } from './helpers.js';
import { startMosquitto } from './mosquitto.js';

const CONF = `listener 1883
# The cloud, over TLS, with a backup
connection cloud
address mqtt.example.com:8883 backup.example.com
topic plant/# out 1
topic cmd/# in 2 plant/ site7/
topic "" both 0 local/x remote/y
bridge_protocol_version mqttv50
try_private false
cleansession true
local_cleansession true
notifications false
notification_topic plant/bridge/state
restart_timeout 2 60
remote_username plant-7
remote_password s3cret
remote_clientid plant-7-bridge
local_clientid plant-7-local
keepalive_interval 30
bridge_cafile /etc/mosquitto/cloud-ca.crt
bridge_certfile /etc/mosquitto/plant.crt
bridge_keyfile /etc/mosquitto/plant.key
round_robin true
start_type lazy
bridge_capath /etc/ssl/certs

connection second
address 10.0.0.1
topic # both 2
bridge_protocol_version mqttv31
restart_timeout 10
`;

test('bridge 7: --from-mosquitto converts each connection section into a bridge, with Mosquitto\'s defaults written out', () => {
  const conversion = fromMosquitto(CONF, '/etc/mosquitto/mosquitto.conf');
  const { config } = loadConfig({ file: 'converted.yaml', text: conversion.config, env: {} });
  const [cloud, second] = config.bridges;
  assert.deepEqual(
    { ...cloud },
    {
      name: 'cloud',
      enabled: true,
      addresses: 'mqtts://mqtt.example.com:8883 mqtts://backup.example.com:1883',
      roundRobin: true,
      protocol: 'mqttv50',
      tryPrivate: false,
      clientId: 'plant-7-bridge',
      username: 'plant-7',
      password: 's3cret',
      keepAlive: 30,
      cleanStart: true,
      sessionExpiry: 86_400,
      localClientId: 'plant-7-local',
      localSessionExpiry: 0,
      maxInflight: 20,
      reconnectDelay: 2000,
      maxReconnectDelay: 60_000,
      notifications: false,
      notificationTopic: 'plant/bridge/state',
      topics: 'plant/# out 1\ncmd/# in 2 plant/ site7/\n"" both 0 local/x remote/y\n',
      tls: { ca: '/etc/mosquitto/cloud-ca.crt', cert: '/etc/mosquitto/plant.crt', key: '/etc/mosquitto/plant.key', insecure: false },
    },
  );
  // Mosquitto's defaults where Starling's differ: 3.1.1, 5 to 30 s between attempts.
  assert.equal(second!.protocol, 'mqttv311');
  assert.equal(second!.addresses, 'mqtt://10.0.0.1:1883');
  assert.equal(second!.cleanStart, false);
  assert.deepEqual([second!.reconnectDelay, second!.maxReconnectDelay], [10_000, 10_000]);
  // The rules parse as the bridge reads them.
  const rules = toBridgeOptions({ ...cloud!, tls: undefined }).rules;
  assert.deepEqual(
    rules.map((r) => [r.direction, r.qos, r.localFilter, r.remoteFilter]),
    [
      ['out', 1, 'plant/#', 'plant/#'],
      ['in', 2, 'plant/cmd/#', 'site7/cmd/#'],
      ['both', 0, 'local/x', 'remote/y'],
    ],
  );
  assert.deepEqual(
    conversion.unconverted.map((u) => `${u.line} ${u.option}`),
    ['24 start_type', '25 bridge_capath'],
  );
  assert.match(conversion.unconverted[0]!.reason, /lazy/);
  assert.deepEqual(
    conversion.notes.map((n) => `${n.line} ${n.option}`),
    ['11 local_cleansession', '30 bridge_protocol_version', '31 restart_timeout'],
  );
  assert.match(conversion.config, /- name: cloud # mosquitto\.conf:3/);
});

test('bridge 7: a bridge option before any connection, a connection without address or topic: reported', () => {
  const { unconverted } = fromMosquitto('address 10.0.0.1\nconnection empty\ntry_private true\n', 'm.conf');
  assert.deepEqual(
    unconverted.map((u) => `${u.line} ${u.option}: ${u.reason}`),
    ['1 address: a bridge option before any connection', '2 connection: the bridge "empty" has no address: add bridges[].addresses', '2 connection: the bridge "empty" has no topic: add bridges[].topics'],
  );
});

test('bridge 7: a Mosquitto bridge converted with --from-mosquitto runs against a real Mosquitto', async (t) => {
  const mosq = await startMosquitto(t);
  if (mosq === undefined) return;
  const conversion = fromMosquitto(
    `connection central
address 127.0.0.1:${mosq.port}
remote_clientid converted-edge
restart_timeout 1 2
topic sensors/# out 1 edge/ central/
topic commands/# in 1 edge/ central/
`,
    'mosquitto.conf',
  );
  assert.deepEqual(conversion.unconverted, []);
  const { config } = loadConfig({ file: 'converted.yaml', text: conversion.config, env: {} });
  const tb = await startBroker();
  const bridges = bridgesFromConfig(tb.broker, config.bridges);
  await bridges.start();
  t.after(async () => {
    await bridges.stop();
    await tb.close();
  });
  await linkUp(bridges.bridges[0]!);
  assert.equal(bridges.bridges[0]!.status().protocolVersion, 4, "Mosquitto's default, 3.1.1");
  const here = await recorder(t, tb.url, {}, { 'edge/#': { qos: 1 } });
  const there = await recorder(t, mosq.url, {}, { 'central/#': { qos: 1 } });
  await flowing(here.client, 'edge/sensors/t1', there, 'central/sensors/t1');
  await flowing(there.client, 'central/commands/fan', here, 'edge/commands/fan');
});
