// docs/configuration.md is generated from the schema: it fails here when they drift.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DOCS_PATH, renderConfigDocs } from '../../src/config/docs.js';
import { leaves } from '../../src/config/keys.js';

test('docs/configuration.md is what the schema generates (run npm run docs:config)', () => {
  const committed = readFileSync(DOCS_PATH, 'utf8');
  const generated = renderConfigDocs();
  if (committed !== generated) {
    const a = committed.split('\n');
    const b = generated.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.fail(
      `docs/configuration.md differs from the schema from line ${line + 1}:\n  file:      ${a[line]}\n  generated: ${b[line]}\nRun npm run docs:config and commit the result.`,
    );
  }
});

test('the docs name every key and its environment variable', () => {
  const docs = renderConfigDocs();
  for (const l of leaves()) {
    assert.ok(docs.includes(`#### \`${l.key}\``), `${l.key} has a section`);
    assert.ok(docs.includes(`\`${l.env}\``), `${l.env} is shown`);
  }
});
