// The dashboard's built page (dist/dashboard/, made by `vite build` from dashboard/): the one
// HTML page and its hashed assets, read once into memory. These are all a visitor gets
// without logging in: the page is the login form until a login succeeds.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

export interface Asset {
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly type: string;
  /** Hashed names never change content: cached for a year; the page itself is not cached. */
  readonly immutable: boolean;
}

/** Where `vite build` writes the page: dist/dashboard/, beside dist/src/. */
export const DEFAULT_ROOT = fileURLToPath(new URL('../../../dashboard/', import.meta.url));

/** Reads every file under `root` (URL path -> asset); empty when the page was not built. */
export function loadAssets(root: string = DEFAULT_ROOT): Map<string, Asset> {
  const out = new Map<string, Asset>();
  if (!existsSync(root)) return out;
  const walk = (dir: string, prefix: string): void => {
    for (const name of readdirSync(dir)) {
      const file = join(dir, name);
      if (statSync(file).isDirectory()) {
        walk(file, `${prefix}${name}/`);
        continue;
      }
      const body = readFileSync(file);
      const type = TYPES[extname(name)] ?? 'application/octet-stream';
      const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024;
      out.set(`/${prefix}${name}`, { body, gzip: compressible ? gzipSync(body) : undefined, type, immutable: prefix.startsWith('assets/') });
    }
  };
  walk(root, '');
  return out;
}
