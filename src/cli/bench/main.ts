// `starling bench`: the load generator's command line. `bench(argv)` runs the scenarios
// named in argv against a broker (or against the built-in sink with --sink) and prints a
// table or JSON; it resolves to the exit status. Run on its own as
//   node dist/src/cli/bench/main.js SCENARIO... [options]

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HELP, UsageError, parseCommand, type ScenarioOptions } from './options.js';
import { ProgressLine, summaryTable, type Output } from './report.js';
import { runScenario, type ScenarioResult } from './runner.js';
import { Sink } from './sink.js';
import { benchMqttSn } from './mqtt-sn.js';

export interface BenchIO {
  stdout: Output;
  stderr: Output;
}

export { runScenario, type ScenarioResult } from './runner.js';
export { resolveOptions, SCENARIOS, type ScenarioName, type ScenarioOptions } from './options.js';

/** Starts the sink in a child process (so that it does not share the generator's threads). */
export async function startSinkProcess(host = '127.0.0.1'): Promise<{ child: ChildProcess; port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'sink', '--host', host, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('the sink did not start within 10 s')), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /listening on \S+:(\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the sink exited with code ${code}`));
    });
  });
  child.stdout!.resume();
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return { child, port, stop };
}

export async function bench(argv: string[], io: BenchIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  // The MQTT-SN gateway beside MQTT, on a broker it starts itself (mqtt-sn.ts).
  if (argv[0] === 'mqtt-sn') return benchMqttSn(argv.slice(1), io);
  let command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`starling bench: ${err.message}\nTry 'starling bench --help'.\n`);
      return 2;
    }
    throw err;
  }
  if (command.kind === 'help') {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (command.kind === 'sink') {
    const sink = new Sink();
    const port = await sink.listen(command.port, command.host);
    io.stdout.write(`starling bench sink: listening on ${command.host}:${port}\n`);
    const stop = (): void => {
      void sink.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return -1; // keeps running
  }

  let scenarios: ScenarioOptions[] = command.scenarios;
  let sink: Awaited<ReturnType<typeof startSinkProcess>> | undefined;
  if (command.sink) {
    sink = await startSinkProcess(scenarios[0]!.host);
    const { port, child } = sink;
    scenarios = scenarios.map((s) => ({ ...s, port, pid: child.pid }));
    io.stderr.write(`starling bench: the built-in sink is listening on port ${port} (pid ${child.pid})\n`);
  }
  const showProgress = command.progress ?? io.stderr.isTTY === true;
  const line = new ProgressLine(io.stderr);
  const results: ScenarioResult[] = [];
  try {
    for (const o of scenarios) {
      const r = await runScenario(o, showProgress ? { progress: (l) => line.update(l) } : {});
      line.clear();
      results.push(r);
      if (!command.json && scenarios.length > 1) io.stderr.write(`${o.scenario}: ${r.ok ? 'ok' : `FAIL (${r.problems.join('; ')})`}\n`);
    }
  } finally {
    await sink?.stop();
  }
  if (command.json) io.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
  else io.stdout.write(`${summaryTable(results)}\n`);
  return results.every((r) => r.ok) ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  bench(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`starling bench: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
