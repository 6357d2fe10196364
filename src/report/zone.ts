/**
 * Calendar time in one IANA time zone, for the report: the local day of an instant (a call centre in
 * Casablanca counts its days from its own midnight, not UTC's), and the instant a local wall time
 * names (a --since without an offset). Offsets come from the runtime's time zone data (Intl), so
 * daylight saving changes, Morocco's around Ramadan included, are those of the zone on that date.
 * Pure: no module of Node, no package.
 */

export const UTC = 'UTC';

/** The zone's name as the runtime knows it (e.g. `utc` → `UTC`), or null when it knows no such zone. */
export function timeZoneName(zone: string): string | null {
  if (zone.trim() === '') return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The host's time zone (the TZ variable, else the system's), UTC when the runtime cannot tell. */
export function hostTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || UTC;
  } catch {
    return UTC;
  }
}

/**
 * Offsets are looked up once per quarter of an hour of UTC time: every offset in use today is a
 * multiple of 15 minutes and zones change offset at whole local minutes, so a block whose two ends
 * have the same offset has it throughout (two changes 15 minutes apart do not happen).
 */
const BLOCK_MS = 15 * 60_000;
const MAX_BLOCKS = 20_000;
const DAY_MS = 86_400_000;

export class ZoneCalendar {
  readonly zone: string;
  private readonly format: Intl.DateTimeFormat | null;
  private readonly blocks = new Map<number, number>();

  /** Throws a RangeError for a zone the runtime does not know (check it with timeZoneName first). */
  constructor(zone: string) {
    const name = timeZoneName(zone);
    if (name === null) throw new RangeError(`unknown time zone: ${zone}`);
    this.zone = name;
    this.format =
      name === UTC
        ? null
        : new Intl.DateTimeFormat('en-US', { timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  }

  /** How far the zone's clocks are ahead of UTC at instant `ms` (ms; negative west of Greenwich). */
  offsetAt(ms: number): number {
    if (!this.format) return 0;
    const block = Math.floor(ms / BLOCK_MS);
    const known = this.blocks.get(block);
    if (known !== undefined) return known;
    const start = this.measure(block * BLOCK_MS);
    if (start !== this.measure(block * BLOCK_MS + BLOCK_MS - 1000)) return this.measure(ms); // the offset changes in this block
    if (this.blocks.size >= MAX_BLOCKS) this.blocks.clear();
    this.blocks.set(block, start);
    return start;
  }

  /** The local wall time at instant `ms`, as the number of ms that wall time would be in UTC. */
  wallAt(ms: number): number {
    return ms + this.offsetAt(ms);
  }

  /** The local calendar day of instant `ms`: "2026-11-30". */
  dayOf(ms: number): string {
    return new Date(this.wallAt(ms)).toISOString().slice(0, 10);
  }

  /**
   * The instant a local wall time names (`wall`: that wall time read as UTC, in ms). A wall time the
   * clocks skip (moved forward) is read with the offset before the change, i.e. as the same length
   * of time after the change (02:30 in a 02:00 → 03:00 gap is 03:30); one they show twice (moved
   * back) is the earlier of the two.
   */
  instantOf(wall: number): number {
    const before = this.offsetAt(wall - DAY_MS);
    const after = this.offsetAt(wall + DAY_MS);
    const fits = [...new Set([before, after])].map((o) => wall - o).filter((t) => this.wallAt(t) === wall);
    return fits.length > 0 ? Math.min(...fits) : wall - before;
  }

  private measure(ms: number): number {
    const f = this.format as Intl.DateTimeFormat;
    const p: Record<string, number> = {};
    for (const part of f.formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value);
    const wall = new Date(0);
    wall.setUTCFullYear(p.year as number, (p.month as number) - 1, p.day as number);
    wall.setUTCHours(p.hour as number, p.minute as number, p.second as number, 0);
    return wall.getTime() - Math.floor(ms / 1000) * 1000;
  }
}

/** A date, or a date and time with or without an offset: 2026-11-01, 2026-11-01T08:00, 2026-11-01T08:00:00+01:00. */
const TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * The instant an ISO 8601 date or date-time names; one without an offset (a date alone is its
 * midnight) is a wall time of the calendar's zone. Null when the text is not such a date, or names
 * a day or an hour that does not exist (2026-02-30, 24:00).
 */
export function parseZonedTime(text: string, cal: ZoneCalendar): number | null {
  const m = TIME.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const frac = m[7] ? Math.round(Number(m[7]) * 1000) : 0;
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  t.setUTCHours(h, mi, s, frac);
  const wall = t.getTime();
  const zone = m[8];
  if (zone === undefined) return cal.instantOf(wall);
  if (zone === 'Z') return wall;
  const digits = zone.replace(':', '');
  const oh = Number(digits.slice(1, 3));
  const om = Number(digits.slice(3, 5));
  if (oh > 23 || om > 59) return null;
  return wall - (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om) * 60_000;
}
