// Topic rules in Mosquitto's form, the topic mapping each way, the reconnection backoff, and
// a bridge config that cannot work stopping start-up with its reason.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoff, inbound, outbound, parseAddresses, parseRule, parseRules, toBridgeOptions } from '../../src/bridge/index.js';
import { loadConfig, REDACTED, redactSecrets } from '../../src/config/index.js';
import { run } from '../helpers/tools.js';

test('bridge rules: Mosquitto\'s defaults (out, QoS 0), prefixes, and "" for empty', () => {
  assert.deepEqual(parseRule('sensors/#'), { pattern: 'sensors/#', direction: 'out', qos: 0, localPrefix: '', remotePrefix: '', localFilter: 'sensors/#', remoteFilter: 'sensors/#' });
  const r = parseRule('# both 2 edge/ central/');
  assert.deepEqual([r.direction, r.qos, r.localFilter, r.remoteFilter], ['both', 2, 'edge/#', 'central/#']);
  const remap = parseRule('"" in 1 here/x there/y');
  assert.deepEqual([remap.localFilter, remap.remoteFilter], ['here/x', 'there/y']);
  const rules = parseRules('a/# out 1 l/ r/\n\n  b/+ in 2 l/ r/  \nc both\n');
  assert.equal(rules.length, 3);
  assert.deepEqual(outbound(rules, 'l/a/x'), { rule: rules[0], topic: 'r/a/x' });
  assert.equal(outbound(rules, 'l/b/x'), undefined, 'an in rule sends nothing out');
  assert.deepEqual(inbound(rules, 'r/b/x'), { rule: rules[1], topic: 'l/b/x' });
  assert.deepEqual(inbound(rules, 'c'), { rule: rules[2], topic: 'c' });
  assert.deepEqual(inbound(rules, 'there/y'), undefined);
  assert.deepEqual(inbound([remap], 'there/y'), { rule: remap, topic: 'here/x' });
});

test('bridge rules: what Mosquitto would refuse is refused, naming the line', () => {
  for (const [line, why] of [
    ['a sideways 1', /direction "sideways"/],
    ['a out 3', /QoS "3"/],
    ['a out 1 l/', /needs a remote prefix/],
    ['a out 1 l/# r/', /wildcard/],
    ['a/#/b', /filter/],
    ['"" out 0 "" r/', /empty pattern needs both prefixes/],
    ['a out 1 l/ r/ extra', /too many words/],
  ] as const) {
    assert.throws(() => parseRule(line), why, line);
  }
  assert.throws(() => parseRules('a/#\nb out 9\n'), /topics line 2/);
  assert.throws(() => parseRules('\n\n'), /no rule/);
});

test('bridge addresses: schemes, default ports, IPv6, and what is not a remote', () => {
  assert.deepEqual(
    parseAddresses('mqtt://a, mqtts://b:9 ws://c/mqtt wss://d:8443/x tcp://[::1]:1884 ssl://e').map((a) => `${a.transport} ${a.host} ${a.port}`),
    ['tcp a 1883', 'tls b 9', 'ws c 80', 'wss d 8443', 'tcp ::1 1884', 'tls e 8883'],
  );
  assert.throws(() => parseAddresses('http://a'), /http:/);
});

test('bridge backoff: the ceiling doubles to the maximum; each wait is drawn from its upper half', () => {
  for (let i = 0; i < 200; i++) {
    const first = backoff(0, 1000, 30_000);
    assert.ok(first >= 500 && first <= 1000, String(first));
    const third = backoff(2, 1000, 30_000);
    assert.ok(third >= 2000 && third <= 4000, String(third));
    const capped = backoff(40, 1000, 30_000);
    assert.ok(capped >= 15_000 && capped <= 30_000, String(capped));
  }
  const draws = new Set(Array.from({ length: 50 }, () => backoff(3, 1000, 30_000)));
  assert.ok(draws.size > 10, 'jittered, not fixed');
});

test('bridge config: a bridge that cannot work stops start-up with its reason', async () => {
  const config = (yaml: string) => loadConfig({ file: 'starling.yaml', text: yaml, env: {} }).config.bridges[0]!;
  assert.throws(() => toBridgeOptions(config('bridges:\n  - name: x\n    topics: "#"\n')), /bridges "x": addresses: required/);
  assert.throws(() => toBridgeOptions(config('bridges:\n  - name: x\n    addresses: mqtt://h\n')), /topics: required/);
  assert.throws(() => toBridgeOptions(config('bridges:\n  - name: x\n    addresses: mqtt://h\n    topics: "a/#/b"\n')), /topics line 1/);
  assert.throws(() => toBridgeOptions(config('bridges:\n  - name: x\n    addresses: mqtt://h\n    topics: "#"\n    tls:\n      ca: /nonexistent/ca.pem\n')), /tls\.ca: cannot read/);
  // The schema catches the shape before: a bad scheme, a bad rule line, a bad name.
  assert.throws(() => loadConfig({ file: 's.yaml', text: 'bridges:\n  - name: a b\n    addresses: http://h\n    topics: "x sideways"\n', env: {} }), (err: Error) => {
    assert.match(err.message, /bridges\[0\]\.name/);
    assert.match(err.message, /bridges\[0\]\.addresses/);
    assert.match(err.message, /bridges\[0\]\.topics/);
    return true;
  });
  // The remote password is a secret: the admin API's config shows it redacted.
  const withPassword = loadConfig({ file: 's.yaml', text: 'bridges:\n  - name: x\n    addresses: mqtt://h\n    password: hunter2\n    topics: "#"\n', env: {} }).config;
  assert.equal((redactSecrets(withPassword).bridges as Array<Record<string, unknown>>)[0]!.password, REDACTED);
  // The command says so and exits 2.
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'starling-bridge-cli-'));
  writeFileSync(join(dir, 'starling.yaml'), 'listeners:\n  - port: 0\npersistence:\n  store: memory\nbridges:\n  - name: x\n    addresses: mqtt://127.0.0.1:1\n')
  const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;
  const r = await run(process.execPath, [cli, '-c', join(dir, 'starling.yaml')], { timeoutMs: 10_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /bridges "x": topics: required/);
});
