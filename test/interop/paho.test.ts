// Interoperability with Eclipse Paho for Python (Debian python3-paho-mqtt), driven through
// test/interop/paho_client.py, which prints one JSON object per line. Each scenario runs one
// exchange in `before` and its tests check one behaviour each of what came out.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { findPythonWithPaho, have, start, type Proc } from '../helpers/tools.js';

const python = findPythonWithPaho();
// dist/test/interop/ -> the script stays in the source tree.
const SCRIPT = fileURLToPath(new URL('../../../test/interop/paho_client.py', import.meta.url));

interface PahoEvent {
  event: string;
  [field: string]: unknown;
}
interface PahoMessage {
  topic: string;
  payload_hex: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  properties: Record<string, unknown>;
}

let tb: TestBroker | undefined;
const procs = new Set<Proc>();
const disconnected = new Map<string, () => void>();

before(async () => {
  if (python.path === undefined) return;
  tb = await startBroker();
  tb.broker.on('clientDisconnected', (client) => disconnected.get(client.id)?.());
});

after(async () => {
  for (const p of procs) p.kill();
  await tb?.close();
});

function paho(role: 'sub' | 'pub', args: string[]): Proc {
  const p = start(python.path!, [SCRIPT, role, '--port', String(tb!.port), '--timeout', '4', ...args], { timeoutMs: 8000 });
  procs.add(p);
  return p;
}

async function finish(p: Proc): Promise<PahoEvent[]> {
  const exit = await p.exited;
  procs.delete(p);
  assert.equal(exit.code, 0, `paho_client.py exited ${exit.code ?? exit.signal}: ${exit.stderr}${exit.stdout}`);
  return exit.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as PahoEvent);
}

const messagesOf = (events: PahoEvent[]): PahoMessage[] => events.filter((e) => e.event === 'message') as unknown as PahoMessage[];

/** Resolves when the broker has seen `clientId` go (so its last packets were handled). */
function goneFrom(clientId: string, ms = 4000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${clientId} still connected after ${ms} ms`)), ms);
    disconnected.set(clientId, () => {
      clearTimeout(t);
      disconnected.delete(clientId);
      resolve();
    });
  });
}

describe('paho-mqtt 5.0: a message with every forwardable property, paho publisher to paho subscriber', () => {
  let message: PahoMessage | undefined;
  let published: PahoEvent | undefined;

  before(async () => {
    if (python.path === undefined) return;
    const sub = paho('sub', ['--client-id', 'paho5-props-sub', '--sub', 'paho5/props/+,2,7', '--count', '1', '--linger', '0.3']);
    await sub.line(/"event": "subscribed"/);
    const pub = paho('pub', [
      '--client-id', 'paho5-props-pub',
      '--topic', 'paho5/props/request',
      '--payload', '{"temperature": 21.5}',
      '--qos', '2',
      '--response-topic', 'paho5/props/reply/42',
      '--correlation-hex', '00ff7f80c3',
      '--user-property', 'trace=abc',
      '--user-property', 'unit=celsius',
      '--user-property', 'trace=def',
      '--content-type', 'application/json',
      '--payload-format', '1',
      '--expiry', '120',
    ]);
    published = (await finish(pub)).find((e) => e.event === 'published');
    const received = messagesOf(await finish(sub));
    assert.equal(received.length, 1, `expected exactly one delivery, got ${JSON.stringify(received)}`);
    message = received[0];
  });

  test('the QoS 2 publish completes for the publisher and arrives once at QoS 2 with its payload', (t) => {
    if (!have(t, python)) return;
    assert.ok(published, 'the publisher saw its PUBCOMP');
    assert.equal(message!.qos, 2);
    assert.equal(Buffer.from(message!.payload_hex, 'hex').toString(), '{"temperature": 21.5}');
  });

  test('the Response Topic arrives unaltered [MQTT-3.3.2-15]', (t) => {
    if (!have(t, python)) return;
    assert.equal(message!.properties.ResponseTopic, 'paho5/props/reply/42');
  });

  test('binary Correlation Data arrives byte for byte [MQTT-3.3.2-16]', (t) => {
    if (!have(t, python)) return;
    assert.deepEqual(message!.properties.CorrelationData, { hex: '00ff7f80c3' });
  });

  test('user properties arrive unaltered, in order, repeated keys included [MQTT-3.3.2-17] [MQTT-3.3.2-18]', (t) => {
    if (!have(t, python)) return;
    assert.deepEqual(message!.properties.UserProperty, [
      ['trace', 'abc'],
      ['unit', 'celsius'],
      ['trace', 'def'],
    ]);
  });

  test('the Content Type arrives unaltered [MQTT-3.3.2-20]', (t) => {
    if (!have(t, python)) return;
    assert.equal(message!.properties.ContentType, 'application/json');
  });

  test('the Payload Format Indicator arrives unaltered [MQTT-3.3.2-4]', (t) => {
    if (!have(t, python)) return;
    assert.equal(message!.properties.PayloadFormatIndicator, 1);
  });

  test('the Message Expiry Interval arrives less the (sub-second) time spent in the broker [MQTT-3.3.2-6]', (t) => {
    if (!have(t, python)) return;
    const expiry = message!.properties.MessageExpiryInterval;
    assert.ok(expiry === 120 || expiry === 119, `MessageExpiryInterval ${String(expiry)}, expected 120 (or 119)`);
  });

  test('the subscription\'s Subscription Identifier is delivered with the message [MQTT-3.3.4-3]', (t) => {
    if (!have(t, python)) return;
    assert.deepEqual(message!.properties.SubscriptionIdentifier, [7]);
  });
});

describe('paho-mqtt 5.0: overlapping subscriptions with different Subscription Identifiers', () => {
  let received: PahoMessage[] = [];

  before(async () => {
    if (python.path === undefined) return;
    const sub = paho('sub', ['--client-id', 'paho5-overlap-sub', '--sub', 'paho5/overlap/+,1,11', '--sub', 'paho5/overlap/#,2,22', '--count', '1', '--linger', '0.3']);
    await sub.line(/"event": "subscribed"/);
    await finish(paho('pub', ['--client-id', 'paho5-overlap-pub', '--topic', 'paho5/overlap/x', '--payload', 'both match', '--qos', '2']));
    received = messagesOf(await finish(sub));
  });

  test('one copy is delivered, carrying both Subscription Identifiers [MQTT-3.3.4-4]', (t) => {
    if (!have(t, python)) return;
    assert.equal(received.length, 1, `deliveries: ${JSON.stringify(received)}`);
    assert.deepEqual([...(received[0]!.properties.SubscriptionIdentifier as number[])].sort((a, b) => a - b), [11, 22]);
  });

  test('the copy goes at the highest QoS the matching subscriptions grant [MQTT-3.3.4-2]', (t) => {
    if (!have(t, python)) return;
    assert.equal(received[0]!.qos, 2);
  });
});

describe('paho-mqtt 3.1.1: QoS 2 both ways with persistent sessions', () => {
  const subId = 'paho4-qos2-sub';
  const pubId = 'paho4-qos2-pub';
  let received: PahoMessage[] = [];
  let published: PahoEvent | undefined;

  before(async () => {
    if (python.path === undefined) return;
    const sub = paho('sub', ['--version', '4', '--persistent', '--client-id', subId, '--sub', 'paho4/qos2,2', '--count', '1', '--linger', '0.3']);
    await sub.line(/"event": "subscribed"/);
    const pubGone = goneFrom(pubId);
    const pub = paho('pub', ['--version', '4', '--persistent', '--client-id', pubId, '--topic', 'paho4/qos2', '--payload-hex', '00010203fffefd', '--qos', '2']);
    published = (await finish(pub)).find((e) => e.event === 'published');
    await pubGone;
    const subGone = goneFrom(subId);
    received = messagesOf(await finish(sub));
    await subGone;
  });

  test('a QoS 2 message from paho reaches a paho subscriber exactly once, at QoS 2, byte for byte [MQTT-4.3.3-2]', (t) => {
    if (!have(t, python)) return;
    assert.equal(received.length, 1, `deliveries: ${JSON.stringify(received)}`);
    assert.equal(received[0]!.qos, 2);
    assert.equal(received[0]!.dup, false);
    assert.equal(received[0]!.payload_hex, '00010203fffefd');
  });

  test('as receiver the broker completes the flow: PUBCOMP reached paho and no packet id is left awaiting PUBREL [MQTT-4.3.3-2]', (t) => {
    if (!have(t, python)) return;
    assert.ok(published, 'paho saw its PUBCOMP');
    const session = tb!.broker.sessions.get(pubId);
    assert.ok(session, 'the persistent publisher session is kept');
    assert.equal(session.inboundQos2.size, 0);
  });

  test('as sender the broker completes the flow: after paho\'s PUBCOMP nothing is left in flight [MQTT-4.3.3-1]', (t) => {
    if (!have(t, python)) return;
    const session = tb!.broker.sessions.get(subId);
    assert.ok(session, 'the persistent subscriber session is kept');
    assert.equal(session.inflight.size, 0);
    assert.equal(session.queued, 0);
  });
});
