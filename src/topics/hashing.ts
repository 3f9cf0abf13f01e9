// The hashes that key the index's tables. The index never keys a table by a string: the
// matcher hashes every level of a topic, and the whole topic, in one pass over its
// characters (matcher.ts repeats this arithmetic inline) and looks nodes up by number,
// without slicing the topic into strings. Measured on Node 20: `split('/')` alone cost
// ~500 ns for a 7-level topic, and a Map lookup by a fresh string pays V8's string hashing
// on every call.

/** Seeds per process, so nobody can prepare levels or topics that all collide. */
export const LEVEL_SEED = (Math.random() * 0x7fffffff) | 0;
export const TOPIC_SEED = (Math.random() * 0x7fffffff) | 0;
/** The path key of the trie's root. */
export const ROOT_KEY = (Math.random() * 0x3fffffff) | 0;
/** Hashes stay within V8's small integers, which a Map hashes and compares unboxed. */
export const SMI_MASK = 0x3fffffff;
export const FNV_PRIME = 0x01000193;
export const MIX_PRIME = 0x9e3779b1 | 0;
const SLASH = 0x2f;

/** FNV-1a over the UTF-16 code units of s[start, end). */
export function levelHash(s: string, start: number, end: number): number {
  let h = LEVEL_SEED;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h & SMI_MASK;
}

/** The hash of a whole topic or filter: its level hashes folded together. */
export function topicHash(s: string): number {
  let full = TOPIC_SEED;
  let h = LEVEL_SEED;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === SLASH) {
      full = Math.imul(full ^ (h & SMI_MASK), MIX_PRIME);
      h = LEVEL_SEED;
    } else {
      h = Math.imul(h ^ c, FNV_PRIME);
    }
  }
  return Math.imul(full ^ (h & SMI_MASK), MIX_PRIME) & SMI_MASK;
}

/** The bit of a path key that marks a `+` or `#` node (their level keys have it too). */
export const WILD_BIT = 0x40000000;
/** The bits of a key that choose its place in a table (edge-table.ts home()). */
export const HOME_BITS = 0x3ffffffc;

/**
 * The path key of a trie node from its parent's path key and its level key (the level's
 * hash, or trie.ts's PLUS_KEY or HASH_KEY). Mostly a hash of both: the multiply is a
 * bijection of the low 30 bits, so siblings never share a key unless their level hashes
 * do, and WILD_BIT keeps `+` and `#` children apart from exact ones. But the `+` or `#`
 * child of an exact node (or of the root) takes its parent's key with WILD_BIT and the low
 * two bits changed, so it shares its parent's HOME_BITS: its slot is homed beside its
 * parent's, and the matcher usually finds both in one cache line. Only one generation does
 * this, so a chain like `+/+/+/...` spreads over the table instead of piling into one run.
 */
export function pathKey(parent: number, level: number): number {
  if ((level & WILD_BIT) === 0) return Math.imul(parent ^ level ^ wildSalt(parent), MIX_PRIME) & SMI_MASK;
  if ((parent & WILD_BIT) === 0) return (parent & HOME_BITS) | WILD_BIT | ((level & 1) + 1);
  return (Math.imul(parent ^ level ^ WILD_SALT, MIX_PRIME) & SMI_MASK) | WILD_BIT;
}

/**
 * Folded into the low bits of a `+` or `#` node's key before it is hashed into its
 * children's. The multiply keeps only the low 30 bits, so without it WILD_BIT would be lost:
 * a `+` child whose key differs from its parent's only in WILD_BIT (when the parent's low
 * two bits are 01) would give its children the keys of its parent's children, `a/+/b` the
 * key of `a/b`, for a quarter of all exact nodes.
 */
const WILD_SALT = 0x2545f491 & SMI_MASK;

function wildSalt(parent: number): number {
  return (parent & WILD_BIT) === 0 ? 0 : WILD_SALT;
}
