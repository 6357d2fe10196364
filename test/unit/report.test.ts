/**
 * The consent report's aggregation and rendering (pure): figures per group, quantiles of the
 * decision time, nothing personal in any format, and a million records in bounded memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runReport, type ReportOptions } from '../../src/cli/report-command';
import { textDirection } from '../../src/domain/vocabulary';
import { groupKey, isoWeek, MAX_NUMBER_GROUPS, ReportAggregator } from '../../src/report/aggregate';
import { hostTimeZone, parseZonedTime, timeZoneName, ZoneCalendar } from '../../src/report/zone';
import { reportHtml } from '../../src/report/html';
import { reportCsv, reportJson, type Report } from '../../src/report/render';
import type { StoredRecord } from '../../src/ledger/types';
import { testConfig, testRecord, testRecording } from '../support/records';

function rec(i: number, over: Partial<StoredRecord> = {}): StoredRecord {
  return { ...testRecord({ uniqueId: `r.${i}` }), erasedAt: null, fullNotice: false, ...over };
}

function report(agg: ReportAggregator, over: Partial<Report> = {}): Report {
  const { groups, total } = agg.result();
  return { by: agg.by, since: '2026-11-01', until: '2026-12-01', zone: agg.zone, profile: null, generatedAt: '2026-11-30T12:00:00.000Z', groups, total, purged: 3, ledger: { ok: true, logs: [] }, ...over };
}

describe('report aggregation', () => {
  test('When records are added, then each group counts its outcomes, languages, full notices, withdrawals, pauses and erasures', () => {
    const agg = new ReportAggregator('language');
    agg.add(rec(1, { outcome: 'accepted', language: 'ar', fullNotice: true, withdrawal: { at: '2026-11-30T10:00:00Z', by: 'caller', recording: 'kept' } }));
    agg.add(rec(2, { outcome: 'refused', language: 'ar' }));
    agg.add(rec(3, { outcome: 'no-input', language: 'fr', decidedAt: null, pauses: [{ start: '2026-11-30T10:00:00Z', end: '2026-11-30T10:00:05Z' }, { start: '2026-11-30T10:01:00Z', end: null }] }));
    agg.add(rec(4, { outcome: 'abandoned', language: null, decidedAt: null, erasedAt: '2026-11-30T11:00:00Z', callerPseudonym: '' }));
    const { groups, total } = agg.result();
    expect(groups.map((g) => [g.key, g.calls])).toEqual([
      ['ar', 2],
      ['fr', 1],
      ['none', 1],
    ]);
    expect(total).toMatchObject({
      calls: 4,
      outcomes: { accepted: 1, refused: 1, 'no-input': 1, abandoned: 1, unavailable: 0, error: 0 },
      languages: { ar: 2, fr: 1, none: 1 },
      fullNotice: 1,
      withdrawals: { caller: 1, agent: 0 },
      pausedCalls: 1,
      pauses: 2,
      erased: 1,
    });
    // Silence is not a decision: only accepted and refused calls have a decision time.
    expect(total.decision.n).toBe(2);
  });

  test('When decision times are known, then the median and p90 are those of the records (to 100 ms)', () => {
    const agg = new ReportAggregator('direction');
    const start = Date.parse('2026-11-30T10:00:00.000Z');
    for (let i = 1; i <= 100; i++) {
      agg.add(rec(i, { noticeStartedAt: new Date(start).toISOString(), decidedAt: new Date(start + i * 100).toISOString(), outcome: i % 2 ? 'accepted' : 'refused' }));
    }
    const d = agg.result().total.decision;
    expect(d).toEqual({ n: 100, medianMs: 5000, p90Ms: 9000 });
  });

  test('Groups: days, ISO weeks and months in time order; numbers by calls, at most MAX_NUMBER_GROUPS of them', () => {
    expect(isoWeek(new Date('2026-11-30T10:00:00Z'))).toBe('2026-W49');
    expect(isoWeek(new Date('2027-01-01T10:00:00Z'))).toBe('2026-W53');
    expect(groupKey(rec(1, { direction: 'outbound', calledNumber: '' }), 'number')).toBe('outbound');
    const days = new ReportAggregator('day');
    for (const d of ['2026-11-30', '2026-11-02', '2026-11-15']) days.add(rec(1, { enteredAt: `${d}T10:00:00.000Z` }));
    expect(days.result().groups.map((g) => g.key)).toEqual(['2026-11-02', '2026-11-15', '2026-11-30']);
    const numbers = new ReportAggregator('number');
    for (let i = 0; i < MAX_NUMBER_GROUPS + 50; i++) numbers.add(rec(i, { calledNumber: `05220${String(i).padStart(5, '0')}` }));
    const g = numbers.result().groups;
    expect(g).toHaveLength(MAX_NUMBER_GROUPS + 1);
    expect(g[0]).toMatchObject({ key: 'other', calls: 50 });
  });

  test('When a million records are aggregated, then memory stays within a fixed bound (reported)', () => {
    const agg = new ReportAggregator('day');
    const start = Date.parse('2026-01-01T00:00:00.000Z');
    const outcomes = ['accepted', 'refused', 'no-input', 'abandoned'] as const;
    const base = rec(0);
    let peak = 0;
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) {
      const entered = start + (i % 365) * 86_400_000 + (i % 1000) * 1000;
      agg.add({
        ...base,
        uniqueId: `r.${i}`,
        outcome: outcomes[i % 4] as (typeof outcomes)[number],
        language: i % 3 ? 'ar' : 'fr',
        enteredAt: new Date(entered).toISOString(),
        noticeStartedAt: new Date(entered + 100).toISOString(),
        decidedAt: new Date(entered + 2000 + (i % 50) * 100).toISOString(),
      });
      if (i % 50_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    }
    const { groups, total } = agg.result();
    expect(total.calls).toBe(1_000_000);
    expect(groups).toHaveLength(365);
    const mb = peak / 1024 / 1024;
    process.stderr.write(`report aggregation of 1,000,000 records: heap growth peak ${mb.toFixed(1)} MB, 365 groups\n`);
    expect(mb).toBeLessThan(64);
  }, 120_000);
});

describe('report rendering', () => {
  const agg = new ReportAggregator('day');
  agg.add(rec(1, { outcome: 'accepted', callerPseudonym: 'a'.repeat(64), recording: testRecording('/rec/2026/11/30/r.1.wav') }));
  agg.add(rec(2, { outcome: 'refused', callerPseudonym: 'b'.repeat(64) }));

  test('No format carries a pseudonym, a recording path or a uniqueid: aggregates only', () => {
    for (const text of [reportJson(report(agg)), reportCsv(report(agg)), reportHtml(report(agg), 'fr'), reportHtml(report(agg), 'ar')]) {
      expect(text).not.toContain('a'.repeat(64));
      expect(text).not.toContain('r.1');
      expect(text).not.toContain('.wav');
    }
  });

  test('CSV: one row per group and a total, shares in percent', () => {
    const lines = reportCsv(report(agg)).trim().split('\n');
    expect(lines[0]).toMatch(/^group,calls,accepted,accepted_share,refused,refused_share,/);
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 6).join(','))).toEqual(['2026-11-30,2,1,50,1,50', 'total,2,1,50,1,50']);
  });

  test('HTML: one self-contained page (no script, no outside resource), right to left in Arabic, a clear "no calls" page when empty', () => {
    const fr = reportHtml(report(agg), 'fr');
    expect(fr).toContain('<svg');
    expect(fr).not.toMatch(/<script|<link|src=|@import|url\(/i);
    expect(fr).toContain('<html lang="fr" dir="ltr">');
    const ar = reportHtml(report(agg), 'ar');
    expect(ar).toContain('<html lang="ar" dir="rtl">');
    expect(ar).toContain('موافقة');
    expect(ar).not.toMatch(/[\u0660-\u0669]/); // Western digits, as in Morocco
    const empty = reportHtml(report(new ReportAggregator('day'), { purged: 0 }), 'fr');
    expect(empty).toContain('Aucun appel dans cette période.');
    expect(empty).not.toContain('<svg');
  });
});

describe('report by profile and by language', () => {
  test('When records of several profiles are grouped by profile, then records made before profiles count under default', () => {
    const agg = new ReportAggregator('profile');
    agg.add(rec(1, { profile: 'bank' }));
    agg.add(rec(2, { profile: 'bank', outcome: 'refused' }));
    agg.add(rec(3, { profile: null }));
    agg.add(rec(4, { profile: 'default' }));
    agg.add(rec(5, { profile: null }));
    agg.add(rec(6, { profile: 'telecom' }));
    const { groups, total } = agg.result();
    expect(groups.map((g) => [g.key, g.calls])).toEqual([
      ['default', 3],
      ['bank', 2],
      ['telecom', 1],
    ]);
    expect(groups[1]?.outcomes).toMatchObject({ accepted: 1, refused: 1 });
    expect(total.calls).toBe(6);
    expect(groupKey(rec(7, { profile: null }), 'profile')).toBe('default');
  });

  test('When callers answered in any language, then each group counts every language of the report by code (codes in order, then none), in JSON and in CSV columns', () => {
    const agg = new ReportAggregator('day');
    agg.add(rec(1, { language: 'zgh', enteredAt: '2026-11-29T10:00:00.000Z' }));
    agg.add(rec(2, { language: 'es', enteredAt: '2026-11-30T10:00:00.000Z' }));
    agg.add(rec(3, { language: 'ar', enteredAt: '2026-11-30T11:00:00.000Z' }));
    agg.add(rec(4, { language: 'zgh', enteredAt: '2026-11-30T12:00:00.000Z' }));
    agg.add(rec(5, { language: null, outcome: 'no-input', enteredAt: '2026-11-30T13:00:00.000Z' }));
    agg.add(rec(6, { language: 'shi-Tfng', enteredAt: '2026-11-30T14:00:00.000Z' }));
    const r = report(agg);
    expect(Object.entries(r.total.languages)).toEqual([
      ['ar', 1],
      ['es', 1],
      ['shi-Tfng', 1],
      ['zgh', 2],
      ['none', 1],
    ]);
    // Every group lists the same languages, 0 where none answered in it.
    expect(r.groups.map((g) => [g.key, g.languages])).toEqual([
      ['2026-11-29', { ar: 0, es: 0, 'shi-Tfng': 0, zgh: 1, none: 0 }],
      ['2026-11-30', { ar: 1, es: 1, 'shi-Tfng': 1, zgh: 1, none: 1 }],
    ]);
    expect(Object.keys((JSON.parse(reportJson(r)) as Report).groups[0]?.languages ?? {})).toEqual(['ar', 'es', 'shi-Tfng', 'zgh', 'none']);
    const [header, ...rows] = reportCsv(r).trim().split('\n');
    const cols = (header ?? '').split(',');
    expect(cols.filter((c) => c.startsWith('lang_'))).toEqual(['lang_ar', 'lang_es', 'lang_shi-Tfng', 'lang_zgh', 'lang_none']);
    const total = (rows.find((l) => l.startsWith('total,')) ?? '').split(',');
    expect(['lang_ar', 'lang_es', 'lang_shi-Tfng', 'lang_zgh', 'lang_none'].map((c) => total[cols.indexOf(c)])).toEqual(['1', '1', '1', '2', '1']);
    // Parts put together (one aggregator per log) keep every language.
    const other = new ReportAggregator('day');
    other.add(rec(7, { language: 'fr', enteredAt: '2026-11-29T10:00:00.000Z' }));
    expect(ReportAggregator.merged('day', [agg, other]).result().total.languages).toEqual({ ar: 1, es: 1, fr: 1, 'shi-Tfng': 1, zgh: 2, none: 1 });
  });
});

describe('report time zone', () => {
  const at = (iso: string, over: Partial<StoredRecord> = {}) => rec(0, { enteredAt: iso, ...over });
  const keys = (by: 'day' | 'week' | 'month', zone: string, isos: string[]) => {
    const agg = new ReportAggregator(by, zone);
    for (const iso of isos) agg.add(at(iso));
    return agg.result().groups.map((g) => [g.key, g.calls]);
  };

  test('When calls come near midnight UTC, then they are counted on the local day, ISO week and month of the zone (Casablanca, Tokyo)', () => {
    const isos = ['2026-11-29T22:30:00.000Z', '2026-11-29T23:30:00.000Z', '2026-11-30T15:30:00.000Z', '2026-11-30T23:30:00.000Z'];
    expect(keys('day', 'UTC', isos)).toEqual([
      ['2026-11-29', 2],
      ['2026-11-30', 2],
    ]);
    // Casablanca is UTC+1 outside Ramadan: 23:30 UTC is 00:30 of the next day.
    expect(keys('day', 'Africa/Casablanca', isos)).toEqual([
      ['2026-11-29', 1],
      ['2026-11-30', 2],
      ['2026-12-01', 1],
    ]);
    // Tokyo is UTC+9: 15:30 UTC is already the next day.
    expect(keys('day', 'Asia/Tokyo', isos)).toEqual([
      ['2026-11-30', 2],
      ['2026-12-01', 2],
    ]);
    // Sunday 29 November 23:30 UTC is Monday 30 in Casablanca: ISO week 49, not 48; the last call is December's.
    expect(keys('week', 'UTC', isos)).toEqual([
      ['2026-W48', 2],
      ['2026-W49', 2],
    ]);
    expect(keys('week', 'Africa/Casablanca', isos)).toEqual([
      ['2026-W48', 1],
      ['2026-W49', 3],
    ]);
    expect(keys('month', 'Africa/Casablanca', isos)).toEqual([
      ['2026-11', 3],
      ['2026-12', 1],
    ]);
    expect(new ReportAggregator('day', 'africa/casablanca').zone).toBe('Africa/Casablanca');
  });

  test('When Morocco changes its offset for Ramadan, then each call is counted with the offset of its own instant', () => {
    // 2026: UTC+1 → UTC+0 on 15 February at 03:00 local (02:00 UTC); back to UTC+1 on 22 March at 02:00 local (02:00 UTC).
    const isos = ['2026-02-14T23:30:00.000Z', '2026-02-15T23:30:00.000Z', '2026-03-21T23:30:00.000Z', '2026-03-22T23:30:00.000Z'];
    expect(keys('day', 'Africa/Casablanca', isos)).toEqual([
      ['2026-02-15', 2], // 00:30 at UTC+1, then 23:30 at UTC+0
      ['2026-03-21', 1], // 23:30 at UTC+0
      ['2026-03-23', 1], // 00:30 at UTC+1
    ]);
    const cal = new ZoneCalendar('Africa/Casablanca');
    expect(cal.offsetAt(Date.parse('2026-02-15T01:59:59Z'))).toBe(3_600_000);
    expect(cal.offsetAt(Date.parse('2026-02-15T02:00:00Z'))).toBe(0);
    expect(cal.offsetAt(Date.parse('2026-03-22T02:00:00Z'))).toBe(3_600_000);
  });

  test('--since/--until without an offset are wall times of the zone, across its changes of offset; with one, as given', () => {
    const casa = new ZoneCalendar('Africa/Casablanca');
    const tokyo = new ZoneCalendar('Asia/Tokyo');
    const iso = (text: string, cal: ZoneCalendar) => {
      const ms = parseZonedTime(text, cal);
      return ms === null ? null : new Date(ms).toISOString();
    };
    expect(iso('2026-12-01', tokyo)).toBe('2026-11-30T15:00:00.000Z');
    expect(iso('2026-12-01', casa)).toBe('2026-11-30T23:00:00.000Z');
    expect(iso('2026-03-01', casa)).toBe('2026-03-01T00:00:00.000Z'); // Ramadan: UTC+0
    expect(iso('2026-03-23T08:15:30.250', casa)).toBe('2026-03-23T07:15:30.250Z');
    // 22 March 02:30 does not exist in Casablanca (02:00 → 03:00): read as 03:30, the same time after the change.
    expect(iso('2026-03-22T02:30', casa)).toBe('2026-03-22T02:30:00.000Z');
    // 15 February 02:30 happens twice (03:00 → 02:00): the first.
    expect(iso('2026-02-15T02:30', casa)).toBe('2026-02-15T01:30:00.000Z');
    expect(iso('2026-12-01T00:00:00Z', tokyo)).toBe('2026-12-01T00:00:00.000Z');
    expect(iso('2026-12-01T09:00+09:00', casa)).toBe('2026-12-01T00:00:00.000Z');
    expect(iso('2026-12-01T01:00:00-0130', casa)).toBe('2026-12-01T02:30:00.000Z');
    for (const bad of ['yesterday', '2026-02-30', '2026-13-01', '2026-11-30T24:00', '2026-11-30T10:60', '2026-11-30Z', '2026-11-30T10:00+25:00']) expect(iso(bad, casa)).toBeNull();
  });

  test('A zone is one the runtime knows (its name as the runtime gives it); the host\'s by default', () => {
    expect(timeZoneName('Africa/Casablanca')).toBe('Africa/Casablanca');
    expect(timeZoneName('utc')).toBe('UTC');
    expect(timeZoneName('Mars/Olympus')).toBeNull();
    expect(timeZoneName('')).toBeNull();
    expect(timeZoneName(hostTimeZone())).toBe(hostTimeZone());
  });
});

describe('report HTML: direction, language names, zone and profile', () => {
  const agg = new ReportAggregator('language', 'Africa/Casablanca');
  agg.add(rec(1, { language: 'zgh' }));
  agg.add(rec(2, { language: 'zgh', outcome: 'refused' }));
  agg.add(rec(3, { language: 'es' }));
  agg.add(rec(4, { language: 'rif' }));
  agg.add(rec(5, { language: null, outcome: 'no-input' }));

  test('The direction of the page and of the chart comes from the language\'s script: right to left for ar, fa and Arabic-script Tachelhit, left to right for fr, zgh and Tifinagh Tachelhit', () => {
    expect(['ar', 'fa', 'shi-Arab', 'fr', 'zgh', 'shi', 'shi-Tfng', 'es', 'xx-invalid!'].map((l) => [l, textDirection(l)])).toEqual([
      ['ar', 'rtl'],
      ['fa', 'rtl'],
      ['shi-Arab', 'rtl'],
      ['fr', 'ltr'],
      ['zgh', 'ltr'],
      ['shi', 'ltr'],
      ['shi-Tfng', 'ltr'],
      ['es', 'ltr'],
      ['xx-invalid!', 'ltr'],
    ]);
    const ar = reportHtml(report(agg), 'ar');
    expect(ar).toContain('<html lang="ar" dir="rtl">');
    // Right to left: labels anchored at their start, on the right edge; bars run leftwards from there.
    expect(ar).toMatch(/<text x="682" y="18" text-anchor="start" class="lbl">/);
    const fr = reportHtml(report(agg), 'fr');
    expect(fr).toContain('<html lang="fr" dir="ltr">');
    expect(fr).toMatch(/<text x="142" y="18" text-anchor="end" class="lbl">/);
  });

  test('Languages are named in the page\'s language (the runtime\'s names), a code with no name is shown as it is, left to right', () => {
    const fr = reportHtml(report(agg), 'fr');
    expect(fr).toContain('<span title="zgh">amazighe standard marocain</span>');
    expect(fr).toContain('<span title="es">espagnol</span>');
    expect(fr).toContain('<th scope="row">sans langue</th>');
    const ar = reportHtml(report(agg), 'ar');
    expect(ar).toContain('<th scope="row">التمازيغية المغربية القياسية</th>');
    expect(ar).toContain('<span title="es">الإسبانية</span>');
    // The runtime has no Arabic name for Riffian: its code, kept left to right (and isolated in the chart's text).
    expect(ar).toContain('<th scope="row"><bdi dir="ltr">rif</bdi></th>');
    expect(ar).toContain('class="lbl">\u2066rif\u2069</text>');
    // One column per language of the report (es, rif, zgh), then calls with none.
    expect(fr).toContain('<th scope="colgroup" colspan="4">Langue de la réponse</th>');
  });

  test('The page states its time zone and, when restricted to one, the profile; purges are not given for one profile', () => {
    const all = reportHtml(report(agg), 'fr');
    expect(all).toContain('(heure de <span id="zone"><bdi dir="ltr">Africa/Casablanca</bdi></span>)');
    expect(all).not.toContain('id="profile"');
    expect(all).toContain('Enregistrements purgés (durée de conservation)<b>3</b>');
    const one = report(agg, { profile: 'bank', purged: null });
    const html = reportHtml(one, 'ar');
    expect(html).toContain('ملف الحملة <span id="profile"><bdi dir="ltr">bank</bdi></span>');
    expect(html).toContain('تسجيلات محذوفة (مدة الحفظ)<b>–</b>');
    expect(html).toContain('لا تُحسب عمليات الحذف حسب ملف الحملة');
    expect(JSON.parse(reportJson(one))).toMatchObject({ zone: 'Africa/Casablanca', profile: 'bank', purged: null });
    const csv = reportCsv(one).trim().split('\n');
    expect(csv[0]).toMatch(/,decision_p90_s,zone,profile$/);
    expect(csv.slice(1).every((l) => l.endsWith(',Africa/Casablanca,bank'))).toBe(true);
    expect(reportCsv(report(agg)).split('\n')[0]).toMatch(/,zone$/);
  });

  test('Group names depend on the grouping: a profile named like a direction or "other" is shown by its name', () => {
    const profiles = new ReportAggregator('profile');
    profiles.add(rec(1, { profile: 'inbound' }));
    profiles.add(rec(2, { profile: 'other' }));
    const fr = reportHtml(report(profiles), 'fr');
    expect(fr).toContain('<th scope="row"><bdi dir="ltr">inbound</bdi></th>');
    expect(fr).toContain('<th scope="row"><bdi dir="ltr">other</bdi></th>');
    expect(fr).toContain('Par profil de campagne');
    const numbers = new ReportAggregator('number');
    numbers.add(rec(1, { direction: 'outbound', calledNumber: '' }));
    expect(reportHtml(report(numbers), 'fr')).toContain('<th scope="row">appels sortants</th>');
  });
});

describe('report command: usage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'civr-report-'));
  const config = testConfig({}, dir);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function usage(opts: ReportOptions): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const sink = (write: (s: string) => void) => ({ write: (s: string) => (write(s), true), once: () => undefined });
    const code = await runReport(config, opts, { io: { stdout: sink(() => undefined), stderr: sink((s) => (stderr += s)) } });
    return { code, stderr };
  }

  test('An unknown time zone, a bad date, profile or grouping is a usage error (exit 2) that says what is expected', async () => {
    expect(await usage({ tz: 'Mars/Olympus' })).toEqual({ code: 2, stderr: 'consent-ivr report: --tz: "Mars/Olympus" is not a time zone; use an IANA name, e.g. Africa/Casablanca, Europe/Paris or UTC\n' });
    const since = await usage({ tz: 'Africa/Casablanca', since: 'yesterday' });
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('--since: "yesterday" is not a date; use ISO 8601, e.g. 2026-11-01 or 2026-11-01T08:00 (in Africa/Casablanca, the --tz zone)');
    expect(await usage({ tz: 'Asia/Tokyo', since: '2026-12-01', until: '2026-11-30T23:59' })).toEqual({ code: 2, stderr: 'consent-ivr report: --since must be before --until\n' });
    expect((await usage({ profile: 'a b' })).stderr).toContain('--profile: "a b" is not a profile name');
    expect((await usage({ by: 'hour' })).stderr).toContain('--by: "hour" is not one of day, week, month, number, language, direction, profile');
    expect((await usage({ lang: 'zgh' })).stderr).toContain('--lang: "zgh" is not fr or ar');
  });
});
