// Listeners: each kind accepts connections its own way and hands the broker a byte stream
// (a Duplex), the listener's description, and the client's address. The broker knows
// nothing else about transports.

import type { Duplex } from 'node:stream';
import type { ListenerInfo, ListenerOptions } from '../broker/types.js';
import { TcpListener } from './tcp.js';

export type OnStream = (stream: Duplex, info: ListenerInfo, remoteAddress: string) => void;

export interface Listener {
  /** Valid once open() resolved. */
  readonly info: ListenerInfo;
  open(): Promise<void>;
  /** Stops accepting; connections already handed over are the broker's to close. */
  close(): Promise<void>;
}

export function createListener(options: ListenerOptions, onStream: OnStream): Listener {
  switch (options.type ?? 'tcp') {
    case 'tcp':
      return new TcpListener(options, onStream);
  }
}

export { isLoopback } from './tcp.js';
