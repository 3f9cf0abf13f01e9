// Settings from outside the file: environment variables, then command-line flags, each
// naming one schema key. They arrive as text; load.ts turns the text into the key's type and
// validates it like a value from the file, so a bad one is reported with its variable or flag.
//
// Environment: STARLING_ + the key's path in upper snake case, a list index as a number:
//   limits.maxPacketSize      STARLING_LIMITS_MAX_PACKET_SIZE=2097152
//   listeners[1].tls.cert     STARLING_LISTENERS_1_TLS_CERT=/etc/starling/cert.pem
// Flags: --host, --port (the first listener), --log-level, and --set KEY=VALUE for any key.

import type { ConfigProblem, Origin } from './errors.js';
import { leaves, specAt, type LeafEntry } from './keys.js';
import { nearest } from './suggest.js';

/** One key set from outside the file. */
export interface Override {
  readonly segments: readonly (string | number)[];
  readonly text: string;
  readonly origin: Origin;
}

export interface Overrides {
  readonly overrides: Override[];
  readonly problems: ConfigProblem[];
}

/** Names the config file when no --config flag is given; not a schema key. */
export const CONFIG_FILE_ENV = 'STARLING_CONFIG';

/** STARLING_* variables that are not settings. */
const NOT_SETTINGS = new Set([CONFIG_FILE_ENV]);

interface EnvPattern {
  readonly entry: LeafEntry;
  readonly regex: RegExp;
}

let patterns: EnvPattern[] | undefined;
function envPatterns(): EnvPattern[] {
  patterns ??= leaves().map((entry) => ({
    entry,
    regex: new RegExp(`^${entry.env.replace('<n>', '(\\d+)')}$`),
  }));
  return patterns;
}

/**
 * The settings in an environment. An empty variable counts as unset (as with `VAR=` in a
 * compose file); an unknown STARLING_ variable is a problem, since it is most likely a typo.
 */
export function envOverrides(env: Readonly<Record<string, string | undefined>>): Overrides {
  const overrides: Override[] = [];
  const problems: ConfigProblem[] = [];
  for (const name of Object.keys(env).sort()) {
    const text = env[name];
    if (!name.startsWith('STARLING_') || NOT_SETTINGS.has(name) || text === undefined || text === '') continue;
    const origin: Origin = { kind: 'env', name };
    const segments = envSegments(name);
    if (segments) {
      overrides.push({ segments, text, origin });
      continue;
    }
    const suggestion = nearest(name, envPatterns().map((p) => p.entry.env.replace('<n>', '0')));
    problems.push({
      origin,
      key: '',
      message: `${name} is not a Starling setting${suggestion ? `; did you mean ${suggestion}?` : ''} (see docs/configuration.md)`,
      ...(suggestion && { suggestion }),
    });
  }
  return { overrides, problems };
}

function envSegments(name: string): (string | number)[] | undefined {
  for (const { entry, regex } of envPatterns()) {
    const m = regex.exec(name);
    if (!m) continue;
    let index = 1;
    return entry.segments.map((s) => (s === '[]' ? Number(m[index++]) : s));
  }
  return undefined;
}

/** The broker's command-line flags that name settings. */
export interface CliFlags {
  /** --host: the first listener's host. */
  readonly host?: string | undefined;
  /** --port: the first listener's port. */
  readonly port?: string | number | undefined;
  /** --log-level */
  readonly logLevel?: string | undefined;
  /** --set KEY=VALUE, repeatable: any key, as `limits.maxPacketSize=2097152` or `listeners[1].port=8884`. */
  readonly set?: readonly string[] | undefined;
}

export function flagOverrides(flags: CliFlags): Overrides {
  const overrides: Override[] = [];
  const problems: ConfigProblem[] = [];
  if (flags.host !== undefined) overrides.push({ segments: ['listeners', 0, 'host'], text: flags.host, origin: { kind: 'flag', flag: '--host' } });
  if (flags.port !== undefined) overrides.push({ segments: ['listeners', 0, 'port'], text: String(flags.port), origin: { kind: 'flag', flag: '--port' } });
  if (flags.logLevel !== undefined) overrides.push({ segments: ['log', 'level'], text: flags.logLevel, origin: { kind: 'flag', flag: '--log-level' } });
  for (const assignment of flags.set ?? []) {
    const origin: Origin = { kind: 'flag', flag: `--set ${assignment}` };
    const eq = assignment.indexOf('=');
    if (eq <= 0) {
      problems.push({ origin, key: '', message: 'expected KEY=VALUE, e.g. --set limits.maxPacketSize=2097152', expected: 'KEY=VALUE' });
      continue;
    }
    const key = assignment.slice(0, eq).trim();
    const segments = parseKey(key);
    const spec = segments && specAt(segments);
    if (!segments || !spec || spec.type === 'object' || spec.type === 'list') {
      const suggestion = nearest(key.replace(/\[\d+\]|\.\d+(?=\.|$)/g, '[]'), leaves().map((l) => l.key));
      problems.push({
        origin,
        key,
        message: `"${key}" is not a setting${suggestion ? `; did you mean "${suggestion.replace('[]', '[0]')}"?` : ''}`,
        ...(suggestion && { suggestion }),
      });
      continue;
    }
    overrides.push({ segments, text: assignment.slice(eq + 1), origin });
  }
  return { overrides, problems };
}

/** `listeners[1].tls.cert` or `listeners.1.tls.cert` -> ['listeners', 1, 'tls', 'cert']. */
export function parseKey(key: string): (string | number)[] | undefined {
  const segments: (string | number)[] = [];
  for (const part of key.replace(/\[(\d+)\]/g, '.$1').split('.')) {
    if (part === '') return undefined;
    segments.push(/^\d+$/.test(part) ? Number(part) : part);
  }
  return segments;
}
