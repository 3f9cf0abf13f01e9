// The schema's keys as paths: every leaf with its display key and environment variable, and
// the spec at a given path. Used by the loader, the overrides, the diff and the docs.

import { SCHEMA } from './schema.js';
import type { LeafSpec, ObjectSpec, Spec } from './spec.js';

/** One settable key of the schema, as the docs, the environment and the diff see it. */
export interface LeafEntry {
  /** Segments from the top; '[]' stands for a list index. */
  readonly segments: readonly string[];
  /** `listeners[].tls.cert` */
  readonly key: string;
  readonly spec: LeafSpec;
  /** `STARLING_LISTENERS_<n>_TLS_CERT`: `<n>` stands for the list index. */
  readonly env: string;
}

/** Every leaf key in schema order. */
export function leaves(spec: ObjectSpec = SCHEMA, prefix: readonly string[] = []): LeafEntry[] {
  const out: LeafEntry[] = [];
  for (const [name, child] of Object.entries(spec.fields)) {
    const segments = [...prefix, name];
    if (child.type === 'object') out.push(...leaves(child, segments));
    else if (child.type === 'list') out.push(...leaves(child.items, [...segments, '[]']));
    else out.push({ segments, key: keyOf(segments), spec: child, env: child.env ?? envOf(segments) });
  }
  return out;
}

/** `['listeners', '[]', 'port']` -> `listeners[].port`; numbers become `[0]`. */
export function keyOf(segments: readonly (string | number)[]): string {
  let key = '';
  for (const s of segments) {
    if (typeof s === 'number') key += `[${s}]`;
    else if (s === '[]') key += '[]';
    else key += key === '' ? s : `.${s}`;
  }
  return key;
}

/** `maxPacketSize` -> `MAX_PACKET_SIZE`; a list index is `<n>`. */
function envOf(segments: readonly string[]): string {
  const words = segments.map((s) => (s === '[]' ? '<n>' : s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()));
  return `STARLING_${words.join('_')}`;
}

/** The spec at a path of names and indexes, or undefined when there is no such key. */
export function specAt(segments: readonly (string | number)[]): Spec | undefined {
  let spec: Spec = SCHEMA;
  for (const s of segments) {
    if (spec.type === 'list') {
      if (typeof s !== 'number') return undefined;
      spec = spec.items;
    } else if (spec.type === 'object') {
      if (typeof s !== 'string' || !Object.hasOwn(spec.fields, s)) return undefined;
      spec = spec.fields[s]!;
    } else {
      return undefined;
    }
  }
  return spec;
}
