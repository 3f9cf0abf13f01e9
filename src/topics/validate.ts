// Topic Name and Topic Filter rules: MQTT 5.0 section 4.7 (3.1.1 section 4.7 is the same
// rule set with other statement numbers) and shared subscriptions, 5.0 section 4.8.2.
//
// Both validators return undefined when the string is valid, else a short reason meant for
// logs and for the Reason String of a SUBACK/DISCONNECT. The caller picks the reason code
// (0x90 Topic Name invalid, 0x8F Topic Filter invalid).

import { SHARE_PREFIX } from './shared.js';

/** The spec's own bound: a UTF-8 Encoded String has a two byte length [MQTT-4.7.3-3]. */
export const MAX_TOPIC_BYTES = 65535;

/** Configured bounds, tighter than the protocol's. */
export interface TopicLimits {
  /** Maximum length in UTF-8 bytes; never above 65535 [MQTT-4.7.3-3]. */
  readonly maxLength?: number;
  /** Maximum number of levels (`a/b/c` has 3; for `$share/g/a/b` the levels of `a/b`). */
  readonly maxLevels?: number;
}

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const NUL = 0x00;

/** Validates a Topic Name, as sent in PUBLISH or as a Will Topic. */
export function validateTopicName(topic: string, limits?: TopicLimits): string | undefined {
  if (topic.length === 0) return 'topic name is empty [MQTT-4.7.3-1]';
  const tooLong = checkLength(topic, limits);
  if (tooLong !== undefined) return tooLong;
  let levels = 1;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === SLASH) levels++;
    else if (c === PLUS || c === HASH) return 'topic name contains a wildcard [MQTT-3.3.2-2]';
    else if (c === NUL) return 'topic name contains U+0000 [MQTT-4.7.3-2]';
    else if (c >= 0xd800 && c <= 0xdfff) {
      if (!isPairAt(topic, i)) return 'topic name is not well-formed UTF-16/UTF-8 [MQTT-1.5.4-1]';
      i++;
    }
  }
  const maxLevels = limits?.maxLevels;
  if (maxLevels !== undefined && levels > maxLevels) return `topic name has more than ${maxLevels} levels`;
  return undefined;
}

/** Validates a Topic Filter from SUBSCRIBE or UNSUBSCRIBE, shared ones included. */
export function validateTopicFilter(filter: string, limits?: TopicLimits): string | undefined {
  if (filter.length === 0) return 'topic filter is empty [MQTT-4.7.3-1]';
  const tooLong = checkLength(filter, limits);
  if (tooLong !== undefined) return tooLong;

  let start = 0;
  if (filter.startsWith(SHARE_PREFIX)) {
    // $share/{ShareName}/{filter} [MQTT-4.8.2-1] [MQTT-4.8.2-2]
    const slash = filter.indexOf('/', SHARE_PREFIX.length);
    if (slash === SHARE_PREFIX.length || filter.length === SHARE_PREFIX.length) {
      return 'shared subscription has an empty ShareName [MQTT-4.8.2-1]';
    }
    if (slash < 0) return 'shared subscription needs "/" and a Topic Filter after the ShareName [MQTT-4.8.2-2]';
    for (let i = SHARE_PREFIX.length; i < slash; i++) {
      const c = filter.charCodeAt(i);
      if (c === PLUS || c === HASH) return 'ShareName contains "+" or "#" [MQTT-4.8.2-2]';
    }
    start = slash + 1;
    if (start === filter.length) return 'shared subscription has an empty Topic Filter [MQTT-4.8.2-2]';
  } else if (filter === '$share') {
    return 'shared subscription needs a ShareName and a Topic Filter [MQTT-4.8.2-1]';
  }

  let levels = 1;
  let levelStart = start;
  for (let i = start; i < filter.length; i++) {
    const c = filter.charCodeAt(i);
    if (c === SLASH) {
      levels++;
      levelStart = i + 1;
    } else if (c === HASH) {
      // '#' alone or after '/', and the last character [MQTT-4.7.1-1]
      if (i !== levelStart || i !== filter.length - 1) {
        return '"#" must be the whole last level of the filter [MQTT-4.7.1-1]';
      }
    } else if (c === PLUS) {
      // '+' occupies an entire level [MQTT-4.7.1-2]
      if (i !== levelStart || (i + 1 < filter.length && filter.charCodeAt(i + 1) !== SLASH)) {
        return '"+" must occupy a whole level of the filter [MQTT-4.7.1-2]';
      }
    } else if (c === NUL) {
      return 'topic filter contains U+0000 [MQTT-4.7.3-2]';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      if (!isPairAt(filter, i)) return 'topic filter is not well-formed UTF-16/UTF-8 [MQTT-1.5.4-1]';
      i++;
    }
  }
  const maxLevels = limits?.maxLevels;
  if (maxLevels !== undefined && levels > maxLevels) return `topic filter has more than ${maxLevels} levels`;
  return undefined;
}

function checkLength(s: string, limits: TopicLimits | undefined): string | undefined {
  const max = Math.min(limits?.maxLength ?? MAX_TOPIC_BYTES, MAX_TOPIC_BYTES);
  // A UTF-16 code unit encodes to 1..3 UTF-8 bytes (a surrogate pair, two units, to 4),
  // so the exact byte count is needed only between these two bounds.
  if (s.length * 3 <= max) return undefined;
  if (s.length > max || Buffer.byteLength(s, 'utf8') > max) {
    return max === MAX_TOPIC_BYTES
      ? `longer than ${MAX_TOPIC_BYTES} UTF-8 bytes [MQTT-4.7.3-3]`
      : `longer than the configured ${max} bytes`;
  }
  return undefined;
}

/** True when a high surrogate at i is followed by a low one (JS strings can hold lone halves). */
function isPairAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c > 0xdbff) return false;
  const d = s.charCodeAt(i + 1);
  return d >= 0xdc00 && d <= 0xdfff;
}
