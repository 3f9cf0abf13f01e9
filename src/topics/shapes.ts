// The shapes of the trie's filters, so that a match can go straight to the nodes that may
// match a topic instead of walking down to them.
//
// A filter's shape is where its `+` levels are, how many levels it has, and whether it ends
// in `#`: `site/+/temp` and `home/+/door` have the shape `.+.`, `site/7/#` has `..#`. A
// topic of d levels can be matched only by shapes of d levels without `#` and by `#` shapes
// with at most d levels before the `#` (`a/#` matches `a` [MQTT-4.7.1-1]). Given the topic's
// level hashes and a shape, the path key (hashing.ts) of the one trie node of that shape
// that may match follows by arithmetic alone: the topic's level hash where the shape has an
// exact level, PLUS_KEY or HASH_KEY where it has a wildcard. So the matcher computes one
// key per shape and probes all of them at once, where a walk down the trie waits for each
// level's slot before it can probe the next: with a million subscriptions each of those
// waits is a cache miss.
//
// Shapes are counted by the nodes that hold subscriptions. A topic that more than `limit`
// shapes may match is walked instead (matcher.ts), so the cost of a match stays bounded by
// the topic's depth however varied the filters are.

import { HASH_KEY, PLUS_KEY } from './trie.js';

/** Topics deeper than this are walked (their lists are not cached). */
const MAX_CACHED_DEPTH = 256;
/** The most shapes a topic is matched through before it is walked instead. */
export const DEFAULT_SHAPE_LIMIT = 16;

export class Shape {
  /** Nodes holding subscriptions with this shape. */
  count = 0;

  constructor(
    /** Per level of the filter, `#` included: 0 for an exact level, else PLUS_KEY or HASH_KEY. */
    readonly kinds: Int32Array,
    /** The levels before a `#`, or all of them. */
    readonly prefix: number,
    readonly endsInHash: boolean,
  ) {}

  /** True when the first level is `+` or `#`: such filters do not match `$` topics [MQTT-4.7.2-1]. */
  get leadingWildcard(): boolean {
    return this.kinds[0] !== 0;
  }
}

export class Shapes {
  private readonly byId = new Map<string, Shape>();
  /** By number of levels: the shapes without `#`. */
  private readonly plain = new Map<number, Set<Shape>>();
  /** By levels before the `#`: the shapes ending in `#`. */
  private readonly hashed = new Map<number, Set<Shape>>();
  /** By topic depth: the shapes a topic of that depth may match, or null when more than the limit. */
  private forDepth: (readonly Shape[] | null | undefined)[] = [];
  /** The same for topics starting with `$`. */
  private forDollarDepth: (readonly Shape[] | null | undefined)[] = [];

  constructor(readonly limit: number = DEFAULT_SHAPE_LIMIT) {}

  /**
   * Counts a trie node that now holds subscriptions. `path` is the level keys of its path
   * from the root (trie.ts: a level hash, PLUS_KEY or HASH_KEY), the root's own at 0.
   */
  add(path: readonly number[]): void {
    const id = shapeId(path);
    let shape = this.byId.get(id);
    if (shape === undefined) {
      shape = newShape(path);
      this.byId.set(id, shape);
      const bucket = shape.endsInHash ? this.hashed : this.plain;
      let set = bucket.get(shape.prefix);
      if (set === undefined) bucket.set(shape.prefix, (set = new Set()));
      set.add(shape);
      this.forget();
    }
    shape.count++;
  }

  /** Uncounts a trie node that no longer holds subscriptions; `path` as for add(). */
  remove(path: readonly number[]): void {
    const id = shapeId(path);
    const shape = this.byId.get(id)!;
    if (--shape.count !== 0) return;
    this.byId.delete(id);
    const bucket = shape.endsInHash ? this.hashed : this.plain;
    const set = bucket.get(shape.prefix)!;
    set.delete(shape);
    if (set.size === 0) bucket.delete(shape.prefix);
    this.forget();
  }

  /**
   * The shapes a topic of `depth` levels may match, or undefined when the topic is to be
   * walked. Building a list looks at no more than `limit` + 1 shapes, so even when shapes
   * come and go between every two matches, a match costs no more than a walk would.
   */
  forTopic(depth: number, dollar: boolean): readonly Shape[] | undefined {
    if (depth > MAX_CACHED_DEPTH) return undefined;
    const cache = dollar ? this.forDollarDepth : this.forDepth;
    let shapes = cache[depth];
    if (shapes === undefined) {
      const list: Shape[] = [];
      let fits = collect(this.plain.get(depth), dollar, list, this.limit);
      for (let p = 0; fits && p <= depth; p++) fits = collect(this.hashed.get(p), dollar, list, this.limit);
      shapes = cache[depth] = fits ? list : null;
    }
    return shapes ?? undefined;
  }

  private forget(): void {
    this.forDepth = [];
    this.forDollarDepth = [];
  }
}

/** Adds the shapes of `set` that a topic may match to `list`; false once it holds more than `limit`. */
function collect(set: Set<Shape> | undefined, dollar: boolean, list: Shape[], limit: number): boolean {
  if (set === undefined) return true;
  for (const shape of set) {
    if (dollar && shape.leadingWildcard) continue;
    if (list.push(shape) > limit) return false;
  }
  return true;
}

/** One character per level: `+`, `#`, or `.` for an exact level. */
function shapeId(path: readonly number[]): string {
  let id = '';
  for (let i = 1; i < path.length; i++) id += path[i] === PLUS_KEY ? '+' : path[i] === HASH_KEY ? '#' : '.';
  return id;
}

function newShape(path: readonly number[]): Shape {
  const kinds = new Int32Array(path.length - 1);
  for (let i = 1; i < path.length; i++) kinds[i - 1] = path[i] === PLUS_KEY || path[i] === HASH_KEY ? path[i] : 0;
  const endsInHash = path[path.length - 1] === HASH_KEY;
  return new Shape(kinds, endsInHash ? kinds.length - 1 : kinds.length, endsInHash);
}
