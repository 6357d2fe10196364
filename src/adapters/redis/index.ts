export { createRedisClient, connectOnce, closeClient, describeTarget, redactUrl, RedisConfigError, type RedisClient, type RedisSettings } from './client';
export { ledgerKeys, type LedgerKeys } from './keys';
export { RedisLedgerStore } from './ledger-store';
