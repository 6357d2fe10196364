import { appendFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, JournalLockedError, type JournalEntry } from '../../src/ledger/journal';
import type { ConsentRecord } from '../../src/ports/ledger';
import { unrecordedTestRecord } from '../support/records';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'civr-journal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const record = (i: number): ConsentRecord =>
  unrecordedTestRecord({ uniqueId: `u.${i}`, callerPseudonym: 'b'.repeat(64), calledNumber: '100', language: 'fr', enteredAt: '2025-03-01T10:00:00.000Z', noticeStartedAt: null, decidedAt: null });
const entry = (i: number): JournalEntry => ({ id: `e${i}`, kind: 'outcome', at: '2025-03-01T10:00:01.000Z', record: record(i) });

describe('journal', () => {
  test('When entries are appended and the journal reopened, then the unacknowledged ones are pending in order', async () => {
    const path = join(dir, 'sub', 'j.jsonl');
    const j = await Journal.open(path);
    await Promise.all([1, 2, 3, 4].map((i) => j.append(entry(i))));
    await j.ack(['e2']);
    expect(j.backlog()).toBe(3);
    await j.close();
    const again = await Journal.open(path);
    expect(again.pending().map((e) => e.id)).toEqual(['e1', 'e3', 'e4']);
    expect(again.pending()[0]?.record).toEqual(record(1));
    await again.close();
  });

  test('When a journal holds a line written before the record grouped its fields, then it reads into the record', async () => {
    const path = join(dir, 'old.jsonl');
    const old = {
      ...{ uniqueId: 'u.9', linkedId: 'u.9', direction: 'inbound', callerPseudonym: 'b'.repeat(64), calledNumber: '100', outcome: 'accepted', digit: '1', language: 'fr', attempts: 1 },
      ...{ enteredAt: '2025-03-01T10:00:00.000Z', noticeStartedAt: null, decidedAt: null, recordingStartedAt: '2025-03-01T10:00:05.000Z', recordingPath: '/rec/u.9.wav', recordingServer: 'srv' },
      ...{ noticeVersion: 'v1', withdrawnAt: null, withdrawnBy: null, withdrawalRecording: null, pauses: '2025-03-01T10:00:06.000Z/' },
    };
    writeFileSync(path, `${JSON.stringify({ t: 'w', id: 'e9', kind: 'pause', at: '2025-03-01T10:00:06.000Z', record: old })}\n`);
    const j = await Journal.open(path);
    expect(j.pending()[0]?.record).toEqual({
      ...record(9),
      outcome: 'accepted',
      digit: '1',
      recording: { startedAt: '2025-03-01T10:00:05.000Z', file: { path: '/rec/u.9.wav', server: 'srv' } },
      pauses: [{ start: '2025-03-01T10:00:06.000Z', end: null }],
    });
    await j.close();
  });

  test('When many appends arrive together, then they share writes and all reach the file', async () => {
    const path = join(dir, 'j.jsonl');
    const j = await Journal.open(path);
    await Promise.all(Array.from({ length: 200 }, (_, i) => j.append(entry(i))));
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(200);
    await j.close();
  });

  test('When the last line was cut short by a crash, then it is skipped with a warning and later writes start on a new line', async () => {
    const path = join(dir, 'j.jsonl');
    const j = await Journal.open(path);
    await j.append(entry(1));
    await j.close();
    appendFileSync(path, '{"t":"w","id":"e2","kind":"outc');
    const j2 = await Journal.open(path);
    expect(j2.pending().map((e) => e.id)).toEqual(['e1']);
    expect(j2.warnings[0]?.problem).toMatch(/incomplete last line/);
    await j2.append(entry(3));
    await j2.close();
    const j3 = await Journal.open(path);
    expect(j3.pending().map((e) => e.id)).toEqual(['e1', 'e3']);
    await j3.close();
  });

  test('When a symlink waits at the old temporary name, then compaction writes through no link: the target is untouched and the journal keeps its pending entries', async () => {
    const path = join(dir, 'j.jsonl');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep me\n');
    symlinkSync(victim, `${path}.tmp`);
    const j = await Journal.open(path);
    await Promise.all([1, 2].map((i) => j.append(entry(i))));
    await j.ack(['e1']);
    await j.compact();
    expect(readFileSync(victim, 'utf8')).toBe('keep me\n');
    expect(j.pending().map((e) => e.id)).toEqual(['e2']);
    await j.close();
    const again = await Journal.open(path);
    expect(again.pending().map((e) => e.id)).toEqual(['e2']);
    await again.close();
  });

  test('When everything is acknowledged and the journal compacted, then the file is empty; pending entries survive compaction', async () => {
    const path = join(dir, 'j.jsonl');
    const j = await Journal.open(path);
    await j.append(entry(1));
    await j.append(entry(2));
    await j.ack(['e1']);
    await j.compact();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(1);
    await j.append(entry(3));
    await j.ack(['e2', 'e3']);
    await j.compact();
    expect(readFileSync(path, 'utf8')).toBe('');
    await j.append(entry(4));
    await j.close();
    const again = await Journal.open(path);
    expect(again.pending().map((e) => e.id)).toEqual(['e4']);
    await again.close();
  });

  test('When a second process holds the journal, then opening it fails; a stale lock is taken over', async () => {
    const path = join(dir, 'j.jsonl');
    const j = await Journal.open(path);
    await expect(Journal.open(path)).rejects.toBeInstanceOf(JournalLockedError);
    await j.close();
    writeFileSync(`${path}.lock`, '999999999\n');
    const j2 = await Journal.open(path);
    await j2.close();
  });

  test('When the journal is closed, then appends reject', async () => {
    const j = await Journal.open(join(dir, 'j.jsonl'));
    await j.close();
    await expect(j.append(entry(1))).rejects.toThrow(/closed/);
  });
});
