/**
 * The Redis ledger store keeps the store contract (test/contract/ledger-store.ts) that the in-memory
 * store of the unit tests keeps too. A redis-server of this file's own (never the sandbox's); each test
 * gets a fresh key prefix.
 */
import { Writable } from 'node:stream';
import { closeClient, connectOnce, createRedisClient, RedisLedgerStore, type RedisClient } from '../../src/adapters/redis';
import { configSchema } from '../../src/config/schema';
import { createLogger } from '../../src/observability/logger';
import { ledgerStoreContract } from '../contract/ledger-store';
import { RedisServer } from '../support';

let server: RedisServer;
let client: RedisClient;
let n = 0;

beforeAll(async () => {
  server = await RedisServer.start();
  const quiet = createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));
  client = createRedisClient(configSchema.shape.redis.parse({ url: server.url }), quiet, { role: 'cli', lazy: true });
  await connectOnce(client, 5000);
});

afterAll(async () => {
  await closeClient(client);
  await server.destroy();
});

ledgerStoreContract('Redis', () => new RedisLedgerStore(client, `contract-${process.pid}-${++n}:`, 'pbx-1'), {
  forgetLink: async (store, uniqueId) => {
    await client.call('HDEL', (store as RedisLedgerStore).keys.record(uniqueId), 'last');
  },
});
