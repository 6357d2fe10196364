/**
 * The ledger's maintenance operations (behind `consent-ivr ledger …`): listing, verification, erasure
 * on request and purge after the retention period. They work on any AdminStore, in chunks, so memory
 * stays bounded however large the ledger is. Recording files are deleted only inside `recordingDir`.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import type { Outcome } from '../flow/types';
import { ChainAppender } from './appender';
import { ChainVerifier, type VerifyResult } from './chain';
import { isAnonymous, pseudonymise } from './pseudonym';
import { eraseRecord, parseStoredRecord, serialiseRecord, sha256Hex } from './record';
import {
  STAGE,
  type AdminStore,
  type AppendItem,
  type ChainHead,
  type DeletionReason,
  type EventBody,
  type PendingDeletion,
  type RecordingFateNote,
  type StoredRecord,
  type TrimRequest,
} from './types';

const DAY_MS = 86_400_000;

export interface AdminContext {
  store: AdminStore;
  now: () => Date;
  /** This server (server.id): recordings held by another server are queued for it to delete. */
  serverId: string;
  /** Recording files are deleted only under this directory (recording.dir). */
  recordingDir: string;
  retentionDays: number;
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

function errText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code ?? (e instanceof Error ? e.message : String(e));
}

// ---------------------------------------------------------------------------------------------- list

export interface RecordFilter {
  fromMs: number;
  toMs: number;
  outcome?: Outcome | undefined;
}

/** Records entered in [fromMs, toMs), oldest first, in chunks. */
export async function* listRecords(ctx: AdminContext, filter: RecordFilter): AsyncGenerator<StoredRecord[]> {
  let done = 0;
  for await (const rows of ctx.store.recordsByTime(filter.fromMs, filter.toMs, ctx.chunk)) {
    const recs = rows.map((r) => parseStoredRecord(r.json)).filter((r) => !filter.outcome || r.outcome === filter.outcome);
    done += rows.length;
    ctx.progress?.(done);
    if (recs.length > 0) yield recs;
  }
}

// --------------------------------------------------------------------------------------- recordings

export type RemoveResult = { ok: true; deleted: boolean } | { ok: false; error: string };

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Deletes a recording file. A missing file is fine; a path outside the recording directory (after
 * resolving symbolic links of its folder) is refused, so a tampered record cannot delete other files.
 */
export async function removeRecording(path: string, recordingDir: string): Promise<RemoveResult> {
  const root = await fsp.realpath(resolve(recordingDir)).catch(() => resolve(recordingDir));
  const target = resolve(path);
  let folder: string;
  try {
    folder = await fsp.realpath(dirname(target));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, deleted: false };
    return { ok: false, error: errText(e) };
  }
  const real = resolve(folder, target.slice(dirname(target).length + 1));
  if (!within(real, root)) return { ok: false, error: `outside recording.dir (${recordingDir}); not deleted` };
  try {
    await fsp.unlink(real);
    return { ok: true, deleted: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, deleted: false };
    return { ok: false, error: errText(e) };
  }
}

export interface Failure {
  uniqueId: string;
  path: string;
  error: string;
}

// ------------------------------------------------------------------------------------------- erase

export interface EraseReport {
  records: number;
  recordingsDeleted: number;
  /** Recordings that were already gone when their server came to delete them. */
  recordingsMissing: number;
  failures: Failure[];
  /** Records left as they are until the server holding their recording confirms its deletion: server → count. */
  waiting: Record<string, number>;
}

const emptyErase = (): EraseReport => ({ records: 0, recordingsDeleted: 0, recordingsMissing: 0, failures: [], waiting: {} });

export const waitingTotal = (w: Record<string, number>): number => Object.values(w).reduce((a, b) => a + b, 0);

/** What becomes of a record's recording when the record is erased or purged. */
type RecordingFate =
  | { kind: 'gone'; note: RecordingFateNote; confirmedBy: string | null }
  | { kind: 'waiting'; server: string }
  | { kind: 'failed'; error: string };

/**
 * Deletes a record's recording when this server holds it (or the record predates server ids). One
 * held by another server is that server's work: its deletion is queued for it, and the recording
 * counts as gone only once that server confirmed it.
 */
async function recordingFate(ctx: AdminContext, rec: StoredRecord, reason: DeletionReason): Promise<RecordingFate> {
  if (!rec.recordingPath) return { kind: 'gone', note: 'none', confirmedBy: null };
  const server = rec.recordingServer;
  if (server === null || server === ctx.serverId) {
    const r = await removeRecording(rec.recordingPath, ctx.recordingDir);
    if (!r.ok) return { kind: 'failed', error: r.error };
    return { kind: 'gone', note: r.deleted ? 'deleted' : 'already-missing', confirmedBy: null };
  }
  const [confirmed] = await ctx.store.deletionConfirmations([rec.uniqueId]);
  if (confirmed) return { kind: 'gone', note: confirmed.result === 'deleted' ? 'deleted' : 'already-missing', confirmedBy: confirmed.server };
  await ctx.store.queueDeletion(server, { uniqueId: rec.uniqueId, path: rec.recordingPath, reason, requestedAt: ctx.now().getTime() });
  return { kind: 'waiting', server };
}

/** Counts a recording's fate in a report; true when its record may be finalised. */
function tally(report: EraseReport | PurgeReport, rec: StoredRecord, fate: RecordingFate): boolean {
  if (fate.kind === 'failed') {
    report.failures.push({ uniqueId: rec.uniqueId, path: rec.recordingPath ?? '', error: fate.error });
    return false;
  }
  if (fate.kind === 'waiting') {
    report.waiting[fate.server] = (report.waiting[fate.server] ?? 0) + 1;
    return false;
  }
  if (fate.note === 'deleted') report.recordingsDeleted += 1;
  if (fate.note === 'already-missing') report.recordingsMissing += 1;
  return true;
}

function recordEvent(
  type: 'erasure',
  r: StoredRecord,
  json: string,
  at: string,
  eventId: string,
  pseudonym: string,
  fate: { note: RecordingFateNote; confirmedBy: string | null },
): AppendItem {
  const body: EventBody = { type, at, uniqueId: r.uniqueId, outcome: r.outcome, recordDigest: sha256Hex(json), recording: fate.note };
  if (fate.confirmedBy) body.confirmedBy = fate.confirmedBy;
  return {
    eventId,
    body: JSON.stringify(body),
    record: { uniqueId: r.uniqueId, json, stage: STAGE.erasure, enteredMs: Date.parse(r.enteredAt), callerPseudonym: pseudonym, callerIndex: 'remove' },
  };
}

/**
 * Erases the records indexed under a caller that `select` picks: deletes each one's recording, then
 * stores it with the personal fields removed and logs an erasure entry in the chain. A record whose
 * recording cannot be deleted is left untouched and reported.
 */
async function eraseIndexed(
  ctx: AdminContext,
  appender: ChainAppender,
  pseudonym: string,
  select: (rec: StoredRecord) => boolean,
  report: EraseReport,
): Promise<void> {
  const newId = ctx.newId ?? randomUUID;
  for await (const ids of ctx.store.callerRecordIds(pseudonym, ctx.chunk)) {
    const rows = await ctx.store.getRecords(ids);
    const jobs = [];
    const confirmed: string[] = [];
    for (const row of rows) {
      if (!row) continue;
      const rec = parseStoredRecord(row.json);
      if (rec.callerPseudonym !== pseudonym || !select(rec)) continue; // stale index entry, or not asked for
      const fate = await recordingFate(ctx, rec, 'erase');
      if (!tally(report, rec, fate) || fate.kind !== 'gone') continue; // kept: tried again by the next erase or purge
      if (fate.confirmedBy) confirmed.push(rec.uniqueId);
      const at = ctx.now();
      const erased = eraseRecord(rec, at);
      jobs.push(appender.submit(recordEvent('erasure', erased, serialiseRecord(erased), at.toISOString(), newId(), pseudonym, fate)).done);
    }
    await Promise.all(jobs);
    await ctx.store.forgetConfirmations(confirmed);
    report.records += jobs.length;
    ctx.progress?.(report.records);
  }
}

/**
 * Erases a caller: deletes their recordings and removes the personal fields (pseudonym, recording path)
 * from their records, which stay with `erasedAt` set. Each erased record and the request itself are
 * logged in the chain. A record whose recording cannot be deleted is left untouched and reported.
 * The request is remembered (until the retention period has passed) so that the purge also erases
 * records of this caller decided before it that reach the ledger only later, from a service's journal.
 */
export async function eraseCaller(ctx: AdminContext, number: string): Promise<EraseReport> {
  if (isAnonymous(number)) throw new AdminUsageError('--caller: an anonymous or empty number matches every withheld caller; erase needs a real number');
  const pseudonym = pseudonymise(number, ctx.pseudonymKey);
  const report = emptyErase();
  const appender = new ChainAppender(ctx.store);
  // First, so that a record arriving while this runs is caught by the next purge.
  await ctx.store.markErased(pseudonym, ctx.now().getTime());
  await eraseIndexed(ctx, appender, pseudonym, () => true, report);
  const body: EventBody = {
    type: 'erasure-request',
    at: ctx.now().toISOString(),
    records: report.records,
    recordingsDeleted: report.recordingsDeleted,
    failures: report.failures.length,
    waiting: waitingTotal(report.waiting),
  };
  await appender.submit({ eventId: (ctx.newId ?? randomUUID)(), body: JSON.stringify(body), record: null }).done;
  return report;
}

/** When a record was decided (or, never decided, entered): what an erasure request is compared with. */
function decisionMs(rec: StoredRecord): number {
  return Date.parse(rec.decidedAt ?? rec.enteredAt);
}

/**
 * Erases the records that reached the ledger after their caller's erasure although decided before it
 * (kept in a service's journal while Redis was away). A later consent of the same caller is a new
 * one and stays. Requests older than the retention period are forgotten: no record they could
 * concern can still arrive (the journal drops such entries) or remain (the purge deleted them).
 */
async function completeErasures(ctx: AdminContext, appender: ChainAppender, cutoffMs: number): Promise<EraseReport> {
  const report = emptyErase();
  const quiet = { ...ctx, progress: undefined }; // the purge's progress counts purged records
  const expired: string[] = [];
  for (const [pseudonym, atMs] of await ctx.store.erasureMarks()) {
    if (atMs < cutoffMs) {
      expired.push(pseudonym);
      continue;
    }
    await eraseIndexed(quiet, appender, pseudonym, (rec) => decisionMs(rec) <= atMs, report);
  }
  await ctx.store.forgetErasures(expired);
  return report;
}

// ---------------------------------------------------------------------------------------- pending

export interface PendingServer {
  server: string;
  count: number;
  /** Age of the oldest deletion waiting (ms), or null when none waits. */
  oldestAgeMs: number | null;
  deletions: PendingDeletion[];
}

/** Recording deletions still waiting for the server that holds them, per server, oldest first. */
export async function pendingByServer(ctx: AdminContext): Promise<PendingServer[]> {
  const now = ctx.now().getTime();
  const out: PendingServer[] = [];
  for (const server of await ctx.store.deletionServers()) {
    const deletions = await ctx.store.pendingDeletions(server);
    out.push({ server, count: deletions.length, oldestAgeMs: deletions[0] ? now - deletions[0].requestedAt : null, deletions });
  }
  return out;
}

// ------------------------------------------------------------------------------------------- purge

export interface PurgeReport {
  /** Set when another purge holds the lock (nothing was done). */
  skipped: string | null;
  cutoff: string;
  records: number;
  recordingsDeleted: number;
  recordingsMissing: number;
  failures: Failure[];
  /** Records kept until the server holding their recording confirms its deletion: server → count. */
  waiting: Record<string, number>;
  trimmedTo: ChainHead | null;
  /** Records of erased callers that arrived after the erasure (from a journal), erased now. */
  lateErasures: EraseReport;
}

/** Entries at the start of the chain that are all older than the cutoff (the last one of them). */
async function trimTarget(store: AdminStore, cutoffMs: number, chunk: number): Promise<ChainHead | null> {
  let target: ChainHead | null = null;
  for await (const { entries } of store.chain(chunk)) {
    for (const e of entries) {
      let at: number;
      try {
        at = Date.parse(String((JSON.parse(e.body) as { at?: unknown }).at));
      } catch {
        at = NaN; // unparsable body: stop trimming here
      }
      if (!(at < cutoffMs)) return target;
      target = { seq: e.seq, hash: e.hash };
    }
  }
  return target;
}

/**
 * Deletes records entered before now − retentionDays and their recordings, trims the start of the
 * chain that is older than that, and logs the purge in the chain. Idempotent; safe to run from several
 * hosts (one runs at a time, the others return at once).
 */
export async function purgeLedger(ctx: AdminContext): Promise<PurgeReport> {
  const cutoffMs = ctx.now().getTime() - ctx.retentionDays * DAY_MS;
  const report: PurgeReport = {
    skipped: null,
    cutoff: new Date(cutoffMs).toISOString(),
    records: 0,
    recordingsDeleted: 0,
    recordingsMissing: 0,
    failures: [],
    waiting: {},
    trimmedTo: null,
    lateErasures: emptyErase(),
  };
  const release = await ctx.store.lock('purge', 15 * 60_000);
  if (!release) {
    report.skipped = 'another purge is running';
    return report;
  }
  try {
    let kept = 0;
    for (;;) {
      const batch = await ctx.store.recordsBefore(cutoffMs, kept, ctx.chunk);
      if (batch.length === 0) break;
      const remove: { uniqueId: string; callerPseudonym: string }[] = [];
      const confirmed: string[] = [];
      let records = 0;
      for (const { uniqueId, row } of batch) {
        if (!row) {
          remove.push({ uniqueId, callerPseudonym: '' }); // index entry without its record
          continue;
        }
        const rec = parseStoredRecord(row.json);
        const fate = await recordingFate(ctx, rec, 'purge');
        if (!tally(report, rec, fate)) {
          kept += 1; // stays, to be tried again next time
          continue;
        }
        if (fate.kind === 'gone' && fate.confirmedBy) confirmed.push(uniqueId);
        remove.push({ uniqueId, callerPseudonym: rec.callerPseudonym });
        records += 1;
      }
      await ctx.store.deleteRecords(remove);
      await ctx.store.forgetConfirmations(confirmed);
      report.records += records;
      ctx.progress?.(report.records);
    }
    const appender = new ChainAppender(ctx.store);
    report.lateErasures = await completeErasures(ctx, appender, cutoffMs);
    const target = await trimTarget(ctx.store, cutoffMs, ctx.chunk);
    const anchor = await currentAnchor(ctx.store);
    const trim: TrimRequest | undefined = target && (!anchor || target.seq > anchor.seq) ? target : undefined;
    report.trimmedTo = trim ?? null;
    const body: EventBody = {
      type: 'purge',
      at: ctx.now().toISOString(),
      cutoff: report.cutoff,
      records: report.records,
      recordingsDeleted: report.recordingsDeleted,
      failures: report.failures.length,
      waiting: waitingTotal(report.waiting),
      trimmedTo: report.trimmedTo,
    };
    await appender.submit({ eventId: (ctx.newId ?? randomUUID)(), body: JSON.stringify(body), record: null }, trim).done;
    return report;
  } finally {
    await release();
  }
}

async function currentAnchor(store: AdminStore): Promise<ChainHead | null> {
  for await (const { anchor } of store.chain(1)) return anchor;
  return null;
}

// ------------------------------------------------------------------------------------------ verify

export interface RecordProblem {
  uniqueId: string;
  seq: number | null;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  chain: VerifyResult;
  records: { checked: number; unverifiable: number; problem: RecordProblem | null };
}

/**
 * Verifies the ledger:
 * 1. walks the chain from its anchor and reports the first edited, deleted or reordered entry, and
 *    checks that the records its entries name still exist (unless old enough to have been purged);
 * 2. checks every record against the chain entry that wrote it (digest of its stored JSON), so an edited
 *    record is caught too.
 */
export async function verifyLedger(ctx: AdminContext): Promise<VerifyReport> {
  let verifier: ChainVerifier | null = null;
  let recordProblem: RecordProblem | null = null;
  const graceMs = ctx.now().getTime() - ctx.retentionDays * DAY_MS + DAY_MS;
  let walked = 0;
  for await (const { anchor, entries } of ctx.store.chain(ctx.chunk)) {
    verifier ??= new ChainVerifier(anchor);
    verifier.feed(entries);
    walked += entries.length;
    ctx.progress?.(walked);
    if (recordProblem || verifier.broken) continue;
    const refs: { uniqueId: string; seq: number }[] = [];
    for (const e of entries) {
      try {
        const b = JSON.parse(e.body) as { type?: unknown; uniqueId?: unknown; at?: unknown };
        const named = ['decision', 'outcome', 'withdrawal', 'pause', 'resume', 'erasure'].includes(String(b.type));
        if (named && typeof b.uniqueId === 'string' && Date.parse(String(b.at)) >= graceMs) refs.push({ uniqueId: b.uniqueId, seq: e.seq });
      } catch {
        // an unparsable body cannot name a record; the chain check covers the entry itself
      }
    }
    const rows = await ctx.store.getRecords(refs.map((r) => r.uniqueId));
    const missing = refs.findIndex((_, i) => rows[i] === null);
    const ref = refs[missing];
    if (ref) {
      recordProblem = { uniqueId: ref.uniqueId, seq: ref.seq, message: `record ${ref.uniqueId} (named by chain entry seq ${ref.seq}) is missing: deleted outside erase/purge` };
    }
  }
  const chain = (verifier ?? new ChainVerifier(null)).finish(await ctx.store.chainInfo());

  let checked = 0;
  let unverifiable = 0;
  const anchorSeq = chain.anchor?.seq ?? 0;
  const headSeq = chain.head?.seq ?? 0;
  if (!recordProblem) {
    outer: for await (const rows of ctx.store.recordsByTime(-Infinity, Infinity, ctx.chunk)) {
      const inRange = rows.filter((r) => r.seq > anchorSeq);
      unverifiable += rows.length - inRange.length;
      const entries = await ctx.store.chainEntries(inRange.map((r) => r.seq));
      for (let i = 0; i < inRange.length; i++) {
        const row = inRange[i];
        if (!row) continue;
        const e = entries[i];
        let problem: string | null = null;
        if (!e) problem = row.seq > headSeq ? `points to chain entry seq ${row.seq}, past the end of the chain` : `its chain entry seq ${row.seq} is missing`;
        else {
          let b: { uniqueId?: unknown; recordDigest?: unknown } = {};
          try {
            b = JSON.parse(e.body) as typeof b;
          } catch {
            b = {};
          }
          if (b.uniqueId !== row.uniqueId) problem = `its chain entry seq ${row.seq} is about another call`;
          else if (b.recordDigest !== sha256Hex(row.json)) problem = `its content differs from what chain entry seq ${row.seq} recorded: the record was edited`;
        }
        if (problem) {
          recordProblem = { uniqueId: row.uniqueId, seq: row.seq, message: `record ${row.uniqueId}: ${problem}` };
          break outer;
        }
        checked += 1;
      }
    }
  }
  return { ok: chain.ok && recordProblem === null, chain, records: { checked, unverifiable, problem: recordProblem } };
}
