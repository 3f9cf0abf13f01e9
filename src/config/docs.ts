// docs/configuration.md, generated from the schema (and from the Mosquitto converter's table),
// so the reference cannot drift from what the loader accepts. `npm run docs:config` writes it;
// test/config/docs.test.ts fails when the committed file differs. The error messages and the
// example file shown are produced by the real loader while generating.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from './errors.js';
import { loadConfig } from './load.js';
import { BRIDGE_CONVERTED, BRIDGE_NOT_CONVERTED } from './mosquitto-bridges.js';
import { CONVERTED, NOT_CONVERTED } from './mosquitto-options.js';
import { keyOf, leaves, type LeafEntry } from './keys.js';
import { SCHEMA, type LeafSpec, type ObjectSpec, type Spec } from './schema.js';

export const DOCS_PATH = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));

const EXAMPLE = `# starling.yaml
listeners:
  - type: tcp
    host: 0.0.0.0
    port: 1883
    allowAnonymous: false
  - type: tls
    host: 0.0.0.0
    tls:
      cert: /etc/starling/server.crt
      key: /etc/starling/server.key
  - type: ws
    port: 8083
auth:
  passwordFile: /etc/starling/passwd
  aclFile: /etc/starling/acl
limits:
  maxPacketSize: 262144
  maxQueuedMessages: 1000
log:
  level: info
`;

const BROKEN = `listeners:
  - type: tsl
    port: 70000
limits:
  maxPaketSize: 262144
  maxQueuedMessages: -1
maxInflight: 100
log:
  level: verbose
`;

export function renderConfigDocs(): string {
  const out: string[] = [];
  const p = (...lines: string[]): void => {
    out.push(...lines, '');
  };
  p('# Configuration');
  p(
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`: edit the schema, not this file. A test fails when they differ. -->',
  );
  p(
    'Starling reads one YAML file. Every key has a type, a default and a description, listed in the [reference](#reference) below; a broker started without a file uses the defaults: one TCP listener on 127.0.0.1:1883, anonymous clients allowed there because it is local.',
  );

  p('## Where settings come from');
  p('Each source overrides the ones before it:');
  p(
    '1. the defaults below;',
    '2. the YAML file: `starling --config starling.yaml`, or the file named by `STARLING_CONFIG`;',
    '3. environment variables, `STARLING_` and the key (see [below](#environment-variables));',
    '4. command-line flags: `--host` and `--port` (the first listener), `--log-level`, and `--set KEY=VALUE` for any key (`--set limits.maxInflight=100`, `--set listeners[1].port=8884`).',
  );
  p(
    '`starling --print-config` prints the effective configuration as YAML, each value that is not a default followed by where it came from, and exits. What it prints is a valid config file.',
  );

  p('## An example');
  p('```yaml', EXAMPLE.trimEnd(), '```');
  // Generating fails if the example does not load: the docs never show a file Starling refuses.
  loadConfig({ file: 'starling.yaml', text: EXAMPLE, env: {} });
  p(
    'A key left out takes its default; a key with no value (`limits:`) counts as left out. Types are YAML 1.2: `true` and `false` are booleans, `yes` and `on` are text. Numbers are plain integers (`1048576`, not `1MiB`).',
  );

  p('## Environment variables');
  p(
    'A key\'s variable is `STARLING_` followed by its path in upper snake case; a listener\'s index is a number:',
    '',
    '| Key | Variable |',
    '|---|---|',
    '| `limits.maxPacketSize` | `STARLING_LIMITS_MAX_PACKET_SIZE` |',
    '| `log.level` | `STARLING_LOG_LEVEL` |',
    '| `listeners[0].port` | `STARLING_LISTENERS_0_PORT` |',
    '| `listeners[1].tls.cert` | `STARLING_LISTENERS_1_TLS_CERT` |',
  );
  p(
    'Each key\'s variable is listed in the reference. Values are read as the key\'s type (`true`, `2048`). An empty variable counts as unset. A variable for a listener past the last one in the file adds one (`STARLING_LISTENERS_1_PORT` with one listener in the file). `STARLING_CONFIG` names the config file; any other `STARLING_` variable that is not a key stops start-up, since it is most likely a typo.',
  );

  p('## Validation');
  p(
    'Start-up stops on an unknown key, a value of the wrong type or an impossible value, and names each problem\'s file, line and column (or its variable or flag), what was expected, and for a typo the nearest valid key. All problems are reported at once. This file:',
  );
  p('```yaml', BROKEN.trimEnd(), '```');
  p('stops start-up with:');
  p('```', brokenMessages(), '```');
  p(
    'Beyond each key\'s own type and range, a listener\'s keys must fit its type: `tls` and `wss` need `tls.cert` and `tls.key`; `tls.requireCertificate` and `tls.certificateAsUsername` need `tls.ca`; `path` is for `unix`; `websocketPath` and `maxFrameSize` for `ws` and `wss`; `host`, `port` and `proxyProtocol` not for `unix`. Two listeners cannot share an address.',
  );

  p('## Reloading (SIGHUP)');
  const all = leaves();
  const live = all.filter((l) => l.spec.reload === 'live');
  p(
    'On SIGHUP Starling reads the file and the environment again. If the new configuration is valid, the keys below are applied to the running broker (where MQTT tells a value to clients at CONNECT, connections made afterwards get it); every other changed key is logged as needing a restart and keeps its old value. An invalid file changes nothing and is reported. The password, ACL and TLS certificate files are re-read too; `auth.passwordFile` and `auth.aclFile` set, changed or removed by the reload are switched to, and one that does not load keeps its previous rules and makes the reload answer with its error (`POST /api/v1/reload`: 422).',
  );
  p(live.map((l) => `- \`${l.key}\``).join('\n'));

  p('## Converting a Mosquitto configuration');
  p(
    '`starling --from-mosquitto mosquitto.conf > starling.yaml` writes an equivalent Starling file, each value commented with its Mosquitto line, and reports every option it could not convert, with the reason (also listed at the end of the file). Options the Mosquitto file leaves unset take Starling\'s defaults, which differ from Mosquitto\'s (Mosquitto: `max_inflight_messages` 20, `max_queued_messages` 1000; Starling: 1024 and 10000).',
  );
  p('| Mosquitto | Starling |', '|---|---|', ...Object.entries(CONVERTED).map(([k, v]) => `| \`${k}\` | ${v} |`));
  p('These options are reported with the reason given:');
  p('| Mosquitto | Why not |', '|---|---|', ...Object.entries(NOT_CONVERTED).map(([k, v]) => `| \`${k}\` | ${v} |`));
  p(
    'Each `connection` section (the bridge options after it, up to the next `connection`) becomes an entry of [`bridges`](#bridges) (docs/bridges.md). Where Mosquitto\'s bridge defaults differ from Starling\'s they are written out, so the bridge behaves as it did: `protocol: mqttv311`, `reconnectDelay: 5000`, `maxReconnectDelay: 30000`.',
  );
  p('| Mosquitto bridge option | Starling |', '|---|---|', ...Object.entries(BRIDGE_CONVERTED).map(([k, v]) => `| \`${k}\` | ${v} |`));
  p('| Mosquitto bridge option | Why not |', '|---|---|', ...Object.entries(BRIDGE_NOT_CONVERTED).map(([k, v]) => `| \`${k}\` | ${v} |`));

  p('## Reference');
  for (const [name, spec] of Object.entries(SCHEMA.fields)) section(p, name, spec as Spec, all);
  return `${out.join('\n').trimEnd()}\n`;
}

function section(p: (...lines: string[]) => void, name: string, spec: Spec, all: LeafEntry[]): void {
  const obj: ObjectSpec = spec.type === 'list' ? spec.items : (spec as ObjectSpec);
  p(`### ${name}`, '', spec.description);
  if (spec.type === 'list') p(`A list; ${spec.minItems === 0 ? 'empty by default' : `at least ${spec.minItems} entry`}. Adding or removing one needs a restart.`);
  const prefix = spec.type === 'list' ? [name, '[]'] : [name];
  for (const entry of all.filter((l) => startsWith(l.segments, prefix))) {
    const parent = entry.segments.slice(0, -1);
    const sub = parent.length > prefix.length ? subObject(obj, parent.slice(prefix.length)) : undefined;
    if (sub && entry.segments[entry.segments.length - 1] === Object.keys(sub.fields)[0]) {
      p(`#### \`${keyOf(parent)}\``, '', sub.description + (sub.optional ? ' Absent unless written.' : ''));
    }
    p(`#### \`${entry.key}\``, '', entry.spec.description, '', facts(entry));
  }
}

function subObject(obj: ObjectSpec, path: readonly string[]): ObjectSpec | undefined {
  let spec: Spec = obj;
  for (const s of path) {
    if (spec.type !== 'object') return undefined;
    spec = spec.fields[s]!;
  }
  return spec.type === 'object' ? spec : undefined;
}

function startsWith(segments: readonly string[], prefix: readonly string[]): boolean {
  return prefix.every((s, i) => segments[i] === s);
}

function facts(entry: LeafEntry): string {
  const parts = [type(entry.spec), `default ${defaultOf(entry.spec)}`, entry.spec.reload === 'live' ? 'reload: live' : 'reload: restart', `\`${entry.env}\``];
  return parts.join(' · ');
}

function type(spec: LeafSpec): string {
  switch (spec.type) {
    case 'integer': {
      const range = spec.max === undefined ? `>= ${spec.min}` : `${spec.min} to ${spec.max}`;
      return `integer ${range}${spec.unit ? ` (${spec.unit})` : ''}`;
    }
    case 'boolean':
      return 'boolean';
    case 'string':
      return spec.pattern ? `string: ${spec.pattern.expected}` : 'string';
    case 'enum':
      return `one of ${spec.values.map((v) => `\`${v}\``).join(', ')}`;
  }
}

function defaultOf(spec: LeafSpec): string {
  if (spec.default === undefined) return spec.defaultText ?? 'none';
  const value = `\`${spec.default}\``;
  if (typeof spec.default === 'number' && spec.default >= 1024 * 1024 && spec.default % (1024 * 1024) === 0 && spec.type === 'integer' && spec.unit === 'bytes') {
    return `${value} (${spec.default / (1024 * 1024)} MiB)`;
  }
  return value;
}

function brokenMessages(): string {
  try {
    loadConfig({ file: 'starling.yaml', text: BROKEN, env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('the broken example loaded without problems');
}

// `node dist/src/config/docs.js` writes the file; with --check it only compares.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = renderConfigDocs();
  if (process.argv.includes('--check')) {
    const same = readFileSync(DOCS_PATH, 'utf8') === text;
    process.stdout.write(same ? 'docs/configuration.md is up to date\n' : 'docs/configuration.md differs from the schema: run npm run docs:config\n');
    process.exitCode = same ? 0 : 1;
  } else {
    writeFileSync(DOCS_PATH, text);
    process.stdout.write(`wrote ${DOCS_PATH}\n`);
  }
}
