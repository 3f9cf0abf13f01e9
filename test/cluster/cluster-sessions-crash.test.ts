// The cluster crash test: two real `starling` processes (nodes A and B) share their
// sessions through one redis-server (`persistence.store: redis`). Persistent clients and a
// publisher of numbered QoS 1 and QoS 2 messages work on one node; that node is killed with
// SIGKILL, its heartbeat key goes, and the clients reconnect to the other node, which takes
// their sessions from Redis. The killed node starts again, and the next kill is of the other
// one. No acknowledged message may be lost, no QoS 2 message delivered twice, nothing
// invented. The clients are those of the single-node crash test (test/store/crash.test.ts):
// spec-following clients over Starling's codec that keep their session state across
// reconnects.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { StoreKeys } from '../../src/store/index.js';
import { startRedis } from '../helpers/redis.js';
import { CrashProcess, CrashPublisher, settle, Subscriber, type Sent, type Target } from '../helpers/crash-peer.js';
import type { Proc } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

// dist/test/cluster/ -> dist/src/cli/main.js
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** SIGKILLs in one run, alternating between the two nodes: 6 in `npm test`; .ci/run adds a longer run. */
const KILLS = Number(process.env.CLUSTER_CRASH_KILLS ?? 6);
/** Unacknowledged publishes the publisher allows itself. */
const WINDOW = 16;
const PREFIX = 'starling:'; // the CLI's key prefix
const keys = new StoreKeys(PREFIX);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Where the clients connect: the port of the node they are on now. */
/**
 * One node: a `starling` process with the Redis store under a fixed node name, and its
 * heartbeat key, which the test keeps alive while the process runs (the cluster membership
 * does in production).
 */
class NodeProcess extends CrashProcess {
  private beat: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    redisUrl: string,
    private readonly admin: Redis,
    procs: Set<Proc>,
  ) {
    super(`node ${name}`, (port) => [CLI, '--port', String(port), '--set', 'persistence.store=redis', '--set', `persistence.redis=${redisUrl}`, '--set', `persistence.node=${name}`], procs);
  }

  protected override async spawned(): Promise<void> {
    await this.admin.set(keys.node(this.name), '1', 'PX', 1500);
    await this.admin.sadd(keys.nodes, this.name);
    this.beat = setInterval(() => void this.admin.set(keys.node(this.name), '1', 'PX', 1500).catch(() => {}), 250);
  }

  protected override failed(): void {
    if (this.beat) clearInterval(this.beat);
    this.beat = undefined;
  }

  /** SIGKILL; its heartbeat key goes with it (as the membership's TTL would let it lapse). */
  override async kill(): Promise<void> {
    this.failed();
    await super.kill();
    await this.admin.del(keys.node(this.name));
  }

  override async stop(): Promise<void> {
    try {
      await super.stop();
    } finally {
      this.failed();
    }
  }
}

const published = new Map<number, Sent>();
/** Messages the broker acknowledged: PUBACK for QoS 1, PUBREC for QoS 2. */
const acknowledged = new Set<number>();
const violations: string[] = [];
const ledger = { published, acknowledged, violations };

const first = <T>(items: T[]): string => `${items.length}: ${JSON.stringify(items.slice(0, 10))}${items.length > 10 ? ' ...' : ''}`;

test(
  'cluster crash: a node SIGKILLed under QoS 1/2 load, its persistent clients resume on the other node with every acknowledged message, no QoS 2 duplicate, nothing invented',
  { timeout: 120_000 + KILLS * 10_000 },
  async (t) => {
    const redis = await startRedis(t);
    if (redis === undefined) return;
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 2 });
    const procs = new Set<Proc>();
    const nodes = [new NodeProcess('A', redis.url, admin, procs), new NodeProcess('B', redis.url, admin, procs)];
    const target: Target = { port: 0 };
    let current = 0;
    const subscribers = [
      new Subscriber('cluster-crash-sub-v5-qos2', 5, 2, target, ledger),
      new Subscriber('cluster-crash-sub-v311-qos2', 4, 2, target, ledger),
      new Subscriber('cluster-crash-sub-v5-qos1', 5, 1, target, ledger),
    ];
    const publisher = new CrashPublisher(target, ledger, WINDOW, 'cluster-crash-pub');
    publisher.gate = () => subscribers.every((s) => s.peer.connected);
    const peers = [...subscribers.map((s) => s.peer), publisher.peer];
    let running: Array<Promise<void>> = [];
    let pump: NodeJS.Timeout | undefined;
    try {
      await Promise.all(nodes.map((n) => n.start()));
      target.port = nodes[current]!.port;
      running = peers.map((p) => p.run());
      await until('the subscriptions to be acknowledged', () => subscribers.every((s) => s.subscribed), 20_000);
      pump = setInterval(() => publisher.pump(), 1);
      for (let kill = 0; kill < KILLS; kill++) {
        await until('the clients to be connected', () => peers.every((p) => p.connected), 20_000);
        const before = acknowledged.size;
        await sleep(300 + Math.random() * 500);
        const dead = nodes[current]!;
        await dead.kill();
        // The clients go to the other node; the dead one comes back for the next round.
        current = 1 - current;
        target.port = nodes[current]!.port;
        t.diagnostic(`kill ${kill + 1} (node ${dead.name}): ${acknowledged.size} acknowledged (${acknowledged.size - before} in this round), ${publisher.inflight.size} unfinished`);
        await dead.start();
      }
      await until('the clients to reconnect', () => peers.every((p) => p.connected), 20_000);
      await sleep(300);
      publisher.publishing = false;
      await until('the publisher to have nothing unfinished', () => publisher.inflight.size === 0, 30_000);
      await settle(() => subscribers.every((s) => s.complete()), () => subscribers.reduce((sum, s) => sum + s.received.size, 0));
      await sleep(200); // anything still on its way (a duplicate) arrives before the checks
    } finally {
      if (pump) clearInterval(pump);
      for (const p of peers) p.stop();
      await Promise.all(running);
      for (const n of nodes) if (n.proc) await n.stop().catch(() => {});
      for (const p of procs) p.kill();
      admin.disconnect();
    }

    assert.equal(violations.length, 0, `protocol violations ${first(violations)}`);
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
    t.diagnostic(`${published.size} published, ${acknowledged.size} acknowledged, node starts ${nodes.map((n) => `${n.name}: ${n.starts}`).join(', ')}`);
  },
);
