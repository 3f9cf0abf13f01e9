// Shared subscriptions, MQTT 5.0 section 4.8.2: `$share/{ShareName}/{filter}`.

export const SHARE_PREFIX = '$share/';

export interface SharedFilter {
  /** The ShareName. */
  readonly group: string;
  /** The Topic Filter after the ShareName, which is what topics are matched against. */
  readonly filter: string;
}

/**
 * Splits a shared subscription's filter into its ShareName and Topic Filter.
 * Returns undefined for a filter that is not shared, and for a `$share/` filter without
 * a non-empty ShareName followed by "/" and a non-empty filter [MQTT-4.8.2-1] [MQTT-4.8.2-2].
 * It does not check wildcards; `validateTopicFilter` does.
 */
export function parseSharedFilter(filter: string): SharedFilter | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return undefined;
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  if (slash <= SHARE_PREFIX.length || slash === filter.length - 1) return undefined;
  return { group: filter.slice(SHARE_PREFIX.length, slash), filter: filter.slice(slash + 1) };
}
