/**
 * `consent-ivr ledger …` against a real Redis of its own (a redis-server on a free port in a temporary
 * folder; never the shared sandbox's): verify, export, list, show, erase and purge, through the command
 * functions and through the real entry point (src/cli/main.ts compiled).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { eventually, freePort, RedisServer, waitForRedis } from '../support';
import type { Config } from '../../src/config/schema';
import { createLedger } from '../../src/service/ledger';
import { parseStoredRecord, pseudonymise } from '../../src/ledger';
import { parseCsv, parseJsonl } from '../../src/ledger/format';
import { registerLedgerCommands } from '../../src/cli/ledger-commands';
import { runExport, runList, runShow } from '../../src/cli/records-commands';
import { runCheckpoint, runVerify } from '../../src/cli/evidence-commands';
import { runErase, runPurge } from '../../src/cli/retention-commands';
import type { ConsentRecord } from '../../src/ports/ledger';
import type { StoredRecord } from '../../src/ledger/types';
import { testRecording, TEST_PROMPT_TEXTS, TEST_PSEUDONYM_KEY as KEY } from '../support/records';
import { captureIo, quietLogger, settableClock } from '../support/cli-io';
import { fakeRecording, ledgerRecord, LedgerCases, seedLedger, type LedgerCase } from '../support/ledger-cases';

const REPO = resolve(__dirname, '../..');

const DAY = 86_400_000;
const NOW = Math.floor(Date.now() / 1000) * 1000;
const cases = new LedgerCases('cli');
let redis: RedisServer;
let raw: Redis;
let work: string;

beforeAll(async () => {
  await cases.start();
  ({ redis, raw, work } = cases);
});

afterAll(() => cases.stop());

type Env = LedgerCase;
const env = (retentionDays = 180): Env => cases.env(retentionDays);
const publicKeyFile = (e: { dir: string }): string => cases.publicKeyFile(e);
const rec = ledgerRecord;
/** Writes records through the real ledger, with its clock at each record's time, and signs the log. */
const seed = (e: Env, records: ConsentRecord[]): Promise<void> => seedLedger(e, records, NOW);

async function storedRecords(e: Env): Promise<StoredRecord[]> {
  const ids = await raw.zrange(`${e.prefix}{ledger:main}:idx:entered`, '0', '-1');
  const out: StoredRecord[] = [];
  for (const id of ids) out.push(parseStoredRecord(String(await raw.hget(`${e.prefix}{ledger:main}:rec:${id}`, 'record'))));
  return out;
}

type Entry = [string, string[]];

/** Rebuilds the log from `entries` (what someone with write access to Redis could do). */
async function rewriteChain(e: Env, entries: Entry[], ids?: string[]): Promise<void> {
  const key = `${e.prefix}{ledger:main}:chain`;
  await raw.del(key);
  for (let i = 0; i < entries.length; i++) {
    const [id, fields] = entries[i] as Entry;
    await raw.xadd(key, ids?.[i] ?? id, ...fields);
  }
}

async function chainOf(e: Env): Promise<Entry[]> {
  return (await raw.xrange(`${e.prefix}{ledger:main}:chain`, '-', '+')) as Entry[];
}

function setField(fields: string[], name: string, value: string): string[] {
  const out = [...fields];
  out[out.indexOf(name) + 1] = value;
  return out;
}

const sixCalls = (t0: number) => [
  rec(1, t0, 'accepted', '0611000001'),
  rec(2, t0 + 60_000, 'refused', '0611000002'),
  rec(3, t0 + 120_000, 'no-input', '0611000003'),
  rec(4, t0 + 180_000, 'abandoned', '0611000004'),
];

describe('ledger verify', () => {
  test('When the chain and the records are intact, then verify passes with exit 0', async () => {
    const e = env();
    await seed(e, sixCalls(NOW - DAY));
    const c = captureIo();
    expect(await runVerify(e.config, {}, { io: c.io })).toBe(0);
    expect(c.out()).toMatch(/chain: OK, 6 entries/);
    expect(c.out()).toMatch(/records: OK, 4 checked/);
    expect(c.out()).toMatch(/ledger verified/);
    expect(c.err()).toBe(''); // stderr is not a terminal: no progress
  });

  test('When an entry of the log is edited, then verify names that entry and exits 1', async () => {
    const e = env();
    await seed(e, sixCalls(NOW - DAY));
    const entries = await chainOf(e);
    const [id, fields] = entries[2] as Entry;
    const body = JSON.parse(String(fields[fields.indexOf('body') + 1])) as Record<string, unknown>;
    entries[2] = [id, setField(fields, 'body', JSON.stringify({ ...body, outcome: 'accepted' }))];
    await rewriteChain(e, entries);
    const c = captureIo();
    expect(await runVerify(e.config, {}, { io: c.io })).toBe(1);
    expect(c.out()).toMatch(/chain: BROKEN \(edited\): entry seq 3 \(id 3-0, position 3\): its content does not match its hash/);
    expect(c.out()).toMatch(/verification FAILED/);
  });

  test('When an entry is edited and its hash recomputed, then verify reports the broken link at the next entry', async () => {
    const e = env();
    await seed(e, sixCalls(NOW - DAY));
    const entries = await chainOf(e);
    const [id, fields] = entries[2] as Entry;
    const { entryHash } = await import('../../src/ledger/chain');
    const body = JSON.stringify({ ...(JSON.parse(String(fields[fields.indexOf('body') + 1])) as object), outcome: 'accepted' });
    const f2 = setField(setField(fields, 'body', body), 'hash', entryHash(3, String(fields[fields.indexOf('prev') + 1]), body));
    entries[2] = [id, f2];
    await rewriteChain(e, entries);
    const c = captureIo();
    expect(await runVerify(e.config, { json: true }, { io: c.io })).toBe(1);
    const report = JSON.parse(c.out()) as { logs: { chain: { break: { kind: string; seq: number; id: string } } }[] };
    expect(report.logs[0]?.chain.break).toMatchObject({ kind: 'edited', seq: 4, id: '4-0' });
  });

  test.each([
    ['an entry', 'verify reports the missing seq', '3-0', /BROKEN \(deleted\): entry seq 4 \(id 4-0, position 3\) follows seq 2: entry seq 3 is missing/],
    ['the last entry', 'verify still notices (the log remembers its last id)', '6-0', /BROKEN \(deleted\): the log's last appended entry was 6-0 but the walk ends at seq 5/],
  ])('When %s is deleted, then %s and exits 1', async (_entry, _then, id, report) => {
    const e = env();
    await seed(e, sixCalls(NOW - DAY));
    await raw.xdel(`${e.prefix}{ledger:main}:chain`, id);
    const c = captureIo();
    expect(await runVerify(e.config, {}, { io: c.io })).toBe(1);
    expect(c.out()).toMatch(report);
  });

  test('When two entries are swapped, then verify reports a reordering and exits 1', async () => {
    const e = env();
    await seed(e, sixCalls(NOW - DAY));
    const entries = await chainOf(e);
    const swapped = [entries[0], entries[1], entries[3], entries[2], entries[4], entries[5]] as Entry[];
    await rewriteChain(
      e,
      swapped,
      entries.map(([id]) => id),
    );
    const c = captureIo();
    expect(await runVerify(e.config, {}, { io: c.io })).toBe(1);
    expect(c.out()).toMatch(/BROKEN \(reordered\): entry seq 4 \(id 3-0, position 3\) comes right after seq 2, but seq 3 turns up later \(id 4-0, position 4\)/);
  });

  test('When a record is edited in Redis, then verify reports that record and exits 1', async () => {
    const e = env();
    const calls = sixCalls(NOW - DAY);
    await seed(e, calls);
    const key = `${e.prefix}{ledger:main}:rec:${calls[1]?.uniqueId}`;
    const json = JSON.parse(String(await raw.hget(key, 'record'))) as Record<string, unknown>;
    await raw.hset(key, 'record', JSON.stringify({ ...json, outcome: 'accepted', digit: '1' }));
    const c = captureIo();
    expect(await runVerify(e.config, {}, { io: c.io })).toBe(1);
    expect(c.out()).toContain('chain: OK');
    expect(c.out()).toMatch(new RegExp(`records: BROKEN: record ${calls[1]?.uniqueId.replace('.', '\\.')}: its content differs from what chain entry seq \\d+ recorded`));
  });

  test('When a record is deleted outside erase and purge, then verify reports it missing', async () => {
    const e = env();
    const calls = sixCalls(NOW - DAY);
    await seed(e, calls);
    await raw.del(`${e.prefix}{ledger:main}:rec:${calls[2]?.uniqueId}`);
    const c = captureIo();
    expect(await runVerify(e.config, {}, { io: c.io })).toBe(1);
    expect(c.out()).toContain(`record ${calls[2]?.uniqueId} (named by chain entry seq 5) is missing`);
  });
});

describe('ledger export, list and show', () => {
  const tricky = (t0: number) => [
    rec(1, t0, 'accepted', '+33 6 12 34 56 78', { noticeVersion: 'v1, "quoted"', calledNumber: '=HYPERLINK("http://x")' }),
    rec(2, t0 + 1000, 'refused', '0611000002', { noticeVersion: "'apostrophe", calledNumber: '-1+2' }),
    rec(3, t0 + 2000, 'abandoned', 'anonymous', { noticeVersion: 'multi\u00a0space', calledNumber: '@sum' }),
    rec(4, t0 + 3000, 'error', '0611000004', { language: null, decidedAt: null, digit: null }),
    rec(5, t0 + 4000, 'no-input', '0611000005', { calledNumber: '+212522000000' }),
  ];

  test('When the ledger is exported as CSV, then parsing the export gives back exactly the stored records', async () => {
    const e = env();
    await seed(e, tricky(NOW - DAY));
    const c = captureIo();
    expect(await runExport(e.config, { format: 'csv' }, { io: c.io })).toBe(0);
    expect(c.out()).toContain("'=HYPERLINK"); // formula neutralised for spreadsheets
    expect(parseCsv(c.out())).toEqual(await storedRecords(e));
    expect(c.err()).toBe('');
  });

  test('When the ledger is exported as JSON Lines, then parsing the export gives back exactly the stored records', async () => {
    const e = env();
    await seed(e, tricky(NOW - DAY));
    const c = captureIo();
    expect(await runExport(e.config, { format: 'jsonl' }, { io: c.io })).toBe(0);
    expect(parseJsonl(c.out())).toEqual(await storedRecords(e));
  });

  test('When --since and --until are given, then only records entered in that window are exported', async () => {
    const e = env();
    const t0 = NOW - DAY;
    await seed(e, tricky(t0));
    const c = captureIo();
    const since = new Date(t0 + 1000).toISOString();
    const until = new Date(t0 + 3000).toISOString();
    expect(await runExport(e.config, { format: 'jsonl', since, until }, { io: c.io })).toBe(0);
    expect(parseJsonl(c.out()).map((r) => r.uniqueId)).toEqual(tricky(t0).slice(1, 3).map((r) => r.uniqueId));
  });

  test('When a ledger is larger than one chunk, then export streams it all in order', async () => {
    const e = env();
    const t0 = NOW - DAY;
    const many = Array.from({ length: 1203 }, (_, i) => rec(i, t0 + Math.floor(i / 3) * 1000, 'refused', `06110${String(i).padStart(5, '0')}`));
    await seed(e, many);
    const c = captureIo(true);
    expect(await runExport(e.config, { format: 'csv' }, { io: c.io })).toBe(0);
    const got = parseCsv(c.out());
    expect(c.err()).toMatch(/^\rrecords exported: \d+/); // progress, because stderr is a terminal here
    expect(got).toHaveLength(1203);
    expect(new Set(got.map((r) => r.uniqueId)).size).toBe(1203);
    expect(got.map((r) => Date.parse(r.enteredAt))).toEqual([...got.map((r) => Date.parse(r.enteredAt))].sort((a, b) => a - b));
  }, 60000);

  test('When list is filtered by outcome, then only those records are listed, as text or JSON', async () => {
    const e = env();
    await seed(e, tricky(NOW - DAY));
    const c = captureIo();
    expect(await runList(e.config, { outcome: 'refused' }, { io: c.io })).toBe(0);
    const lines = c.out().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('\trefused\t2\t');
    const j = captureIo();
    expect(await runList(e.config, { json: true }, { io: j.io })).toBe(0);
    expect((JSON.parse(j.out()) as unknown[]).length).toBe(5);
  });

  test('When show is given a uniqueid, then it prints that record; an unknown one exits 1', async () => {
    const e = env();
    const calls = tricky(NOW - DAY);
    await seed(e, calls);
    const c = captureIo();
    expect(await runShow(e.config, String(calls[0]?.uniqueId), { json: true }, { io: c.io })).toBe(0);
    expect(parseStoredRecord(c.out())).toEqual({ ...calls[0], erasedAt: null });
    const t = captureIo();
    expect(await runShow(e.config, String(calls[1]?.uniqueId), {}, { io: t.io })).toBe(0);
    expect(t.out()).toMatch(/outcome\s+refused/);
    const missing = captureIo();
    expect(await runShow(e.config, 'nope.1', {}, { io: missing.io })).toBe(1);
    expect(missing.err()).toContain('no record for uniqueid nope.1');
  });

  test.each([
    [{ since: 'yesterday' }, /--since: "yesterday" is not a date; use ISO 8601/],
    [{ until: '2025-02-30' }, /--until: "2025-02-30" is not a date/],
    [{ since: '2025-03-02', until: '2025-03-01' }, /--since must be before --until/],
    [{ outcome: 'maybe' }, /--outcome: "maybe" is not one of accepted, refused/],
  ])('When list gets a bad option %p, then it says so plainly and exits 2', async (opts, message) => {
    const e = env();
    const c = captureIo();
    expect(await runList(e.config, opts, { io: c.io })).toBe(2);
    expect(c.err()).toMatch(message);
  });

  test('When export gets an unknown format, then it exits 2', async () => {
    const c = captureIo();
    expect(await runExport(env().config, { format: 'xml' }, { io: c.io })).toBe(2);
    expect(c.err()).toMatch(/--format: "xml" is not csv or jsonl/);
  });

  test('When Redis cannot be reached, then the command fails with exit 1 and says where it tried', async () => {
    const e = env();
    const cfg = { ...e.config, redis: { ...e.config.redis, url: 'redis://:secretpw@127.0.0.1:1/0' } };
    const c = captureIo();
    expect(await runVerify(cfg, {}, { io: c.io })).toBe(1);
    expect(c.err()).toMatch(/cannot reach Redis \(redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0\)/);
    expect(c.err()).not.toContain('secretpw');
  });
});

describe('ledger erase', () => {
  test("When a caller's erasure is requested, then exactly their recordings and personal fields go, the erasure is logged, and the chain still verifies", async () => {
    const e = env();
    const a = '06 61 23 45 67';
    const b = '0662000000';
    const t0 = NOW - DAY;
    const file = (n: string) => fakeRecording(e, n);
    const aRecs = [
      rec(1, t0, 'accepted', a, { recording: testRecording(file('a1.wav'), null, new Date(t0 + 4500).toISOString()) }),
      rec(2, t0 + 1000, 'accepted', '+212661234567', { recording: testRecording(file('a2.wav'), null, new Date(t0 + 5500).toISOString()) }),
      rec(3, t0 + 2000, 'refused', '00212661234567'),
      rec(4, t0 + 3000, 'accepted', a, { recording: testRecording(join(e.recordings, 'already-gone.wav')) }),
    ];
    const bRecs = [rec(5, t0 + 4000, 'accepted', b, { recording: testRecording(file('b1.wav')) }), rec(6, t0 + 5000, 'refused', b)];
    await seed(e, [...aRecs, ...bRecs]);

    const c = captureIo();
    expect(await runErase(e.config, { caller: '+212 (0)6-61.23.45.67'.replace('(0)', '') }, { io: c.io })).toBe(0);
    expect(c.out()).toContain('erased 4 record(s) of this caller; 2 recording file(s) confirmed deleted, 1 found already missing');
    expect(c.out() + c.err()).not.toMatch(/6123|661234567/);

    expect(existsSync(join(e.recordings, 'a1.wav'))).toBe(false);
    expect(existsSync(join(e.recordings, 'a2.wav'))).toBe(false);
    expect(existsSync(join(e.recordings, 'b1.wav'))).toBe(true);
    const stored = new Map((await storedRecords(e)).map((r) => [r.uniqueId, r]));
    for (const r of aRecs) {
      const s = stored.get(r.uniqueId);
      expect(s).toMatchObject({ callerPseudonym: '', outcome: r.outcome, noticeVersion: r.noticeVersion });
      expect(s?.recording?.file ?? null).toBeNull();
      expect(s?.erasedAt).toEqual(expect.any(String));
    }
    for (const r of bRecs) expect(stored.get(r.uniqueId)).toEqual({ ...r, erasedAt: null });
    expect(await raw.scard(`${e.prefix}{ledger:main}:idx:caller:${pseudonymise(a, KEY)}`)).toBe(0);
    const bodies = (await chainOf(e)).map(([, f]) => JSON.parse(String(f[f.indexOf('body') + 1])) as { type: string; records?: number });
    expect(bodies.filter((x) => x.type === 'erasure')).toHaveLength(4);
    expect(bodies[bodies.length - 1]).toMatchObject({ type: 'erasure-request', records: 4, recordingsDeleted: 2, failures: 0 });

    const v = captureIo();
    expect(await runVerify(e.config, {}, { io: v.io })).toBe(0);
    const again = captureIo();
    expect(await runErase(e.config, { caller: a }, { io: again.io })).toBe(0);
    expect(again.out()).toContain('erased 0 record(s)');
  });

  test('When a recording cannot be deleted or lies outside recording.dir, then that record is kept as it was and erase exits 1', async () => {
    const e = env();
    const a = '0663000000';
    const t0 = NOW - DAY;
    const dirAsFile = join(e.recordings, 'is-a-directory.wav');
    mkdirSync(dirAsFile);
    const outside = join(e.dir, 'outside.wav');
    writeFileSync(outside, 'x');
    const recs = [rec(1, t0, 'accepted', a, { recording: testRecording(dirAsFile) }), rec(2, t0 + 1000, 'accepted', a, { recording: testRecording(outside) })];
    await seed(e, recs);
    const c = captureIo();
    expect(await runErase(e.config, { caller: a }, { io: c.io })).toBe(1);
    expect(c.err()).toContain(`not erased: record ${recs[0]?.uniqueId}: cannot delete ${dirAsFile}`);
    expect(c.err()).toMatch(/outside recording\.dir/);
    expect(existsSync(outside)).toBe(true);
    const stored = await storedRecords(e);
    expect(stored).toEqual(recs.map((r) => ({ ...r, erasedAt: null })));
  });

  test('When --caller is "-", then the number is read from stdin (kept out of shell history) and never printed', async () => {
    const e = env();
    const number = '0665000000';
    await seed(e, [rec(1, NOW - DAY, 'refused', number)]);
    const c = captureIo();
    const io = { ...c.io, stdin: Readable.from([`${number}\n`]) };
    expect(await runErase(e.config, { caller: '-' }, { io })).toBe(0);
    expect(c.out()).toContain('erased 1 record(s)');
    expect(c.out() + c.err()).not.toContain('665000000');
  });

  test("When a caller's records reach Redis from a service's journal after their erasure, then the next purge erases those decided before it, keeps a later consent, and forgets the request after the retention period", async () => {
    const e = env(30);
    const a = '0667000000';
    const t0 = NOW - DAY;
    const file = (n: string) => fakeRecording(e, n);
    const before = rec(1, t0, 'accepted', a, { recording: testRecording(file('before.wav'), null, new Date(t0 + 4500).toISOString()) });
    await seed(e, [before]);

    // A service instance cut off from Redis keeps two more calls of this caller in its journal: one
    // decided before the erasure request, and one decided after it (the caller called back and agreed).
    const late = rec(2, t0 + 60_000, 'accepted', a, { recording: testRecording(file('late.wav'), null, new Date(t0 + 64_500).toISOString()) });
    const erasedAtMs = NOW;
    const again = rec(3, NOW + 60_000, 'accepted', a, { recording: testRecording(file('again.wav'), null, new Date(NOW + 64_500).toISOString()) });
    const cutOff = { ...e.config, redis: { ...e.config.redis, url: `redis://127.0.0.1:${await freePort()}/0` } };
    const clock = settableClock(NOW);
    const offline = await createLedger(cutOff, quietLogger, { clock });
    for (const r of [late, again]) await expect(offline.ledger.recordOutcome(r)).resolves.toBe('journal');
    await offline.close();

    // The erasure: only the record already in Redis is reached, and the operator is told what follows.
    const erase = captureIo();
    expect(await runErase(e.config, { caller: a }, { io: erase.io, now: () => new Date(erasedAtMs) })).toBe(0);
    expect(erase.out()).toContain('erased 1 record(s) of this caller');
    expect(erase.out()).toContain('will be erased by the next purge');
    expect(existsSync(join(e.recordings, 'before.wav'))).toBe(false);

    // The service is back: its journal is replayed into Redis, un-erased.
    const back = await createLedger(e.config, quietLogger, { clock });
    await eventually(() => back.journalBacklog() === 0, 15000, 'the journal to be replayed', 50);
    await back.close();
    const byId = async () => new Map((await storedRecords(e)).map((r) => [r.uniqueId, r]));
    expect((await byId()).get(late.uniqueId)).toEqual({ ...late, erasedAt: null });

    // The daily purge completes the erasure.
    const c = captureIo();
    expect(await runPurge(e.config, { io: c.io, now: () => new Date(NOW + DAY) })).toBe(0);
    expect(c.out()).toContain('purge: 1 record(s) of erased callers that arrived after their erasure erased, 1 recording file(s) deleted');
    expect(existsSync(join(e.recordings, 'late.wav'))).toBe(false);
    expect(existsSync(join(e.recordings, 'again.wav'))).toBe(true);
    const stored = await byId();
    expect(stored.get(late.uniqueId)).toMatchObject({ callerPseudonym: '', erasedAt: expect.any(String) });
    expect(stored.get(late.uniqueId)?.recording?.file ?? null).toBeNull();
    expect(stored.get(again.uniqueId)).toEqual({ ...again, erasedAt: null });
    expect(await raw.smembers(`${e.prefix}{ledger:main}:idx:caller:${pseudonymise(a, KEY)}`)).toEqual([again.uniqueId]);
    expect(await runCheckpoint(e.config, { sign: true }, { io: captureIo().io })).toBe(0);
    expect(await runVerify(e.config, {}, { io: captureIo().io, now: () => new Date(NOW + DAY) })).toBe(0);

    // A second purge finds nothing more to erase; once the request is older than the retention
    // period, the purge forgets it.
    const second = captureIo();
    expect(await runPurge(e.config, { io: second.io, now: () => new Date(NOW + DAY) })).toBe(0);
    expect(second.out()).not.toContain('erased callers');
    expect(await raw.hexists(`${e.prefix}{ledger}:erasures`, pseudonymise(a, KEY))).toBe(1);
    expect(await runPurge(e.config, { io: captureIo().io, now: () => new Date(NOW + 31 * DAY) })).toBe(0);
    expect(await raw.hexists(`${e.prefix}{ledger}:erasures`, pseudonymise(a, KEY))).toBe(0);
  }, 60000);

  test('When erase is asked for an anonymous caller, then it refuses with exit 2', async () => {
    const c = captureIo();
    expect(await runErase(env().config, { caller: 'anonymous' }, { io: c.io })).toBe(2);
    expect(c.err()).toMatch(/anonymous or empty number/);
  });
});

describe('ledger purge', () => {
  test('When purge runs with a clock past the retention period, then exactly the old records and recordings go, the log is trimmed and still verifies, and a second run changes nothing', async () => {
    const e = env(30);
    const t = NOW - 60 * DAY;
    const file = (n: string) => fakeRecording(e, n);
    const old = [rec(1, t, 'accepted', '0611000001', { recording: testRecording(file('old1.wav')) }), rec(2, t + 1000, 'refused', '0611000002'), rec(3, t + 2000, 'accepted', '0611000003', { recording: testRecording(file('old3.wav')) })];
    const recent = [rec(4, NOW - 10 * DAY, 'accepted', '0611000001', { recording: testRecording(file('new4.wav')) }), rec(5, NOW - 9 * DAY, 'refused', '0611000005')];
    await seed(e, [...old, ...recent]);
    expect(await chainOf(e)).toHaveLength(10);

    const now = () => new Date(NOW);
    const c = captureIo();
    expect(await runPurge(e.config, { io: c.io, now })).toBe(0);
    expect(c.out()).toMatch(/purge: 3 record\(s\) entered before .* deleted, 2 recording file\(s\) deleted, log main trimmed up to seq 6/);
    expect(existsSync(join(e.recordings, 'old1.wav'))).toBe(false);
    expect(existsSync(join(e.recordings, 'old3.wav'))).toBe(false);
    expect(existsSync(join(e.recordings, 'new4.wav'))).toBe(true);
    expect((await storedRecords(e)).map((r) => r.uniqueId)).toEqual(recent.map((r) => r.uniqueId));
    expect(await raw.sismember(`${e.prefix}{ledger:main}:idx:caller:${pseudonymise('0611000001', KEY)}`, String(old[0]?.uniqueId))).toBe(0);
    expect(await raw.get(`${e.prefix}{ledger:main}:anchor`)).toMatch(/^6:[0-9a-f]{64}$/);
    expect((await chainOf(e)).map(([id]) => id)).toEqual(['7-0', '8-0', '9-0', '10-0', '11-0']);

    const v = captureIo();
    expect(await runVerify(e.config, {}, { io: v.io, now })).toBe(0);
    expect(v.out()).toMatch(/trimmed before seq 7/);

    const again = captureIo();
    expect(await runPurge(e.config, { io: again.io, now })).toBe(0);
    expect(again.out()).toMatch(/purge: 0 record\(s\)/);
    expect((await storedRecords(e)).length).toBe(2);
    const v2 = captureIo();
    expect(await runVerify(e.config, {}, { io: v2.io, now })).toBe(0);

    // Thirty days later the rest goes too.
    const later = () => new Date(NOW + 30 * DAY);
    expect(await runPurge(e.config, { io: captureIo().io, now: later })).toBe(0);
    expect(await storedRecords(e)).toEqual([]);
    expect(existsSync(join(e.recordings, 'new4.wav'))).toBe(false);
    // A day and more without a checkpoint: the service would have signed the purges' entries.
    expect(await runCheckpoint(e.config, { sign: true }, { io: captureIo().io })).toBe(0);
    expect(await runVerify(e.config, {}, { io: captureIo().io, now: later })).toBe(0);
  });

  test('When the anchor is moved forward by hand to hide deleted entries, then verify reports it', async () => {
    const e = env(30);
    await seed(e, sixCalls(NOW - 60 * DAY));
    const entries = await chainOf(e);
    const [, f] = entries[2] as Entry;
    await raw.xtrim(`${e.prefix}{ledger:main}:chain`, 'MINID', '4-0');
    await raw.set(`${e.prefix}{ledger:main}:anchor`, `3:${String(f[f.indexOf('hash') + 1])}`);
    const c = captureIo();
    expect(await runVerify(e.config, {}, { io: c.io })).toBe(1);
    expect(c.out()).toMatch(/BROKEN \(anchor\): the chain starts after seq 3 but no purge entry declares that trim/);
  });

  test('When another purge holds the lock, then purge does nothing and exits 0', async () => {
    const e = env();
    await raw.set(`${e.prefix}{ledger}:lock:purge`, 'someone', 'PX', 60000);
    const c = captureIo();
    expect(await runPurge(e.config, { io: c.io })).toBe(0);
    expect(c.out()).toContain('nothing done: another purge is running');
  });
});

describe('ledger commands through commander and the real entry point', () => {
  test('When commander parses "ledger export" and "ledger list --since bad", then the commands run with exit codes 0 and 2', async () => {
    const e = env();
    await seed(e, sixCalls(NOW - DAY));
    const c = captureIo();
    const program = new Command('consent-ivr').exitOverride();
    registerLedgerCommands(program, () => e.config, { io: c.io });
    process.exitCode = undefined;
    await program.parseAsync(['ledger', 'export', '--format', 'jsonl'], { from: 'user' });
    expect(process.exitCode).toBe(0);
    expect(parseJsonl(c.out())).toHaveLength(4);
    await program.parseAsync(['ledger', 'list', '--since', 'bad'], { from: 'user' });
    expect(process.exitCode).toBe(2);
    expect(c.err()).toMatch(/--since: "bad" is not a date/);
    await expect(program.parseAsync(['ledger', 'list', '--bogus'], { from: 'user' })).rejects.toMatchObject({ code: 'commander.unknownOption' });
    process.exitCode = undefined;
  });

  test('When dist-like main.js runs "ledger verify" and "ledger export" without the ARI and AMI secrets, then they verify and export through the real entry point', async () => {
    const e = env();
    await seed(e, sixCalls(NOW - DAY));
    const outDir = join(work, 'build');
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'pipe' });
    const main = join(outDir, 'cli/main.js');
    const yaml = join(e.dir, 'consent-ivr.yaml');
    writeFileSync(
      yaml,
      JSON.stringify({
        prompts: { texts: { ar: TEST_PROMPT_TEXTS, fr: TEST_PROMPT_TEXTS } },
        redis: { url: redis.url, keyPrefix: e.prefix },
        ledger: { log: 'main', journalPath: join(e.dir, 'j.jsonl'), checkpointFile: e.config.ledger.checkpointFile, trustedKeyFiles: [publicKeyFile(e)] },
        recording: { dir: e.recordings },
        // Whoever runs the ledger commands (a purge from cron, say) need not hold these secrets.
        ari: { passwordFile: join(e.dir, 'no-such-ari-password') },
        ami: { secretFile: join(e.dir, 'no-such-ami-secret') },
      }),
    );
    const childEnv = {
      PATH: process.env.PATH ?? '',
      NODE_PATH: join(REPO, 'node_modules'),
      CONSENT_IVR_PSEUDONYM_KEY: KEY,
    };
    // The pseudonym key is the one secret they need.
    const keyless = spawnSync(process.execPath, [main, '--config', yaml, 'ledger', 'verify'], { env: { ...childEnv, CONSENT_IVR_PSEUDONYM_KEY: '' }, encoding: 'utf8' });
    expect(keyless.status).toBe(2);
    expect(keyless.stderr).toContain('ledger.pseudonymKeyFile');
    expect(keyless.stderr).not.toMatch(/ari\.passwordFile|ami\.secretFile/);
    const verify = spawnSync(process.execPath, [main, '--config', yaml, 'ledger', 'verify'], { env: childEnv, encoding: 'utf8' });
    expect(verify.stderr).toBe('');
    expect(verify.stdout).toContain('ledger verified');
    expect(verify.status).toBe(0);
    const exp = spawnSync(process.execPath, [main, '--config', yaml, 'ledger', 'export', '--format', 'csv'], { env: childEnv, encoding: 'utf8' });
    expect(exp.status).toBe(0);
    expect(parseCsv(exp.stdout)).toEqual(await storedRecords(e));
    await raw.xdel(`${e.prefix}{ledger:main}:chain`, '2-0');
    const broken = spawnSync(process.execPath, [main, '--config', yaml, 'ledger', 'verify'], { env: childEnv, encoding: 'utf8' });
    expect(broken.status).toBe(1);
    expect(broken.stdout).toContain('BROKEN (deleted)');
    const usage = spawnSync(process.execPath, [main, '--config', yaml, 'ledger', 'list', '--until', 'soon'], { env: childEnv, encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--until: "soon" is not a date/);
    expect(readFileSync(yaml, 'utf8')).toContain(e.prefix);
  }, 120000);
});

describe('ledger on Redis Cluster', () => {
  test('When redis.mode is cluster, then writes, verify, export, erase and purge work (one-node cluster: same client paths, multi-key scripts in one slot)', async () => {
    const cport = await freePort();
    const cdir = mkdtempSync(join(tmpdir(), 'civr-cluster-'));
    const node = spawn(
      '/usr/bin/redis-server',
      ['--port', String(cport), '--bind', '127.0.0.1', '--dir', cdir, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-announce-ip', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
    const admin = new Redis({ port: cport, lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: 1 });
    admin.on('error', () => undefined);
    try {
      await waitForRedis(cport);
      await admin.connect();
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      await eventually(async () => String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok'), 5000, 'the one-node cluster to be ok', 50);
      const e = env(30);
      const config: Config = { ...e.config, redis: { ...e.config.redis, mode: 'cluster', clusterNodes: [`127.0.0.1:${cport}`] } };
      const c: Env = { ...e, config };
      const number = '0664000000';
      const old = rec(1, NOW - 60 * DAY, 'refused', '0611000001');
      const calls = [old, ...sixCalls(NOW - DAY), rec(9, NOW - 1000, 'accepted', number, { recording: testRecording(join(e.recordings, 'c.wav')) })];
      writeFileSync(join(e.recordings, 'c.wav'), 'x');
      await seed(c, calls);

      const v = captureIo();
      expect(await runVerify(config, {}, { io: v.io })).toBe(0);
      expect(v.out()).toMatch(/chain: OK, 10 entries/);
      const x = captureIo();
      expect(await runExport(config, { format: 'jsonl' }, { io: x.io })).toBe(0);
      expect(parseJsonl(x.out()).map((r) => r.uniqueId)).toEqual(calls.map((r) => r.uniqueId));
      expect(await runErase(config, { caller: number }, { io: captureIo().io })).toBe(0);
      expect(existsSync(join(e.recordings, 'c.wav'))).toBe(false);
      const p = captureIo();
      expect(await runPurge(config, { io: p.io, now: () => new Date(NOW) })).toBe(0);
      expect(p.out()).toMatch(/purge: 1 record\(s\)/);
      expect(await runVerify(config, {}, { io: captureIo().io, now: () => new Date(NOW) })).toBe(0);
    } finally {
      admin.disconnect();
      const exited = once(node, 'exit');
      node.kill('SIGTERM');
      await exited;
      rmSync(cdir, { recursive: true, force: true });
    }
  }, 60000);
});
