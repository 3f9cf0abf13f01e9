import { reasonCodeName } from './reason-codes.js';

/**
 * A violation of the protocol found in bytes a peer sent. It carries the MQTT 5 reason code
 * the receiver answers with (0x81 Malformed Packet, 0x82 Protocol Error, 0x95 Packet too
 * large, 0x84 Unsupported Protocol Version, ...) and, where one applies, the id of the
 * normative statement it enforces. The connection decides what to send: DISCONNECT or
 * CONNACK with `reasonCode` for 5.0, a 3.1.1 CONNACK return code, or just closing.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly reasonCode: number,
    message: string,
    readonly statement?: string,
  ) {
    super(`${reasonCodeName(reasonCode)}: ${message}${statement ? ` [${statement}]` : ''}`);
  }
}

export function malformed(message: string, statement?: string): ProtocolError {
  return new ProtocolError(0x81, message, statement);
}

export function protocolError(message: string, statement?: string): ProtocolError {
  return new ProtocolError(0x82, message, statement);
}
