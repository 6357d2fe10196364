/**
 * Where the ledger meets Redis: the one place that builds a ledger store (adapters/redis) for the
 * ledger's logic (src/ledger), for the service (`createLedger`: journal, durable ledger, reconnects)
 * and for the CLI (`withLedgerStore`: one connection for one command). src/ledger owns the store
 * interfaces (ledger/types.ts) and knows nothing of Redis; the adapter implements them.
 */
import { closeClient, connectOnce, createRedisClient, describeTarget, persistence, RedisLedgerStore, type Persistence, type RedisClient } from '../adapters/redis';
import { ConfigError } from '../config/load';
import { longestRetentionDays } from '../config/profiles';
import { logIdOf, type Config } from '../config/schema';
import { DurableLedger, Journal, MIN_KEY_LENGTH } from '../ledger';
import type { AdminStore, CheckpointStore, DeletionQueue, EvidenceStore, HoldStore } from '../ledger';
import { createLogger, safe, type Logger } from '../observability/logger';
import { systemClock, type Clock } from '../ports/clock';
import type { Ledger } from '../ports/ledger';

export interface LedgerHandle {
  ledger: Ledger;
  /** The recording deletions queued per server (erase, purge). */
  deletions: DeletionQueue;
  /** The legal holds in force (counted for /metrics). */
  holds: HoldStore;
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
  /** Listeners on the Redis client (a soak checks that they do not grow). */
  emitterListeners(): number;
  close(): Promise<void>;
}

export interface CreateLedgerOptions {
  clock?: Clock;
}

/** This instance's log of the ledger in Redis (keys under redis.keyPrefix). */
function storeOf(client: RedisClient, config: Config): RedisLedgerStore {
  return new RedisLedgerStore(client, config.redis.keyPrefix, logIdOf(config));
}

/** Refuses a pseudonym key too short to keep caller numbers out of reach. */
export function checkPseudonymKey(config: Config): void {
  if (config.secrets.pseudonymKey.length < MIN_KEY_LENGTH) {
    throw new ConfigError(
      `ledger.pseudonymKeyFile: the pseudonym key (or CONSENT_IVR_PSEUDONYM_KEY) must have at least ${MIN_KEY_LENGTH} characters, e.g. 32 random bytes in hex`,
      'ledger.pseudonymKeyFile',
    );
  }
}

/**
 * Opens the journal (taking its lock), starts connecting to Redis without waiting for it (until Redis is
 * there, writes go to the journal), and replays the journal whenever Redis is (back) up.
 */
export async function createLedger(config: Config, logger: Logger, opts: CreateLedgerOptions = {}): Promise<LedgerHandle & { durable: DurableLedger }> {
  checkPseudonymKey(config);
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
  const store = storeOf(client, config);
  const register = () => {
    store.registerLog(store.log).catch((e: Error) => logger.warn('ledger: could not register this log; will try again on reconnect', { error: safe(e.message) }));
  };
  store.onReady(register);
  if (store.isReady()) register();
  const durable = new DurableLedger(store, journal, {
    writeTimeoutMs: config.redis.writeTimeoutMs,
    // A journal entry is dropped only past the longest retention of any profile: its record may be one of that profile.
    retentionDays: longestRetentionDays(config),
    replayIntervalMs: config.ledger.replayIntervalMs,
    clock: opts.clock ?? systemClock,
    logger,
  });
  durable.start();
  let closing: Promise<void> | null = null;
  return {
    ledger: durable,
    deletions: store,
    holds: store,
    checkpoints: store,
    evidence: store,
    durable,
    state: () => durable.state(),
    persistence: () => persistence(client),
    emitterListeners: () => client.eventNames().reduce((n, k) => n + client.listenerCount(k), 0),
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

/** Connects to Redis for one command (the CLI's), gives `fn` this instance's log, and closes afterwards. */
export async function withLedgerStore<T>(config: Config, fn: (store: AdminStore) => Promise<T>): Promise<T> {
  const log = createLogger({ level: 'error', format: 'text' }, process.stderr);
  const client = createRedisClient(config.redis, log, { role: 'cli', lazy: true });
  client.on('error', () => undefined); // reported through the failing command
  try {
    try {
      await connectOnce(client, config.redis.connectTimeoutMs);
    } catch (e) {
      throw new Error(`cannot reach Redis (${describeTarget(config.redis)}): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return await fn(storeOf(client, config));
  } finally {
    await closeClient(client);
  }
}
