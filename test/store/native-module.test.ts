// The SQLite store's native module (better-sqlite3) built for another Node.js, as after a
// Node upgrade without `npm rebuild` (issue 15, Node 26): start-up stops and says so, instead
// of calling the untouched data file damaged and advising to recover or move it aside.

import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteStore, STORE_FILE } from '../../src/index.js';
import { run } from '../helpers/tools.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'starling-native-'));
after(() => rmSync(root, { recursive: true, force: true }));

// Loaded with --require, which Node runs in worker threads too: loading better-sqlite3's
// binary fails as it does for a module compiled against another Node.js (same code, same
// message shape); every other native module loads as usual.
const WRONG_ABI = `
const dlopen = process.dlopen;
process.dlopen = function (module, filename, ...rest) {
  if (String(filename).endsWith('better_sqlite3.node')) {
    const err = new Error("The module '" + filename + "'\\nwas compiled against a different Node.js version using\\nNODE_MODULE_VERSION 115. This version of Node.js requires\\nNODE_MODULE_VERSION " + process.versions.modules + ". Please try re-compiling or re-installing\\nthe module (for instance, using \`npm rebuild\` or \`npm install\`).");
    err.code = 'ERR_DLOPEN_FAILED';
    throw err;
  }
  return dlopen.call(this, module, filename, ...rest);
};
`;

test('issue 15: better-sqlite3 built for another Node.js stops start-up with "rebuild it", not "damaged", and the file is left as it was', async () => {
  const dir = join(root, 'data');
  const store = new SqliteStore({ dir });
  await store.open();
  store.putSession({ clientId: 'kept', expiryInterval: 3600 });
  await store.flush();
  await store.close();
  const file = join(dir, STORE_FILE);
  const before = createHash('sha256').update(readFileSync(file)).digest('hex');
  const preload = join(root, 'wrong-abi.cjs');
  writeFileSync(preload, WRONG_ABI);

  const exit = await run(process.execPath, ['--require', preload, CLI, '--port', '0', '--set', `persistence.dataDir=${dir}`], { timeoutMs: 30_000 });
  assert.equal(exit.code, 1, `exit ${exit.code} ${exit.signal}; stdout: ${exit.stdout} stderr: ${exit.stderr}`);
  assert.doesNotMatch(exit.stdout, /listening on/);
  assert.match(exit.stderr, new RegExp(`did not load on Node\\.js ${process.version.replace(/\./g, '\\.')}, so .*${STORE_FILE} was not opened`));
  assert.match(exit.stderr, /NODE_MODULE_VERSION 115/);
  assert.match(exit.stderr, /npm rebuild better-sqlite3/);
  assert.match(exit.stderr, /npm_config_nodedir/);
  assert.doesNotMatch(exit.stderr, /damaged|\.recover|move the directory aside/);
  assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), before, 'the data file was changed');
});
