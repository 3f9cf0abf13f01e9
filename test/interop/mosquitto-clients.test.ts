// Interoperability with Eclipse Mosquitto's command-line clients (Debian mosquitto-clients):
// mosquitto_pub and mosquitto_sub against Starling, for MQTT 3.1, 3.1.1 and 5.0. Every
// process is bounded (-W on mosquitto_sub, and a SIGKILL after a few seconds).
//
// mosquitto 3.1 clients are held to the 3.1.1 statements (3.1 has no numbered ones).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { delay, startBroker, type TestBroker } from '../helpers/broker.js';
import { have, mosquittoPub, mosquittoSub, run, start, type Proc } from '../helpers/tools.js';

interface Version {
  readonly flag: 'mqttv31' | 'mqttv311' | 'mqttv5';
  readonly label: string;
  readonly short: string;
}
const VERSIONS: readonly Version[] = [
  { flag: 'mqttv31', label: 'MQTT 3.1', short: 'v3' },
  { flag: 'mqttv311', label: 'MQTT 3.1.1', short: 'v4' },
  { flag: 'mqttv5', label: 'MQTT 5.0', short: 'v5' },
];

/** Statement ids per protocol: 5.0 and 3.1.1 number the same rule differently. */
function ids(v: Version, v5: string, v311: string): string {
  return v.flag === 'mqttv5' ? v5 : v311;
}

/** Events the broker reports (`subscribed:<id>`, `disconnected:<id>`), counted so none is missed. */
class Signals {
  private readonly fired = new Map<string, number>();
  private readonly waiters = new Map<string, Array<() => void>>();

  fire(key: string): void {
    const w = this.waiters.get(key);
    if (w !== undefined && w.length > 0) w.shift()!();
    else this.fired.set(key, (this.fired.get(key) ?? 0) + 1);
  }

  wait(key: string, ms = 4000): Promise<void> {
    const n = this.fired.get(key) ?? 0;
    if (n > 0) {
      this.fired.set(key, n - 1);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(key) ?? [];
      const t = setTimeout(() => {
        list.splice(list.indexOf(done), 1);
        reject(new Error(`broker did not report ${key} within ${ms} ms`));
      }, ms);
      const done = (): void => {
        clearTimeout(t);
        resolve();
      };
      list.push(done);
      this.waiters.set(key, list);
    });
  }
}

let tb: TestBroker;
const signals = new Signals();
const procs = new Set<Proc>();
const dir = mkdtempSync(join(tmpdir(), 'starling-mosquitto-'));
let counter = 0;

before(async () => {
  tb = await startBroker({
    hooks: [{ onSubscribe: (client) => signals.fire(`subscribed:${client.id}`) }],
  });
  tb.broker.on('clientDisconnected', (client) => signals.fire(`disconnected:${client.id}`));
});

after(async () => {
  for (const p of procs) p.kill();
  await tb?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A client id unique in this file, short enough for MQTT 3.1 (23 characters). */
const uid = (v: Version, tag: string): string => `${v.short}-${tag}-${++counter}`;

const FORMAT = '%r|%q|%t|%x';
interface Received {
  retain: boolean;
  qos: number;
  topic: string;
  payload: Buffer;
}
function parse(line: string): Received {
  const [retain, qos, topic, hex] = line.split('|') as [string, string, string, string];
  return { retain: retain === '1', qos: Number(qos), topic, payload: Buffer.from(hex, 'hex') };
}

/** Starts mosquitto_sub and resolves once the broker has its subscription. */
async function subscriber(v: Version, id: string, args: string[]): Promise<Proc> {
  const subscribed = signals.wait(`subscribed:${id}`);
  const p = start(mosquittoSub.path!, ['-h', '127.0.0.1', '-p', String(tb.port), '-V', v.flag, '-i', id, '-W', '5', ...args], {
    timeoutMs: 8000,
  });
  procs.add(p);
  try {
    await subscribed;
  } catch (err) {
    p.kill();
    throw new Error(`${(err as Error).message}; mosquitto_sub stderr: ${p.stderr}`);
  }
  return p;
}

/** mosquitto_sub to completion (it exits after -C messages); its output lines. */
async function lines(p: Proc): Promise<string[]> {
  const exit = await p.exited;
  procs.delete(p);
  assert.equal(exit.code, 0, `mosquitto_sub exited ${exit.code ?? exit.signal}: ${exit.stderr}${exit.stdout}`);
  return exit.stdout.replace(/\n$/, '').split('\n');
}

async function publish(v: Version, args: string[]): Promise<void> {
  const exit = await run(mosquittoPub.path!, ['-h', '127.0.0.1', '-p', String(tb.port), '-V', v.flag, ...args]);
  assert.equal(exit.code, 0, `mosquitto_pub exited ${exit.code ?? exit.signal}: ${exit.stderr}`);
}

/** Every byte value, so that any re-encoding of the payload shows. */
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const binaryFile = join(dir, 'binary.bin');
writeFileSync(binaryFile, BINARY);

for (const v of VERSIONS) {
  describe(`mosquitto_pub / mosquitto_sub, ${v.label}`, () => {
    for (const qos of [0, 1, 2] as const) {
      test(`a QoS ${qos} message arrives byte for byte at QoS ${qos} [${ids(v, 'MQTT-3.8.4-8', 'MQTT-3.8.4-6')}]`, async (t) => {
        if (!have(t, mosquittoSub, mosquittoPub)) return;
        const topic = `mosq/${v.short}/qos${qos}`;
        const sub = await subscriber(v, uid(v, `q${qos}`), ['-t', topic, '-q', '2', '-C', '1', '-F', FORMAT]);
        await publish(v, ['-t', topic, '-q', String(qos), '-f', binaryFile]);
        const [got] = (await lines(sub)).map(parse);
        assert.equal(got!.topic, topic);
        assert.equal(got!.qos, qos);
        assert.equal(got!.retain, false);
        assert.deepEqual(got!.payload, BINARY);
      });
    }

    test(`a QoS 2 message to a QoS 1 subscription arrives at QoS 1 [${ids(v, 'MQTT-3.8.4-8', 'MQTT-3.8.4-6')}]`, async (t) => {
      if (!have(t, mosquittoSub, mosquittoPub)) return;
      const topic = `mosq/${v.short}/downgrade`;
      const sub = await subscriber(v, uid(v, 'down'), ['-t', topic, '-q', '1', '-C', '1', '-F', FORMAT]);
      await publish(v, ['-t', topic, '-q', '2', '-m', 'at most once more']);
      const [got] = (await lines(sub)).map(parse);
      assert.equal(got!.qos, 1);
      assert.equal(got!.payload.toString(), 'at most once more');
    });

    test(`a retained message reaches a later subscriber with RETAIN set [${ids(v, 'MQTT-3.3.1-5', 'MQTT-3.3.1-5')}] [${ids(v, 'MQTT-3.3.1-9', 'MQTT-3.3.1-8')}]`, async (t) => {
      if (!have(t, mosquittoSub, mosquittoPub)) return;
      const topic = `mosq/${v.short}/retained`;
      await publish(v, ['-t', topic, '-q', '1', '-r', '-m', 'last known value']);
      const sub = await subscriber(v, uid(v, 'ret'), ['-t', topic, '-q', '1', '-C', '1', '-v']);
      assert.deepEqual(await lines(sub), [`${topic} last known value`]);
      const flags = await subscriber(v, uid(v, 'retf'), ['-t', topic, '-q', '2', '-C', '1', '-F', FORMAT]);
      const [got] = (await lines(flags)).map(parse);
      assert.equal(got!.retain, true);
      assert.equal(got!.qos, 1, 'the retained message keeps the QoS it was published with');
    });

    test(`a retained publish goes to an existing subscriber with RETAIN clear [${ids(v, 'MQTT-3.3.1-12', 'MQTT-3.3.1-9')}]`, async (t) => {
      if (!have(t, mosquittoSub, mosquittoPub)) return;
      const topic = `mosq/${v.short}/retained-live`;
      const sub = await subscriber(v, uid(v, 'retl'), ['-t', topic, '-q', '1', '-C', '1', '-F', FORMAT]);
      await publish(v, ['-t', topic, '-q', '1', '-r', '-m', 'now']);
      const [got] = (await lines(sub)).map(parse);
      assert.equal(got!.retain, false);
      assert.equal(got!.payload.toString(), 'now');
    });

    test(`a retained publish with an empty payload removes the retained message [${ids(v, 'MQTT-3.3.1-6', 'MQTT-3.3.1-10')}]`, async (t) => {
      if (!have(t, mosquittoSub, mosquittoPub)) return;
      const base = `mosq/${v.short}/cleared`;
      await publish(v, ['-t', `${base}/a`, '-r', '-m', 'to be removed']);
      await publish(v, ['-t', `${base}/a`, '-r', '-n']);
      await publish(v, ['-t', `${base}/b`, '-r', '-m', 'kept']);
      // Only b's retained message may come: a's would be first in the store's order.
      const sub = await subscriber(v, uid(v, 'clr'), ['-t', `${base}/#`, '-C', '1', '-v']);
      assert.deepEqual(await lines(sub), [`${base}/b kept`]);
    });

    test(`the will is published when the client dies without DISCONNECT [${ids(v, 'MQTT-3.1.2-8', 'MQTT-3.1.2-8')}]`, async (t) => {
      if (!have(t, mosquittoSub, mosquittoPub)) return;
      const willTopic = `mosq/${v.short}/will`;
      const watcher = await subscriber(v, uid(v, 'ww'), ['-t', willTopic, '-q', '2', '-C', '1', '-F', FORMAT]);
      const id = uid(v, 'dies');
      const dying = await subscriber(v, id, ['-t', `mosq/${v.short}/idle`, '--will-topic', willTopic, '--will-payload', 'gone', '--will-qos', '1']);
      dying.kill('SIGKILL');
      await dying.exited;
      const [got] = (await lines(watcher)).map(parse);
      assert.equal(got!.topic, willTopic);
      assert.equal(got!.payload.toString(), 'gone');
      assert.equal(got!.qos, 1);
      assert.equal(got!.retain, false, `will retain 0 is published non-retained [${ids(v, 'MQTT-3.1.2-14', 'MQTT-3.1.2-16')}]`);
    });

    test(`a will with Will Retain is published retained [${ids(v, 'MQTT-3.1.2-15', 'MQTT-3.1.2-17')}]`, async (t) => {
      if (!have(t, mosquittoSub, mosquittoPub)) return;
      const willTopic = `mosq/${v.short}/will-retained`;
      const id = uid(v, 'diesr');
      const dying = await subscriber(v, id, ['-t', `mosq/${v.short}/idle`, '--will-topic', willTopic, '--will-payload', 'offline', '--will-retain']);
      const gone = signals.wait(`disconnected:${id}`);
      dying.kill('SIGKILL');
      await gone;
      const later = await subscriber(v, uid(v, 'wr'), ['-t', willTopic, '-C', '1', '-F', FORMAT]);
      const [got] = (await lines(later)).map(parse);
      assert.equal(got!.payload.toString(), 'offline');
      assert.equal(got!.retain, true);
    });

    test(`a client that disconnects normally has its will discarded [${ids(v, 'MQTT-3.14.4-3', 'MQTT-3.14.4-3')}] [${ids(v, 'MQTT-3.1.2-10', 'MQTT-3.1.2-10')}]`, async (t) => {
      if (!have(t, mosquittoSub, mosquittoPub)) return;
      const willTopic = `mosq/${v.short}/will-discarded`;
      const watcher = await subscriber(v, uid(v, 'wd'), ['-t', willTopic, '-C', '1', '-v']);
      const id = uid(v, 'polite');
      const gone = signals.wait(`disconnected:${id}`);
      // -E: exit (with DISCONNECT) as soon as the subscription is acknowledged.
      const polite = await subscriber(v, id, ['-t', `mosq/${v.short}/idle`, '-E', '--will-topic', willTopic, '--will-payload', 'must not appear']);
      assert.equal((await polite.exited).code, 0);
      await gone;
      // A will would have been routed before the broker reported the disconnection.
      await publish(v, ['-t', willTopic, '-m', 'sentinel']);
      assert.deepEqual(await lines(watcher), [`${willTopic} sentinel`]);
    });

    test(`a 23-character alphanumeric client id given with -i is accepted and names the session [MQTT-3.1.3-5] [MQTT-3.1.3-2]`, async (t) => {
      if (!have(t, mosquittoSub, mosquittoPub)) return;
      const id = `${v.short}Abcdefghij0123456789x`.slice(0, 23);
      assert.equal(id.length, 23);
      const seen: string[] = [];
      const onConnected = (c: { id: string }): void => void seen.push(c.id);
      tb.broker.on('clientConnected', onConnected);
      try {
        const sub = await subscriber(v, id, ['-t', `mosq/${v.short}/id`, '-E']);
        assert.equal((await sub.exited).code, 0);
      } finally {
        tb.broker.off('clientConnected', onConnected);
      }
      assert.deepEqual(seen, [id]);
    });

    test(`a persistent session (-c -i) gets the QoS 1 messages published while it was away, in order [${ids(v, 'MQTT-3.1.2-5', 'MQTT-3.1.2-5')}] [${ids(v, 'MQTT-3.1.2-23', 'MQTT-3.1.2-4')}]`, async (t) => {
      if (!have(t, mosquittoSub, mosquittoPub)) return;
      const topic = `mosq/${v.short}/persistent`;
      const id = uid(v, 'pers');
      const first = await subscriber(v, id, ['-c', '-q', '1', '-t', topic, '-E']);
      assert.equal((await first.exited).code, 0);
      for (const m of ['one', 'two', 'three']) await publish(v, ['-t', topic, '-q', '1', '-m', m]);
      const back = await subscriber(v, id, ['-c', '-q', '1', '-t', topic, '-C', '3', '-F', FORMAT]);
      const got = (await lines(back)).map(parse);
      assert.deepEqual(got.map((m) => m.payload.toString()), ['one', 'two', 'three']);
      assert.deepEqual(got.map((m) => m.qos), [1, 1, 1]);
      // End the session: a clean connection with the same id.
      const clean = await subscriber(v, id, ['-t', topic, '-E']);
      await clean.exited;
    });
  });
}

describe('mosquitto_pub / mosquitto_sub, MQTT 5.0 properties', () => {
  const v = VERSIONS[2]!;

  test('user properties reach the subscriber unaltered and in order [MQTT-3.3.2-17] [MQTT-3.3.2-18]', async (t) => {
    if (!have(t, mosquittoSub, mosquittoPub)) return;
    const topic = 'mosq/v5/user-properties';
    const sub = await subscriber(v, uid(v, 'up'), ['-t', topic, '-C', '1', '-F', '%P']);
    await publish(v, ['-t', topic, '-m', 'x', '-D', 'publish', 'user-property', 'b', '2', '-D', 'publish', 'user-property', 'a', '1', '-D', 'publish', 'user-property', 'b', 'again']);
    assert.deepEqual(await lines(sub), ['b:2 a:1 b:again']);
  });

  test('Response Topic, Correlation Data, Content Type and Payload Format Indicator reach the subscriber unaltered [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-20] [MQTT-3.3.2-4]', async (t) => {
    if (!have(t, mosquittoSub, mosquittoPub)) return;
    const topic = 'mosq/v5/request';
    const sub = await subscriber(v, uid(v, 'rr'), ['-t', topic, '-C', '1', '-F', '%R|%D|%C|%F|%p']);
    await publish(v, [
      '-t', topic, '-m', '{"ask":1}',
      '-D', 'publish', 'response-topic', 'mosq/v5/reply/7',
      '-D', 'publish', 'correlation-data', 'req-7',
      '-D', 'publish', 'content-type', 'application/json',
      '-D', 'publish', 'payload-format-indicator', '1',
    ]);
    assert.deepEqual(await lines(sub), ['mosq/v5/reply/7|req-7|application/json|1|{"ask":1}']);
  });

  test('a Subscription Identifier given with -D subscribe comes back on matching messages [MQTT-3.3.4-3]', async (t) => {
    if (!have(t, mosquittoSub, mosquittoPub)) return;
    const topic = 'mosq/v5/subid';
    const sub = await subscriber(v, uid(v, 'sid'), ['-t', topic, '-C', '1', '-F', '%S|%p', '-D', 'subscribe', 'subscription-identifier', '42']);
    await publish(v, ['-t', topic, '-m', 'tagged']);
    assert.deepEqual(await lines(sub), ['42|tagged']);
  });

  test('a message forwarded at once keeps its Message Expiry Interval [MQTT-3.3.2-6]', async (t) => {
    if (!have(t, mosquittoSub, mosquittoPub)) return;
    const topic = 'mosq/v5/expiry-live';
    const sub = await subscriber(v, uid(v, 'exl'), ['-t', topic, '-C', '1', '-F', '%E|%p']);
    await publish(v, ['-t', topic, '-m', 'fresh', '-D', 'publish', 'message-expiry-interval', '60']);
    const [line] = await lines(sub);
    const [expiry, payload] = line!.split('|');
    assert.equal(payload, 'fresh');
    assert.ok(Number(expiry) === 60 || Number(expiry) === 59, `expiry ${expiry}, expected 60 (or 59 on a slow run)`);
  });

  test('a message that waited in the broker is forwarded with its Message Expiry Interval reduced by the wait [MQTT-3.3.2-6]', async (t) => {
    if (!have(t, mosquittoSub, mosquittoPub)) return;
    const topic = 'mosq/v5/expiry-waited';
    const id = uid(v, 'exw');
    const first = await subscriber(v, id, ['-c', '-q', '1', '-t', topic, '-E']);
    assert.equal((await first.exited).code, 0);
    await publish(v, ['-t', topic, '-q', '1', '-m', 'waited', '-D', 'publish', 'message-expiry-interval', '60']);
    await delay(1200);
    const back = await subscriber(v, id, ['-c', '-q', '1', '-t', topic, '-C', '1', '-F', '%E|%p']);
    const [line] = await lines(back);
    const [expiry, payload] = line!.split('|');
    assert.equal(payload, 'waited');
    assert.ok(Number(expiry) <= 59 && Number(expiry) >= 57, `expiry ${expiry}, expected 60 minus the 1.2 s wait`);
    await (await subscriber(v, id, ['-t', topic, '-E'])).exited;
  });

  test('a queued message whose Message Expiry Interval passed is not delivered [MQTT-3.3.2-5]', async (t) => {
    if (!have(t, mosquittoSub, mosquittoPub)) return;
    const topic = 'mosq/v5/expiry-passed';
    const id = uid(v, 'exp');
    const first = await subscriber(v, id, ['-c', '-q', '1', '-t', topic, '-E']);
    assert.equal((await first.exited).code, 0);
    await publish(v, ['-t', topic, '-q', '1', '-m', 'stale', '-D', 'publish', 'message-expiry-interval', '1']);
    await publish(v, ['-t', topic, '-q', '1', '-m', 'still good', '-D', 'publish', 'message-expiry-interval', '60']);
    await delay(1200);
    const back = await subscriber(v, id, ['-c', '-q', '1', '-t', topic, '-C', '1', '-F', '%p']);
    assert.deepEqual(await lines(back), ['still good']);
    await (await subscriber(v, id, ['-t', topic, '-E'])).exited;
  });
});
