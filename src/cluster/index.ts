// The cluster's public face: a broker that is a member, and what configures it.

export { ClusterBroker } from './broker.js';
export { ClusterNode, type ClusterState, type ClusterStats } from './node.js';
export { ClusterRouter, type ClusterRouterStats } from './router.js';
export { Membership, type NodeInfo } from './membership.js';
export { CLUSTER_DEFAULTS, ClusterUrlError, parseRedisUrl, resolveClusterOptions, type ClusterOptions, type RedisTarget } from './config.js';
export { ClusterKeys, decodeMessage, encodeMessage } from './wire.js';
