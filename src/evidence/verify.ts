/**
 * `consent-ivr ledger verify`: checks every log of the ledger.
 *
 * 1. The hash chain, walked from its anchor: the first edited, deleted or reordered entry (chain.ts).
 * 2. The signed checkpoints (kept in Redis, and any given in files): each must open with a trusted key,
 *    and the log must be consistent with it — the Merkle root of its first `size` entries, recomputed
 *    from the entries, equals the signed root. A checkpoint larger than the log means entries were
 *    removed from its end (truncation).
 * 3. The records against the entries that wrote them (digest of the stored JSON).
 * 4. With `recordings`, this server's recording files against their seals: changed, missing (and whether
 *    that is expected: erased, purged) or unexpected (a file no seal names).
 * 5. The legal holds in force against their entries (verify-holds.ts).
 * Memory stays bounded by one chunk of entries and the checkpoints of one log.
 */
import { ChainVerifier, DAY_MS, entryHash, entryLeaf, Frontier, type AdminContext, type AdminStore } from '../ledger';
import { relativeToDir } from './seal';
import { collapse, gatherCheckpoints, type OpenedCheckpoint } from './verify-checkpoints';
import { HoldSink } from './verify-holds';
import { CallWriters, checkRecords } from './verify-records';
import { SealSink } from './verify-recordings';
import type { CheckpointProblem, LogLoss, LogReport, VerifyOptions, VerifyReport } from './verify-report';

export { readCheckpointFile } from './verify-checkpoints';
export type * from './verify-report';

/** The last loss this host accepted for a log, and the checkpoints still to check (those signed since). */
function sinceAcceptedLoss(all: OpenedCheckpoint[], opts: VerifyOptions): { accepted: OpenedCheckpoint | null; acceptedAt: number; checkpoints: OpenedCheckpoint[] } {
  // Since the last accepted loss, what this host and Redis signed before it is history, not a check.
  const own = (c: OpenedCheckpoint) => c.source === 'ledger' || c.source === opts.hostCheckpointFile;
  const accepted = all.filter((c) => c.loss !== null && own(c) && c.time !== null).reduce<OpenedCheckpoint | null>((a, c) => (!a || (c.time ?? 0) > (a.time ?? 0) ? c : a), null);
  // The same checkpoint is in the host's file and in Redis: the acceptance dates from the first copy.
  const acceptedAt = accepted ? Math.min(...all.filter((c) => c.loss !== null && own(c) && c.time !== null && c.size === accepted.size && c.root.equals(accepted.root)).map((c) => c.time as number)) : 0;
  const before = (c: OpenedCheckpoint) => accepted !== null && own(c) && c.time !== null && c.time < acceptedAt;
  return { accepted, acceptedAt, checkpoints: all.filter((c) => !before(c)) };
}

/**
 * The log's Merkle tree, rebuilt entry by entry from the walk, compared with each checkpoint (sorted by
 * size) as the tree reaches its size; what no comparison could settle is reported by `finish`.
 */
class TreeCheck {
  private tree: Frontier | null = null;
  private brokenAt: number | null = null;
  /** Index of the next checkpoint to compare. */
  private next = 0;
  matched = 0;
  beforeTrim = 0;

  constructor(
    private readonly log: string,
    private readonly checkpoints: OpenedCheckpoint[],
    private readonly problems: CheckpointProblem[],
  ) {}

  /** The walk starts at the log's anchor: with the tree it had there (null: trimmed before trees existed). */
  begin(anchored: boolean, anchorTree: string | null): void {
    this.tree = anchored ? (anchorTree !== null ? Frontier.parse(anchorTree) : null) : new Frontier();
    if (!this.tree) return;
    while (this.checkpoints[this.next] && (this.checkpoints[this.next] as OpenedCheckpoint).size < this.tree.size) {
      this.next += 1;
      this.beforeTrim += 1;
    }
    this.compare();
  }

  feed(e: { seq: number; prev: string; body: string }): void {
    if (!this.tree || this.brokenAt !== null) return;
    if (e.seq !== this.tree.size + 1) this.brokenAt = this.tree.size;
    else {
      this.tree.append(entryLeaf({ hash: entryHash(e.seq, e.prev, e.body) }));
      this.compare();
    }
  }

  private compare(): void {
    for (;;) {
      const cp = this.checkpoints[this.next];
      if (!cp || !this.tree || cp.size > this.tree.size) return;
      this.next += 1;
      if (cp.size < this.tree.size) continue; // passed while the tree was broken: reported after the walk
      if (this.tree.root().equals(cp.root)) this.matched += 1;
      else
        this.problems.push({
          log: this.log,
          source: cp.source,
          size: cp.size,
          kind: 'mismatch',
          message: `the log's first ${cp.size} entries do not give the root this checkpoint signed: entries before it were changed, removed, reordered or added`,
        });
    }
  }

  /** The checkpoints the walk never reached, and the tree state Redis keeps against the one rebuilt. */
  async finish(store: AdminStore, chainOk: boolean): Promise<void> {
    const { log, tree } = this;
    for (; this.next < this.checkpoints.length; this.next++) {
      const cp = this.checkpoints[this.next] as OpenedCheckpoint;
      const size = tree?.size ?? 0;
      if (!tree) {
        this.problems.push({ log, source: cp.source, size: cp.size, kind: 'unverifiable', message: 'the log was trimmed before Merkle trees: this checkpoint cannot be checked' });
      } else if (this.brokenAt !== null && cp.size > this.brokenAt) {
        this.problems.push({ log, source: cp.source, size: cp.size, kind: 'mismatch', message: `the log breaks after entry seq ${this.brokenAt} (deleted or reordered entries) below this checkpoint of ${cp.size} entries` });
      } else if (cp.size > size) {
        this.problems.push({
          log,
          source: cp.source,
          size: cp.size,
          kind: 'truncated',
          message: `a checkpoint signed ${cp.size} entries but the log ends at ${size}: entries ${size + 1}–${cp.size} were removed (truncation), or Redis lost them`,
        });
      }
    }
    if (tree && this.brokenAt === null && chainOk) {
      const head = await store.head();
      if (head.tree !== null && head.seq === tree.size && head.tree !== tree.toString()) {
        this.problems.push({ log, source: 'ledger', size: tree.size, kind: 'mismatch', message: "the log's tree state in Redis differs from its entries: it was edited" });
      }
    }
  }
}

/**
 * Entries no checkpoint covers, for much longer than the service takes to sign them: the checkpoints
 * were deleted (from Redis, and this host's file is not the one that has them), or nobody signs.
 */
function unsignedProblem(log: string, headSeq: number, signedUpTo: number, firstUnsignedAt: number | null, nowMs: number, opts: VerifyOptions): CheckpointProblem | null {
  const lateMs = 2 * opts.checkpointIntervalMs + 60_000;
  if (headSeq <= signedUpTo || firstUnsignedAt === null || nowMs - firstUnsignedAt <= lateMs) return null;
  return {
    log,
    source: 'ledger',
    size: null,
    kind: 'unsigned',
    message: `entries ${signedUpTo + 1}–${headSeq} are covered by no signed checkpoint, the first since ${new Date(firstUnsignedAt).toISOString()}: checkpoints were deleted, or no service signs this log (pass its host's file with --checkpoint)`,
  };
}

/** The loss the checkpoint problems show: the largest checkpoint the log no longer gives. */
function lossOfProblems(problems: CheckpointProblem[], headSeq: number): LogLoss | null {
  const worst = problems.filter((p) => p.kind === 'truncated' || p.kind === 'mismatch').reduce<CheckpointProblem | null>((a, p) => (!a || (p.size ?? 0) > (a.size ?? 0) ? p : a), null);
  return worst ? { signed: worst.size ?? 0, source: worst.source, now: headSeq, rewritten: problems.some((p) => p.kind === 'mismatch') } : null;
}

/** Checks one log: its chain, its checkpoints and its records. */
async function verifyLog(ctx: AdminContext, store: AdminStore, all: OpenedCheckpoint[], problems: CheckpointProblem[], sinks: { seals: SealSink | null; holds: HoldSink }, opts: VerifyOptions): Promise<LogReport> {
  const { seals } = sinks;
  const { accepted, acceptedAt, checkpoints } = sinceAcceptedLoss(all, opts);
  // A record missing from before the shortest retention (plus a day) may have gone by a purge: entries
  // do not say a record's profile, so a profile kept for less than the default sets the bound.
  const shortestDays = Math.min(ctx.retentionDays, ...Object.values(ctx.profileRetention ?? {}));
  const graceMs = ctx.now().getTime() - shortestDays * DAY_MS + DAY_MS;
  const log = store.log;
  const trees = new TreeCheck(log, checkpoints, problems);
  const writers = new CallWriters();
  const signedUpTo = Math.max(0, ...checkpoints.map((c) => c.size));
  let verifier: ChainVerifier | null = null;
  let lossReason: string | null = null;
  /** Time of the first entry no checkpoint covers. */
  let firstUnsignedAt: number | null = null;
  let walked = 0;
  for await (const { anchor, anchorTree, entries } of store.chain(ctx.chunk)) {
    if (!verifier) {
      verifier = new ChainVerifier(anchor);
      trees.begin(anchor !== null, anchorTree);
    }
    verifier.feed(entries);
    writers.feed(entries);
    sinks.holds.feed(log, entries);
    walked += entries.length;
    ctx.progress?.(walked);
    for (const e of entries) {
      if (firstUnsignedAt === null && e.seq > signedUpTo) firstUnsignedAt = bodyTime(e.body);
      if (accepted && e.body.includes('"loss"')) lossReason = lossReasonOf(e.body) ?? lossReason;
      trees.feed(e);
    }
    if (seals) await seals.feed(store, entries);
  }
  const chain = (verifier ?? new ChainVerifier(null)).finish(await store.chainInfo());
  await trees.finish(store, chain.ok);
  const headSeq = chain.head?.seq ?? 0;
  const unsigned = unsignedProblem(log, headSeq, signedUpTo, firstUnsignedAt, ctx.now().getTime(), opts);
  if (unsigned) problems.push(unsigned);
  const records = await checkRecords(ctx, store, chain, writers, graceMs);
  const last = checkpoints[checkpoints.length - 1];
  const acceptedLoss = accepted
    ? { at: new Date(acceptedAt).toISOString(), signed: accepted.loss ?? 0, size: accepted.size, reason: lossReason, checkpointsBefore: all.length - checkpoints.length }
    : null;
  return {
    log,
    chain,
    loss: lossOfProblems(problems, headSeq),
    acceptedLoss,
    records,
    checkpoints: { checked: trees.matched, beforeTrim: trees.beforeTrim, latest: last ? { size: last.size, signedBy: last.signedBy } : null, problems: collapse(problems) },
  };
}

function lossReasonOf(body: string): string | null {
  try {
    const b = JSON.parse(body) as { type?: unknown; reason?: unknown };
    return b.type === 'loss' && typeof b.reason === 'string' ? b.reason : null;
  } catch {
    return null;
  }
}

function bodyTime(body: string): number | null {
  try {
    const t = Date.parse(String((JSON.parse(body) as { at?: unknown }).at));
    return Number.isFinite(t) ? t : null;
  } catch {
    return null;
  }
}

export async function verifyLedger(ctx: AdminContext, opts: VerifyOptions): Promise<VerifyReport> {
  // The logs are found by their keys, not only by the list Redis keeps of them.
  const registered = await ctx.store.logs();
  const logs = [...new Set([...registered, ...(await ctx.store.scanLogs())])].sort();
  const { byLog, problems, orphans } = await gatherCheckpoints(ctx, logs, opts);
  for (const log of logs) {
    if (!registered.includes(log)) {
      problems.get(log)?.push({ log, source: 'ledger', size: null, kind: 'unregistered', message: `log "${log}" holds data but is not in the ledger's list of logs ({ledger}:logs): list, export and report do not see it` });
    }
  }
  let seals: SealSink | null = null;
  if (opts.recordings) {
    const waiting = new Set<string>();
    for (const p of [...(await ctx.store.unsealed(ctx.serverId)), ...(await ctx.store.pendingDeletions(ctx.serverId))]) {
      waiting.add(relativeToDir(p.path, ctx.recordingDir) ?? p.path);
    }
    seals = new SealSink(ctx, opts.recordingFormat, waiting);
  }
  const reports: LogReport[] = [];
  const holdSink = new HoldSink();
  for (const log of logs) reports.push(await verifyLog(ctx, ctx.store.forLog(log), byLog.get(log) ?? [], problems.get(log) ?? [], { seals, holds: holdSink }, opts));
  await seals?.walkDir();
  const holds = await holdSink.finish(ctx.store);
  const rec = seals?.report ?? null;
  const logsOk = reports.every((r) => r.chain.ok && !r.records.problem && r.checkpoints.problems.length === 0);
  const recOk = !rec || rec.changed.length + rec.missing.length + rec.unexpected.length === 0;
  return { ok: logsOk && orphans.length === 0 && recOk && holds.problems.length === 0, logs: reports, checkpointProblems: orphans, recordings: rec, holds };
}

