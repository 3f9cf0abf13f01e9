// How store records travel from the broker's thread to the SQLite worker: one flat array per
// commit, an op code followed by its fields, so a commit of thousands of records is one
// structured clone of plain values instead of thousands of small objects.

import type { Message } from '../../message.js';

export const Op = {
  PutSession: 1,
  DeleteSession: 2,
  PutSubscription: 3,
  DeleteSubscription: 4,
  PutInbound: 5,
  DeleteInbound: 6,
  PutMessage: 7,
  DeleteMessage: 8,
  PutDelivery: 9,
  ReleaseDelivery: 10,
  DeleteDelivery: 11,
  PutRetained: 12,
  DeleteRetained: 13,
  PutWill: 14,
  DeleteWill: 15,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** How many fields follow each op code (indexed by the code). */
export const ARITY: readonly number[] = [0, 4, 1, 7, 2, 2, 2, 8, 1, 8, 2, 2, 6, 1, 10, 1];

/**
 * 5.0 properties as JSON; Buffers (Correlation Data) survive as {type:'Buffer', data}. Most
 * messages have none, which is stored as NULL.
 */
export function propertiesToJson(properties: Message['properties']): string | null {
  return properties === undefined ? null : JSON.stringify(properties);
}

export function propertiesFromJson(json: string | null): Message['properties'] {
  if (json === null) return undefined;
  return JSON.parse(json, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
      return Buffer.from((value as { data: number[] }).data);
    }
    return value;
  }) as Message['properties'];
}

/** A payload that crossed a thread arrives as a Uint8Array: view it as a Buffer again. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
