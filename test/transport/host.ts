// A listener host for listener tests without a broker: streams go to `accept`, limits are the defaults.

import pino from 'pino';
import { DEFAULT_LIMITS } from '../../src/broker/types.js';
import type { ListenerHost, OnStream } from '../../src/transport/index.js';

export function host(accept: OnStream = () => {}): ListenerHost {
  return { accept, limits: DEFAULT_LIMITS, log: pino({ enabled: false }) };
}
