// TLS session ticket keys that outlive one process. A client that reconnects after an outage
// offers the ticket it was given; the server can decrypt it, and skip the certificate
// signature and key exchange of a full handshake, only with the keys that encrypted it. Node
// draws random keys per tls.Server, so a restart, or another worker of `--workers`, refuses
// every ticket and each returning device pays a full handshake. A key file (or, with
// --workers and no file, keys the primary draws once and gives every worker) fixes that.

import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type tls from 'node:tls';
import type { TransportGuard } from './guard.js';

/** Node's ticketKeys: 16 bytes key name, 16 HMAC key, 16 AES key. */
export const TICKET_KEY_BYTES = 48;

/** The worker environment variable with the primary's keys (hex); not STARLING_*: those are config keys. */
export const WORKER_TICKET_KEYS_ENV = '_STARLING_TICKET_KEYS';

const howToMake = (file: string): string => `head -c ${TICKET_KEY_BYTES} /dev/urandom > ${file} && chmod 600 ${file}`;

/**
 * The keys in `file`; a missing file is created with fresh random keys, readable by the
 * broker's user only (anyone with the keys can decrypt recorded TLS 1.2 sessions and forge
 * resumptions). Throws a message naming the file and the fix.
 */
export function loadTicketKeys(file: string): Buffer {
  let keys: Buffer;
  try {
    keys = readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ENOENT') {
      throw new Error(
        `cannot read tls.ticketKeyFile ${file}: ${e.message}. Make it readable by the broker's user, or remove it to have new keys created at start-up`,
      );
    }
    keys = randomBytes(TICKET_KEY_BYTES);
    try {
      // 'wx': another worker may create it at the same moment; its keys then win.
      writeFileSync(file, keys, { mode: 0o600, flag: 'wx' });
    } catch (werr) {
      if ((werr as NodeJS.ErrnoException).code === 'EEXIST') return loadTicketKeys(file);
      throw new Error(`cannot create tls.ticketKeyFile ${file}: ${(werr as Error).message}. Create it with: ${howToMake(file)}`);
    }
    return keys;
  }
  if (keys.length !== TICKET_KEY_BYTES) {
    throw new Error(
      `tls.ticketKeyFile ${file} holds ${keys.length} bytes, not ${TICKET_KEY_BYTES} random bytes. Remove it to have new keys created at start-up, or write new ones with: ${howToMake(file)}`,
    );
  }
  return keys;
}

/** Counts the server's completed handshakes, full or resumed, in the guard (starling_tls_handshakes_total). */
export function countHandshakes(server: tls.Server, guard: TransportGuard): void {
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    guard.tlsHandshakes[socket.isSessionReused() ? 'resumed' : 'full']++;
  });
}

/** Keys the --workers primary draws for its workers: one environment value, the same in each. */
export function workerTicketKeysEnv(): Record<string, string> {
  return { [WORKER_TICKET_KEYS_ENV]: randomBytes(TICKET_KEY_BYTES).toString('hex') };
}

/**
 * In a worker: the primary's keys, taken out of the environment so that no program the
 * broker starts inherits them. Undefined outside --workers.
 */
export function takeWorkerTicketKeys(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const hex = env[WORKER_TICKET_KEYS_ENV];
  if (hex === undefined) return undefined;
  delete env[WORKER_TICKET_KEYS_ENV];
  const keys = Buffer.from(hex, 'hex');
  return keys.length === TICKET_KEY_BYTES ? keys : undefined;
}
