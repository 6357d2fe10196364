/**
 * Reading the ledger for its maintenance operations (listing, export, verification, erasure, purge):
 * the context they share, and records listed by time over every log, in chunks, so memory stays
 * bounded however large the ledger is.
 */
import { DEFAULT_PROFILE, type Outcome } from '../domain/vocabulary';
import { parseStoredRecord } from './record';
import type { AdminStore, RecordRow, StoredRecord } from './types';

export interface AdminContext {
  store: AdminStore;
  now: () => Date;
  /** This server (server.id): recordings held by another server are queued for it to delete. */
  serverId: string;
  /** Recording files are deleted only under this directory (recording.dir). */
  recordingDir: string;
  /**
   * Days the default profile's records are kept (ledger.retentionDays); they are also the retention of
   * records that name no profile (made before profiles) and of those whose profile is not in
   * `profileRetention` (a profile since removed from the configuration).
   */
  retentionDays: number;
  /** Days each campaign profile's records are kept (profiles.<name>.ledger.retentionDays), by profile name. */
  profileRetention?: Readonly<Record<string, number>>;
  pseudonymKey: string;
  /** Items per Redis round trip. */
  chunk: number;
  /** Called as work progresses (count of items done so far). */
  progress?: (done: number) => void;
  newId?: () => string;
}

/** Defaults for the tunables of AdminContext. */
export const adminContextDefaults = { chunk: 500 } as const;

export class AdminUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminUsageError';
  }
}

// ---------------------------------------------------------------------------------------------- list

export interface RecordFilter {
  fromMs: number;
  toMs: number;
  outcome?: Outcome | undefined;
  /** Only this campaign profile's records; `default` includes the records that name none (made before profiles). */
  profile?: string | undefined;
}

/** Whether a record is kept by the filter's outcome and profile (its time was the store's to select). */
function kept(filter: RecordFilter, r: StoredRecord): boolean {
  if (filter.outcome && r.outcome !== filter.outcome) return false;
  return filter.profile === undefined || (r.profile ?? DEFAULT_PROFILE) === filter.profile;
}

/** One log's records in order of entry, one at a time, read a chunk ahead. */
class LogCursor {
  private buf: StoredRecord[] = [];
  private readonly it: AsyncIterator<RecordRow[]>;
  private ended = false;
  constructor(store: AdminStore, fromMs: number, toMs: number, chunk: number) {
    this.it = store.recordsByTime(fromMs, toMs, chunk)[Symbol.asyncIterator]();
  }
  async peek(): Promise<StoredRecord | null> {
    while (this.buf.length === 0 && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else this.buf = r.value.map((row) => parseStoredRecord(row.json));
    }
    return this.buf[0] ?? null;
  }
  take(): void {
    this.buf.shift();
  }
}

function entryOrder(a: StoredRecord, b: StoredRecord): number {
  return Date.parse(a.enteredAt) - Date.parse(b.enteredAt) || (a.uniqueId < b.uniqueId ? -1 : a.uniqueId > b.uniqueId ? 1 : 0);
}

/**
 * Records entered in [fromMs, toMs) in every log, oldest first, in chunks (one chunk per log in memory),
 * with the filter's outcome and profile only. Progress counts the records read, kept or not.
 */
export async function* listRecords(ctx: AdminContext, filter: RecordFilter): AsyncGenerator<StoredRecord[]> {
  const cursors = (await ctx.store.logs()).map((log) => new LogCursor(ctx.store.forLog(log), filter.fromMs, filter.toMs, ctx.chunk));
  let done = 0;
  let out: StoredRecord[] = [];
  for (;;) {
    let best: { c: LogCursor; r: StoredRecord } | null = null;
    for (const c of cursors) {
      const r = await c.peek();
      if (r && (!best || entryOrder(r, best.r) < 0)) best = { c, r };
    }
    if (!best) break;
    best.c.take();
    done += 1;
    if (kept(filter, best.r)) out.push(best.r);
    if (done % ctx.chunk === 0) {
      ctx.progress?.(done);
      if (out.length > 0) yield out;
      out = [];
    }
  }
  ctx.progress?.(done);
  if (out.length > 0) yield out;
}

/** A call's record and the log it is in, looked for in every log. */
export async function findRecord(store: AdminStore, uniqueId: string): Promise<{ log: AdminStore; row: RecordRow } | null> {
  const own = await store.getRecord(uniqueId);
  if (own) return { log: store, row: own };
  for (const name of await store.logs()) {
    if (name === store.log) continue;
    const log = store.forLog(name);
    const row = await log.getRecord(uniqueId);
    if (row) return { log, row };
  }
  return null;
}
