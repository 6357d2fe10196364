/**
 * The consent report's aggregation and rendering (pure): figures per group, quantiles of the
 * decision time, nothing personal in any format, and a million records in bounded memory.
 */
import { groupKey, isoWeek, MAX_NUMBER_GROUPS, ReportAggregator } from '../../src/report/aggregate';
import { reportCsv, reportHtml, reportJson, type Report } from '../../src/report/render';
import type { StoredRecord } from '../../src/ledger/types';
import { testRecord, testRecording } from '../support/records';

function rec(i: number, over: Partial<StoredRecord> = {}): StoredRecord {
  return { ...testRecord({ uniqueId: `r.${i}` }), erasedAt: null, fullNotice: false, ...over };
}

function report(agg: ReportAggregator, over: Partial<Report> = {}): Report {
  const { groups, total } = agg.result();
  return { by: agg.by, since: '2026-11-01', until: '2026-12-01', generatedAt: '2026-11-30T12:00:00.000Z', groups, total, purged: 3, ledger: { ok: true, logs: [] }, ...over };
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
