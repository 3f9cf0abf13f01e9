// MQTT 5.0 reason codes (section 2.4): their names for logs and metrics, and which packet may
// carry which.

const NAMES = new Map<number, string>([
  [0x00, 'Success'],
  [0x01, 'Granted QoS 1'],
  [0x02, 'Granted QoS 2'],
  [0x04, 'Disconnect with Will Message'],
  [0x10, 'No matching subscribers'],
  [0x11, 'No subscription existed'],
  [0x18, 'Continue authentication'],
  [0x19, 'Re-authenticate'],
  [0x80, 'Unspecified error'],
  [0x81, 'Malformed Packet'],
  [0x82, 'Protocol Error'],
  [0x83, 'Implementation specific error'],
  [0x84, 'Unsupported Protocol Version'],
  [0x85, 'Client Identifier not valid'],
  [0x86, 'Bad User Name or Password'],
  [0x87, 'Not authorized'],
  [0x88, 'Server unavailable'],
  [0x89, 'Server busy'],
  [0x8a, 'Banned'],
  [0x8b, 'Server shutting down'],
  [0x8c, 'Bad authentication method'],
  [0x8d, 'Keep Alive timeout'],
  [0x8e, 'Session taken over'],
  [0x8f, 'Topic Filter invalid'],
  [0x90, 'Topic Name invalid'],
  [0x91, 'Packet Identifier in use'],
  [0x92, 'Packet Identifier not found'],
  [0x93, 'Receive Maximum exceeded'],
  [0x94, 'Topic Alias invalid'],
  [0x95, 'Packet too large'],
  [0x96, 'Message rate too high'],
  [0x97, 'Quota exceeded'],
  [0x98, 'Administrative action'],
  [0x99, 'Payload format invalid'],
  [0x9a, 'Retain not supported'],
  [0x9b, 'QoS not supported'],
  [0x9c, 'Use another server'],
  [0x9d, 'Server moved'],
  [0x9e, 'Shared Subscriptions not supported'],
  [0x9f, 'Connection rate exceeded'],
  [0xa0, 'Maximum connect time'],
  [0xa1, 'Subscription Identifiers not supported'],
  [0xa2, 'Wildcard Subscriptions not supported'],
]);

export function reasonCodeName(code: number): string {
  return NAMES.get(code) ?? `Unknown reason code 0x${code.toString(16).padStart(2, '0')}`;
}

// Which reason codes each 5.0 packet may carry (section 2.4, table 2-6, and each packet's
// reason code table). A value outside its packet's set is a Protocol Error.
const set = (...codes: number[]): ReadonlySet<number> => new Set(codes);

export const CONNACK_REASON_CODES = set(
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95,
  0x97, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
);
/** PUBACK's, and PUBREC's: the two tables are the same (sections 3.4.2.1, 3.5.2.1). */
export const PUBACK_REASON_CODES = set(0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99);
/** PUBREL's, and PUBCOMP's (sections 3.6.2.1, 3.7.2.1). */
export const PUBREL_REASON_CODES = set(0x00, 0x92);
export const SUBACK_REASON_CODES = set(
  0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2,
);
export const UNSUBACK_REASON_CODES = set(0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91);
export const DISCONNECT_REASON_CODES = set(
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94,
  0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
);
export const AUTH_REASON_CODES = set(0x00, 0x18, 0x19);
