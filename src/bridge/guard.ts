// A bound on what a remote broker can make the bridge hold. MQTT.js has no Maximum Packet
// Size of its own: it buffers a packet whole, up to the protocol's 256 MB, before anything
// sees it, so a remote that announces a huge PUBLISH (or sends one slowly, without end) would
// hold that much here. This reads each incoming packet's fixed header as the bytes arrive and
// ends the link at one larger than the bound, as the broker does to a client's oversized
// packet; a 5.0 remote is also told the bound in CONNECT and must not send beyond it
// [MQTT-3.1.2-24].

import type { Duplex } from 'node:stream';

/**
 * Watches `stream`'s incoming bytes (a 'data' listener added before MQTT.js pipes it) and
 * destroys the stream at the first packet whose size (fixed header included) is beyond
 * `maxPacketSize`, or whose Remaining Length is malformed; `refused` is told its size.
 */
export function guardPacketSize(stream: Duplex, maxPacketSize: number, refused: (size: number) => void): void {
  // 0: at a packet's first byte; 1: in its Remaining Length; 2: in its body.
  let state = 0;
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let left = 0;
  const stop = (size: number): void => {
    stream.off('data', watch);
    refused(size);
    stream.destroy();
  };
  const watch = (chunk: Buffer): void => {
    let i = 0;
    while (i < chunk.length) {
      if (state === 2) {
        const n = Math.min(left, chunk.length - i);
        left -= n;
        i += n;
        if (left === 0) state = 0;
        continue;
      }
      const b = chunk[i++]!;
      if (state === 0) {
        state = 1;
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
        continue;
      }
      length += (b & 0x7f) * multiplier;
      multiplier *= 128;
      lengthBytes++;
      if (b & 0x80) {
        // At most four bytes of Remaining Length: a fifth is no MQTT at all.
        if (lengthBytes === 4) return stop(Number.POSITIVE_INFINITY);
        continue;
      }
      const size = 1 + lengthBytes + length;
      if (size > maxPacketSize) return stop(size);
      left = length;
      state = left === 0 ? 0 : 2;
    }
  };
  stream.on('data', watch);
}
