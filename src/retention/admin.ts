/**
 * Erasure on request (behind `consent-ivr ledger erase|pending`), and what the purge (purge.ts) shares
 * with it: the fate of a record's recording, its tally, the erasure of a caller's indexed records. They
 * work on any AdminStore, in chunks, so memory stays bounded however large the ledger is. Recording
 * files are deleted only inside `recordingDir` (recording-files.ts), or queued for the server holding them.
 * A record under a legal hold is never erased (hold-guard.ts); an erase that would reach one is refused
 * before anything changes, unless told to override the holds (logged, holds.ts).
 */
import { randomUUID } from 'node:crypto';
import { AdminUsageError, type ChainAppender, type AdminContext, isAnonymous, pseudonymise, eraseRecord, parseStoredRecord, serialiseRecord, sha256Hex, STAGE, type AdminStore, type AppendItem, type DeletionReason, type EventBody, type PendingDeletion, type RecordingFateNote, type StoredRecord } from '../ledger';
import type { MalformedEntry } from '../ledger';
import { HoldGuard, type HeldReport } from './hold-guard';
import { holdReason, holdsOnCaller, HeldRefusal, releaseOverridden } from './holds';
import { LogWriters } from './log-writers';
import { removeRecording } from './recording-files';

export { LogWriters } from './log-writers';

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
  /** Records left as they are under a legal hold (not one overridden), per hold. */
  held: HeldReport[];
  /** The holds an erase went past (--override-hold), and whether it released them (all they covered erased). */
  overridden: { hold: string; reason: string; released: boolean }[];
}

export const emptyErase = (): EraseReport => ({ records: 0, recordingsDeleted: 0, recordingsMissing: 0, failures: [], waiting: {}, held: [], overridden: [] });

export const waitingTotal = (w: Record<string, number>): number => Object.values(w).reduce((a, b) => a + b, 0);

/** What becomes of a record's recording when the record is erased or purged. */
export type RecordingFate =
  | { kind: 'gone'; note: RecordingFateNote; confirmedBy: string | null; keyDestroyed?: boolean }
  | { kind: 'waiting'; server: string }
  | { kind: 'failed'; error: string };

/**
 * Destroys the key of a record's encrypted recording (ledger, Redis) and deletes the recording when
 * this server holds it (or the record predates server ids). One
 * held by another server is that server's work: its deletion is queued for it, and the recording
 * counts as gone only once that server confirmed it.
 */
export async function recordingFate(ctx: AdminContext, rec: StoredRecord, reason: DeletionReason): Promise<RecordingFate> {
  // Crypto-erasure first, whoever holds the file: without its key no copy of it opens, anywhere.
  const keyDestroyed = await ctx.store.destroyRecordingKey(rec.uniqueId, ctx.now().getTime(), reason === 'erase');
  const file = rec.recording?.file;
  if (!file) return { kind: 'gone', note: 'none', confirmedBy: null, keyDestroyed };
  const server = file.server;
  if (server === null || server === ctx.serverId) {
    const r = await removeRecording(file.path, ctx.recordingDir);
    if (!r.ok) return { kind: 'failed', error: r.error };
    return { kind: 'gone', note: r.deleted ? 'deleted' : 'already-missing', confirmedBy: null, keyDestroyed };
  }
  const [confirmed] = await ctx.store.deletionConfirmations([rec.uniqueId]);
  if (confirmed) return { kind: 'gone', note: confirmed.result === 'deleted' ? 'deleted' : 'already-missing', confirmedBy: confirmed.server, keyDestroyed };
  await ctx.store.queueDeletion(server, { uniqueId: rec.uniqueId, path: file.path, reason, requestedAt: ctx.now().getTime() });
  return { kind: 'waiting', server };
}

/** What an erase or a purge counts of the recordings it came to. */
export type RecordingTally = Pick<EraseReport, 'recordingsDeleted' | 'recordingsMissing' | 'failures' | 'waiting'>;

/** Counts a recording's fate in a report; true when its record may be finalised. */
export function tally(report: RecordingTally, rec: StoredRecord, fate: RecordingFate): boolean {
  if (fate.kind === 'failed') {
    report.failures.push({ uniqueId: rec.uniqueId, path: rec.recording?.file?.path ?? '', error: fate.error });
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
  fate: { note: RecordingFateNote; confirmedBy: string | null; keyDestroyed?: boolean },
): AppendItem {
  const body: EventBody = { type, at, uniqueId: r.uniqueId, outcome: r.outcome, recordDigest: sha256Hex(json), recording: fate.note };
  if (fate.confirmedBy) body.confirmedBy = fate.confirmedBy;
  // The key of its encrypted recording was destroyed: no copy of the file opens any more.
  if (fate.keyDestroyed) body.recordingKey = 'destroyed';
  return {
    eventId,
    body: JSON.stringify(body),
    record: { uniqueId: r.uniqueId, json, stage: STAGE.erasure, enteredMs: Date.parse(r.enteredAt), callerPseudonym: pseudonym, callerIndex: 'remove' },
  };
}

/**
 * Erases the records indexed under a caller that `select` picks: deletes each one's recording, then
 * stores it with the personal fields removed and logs an erasure entry in the chain. A record whose
 * recording cannot be deleted is left untouched and reported; so is one that `guard` says is held (its
 * recording is not touched), the holds being read again for each chunk.
 */
export async function eraseIndexed(
  ctx: AdminContext,
  logs: LogWriters,
  pseudonym: string,
  select: (rec: StoredRecord) => boolean,
  report: EraseReport,
  guard: HoldGuard,
  erased?: Map<string, string[]>,
): Promise<void> {
  for (const name of await ctx.store.logs()) {
    const ids: string[] = [];
    await eraseInLog(ctx, logs.of(name), pseudonym, select, report, guard, ids);
    if (ids.length > 0) erased?.set(name, ids);
  }
  report.held = guard.report();
}

async function eraseInLog(
  ctx: AdminContext,
  { store, appender }: { store: AdminStore; appender: ChainAppender },
  pseudonym: string,
  select: (rec: StoredRecord) => boolean,
  report: EraseReport,
  guard: HoldGuard,
  erasedIds: string[],
): Promise<void> {
  const newId = ctx.newId ?? randomUUID;
  for await (const ids of store.callerRecordIds(pseudonym, ctx.chunk)) {
    await guard.refresh();
    const rows = await store.getRecords(ids);
    const jobs = [];
    const confirmed: string[] = [];
    for (const row of rows) {
      if (!row) continue;
      const rec = parseStoredRecord(row.json);
      if (rec.callerPseudonym !== pseudonym || !select(rec)) continue; // stale index entry, or not asked for
      if (guard.keeps(rec, 'erasures')) continue; // held: left as it is, its recording too
      const fate = await recordingFate(ctx, rec, 'erase');
      if (!tally(report, rec, fate) || fate.kind !== 'gone') continue; // kept: tried again by the next erase or purge
      if (fate.confirmedBy) confirmed.push(rec.uniqueId);
      const at = ctx.now();
      const erased = eraseRecord(rec, at);
      erasedIds.push(rec.uniqueId);
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
 *
 * When a legal hold covers any of the caller's records (or the caller), nothing is done: HeldRefusal
 * names each hold and its reason. With `overrideReason` (--override-hold --reason), a `hold-override`
 * entry names the holds and the reason first, the erasure goes ahead, and each of those holds whose
 * records are then all erased is released ("overridden: …"); one that still covers a record (its
 * recording waits for its server, or could not be deleted) stays, and the next erase finishes.
 */
export async function eraseCaller(ctx: AdminContext, number: string, overrideReason?: string): Promise<EraseReport> {
  if (isAnonymous(number)) throw new AdminUsageError('--caller: an anonymous or empty number matches every withheld caller; erase needs a real number');
  const reason = overrideReason === undefined ? null : holdReason(overrideReason);
  const pseudonym = pseudonymise(number, ctx.pseudonymKey);
  const report = emptyErase();
  const logs = new LogWriters(ctx);
  const blocking = await holdsOnCaller(ctx, (await HoldGuard.load(ctx.store)).active, pseudonym);
  if (blocking.length > 0 && reason === null) throw new HeldRefusal(blocking);
  if (blocking.length > 0 && reason !== null) {
    const body: EventBody = { type: 'hold-override', at: ctx.now().toISOString(), holds: blocking.map((h) => h.id), reason };
    await ctx.store.registerLog(ctx.store.log);
    await logs.of(ctx.store.log).appender.submit({ eventId: (ctx.newId ?? randomUUID)(), body: JSON.stringify(body), record: null }).done;
  }
  // First, so that a record arriving while this runs is caught by the next purge.
  await ctx.store.markErased(pseudonym, ctx.now().getTime());
  const erased = new Map<string, string[]>();
  await eraseIndexed(ctx, logs, pseudonym, () => true, report, new HoldGuard(ctx.store, new Set(blocking.map((h) => h.id))), erased);
  // The request itself goes to this host's log.
  await ctx.store.registerLog(ctx.store.log);
  const { appender } = logs.of(ctx.store.log);
  const body: EventBody = {
    type: 'erasure-request',
    at: ctx.now().toISOString(),
    records: report.records,
    recordingsDeleted: report.recordingsDeleted,
    failures: report.failures.length,
    waiting: waitingTotal(report.waiting),
  };
  await appender.submit({ eventId: (ctx.newId ?? randomUUID)(), body: JSON.stringify(body), record: null }).done;
  if (reason !== null) report.overridden = await releaseOverridden(ctx, logs, blocking, pseudonym, reason, erased);
  return report;
}

// ---------------------------------------------------------------------------------------- pending

export interface PendingServer {
  server: string;
  count: number;
  /** Age of the oldest deletion waiting (ms), or null when none waits. */
  oldestAgeMs: number | null;
  deletions: PendingDeletion[];
  /** Entries of the server's queue that are not deletions the ledger queued (set apart; they hold up nothing). */
  malformed: MalformedEntry[];
}

/** Recording deletions still waiting for the server that holds them, per server, oldest first. */
export async function pendingByServer(ctx: AdminContext): Promise<PendingServer[]> {
  const now = ctx.now().getTime();
  const out: PendingServer[] = [];
  for (const server of await ctx.store.deletionServers()) {
    const { items: deletions, malformed } = await ctx.store.readDeletions(server);
    out.push({ server, count: deletions.length, oldestAgeMs: deletions[0] ? now - deletions[0].requestedAt : null, deletions, malformed });
  }
  return out;
}
