// The `starling` command with an MQTT-SN listener added by --set: the real CLI in a child
// process, an MQTT-SN client over UDP and an MQTT.js client over TCP on the same topic.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { freePort, start } from '../../helpers/tools.js';
import { SnClient } from './sn-client.js';

const CLI = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

test('starling --set listeners[1].type=mqtt-sn serves MQTT-SN clients beside MQTT ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'starling-sn-cli-'));
  const port = await freePort();
  const proc = start(process.execPath, [CLI, '--port', String(port), '--set', `persistence.dataDir=${dir}`, '--set', 'listeners[1].type=mqtt-sn', '--set', 'listeners[1].port=0', '--set', 'listeners[1].mqttSn.predefinedTopics=3=cli/pre'], { timeoutMs: 15_000 });
  try {
    const line = await proc.line(/"msg":"listening on 127\.0\.0\.1:\d+".*mqtt-sn|mqtt-sn.*"msg":"listening on /, 10_000);
    const snPort = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(line)![1]);
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    await sub.subscribeAsync('cli/pre');
    const got = new Promise<string>((resolve) => sub.once('message', (_t, p) => resolve(p.toString())));
    const c = await SnClient.connect(snPort, 'cli-sn');
    c.send({ type: 'publish', dup: false, qos: 1, retain: false, topic: { type: 'predefined', id: 3 }, msgId: 1, payload: Buffer.from('over udp') });
    assert.equal((await c.expect('puback')).returnCode, 0);
    assert.equal(await got, 'over udp');
    await c.close();
    await sub.endAsync();
  } finally {
    proc.kill('SIGTERM');
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
