// The settings before validation: a plain tree of values, and where each key and value came
// from. YAML is read with positions (the `yaml` package's LineCounter) so that every problem
// can name its file, line and column; environment variables and flags are then written into
// the same tree with their own origins.

import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { DEFAULT_ORIGIN, type ConfigProblem, type Origin } from './errors.js';
import { keyOf } from './keys.js';

/** A mapping read from the file; no prototype, so a key such as `__proto__` is only a key. */
export type RawObject = Record<string, unknown>;

export function rawObject(): RawObject {
  return Object.create(null) as RawObject;
}

export function isRawObject(value: unknown): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class Source {
  /** Where each key was written, by `keyOf` path: unknown keys are reported here. */
  readonly keyOrigins = new Map<string, Origin>();
  /** Where each value was written: wrong values are reported here. */
  readonly valueOrigins = new Map<string, Origin>();

  constructor(public root: RawObject = rawObject()) {}

  /** Where a value came from, or else where its nearest written parent did. */
  valueOrigin(segments: readonly (string | number)[]): Origin {
    for (let n = segments.length; n >= 0; n--) {
      const origin = this.valueOrigins.get(keyOf(segments.slice(0, n)));
      if (origin) return origin;
    }
    return DEFAULT_ORIGIN;
  }

  keyOrigin(segments: readonly (string | number)[]): Origin {
    return this.keyOrigins.get(keyOf(segments)) ?? this.valueOrigin(segments);
  }
}

/** Reads YAML text into a Source; syntax errors become problems with their position. */
export function readYaml(text: string, file: string, problems: ConfigProblem[]): Source {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const at = (offset: number): Origin => ({ kind: 'file', file, ...lineCounter.linePos(offset) });
  for (const err of doc.errors) {
    // The library's message ends with " at line L, column C:" and a snippet; we give our own position.
    const message = err.message.split(/ at line \d+, column \d+/)[0]!.trim();
    problems.push({ origin: at(err.pos[0]), key: '', message: `not valid YAML: ${message}` });
  }
  const source = new Source();
  if (doc.errors.length > 0 || doc.contents === null) return source;

  const toRaw = (node: Node | null, segments: (string | number)[]): unknown => {
    if (node === null) return null;
    const path = keyOf(segments);
    if (node.range) source.valueOrigins.set(path, at(node.range[0]));
    if (isAlias(node)) return toRaw(node.resolve(doc as Document) ?? null, segments);
    if (isScalar(node)) return node.value;
    if (isSeq(node)) return node.items.map((item, i) => toRaw(item as Node | null, [...segments, i]));
    if (isMap(node)) {
      const obj = rawObject();
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
          const offset = keyNode?.range?.[0] ?? node.range?.[0] ?? 0;
          problems.push({ origin: at(offset), key: path, message: `${path || 'the file'}: a key must be a plain name` });
          continue;
        }
        const name = String(keyNode.value);
        const child = [...segments, name];
        if (keyNode.range) source.keyOrigins.set(keyOf(child), at(keyNode.range[0]));
        // A key without a value (`limits:`) means "not set": it points at the key.
        if (keyNode.range && (pair.value === null || (isScalar(pair.value) && pair.value.value === null))) {
          source.valueOrigins.set(keyOf(child), at(keyNode.range[0]));
        }
        obj[name] = toRaw(pair.value as Node | null, child);
      }
      return obj;
    }
    return null;
  };

  const root = toRaw(doc.contents as Node, []);
  if (root === null) return source;
  if (!isRawObject(root)) {
    problems.push({ origin: source.valueOrigin([]), key: '', message: 'the file must be a mapping of keys (such as `listeners:` and `limits:`)' });
    return source;
  }
  source.root = root;
  return source;
}
