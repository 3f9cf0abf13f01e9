// The effective configuration as the admin API shows it: every key the schema marks `secret`
// (a token) replaced by a fixed mark, so a config dump never carries one.

import { leaves } from './keys.js';
import type { StarlingConfig } from './schema.js';

export const REDACTED = '[redacted]';

/** A deep copy of the config with each secret that is set replaced by REDACTED. */
export function redactSecrets(config: StarlingConfig): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const leaf of leaves()) {
    if (leaf.spec.secret === true) redactAt(copy, leaf.segments);
  }
  return copy;
}

function redactAt(node: unknown, segments: readonly string[]): void {
  if (typeof node !== 'object' || node === null) return;
  const [head, ...rest] = segments;
  if (head === undefined) return;
  if (head === '[]') {
    if (Array.isArray(node)) for (const item of node) redactAt(item, rest);
    return;
  }
  const obj = node as Record<string, unknown>;
  if (rest.length === 0) {
    if (obj[head] !== undefined) obj[head] = REDACTED;
  } else redactAt(obj[head], rest);
}
