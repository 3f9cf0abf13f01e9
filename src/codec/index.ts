// The MQTT packet codec: pure functions over Buffers, no I/O.
export * from './types.js';
export * from './reason-codes.js';
export { ProtocolError } from './errors.js';
export { Decoder, decode, type DecoderOptions, type PacketSink } from './decoder.js';
export { encode, encodePublish, strlen } from './encoder.js';
