// The config file until the full schema lands (the operations issue brings YAML, env
// overrides and generated docs): JSON with the shape of BrokerOptions, checked key by key
// so that a mistake names the file, the line and the fix.

import { readFileSync } from 'node:fs';
import type { BrokerOptions } from '../broker/types.js';
import { DEFAULT_LIMITS } from '../broker/types.js';

export class ConfigError extends Error {}

const TOP = ['listeners', 'limits', 'maximumQoS', 'retainAvailable', 'serverReference', 'logLevel'];
const LISTENER = ['port', 'host', 'name', 'allowAnonymous'];

export function loadConfig(file: string): BrokerOptions {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read the config file: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message.replace(/\s+/g, ' ');
    const line = text.slice(0, errorOffset((err as Error).message, text)).split('\n').length;
    throw new ConfigError(`${file}:${line}: not valid JSON (${message}); fix the syntax on that line`);
  }
  const where = (key: string): string => {
    const i = text.indexOf(`"${key}"`);
    return `${file}:${i < 0 ? 1 : text.slice(0, i).split('\n').length}`;
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${file}:1: the config must be a JSON object`);
  }
  const obj = value as Record<string, unknown>;
  checkKeys(obj, TOP, where, '');
  if (obj.listeners !== undefined) {
    if (!Array.isArray(obj.listeners)) throw new ConfigError(`${where('listeners')}: "listeners" must be an array of objects`);
    for (const l of obj.listeners) {
      if (typeof l !== 'object' || l === null) throw new ConfigError(`${where('listeners')}: each listener must be an object`);
      checkKeys(l as Record<string, unknown>, LISTENER, where, 'listeners.');
      const port = (l as Record<string, unknown>).port;
      if (port !== undefined && (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535)) {
        throw new ConfigError(`${where('port')}: "port" must be an integer from 0 to 65535`);
      }
    }
  }
  if (obj.limits !== undefined) {
    if (typeof obj.limits !== 'object' || obj.limits === null) throw new ConfigError(`${where('limits')}: "limits" must be an object`);
    const limits = obj.limits as Record<string, unknown>;
    checkKeys(limits, Object.keys(DEFAULT_LIMITS), where, 'limits.');
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isInteger(v) || (v as number) < 0) throw new ConfigError(`${where(k)}: "limits.${k}" must be a whole number >= 0`);
    }
  }
  return obj as BrokerOptions;
}

function checkKeys(obj: Record<string, unknown>, allowed: string[], where: (k: string) => string, prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const near = nearest(key, allowed);
    throw new ConfigError(`${where(key)}: unknown key "${prefix}${key}"${near ? `; did you mean "${prefix}${near}"?` : ''} (valid: ${allowed.join(', ')})`);
  }
}

/** The allowed key closest to a typo, by edit distance, if it is close enough. */
function nearest(key: string, allowed: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const a of allowed) {
    const d = distance(key.toLowerCase(), a.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = a;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * Where JSON.parse failed. V8 gives "at position N" for some errors and, for others, only the
 * unexpected token and a snippet of the text around it ('..."snippet"...'), which we find.
 */
function errorOffset(message: string, text: string): number {
  const at = /position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  const m = /^Unexpected token '([\s\S])', (\.\.\.)?"([\s\S]*)"(\.\.\.)? is not valid JSON$/.exec(message);
  if (!m) return 0;
  const snippet = m[3]!;
  const start = m[2] ? text.indexOf(snippet) : 0;
  if (start < 0) return 0;
  // The token is in the snippet; V8 centres it, so take the occurrence nearest the middle.
  const token = m[1]!;
  let best = -1;
  for (let i = snippet.indexOf(token); i !== -1; i = snippet.indexOf(token, i + 1)) {
    if (best === -1 || Math.abs(i - snippet.length / 2) < Math.abs(best - snippet.length / 2)) best = i;
  }
  return start + Math.max(best, 0);
}
