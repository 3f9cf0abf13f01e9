#!/usr/bin/env node
// The `starling` command: a thin wrapper over createBroker(). The config file, STARLING_*
// environment variables and flags are merged by src/config (flags win); SIGINT/SIGTERM stop
// the broker gracefully (5.0 clients get DISCONNECT 0x8B); SIGHUP reloads what can change
// live and says what needs a restart.

import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { AuthFileError, fileAuth, type AuthFiles, type AuthLogger, type FileAuth } from '../auth/index.js';
import { attachClusterSessions, clusterSessionsOptions } from '../cluster/sessions.js';
import { createBroker, createOpsServer, createStore, StoreError, type Broker, type OpsServer, type ReloadResult } from '../index.js';
import { prettyLog, stdoutLog } from '../ops/index.js';
import { bench } from './bench/main.js';
import { bridgesFromConfig, placeBridges, type BridgeManager } from '../bridge/index.js';
import { passwd } from './passwd.js';
import { forWorker, runWorkers, worker, workersDefault } from './workers.js';
import {
  AUTH_FILE_KEYS,
  authFiles,
  authOptions,
  ConfigError,
  diffConfig,
  formatDiff,
  fromMosquitto,
  loadConfig,
  printConfig,
  redactSecrets,
  toBrokerOptions,
  type CliFlags,
  type ConfigDiff,
  type LoadedConfig,
} from '../config/index.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const HELP = `starling ${pkg.version}: an MQTT 3.1 / 3.1.1 / 5.0 broker for Node.js

Usage: starling [options]
       starling passwd [-c] [-b] [-D] FILE USER [PASSWORD]   manage a password file
       starling bench SCENARIO [options]                    load generator (bench --help)
       starling --from-mosquitto mosquitto.conf > starling.yaml

Options:
  -c, --config FILE          YAML config file (also STARLING_CONFIG); see docs/configuration.md
  -H, --host HOST            address of the first listener (default 127.0.0.1)
  -p, --port PORT            port of the first listener (default 1883; 0 picks a free one)
  -l, --log-level LEVEL      fatal, error, warn, info, debug, trace or silent (default info)
      --set KEY=VALUE        set any config key, e.g. --set limits.maxInflight=64 (repeatable)
      --print-config         print the effective config (file, environment, flags) and exit
      --from-mosquitto FILE  convert a mosquitto.conf to Starling's YAML on stdout; what
                             cannot be converted is listed on stderr
      --workers [N|auto]     run N broker processes sharing the listeners' ports (auto, or
                             no value: one per core); needs a cluster section, so that
                             they share messages and sessions, unless --isolated-workers.
                             Each worker i keeps its store in DATADIR/worker-i and serves
                             HTTP on http.port+i-1; a worker that dies is restarted
                             (docs/workers.md)
      --isolated-workers     with --workers and no cluster: unconnected brokers, on purpose
  -h, --help                 show this help and exit
  -v, --version              print the version and exit

Precedence: defaults < config file < STARLING_* environment variables < flags.
Anonymous clients are allowed only on loopback listeners unless the config says otherwise.
Signals: SIGINT/SIGTERM stop gracefully; SIGHUP reloads limits, the log level, the
password and ACL files (also files named for the first time) and TLS certificates, and
logs what would need a restart.
Operations: $SYS topics every sys.interval seconds; with http.port set, /metrics,
/healthz, /readyz, the web dashboard at / and (with http.adminToken) the admin API and
the dashboard's login: see docs/operations.md and docs/dashboard.md.`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'passwd') return passwd(argv.slice(1));
  if (argv[0] === 'bench') return bench(argv.slice(1));
  let values;
  try {
    ({ values } = parseArgs({
      args: workersDefault(argv),
      options: {
        config: { type: 'string', short: 'c' },
        host: { type: 'string', short: 'H' },
        port: { type: 'string', short: 'p' },
        'log-level': { type: 'string', short: 'l' },
        set: { type: 'string', multiple: true },
        'print-config': { type: 'boolean' },
        'from-mosquitto': { type: 'string' },
        workers: { type: 'string' },
        'isolated-workers': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
    }));
  } catch (err) {
    return fail(`${(err as Error).message}\nTry 'starling --help'.`);
  }
  if (values.help) return out(HELP);
  if (values.version) return out(pkg.version);
  if (values['from-mosquitto'] !== undefined) return convert(values['from-mosquitto']);

  const flags: CliFlags = {
    ...(values.host !== undefined && { host: values.host }),
    ...(values.port !== undefined && { port: values.port }),
    ...(values['log-level'] !== undefined && { logLevel: values['log-level'] }),
    ...(values.set !== undefined && { set: values.set }),
  };
  // A worker of --workers runs with its own data directory, HTTP port and node name.
  const self = worker.identity();
  const load = (): LoadedConfig => {
    const l = loadConfig({ ...(values.config !== undefined && { file: values.config }), env: process.env, flags });
    return { ...l, config: forWorker(l.config, self) };
  };
  let loaded: LoadedConfig;
  try {
    loaded = load();
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message);
    throw err;
  }
  if (values['print-config']) return out(printConfig(loaded).trimEnd());
  if (values.workers !== undefined && self === undefined) return runWorkers(values.workers, loaded.config, values['isolated-workers'] === true);

  const setup = toBrokerOptions(loaded.config);
  if (self !== undefined) setup.options.listeners = worker.ticketKeys(setup.options.listeners);
  // The built-in password and ACL checks are hooks like any embedder's. They are in place
  // even without files, so that a reload can add files the broker started without.
  let broker: Broker | undefined;
  const early: Array<(b: Broker) => void> = []; // logged once the broker's logger exists
  const log: AuthLogger = {
    warn: (obj, msg) => (broker ? broker.log.warn(obj, msg) : early.push((b) => b.log.warn(obj, msg))),
    info: (obj, msg) => (broker ? broker.log.info(obj, msg) : early.push((b) => b.log.info(obj, msg))),
    debug: (obj, msg) => broker?.log.debug(obj, msg),
  };
  const files = authFiles(loaded);
  let auth: FileAuth;
  try {
    auth = fileAuth({ ...files, ...authOptions(loaded.config.auth), log });
  } catch (err) {
    return fail(authProblem(err, files));
  }
  broker = createBroker({
    ...setup.options,
    logDestination: setup.log.pretty ? prettyLog() : stdoutLog(setup.log.flushInterval),
    store: createStore(setup.persistence),
    hooks: [auth],
  });
  worker.label(broker.log, self);
  for (const line of early) line(broker);
  attachClusterSessions(broker, clusterSessionsOptions(setup.persistence)); // store: redis only
  if (setup.options.cluster !== undefined && setup.persistence.store !== 'redis') {
    broker.log.warn(
      { store: setup.persistence.store },
      'cluster member without persistence.store: redis: persistent sessions stay on this node and do not move to another member (docs/clustering.md)',
    );
  }
  // Bridges are built before any listener opens: a bridge that cannot work stops start-up.
  let bridges: BridgeManager;
  let stopBridges: () => Promise<void> = async () => undefined;
  try {
    bridges = bridgesFromConfig(broker, loaded.config.bridges, loaded.file === undefined ? undefined : dirname(loaded.file));
  } catch (err) {
    await broker.close();
    return fail((err as Error).message);
  }
  // A store that cannot keep its promise stops the broker: better restarted from disk than
  // running on with acknowledgements it cannot give.
  broker.on('storeError', () => {
    process.exitCode = 1;
    void broker?.close().finally(() => process.exit(1));
  });
  // Signals are handled from before the first listener opens: a stop requested as soon as
  // the "listening" line appears is still graceful.
  let stopping = false;
  let ops: OpsServer | undefined;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    broker.log.info({ signal }, 'shutting down');
    void Promise.all([ops?.close(), stopBridges().then(() => broker.close())]).then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const running = broker;
  // SIGHUP and the admin API's POST /api/v1/reload do the same, one reload after another.
  let reloading: Promise<unknown> = Promise.resolve();
  const hup = (): Promise<ReloadResult> => {
    const run = reloading.then(reloadAll);
    reloading = run.catch((err: unknown) => running.log.error({ err }, 'reload failed'));
    return run;
  };
  const reloadAll = async (): Promise<ReloadResult> => {
    const result = reload(running, loaded, load);
    void running.reloadCertificates().then((errors) => {
      for (const err of errors) running.log.error({ err: err.message }, 'certificate reload failed: the old certificate stays');
    });
    // The auth files are re-read even when the config is bad: the running config's files then.
    const next = authFiles('error' in result ? loaded : result.config);
    const errors = (await auth.reload(next)).errors;
    // An ACL file added or removed adds or removes fileAuth's checks.
    running.hooks.refresh();
    const problems = errors.map((err) => authProblem(err, next));
    if ('error' in result) return { ok: false, applied: [], needsRestart: [], error: [result.error, ...problems].join('; ') };
    loaded = result.config;
    // A file that does not load keeps its previous rules: its key was not applied.
    const failed = new Map(errors.map((err) => [authKey(err, next), err.message]));
    for (const line of formatDiff(result.diff, failed)) running.log.info(line);
    running.log.info({ live: result.diff.live.length, restart: result.diff.restart.length }, 'config reloaded');
    const applied = result.diff.live.map((c) => c.key).filter((key) => !failed.has(key));
    const needsRestart = result.diff.restart.map((c) => c.key);
    return problems.length === 0 ? { ok: true, applied, needsRestart } : { ok: false, applied, needsRestart, error: problems.join('; ') };
  };
  process.on('SIGHUP', () => void hup().catch(() => undefined));
  try {
    await broker.listen();
  } catch (err) {
    if (err instanceof StoreError) {
      process.stderr.write(`starling: cannot open the store: ${err.message}\n`);
      await broker.close();
      return 1;
    }
    process.stderr.write(`starling: cannot listen: ${(err as Error).message}\n`);
    await broker.close();
    return 1;
  }
  ops = createOpsServer(broker, { ...setup.ops, version: pkg.version, reload: hup, config: () => redactSecrets(loaded.config), authStats: () => auth.stats, checkPassword: (u, p, release) => auth.verifyPassword(u, p, release), loginGuard: auth.guard, bridges: () => bridges.statuses() });
  try {
    await ops.start();
  } catch (err) {
    process.stderr.write(`starling: cannot open the HTTP server: ${(err as Error).message}\n`);
    await ops.close();
    await broker.close();
    return 1;
  }
  // The bridges connect in the background; one that cannot open its local session is logged.
  // Each bridge runs in one process only (N processes would hold one bridge client id N
  // times and take it from each other): on a cluster member while it holds the bridges
  // lease, with isolated --workers in worker 1.
  stopBridges = await placeBridges(broker, bridges, self === undefined || self.index === 1, (name, err) => broker!.log.error({ bridge: name, err: err.message }, 'bridge not started'));
  worker.ready(self);
  return -1; // keep running
}

/** The config key naming the auth file an error is about. */
function authKey(err: AuthFileError, files: AuthFiles): string {
  return err.file === files.passwordFile ? AUTH_FILE_KEYS.passwordFile : err.file === files.aclFile ? AUTH_FILE_KEYS.aclFile : 'auth';
}

/** An auth file's problem, naming its key and path: `auth.passwordFile: /etc/passwd:3: ...`. */
function authProblem(err: unknown, files: AuthFiles): string {
  return err instanceof AuthFileError ? `${authKey(err, files)}: ${err.message}` : String((err as Error)?.message ?? err);
}

/**
 * SIGHUP: re-read the config. A bad file keeps the running config (and says why); live keys
 * are applied (the auth files by the caller), the rest are reported as needing a restart.
 */
function reload(broker: Broker, current: LoadedConfig, load: () => LoadedConfig): { config: LoadedConfig; diff: ConfigDiff } | { error: string } {
  let next: LoadedConfig;
  try {
    next = load();
  } catch (err) {
    broker.log.error({ err: (err as Error).message }, 'reload failed: the config is unchanged');
    return { error: (err as Error).message };
  }
  const diff = diffConfig(current.config, next.config);
  for (const change of diff.live) {
    const [section, key] = change.key.split('.');
    if (section === 'limits' && key !== undefined) {
      broker.setLimits({ [key]: change.to });
    } else if (change.key === 'log.level') {
      broker.log.level = String(change.to);
    }
  }
  return { config: next, diff };
}

function convert(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fail(`cannot read ${file}: ${(err as Error).message}`);
  }
  const result = fromMosquitto(text, file);
  process.stdout.write(result.config);
  for (const u of result.unconverted) process.stderr.write(`${file}:${u.line}: not converted: ${u.option}: ${u.reason}\n`);
  for (const n of result.notes) process.stderr.write(`${file}:${n.line}: note: ${n.option}: ${n.note}\n`);
  return 0;
}

function out(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

function fail(message: string): number {
  process.stderr.write(`starling: ${message}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
    // A worker's IPC channel would keep it alive: one that cannot serve must end.
    if (code >= 0 && worker.identity() !== undefined) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`starling: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
