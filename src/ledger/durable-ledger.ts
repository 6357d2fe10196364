/**
 * The Ledger port over a chain store (Redis) and the local journal.
 *
 * A write goes to the store, bounded by `writeTimeoutMs` counted from when its batch was sent to the
 * store (or, while it waits behind a batch in flight, from when that batch was sent). Time this
 * process spends busy before it gets to a reply that has already arrived does not count: a busy
 * event loop alone never sends healthy writes to the journal.
 * If the store is not connected, fails, or does not answer in time, the write goes to the journal
 * (fsync'd) instead; if that fails too, the write rejects. Journal entries are replayed into the store
 * when it is back. Every event carries a unique id that the store applies at most once, so an event
 * that reached Redis late *and* the journal, or is replayed twice, is still stored exactly once.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger';
import { safe } from '../observability/logger';
import type { Clock } from '../ports/clock';
import type { ConsentRecord, Ledger, StoredIn } from '../ports/ledger';
import { ChainAppender } from './appender';
import type { JournalEntry, JournalKind, JournalPort } from './journal';
import { parseStoredRecord, serialiseRecord, sha256Hex, validateRecord } from './record';
import { STAGE, type AppendItem, type ChainStore, type EventBody } from './types';

export interface DurableLedgerOptions {
  writeTimeoutMs: number;
  retentionDays: number;
  /** Pause between replay attempts while the journal has entries. */
  replayIntervalMs: number;
  clock: Clock;
  logger: Logger;
  /** Journal entries replayed per round. */
  replayBatch?: number;
  newId?: () => string;
}

/** An event other than a call's decision or outcome (a seal), stored in Redis only. */
export interface ChainEvent {
  item: AppendItem;
}

export interface ReplayResult {
  replayed: number;
  /** Entries not replayed because they are older than the retention period, or invalid. */
  dropped: number;
  remaining: number;
}

export const DAY_MS = 86_400_000;

/** The chain event and record write for a decision or outcome. */
export function eventFor(kind: JournalKind, record: ConsentRecord, at: string, eventId: string): AppendItem {
  const json = serialiseRecord({ ...record, erasedAt: null });
  const body: EventBody = { type: kind, at, uniqueId: record.uniqueId, outcome: record.outcome, recordDigest: sha256Hex(json) };
  return {
    eventId,
    body: JSON.stringify(body),
    record: {
      uniqueId: record.uniqueId,
      json,
      stage: STAGE[kind],
      enteredMs: Date.parse(record.enteredAt),
      callerPseudonym: record.callerPseudonym,
      callerIndex: 'add',
      ...(kind === 'decision' ? { first: true } : {}),
    },
  };
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis did not take the write within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class DurableLedger implements Ledger {
  private readonly appender: ChainAppender;
  private replaying: Promise<ReplayResult> | null = null;
  private timer: { cancel(): void } | null = null;
  private stopped = false;
  /** Set when a write missed Redis; cleared by the next write or replay that reaches it. */
  private degraded = false;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly regressionListeners: ((from: number, to: number) => void)[] = [];

  constructor(
    private readonly store: ChainStore,
    private readonly journal: JournalPort,
    private readonly opts: DurableLedgerOptions,
  ) {
    this.appender = new ChainAppender(store, {
      clock: opts.clock,
      onRegression: (from, to) => {
        opts.logger.error('ledger: the log in Redis lost entries (flushed, restarted without persistence, or rolled back); appending after what is left', {
          from,
          to,
          lost: from - to,
        });
        for (const l of this.regressionListeners) l(from, to);
      },
    });
  }

  /** Tells `fn` each time the log in Redis is found shorter than what this ledger had written to it. */
  onRegression(fn: (from: number, to: number) => void): void {
    this.regressionListeners.push(fn);
  }

  /** Appends from another writer to this log (another instance, the CLI) that made this one retry. */
  appendConflicts(): number {
    return this.appender.conflicts;
  }

  /**
   * Appends an event to the log in Redis (no journal: the caller keeps it to try again), bounded like
   * any write. Resolves once stored, or once it was already stored (same event id).
   */
  async appendEvent(item: AppendItem): Promise<void> {
    if (!this.store.isReady()) throw new Error('Redis is not connected');
    const job = this.appender.submit(item);
    const submittedAt = this.opts.clock.now().getTime();
    try {
      await this.track(this.bounded(job.done, () => job.sentAt ?? this.appender.inflightSince() ?? submittedAt));
    } catch (e) {
      job.abandon();
      throw e;
    }
  }

  /** Replays the journal whenever the store comes back, and periodically while entries are pending. */
  start(): void {
    this.store.onReady(() => {
      if (!this.stopped && this.journal.backlog() > 0) void this.replay();
    });
    this.schedule();
  }

  recordDecision(record: ConsentRecord): Promise<StoredIn> {
    return this.track(this.write('decision', record));
  }

  recordOutcome(record: ConsentRecord): Promise<StoredIn> {
    return this.track(this.write('outcome', record));
  }

  recordWithdrawal(record: ConsentRecord, eventId: string): Promise<StoredIn> {
    return this.track(this.write('withdrawal', record, eventId));
  }

  recordPause(kind: 'pause' | 'resume', record: ConsentRecord, eventId: string): Promise<StoredIn> {
    return this.track(this.write(kind, record, eventId));
  }

  async find(uniqueId: string): Promise<ConsentRecord | null> {
    if (!this.store.isReady()) return null;
    const row = await this.bounded(this.store.getRecord(uniqueId)).catch(() => null);
    // Parsed as stored: fields added since a record was written read as their defaults.
    return row ? parseStoredRecord(row.json) : null;
  }

  state(): 'up' | 'down' {
    return this.store.isReady() && !this.degraded ? 'up' : 'down';
  }

  journalBacklog(): number {
    return this.journal.backlog();
  }

  /** Replays pending journal entries into the store. Concurrent calls share one run. */
  replay(): Promise<ReplayResult> {
    if (!this.replaying) {
      this.replaying = this.track(this.replayAll()).finally(() => {
        this.replaying = null;
      });
    }
    return this.replaying;
  }

  /** Stops the timers and waits (bounded) for writes and replay in progress. */
  async close(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    const bound = new Promise<void>((resolve) => {
      const t = this.opts.clock.setTimeout(resolve, Math.max(2000, this.opts.writeTimeoutMs * 4));
      void Promise.allSettled([...this.inflight]).then(() => {
        t.cancel();
        resolve();
      });
    });
    await bound;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const remove = () => this.inflight.delete(p);
    p.then(remove, remove);
    return p;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = null;
      const run = this.journal.backlog() > 0 && this.store.isReady() ? this.replay().then(() => undefined) : Promise.resolve();
      void run.finally(() => this.schedule());
    }, this.opts.replayIntervalMs);
  }

  private async write(kind: JournalKind, record: ConsentRecord, eventId?: string): Promise<StoredIn> {
    validateRecord(record);
    const entry: JournalEntry = { id: eventId ?? (this.opts.newId ?? randomUUID)(), kind, at: this.opts.clock.now().toISOString(), record };
    if (!this.store.isReady()) return this.toJournal(entry, 'Redis is not connected');
    const job = this.appender.submit(eventFor(kind, record, entry.at, entry.id));
    const submittedAt = this.opts.clock.now().getTime();
    try {
      // Timed from when its batch (or the batch ahead of it) went to Redis, not from this call.
      await this.bounded(job.done, () => job.sentAt ?? this.appender.inflightSince() ?? submittedAt);
      this.degraded = false;
      return 'redis';
    } catch (e) {
      job.abandon(); // if it was already sent and lands anyway, the replay finds it applied
      return this.toJournal(entry, message(e));
    }
  }

  /**
   * Waits for `p` up to writeTimeoutMs counted from `since()` (by default, from this call). When the
   * timer fires, I/O that is already waiting (a reply the busy event loop has not read yet) gets its
   * turn first: the check runs in setImmediate, after Node's poll phase. `since` is read again at each
   * check, so a write still queued behind a batch in flight is timed from that batch's send.
   */
  private bounded<T>(p: Promise<T>, since?: () => number): Promise<T> {
    const ms = this.opts.writeTimeoutMs;
    const { clock } = this.opts;
    const calledAt = clock.now().getTime();
    const from = since ?? (() => calledAt);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let timer: { cancel(): void } | null = null;
      const check = () => {
        timer = null;
        setImmediate(() => {
          if (settled) return;
          const waited = clock.now().getTime() - from();
          if (waited >= ms) {
            settled = true;
            reject(new TimeoutError(ms));
          } else {
            timer = clock.setTimeout(check, ms - waited);
          }
        });
      };
      timer = clock.setTimeout(check, ms);
      p.then(
        (v) => {
          settled = true;
          timer?.cancel();
          resolve(v);
        },
        (e: unknown) => {
          settled = true;
          timer?.cancel();
          reject(e);
        },
      );
    });
  }

  private async toJournal(entry: JournalEntry, reason: string): Promise<StoredIn> {
    this.degraded = true;
    const log = { uniqueId: safe(entry.record.uniqueId), kind: entry.kind, reason: safe(reason) };
    try {
      await this.journal.append(entry);
    } catch (e) {
      this.opts.logger.error('ledger: record stored nowhere (Redis and the journal both failed)', { ...log, journalError: safe(message(e)) });
      throw new Error(`ledger: ${entry.kind} of ${entry.record.uniqueId} stored nowhere: Redis: ${reason}; journal: ${message(e)}`, { cause: e });
    }
    this.opts.logger.warn('ledger: record stored in the local journal', { ...log, backlog: this.journal.backlog() });
    return 'journal';
  }

  private async replayAll(): Promise<ReplayResult> {
    const batch = this.opts.replayBatch ?? 200;
    const result: ReplayResult = { replayed: 0, dropped: 0, remaining: this.journal.backlog() };
    const started = this.opts.clock.now().getTime();
    try {
      while (this.store.isReady()) {
        const pending = this.journal.pending().slice(0, batch);
        if (pending.length === 0) break;
        const cutoff = this.opts.clock.now().getTime() - this.opts.retentionDays * DAY_MS;
        const drop: string[] = [];
        const jobs = [];
        for (const e of pending) {
          try {
            validateRecord(e.record);
          } catch (err) {
            this.opts.logger.error('ledger: journal entry is not a valid record; dropped', { uniqueId: safe(e.record.uniqueId), problem: safe(message(err)) });
            drop.push(e.id);
            continue;
          }
          if (Date.parse(e.record.enteredAt) < cutoff) {
            this.opts.logger.warn('ledger: journal entry older than the retention period; dropped', { uniqueId: safe(e.record.uniqueId) });
            drop.push(e.id);
            continue;
          }
          jobs.push({ id: e.id, job: this.appender.submit(eventFor(e.kind, e.record, e.at, e.id)) });
        }
        await Promise.all(jobs.map((j) => j.job.done));
        await this.journal.ack([...drop, ...jobs.map((j) => j.id)]);
        result.replayed += jobs.length;
        result.dropped += drop.length;
      }
      if (this.journal.backlog() === 0) {
        this.degraded = false;
        await this.journal.compact();
      }
    } catch (e) {
      this.opts.logger.warn('ledger: journal replay interrupted; will retry', { error: safe(message(e)), backlog: this.journal.backlog() });
    }
    result.remaining = this.journal.backlog();
    if (result.replayed + result.dropped > 0) {
      this.opts.logger.info('ledger: journal replayed', { ...result, ms: this.opts.clock.now().getTime() - started });
    }
    return result;
  }
}
