// How the worker sends the file's rows to the broker's thread at start-up: in batches of
// columns, not as one array per row. A structured clone of 2,000,000 row arrays took longer
// than reading them from SQLite; a batch here is a few typed arrays and one buffer of
// payloads, moved to the other thread in the transfer list (no copy), and a few long strings
// (a text column is its values joined with U+0000, which MQTT forbids in every string stored
// here [MQTT-1.5.4-2]; JSON escapes it). The worker (read.ts) sends each batch as soon as it
// has read it, so the broker's thread builds the snapshot (snapshot.ts) while the worker
// reads on.

/** How one column travels. */
export type ColumnKind =
  /** Integers (ids, seconds, milliseconds); NULL as NaN. */
  | 'num'
  /** Small non-null integers: QoS, flags, state. */
  | 'u8'
  /** Text, NULL allowed. */
  | 'text'
  /** Text that comes in runs of equal values (rows ordered by it): each distinct run once. */
  | 'runs'
  /** BLOBs, concatenated. */
  | 'blob';

export type Column =
  | { kind: 'num'; values: Float64Array }
  | { kind: 'u8'; values: Uint8Array }
  /** `nulls` is absent when no value is NULL; `joined` is absent when every value is. */
  | { kind: 'text'; joined?: string; nulls?: Uint8Array }
  | { kind: 'runs'; joined: string; lengths: Uint32Array }
  /** Row i's bytes are bytes[ends[i-1] .. ends[i]) (ends[-1] = 0). */
  | { kind: 'blob'; bytes: Uint8Array; ends: Uint32Array };

export interface Table {
  /** The primary key: batches are consecutive ranges of it. */
  readonly key: readonly string[];
  readonly columns: ReadonlyArray<readonly [name: string, kind: ColumnKind]>;
}

/**
 * What is read at start-up, in this order (a delivery's message is read before it). The
 * 'runs' columns lead their table's key, so equal values come together.
 */
export const TABLES = {
  sessions: {
    key: ['client_id'],
    columns: [
      ['client_id', 'text'],
      ['expiry', 'num'],
      ['username', 'text'],
      ['disconnected_at', 'num'],
    ],
  },
  subscriptions: {
    key: ['client_id', 'filter'],
    columns: [
      ['client_id', 'runs'],
      ['filter', 'text'],
      ['qos', 'u8'],
      ['no_local', 'u8'],
      ['retain_as_published', 'u8'],
      ['retain_handling', 'u8'],
      ['subscription_id', 'num'],
    ],
  },
  inbound: {
    key: ['client_id', 'packet_id'],
    columns: [
      ['client_id', 'runs'],
      ['packet_id', 'num'],
    ],
  },
  messages: {
    key: ['id'],
    columns: [
      ['id', 'num'],
      ['topic', 'text'],
      ['payload', 'blob'],
      ['qos', 'u8'],
      ['retain', 'u8'],
      ['properties', 'text'],
      ['expires_at', 'num'],
      ['origin', 'text'],
    ],
  },
  // In key order, not seq order: the snapshot sorts each session's few deliveries by seq.
  deliveries: {
    key: ['client_id', 'packet_id'],
    columns: [
      ['client_id', 'runs'],
      ['packet_id', 'num'],
      ['seq', 'num'],
      ['message_id', 'num'],
      ['qos', 'u8'],
      ['retain', 'u8'],
      ['subscription_ids', 'text'],
      ['state', 'u8'],
    ],
  },
  retained: {
    key: ['topic'],
    columns: [
      ['topic', 'text'],
      ['payload', 'blob'],
      ['qos', 'u8'],
      ['properties', 'text'],
      ['expires_at', 'num'],
      ['origin', 'text'],
    ],
  },
  wills: {
    key: ['client_id'],
    columns: [
      ['client_id', 'text'],
      ['topic', 'text'],
      ['payload', 'blob'],
      ['qos', 'u8'],
      ['retain', 'u8'],
      ['properties', 'text'],
      ['delay', 'num'],
      ['username', 'text'],
      ['protocol', 'u8'],
      ['origin', 'text'],
    ],
  },
} as const satisfies Record<string, Table>;

export type TableName = keyof typeof TABLES;

export interface ColumnBatch {
  readonly table: TableName;
  readonly rows: number;
  readonly columns: Column[];
}

export const SEP = '\u0000';

// Broker side: a batch's columns, decoded once each.

export function numbers(batch: ColumnBatch, c: number): Float64Array {
  return (batch.columns[c] as Extract<Column, { kind: 'num' }>).values;
}

export function smallInts(batch: ColumnBatch, c: number): Uint8Array {
  return (batch.columns[c] as Extract<Column, { kind: 'u8' }>).values;
}

/** Row i's text, or null; undefined when the whole column is NULL. */
export function texts(batch: ColumnBatch, c: number): Array<string | null> | undefined {
  const col = batch.columns[c] as Extract<Column, { kind: 'text' }>;
  if (col.joined === undefined) return undefined;
  const values: Array<string | null> = col.joined.split(SEP);
  if (values.length !== batch.rows) throw new Error(`${batch.table}: ${values.length} texts for ${batch.rows} rows`);
  const nulls = col.nulls;
  if (nulls !== undefined) for (let i = 0; i < values.length; i++) if (nulls[i] === 1) values[i] = null;
  return values;
}

/** The distinct values of a 'runs' column in order, and how many rows each covers. */
export function runs(batch: ColumnBatch, c: number): { values: string[]; lengths: Uint32Array } {
  const col = batch.columns[c] as Extract<Column, { kind: 'runs' }>;
  const values = col.joined.split(SEP);
  if (values.length !== col.lengths.length) throw new Error(`${batch.table}: ${values.length} runs for ${col.lengths.length} lengths`);
  return { values, lengths: col.lengths };
}

/**
 * Row i's bytes as a Buffer over the transferred batch: no copy, but every such Buffer keeps
 * the whole batch's payloads in memory while it lives (see docs/durability.md).
 */
export function blobs(batch: ColumnBatch, c: number): (i: number) => Buffer {
  const { bytes, ends } = batch.columns[c] as Extract<Column, { kind: 'blob' }>;
  const { buffer, byteOffset } = bytes;
  return (i) => {
    const start = i === 0 ? 0 : ends[i - 1]!;
    return Buffer.from(buffer, byteOffset + start, ends[i]! - start);
  };
}
