// The plain, obviously-correct matcher: used by the tests as the reference for the trie,
// and handy for one-off checks (ACL rules, retained messages against one filter).

import { parseSharedFilter } from './shared.js';

/**
 * True when a Topic Filter matches a Topic Name (MQTT 5.0 section 4.7). A shared filter
 * (`$share/g/f`) matches as `f` does. Both arguments are assumed valid.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const inner = parseSharedFilter(filter)?.filter ?? filter;
  const f = inner.split('/');
  const t = topic.split('/');
  // A filter starting with a wildcard does not match a topic starting with '$' [MQTT-4.7.2-1]
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    // '#' matches the parent level and any number of child levels [MQTT-4.7.1-1]
    if (level === '#') return true;
    if (i >= t.length) return false;
    // '+' matches exactly one level, which may be empty [MQTT-4.7.1-2]
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
