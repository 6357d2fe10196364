export { createRedisClient, connectOnce, closeClient, describeTarget, persistence, redactUrl, redisTimeMs, RedisConfigError, type Persistence, type RedisClient, type RedisSettings } from './client';
export { logKeys, sharedKeys, logBase, type LogKeys, type SharedKeys } from './keys';
export { RedisLedgerStore } from './ledger-store';
