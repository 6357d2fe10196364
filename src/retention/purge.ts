/**
 * The purge after the retention period (behind `consent-ivr ledger purge`): each record and its
 * recording go once the record is older than its own campaign profile's retention (retention-periods.ts);
 * the start of each log is trimmed once older than every profile's; erasures of records that arrived
 * late are completed. It works on any AdminStore, in chunks, so memory stays bounded however large the
 * ledger is; a recording held by another server is queued for it, and its record waits for the deletion.
 * A record under a legal hold stays, with its recording (it is not even looked at), and the start of a
 * log is never trimmed past a held call's first entry or a hold's own entry (hold-guard.ts).
 */
import { randomUUID } from 'node:crypto';
import { entryLeaf, Frontier, parseStoredRecord, type AdminContext, type AdminStore, type ChainHead, type EventBody, type MalformedEntry, type StoredRecord, type TrimRequest } from '../ledger';
import { emptyErase, eraseIndexed, LogWriters, recordingFate, tally, waitingTotal, type EraseReport, type Failure, type RecordingFate } from './admin';
import { HoldGuard, trimFloor, type HeldReport } from './hold-guard';
import { RetentionCutoffs, type ProfileCutoff } from './retention-periods';

/** When a record was decided (or, never decided, entered): what an erasure request is compared with. */
function decisionMs(rec: StoredRecord): number {
  return Date.parse(rec.decidedAt ?? rec.enteredAt);
}

/**
 * Erases the records that reached the ledger after their caller's erasure although decided before it
 * (kept in a service's journal while Redis was away). A later consent of the same caller is a new
 * one and stays. Requests older than the longest retention (`cutoffMs`) are forgotten: no record they
 * could concern can still arrive (the journal drops such entries) or remain (the purge deleted them).
 */
async function completeErasures(ctx: AdminContext, logs: LogWriters, cutoffMs: number, malformed: MalformedEntry[], guard: HoldGuard): Promise<EraseReport> {
  const report = emptyErase();
  const quiet = { ...ctx, progress: undefined }; // the purge's progress counts purged records
  const expired: string[] = [];
  const marks = await ctx.store.readErasureMarks();
  malformed.push(...marks.malformed);
  for (const [pseudonym, atMs] of marks.items) {
    if (atMs < cutoffMs) {
      expired.push(pseudonym);
      continue;
    }
    await eraseIndexed(quiet, logs, pseudonym, (rec) => decisionMs(rec) <= atMs, report, guard);
  }
  await ctx.store.forgetErasures(expired);
  return report;
}

/** What the purge did for one campaign profile's records. */
export interface ProfilePurge {
  profile: string;
  /** False: records name this profile but the configuration does not have it; they were given the default's retention. */
  configured: boolean;
  retentionDays: number;
  /** Its records entered before this time were past their retention. */
  cutoff: string;
  records: number;
  recordingsDeleted: number;
  recordingsMissing: number;
  /** Records past their retention kept for now: their recording waits for its server, or could not be deleted. */
  kept: number;
}

export interface PurgeReport {
  /** Set when another purge holds the lock (nothing was done). */
  skipped: string | null;
  /**
   * The cutoff of the longest retention: every record entered before it was past its retention, whatever
   * its profile, and the logs are trimmed before it. Records of profiles kept for less go earlier (`profiles`).
   */
  cutoff: string;
  records: number;
  recordingsDeleted: number;
  recordingsMissing: number;
  failures: Failure[];
  /** Records kept until the server holding their recording confirms its deletion: server → count. */
  waiting: Record<string, number>;
  /**
   * Per profile: the configured ones (the default first, which also counts the records made before
   * profiles), then any profile records name that the configuration does not have, by name.
   */
  profiles: ProfilePurge[];
  /** Logs whose start was trimmed, and up to which entry. */
  trimmed: { log: string; seq: number }[];
  /** Records of erased callers that arrived after the erasure (from a journal), erased now. */
  lateErasures: EraseReport;
  /** Entries of the erasure requests that are not requests (set apart, left in place). */
  malformed: MalformedEntry[];
  /**
   * Per legal hold that kept anything: the records past their retention it kept, and the late erasures
   * it held back (a record covered by two holds counts under each).
   */
  held: HeldReport[];
}

/** The purge's counts, in total and per profile. */
class PurgeTally {
  private readonly byProfile = new Map<string, ProfilePurge>();

  constructor(
    readonly report: PurgeReport,
    readonly cutoffs: RetentionCutoffs,
  ) {
    for (const c of cutoffs.configured) this.bucket(c);
  }

  private bucket(c: ProfileCutoff): ProfilePurge {
    let b = this.byProfile.get(c.profile);
    if (!b) {
      b = { profile: c.profile, configured: c.configured, retentionDays: c.retentionDays, cutoff: new Date(c.cutoffMs).toISOString(), records: 0, recordingsDeleted: 0, recordingsMissing: 0, kept: 0 };
      this.byProfile.set(c.profile, b);
    }
    return b;
  }

  /** Counts the fate of a record past its retention; true when the record may be deleted now. */
  count(rec: StoredRecord, fate: RecordingFate): boolean {
    const b = this.bucket(this.cutoffs.of(rec.profile));
    if (!tally(this.report, rec, fate)) {
      b.kept += 1;
      return false;
    }
    b.records += 1;
    if (fate.kind === 'gone' && fate.note === 'deleted') b.recordingsDeleted += 1;
    if (fate.kind === 'gone' && fate.note === 'already-missing') b.recordingsMissing += 1;
    return true;
  }

  /** The per-profile counts, configured profiles first (in the configuration's order), then the others by name. */
  profiles(): ProfilePurge[] {
    const all = [...this.byProfile.values()];
    return [...all.filter((b) => b.configured), ...all.filter((b) => !b.configured).sort((a, b) => (a.profile < b.profile ? -1 : 1))];
  }
}

/**
 * Entries at the start of a log that are all older than the cutoff and covered by its last checkpoint:
 * the last one of them, with the log's Merkle compact range up to it (null when the log has no tree).
 */
async function trimTarget(store: AdminStore, cutoffMs: number, chunk: number, floor: number): Promise<TrimRequest | null> {
  // Never past the last checkpoint: what a checkpointer continues from must stay checkable against the log.
  const signed = (await store.latestCheckpoint())?.size ?? 0;
  let target: ChainHead | null = null;
  let tree: Frontier | null | undefined;
  const result = () => (target ? { ...target, tree: tree ? tree.toString() : null } : null);
  for await (const { anchor, anchorTree, entries } of store.chain(chunk)) {
    // The tree of the trimmed part continues from the anchor's (none: the log has no tree past a trim).
    if (tree === undefined) tree = anchorTree !== null ? Frontier.parse(anchorTree) : anchor ? null : new Frontier();
    for (const e of entries) {
      let at: number;
      try {
        at = Date.parse(String((JSON.parse(e.body) as { at?: unknown }).at));
      } catch {
        at = NaN; // unparsable body: stop trimming here
      }
      // Nor up to an entry a legal hold keeps (a held call's, a hold's own): they stay checkable.
      if (!(at < cutoffMs) || e.seq > signed || e.seq >= floor) return result();
      target = { seq: e.seq, hash: e.hash };
      tree?.append(entryLeaf(e));
    }
  }
  return result();
}

/**
 * Deletes each record whose profile's retention has passed (now − that profile's retentionDays; the
 * default's for records of no profile or of a profile no longer configured) and its recording, trims
 * the start of each log that is older than the longest retention, and logs the purge in each log.
 * Idempotent; safe to run from several hosts (one runs at a time, the others return at once).
 */
export async function purgeLedger(ctx: AdminContext): Promise<PurgeReport> {
  const cutoffs = new RetentionCutoffs(ctx);
  const cutoffMs = cutoffs.earliestMs;
  const report: PurgeReport = {
    skipped: null,
    cutoff: new Date(cutoffMs).toISOString(),
    records: 0,
    recordingsDeleted: 0,
    recordingsMissing: 0,
    failures: [],
    waiting: {},
    profiles: [],
    trimmed: [],
    lateErasures: emptyErase(),
    malformed: [],
    held: [],
  };
  const counts = new PurgeTally(report, cutoffs);
  report.profiles = counts.profiles();
  const release = await ctx.store.lock('purge', 15 * 60_000);
  if (!release) {
    report.skipped = 'another purge is running';
    return report;
  }
  try {
    // Read again for each chunk; an entry that is not a hold stops the purge here, before anything goes.
    const guard = await HoldGuard.load(ctx.store);
    const logs = await ctx.store.logs();
    for (const name of logs) {
      const store = ctx.store.forLog(name);
      await purgeRecords(ctx, store, cutoffMs, counts, guard);
      // Between the longest and the shortest retention, each record is judged by its own profile's.
      if (cutoffs.latestMs > cutoffMs) await purgeByProfile(ctx, store, cutoffMs, cutoffs.latestMs, counts, guard);
    }
    report.profiles = counts.profiles();
    const writers = new LogWriters(ctx);
    report.lateErasures = await completeErasures(ctx, writers, cutoffMs, report.malformed, guard);
    report.held = guard.report();
    await guard.refresh(); // the trim spares a hold placed while the purge ran, too
    for (const name of logs) {
      const { store, appender } = writers.of(name);
      const target = await trimTarget(store, cutoffMs, ctx.chunk, await trimFloor(store, guard, ctx.chunk));
      const anchor = await currentAnchor(store);
      const trim = target && (!anchor || target.seq > anchor.seq) ? target : undefined;
      if (trim) report.trimmed.push({ log: name, seq: trim.seq });
      const body: EventBody = {
        type: 'purge',
        at: ctx.now().toISOString(),
        cutoff: report.cutoff,
        records: report.records,
        recordingsDeleted: report.recordingsDeleted,
        failures: report.failures.length,
        waiting: waitingTotal(report.waiting),
        ...(guard.recordsKept > 0 ? { held: guard.recordsKept } : {}),
        trimmedTo: trim ? { seq: trim.seq, hash: trim.hash } : null,
      };
      await appender.submit({ eventId: (ctx.newId ?? randomUUID)(), body: JSON.stringify(body), record: null }, trim).done;
    }
    return report;
  } finally {
    await release();
  }
}

/** Deletes one log's records entered before the cutoff (past every profile's retention), with their recordings. */
async function purgeRecords(ctx: AdminContext, store: AdminStore, cutoffMs: number, counts: PurgeTally, guard: HoldGuard): Promise<void> {
  let kept = 0;
  for (;;) {
    const batch = await store.recordsBefore(cutoffMs, kept, ctx.chunk);
    if (batch.length === 0) break;
    await guard.refresh();
    const remove: { uniqueId: string; callerPseudonym: string }[] = [];
    const confirmed: string[] = [];
    let records = 0;
    for (const { uniqueId, row } of batch) {
      if (!row) {
        remove.push({ uniqueId, callerPseudonym: '' }); // index entry without its record
        continue;
      }
      const rec = parseStoredRecord(row.json);
      if (guard.keeps(rec, 'records')) {
        kept += 1; // held: stays with its recording, untouched
        continue;
      }
      const fate = await recordingFate(ctx, rec, 'purge');
      if (!counts.count(rec, fate)) {
        kept += 1; // stays, to be tried again next time
        continue;
      }
      if (fate.kind === 'gone' && fate.confirmedBy) confirmed.push(uniqueId);
      remove.push({ uniqueId, callerPseudonym: rec.callerPseudonym });
      records += 1;
    }
    await store.deleteRecords(remove);
    await ctx.store.forgetConfirmations(confirmed);
    counts.report.records += records;
    ctx.progress?.(counts.report.records);
  }
}

/** A record to delete once the walk by time has passed its time. */
interface Removal {
  uniqueId: string;
  callerPseudonym: string;
  enteredMs: number;
  /** Its recording's deletion was confirmed by the server holding it (a confirmation to forget). */
  confirmed: boolean;
}

/**
 * Deletes one log's records entered in [fromMs, toMs) that are past their own profile's retention,
 * with their recordings; the others (a profile kept for longer) are passed over. It walks the time
 * index by time, as listing does, and the walk resumes at the last time it read, counting the records
 * it already read at that time: a record of that time is deleted only once the walk has moved past it.
 */
async function purgeByProfile(ctx: AdminContext, store: AdminStore, fromMs: number, toMs: number, counts: PurgeTally, guard: HoldGuard): Promise<void> {
  let held: Removal[] = [];
  const remove = async (rows: Removal[]) => {
    if (rows.length === 0) return;
    await store.deleteRecords(rows);
    await ctx.store.forgetConfirmations(rows.filter((r) => r.confirmed).map((r) => r.uniqueId));
    counts.report.records += rows.length;
    ctx.progress?.(counts.report.records);
  };
  for await (const rows of store.recordsByTime(fromMs, toMs, ctx.chunk)) {
    await guard.refresh();
    let lastMs = -Infinity;
    for (const row of rows) {
      const rec = parseStoredRecord(row.json);
      const enteredMs = Date.parse(rec.enteredAt);
      lastMs = enteredMs;
      if (!(enteredMs < counts.cutoffs.of(rec.profile).cutoffMs)) continue; // within its profile's retention
      if (guard.keeps(rec, 'records')) continue; // held: stays with its recording, untouched
      const fate = await recordingFate(ctx, rec, 'purge');
      if (!counts.count(rec, fate)) continue; // stays, to be tried again next time
      held.push({ uniqueId: rec.uniqueId, callerPseudonym: rec.callerPseudonym, enteredMs, confirmed: fate.kind === 'gone' && fate.confirmedBy !== null });
    }
    await remove(held.filter((r) => r.enteredMs < lastMs));
    held = held.filter((r) => r.enteredMs >= lastMs);
  }
  await remove(held);
}

async function currentAnchor(store: AdminStore): Promise<ChainHead | null> {
  for await (const { anchor } of store.chain(1)) return anchor;
  return null;
}
