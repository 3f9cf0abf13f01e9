// The example in docs/embedding.md is run as written: the documentation cannot rot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the docs/embedding.md example block named `name` ('' for the first, unnamed one); resolves to its output. */
async function runExample(name: string): Promise<string> {
  const doc = readFileSync(path.join(root, 'docs/embedding.md'), 'utf8');
  const block = new RegExp('```js example' + (name ? ` ${name}` : '') + '\\n([\\s\\S]*?)```').exec(doc);
  assert.ok(block, `docs/embedding.md has a \`\`\`js example ${name} block`);
  // Run it as a user would, with the package name resolving to this checkout.
  const dir = mkdtempSync(path.join(root, 'dist/example-'));
  try {
    const code = block[1]!.replace("from 'starling-mqtt'", `from '${path.join(root, 'dist/src/index.js')}'`);
    const file = path.join(dir, 'example.mjs');
    writeFileSync(file, code);
    return await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [file], { cwd: root, timeout: 10_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the embedding example in docs/embedding.md runs and prints what the doc says', async () => {
  const out = await runExample('');
  assert.match(out, /connected: example/);
  assert.match(out, /received demo\/greeting: HELLO/);
});

test('the in-process client example in docs/embedding.md runs and prints what the doc says', async () => {
  const out = await runExample('in-process');
  assert.equal(out, 'controller got sensors/device-7/temp at QoS 1: 31.5\ndevice got commands/device-7: fan on\n');
});
