// A bridge's topic rules in Mosquitto's form (mosquitto.conf(5), `topic`):
//   PATTERN [in|out|both [QOS [LOCAL_PREFIX REMOTE_PREFIX]]]
// A rule subscribes on one side to PREFIX+PATTERN and republishes each message on the other
// side with that side's prefix in place of this one's. `""` stands for an empty pattern or
// prefix: with an empty pattern the prefixes are whole topics, a remapping of one topic.

import type { QoS } from '../codec/types.js';
import { topicMatches, validateTopicFilter, validateTopicName } from '../topics/index.js';

export type Direction = 'in' | 'out' | 'both';

export interface TopicRule {
  readonly pattern: string;
  readonly direction: Direction;
  /** The most a message keeps crossing the bridge: the QoS subscribed at on the source side. */
  readonly qos: QoS;
  readonly localPrefix: string;
  readonly remotePrefix: string;
  /** The filter subscribed to here (out, both). */
  readonly localFilter: string;
  /** The filter subscribed to at the remote (in, both). */
  readonly remoteFilter: string;
}

export class RuleError extends Error {}

/** One rule per non-empty line; throws a RuleError naming the line. */
export function parseRules(text: string): TopicRule[] {
  const rules: TopicRule[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    try {
      rules.push(parseRule(line));
    } catch (err) {
      throw new RuleError(`topics line ${i + 1} (${JSON.stringify(line)}): ${(err as Error).message}`);
    }
  });
  if (rules.length === 0) throw new RuleError('topics: no rule');
  return rules;
}

export function parseRule(line: string): TopicRule {
  const words = line.split(/\s+/).map((w) => (w === '""' ? '' : w));
  if (words.length > 5) throw new Error('too many words: PATTERN [in|out|both [QOS [LOCAL_PREFIX REMOTE_PREFIX]]]');
  if (words.length === 4) throw new Error('a local prefix needs a remote prefix after it (write "" for none)');
  const [pattern = '', dir = 'out', qosText = '0', localPrefix = '', remotePrefix = ''] = words;
  if (dir !== 'in' && dir !== 'out' && dir !== 'both') throw new Error(`direction ${JSON.stringify(dir)} is not in, out or both`);
  if (!/^[0-2]$/.test(qosText)) throw new Error(`QoS ${JSON.stringify(qosText)} is not 0, 1 or 2`);
  for (const [what, prefix] of [['local prefix', localPrefix], ['remote prefix', remotePrefix]] as const) {
    if (/[#+]/.test(prefix)) throw new Error(`the ${what} ${JSON.stringify(prefix)} has a wildcard`);
  }
  if (pattern === '' && (localPrefix === '' || remotePrefix === '')) throw new Error('an empty pattern needs both prefixes (a topic remapped to another)');
  const localFilter = localPrefix + pattern;
  const remoteFilter = remotePrefix + pattern;
  for (const [side, filter] of [['local', localFilter], ['remote', remoteFilter]] as const) {
    const bad = validateTopicFilter(filter);
    if (bad !== undefined) throw new Error(`the ${side} filter ${JSON.stringify(filter)}: ${bad}`);
  }
  return { pattern, direction: dir, qos: Number(qosText) as QoS, localPrefix, remotePrefix, localFilter, remoteFilter };
}

/** The rule that sends `topic` (a local topic) out, and the topic it has at the remote. */
export function outbound(rules: readonly TopicRule[], topic: string): { rule: TopicRule; topic: string } | undefined {
  for (const rule of rules) {
    if (rule.direction === 'in' || !topic.startsWith(rule.localPrefix) || !topicMatches(rule.localFilter, topic)) continue;
    const mapped = rule.remotePrefix + topic.slice(rule.localPrefix.length);
    if (validateTopicName(mapped) === undefined) return { rule, topic: mapped };
  }
  return undefined;
}

/** The rule that brings `topic` (a remote topic) in, and the topic it has here. */
export function inbound(rules: readonly TopicRule[], topic: string): { rule: TopicRule; topic: string } | undefined {
  for (const rule of rules) {
    if (rule.direction === 'out' || !topic.startsWith(rule.remotePrefix) || !topicMatches(rule.remoteFilter, topic)) continue;
    const mapped = rule.localPrefix + topic.slice(rule.remotePrefix.length);
    if (validateTopicName(mapped) === undefined) return { rule, topic: mapped };
  }
  return undefined;
}
