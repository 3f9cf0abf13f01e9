// Topic names, topic filters, shared subscriptions and the subscription index.

export { MAX_TOPIC_BYTES, validateTopicFilter, validateTopicName } from './validate.js';
export type { TopicLimits } from './validate.js';
export { SHARE_PREFIX, parseSharedFilter } from './shared.js';
export type { SharedFilter } from './shared.js';
export { topicMatches } from './match.js';
export { MatchResult } from './match-result.js';
export type { MatchVisitor, SharedGroup, SharedMember, Subscription } from './match-result.js';
export { SubscriptionIndex } from './subscription-index.js';
