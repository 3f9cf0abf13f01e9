// The worker's side of start-up: reads a table in batches, each a range of its primary key,
// and each batch as ONE row from SQLite: every column aggregated with group_concat into one
// string (one BLOB for payloads, with their lengths). SQLite does the per-row work in C, and
// JavaScript handles a few values per batch instead of an array and a Buffer per row (which
// cost 2 s of the 4 s it took to read 1,000,000 messages and their deliveries).
//
// The columns of one aggregate row stay aligned whatever order SQLite feeds the rows in: each
// aggregate sees every row once, in the same step. NULL, which group_concat would skip, never
// reaches it: numbers and text are wrapped in ifnull(), with a separate NULL flag per text.

import type Database from 'better-sqlite3';
import { type Column, type ColumnBatch, type ColumnKind, SEP, TABLES, type Table, type TableName } from './columns.js';

/** A batch has at most this many rows... */
const BATCH_ROWS = 32768;
/** ...and at most this many payload bytes (unless one row alone has more). */
const BATCH_BYTES = 16 * 1024 * 1024;

/** The stored data is not what this Starling wrote. */
export class MalformedRows extends Error {
  readonly code = 'CORRUPT';
}

function aggregates(name: string, kind: ColumnKind): string[] {
  switch (kind) {
    case 'num':
      return [`group_concat(ifnull(${name}, ''), ',')`];
    case 'u8':
      // One character per row, whatever the value: char(48) is '0'.
      return [`group_concat(char(48 + ${name}), '')`];
    case 'text':
      return [`group_concat(ifnull(${name}, ''), char(0))`, `group_concat(${name} IS NULL, '')`];
    case 'runs':
      return [`group_concat(${name}, char(0))`];
    case 'blob':
      return [`CAST(group_concat(${name}, '') AS BLOB)`, `group_concat(length(${name}), ',')`];
  }
}

type Key = unknown[];

class TableReader {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly keys: string;
  private readonly blob: string | undefined;
  private rows = BATCH_ROWS;

  constructor(
    private readonly db: Database.Database,
    readonly name: TableName,
    private readonly table: Table,
  ) {
    this.keys = table.key.join(', ');
    this.blob = table.columns.find(([, kind]) => kind === 'blob')?.[0];
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql).raw();
      this.statements.set(sql, s);
    }
    return s;
  }

  /** WHERE for the keys after `lower` up to and including `upper`, and its parameters. */
  private range(lower: Key | undefined, upper: Key | undefined): { where: string; params: unknown[] } {
    const marks = this.table.key.map(() => '?').join(', ');
    const parts: string[] = [];
    const params: unknown[] = [];
    if (lower !== undefined) {
      parts.push(`(${this.keys}) > (${marks})`);
      params.push(...lower);
    }
    if (upper !== undefined) {
      parts.push(`(${this.keys}) <= (${marks})`);
      params.push(...upper);
    }
    return { where: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`, params };
  }

  /** The key of the n-th row after `lower`; undefined when fewer rows are left. */
  private bound(lower: Key | undefined, n: number): Key | undefined {
    const { where, params } = this.range(lower, undefined);
    return this.stmt(`SELECT ${this.keys} FROM ${this.name} ${where} ORDER BY ${this.keys} LIMIT 1 OFFSET ?`).get(...params, n - 1) as Key | undefined;
  }

  private bytes(lower: Key | undefined, upper: Key | undefined): number {
    const { where, params } = this.range(lower, upper);
    return (this.stmt(`SELECT total(length(${this.blob})) FROM ${this.name} ${where}`).get(...params) as [number])[0];
  }

  /** Reads the next batch after `lower`: the batch and its last key, or undefined at the end. */
  next(lower: Key | undefined): { batch: ColumnBatch; transfer: ArrayBuffer[]; upper: Key | undefined } | undefined {
    // Big payloads: fewer rows per batch, so that no batch is more than BATCH_BYTES; after a
    // run of big ones, back towards BATCH_ROWS.
    this.rows = Math.min(BATCH_ROWS, this.rows * 2);
    let upper = this.bound(lower, this.rows);
    while (this.blob !== undefined && this.rows > 1 && this.bytes(lower, upper) > BATCH_BYTES) {
      this.rows = Math.max(1, this.rows >> 1);
      upper = this.bound(lower, this.rows);
    }
    const { where, params } = this.range(lower, upper);
    const columns = this.table.columns.map(([name]) => name).join(', ');
    const aggs = this.table.columns.flatMap(([name, kind]) => aggregates(name, kind)).join(', ');
    const row = this.stmt(`SELECT count(*), ${aggs} FROM (SELECT ${columns} FROM ${this.name} ${where} ORDER BY ${this.keys})`).get(...params) as unknown[];
    const count = row[0] as number;
    if (count === 0) return undefined;
    const transfer: ArrayBuffer[] = [];
    let at = 1;
    const out: Column[] = [];
    for (const [name, kind] of this.table.columns) {
      const n = kind === 'text' || kind === 'blob' ? 2 : 1;
      out.push(decode(kind, row.slice(at, at + n), count, transfer, `${this.name}.${name}`));
      at += n;
    }
    return { batch: { table: this.name, rows: count, columns: out }, transfer, upper };
  }
}

function decode(kind: ColumnKind, values: unknown[], rows: number, transfer: ArrayBuffer[], what: string): Column {
  const check = (n: number): void => {
    if (n !== rows) throw new MalformedRows(`${what}: ${n} values for ${rows} rows`);
  };
  switch (kind) {
    case 'num': {
      const parts = (values[0] as string).split(',');
      check(parts.length);
      const out = new Float64Array(rows);
      for (let i = 0; i < rows; i++) {
        const p = parts[i]!;
        out[i] = p === '' ? NaN : Number(p);
      }
      transfer.push(out.buffer);
      return { kind, values: out };
    }
    case 'u8': {
      const s = values[0] as string;
      check(s.length);
      const out = new Uint8Array(rows);
      for (let i = 0; i < rows; i++) out[i] = s.charCodeAt(i) - 48;
      transfer.push(out.buffer);
      return { kind, values: out };
    }
    case 'text': {
      const joined = values[0] as string;
      const flags = values[1] as string;
      check(flags.length);
      if (flags.indexOf('1') === -1) return { kind, joined };
      const nulls = new Uint8Array(rows);
      for (let i = 0; i < rows; i++) nulls[i] = flags.charCodeAt(i) - 48;
      transfer.push(nulls.buffer);
      // An all-NULL column (properties, origin: the usual case) costs nothing to send.
      return flags.indexOf('0') === -1 ? { kind, nulls } : { kind, joined, nulls };
    }
    case 'runs': {
      const all = (values[0] as string).split(SEP);
      check(all.length);
      const distinct: string[] = [];
      const lengths: number[] = [];
      let last: string | undefined;
      for (const v of all) {
        if (v === last) lengths[lengths.length - 1]!++;
        else {
          distinct.push(v);
          lengths.push(1);
          last = v;
        }
      }
      const out = Uint32Array.from(lengths);
      transfer.push(out.buffer);
      return { kind, joined: distinct.join(SEP), lengths: out };
    }
    case 'blob': {
      const bytes = values[0] as Buffer;
      const lengths = (values[1] as string).split(',');
      check(lengths.length);
      const ends = new Uint32Array(rows);
      let end = 0;
      for (let i = 0; i < rows; i++) ends[i] = end += Number(lengths[i]);
      if (end !== bytes.byteLength) throw new MalformedRows(`${what}: ${bytes.byteLength} bytes, lengths add up to ${end}`);
      // A copy into memory of our own (a few ms per 16 MB): only that is sure to be
      // transferable, whatever memory better-sqlite3 gave the BLOB.
      const own = new Uint8Array(bytes);
      transfer.push(own.buffer, ends.buffer);
      return { kind, bytes: own, ends };
    }
  }
}

/** Reads every table in order, handing each batch to `send`; returns the rows read. */
export function readAll(db: Database.Database, send: (batch: ColumnBatch, transfer: ArrayBuffer[]) => void): number {
  let total = 0;
  for (const name of Object.keys(TABLES) as TableName[]) {
    const reader = new TableReader(db, name, TABLES[name]);
    let lower: Key | undefined;
    for (;;) {
      const next = reader.next(lower);
      if (next === undefined) break;
      send(next.batch, next.transfer);
      total += next.batch.rows;
      if (next.upper === undefined) break; // that batch held the rest of the table
      lower = next.upper;
    }
  }
  return total;
}
