import { csvHeader, csvRow, jsonlRow, parseCsv, parseJsonl, printable, splitCsv } from '../../src/ledger/format';
import { eraseRecord, InvalidRecordError, serialiseRecord, validateRecord } from '../../src/ledger/record';
import { parseTimeOption } from '../../src/cli/toolkit';
import type { StoredRecord } from '../../src/ledger/types';
import { testRecord, testRecording } from '../support/records';

const P = 'a'.repeat(64);

function rec(over: Partial<StoredRecord> = {}): StoredRecord {
  const record = testRecord({
    uniqueId: '1740823200.1',
    callerPseudonym: P,
    calledNumber: '+212522000000',
    enteredAt: '2025-03-01T10:00:00.000Z',
    noticeStartedAt: '2025-03-01T10:00:00.200Z',
    decidedAt: '2025-03-01T10:00:05.000Z',
    recording: testRecording('/var/spool/asterisk/recording/a.wav', null, '2025-03-01T10:00:05.300Z'),
  });
  return { ...record, erasedAt: null, ...over };
}

describe('export formats', () => {
  const nasty: StoredRecord[] = [
    rec(),
    rec({ uniqueId: 'x,1', noticeVersion: 'has "quotes", commas\nand a newline', calledNumber: '=1+1' }),
    rec({ uniqueId: 'x.2', noticeVersion: "'starts with apostrophe", calledNumber: '-2', outcome: null, digit: null, language: null, decidedAt: null }),
    rec({ uniqueId: 'x.3', noticeVersion: '@SUM(A1)', calledNumber: '+cmd|x', recording: null, erasedAt: '2025-04-01T00:00:00.000Z', callerPseudonym: '' }),
    rec({ uniqueId: 'x.4', noticeVersion: '', calledNumber: '', attempts: 12 }),
  ];

  test('When records with commas, quotes, newlines and formula-like cells are written as CSV, then parsing gives them back exactly', () => {
    const text = csvHeader() + nasty.map(csvRow).join('');
    expect(parseCsv(text)).toEqual(nasty);
  });

  test('When a cell would run as a spreadsheet formula, then it is written with a leading apostrophe; plain signed numbers are not', () => {
    const cells = splitCsv(csvRow(nasty[1] as StoredRecord))[0] ?? [];
    expect(cells).toContain("'=1+1");
    expect(splitCsv(csvRow(nasty[2] as StoredRecord))[0]).toContain('-2');
    expect(splitCsv(csvRow(rec()))[0]).toContain('+212522000000');
  });

  test('When records are written as JSON Lines, then parsing gives them back exactly', () => {
    expect(parseJsonl(nasty.map(jsonlRow).join(''))).toEqual(nasty);
  });

  test('When a CSV does not have the export header, then parsing refuses it', () => {
    expect(() => parseCsv('a,b\r\n1,2\r\n')).toThrow(/header differs/);
  });

  test('When text holds control characters, then printable escapes them', () => {
    expect(printable('a\u001b[2Jb\n')).toBe('a\\u001b[2Jb\\u000a');
  });
});

describe('records', () => {
  test('When a valid record is checked, then it passes; its stored JSON has a fixed field order', () => {
    expect(() => validateRecord(rec())).not.toThrow();
    const a = serialiseRecord(rec());
    const shuffled = Object.fromEntries(Object.entries(rec()).reverse()) as unknown as StoredRecord;
    expect(serialiseRecord(shuffled)).toBe(a);
  });

  test.each<[string, Partial<StoredRecord>, RegExp]>([
    ['a raw number as pseudonym', { callerPseudonym: '+212612345678' }, /callerPseudonym/],
    ['an empty uniqueid', { uniqueId: '' }, /uniqueId/],
    ['a control character', { uniqueId: 'a\nb' }, /control/],
    ['an unknown outcome', { outcome: 'maybe' as never }, /outcome/],
    ['a time without zone', { decidedAt: '2025-03-01T10:00:05' }, /decidedAt/],
    ['a missing enteredAt', { enteredAt: null as never }, /enteredAt/],
    ['a relative recording path', { recording: testRecording('rec/a.wav') }, /absolute/],
    ['negative attempts', { attempts: -1 }, /attempts/],
  ])('When a record has %s, then validation rejects it', (_what, over, msg) => {
    expect(() => validateRecord(rec(over))).toThrow(InvalidRecordError);
    expect(() => validateRecord(rec(over))).toThrow(msg);
  });

  test('When a record is erased, then its pseudonym and recording go and erasedAt is set', () => {
    const e = eraseRecord(rec(), new Date('2025-05-01T00:00:00Z'));
    expect(e).toEqual({ ...rec(), callerPseudonym: '', recording: { startedAt: '2025-03-01T10:00:05.300Z', file: null }, erasedAt: '2025-05-01T00:00:00.000Z' });
    expect(() => validateRecord(e, { erased: true })).not.toThrow();
  });
});

describe('--since / --until', () => {
  test.each([
    ['2025-01-31', '2025-01-31T00:00:00.000Z'],
    ['2025-01-31T08:30', '2025-01-31T08:30:00.000Z'],
    ['2025-01-31T08:30:15Z', '2025-01-31T08:30:15.000Z'],
    ['2025-01-31T08:30:15.250+01:00', '2025-01-31T07:30:15.250Z'],
    ['2025-01-31 08:30:15+0100', '2025-01-31T07:30:15.000Z'],
  ])('When the option is %p, then it means %p', (v, iso) => {
    expect(new Date(parseTimeOption('--since', v)).toISOString()).toBe(iso);
  });

  test.each(['yesterday', '31/01/2025', '2025-02-30', '2025-13-01', '2025-01-31T25:00', ''])('When the option is %p, then it is refused plainly', (v) => {
    expect(() => parseTimeOption('--since', v)).toThrow(/--since: ".*" is not a date; use ISO 8601/);
  });
});
