#!/usr/bin/env node
// The `starling` command: a thin wrapper over createBroker(). Flags override the config
// file; SIGINT/SIGTERM stop the broker gracefully (5.0 clients get DISCONNECT 0x8B).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createBroker } from '../index.js';
import type { BrokerOptions } from '../broker/types.js';
import { loadConfig, ConfigError } from './config.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const HELP = `starling ${pkg.version}: an MQTT 3.1 / 3.1.1 / 5.0 broker for Node.js

Usage: starling [options]

Options:
  -c, --config FILE      JSON config file (see docs/configuration.md)
  -H, --host HOST        address of the TCP listener (default 127.0.0.1)
  -p, --port PORT        port of the TCP listener (default 1883; 0 picks a free one)
  -l, --log-level LEVEL  fatal, error, warn, info, debug, trace or silent (default info)
  -h, --help             show this help and exit
  -v, --version          print the version and exit

Anonymous clients are allowed only on loopback listeners unless the config says otherwise.`;

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        host: { type: 'string', short: 'H' },
        port: { type: 'string', short: 'p' },
        'log-level': { type: 'string', short: 'l' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`starling: ${(err as Error).message}\nTry 'starling --help'.\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }

  let options: BrokerOptions = {};
  try {
    if (values.config !== undefined) options = loadConfig(values.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`starling: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (values.host !== undefined || values.port !== undefined) {
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
      process.stderr.write(`starling: --port must be a number from 0 to 65535, got ${JSON.stringify(values.port)}\n`);
      return 2;
    }
    const first = options.listeners?.[0] ?? {};
    options.listeners = [
      { ...first, ...(values.host !== undefined && { host: values.host }), ...(port !== undefined && { port }) },
      ...(options.listeners?.slice(1) ?? []),
    ];
  }
  if (values['log-level'] !== undefined) options.logLevel = values['log-level'];

  const broker = createBroker(options);
  // Signals are handled from before the first listener opens: a stop requested as soon as
  // the "listening" line appears is still graceful.
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    broker.log.info({ signal }, 'shutting down');
    void broker.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    await broker.listen();
  } catch (err) {
    process.stderr.write(`starling: cannot listen: ${(err as Error).message}\n`);
    await broker.close();
    return 1;
  }
  return -1; // keep running
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`starling: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
