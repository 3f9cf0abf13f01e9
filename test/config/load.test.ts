// Loading the configuration: defaults, the YAML file, environment variables and flags, and
// every kind of problem reported with where it came from (file:line:col, variable or flag).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_LIMITS } from '../../src/broker/types.js';
import {
  authFiles,
  authOptions,
  ConfigError,
  defaultConfig,
  loadConfig,
  printConfig,
  toBrokerOptions,
  type CliFlags,
  type LoadedConfig,
} from '../../src/config/index.js';
import { leaves } from '../../src/config/keys.js';
import { SCHEMA } from '../../src/config/schema.js';

function load(text: string, env: Record<string, string> = {}, flags: CliFlags = {}): LoadedConfig {
  return loadConfig({ file: 'starling.yaml', text, env, flags });
}

/** The problems' messages, one per line, as start-up prints them. */
function problems(text: string, env: Record<string, string> = {}, flags: CliFlags = {}): string[] {
  try {
    load(text, env, flags);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message.split('\n');
  }
  assert.fail('expected the config to be refused');
}

test('no file: one TCP listener on 127.0.0.1:1883 and every limit at its DEFAULT_LIMITS value', () => {
  const config = defaultConfig();
  assert.deepEqual(config.listeners, [{ type: 'tcp', host: '127.0.0.1', port: 1883, handshakeTimeout: 10_000 }]);
  assert.deepEqual(config.limits, DEFAULT_LIMITS);
  assert.deepEqual(config.mqtt, { maximumQoS: 2, retainAvailable: true });
  assert.deepEqual(config.log, { level: 'info', pretty: false, flushInterval: 100 });
  assert.deepEqual(config.persistence, { store: 'sqlite', dataDir: './data', durability: 'strict', batchInterval: 50, takeoverTimeout: 5000, deadNodeCheck: 2000, willsLockTtl: 30_000, runGrace: 600_000 });
  assert.deepEqual(config.auth, {});
  assert.ok(Object.isFrozen(config.limits), 'the config is immutable');
});

test('the schema has every key of DEFAULT_LIMITS, with the same default', () => {
  const limits = SCHEMA.fields.limits.fields;
  // Defaults the broker works out at run time (maxSockets: from the open-file limit).
  const derived = ['maxSockets'];
  assert.deepEqual(Object.keys(limits).sort(), [...Object.keys(DEFAULT_LIMITS), ...derived].sort());
  for (const [key, spec] of Object.entries(limits)) {
    if (derived.includes(key)) assert.ok(!('default' in spec) && !(key in DEFAULT_LIMITS), key);
    else assert.equal('default' in spec ? spec.default : undefined, DEFAULT_LIMITS[key as keyof typeof DEFAULT_LIMITS], key);
  }
});

test('every key has a description and a reload mode', () => {
  for (const l of leaves()) {
    assert.ok(l.spec.description.length > 10, `${l.key} has a description`);
    assert.ok(l.spec.reload === 'live' || l.spec.reload === 'restart', `${l.key} has a reload mode`);
    assert.ok(l.spec.default !== undefined || l.spec.defaultText !== undefined, `${l.key} documents its default`);
  }
});

test('listener defaults depend on the type: port per kind, websocketPath for ws, nothing network for unix', () => {
  const { config } = load(`
listeners:
  - type: tls
    tls: { cert: c.pem, key: k.pem }
  - type: ws
  - type: wss
    tls: { cert: c.pem, key: k.pem }
  - type: unix
    path: /run/starling.sock
`);
  const [tls, ws, wss, unix] = config.listeners;
  assert.equal(tls!.port, 8883);
  assert.equal(tls!.tls!.minVersion, 'TLSv1.2');
  assert.equal(ws!.port, 8083);
  assert.equal(ws!.websocketPath, '/mqtt');
  assert.equal(wss!.port, 8084);
  assert.deepEqual(unix, { type: 'unix', path: '/run/starling.sock', handshakeTimeout: 10_000 });
});

test('unknown key: file:line:col and the nearest valid key', () => {
  assert.deepEqual(problems('limits:\n  maxPaketSize: 2048\n'), ['starling.yaml:2:3: unknown key "maxPaketSize" in limits; did you mean "maxPacketSize"?']);
  assert.deepEqual(problems('listeners:\n  - port: 1884\n    hots: 0.0.0.0\n'), ['starling.yaml:3:5: unknown key "hots" in listeners[0]; did you mean "host"?']);
});

test('unknown key at the wrong level: names where it belongs', () => {
  assert.deepEqual(problems('maxInflight: 10\n'), ['starling.yaml:1:1: unknown key "maxInflight" at the top level; it belongs at "limits.maxInflight"']);
});

test('unknown key with nothing near: lists the valid keys', () => {
  assert.deepEqual(problems('log:\n  colour: true\n'), ['starling.yaml:2:3: unknown key "colour" in log (valid: level, pretty, flushInterval)']);
});

test('wrong type: what was expected and what was given', () => {
  assert.deepEqual(problems('limits:\n  maxInflight: lots\n'), ['starling.yaml:2:16: limits.maxInflight: expected an integer from 1 to 65535, got "lots"']);
  assert.deepEqual(problems('mqtt:\n  retainAvailable: yes\n'), [
    'starling.yaml:2:20: mqtt.retainAvailable: expected true or false, got "yes" (YAML 1.2 reads that as text: write true or false)',
  ]);
  assert.deepEqual(problems('limits: 5\n'), [
    'starling.yaml:1:9: limits: expected a mapping of maxPacketSize, maxConnectPacketSize, receiveMaximum, maxInflight, maxQueuedMessages, maxQueuedBytes, maxSocketBuffer, topicAliasMaximum, maxKeepAlive, maxSessionExpiry, maxTopicLength, maxTopicLevels, maxSubscriptionsPerClient, maxSubscriptionBytesPerClient, maxSubscriptionBytes, maxRetainedMessages, maxRetainedBytes, maxSessions, maxConnections, maxSockets, connectTimeout, maxConnectRate, maxPublishRate, maxByteRate, got 5',
  ]);
  assert.deepEqual(problems('listeners:\n  port: 1883\n'), ['starling.yaml:2:3: listeners: expected a list (each entry starting with "- "), got a mapping']);
  assert.deepEqual(problems('mqtt:\n  serverReference: 42\n'), ['starling.yaml:2:20: mqtt.serverReference: expected a string, got 42 (quote it: "42")']);
});

test('impossible values: port 70000, a negative limit, a fractional one, an unknown level', () => {
  assert.deepEqual(problems('listeners:\n  - port: 70000\n'), ['starling.yaml:2:11: listeners[0].port: 70000 is out of range: expected an integer from 0 to 65535']);
  assert.deepEqual(problems('limits:\n  maxQueuedMessages: -1\n'), ['starling.yaml:2:22: limits.maxQueuedMessages: -1 is out of range: expected an integer >= 0']);
  assert.deepEqual(problems('limits:\n  connectTimeout: 1.5\n'), ['starling.yaml:2:19: limits.connectTimeout: expected an integer >= 1 (ms), got 1.5']);
  assert.deepEqual(problems('limits:\n  receiveMaximum: 0\n'), ['starling.yaml:2:19: limits.receiveMaximum: 0 is out of range: expected an integer from 1 to 65535']);
  assert.deepEqual(problems('log:\n  level: verbose\n'), ['starling.yaml:2:10: log.level: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"']);
  assert.deepEqual(problems('listeners:\n  - type: tsl\n'), ['starling.yaml:2:11: listeners[0].type: expected one of tcp, tls, ws, wss, unix, mqtt-sn, got "tsl"; did you mean tls?']);
  assert.deepEqual(problems('listeners: []\n'), ['starling.yaml:1:12: listeners: expected at least 1 entry, got none']);
  assert.deepEqual(problems('listeners:\n  - type: ws\n    websocketPath: mqtt\n'), ['starling.yaml:3:20: listeners[0].websocketPath: expected a URL path starting with "/", got "mqtt"']);
});

test('every problem in the file is reported at once, in file order', () => {
  const lines = problems('log:\n  level: loud\nlimits:\n  maxInflight: 0\n  maxTopicLevels: many\n');
  assert.deepEqual(
    lines.map((l) => l.split(': ')[0]),
    ['starling.yaml:2:10', 'starling.yaml:4:16', 'starling.yaml:5:19'],
  );
});

test('YAML syntax error: its position, and nothing else checked', () => {
  assert.deepEqual(problems('limits:\n  maxInflight: [1, 2\nlog: {}\n'), [
    'starling.yaml:3:1: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ]);
  assert.deepEqual(problems('log: {}\nlog: {}\n'), ['starling.yaml:2:1: not valid YAML: Map keys must be unique']);
});

test('a file that is not a mapping, and an empty file', () => {
  assert.deepEqual(problems('- port: 1883\n'), ['starling.yaml:1:1: the file must be a mapping of keys (such as `listeners:` and `limits:`)']);
  assert.deepEqual(load('# nothing yet\n').config, defaultConfig());
  assert.deepEqual(load('limits:\n').config.limits, DEFAULT_LIMITS, 'a key with no value is left at its default');
});

test('a listener must fit its type', () => {
  assert.deepEqual(problems('listeners:\n  - type: tls\n'), [
    'starling.yaml:2:5: listeners[0].type: a tls listener needs tls.cert, its certificate file',
    'starling.yaml:2:5: listeners[0].type: a tls listener needs tls.key, its private key file',
  ]);
  assert.deepEqual(problems('listeners:\n  - type: unix\n    port: 1883\n'), [
    'starling.yaml:2:5: listeners[0].type: a unix listener needs path, the socket file',
    'starling.yaml:3:5: listeners[0].port: is for tcp, tls, ws, wss and mqtt-sn listeners, not unix',
  ]);
  assert.deepEqual(problems('listeners:\n  - type: ws\n    path: /mqtt\n'), [
    'starling.yaml:3:5: listeners[0].path: is for unix listeners, not ws (the URL path of a WebSocket listener is websocketPath)',
  ]);
  assert.deepEqual(problems('listeners:\n  - tls: { cert: c.pem, key: k.pem }\n'), ['starling.yaml:2:5: listeners[0].tls: is for tls and wss listeners, not tcp']);
  assert.deepEqual(problems('listeners:\n  - type: tls\n    tls: { cert: c.pem, key: k.pem, certificateAsUsername: cn }\n'), [
    'starling.yaml:3:37: listeners[0].tls.certificateAsUsername: needs tls.ca, the CA that signs client certificates',
  ]);
  assert.deepEqual(problems('listeners:\n  - type: tls\n    tls: { cert: c.pem, key: k.pem, ca: ca.pem, certificateAsUsername: cn, requireCertificate: false }\n'), [
    'starling.yaml:3:76: listeners[0].tls.requireCertificate: must not be false with certificateAsUsername: a user name cannot come from a missing certificate',
  ]);
});

test('two listeners on one address are refused; port 0 may repeat', () => {
  assert.deepEqual(problems('listeners:\n  - port: 1883\n  - port: 1883\n'), [
    'starling.yaml:3:5: listeners[1]: listens on 127.0.0.1:1883 like listeners[0]; each listener needs its own address',
  ]);
  assert.equal(load('listeners:\n  - port: 0\n  - port: 0\n').config.listeners.length, 2);
});

test('environment variables override the file, and are read as the key type', () => {
  const { config, origins } = load('limits:\n  maxPacketSize: 1024\nlisteners:\n  - port: 1884\n', {
    STARLING_LIMITS_MAX_PACKET_SIZE: '2048',
    STARLING_MQTT_RETAIN_AVAILABLE: 'false',
    STARLING_MQTT_MAXIMUM_QOS: '1',
    STARLING_LISTENERS_0_HOST: '0.0.0.0',
    STARLING_LOG_LEVEL: '',
    HOME: '/root',
  });
  assert.equal(config.limits.maxPacketSize, 2048);
  assert.equal(config.mqtt.retainAvailable, false);
  assert.equal(config.mqtt.maximumQoS, 1);
  assert.equal(config.log.level, 'info', 'an empty variable counts as unset');
  assert.deepEqual(config.listeners[0], { type: 'tcp', host: '0.0.0.0', port: 1884, handshakeTimeout: 10_000 });
  assert.deepEqual(origins.get('limits.maxPacketSize'), { kind: 'env', name: 'STARLING_LIMITS_MAX_PACKET_SIZE' });
  assert.deepEqual(origins.get('listeners[0].port'), { kind: 'file', file: 'starling.yaml', line: 4, col: 11 });
});

test('flags override environment variables, which override the file', () => {
  const text = 'listeners:\n  - port: 1884\nlog:\n  level: warn\n';
  const env = { STARLING_LISTENERS_0_PORT: '1885', STARLING_LOG_LEVEL: 'error' };
  assert.equal(load(text).config.listeners[0]!.port, 1884);
  assert.equal(load(text, env).config.listeners[0]!.port, 1885);
  const { config, origins } = load(text, env, { port: '1886', logLevel: 'debug', set: ['limits.maxInflight=7'] });
  assert.equal(config.listeners[0]!.port, 1886);
  assert.equal(config.log.level, 'debug');
  assert.equal(config.limits.maxInflight, 7);
  assert.deepEqual(origins.get('listeners[0].port'), { kind: 'flag', flag: '--port' });
});

test('--port without a file changes the default listener', () => {
  assert.deepEqual(load('', {}, { port: 1999, host: '0.0.0.0' }).config.listeners, [
    { type: 'tcp', host: '0.0.0.0', port: 1999, handshakeTimeout: 10_000 },
  ]);
});

test('a variable or --set one past the last listener adds one; further is refused', () => {
  const { config } = load('listeners:\n  - port: 1883\n', { STARLING_LISTENERS_1_TYPE: 'ws' }, { set: ['listeners[1].port=9001'] });
  assert.deepEqual(config.listeners[1], { type: 'ws', host: '127.0.0.1', port: 9001, websocketPath: '/mqtt', handshakeTimeout: 10_000 });
  assert.deepEqual(problems('', { STARLING_LISTENERS_2_PORT: '1' }), [
    'environment variable STARLING_LISTENERS_2_PORT: listeners[2]: there is 1 entry; a new one must be listeners[1]',
  ]);
});

test('bad values from variables and flags name the variable or the flag', () => {
  assert.deepEqual(problems('', { STARLING_LIMITS_MAX_INFLIGHT: 'many' }), [
    'environment variable STARLING_LIMITS_MAX_INFLIGHT: limits.maxInflight: expected an integer from 1 to 65535, got "many"',
  ]);
  assert.deepEqual(problems('', {}, { port: '70000' }), ['flag --port: listeners[0].port: 70000 is out of range: expected an integer from 0 to 65535']);
  assert.deepEqual(problems('', {}, { set: ['mqtt.retainAvailable=maybe'] }), [
    'flag --set mqtt.retainAvailable=maybe: mqtt.retainAvailable: expected true or false, got "maybe"',
  ]);
});

test('an unknown STARLING_ variable or --set key is refused with the nearest one', () => {
  assert.deepEqual(problems('', { STARLING_LIMITS_MAX_PACKETSIZE: '1' }), [
    'environment variable STARLING_LIMITS_MAX_PACKETSIZE: STARLING_LIMITS_MAX_PACKETSIZE is not a Starling setting; did you mean STARLING_LIMITS_MAX_PACKET_SIZE? (see docs/configuration.md)',
  ]);
  assert.deepEqual(problems('', {}, { set: ['limits.maxInflite=3'] }), ['flag --set limits.maxInflite=3: "limits.maxInflite" is not a setting; did you mean "limits.maxInflight"?']);
  assert.deepEqual(problems('', {}, { set: ['limits'] }), ['flag --set limits: expected KEY=VALUE, e.g. --set limits.maxPacketSize=2097152']);
});

test('STARLING_CONFIG names the file; an unreadable file is one clear problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-config-'));
  const file = join(dir, 'starling.yaml');
  writeFileSync(file, 'log:\n  level: debug\n');
  const loaded = loadConfig({ env: { STARLING_CONFIG: file } });
  assert.equal(loaded.file, file);
  assert.equal(loaded.config.log.level, 'debug');
  assert.throws(
    () => loadConfig({ env: { STARLING_CONFIG: join(dir, 'missing.yaml') } }),
    (err: unknown) => err instanceof ConfigError && /^\S+missing\.yaml: cannot read the config file \(named by STARLING_CONFIG\): ENOENT/.test(err.message),
  );
});

test('--print-config output is a valid config file with the same values, marked with origins', () => {
  const loaded = load('listeners:\n  - port: 1884\n', { STARLING_LOG_LEVEL: 'debug' }, { set: ['limits.maxInflight=9'] });
  const printed = printConfig(loaded);
  assert.match(printed, /port: 1884 # starling\.yaml:2:11/);
  assert.match(printed, /level: debug # environment variable STARLING_LOG_LEVEL/);
  assert.match(printed, /maxInflight: 9 # flag --set limits\.maxInflight=9/);
  assert.deepEqual(loadConfig({ file: 'printed.yaml', text: printed, env: {} }).config, loaded.config);
});

test('toBrokerOptions: BrokerOptions for createBroker, and the settings it has no field for yet', () => {
  const { config } = load(`
listeners:
  - type: tls
    host: 0.0.0.0
    tls: { cert: c.pem, key: k.pem, ca: ca.pem, certificateAsUsername: san }
  - type: ws
    websocketPath: /ws
  - type: unix
    path: /run/s.sock
    allowAnonymous: true
auth:
  passwordFile: /etc/starling/passwd
mqtt:
  maximumQoS: 1
  serverReference: other.example.com
persistence:
  store: disk
`);
  const setup = toBrokerOptions(config);
  assert.deepEqual(setup.options.listeners, [
    { type: 'tls', host: '0.0.0.0', port: 8883, handshakeTimeout: 10_000, certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem', certificateAsUsername: 'san', minVersion: 'TLSv1.2' },
    { type: 'ws', host: '127.0.0.1', port: 8083, websocketPath: '/ws', handshakeTimeout: 10_000 },
    { type: 'unix', path: '/run/s.sock', allowAnonymous: true, handshakeTimeout: 10_000 },
  ]);
  assert.equal(setup.options.maximumQoS, 1);
  assert.equal(setup.options.serverReference, 'other.example.com');
  assert.equal(setup.options.logLevel, 'info');
  assert.deepEqual(setup.options.limits, DEFAULT_LIMITS);
  assert.deepEqual(setup.auth, { passwordFile: '/etc/starling/passwd' });
  assert.equal(setup.persistence.store, 'disk');
  assert.deepEqual(setup.log, { level: 'info', pretty: false, flushInterval: 100 });
});

test('hardening 14: auth files relative to the config file\'s folder, or to the working directory when set by a variable or a flag', () => {
  const fromFile = loadConfig({ file: '/etc/starling/starling.yaml', text: 'auth:\n  passwordFile: passwd\n  aclFile: /srv/acl\n', env: {} });
  assert.deepEqual(authFiles(fromFile), { passwordFile: '/etc/starling/passwd', aclFile: '/srv/acl' });
  const fromEnv = loadConfig({ file: '/etc/starling/starling.yaml', text: '{}\n', env: { STARLING_AUTH_PASSWORD_FILE: 'passwd' }, flags: { set: ['auth.aclFile=rules/acl'] } });
  assert.deepEqual(authFiles(fromEnv), { passwordFile: resolve('passwd'), aclFile: resolve('rules/acl') });
  assert.deepEqual(authFiles(loadConfig({ env: {} })), { passwordFile: undefined, aclFile: undefined });
});

test('hardening 3: the auth section\'s login bounds become fileAuth options; failureDelay 0 turns the delay off', () => {
  const auth = (text: string) => authOptions(loadConfig({ text, env: {} }).config.auth);
  assert.deepEqual(auth('{}\n'), { logins: {}, failureDelay: {} });
  assert.deepEqual(
    auth('auth:\n  hashConcurrency: 1\n  maxPendingLogins: 10\n  maxPendingLoginsPerSource: 2\n  failureDelay: 100\n  maxFailureDelay: 1000\n  failureMemory: 50\n'),
    { logins: { hashConcurrency: 1, maxPending: 10, maxPendingPerSource: 2 }, failureDelay: { initialMs: 100, maxMs: 1000, maxAddresses: 50 } },
  );
  assert.deepEqual(auth('auth:\n  failureDelay: 0\n'), { logins: {}, failureDelay: false });
});
