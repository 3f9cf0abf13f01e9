// `starling --from-mosquitto`: a realistic Mosquitto 2 file (fixtures/mosquitto.conf) becomes
// a Starling config that loads, and every option that could not be converted is reported.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromMosquitto, loadConfig, type MosquittoConversion } from '../../src/config/index.js';

const FIXTURE = new URL('../../../test/config/fixtures/mosquitto.conf', import.meta.url);

function convert(text: string): MosquittoConversion {
  return fromMosquitto(text, '/etc/mosquitto/mosquitto.conf');
}

function loads(conversion: MosquittoConversion) {
  return loadConfig({ file: 'converted.yaml', text: conversion.config, env: {} }).config;
}

test('a plant broker: three listeners, TLS with client certificates, wss, auth files, persistence, limits', () => {
  const conversion = convert(readFileSync(FIXTURE, 'utf8'));
  const config = loads(conversion);
  assert.deepEqual(config.listeners, [
    { type: 'tcp', host: '10.0.0.5', port: 1883, allowAnonymous: false, handshakeTimeout: 10_000, maxConnections: 500 },
    {
      type: 'tls',
      host: '0.0.0.0',
      port: 8883,
      allowAnonymous: false,
      handshakeTimeout: 10_000,
      tls: {
        cert: '/etc/mosquitto/server.crt',
        key: '/etc/mosquitto/server.key',
        ca: '/etc/mosquitto/ca.crt',
        requireCertificate: true,
        certificateAsUsername: 'cn',
        minVersion: 'TLSv1.2',
        ciphers: 'ECDHE-RSA-AES256-GCM-SHA384',
      },
    },
    {
      type: 'wss',
      host: '0.0.0.0',
      port: 9001,
      allowAnonymous: true,
      handshakeTimeout: 10_000,
      websocketPath: '/mqtt',
      tls: { cert: '/etc/mosquitto/server.crt', key: '/etc/mosquitto/server.key', minVersion: 'TLSv1.2' },
    },
  ]);
  assert.deepEqual(config.auth, { passwordFile: '/etc/mosquitto/passwd', aclFile: '/etc/mosquitto/acl' });
  assert.equal(config.limits.maxInflight, 40);
  assert.equal(config.limits.maxQueuedMessages, 5000);
  assert.equal(config.limits.maxQueuedBytes, 64 * 1024 * 1024, 'Mosquitto 0 (no maximum) keeps the default');
  assert.equal(config.limits.maxPacketSize, 262_144);
  assert.equal(config.limits.maxKeepAlive, 300);
  assert.equal(config.mqtt.retainAvailable, true);
  assert.deepEqual(config.persistence, { store: 'sqlite', dataDir: '/var/lib/mosquitto/', durability: 'strict', batchInterval: 50, takeoverTimeout: 5000, deadNodeCheck: 2000, willsLockTtl: 30_000, runGrace: 600_000 });
  assert.match(conversion.config, /certificateAsUsername: cn # mosquitto\.conf:38/);
});

test('the plant broker: every option not converted is reported with its line and reason', () => {
  const { unconverted, notes, config } = convert(readFileSync(FIXTURE, 'utf8'));
  assert.deepEqual(
    unconverted.map((u) => `${u.line} ${u.option}`),
    [
      '5 pid_file',
      '6 user',
      '10 autosave_interval',
      '12 log_dest',
      '13 log_type',
      '14 log_type',
      '15 connection_messages',
      '19 max_queued_bytes',
      '41 crlfile',
      '50 include_dir',
    ],
  );
  const reason = (line: number): string => unconverted.find((u) => u.line === line)!.reason;
  assert.match(reason(50), /not read/);
  // The bridge is converted (test/bridge/from-mosquitto.test.ts has the details).
  assert.match(config, /bridges:\n {2}- name: cloud # mosquitto\.conf:53/);
  assert.doesNotMatch(config.slice(config.indexOf('# Not converted:')), /s3cret/, 'the bridge password is not in the report');
  assert.match(config, /# Not converted:\n# mosquitto\.conf:5 pid_file: /);
  assert.deepEqual(
    notes.map((n) => `${n.line} ${n.option}`),
    ['8 persistence', '20 message_size_limit', '45 protocol'],
  );
});

test('no listener in the file: Starling\'s default (local only, as Mosquitto 2)', () => {
  const conversion = convert('allow_anonymous true\nmax_qos 1\n');
  // max_qos before any listener configures Mosquitto's default listener on 1883.
  assert.deepEqual(loads(conversion).listeners, [{ type: 'tcp', host: '0.0.0.0', port: 1883, allowAnonymous: true, handshakeTimeout: 10_000 }]);
  assert.equal(loads(conversion).mqtt.maximumQoS, 1);
  assert.deepEqual(loads(convert('persistence false\n')).listeners, [{ type: 'tcp', host: '127.0.0.1', port: 1883, handshakeTimeout: 10_000 }]);
});

test('deprecated port and bind_address make the default listener; a unix socket listener', () => {
  const config = loads(convert('port 1884\nbind_address 127.0.0.1\nlistener 0 /run/mosquitto.sock\nsocket_domain ipv6\nlistener 1885\nsocket_domain ipv6\n'));
  assert.deepEqual(
    config.listeners.map((l) => [l.type, l.host ?? l.path, l.port]),
    [
      ['tcp', '127.0.0.1', 1884],
      ['unix', '/run/mosquitto.sock', undefined],
      ['tcp', '::', 1885],
    ],
  );
  assert.ok(config.listeners.every((l) => l.allowAnonymous === false), 'Mosquitto 2 refuses anonymous clients once listeners are configured');
});

test('per_listener_settings: the same password file everywhere converts; different ones are reported', () => {
  const same = convert('per_listener_settings true\nlistener 1883\npassword_file /p\nallow_anonymous true\nlistener 1884\npassword_file /p\n');
  assert.equal(loads(same).auth.passwordFile, '/p');
  assert.deepEqual(loads(same).listeners.map((l) => l.allowAnonymous), [true, false]);
  assert.deepEqual(same.unconverted, []);

  const different = convert('per_listener_settings true\nlistener 1883\npassword_file /a\nlistener 1884\npassword_file /b\nacl_file /acl\n');
  assert.equal(loads(different).auth.passwordFile, undefined);
  assert.deepEqual(
    different.unconverted.map((u) => `${u.line} ${u.option}`),
    ['3 password_file', '5 password_file', '6 acl_file'],
  );
  assert.match(different.unconverted[0]!.reason, /one password file for all listeners/);
});

test('listener options Starling has once: converted when every listener agrees', () => {
  const agree = convert('listener 1883\nmax_qos 1\nmax_topic_alias 20\nlistener 1884\nmax_qos 1\nmax_topic_alias 20\n');
  assert.equal(loads(agree).mqtt.maximumQoS, 1);
  assert.equal(loads(agree).limits.topicAliasMaximum, 20);
  const differ = convert('listener 1883\nmax_qos 1\nlistener 1884\n');
  assert.deepEqual(differ.unconverted.map((u) => `${u.line} ${u.option}`), ['2 max_qos']);
  const perListener = convert('listener 1883\nmax_connections -1\nlistener 1884\nmax_connections 30\n');
  assert.deepEqual(loads(perListener).listeners.map((l) => l.maxConnections), [undefined, 30]);
  assert.equal(loads(perListener).limits.maxConnections, 0);
});

test('odd values are reported, not guessed', () => {
  const c = convert('max_inflight_messages 0\nmax_keepalive forever\nlistener 1883\nrequire_certificate true\nlistener 8883\ncertfile /c\ntls_version sslv3\nfrobnicate 3\n');
  assert.match(c.config, /maxInflight: 65535 # mosquitto\.conf:1\n/, 'no maximum in Mosquitto: the most MQTT allows');
  assert.deepEqual(c.notes.map((n) => `${n.line} ${n.option}`), ['1 max_inflight_messages']);
  assert.deepEqual(
    c.unconverted.map((u) => `${u.line} ${u.option}: ${u.reason}`),
    [
      '2 max_keepalive: "forever" is not a whole number from 0 to 65535',
      '4 require_certificate: a TLS option on a listener without certfile and keyfile (not TLS in Mosquitto either)',
      '6 certfile: Mosquitto needs both certfile and keyfile: add the missing one as tls.cert or tls.key (Starling will not start without it)',
      '7 tls_version: "sslv3" is not tlsv1.3, tlsv1.2, tlsv1.1 or tlsv1',
      '8 frobnicate: not a Mosquitto option this converter knows',
    ],
  );
});
