export { redisKeyRingPublisher, type KeyRingPublisher, type RedisKeyRingPublisherOptions } from './key-ring-publisher.js';
export { followKeyRing, type FollowKeyRingOptions, type KeyRingFollower, type KeyRingFollowerState, type KeyRingRefresher } from './key-ring-follower.js';
export { DEFAULT_KEY_RING_CHANNEL, DEFAULT_REDIS_URL, type RedisTlsOptions } from './redis-connection.js';
export { redisReplayGuard, type RedisReplayGuard, type RedisReplayGuardOptions } from './replay-guard.js';
