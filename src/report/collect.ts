/**
 * Builds the consent report from the ledger: streams the records of the period (of one campaign
 * profile, if asked) through the aggregator, sums the records purged in the period (from the logs'
 * purge entries), and verifies the ledger so that the report names the heads it was computed from.
 */
import { DEFAULT_PROFILE } from '../domain/vocabulary';
import type { VerifierKey } from '../evidence';
import { listRecords, type AdminContext } from '../ledger';
import { verifyLedger } from '../evidence';
import { ReportAggregator, type GroupBy } from './aggregate';
import type { LedgerState, Report } from './render';

export interface ReportRequest {
  by: GroupBy;
  fromMs: number;
  toMs: number;
  since: string | null;
  until: string | null;
  /** The IANA time zone of the periods (days, weeks, months). */
  zone: string;
  /** Only the records of this campaign profile (records made before profiles are the default's); null: all. */
  profile: string | null;
  keys: VerifierKey[];
  recordingFormat: string;
  /** The host's checkpoint file (ledger.checkpointFile), the ground truth of what was signed. */
  hostCheckpointFile: string | null;
  checkpointIntervalMs: number;
}

/** Records deleted by purges that ran in [fromMs, toMs), from every log's purge entries. */
async function purgedIn(ctx: AdminContext, fromMs: number, toMs: number): Promise<number> {
  let n = 0;
  for (const log of await ctx.store.logs()) {
    for await (const { entries } of ctx.store.forLog(log).chain(ctx.chunk)) {
      for (const e of entries) {
        if (!e.body.includes('"purge"')) continue;
        try {
          const b = JSON.parse(e.body) as { type?: unknown; at?: unknown; records?: unknown };
          const at = Date.parse(String(b.at));
          if (b.type === 'purge' && at >= fromMs && at < toMs && typeof b.records === 'number') n += b.records;
        } catch {
          // the chain check reports unreadable entries
        }
      }
    }
  }
  return n;
}

export async function buildReport(ctx: AdminContext, req: ReportRequest): Promise<Report> {
  const agg = new ReportAggregator(req.by, req.zone);
  for await (const recs of listRecords(ctx, { fromMs: req.fromMs, toMs: req.toMs })) {
    for (const r of recs) if (req.profile === null || (r.profile ?? DEFAULT_PROFILE) === req.profile) agg.add(r);
  }
  const { groups, total } = agg.result();
  const quiet = { ...ctx, progress: undefined };
  // A purge entry counts the records it deleted, not their profiles: no figure for one profile.
  const purged = req.profile === null ? await purgedIn(quiet, req.fromMs, req.toMs) : null;
  const v = await verifyLedger(quiet, {
    keys: req.keys,
    checkpointFiles: [],
    hostCheckpointFile: req.hostCheckpointFile,
    checkpointIntervalMs: req.checkpointIntervalMs,
    recordings: false,
    recordingFormat: req.recordingFormat,
  });
  const ledger: LedgerState = {
    ok: v.ok,
    logs: v.logs.map((l) => ({
      log: l.log,
      entries: l.chain.entries,
      headSeq: l.chain.head?.seq ?? null,
      headHash: l.chain.head?.hash ?? null,
      checkpoint: l.checkpoints.latest,
    })),
  };
  return { by: req.by, since: req.since, until: req.until, zone: agg.zone, profile: req.profile, generatedAt: ctx.now().toISOString(), groups, total, purged, ledger };
}
