// The real cluster's crash test: three `starling` processes (members A, B, C), each with a
// `cluster` section and `persistence.store: redis` on one redis-server (appendonly,
// appendfsync always: Redis itself is not what loses). Persistent QoS 1 and QoS 2
// subscribers and two publishers of numbered QoS 1/2 messages are spread over the members,
// so most messages cross members through the inboxes. One member at a time is SIGKILLed;
// its clients reconnect to ANOTHER member, which takes their sessions. By default a killed
// member comes back only once the survivors saw it dead and its sessions (with what its
// inbox held for them) were taken, every other kill one round later. No message
// acknowledged to a publisher may be missing at any subscriber, no QoS 2 message delivered
// twice, nothing invented.
//
// Two runs, each on a fresh Redis and cluster:
// - the members come back only once the survivors saw them dead and their sessions (with
//   what their inboxes held for them) were taken, every other kill one round later: 4 kills
//   in `npm test` (A, B, C, A: the third is C, holding only subscribers while the publishers
//   go on on A), CLUSTER_KILLS for another count (10 in .ci/run's soak);
// - every killed member restarts at once under its name (systemd's Restart=always), before
//   the others see it dead: its clients take their sessions from the new process, and the
//   ghosts of sessions it had just taken still pass copies back to it: 4 kills in `npm test`,
//   CLUSTER_AT_ONCE_KILLS for another count (8 in .ci/run).
// A failed run prints the members' warnings, and with CLUSTER_CRASH_LOGS=dir keeps their
// whole logs (CLUSTER_CRASH_DEBUG=1: at debug level). The subscribers' queues hold 1,000,000
// here (limits.maxQueuedMessages): a queue at its bound drops messages by design, and at
// this test's rate the default 10,000 fill while a subscriber waits out nodeTimeout.

import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startRedis } from '../helpers/redis.js';
import { CrashProcess, CrashPublisher, settle, Subscriber, type Sent, type Target } from '../helpers/crash-peer.js';
import type { Proc } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const KILLS = Number(process.env.CLUSTER_KILLS ?? 4);
const AT_ONCE_KILLS = Number(process.env.CLUSTER_AT_ONCE_KILLS ?? 4);
/** Unacknowledged publishes each publisher allows itself. */
const WINDOW = 8;
const HEARTBEAT = 250;
const NODE_TIMEOUT = 1500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Member = CrashProcess & { readonly name: string };

/** One member: a `starling` process under a fixed node name. */
function member(name: string, redisUrl: string, procs: Set<Proc>): Member {
  const args = (port: number): string[] => [
    CLI,
    '--port', String(port),
    '--set', `cluster.redis=${redisUrl}`,
    '--set', `cluster.node=${name}`,
    '--set', `cluster.heartbeatInterval=${HEARTBEAT}`,
    '--set', `cluster.nodeTimeout=${NODE_TIMEOUT}`,
    '--set', 'persistence.store=redis',
    '--set', 'persistence.takeoverTimeout=2000',
    // A subscriber away while its member is found dead misses nothing by the queue bound: at
    // this test's rate 10,000 (the default) fill in about three seconds, and the messages
    // dropped beyond it are lost by design (limits.test.ts), not by the cluster.
    '--set', 'limits.maxQueuedMessages=1000000',
    ...(process.env.CLUSTER_CRASH_DEBUG === '1' ? ['--log-level', 'debug'] : []),
  ];
  return Object.assign(new CrashProcess(`member ${name}`, args, procs, 600_000), { name });
}

/** A client's place: the member it uses now. */
interface Placed {
  readonly target: Target;
  member: number;
}

/** 1,2,3,7 -> "1-3 7" (the missing numbers say when they were published). */
const ranges = (ns: number[]): string => {
  const out: string[] = [];
  const sorted = [...ns].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.length > 12 ? `${out.slice(0, 12).join(' ')} ...` : out.join(' ');
};

const first = <T>(items: T[]): string => `${items.length}: ${JSON.stringify(items.slice(0, 10))}${items.length > 10 ? ' ...' : ''}`;

/**
 * A failed run's member logs: each warning in the diagnostics, and with CLUSTER_CRASH_LOGS=dir
 * every line, one file per member run.
 */
function saveLogs(t: TestContext, members: Member[], label: string): void {
  const dir = process.env.CLUSTER_CRASH_LOGS;
  if (dir !== undefined) mkdirSync(dir, { recursive: true });
  for (const m of members) {
    m.logs.forEach((log, run) => {
      if (dir !== undefined) writeFileSync(join(dir, `${label}-${m.name}-${run + 1}.log`), log);
      for (const line of log.split('\n')) if (/"level":(40|50|60)/.test(line)) t.diagnostic(`${m.name} run ${run + 1}: ${line}`);
    });
  }
}

test(
  'cluster durability 1: members SIGKILLed under QoS 1/2 load (restarted under their names after their sessions moved, or left down); clients resume on another member with every acknowledged message, no QoS 2 duplicate',
  { timeout: 90_000 + KILLS * 20_000 },
  (t) => crashRun(t, false, KILLS),
);

test(
  'cluster durability 1b: members SIGKILLed under QoS 1/2 load and restarted at once under their names; clients resume on another member with every acknowledged message, no QoS 2 duplicate',
  { timeout: 90_000 + AT_ONCE_KILLS * 20_000 },
  (t) => crashRun(t, true, AT_ONCE_KILLS),
);

/** One crash run: `kills` members SIGKILLed in turn, restarted `atOnce` or after their sessions moved. */
async function crashRun(t: TestContext, atOnce: boolean, kills: number): Promise<void> {
  const published = new Map<number, Sent>();
  /** Messages a member acknowledged: PUBACK for QoS 1, PUBREC for QoS 2. */
  const acknowledged = new Set<number>();
  const violations: string[] = [];
  const ledger = { published, acknowledged, violations };
  const redis = await startRedis(t, { appendonly: true });
  if (redis === undefined) return;
  const procs = new Set<Proc>();
  const members = ['A', 'B', 'C'].map((n) => member(n, redis.url, procs));
  const placed: Placed[] = [];
  const place = (member: number): Target => {
    const p: Placed = { target: { port: 0 }, member };
    placed.push(p);
    return p.target;
  };
  const subscribers = [
    new Subscriber('cc-sub-v5-qos2', 5, 2, place(0), ledger),
    new Subscriber('cc-sub-v311-qos2', 4, 2, place(1), ledger),
    new Subscriber('cc-sub-v5-qos1', 5, 1, place(2), ledger),
    new Subscriber('cc-sub-v5-qos2-b', 5, 2, place(2), ledger),
  ];
  const publishers = [new CrashPublisher(place(1), ledger, WINDOW, 'cc-pub-1', 1), new CrashPublisher(place(0), ledger, WINDOW, 'cc-pub-2', 10_000_000)];
  /** When the publishers were at which numbers, every 50 ms (a missing number's time, for the members' logs). */
  const timeline: Array<{ at: number; next: number[] }> = [];
  const sentAt = (n: number): number => {
    const p = n >= 10_000_000 ? 1 : 0;
    return timeline.find((s) => s.next[p]! > n)?.at ?? NaN;
  };
  const peers = [...subscribers.map((s) => s.peer), ...publishers.map((p) => p.peer)];
  let running: Array<Promise<void>> = [];
  let failed = false;
  let pump: NodeJS.Timeout | undefined;
  // Whatever happens, nothing this test started outlives it.
  t.after(() => {
    if (pump) clearInterval(pump);
    for (const p of peers) p.stop();
    for (const p of procs) p.kill('SIGKILL');
  });
  const aim = (): void => {
    for (const p of placed) p.target.port = members[p.member]!.port;
  };
  try {
    await Promise.all(members.map((m) => m.start()));
    aim();
    running = peers.map((p) => p.run());
    await until('the subscriptions to be acknowledged', () => subscribers.every((s) => s.subscribed), 20_000);
    pump = setInterval(() => {
      for (const p of publishers) p.pump();
      if (Date.now() - (timeline.at(-1)?.at ?? 0) >= 50) timeline.push({ at: Date.now(), next: publishers.map((p) => p.next) });
    }, 1);
    let down: Member | undefined;
    for (let kill = 0; kill < kills; kill++) {
      await until('the clients to be connected', () => peers.every((p) => p.connected), 30_000);
      const before = acknowledged.size;
      await sleep(500 + Math.random() * 700);
      const live = members.map((_, i) => i).filter((i) => members[i]!.up);
      // Each member in turn, skipping one that is down.
      const victim = [0, 1, 2].map((k) => (kill + k) % members.length).find((i) => members[i]!.up)!;
      const dead = members[victim]!;
      await dead.kill();
      // Its clients go to another live member.
      const refuge = live.find((i) => i !== victim)!;
      for (const p of placed) if (p.member === victim) p.member = refuge;
      aim();
      const mode = atOnce ? 'restarted at once' : kill % 2 === 0 ? 'restarted after its sessions were taken' : 'left down for a round';
      t.diagnostic(`kill ${kill + 1} (member ${dead.name}, ${mode}): ${acknowledged.size} acknowledged (${acknowledged.size - before} in this round), next numbers ${publishers.map((p) => p.next).join(', ')}`);
      if (atOnce) {
        await dead.start();
        continue;
      }
      // The survivors see it dead (nodeTimeout); its sessions are taken by the clients
      // reconnecting, or adopted with its wills (a sweep every 2 s).
      await sleep(NODE_TIMEOUT + 3000);
      if (down !== undefined) {
        await down.start();
        down = undefined;
      }
      if (kill % 2 === 0) await dead.start();
      else down = dead;
    }
    if (down !== undefined) await down.start();
    await until('the clients to reconnect', () => peers.every((p) => p.connected), 30_000);
    await sleep(500);
    for (const p of publishers) p.publishing = false;
    await until('the publishers to have nothing unfinished', () => publishers.every((p) => p.inflight.size === 0), 30_000);
    await settle(() => subscribers.every((s) => s.complete()), () => subscribers.reduce((sum, s) => sum + s.received.size, 0));
    await sleep(300);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    if (pump) clearInterval(pump);
    for (const p of peers) p.stop();
    await Promise.all(running);
    for (const m of members) if (m.up) await m.stop(false).catch(() => {});
    if (failed) saveLogs(t, members, atOnce ? 'at-once' : 'after');
  }

  const report = subscribers.map((s) => {
    const missing = [...acknowledged].filter((n) => !s.received.has(n));
    const twice = [...s.received].filter(([n, count]) => count > 1 && s.qos === 2 && published.get(n)!.qos === 2);
    const duplicates = [...s.received.values()].filter((c) => c > 1).length;
    const span = missing.length === 0 ? '' : ` (sent ${missing.map(sentAt).sort().filter((_, i, a) => i === 0 || i === a.length - 1).join(' to ')})`;
    t.diagnostic(`${s.peer.clientId}: ${s.received.size} messages, ${missing.length} missing ${ranges(missing)}${span}, ${twice.length} QoS 2 twice, ${duplicates} duplicates, ${s.peer.connects} connects`);
    return { s, missing, twice };
  });
  if (violations.length > 0 || acknowledged.size !== published.size || report.some((r) => r.missing.length > 0 || r.twice.length > 0)) saveLogs(t, members, atOnce ? 'at-once' : 'after');
  assert.equal(violations.length, 0, `protocol violations ${first(violations)}`);
  assert.ok(acknowledged.size >= 100, `only ${acknowledged.size} messages were acknowledged: too little traffic to mean anything`);
  assert.equal(acknowledged.size, published.size, 'every message published was acknowledged in the end');
  for (const { s, missing, twice } of report) {
    assert.equal(missing.length, 0, `${s.peer.clientId} misses acknowledged messages ${first(missing)}`);
    assert.equal(twice.length, 0, `${s.peer.clientId} received QoS 2 messages more than once ${first(twice.map(([n]) => [n, s.deliveries.get(n)]))}`);
  }
  t.diagnostic(`${published.size} published, ${acknowledged.size} acknowledged, starts ${members.map((m) => `${m.name}: ${m.starts}`).join(', ')}`);
}
