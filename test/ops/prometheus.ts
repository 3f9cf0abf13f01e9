// A small parser of the Prometheus text exposition format (0.0.4) for the tests: it fails on
// anything a scraper would reject (a sample before its TYPE, a family declared twice, a bad
// metric or label name, an unescaped label value, a value that is not a number, histogram
// buckets that are not cumulative) and returns the families for the tests to read.

import assert from 'node:assert/strict';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  type: string;
  help: string | undefined;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

export function parsePrometheus(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const [, kind, name, rest] = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line) ?? assert.fail(where);
      assert.match(name!, NAME, where);
      let family = families.get(name!);
      if (family === undefined) {
        family = { name: name!, type: 'untyped', help: undefined, samples: [] };
        families.set(name!, family);
      } else {
        assert.equal(family, current, `${where}: ${name} declared apart from its other lines`);
        assert.equal(family.samples.length, 0, `${where}: HELP/TYPE after samples`);
      }
      current = family;
      if (kind === 'TYPE') {
        assert.ok(TYPES.has(rest ?? ''), `${where}: unknown type`);
        family.type = rest!;
      } else {
        assert.equal(family.help, undefined, `${where}: second HELP`);
        family.help = rest ?? '';
      }
      return;
    }
    if (line.startsWith('#') || line.trim() === '') return;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)(?: -?\d+)?$/.exec(line) ?? assert.fail(`${where}: not a sample`);
    const [, name, labelText, valueText] = m;
    assert.ok(current !== undefined, `${where}: a sample before any TYPE`);
    const suffix = name!.slice(current.name.length);
    assert.ok(name!.startsWith(current.name) && SUFFIXES[current.type]!.includes(suffix), `${where}: not a sample of ${current.name} (${current.type})`);
    const value = parseValue(valueText!);
    assert.ok(value !== undefined, `${where}: bad value`);
    current.samples.push({ name: name!, labels: parseLabels(labelText ?? '', where), value });
  });
  for (const f of families.values()) {
    if (f.type === 'histogram') checkHistogram(f);
  }
  return families;
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : undefined;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /([^=,\s]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text) ?? assert.fail(`${where}: bad labels at ${text.slice(pos)}`);
    assert.match(m[1]!, LABEL_NAME, where);
    assert.ok(!(m[1]! in labels), `${where}: label ${m[1]} twice`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    pos = re.lastIndex;
  }
  return labels;
}

function checkHistogram(f: Family): void {
  const buckets = f.samples.filter((s) => s.name.endsWith('_bucket'));
  let last = 0;
  let lastLe = -Infinity;
  for (const b of buckets) {
    const le = parseValue(b.labels.le ?? '') ?? assert.fail(`${f.name}: bucket without le`);
    assert.ok(le > lastLe, `${f.name}: buckets in increasing le`);
    assert.ok(b.value >= last, `${f.name}: buckets are cumulative`);
    last = b.value;
    lastLe = le;
  }
  assert.equal(lastLe, Infinity, `${f.name}: ends with le="+Inf"`);
  const count = f.samples.find((s) => s.name === `${f.name}_count`) ?? assert.fail(`${f.name}: no _count`);
  assert.equal(count.value, last, `${f.name}: +Inf bucket equals _count`);
  assert.ok(f.samples.some((s) => s.name === `${f.name}_sum`), `${f.name}: no _sum`);
}

/** The value of one sample of a family, by its labels; fails when missing. */
export function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}, sampleName = name): number {
  const f = families.get(name) ?? assert.fail(`no family ${name}`);
  const s = f.samples.find((x) => x.name === sampleName && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return (s ?? assert.fail(`no sample ${sampleName}${JSON.stringify(labels)}`)).value;
}
