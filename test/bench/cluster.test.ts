// Smoke test of `npm run bench:cluster` (bench/cluster.ts): a short run of one case against
// a standalone node and Aedes' two-node cluster on a real redis-server, through the script
// itself. It says nothing about speed; it shows that the harness starts Redis and the nodes,
// places publishers and subscribers on different nodes, samples CPU, and reports. The
// Starling two-node targets run once the cluster's routing exists, and say "not available"
// until then.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { redisServer } from '../helpers/redis.js';
import { have, run } from '../helpers/tools.js';

const SCRIPT = fileURLToPath(new URL('../../bench/cluster.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'starling-bench-cluster-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  target: string;
  caseId: string;
  error?: string;
  result?: { ok: boolean; target: string; rates: { delivery: number }; messages: { lost: number; expected: number } };
  nodeCpuUsPerMessage?: number[];
  redisCpuUsPerMessage?: number;
}

test('bench:cluster: standalone and Aedes on Redis run fan-in, publishers and subscribers on different Aedes nodes, with CPU per message per node', { timeout: 120_000 }, async (t) => {
  if (!have(t, redisServer)) return;
  const json = join(dir, 'runs.json');
  const exit = await run(
    process.execPath,
    [SCRIPT, '--targets', 'standalone,starling-2,aedes-2', '--cases', 'fan-in-0', '--duration', '1', '--warmup', '0.3', '--json', json],
    { timeoutMs: 110_000 },
  );
  assert.equal(exit.code, 0, `${exit.stdout}\n${exit.stderr}`);
  const runs = (JSON.parse(readFileSync(json, 'utf8')) as { runs: Run[] }).runs;
  const of = (target: string): Run | undefined => runs.find((r) => r.target === target);
  const standalone = of('standalone')!;
  const aedes = of('aedes-2')!;
  for (const r of [standalone, aedes]) {
    assert.equal(r.error, undefined, r.error);
    assert.ok(r.result!.ok, JSON.stringify(r.result));
    assert.ok(r.result!.rates.delivery > 0);
    assert.ok(r.nodeCpuUsPerMessage!.every((x) => x > 0 && Number.isFinite(x)), `CPU per message: ${r.nodeCpuUsPerMessage?.join(', ')}`);
  }
  assert.equal(standalone.nodeCpuUsPerMessage!.length, 1);
  assert.equal(aedes.nodeCpuUsPerMessage!.length, 2, 'one figure per node');
  // Publishers on the first node, subscribers on the second: every message went through Redis.
  assert.match(aedes.result!.target, /^127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:(?!\1)\d+$/);
  // Redis's CPU is read from /proc in clock ticks (10 ms): over a 1 s window on a loaded
  // machine it may round to none, so only that the figure was computed is checked here.
  assert.ok(Number.isFinite(aedes.redisCpuUsPerMessage) && aedes.redisCpuUsPerMessage! >= 0, `Redis CPU per message: ${aedes.redisCpuUsPerMessage}`);
  assert.match(exit.stdout, /\| fan-in 4 → 1, QoS 0 +\| delivered msg\/s ↑/);
  // Starling's two nodes: measured once the cluster forwards, "not available" before.
  const starling2 = of('starling-2');
  if (starling2 === undefined) assert.match(exit.stdout, /Starling 2 nodes, cross-node: not available/);
  else assert.equal(starling2.error, undefined, starling2.error);
});
