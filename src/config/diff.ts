// What a reloaded configuration changes, split by what each change needs: the schema marks
// every key 'live' (applied to the running broker) or 'restart' (reported; the old value stays
// until the broker restarts). The SIGHUP handler applies the live part and logs the rest.

import { keyOf } from './keys.js';
import { SCHEMA, type ObjectSpec, type Reload, type Spec, type StarlingConfig } from './schema.js';

export interface ConfigChange {
  /** As `limits.maxInflight` or `listeners[1].port`. */
  readonly key: string;
  readonly from: unknown;
  readonly to: unknown;
  readonly reload: Reload;
}

export interface ConfigDiff {
  readonly live: readonly ConfigChange[];
  readonly restart: readonly ConfigChange[];
}

export function diffConfig(before: StarlingConfig, after: StarlingConfig): ConfigDiff {
  const changes: ConfigChange[] = [];
  walk(SCHEMA, before, after, [], changes);
  return {
    live: changes.filter((c) => c.reload === 'live'),
    restart: changes.filter((c) => c.reload === 'restart'),
  };
}

function walk(spec: Spec, a: unknown, b: unknown, path: (string | number)[], out: ConfigChange[]): void {
  switch (spec.type) {
    case 'object':
      for (const [name, child] of Object.entries((spec as ObjectSpec).fields)) {
        walk(child, field(a, name), field(b, name), [...path, name], out);
      }
      return;
    case 'list': {
      const x = (a ?? []) as readonly unknown[];
      const y = (b ?? []) as readonly unknown[];
      // A listener added or removed: the list as a whole changed.
      if (x.length !== y.length) out.push({ key: keyOf(path), from: `${x.length} entries`, to: `${y.length} entries`, reload: spec.reload });
      for (let i = 0; i < Math.min(x.length, y.length); i++) walk(spec.items, x[i], y[i], [...path, i], out);
      return;
    }
    default:
      if (a !== b) out.push({ key: keyOf(path), from: a, to: b, reload: spec.reload });
  }
}

function field(obj: unknown, name: string): unknown {
  return typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>)[name] : undefined;
}

/**
 * One line per change, for the reload's log: `limits.maxInflight: 1024 -> 2048 (applied)`.
 * `failed`: live keys whose new value could not be applied (an auth file that does not load),
 * with the reason.
 */
export function formatDiff(diff: ConfigDiff, failed: ReadonlyMap<string, string> = new Map()): string[] {
  const show = (v: unknown): string => (v === undefined ? '(unset)' : typeof v === 'string' ? v : JSON.stringify(v));
  const live = (c: ConfigChange): string => {
    const why = failed.get(c.key);
    return why === undefined ? 'applied' : `not applied: ${why}; still ${show(c.from)}`;
  };
  return [
    ...diff.live.map((c) => `${c.key}: ${show(c.from)} -> ${show(c.to)} (${live(c)})`),
    ...diff.restart.map((c) => `${c.key}: ${show(c.from)} -> ${show(c.to)} (needs a restart; still ${show(c.from)})`),
  ];
}
