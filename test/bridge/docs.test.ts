// The worked example of docs/bridges.md loads as written, and its rules map the topics the
// way the page says.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { inbound, outbound, toBridgeOptions } from '../../src/bridge/index.js';
import { loadConfig } from '../../src/config/index.js';

const doc = readFileSync(new URL('../../../docs/bridges.md', import.meta.url), 'utf8');
/** The prose with its line breaks as spaces, for sentences that wrap. */
const prose = doc.replace(/\s+/g, ' ');

function block(name: string): string {
  const m = new RegExp('```yaml ' + name + '\\n([\\s\\S]*?)```').exec(doc);
  assert.ok(m, `docs/bridges.md has a \`\`\`yaml ${name} block`);
  return m[1]!;
}

test('bridge docs: the edge-to-central example loads, and its rules map topics as the page says', () => {
  const edge = loadConfig({ file: 'edge.yaml', text: block('edge'), env: {} }).config;
  loadConfig({ file: 'central.yaml', text: block('central'), env: {} });
  const bridge = edge.bridges[0]!;
  assert.equal(bridge.name, 'central');
  // TLS files are read when the bridge is built; the rules are what this checks.
  const { rules, addresses, clientId, localClientId } = toBridgeOptions({ ...bridge, tls: undefined });
  assert.deepEqual(addresses.map((a) => `${a.transport} ${a.host} ${a.port}`), ['tls central.example.com 8883', 'tls central-backup.example.com 8883']);
  assert.equal(clientId, 'site-7');
  assert.equal(localClientId, 'local.site-7');
  assert.match(prose, /a local `sensors\/line-1\/temp` is published at the central as `sites\/7\/sensors\/line-1\/temp`/);
  assert.equal(outbound(rules, 'sensors/line-1/temp')?.topic, 'sites/7/sensors/line-1/temp');
  assert.equal(outbound(rules, 'sensors/line-1/temp')?.rule.qos, 1);
  assert.equal(outbound(rules, 'alarms/fire')?.rule.qos, 2);
  assert.match(prose, /`sites\/7\/commands\/line-1` at the central arrives here as `commands\/line-1`/);
  assert.equal(inbound(rules, 'sites/7/commands/line-1')?.topic, 'commands/line-1');
  assert.equal(outbound(rules, 'commands/line-1'), undefined, 'commands do not go out');
  assert.equal(inbound(rules, 'sites/8/commands/x'), undefined, 'another site\'s commands do not come in');
});
