#!/usr/bin/env node
// The `starling` command. The broker core is not built yet (see the README's status table);
// until it lands this entry point reports what the library provides, so the Quick start's
// `npm install && npm start` already runs end to end.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const HELP = `starling ${pkg.version}: an MQTT 3.1 / 3.1.1 / 5.0 broker for Node.js

Usage: starling [options]

Options:
  -h, --help       show this help and exit
  -v, --version    print the version and exit

Status: the packet codec (starling-mqtt/codec) and topic index (starling-mqtt/topics) are
built; the broker core that listens on a port comes next. See README.md.`;

function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
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
  process.stdout.write(
    `starling ${pkg.version}\n` +
      '  built: MQTT 3.1/3.1.1/5.0 packet codec, topic validation and subscription index\n' +
      '  not yet: the network broker (it lands with the broker core; nothing is listening)\n',
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
