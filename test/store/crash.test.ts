// The crash test: the real CLI with its default store (SQLite, strict durability) is killed
// with SIGKILL at random moments while a publisher sends numbered QoS 1 and QoS 2 messages to
// persistent subscribers, and started again on the same data directory each time. The
// clients are written here over Starling's codec so that they behave exactly as the
// specification asks of a client, and keep their own session state across reconnects: the
// publisher resends unacknowledged PUBLISHes with DUP set and owed PUBRELs; a QoS 2
// subscriber keeps the packet ids it has acknowledged with PUBREC until PUBREL comes.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CrashProcess, CrashPublisher, settle, Subscriber, type Sent } from '../helpers/crash-peer.js';
import type { Proc } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

// dist/test/store/ -> dist/src/cli/main.js
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** SIGKILLs in one run: 12 in `npm test`; .ci/run adds a longer run (CRASH_KILLS=40). */
const KILLS = Number(process.env.CRASH_KILLS ?? 12);
/** Unacknowledged publishes the publisher allows itself. */
const WINDOW = 16;

const dir = mkdtempSync(join(tmpdir(), 'starling-crash-'));
const procs = new Set<Proc>();
after(() => {
  for (const p of procs) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const published = new Map<number, Sent>();
/** Messages the broker acknowledged: PUBACK for QoS 1, PUBREC for QoS 2. */
const acknowledged = new Set<number>();
const violations: string[] = [];
const ledger = { published, acknowledged, violations };

const first = <T>(items: T[]): string => `${items.length}: ${JSON.stringify(items.slice(0, 10))}${items.length > 10 ? ' ...' : ''}`;

test(
  'durable by default: SIGKILLed at random moments, the broker loses no acknowledged QoS 1/2 message, delivers QoS 2 exactly once and invents nothing',
  { timeout: 150_000 + KILLS * 5_000 },
  async (t) => {
    const broker = new CrashProcess('the broker', (port) => [CLI, '--port', String(port), '--set', `persistence.dataDir=${dir}`], procs);
    await broker.start();
    const subscribers = [
      new Subscriber('crash-sub-v5-qos2', 5, 2, broker, ledger),
      new Subscriber('crash-sub-v311-qos2', 4, 2, broker, ledger),
      new Subscriber('crash-sub-v5-qos1', 5, 1, broker, ledger),
    ];
    const publisher = new CrashPublisher(broker, ledger, WINDOW);
    // Messages are published only while every subscriber is connected: the offline queues stay
    // far below their bound (a full queue drops messages by design, which is not what this tests).
    publisher.gate = () => subscribers.every((s) => s.peer.connected);
    const peers = [...subscribers.map((s) => s.peer), publisher.peer];
    const running = peers.map((p) => p.run());
    await until('the subscriptions to be acknowledged', () => subscribers.every((s) => s.subscribed), 20_000);
    const pump = setInterval(() => publisher.pump(), 1);

    try {
      for (let kill = 0; kill < KILLS; kill++) {
        // Half of the kills while the clients are still reconnecting and resending after the
        // previous restart, half once traffic flows again.
        if (kill % 2 === 1) await until('the clients to reconnect', () => peers.every((p) => p.connected), 20_000);
        const before = acknowledged.size;
        await sleep(50 + Math.random() * 600);
        await broker.kill();
        t.diagnostic(`kill ${kill + 1}: ${acknowledged.size} acknowledged (${acknowledged.size - before} in this run), ${publisher.inflight.size} unfinished`);
        await broker.start();
      }
      // The last run: let traffic flow, stop publishing, and let every exchange finish.
      await until('the clients to reconnect', () => peers.every((p) => p.connected), 20_000);
      await sleep(300);
      publisher.publishing = false;
      await until('the publisher to have nothing unfinished', () => publisher.inflight.size === 0, 30_000);
      // Until every acknowledged message has arrived, or nothing more arrives: the checks
      // below then name what is missing.
      await settle(() => subscribers.every((s) => s.complete()), () => subscribers.reduce((sum, s) => sum + s.received.size, 0));
      await sleep(200); // anything still on its way (a duplicate) arrives before the checks
    } finally {
      clearInterval(pump);
      for (const p of peers) p.stop();
      await Promise.all(running);
    }
    await broker.stop();

    assert.equal(violations.length, 0, `protocol violations ${first(violations)}`);
    assert.ok(broker.starts >= KILLS + 1);
    assert.ok(acknowledged.size >= 100, `only ${acknowledged.size} messages were acknowledged: too little traffic to mean anything`);
    assert.equal(acknowledged.size, published.size, 'every message published was acknowledged in the end');
    for (const s of subscribers) {
      const missing = [...acknowledged].filter((n) => !s.received.has(n));
      assert.equal(missing.length, 0, `${s.peer.clientId} misses acknowledged messages ${first(missing)}`);
      const twice = [...s.received].filter(([n, count]) => count > 1 && s.qos === 2 && published.get(n)!.qos === 2);
      assert.equal(twice.length, 0, `${s.peer.clientId} received QoS 2 messages more than once ${first(twice)}`);
      const duplicates = [...s.received.values()].filter((c) => c > 1).length;
      t.diagnostic(`${s.peer.clientId}: ${s.received.size} messages, ${duplicates} QoS 1 duplicates, ${s.peer.connects} connects`);
    }
    t.diagnostic(`${published.size} published, ${acknowledged.size} acknowledged, ${broker.starts} broker starts`);
  },
);
