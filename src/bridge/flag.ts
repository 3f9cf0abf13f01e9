// Mosquitto's bridge flag, honoured: a 3.1/3.1.1 client whose CONNECT has the protocol level
// with 0x80 (Mosquitto's `try_private`, our bridges' `tryPrivate`) is another broker's bridge.
// As Mosquitto does, its subscriptions get No Local (what it publishes is not sent back to it:
// no loop) and Retain As Published (a retained message stays retained on the far side), the
// 5.0 options 3.1.1 cannot ask for.

import type { SubscribePacket } from '../codec/types.js';

export function asBridgeSubscribe(p: SubscribePacket): SubscribePacket {
  return { ...p, subscriptions: p.subscriptions.map((s) => ({ ...s, noLocal: true, retainAsPublished: true })) };
}
