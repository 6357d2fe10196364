/**
 * Retention and reading by campaign profile, over the in-memory store: the purge removes each record
 * after its own profile's retention (the default's for records of no profile or of a profile no longer
 * configured) and counts per profile, the log still verifies afterwards, an erasure reaches the caller
 * in every profile, and listing keeps one profile's records. (The same through the CLI and Redis:
 * test/e2e/ledger-profiles.test.ts.)
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyLedger } from '../../src/evidence/verify';
import { ChainAppender } from '../../src/ledger/appender';
import { eventFor } from '../../src/ledger/durable-ledger';
import { pseudonymise } from '../../src/ledger/pseudonym';
import { listRecords, type AdminContext, type RecordFilter } from '../../src/ledger/query';
import { parseStoredRecord } from '../../src/ledger/record';
import type { StoredRecord } from '../../src/ledger/types';
import type { ConsentRecord } from '../../src/ports/ledger';
import { eraseCaller } from '../../src/retention/admin';
import { purgeLedger, type ProfilePurge } from '../../src/retention/purge';
import { MemoryLedgerStore } from '../support/memory-ledger-store';
import { testRecord, testRecording, TEST_PSEUDONYM_KEY } from '../support/records';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T03:00:00.000Z');
const ago = (days: number, ms = 0) => new Date(NOW - days * DAY + ms).toISOString();

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'civr-retention-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A maintenance context over `store` at NOW: the default kept 180 days, `bank` 30; two records a chunk. */
function ctx(store: MemoryLedgerStore, over: Partial<AdminContext> = {}): AdminContext {
  let id = 0;
  return {
    store,
    now: () => new Date(NOW),
    serverId: 'pbx-1',
    recordingDir: dir,
    retentionDays: 180,
    profileRetention: { default: 180, bank: 30 },
    pseudonymKey: TEST_PSEUDONYM_KEY,
    chunk: 2,
    newId: () => `admin-${(id += 1)}`,
    ...over,
  };
}

/** A call of `profile` entered `days` ago (plus `ms`), refused and unrecorded unless `over` says otherwise. */
function call(n: number, profile: string | null, days: number, over: Partial<ConsentRecord> = {}, ms = 0): ConsentRecord {
  return testRecord({
    uniqueId: `${Math.floor((NOW - days * DAY) / 1000)}.${n}`,
    profile,
    outcome: 'refused',
    digit: '2',
    enteredAt: ago(days, ms),
    noticeStartedAt: ago(days, ms + 100),
    decidedAt: ago(days, ms + 4000),
    recording: null,
    callerPseudonym: pseudonymise(`06110000${String(n).padStart(2, '0')}`, TEST_PSEUDONYM_KEY),
    ...over,
  });
}

/** An accepted call whose recording is a file in the test's recording folder (on `server`: null, this one). */
function recorded(n: number, profile: string | null, days: number, server: string | null = null): ConsentRecord {
  const path = join(dir, `${n}.wav`);
  writeFileSync(path, 'RIFF');
  return call(n, profile, days, { outcome: 'accepted', digit: '1', recording: testRecording(path, server, ago(days, 4010)) });
}

/** Stores the records in `store`'s log as the service does: one outcome entry each, which writes its record. */
async function seed(store: MemoryLedgerStore, records: ConsentRecord[]): Promise<void> {
  await store.registerSelf();
  const appender = new ChainAppender(store);
  for (const r of records) await appender.submit(eventFor('outcome', r, new Date(Date.parse(r.enteredAt) + 5000).toISOString(), `ev-${r.uniqueId}`)).done;
}

function stored(store: MemoryLedgerStore): StoredRecord[] {
  return [...store.state.records.values()].flatMap((r) => (r.json === null ? [] : [parseStoredRecord(r.json)]));
}

const ids = (records: { uniqueId: string }[]) => records.map((r) => r.uniqueId).sort();

function profile(report: { profiles: ProfilePurge[] }, name: string): ProfilePurge | undefined {
  return report.profiles.find((p) => p.profile === name);
}

describe('purge by campaign profile', () => {
  test("When a 30-day profile's record and a default one are both 40 days old, then only the first goes, with its recording; each profile's count says so", async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const bankOld = recorded(1, 'bank', 40);
    const defaultOld = recorded(2, 'default', 40);
    const bankNew = call(3, 'bank', 10);
    await seed(store, [bankOld, defaultOld, bankNew]);

    const r = await purgeLedger(ctx(store));
    expect(r.skipped).toBeNull();
    expect(ids(stored(store))).toEqual(ids([defaultOld, bankNew]));
    expect(existsSync(bankOld.recording?.file?.path ?? '')).toBe(false);
    expect(existsSync(defaultOld.recording?.file?.path ?? '')).toBe(true);
    expect(r).toMatchObject({ records: 1, recordingsDeleted: 1, failures: [], waiting: {} });
    expect(r.profiles).toEqual([
      { profile: 'default', configured: true, retentionDays: 180, cutoff: ago(180), records: 0, recordingsDeleted: 0, recordingsMissing: 0, kept: 0 },
      { profile: 'bank', configured: true, retentionDays: 30, cutoff: ago(30), records: 1, recordingsDeleted: 1, recordingsMissing: 0, kept: 0 },
    ]);
    // The top-level cutoff is the longest retention's: before it, every profile's records have gone.
    expect(r.cutoff).toBe(ago(180));
  });

  test('When records name no profile (made before profiles), then they keep the default\'s retention and are counted as the default\'s', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const before = [call(1, null, 40), call(2, null, 200), call(3, 'default', 200), call(4, 'bank', 200)];
    await seed(store, before);
    const r = await purgeLedger(ctx(store));
    expect(ids(stored(store))).toEqual(ids([before[0] as ConsentRecord]));
    expect(profile(r, 'default')).toMatchObject({ records: 2 });
    expect(profile(r, 'bank')).toMatchObject({ records: 1 });
    expect(r.records).toBe(3);
    expect(r.profiles.map((p) => p.profile)).toEqual(['default', 'bank']);
  });

  test("When records name a profile no longer in the configuration, then they get the default's retention, and the report names that profile as not configured", async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const young = call(1, 'spring-sale', 40);
    const old = call(2, 'spring-sale', 181);
    await seed(store, [young, old]);
    const r = await purgeLedger(ctx(store));
    expect(ids(stored(store))).toEqual([young.uniqueId]);
    expect(profile(r, 'spring-sale')).toEqual({ profile: 'spring-sale', configured: false, retentionDays: 180, cutoff: ago(180), records: 1, recordingsDeleted: 0, recordingsMissing: 0, kept: 0 });
    expect(r.profiles.map((p) => p.profile)).toEqual(['default', 'bank', 'spring-sale']);
  });

  test("When the default profile is kept for less than a campaign, then the campaign's records outlive the default's", async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const recs = [call(1, 'archive', 100), call(2, 'default', 100), call(3, null, 100), call(4, 'archive', 400)];
    await seed(store, recs);
    const r = await purgeLedger(ctx(store, { retentionDays: 90, profileRetention: { default: 90, archive: 365 } }));
    expect(ids(stored(store))).toEqual([recs[0]?.uniqueId]);
    expect(profile(r, 'default')).toMatchObject({ retentionDays: 90, records: 2 });
    expect(profile(r, 'archive')).toMatchObject({ retentionDays: 365, records: 1 });
    expect(r.cutoff).toBe(ago(365));
  });

  test('When many records share one time across chunks, then every one past its retention goes and every other stays (the walk by time is not thrown off by the deletions)', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    // Seven records entered in the same millisecond, and more around it; two records a chunk.
    const same = [1, 2, 3, 4, 5, 6, 7].map((n) => call(n, n % 2 === 0 ? 'default' : 'bank', 40));
    const around = [call(8, 'bank', 40, {}, -1), call(9, 'bank', 40, {}, 1), call(10, 'default', 40, {}, 1), call(11, 'bank', 40, {}, 2)];
    await seed(store, [...same, ...around]);
    const r = await purgeLedger(ctx(store));
    const defaults = [...same, ...around].filter((c) => c.profile === 'default');
    expect(ids(stored(store))).toEqual(ids(defaults));
    expect(profile(r, 'bank')).toMatchObject({ records: 7 });
    expect(r.records).toBe(7);
  });

  test("When a record past its profile's retention has its recording on another server, then it waits for that server, counted as kept, and the purge after the confirmation removes it", async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const there = recorded(1, 'bank', 40, 'pbx-2');
    await seed(store, [there]);
    const first = await purgeLedger(ctx(store));
    expect(first).toMatchObject({ records: 0, waiting: { 'pbx-2': 1 } });
    expect(profile(first, 'bank')).toMatchObject({ records: 0, kept: 1 });
    expect(ids(stored(store))).toEqual([there.uniqueId]);
    expect(await store.pendingDeletions('pbx-2')).toEqual([expect.objectContaining({ uniqueId: there.uniqueId, reason: 'purge' })]);

    await store.confirmDeletion('pbx-2', there.uniqueId, 'deleted', NOW);
    const second = await purgeLedger(ctx(store));
    expect(second).toMatchObject({ records: 1, recordingsDeleted: 1, waiting: {} });
    expect(profile(second, 'bank')).toMatchObject({ records: 1, recordingsDeleted: 1, kept: 0 });
    expect(stored(store)).toEqual([]);
    expect(await store.deletionConfirmations([there.uniqueId])).toEqual([null]);
  });

  test('When the purge ran, then each log has its purge entry with the totals, and verify finds no record missing (a campaign kept for less than the default)', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const other = store.forLog('pbx-2');
    await seed(store, [call(1, 'bank', 40), call(2, 'default', 40)]);
    await seed(other, [call(3, 'bank', 35), call(4, null, 20)]);
    const c = ctx(store);
    const r = await purgeLedger(c);
    expect(r.records).toBe(2);
    for (const log of [store, other]) {
      const last = log.state.entries[log.state.entries.length - 1];
      expect(JSON.parse(String(last?.body))).toMatchObject({ type: 'purge', cutoff: ago(180), records: 2, recordingsDeleted: 0, failures: 0, waiting: 0, trimmedTo: null });
    }
    const v = await verifyLedger(c, { keys: [], checkpointFiles: [], hostCheckpointFile: null, checkpointIntervalMs: 60_000, recordings: false, recordingFormat: 'wav' });
    for (const log of v.logs) expect({ log: log.log, records: log.records.problems, first: log.records.problem }).toEqual({ log: log.log, records: 0, first: null });
    expect(v.logs.every((l) => l.chain.ok)).toBe(true);
  });

  test('When no campaign profile is configured, then the purge is the one retention it was: records before it go, in the one count of the default', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const recs = [call(1, null, 200), call(2, 'default', 181), call(3, null, 179)];
    await seed(store, recs);
    const r = await purgeLedger(ctx(store, { profileRetention: undefined }));
    expect(ids(stored(store))).toEqual([recs[2]?.uniqueId]);
    expect(r.profiles).toEqual([expect.objectContaining({ profile: 'default', configured: true, retentionDays: 180, records: 2 })]);
    expect(r.cutoff).toBe(ago(180));
  });

  test('When another purge holds the lock, then nothing is done and every configured profile is listed at zero', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    await seed(store, [call(1, 'bank', 40)]);
    await store.lock('purge', 60_000);
    const r = await purgeLedger(ctx(store));
    expect(r.skipped).toBe('another purge is running');
    expect(r.profiles.map((p) => [p.profile, p.records])).toEqual([
      ['default', 0],
      ['bank', 0],
    ]);
    expect(stored(store)).toHaveLength(1);
  });
});

describe('erasure across campaign profiles', () => {
  test("When a caller is erased, then their records in every profile and every log are erased, and another caller's stay", async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const other = store.forLog('pbx-2');
    const number = '0661234567';
    const who = pseudonymise(number, TEST_PSEUDONYM_KEY);
    const theirs = [recorded(1, 'bank', 5), recorded(2, 'default', 5), call(3, null, 5)].map((r) => ({ ...r, callerPseudonym: who }));
    const inOther = { ...call(4, 'bank', 3), callerPseudonym: who };
    const someoneElse = call(5, 'bank', 5);
    await seed(store, [...theirs, someoneElse]);
    await seed(other, [inOther]);

    const r = await eraseCaller(ctx(store), number);
    expect(r).toMatchObject({ records: 4, recordingsDeleted: 2, failures: [] });
    const byId = new Map([...theirs, inOther].map((t) => [t.uniqueId, t]));
    for (const rec of [...stored(store), ...stored(other)]) {
      if (rec.uniqueId === someoneElse.uniqueId) expect(rec).toEqual({ ...someoneElse, erasedAt: null });
      // Erased, and still of the profile it was made in.
      else expect(rec).toMatchObject({ callerPseudonym: '', erasedAt: ago(0), profile: byId.get(rec.uniqueId)?.profile });
    }
    for (const t of theirs.slice(0, 2)) expect(existsSync(t.recording?.file?.path ?? '')).toBe(false);
  });
});

describe('listing by campaign profile', () => {
  async function listed(store: MemoryLedgerStore, filter: Partial<RecordFilter>): Promise<string[]> {
    const out: string[] = [];
    for await (const chunk of listRecords(ctx(store), { fromMs: -Infinity, toMs: Infinity, ...filter })) out.push(...chunk.map((r) => r.uniqueId));
    return out;
  }

  test('When records are listed for one profile, then only its records come, in order, over every log; "default" includes those of no profile; a profile not configured is listed all the same', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const other = store.forLog('pbx-2');
    const a = [call(1, null, 9), call(2, 'bank', 8), call(3, 'default', 7), call(4, 'spring-sale', 6)];
    const b = [call(5, 'bank', 8, {}, 1), call(6, null, 5), call(7, 'bank', 4, { outcome: 'accepted', digit: '1' })];
    await seed(store, a);
    await seed(other, b);
    const [n1, n2, n3, n4, n5, n6, n7] = [...a, ...b].map((r) => r.uniqueId);
    expect(await listed(store, { profile: 'default' })).toEqual([n1, n3, n6]);
    expect(await listed(store, { profile: 'bank' })).toEqual([n2, n5, n7]);
    expect(await listed(store, { profile: 'spring-sale' })).toEqual([n4]);
    expect(await listed(store, { profile: 'nobody' })).toEqual([]);
    expect(await listed(store, {})).toEqual([n1, n2, n5, n3, n4, n6, n7]);
  });

  test('When the profile is combined with a time window and an outcome, then a record must meet all three', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const recs = [call(1, 'bank', 9), call(2, 'bank', 6), call(3, 'bank', 5, { outcome: 'accepted', digit: '1' }), call(4, 'default', 6), call(5, 'bank', 2)];
    await seed(store, recs);
    const window = { fromMs: Date.parse(ago(7)), toMs: Date.parse(ago(3)) };
    expect(await listed(store, { ...window, profile: 'bank' })).toEqual([recs[1]?.uniqueId, recs[2]?.uniqueId]);
    expect(await listed(store, { ...window, profile: 'bank', outcome: 'refused' })).toEqual([recs[1]?.uniqueId]);
    expect(await listed(store, { ...window, profile: 'default', outcome: 'accepted' })).toEqual([]);
  });
});
