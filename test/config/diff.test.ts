// A reload's changes, split into what is applied live and what needs a restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffConfig, formatDiff, loadConfig, type StarlingConfig } from '../../src/config/index.js';

const config = (text: string): StarlingConfig => loadConfig({ file: 'starling.yaml', text, env: {} }).config;

test('the same configuration changes nothing', () => {
  const a = config('limits:\n  maxInflight: 10\n');
  assert.deepEqual(diffConfig(a, config('limits:\n  maxInflight: 10\n')), { live: [], restart: [] });
});

test('limits, auth files and the log level are live; listeners, mqtt and persistence need a restart', () => {
  const before = config('listeners:\n  - port: 1883\n');
  const after = config(`
listeners:
  - port: 1884
limits:
  maxInflight: 10
auth:
  aclFile: /etc/starling/acl
log:
  level: debug
mqtt:
  maximumQoS: 1
persistence:
  store: memory
`);
  const diff = diffConfig(before, after);
  assert.deepEqual(
    diff.live.map((c) => [c.key, c.from, c.to]),
    [
      ['auth.aclFile', undefined, '/etc/starling/acl'],
      ['limits.maxInflight', 1024, 10],
      ['log.level', 'info', 'debug'],
    ],
  );
  assert.deepEqual(
    diff.restart.map((c) => [c.key, c.from, c.to]),
    [
      ['listeners[0].port', 1883, 1884],
      ['mqtt.maximumQoS', 2, 1],
      ['persistence.store', 'sqlite', 'memory'],
    ],
  );
  assert.deepEqual(formatDiff(diff), [
    'auth.aclFile: (unset) -> /etc/starling/acl (applied)',
    'limits.maxInflight: 1024 -> 10 (applied)',
    'log.level: info -> debug (applied)',
    'listeners[0].port: 1883 -> 1884 (needs a restart; still 1883)',
    'mqtt.maximumQoS: 2 -> 1 (needs a restart; still 2)',
    'persistence.store: sqlite -> memory (needs a restart; still sqlite)',
  ]);
});

test('a listener added, and a TLS block added to one, need a restart', () => {
  const before = config('listeners:\n  - type: tls\n    tls: { cert: a.pem, key: k.pem }\n');
  const after = config('listeners:\n  - type: tls\n    tls: { cert: b.pem, key: k.pem, ca: ca.pem }\n  - type: ws\n');
  const diff = diffConfig(before, after);
  assert.deepEqual(diff.live, []);
  assert.deepEqual(
    diff.restart.map((c) => c.key),
    ['listeners', 'listeners[0].tls.cert', 'listeners[0].tls.ca'],
  );
  assert.equal(diff.restart[0]!.from, '1 entries');
  assert.equal(diff.restart[0]!.to, '2 entries');
});
