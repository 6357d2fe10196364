/**
 * The consent report's figures: records in, aggregates out. Pure and streaming: each record is added
 * once and dropped; a group keeps counters and a fixed-size histogram of decision times, so memory
 * depends on the number of groups (periods, called numbers, languages, directions, profiles) and of
 * languages, never on the number of records. No pseudonym and no recording path is kept: aggregates
 * only. Days, weeks and months are those of the report's time zone.
 */
import { DEFAULT_PROFILE, OUTCOMES, type Outcome } from '../domain/vocabulary';
import type { StoredRecord } from '../ledger';
import { UTC, ZoneCalendar } from './zone';

export const GROUP_BY = ['day', 'week', 'month', 'number', 'language', 'direction', 'profile'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** Decision times are counted in 100 ms steps up to 2 minutes (longer ones in the last bucket). */
const STEP_MS = 100;
const BUCKETS = 1200;

/** Called numbers beyond this many each get no group of their own (they are counted in "other"). */
export const MAX_NUMBER_GROUPS = 500;
export const OTHER = 'other';
/** The key of calls with no language (no key pressed before the choice): no language code is 4 letters. */
export const NO_LANGUAGE = 'none';

export interface GroupFigures {
  key: string;
  calls: number;
  outcomes: Record<Outcome, number>;
  /**
   * Calls per language the caller answered in, by code (any ISO 639 / BCP 47 code), and `none`; every
   * group of a report lists the same keys (every language of the report, codes in order, then `none`).
   */
  languages: Record<string, number>;
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
  readonly languages = new Map<string, number>();
  noLanguage = 0;
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
    if (r.language) this.languages.set(r.language, (this.languages.get(r.language) ?? 0) + 1);
    else this.noLanguage += 1;
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
    for (const [lang, n] of o.languages) this.languages.set(lang, (this.languages.get(lang) ?? 0) + n);
    this.noLanguage += o.noLanguage;
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

  /** Its figures, with a count (0 if need be) for each of `languages` (codes in order). */
  figures(languages: readonly string[]): GroupFigures {
    return {
      key: this.key,
      calls: this.calls,
      outcomes: { ...this.outcomes },
      languages: Object.fromEntries([...languages.map((l) => [l, this.languages.get(l) ?? 0]), [NO_LANGUAGE, this.noLanguage]]) as Record<string, number>,
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

/** ISO 8601 week of a date (its UTC calendar day): "2026-W49". */
export function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const year = t.getUTCFullYear();
  const week = Math.ceil(((t.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

const UTC_CALENDAR = new ZoneCalendar(UTC);

/** The group a record falls in; days, weeks and months are those of `cal`'s zone. */
export function groupKey(r: StoredRecord, by: GroupBy, cal: ZoneCalendar = UTC_CALENDAR): string {
  switch (by) {
    case 'day':
    case 'week':
    case 'month': {
      const ms = Date.parse(r.enteredAt);
      if (!Number.isFinite(ms)) return r.enteredAt.slice(0, by === 'month' ? 7 : 10);
      const day = cal.dayOf(ms);
      return by === 'day' ? day : by === 'month' ? day.slice(0, 7) : isoWeek(new Date(`${day}T00:00:00Z`));
    }
    case 'language':
      return r.language ?? NO_LANGUAGE;
    case 'direction':
      return r.direction;
    case 'number':
      return r.direction === 'outbound' ? 'outbound' : r.calledNumber || 'unknown';
    case 'profile':
      return r.profile ?? DEFAULT_PROFILE;
  }
}

const PERIODS: readonly GroupBy[] = ['day', 'week', 'month'];

/** Language codes in code-point order (the same in every locale). */
function inOrder(codes: Iterable<string>): string[] {
  return [...codes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export class ReportAggregator {
  private readonly groups = new Map<string, Group>();
  private readonly total = new Group('total');
  private readonly calendar: ZoneCalendar;

  /** `zone`: the IANA time zone whose days, weeks and months the periods are (UTC by default). */
  constructor(
    readonly by: GroupBy,
    zone: string = UTC,
  ) {
    this.calendar = zone === UTC ? UTC_CALENDAR : new ZoneCalendar(zone);
  }

  /** The zone's name as the runtime gives it. */
  get zone(): string {
    return this.calendar.zone;
  }

  add(r: StoredRecord): void {
    let key = groupKey(r, this.by, this.calendar);
    if (this.by === 'number' && !this.groups.has(key) && this.groups.size >= MAX_NUMBER_GROUPS) key = OTHER;
    let g = this.groups.get(key);
    if (!g) {
      g = new Group(key);
      this.groups.set(key, g);
    }
    g.add(r);
    this.total.add(r);
  }

  /**
   * Groups in order (periods in time order; the others by calls, most first), and the total; each
   * lists every language of the report.
   */
  result(): { groups: GroupFigures[]; total: GroupFigures } {
    const languages = inOrder(this.total.languages.keys());
    const groups = [...this.groups.values()].map((g) => g.figures(languages));
    if (PERIODS.includes(this.by)) groups.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    else groups.sort((a, b) => b.calls - a.calls || (a.key < b.key ? -1 : 1));
    return { groups, total: this.total.figures(languages) };
  }

  /** Aggregators of parts of the data put together (e.g. one per log); they share `by` and the zone. */
  static merged(by: GroupBy, parts: ReportAggregator[], zone: string = UTC): ReportAggregator {
    const out = new ReportAggregator(by, zone);
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
