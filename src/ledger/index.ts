/**
 * The consent ledger: `createLedger` wires Redis (adapters/redis), the local journal and the durable
 * ledger for the app; `pseudonymise` turns a caller number into the pseudonym the records carry.
 */
import { closeClient, createRedisClient, persistence, RedisLedgerStore, type Persistence } from '../adapters/redis';
import { ConfigError } from '../config/load';
import { logIdOf, type Config } from '../config/schema';
import type { Logger } from '../logging/logger';
import { safe } from '../logging/logger';
import { systemClock, type Clock } from '../ports/clock';
import type { Ledger } from '../ports/ledger';
import { DurableLedger } from './durable-ledger';
import { Journal } from './journal';
import type { CheckpointStore, DeletionQueue, EvidenceStore } from './types';
import { MIN_KEY_LENGTH } from './pseudonym';

export { pseudonymise, normaliseNumber, ANONYMOUS, MIN_KEY_LENGTH } from './pseudonym';
export { DAY_MS, DurableLedger, type ReplayResult } from './durable-ledger';
export type { StoredRecord } from './types';

export interface LedgerHandle {
  ledger: Ledger;
  /** The recording deletions queued per server (erase, purge). */
  deletions: DeletionQueue;
  /** This instance's log, as the checkpointer reads it. */
  checkpoints: CheckpointStore;
  /** Notices and recordings waiting for their seal. */
  evidence: EvidenceStore;
  /** 'up' when Redis is connected and the last write reached it; 'down' otherwise (writes go to the journal). */
  state(): 'up' | 'down';
  /** Journal entries not yet replayed into Redis. */
  journalBacklog(): number;
  /** Runs `fn` whenever Redis becomes ready (and now, if it is). */
  onReady(fn: () => void): void;
  /** How Redis keeps data across a restart. */
  persistence(): Promise<Persistence>;
  close(): Promise<void>;
}

export interface CreateLedgerOptions {
  clock?: Clock;
}

/**
 * Opens the journal (taking its lock), starts connecting to Redis without waiting for it (until Redis is
 * there, writes go to the journal), and replays the journal whenever Redis is (back) up.
 */
export async function createLedger(config: Config, logger: Logger, opts: CreateLedgerOptions = {}): Promise<LedgerHandle & { durable: DurableLedger }> {
  if (config.secrets.pseudonymKey.length < MIN_KEY_LENGTH) {
    throw new ConfigError(
      `ledger.pseudonymKeyFile: the pseudonym key (or CONSENT_IVR_PSEUDONYM_KEY) must have at least ${MIN_KEY_LENGTH} characters, e.g. 32 random bytes in hex`,
      'ledger.pseudonymKeyFile',
    );
  }
  const journal = await Journal.open(config.ledger.journalPath);
  for (const w of journal.warnings) logger.warn('ledger: journal line skipped', { line: w.line, problem: w.problem });
  if (journal.backlog() > 0) logger.warn('ledger: journal has entries to replay', { backlog: journal.backlog() });
  let client;
  try {
    client = createRedisClient(config.redis, logger, { role: 'app' });
  } catch (e) {
    await journal.close();
    throw e;
  }
  const log = logIdOf(config);
  const store = new RedisLedgerStore(client, config.redis.keyPrefix, log);
  const register = () => {
    store.registerLog(log).catch((e: Error) => logger.warn('ledger: could not register this log; will try again on reconnect', { error: safe(e.message) }));
  };
  store.onReady(register);
  if (store.isReady()) register();
  const durable = new DurableLedger(store, journal, {
    writeTimeoutMs: config.redis.writeTimeoutMs,
    retentionDays: config.ledger.retentionDays,
    replayIntervalMs: config.ledger.replayIntervalMs,
    clock: opts.clock ?? systemClock,
    logger,
  });
  durable.start();
  let closing: Promise<void> | null = null;
  return {
    ledger: durable,
    deletions: store,
    checkpoints: store,
    evidence: store,
    durable,
    state: () => durable.state(),
    persistence: () => persistence(client),
    onReady: (fn) => {
      store.onReady(fn);
      if (store.isReady()) fn();
    },
    journalBacklog: () => durable.journalBacklog(),
    close: () => {
      closing ??= (async () => {
        await durable.close();
        await closeClient(client);
        await journal.close();
        if (journal.backlog() > 0) logger.warn('ledger: closed with journal entries still to replay', { backlog: journal.backlog(), journal: safe(journal.path) });
      })();
      return closing;
    },
  };
}
