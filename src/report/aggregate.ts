/**
 * The consent report's figures: records in, aggregates out. Pure and streaming: each record is added
 * once and dropped; a group keeps counters and a fixed-size histogram of decision times, so memory
 * depends on the number of groups (periods, called numbers, languages, directions), never on the
 * number of records. No pseudonym and no recording path is kept: aggregates only.
 */
import { OUTCOMES, type Outcome } from '../domain/vocabulary';
import type { StoredRecord } from '../ledger';

export const GROUP_BY = ['day', 'week', 'month', 'number', 'language', 'direction'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** Decision times are counted in 100 ms steps up to 2 minutes (longer ones in the last bucket). */
const STEP_MS = 100;
const BUCKETS = 1200;

/** Called numbers beyond this many each get no group of their own (they are counted in "other"). */
export const MAX_NUMBER_GROUPS = 500;
export const OTHER = 'other';

export interface GroupFigures {
  key: string;
  calls: number;
  outcomes: Record<Outcome, number>;
  languages: { ar: number; fr: number; none: number };
  directions: { inbound: number; outbound: number };
  /** Calls whose caller asked for the full notice (key 0); null when no record says (made before it was kept). */
  fullNotice: number;
  /** Records that say whether the full notice was asked for (records made before it was kept do not). */
  fullNoticeKnown: number;
  withdrawals: { caller: number; agent: number };
  /** Calls with at least one pause, and the pauses in all. */
  pausedCalls: number;
  pauses: number;
  /** Recordings deleted by an erasure of the caller (the record stays, erased). */
  erased: number;
  /** From the notice's start to the decision (accepted or refused): how many, median and 90th percentile (ms). */
  decision: { n: number; medianMs: number | null; p90Ms: number | null };
}

class Group {
  calls = 0;
  readonly outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  readonly languages = { ar: 0, fr: 0, none: 0 };
  readonly directions = { inbound: 0, outbound: 0 };
  fullNotice = 0;
  fullNoticeKnown = 0;
  readonly withdrawals = { caller: 0, agent: 0 };
  pausedCalls = 0;
  pauses = 0;
  erased = 0;
  readonly decide = new Uint32Array(BUCKETS);
  decided = 0;

  constructor(readonly key: string) {}

  add(r: StoredRecord): void {
    this.calls += 1;
    if (r.outcome) this.outcomes[r.outcome] = (this.outcomes[r.outcome] ?? 0) + 1;
    if (r.language === 'ar' || r.language === 'fr') this.languages[r.language] += 1;
    else this.languages.none += 1;
    this.directions[r.direction === 'outbound' ? 'outbound' : 'inbound'] += 1;
    if (typeof r.fullNotice === 'boolean') {
      this.fullNoticeKnown += 1;
      if (r.fullNotice) this.fullNotice += 1;
    }
    if (r.withdrawal) this.withdrawals[r.withdrawal.by] += 1;
    if (r.pauses.length > 0) {
      this.pausedCalls += 1;
      this.pauses += r.pauses.length;
    }
    if (r.erasedAt) this.erased += 1;
    if ((r.outcome === 'accepted' || r.outcome === 'refused') && r.decidedAt && r.noticeStartedAt) {
      const ms = Date.parse(r.decidedAt) - Date.parse(r.noticeStartedAt);
      if (Number.isFinite(ms) && ms >= 0) {
        const b = Math.min(BUCKETS - 1, Math.floor(ms / STEP_MS));
        this.decide[b] = (this.decide[b] as number) + 1;
        this.decided += 1;
      }
    }
  }

  merge(o: Group): void {
    this.calls += o.calls;
    for (const k of OUTCOMES) this.outcomes[k] += o.outcomes[k];
    this.languages.ar += o.languages.ar;
    this.languages.fr += o.languages.fr;
    this.languages.none += o.languages.none;
    this.directions.inbound += o.directions.inbound;
    this.directions.outbound += o.directions.outbound;
    this.fullNotice += o.fullNotice;
    this.fullNoticeKnown += o.fullNoticeKnown;
    this.withdrawals.caller += o.withdrawals.caller;
    this.withdrawals.agent += o.withdrawals.agent;
    this.pausedCalls += o.pausedCalls;
    this.pauses += o.pauses;
    this.erased += o.erased;
    for (let i = 0; i < BUCKETS; i++) this.decide[i] = (this.decide[i] as number) + (o.decide[i] as number);
    this.decided += o.decided;
  }

  /** The q-quantile, to the 100 ms below (the lower edge of its bucket), in ms. */
  private quantile(q: number): number | null {
    if (this.decided === 0) return null;
    const rank = Math.ceil(q * this.decided);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.decide[i] as number;
      if (seen >= rank) return i * STEP_MS;
    }
    return (BUCKETS - 1) * STEP_MS;
  }

  figures(): GroupFigures {
    return {
      key: this.key,
      calls: this.calls,
      outcomes: { ...this.outcomes },
      languages: { ...this.languages },
      directions: { ...this.directions },
      fullNotice: this.fullNotice,
      fullNoticeKnown: this.fullNoticeKnown,
      withdrawals: { ...this.withdrawals },
      pausedCalls: this.pausedCalls,
      pauses: this.pauses,
      erased: this.erased,
      decision: { n: this.decided, medianMs: this.quantile(0.5), p90Ms: this.quantile(0.9) },
    };
  }
}

/** ISO 8601 week of a UTC date: "2026-W49". */
export function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const year = t.getUTCFullYear();
  const week = Math.ceil(((t.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The group a record falls in. */
export function groupKey(r: StoredRecord, by: GroupBy): string {
  switch (by) {
    case 'day':
      return r.enteredAt.slice(0, 10);
    case 'month':
      return r.enteredAt.slice(0, 7);
    case 'week':
      return isoWeek(new Date(r.enteredAt));
    case 'language':
      return r.language ?? 'none';
    case 'direction':
      return r.direction;
    case 'number':
      return r.direction === 'outbound' ? 'outbound' : r.calledNumber || 'unknown';
  }
}

const PERIODS: readonly GroupBy[] = ['day', 'week', 'month'];

export class ReportAggregator {
  private readonly groups = new Map<string, Group>();
  private readonly total = new Group('total');

  constructor(readonly by: GroupBy) {}

  add(r: StoredRecord): void {
    let key = groupKey(r, this.by);
    if (this.by === 'number' && !this.groups.has(key) && this.groups.size >= MAX_NUMBER_GROUPS) key = OTHER;
    let g = this.groups.get(key);
    if (!g) {
      g = new Group(key);
      this.groups.set(key, g);
    }
    g.add(r);
    this.total.add(r);
  }

  /** Groups in order (periods in time order; the others by calls, most first), and the total. */
  result(): { groups: GroupFigures[]; total: GroupFigures } {
    const groups = [...this.groups.values()].map((g) => g.figures());
    if (PERIODS.includes(this.by)) groups.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    else groups.sort((a, b) => b.calls - a.calls || (a.key < b.key ? -1 : 1));
    return { groups, total: this.total.figures() };
  }

  /** Aggregators of parts of the data put together (e.g. one per log). */
  static merged(by: GroupBy, parts: ReportAggregator[]): ReportAggregator {
    const out = new ReportAggregator(by);
    for (const p of parts) {
      for (const [k, g] of p.groups) {
        const mine = out.groups.get(k) ?? new Group(k);
        mine.merge(g);
        out.groups.set(k, mine);
      }
      out.total.merge(p.total);
    }
    return out;
  }
}

/** A share in percent with one decimal, or null for an empty group. */
export function share(part: number, whole: number): number | null {
  return whole > 0 ? Math.round((part / whole) * 1000) / 10 : null;
}
