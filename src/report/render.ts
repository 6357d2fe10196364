/**
 * The consent report as JSON or CSV (html.ts renders it as a page); what a report holds. Pure.
 */
import { OUTCOMES } from '../domain/vocabulary';
import { NO_LANGUAGE, share, type GroupBy, type GroupFigures } from './aggregate';

/** What ties the report to the ledger: each log's verified head and latest signed checkpoint. */
export interface LedgerState {
  ok: boolean;
  logs: { log: string; entries: number; headSeq: number | null; headHash: string | null; checkpoint: { size: number; signedBy: string[] } | null }[];
}

export interface Report {
  by: GroupBy;
  /** The period's bounds as given (null: open); without an offset, wall times of `zone`. */
  since: string | null;
  until: string | null;
  /** The IANA time zone of the days, weeks and months, and of `since` and `until` without an offset. */
  zone: string;
  /** The campaign profile the report is restricted to; null: every profile. */
  profile: string | null;
  generatedAt: string;
  groups: GroupFigures[];
  total: GroupFigures;
  /** Records deleted by purges run in the period (from the ledger's purge entries); null for one profile (purges do not say whose). */
  purged: number | null;
  ledger: LedgerState;
}

/** The language codes of a report (every group lists the same ones), `none` left out. */
export function reportLanguages(r: Pick<Report, 'total'>): string[] {
  return Object.keys(r.total.languages).filter((k) => k !== NO_LANGUAGE);
}

// ---------------------------------------------------------------------------------------------- JSON

export function reportJson(r: Report): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

// ----------------------------------------------------------------------------------------------- CSV

/**
 * The columns: the group, the calls, each outcome and its share, one `lang_<code>` column per
 * language of the report (codes in order) then `lang_none`, the other counters, and the report's
 * time zone (and profile, when restricted to one) on every row, so that the file says them itself.
 */
function csvHeader(r: Report): string[] {
  return [
    'group',
    'calls',
    ...OUTCOMES.flatMap((o) => [o.replace('-', '_'), `${o.replace('-', '_')}_share`]),
    ...reportLanguages(r).map((l) => `lang_${l}`),
    'lang_none',
    'inbound',
    'outbound',
    'full_notice',
    'withdrawn_by_caller',
    'withdrawn_by_agent',
    'paused_calls',
    'pauses',
    'erased',
    'decision_n',
    'decision_median_s',
    'decision_p90_s',
    'zone',
    ...(r.profile === null ? [] : ['profile']),
  ];
}

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvRow(r: Report, g: GroupFigures, key: string): string {
  const sec = (ms: number | null) => (ms === null ? null : ms / 1000);
  return [
    key,
    g.calls,
    ...OUTCOMES.flatMap((o) => [g.outcomes[o], share(g.outcomes[o], g.calls)]),
    ...reportLanguages(r).map((l) => g.languages[l] ?? 0),
    g.languages[NO_LANGUAGE] ?? 0,
    g.directions.inbound,
    g.directions.outbound,
    g.fullNotice,
    g.withdrawals.caller,
    g.withdrawals.agent,
    g.pausedCalls,
    g.pauses,
    g.erased,
    g.decision.n,
    sec(g.decision.medianMs),
    sec(g.decision.p90Ms),
    r.zone,
    ...(r.profile === null ? [] : [r.profile]),
  ]
    .map(csvCell)
    .join(',');
}

/** One row per group, then the total. */
export function reportCsv(r: Report): string {
  return `${[csvHeader(r).join(','), ...r.groups.map((g) => csvRow(r, g, g.key)), csvRow(r, r.total, 'total')].join('\n')}\n`;
}
