/**
 * Records already stored read, store and export exactly as before the record grouped its fields
 * (recording, withdrawal, pauses): the fixtures were written by the code of that time, from the raw
 * JSON below (an old record lacking the later fields, an erased, two withdrawn, a paused, an outbound,
 * one in the flow and one handed back after a restart).
 */
import fixtures from './fixtures/stored-records.json';
import { csvHeader, csvRow, jsonlRow, parseCsv, parseJsonl, TEXT_HEADER, textRecord, textRow } from '../../src/ledger/format';
import { parseStoredRecord, serialiseRecord, validateRecord } from '../../src/ledger/record';
import { RECORD_FIELDS } from '../../src/ledger/record-fields';

const raw = fixtures.raw as Record<string, string>;
const stored = fixtures.stored as Record<string, string>;
const names = Object.keys(raw);
const records = names.map((n) => parseStoredRecord(raw[n] as string));

describe('stored records from before', () => {
  test.each(names)('When the %s record is parsed and serialised, then it gives the stored bytes of before', (name) => {
    const r = parseStoredRecord(raw[name] as string);
    expect(serialiseRecord(r)).toBe(stored[name]);
    expect(serialiseRecord(parseStoredRecord(stored[name] as string))).toBe(stored[name]);
  });

  test.each(names)('The %s record still validates', (name) => {
    const r = parseStoredRecord(stored[name] as string);
    expect(() => validateRecord(r, { erased: r.erasedAt !== null })).not.toThrow();
  });

  test('An old record lacking the later fields reads them as empty', () => {
    expect(parseStoredRecord(raw.old as string)).toMatchObject({ direction: 'inbound', recording: { file: { server: null } }, withdrawal: null, pauses: [], fullNotice: null, erasedAt: null });
  });

  test('The stored field order is the one of before, the campaign profile after it', () => {
    expect(RECORD_FIELDS).toEqual([...Object.keys(JSON.parse(stored.accepted as string)), 'profile']);
  });

  test('When the records are exported as CSV, JSON Lines and text, then the output is the one of before, with an empty profile column (the default profile in the table)', () => {
    const withColumn = (csv: string, cell: (i: number) => string) => csv.split('\r\n').map((line, i) => (line === '' ? line : `${line},${cell(i)}`)).join('\r\n');
    expect(csvHeader() + records.map(csvRow).join('')).toBe(withColumn(fixtures.csv, (i) => (i === 0 ? 'profile' : '')));
    expect(records.map(jsonlRow).join('')).toBe(fixtures.jsonl);
    const table = fixtures.text.split('\n').map((line, i) => (line === '' ? line : `${line}\t${i === 0 ? 'PROFILE' : 'default'}`)).join('\n');
    expect(TEXT_HEADER + records.map(textRow).join('')).toBe(table);
    const width = Math.max(...RECORD_FIELDS.map((f) => f.length)) + 2;
    expect(records.map((r, i) => textRecord(r, { seq: i + 1 })).join('')).toBe(fixtures.show.replace(/^chainSeq/gm, `${'profile'.padEnd(width)}-\nchainSeq`));
  });

  test('When a record of before is exported and read back through today\'s CSV, then it serialises to its stored bytes (no profile field)', () => {
    expect(parseCsv(csvHeader() + records.map(csvRow).join('')).map(serialiseRecord)).toEqual(names.map((n) => stored[n]));
  });

  test('When the exports of before are read back, then they give the same records', () => {
    expect(parseCsv(fixtures.csv).map(serialiseRecord)).toEqual(names.map((n) => stored[n]));
    expect(parseJsonl(fixtures.jsonl).map(serialiseRecord)).toEqual(names.map((n) => stored[n]));
  });

  test('When stored fields that go together are only partly set, then parsing refuses the record', () => {
    const half = { ...(JSON.parse(stored.accepted as string) as object), withdrawnAt: '2026-11-30T10:00:00.000Z' };
    expect(() => parseStoredRecord(JSON.stringify(half))).toThrow(/set together/);
  });
});
