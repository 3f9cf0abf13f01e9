// How results are shown: a live progress line (stderr, rewritten in place on a terminal),
// a summary table, or JSON.

import { fmt, type ScenarioResult } from './runner.js';

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Rewrites one status line in place on a terminal; prints every few seconds elsewhere. */
export class ProgressLine {
  private last = 0;
  private shown = false;
  constructor(private readonly out: Output) {}

  update(line: string): void {
    if (this.out.isTTY) {
      const width = (this.out as { columns?: number }).columns ?? 120;
      this.out.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
      this.shown = true;
    } else if (Date.now() - this.last >= 2000) {
      this.last = Date.now();
      this.out.write(`${line}\n`);
    }
  }

  clear(): void {
    if (this.shown) this.out.write('\r\x1b[2K');
    this.shown = false;
  }
}

/** Renders rows as an aligned text table; the first row is the header. `align`: 'l' or 'r' per column. */
export function textTable(rows: string[][], align: string): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string =>
    r.map((cell, c) => (align[c] === 'r' ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function clients(r: ScenarioResult): string {
  const o = r.options;
  const tls = o.tls ? ', TLS' : '';
  if (r.scenario === 'connections') return `${fmt(o.connections)} idle${tls}`;
  if (r.scenario === 'topics') return `${o.publishers} -> ${o.subscribers} (${fmt(o.topics)} subs)${tls}`;
  return `${o.publishers} -> ${o.subscribers}${tls}`;
}

function details(r: ScenarioResult): string {
  const parts: string[] = [];
  if (r.connections) {
    const c = r.connections;
    parts.push(`${fmt(c.established)} up in ${c.setupSeconds.toFixed(2)} s (${fmt(c.perSecond)}/s)`);
    if (c.brokerCpuUsPerConnection !== undefined) parts.push(`broker CPU ${Math.round(c.brokerCpuUsPerConnection)} µs/conn (${Math.round(c.brokerSystemUsPerConnection ?? 0)} in the kernel)`);
    parts.push(`generator CPU ${Math.round(c.generatorCpuUsPerConnection)} µs/conn`);
    if (c.resumed !== undefined) parts.push(`TLS sessions resumed ${fmt(c.resumed)} of ${fmt(c.established)} (${c.established > 0 ? ((c.resumed / c.established) * 100).toFixed(0) : 0}%)`);
    if (c.kbPerConnection !== undefined) {
      const early = c.kbPerConnectionAt1s === undefined ? '' : ` (${c.kbPerConnectionAt1s.toFixed(1)} at 1 s)`;
      parts.push(`${c.kbPerConnection.toFixed(1)} KB/conn${early}`);
    }
  }
  if (r.scenario === 'topics' && r.subscriptions) parts.push(`subscribed in ${r.subscriptions.setupSeconds.toFixed(2)} s (${fmt(r.subscriptions.perSecond)}/s)`);
  if (r.options.qos > 0 && r.scenario !== 'connections') parts.push(`acked ${fmt(r.rates.ack)}/s`);
  if (r.broker) {
    const b = r.broker;
    parts.push(b.exited ? 'broker exited' : `broker ${b.cpuPercent ?? '?'}% CPU, ${b.rssMB ?? '?'} MB`);
  }
  parts.push(`generator ${r.generator.cpuPercent}% CPU`);
  return parts.join(', ');
}

export function summaryTable(results: ScenarioResult[]): string {
  const rows = [['scenario', 'clients', 'QoS', 'sent/s', 'delivered/s', 'lost', 'p50 ms', 'p99 ms', 'max ms', 'status', 'details']];
  for (const r of results) {
    const isConn = r.scenario === 'connections';
    const lat = r.latency;
    const m = r.messages;
    rows.push([
      r.scenario,
      clients(r),
      isConn ? '-' : String(r.options.qos),
      isConn ? '-' : fmt(r.rates.publish),
      isConn ? '-' : fmt(r.rates.delivery),
      isConn ? '-' : m.expected > 0 ? `${((m.lost / m.expected) * 100).toFixed(m.lost === 0 ? 0 : 2)}%${r.drain?.cutOff ? '*' : ''}` : '-',
      lat ? lat.p50.toFixed(3) : '-',
      lat ? lat.p99.toFixed(3) : '-',
      lat ? lat.max.toFixed(3) : '-',
      r.ok ? 'ok' : 'FAIL',
      details(r),
    ]);
  }
  const lines = [textTable(rows, 'llrrrrrrrll')];
  if (results.some((r) => r.drain?.cutOff)) lines.push('* messages were still arriving when the wait for late ones ended: some counted as lost were only late');
  for (const r of results) for (const p of r.problems) lines.push(`${r.scenario}: ${p}`);
  return lines.join('\n');
}
