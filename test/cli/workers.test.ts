// What `starling --workers` changes in each worker's config, and what it refuses, without
// forking: the e2e test (test/e2e/workers.test.ts) runs the real command.

import assert from 'node:assert/strict';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { forWorker, parseWorkerCount, restartDelay, workerExecArgv, workerIdentity, workersDefault, workersProblem } from '../../src/cli/workers.js';

const config = (set: string[] = []) => loadConfig({ env: {}, flags: { set } }).config;

test('workers 7: worker i gets DATADIR/worker-i, http.port+i-1 and node name <node>-<i>; memory stores and port 0 stay', () => {
  const c = config(['persistence.dataDir=/var/lib/starling', 'http.port=9100']);
  const w3 = forWorker(c, { index: 3, count: 4 });
  assert.equal(w3.persistence.dataDir, join('/var/lib/starling', 'worker-3'));
  assert.equal(w3.http.port, 9102);
  assert.equal(c.persistence.dataDir, '/var/lib/starling', 'the input is not changed');
  assert.equal(forWorker(c, undefined), c, 'no worker: the config as it is');
  const mem = forWorker(config(['persistence.store=memory', 'http.port=0']), { index: 2, count: 2 });
  assert.equal(mem.persistence.dataDir, './data');
  assert.equal(mem.http.port, 0);
  assert.equal(forWorker(config(), { index: 2, count: 2 }).http.port, undefined);
  // A `cluster` section (added by the cluster work) gets a node name per worker.
  const clustered = { ...c, cluster: { redis: 'redis://127.0.0.1:6379', node: 'edge' } } as typeof c;
  assert.equal((forWorker(clustered, { index: 2, count: 2 }) as unknown as { cluster: { node: string } }).cluster.node, 'edge-2');
  const unnamed = { ...c, cluster: { redis: 'redis://127.0.0.1:6379' } } as typeof c;
  assert.equal((forWorker(unnamed, { index: 1, count: 2 }) as unknown as { cluster: { node: string } }).cluster.node, `${os.hostname()}-1`);
});

test('workers 8: the count is 1..256 or auto (one per core); a cluster section lifts the isolated-workers requirement', () => {
  assert.equal(parseWorkerCount('3'), 3);
  assert.equal(parseWorkerCount('auto'), os.availableParallelism());
  for (const bad of ['0', '-1', '2.5', '257', '', 'two']) assert.throws(() => parseWorkerCount(bad), /from 1 to 256/, bad);
  assert.equal(workerIdentity(), undefined, 'the test runner is no worker');
  const c = config();
  assert.match(workersProblem(c, 2, false) ?? '', /needs a `cluster` section/);
  assert.equal(workersProblem(c, 2, true), undefined);
  assert.equal(workersProblem({ ...c, cluster: { redis: 'redis://x' } } as typeof c, 2, false), undefined);
  assert.match(workersProblem(config(['http.port=65535']), 2, true) ?? '', /no room for one port per worker/);
});

test('workers 9: the benchmarks sample a broker with its child processes, so the CPU of `--workers` is counted', async () => {
  const { spawn } = await import('node:child_process');
  const { sampleProcess } = await import('../../src/cli/bench/stats.js');
  const before = sampleProcess(process.pid)!;
  // A child that burns 400 ms of CPU (its own CPU time, not the wall clock's, which a
  // loaded machine stretches) and then says so and waits to be sampled.
  const burn = 'const u = () => { const c = process.cpuUsage(); return c.user + c.system; }; const s = u(); while (u() - s < 400000); process.stdout.write("burnt"); setTimeout(() => {}, 10000)';
  const child = spawn(process.execPath, ['-e', burn], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the child did not burn its CPU within 30 s')), 30_000);
      child.stdout!.once('data', () => {
        clearTimeout(t);
        resolve();
      });
    });
    const after = sampleProcess(process.pid)!;
    assert.ok(after.cpuSeconds - before.cpuSeconds >= 0.3, `the child's CPU is counted: ${(after.cpuSeconds - before.cpuSeconds).toFixed(2)} s`);
  } finally {
    child.kill('SIGKILL');
  }
});

test('workers 10: a worker that keeps dying waits twice as long each time, up to workers.maxRestartDelay', () => {
  const bounds = { restartDelay: 500, maxRestartDelay: 30_000 };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 30, 1000].map((n) => restartDelay(n, bounds)), [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]);
});

test("workers 13: a worker's Node flags are the primary's plus --no-parallel-scavenge, unless they choose or the config says no", () => {
  assert.deepEqual(workerExecArgv(['--max-old-space-size=4096'], false), ['--max-old-space-size=4096', '--no-parallel-scavenge']);
  assert.deepEqual(workerExecArgv(['--max-old-space-size=4096'], true), ['--max-old-space-size=4096']);
  // The operator's own choice, in either spelling V8 takes, is not overridden or repeated.
  for (const own of ['--parallel-scavenge', '--no-parallel-scavenge', '--parallel_scavenge', '--single-threaded-gc', '--single-threaded']) {
    assert.deepEqual(workerExecArgv([own], false), [own], own);
  }
});

test('workers 14: --workers with no value is --workers auto (one per core); a value, or --workers=N, is kept', () => {
  assert.deepEqual(workersDefault(['--workers']), ['--workers', 'auto']);
  assert.deepEqual(workersDefault(['--workers', '--port', '1884']), ['--workers', 'auto', '--port', '1884']);
  assert.deepEqual(workersDefault(['-c', 'x.yaml', '--workers', '-l', 'debug']), ['-c', 'x.yaml', '--workers', 'auto', '-l', 'debug']);
  assert.deepEqual(workersDefault(['--workers', '3', '--port', '1884']), ['--workers', '3', '--port', '1884']);
  assert.deepEqual(workersDefault(['--workers=2']), ['--workers=2']);
  assert.deepEqual(workersDefault(['--port', '1884']), ['--port', '1884']);
});
