// Keeps docs/conformance.md honest: the catalogue of OASIS MQTT 5.0 and 3.1.1 normative
// statements, and the tests under test/ that cite them by id.
//
// This file deliberately contains no statement ids of its own, so that it never counts as
// covering one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)); // dist/test/ -> repo root
const CATALOGUE = join(ROOT, 'docs', 'conformance.md');
const TEST_DIR = join(ROOT, 'test');

type Version = '5.0' | '3.1.1';
const VERSIONS: readonly Version[] = ['5.0', '3.1.1'];

/** Numbered statements in each specification (5.0 body / Appendix B, 3.1.1 Appendix B). */
const EXPECTED_COUNT: Record<Version, number> = { '5.0': 251, '3.1.1': 141 };

const BINDS = new Set(['server', 'client', 'both']);
const AREAS = new Set(['codec', 'topics', 'broker', 'transport', 'client-only']);
const CLIENT_COVERAGE = 'client obligation; not a server requirement';

const ID_FORMAT = /^MQTT-\d+\.\d+\.\d+-\d+$/;
/** Anything that looks like a statement id, including malformed ones such as two- or four-part. */
const CITATION = /MQTT-\d+(?:\.\d+)+-\d+/g;

interface Row {
  version: Version;
  line: number;
  id: string;
  binds: string;
  statement: string;
  area: string;
  coverage: string;
}

interface Catalogue {
  rows: Row[];
  problems: string[];
}

function parseCatalogue(text: string): Catalogue {
  const rows: Row[] = [];
  const problems: string[] = [];
  let version: Version | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const lineNo = index + 1;
    const heading = /^##\s+(.*)$/.exec(line);
    if (heading) {
      const named = /^MQTT\s+(5\.0|3\.1\.1)$/.exec(heading[1]!.trim());
      version = named ? (named[1] as Version) : undefined;
      return;
    }
    if (!line.startsWith('|')) return;
    if (version === undefined) {
      problems.push(`line ${lineNo}: table row outside the "## MQTT 5.0" / "## MQTT 3.1.1" sections`);
      return;
    }
    if (/^\|\s*Id\s*\|/.test(line) || /^\|[\s|:-]+\|$/.test(line)) return; // header, separator
    if (!line.endsWith('|')) {
      problems.push(`line ${lineNo}: row does not end with "|"`);
      return;
    }
    const cells = line.slice(1, -1).split('|').map((cell) => cell.trim());
    if (cells.length !== 5) {
      problems.push(`line ${lineNo}: expected 5 cells (Id | Binds | Statement | Area | Coverage), found ${cells.length}`);
      return;
    }
    const [id, binds, statement, area, coverage] = cells as [string, string, string, string, string];
    rows.push({ version, line: lineNo, id, binds, statement, area, coverage });
  });
  return { rows, problems };
}

/** The files named by a `test: a.test.ts; test: b.test.ts` coverage cell, or undefined if it is not one. */
function coveredBy(coverage: string): string[] | undefined {
  if (!coverage.startsWith('test:')) return undefined;
  return coverage.split(';').map((part) => part.trim().replace(/^test:\s*/, ''));
}

function coverageProblem(row: Row): string | undefined {
  const { coverage } = row;
  if (row.binds === 'client') {
    return coverage === CLIENT_COVERAGE ? undefined : `a client row's Coverage must read "${CLIENT_COVERAGE}"`;
  }
  if (coverage === CLIENT_COVERAGE) return 'a server-binding row cannot be marked as a client obligation';
  if (coverage === 'pending') return undefined;
  if (/^n\/a:\s*\S/.test(coverage)) return undefined;
  const files = coveredBy(coverage);
  if (files === undefined) return `Coverage must be "pending", "n/a: <reason>" or "test: <path under test/>"; found "${coverage}"`;
  for (const part of coverage.split(';')) {
    if (!/^test:\s*\S+$/.test(part.trim())) return `each file in Coverage must be written "test: <path>"; found "${part.trim()}"`;
  }
  for (const file of files) {
    if (file.startsWith('/') || file.startsWith('test/') || file.split('/').includes('..')) {
      return `test paths are relative to test/ (e.g. "codec/decoder.test.ts"); found "${file}"`;
    }
  }
  return undefined;
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listSources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out.sort();
}

function mentions(text: string, id: string): boolean {
  const escaped = id.replace(/[.]/g, '\\.');
  return new RegExp(`${escaped}(?![\\d.])`).test(text);
}

function failWith(problems: string[], summary: string): void {
  assert.equal(problems.length, 0, `${summary}:\n  ${problems.join('\n  ')}`);
}

const catalogueText = readFileSync(CATALOGUE, 'utf8');
const { rows, problems: parseProblems } = parseCatalogue(catalogueText);
const at = (row: Row) => `docs/conformance.md:${row.line} ${row.id} (${row.version})`;

test('the catalogue reads as two tables, MQTT 5.0 and MQTT 3.1.1, one statement per row', () => {
  failWith(parseProblems, 'docs/conformance.md has rows that cannot be read');
  for (const version of VERSIONS) {
    assert.ok(rows.some((r) => r.version === version), `no rows found under "## MQTT ${version}"`);
  }
});

test('every numbered statement appears exactly once per version, written MQTT-x.y.z-n', () => {
  const problems: string[] = [];
  for (const version of VERSIONS) {
    const seen = new Map<string, Row>();
    for (const row of rows.filter((r) => r.version === version)) {
      if (!ID_FORMAT.test(row.id)) problems.push(`${at(row)}: id is not of the form MQTT-x.y.z-n`);
      const first = seen.get(row.id);
      if (first) problems.push(`${at(row)}: duplicate of line ${first.line}`);
      else seen.set(row.id, row);
    }
    const count = seen.size;
    if (count !== EXPECTED_COUNT[version]) {
      problems.push(`MQTT ${version}: ${count} distinct ids, the specification numbers ${EXPECTED_COUNT[version]}`);
    }
  }
  failWith(problems, 'statement ids are wrong');
});

test('each row says who it binds, which part of Starling implements it, and how it is covered', () => {
  const problems: string[] = [];
  for (const row of rows) {
    if (!BINDS.has(row.binds)) problems.push(`${at(row)}: Binds must be server, client or both; found "${row.binds}"`);
    if (!AREAS.has(row.area)) problems.push(`${at(row)}: Area must be one of ${[...AREAS].join(', ')}; found "${row.area}"`);
    if ((row.binds === 'client') !== (row.area === 'client-only')) {
      problems.push(`${at(row)}: Area "client-only" goes with Binds "client", and only with it`);
    }
    if (row.statement.length === 0) problems.push(`${at(row)}: Statement is empty`);
    const coverage = coverageProblem(row);
    if (coverage) problems.push(`${at(row)}: ${coverage}`);
  }
  failWith(problems, 'rows are malformed');
});

test('a test under test/ can only cite statement ids that exist in the catalogue', () => {
  const known = new Set(rows.map((r) => r.id));
  const problems: string[] = [];
  for (const file of listSources(TEST_DIR)) {
    const lines = readFileSync(file, 'utf8').split(/\r?\n/);
    lines.forEach((line, index) => {
      for (const match of line.matchAll(CITATION)) {
        const id = match[0];
        if (known.has(id)) continue;
        const where = `${relative(ROOT, file).split(sep).join('/')}:${index + 1}`;
        const hint = /^MQTT-\d+\.\d+-\d+$/.test(id) ? ' (write the Appendix B form, MQTT-x.y.0-n)' : '';
        problems.push(`${where}: ${id} is not a statement of MQTT 5.0 or 3.1.1${hint}`);
      }
    });
  }
  failWith(problems, 'tests cite ids that are not in docs/conformance.md');
});

test('a row covered by a test names a file under test/ that mentions the statement id', () => {
  const problems: string[] = [];
  for (const row of rows) {
    const files = coveredBy(row.coverage);
    if (files === undefined || coverageProblem(row) !== undefined) continue;
    for (const file of files) {
      const path = join(TEST_DIR, ...file.split('/'));
      if (!existsSync(path) || !statSync(path).isFile()) {
        problems.push(`${at(row)}: test/${file} does not exist`);
      } else if (!mentions(readFileSync(path, 'utf8'), row.id)) {
        problems.push(`${at(row)}: test/${file} does not mention ${row.id}`);
      }
    }
  }
  failWith(problems, 'coverage points at tests that do not cover the statement');
});

test('progress: server-binding statements still pending are counted, not failed', (t) => {
  for (const version of VERSIONS) {
    const binding = rows.filter((r) => r.version === version && r.binds !== 'client');
    const pending = binding.filter((r) => r.coverage === 'pending');
    const tested = binding.filter((r) => coveredBy(r.coverage) !== undefined);
    const waived = binding.filter((r) => r.coverage.startsWith('n/a:'));
    const byArea = new Map<string, number>();
    for (const row of pending) byArea.set(row.area, (byArea.get(row.area) ?? 0) + 1);
    const areas = [...byArea].map(([area, n]) => `${area} ${n}`).join(', ');
    const message =
      `MQTT ${version}: ${pending.length} of ${binding.length} server-binding statements pending` +
      ` (${tested.length} tested, ${waived.length} n/a)` +
      (areas ? `; pending by area: ${areas}` : '');
    t.diagnostic(message);
  }
});
