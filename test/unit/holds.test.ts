/**
 * Legal holds over the in-memory store: placing one on a call or a caller (entries in the chain and in
 * the held calls' own chains, the holds hash, never a caller's number), the purge keeping held records
 * and their recordings (without looking at them) and not trimming past them, erasure refused and
 * overridden (logged), the late erasures of the purge held back, `ledger verify` finding a hold dropped
 * or changed behind the ledger's back, the evidence bundle's summary, the metric, and the commands'
 * words and exit codes (the store handed to them in place of Redis). The same through Redis and the
 * real CLI: test/e2e/holds.test.ts.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { collectEvidence } from '../../src/evidence/bundle';
import { verifyBundle } from '../../src/evidence/bundle-check';
import { formatSigner, generateSigner, verifierOf } from '../../src/evidence/checkpoint';
import { Checkpointer } from '../../src/evidence/checkpointer';
import { verifyLedger, type VerifyReport } from '../../src/evidence/verify';
import { ChainAppender } from '../../src/ledger/appender';
import { eventFor } from '../../src/ledger/durable-ledger';
import { holdSubject, serialiseHold, type Hold } from '../../src/ledger/holds';
import { pseudonymise } from '../../src/ledger/pseudonym';
import { AdminUsageError, type AdminContext } from '../../src/ledger/query';
import { parseStoredRecord } from '../../src/ledger/record';
import type { StoredRecord } from '../../src/ledger/types';
import { Metrics } from '../../src/observability/metrics';
import type { ConsentRecord } from '../../src/ports/ledger';
import { eraseCaller } from '../../src/retention/admin';
import { DeletionWorker } from '../../src/retention/deletions';
import { HoldsUnreadableError } from '../../src/retention/hold-guard';
import { HeldRefusal, HoldError, placeHold, releaseHold } from '../../src/retention/holds';
import { purgeLedger } from '../../src/retention/purge';
import { runHold, runHolds, runRelease } from '../../src/cli/hold-commands';
import { runErase, runPurge } from '../../src/cli/retention-commands';
import { runCheckpoint, runVerify } from '../../src/cli/evidence-commands';
import { captureIo, quietLogger } from '../support/cli-io';
import { MemoryLedgerStore } from '../support/memory-ledger-store';
import { testConfig, testRecord, testRecording, TEST_PSEUDONYM_KEY } from '../support/records';

/** The commands get the test's store instead of a Redis connection. */
let mockStore: MemoryLedgerStore;
jest.mock('../../src/service/ledger', () => ({
  ...jest.requireActual('../../src/service/ledger'),
  withLedgerStore: (_config: unknown, fn: (s: unknown) => Promise<unknown>) => fn(mockStore),
}));

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T03:00:00.000Z');
const ago = (days: number, ms = 0) => new Date(NOW - days * DAY + ms).toISOString();
const NUMBER = '0661234567';
/** The caller's number in any form it could leak in. */
const LEAK = /0661234567|212661234567/;
const WHO = pseudonymise(NUMBER, TEST_PSEUDONYM_KEY);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'civr-holds-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A maintenance context over `store` at NOW (or `at`): every profile kept 30 days; two records a chunk. */
function ctx(store: MemoryLedgerStore, at = NOW): AdminContext {
  let id = 0;
  return {
    store,
    now: () => new Date(at),
    serverId: 'pbx-1',
    recordingDir: dir,
    retentionDays: 30,
    profileRetention: { default: 30 },
    pseudonymKey: TEST_PSEUDONYM_KEY,
    chunk: 2,
    newId: () => `admin-${(id += 1)}`,
  };
}

/** A refused call entered `days` ago of caller `n` (WHO for n = 0). */
function call(n: number, days: number, over: Partial<ConsentRecord> = {}): ConsentRecord {
  return testRecord({
    uniqueId: `${Math.floor((NOW - days * DAY) / 1000)}.${n}`,
    outcome: 'refused',
    digit: '2',
    enteredAt: ago(days),
    noticeStartedAt: ago(days, 100),
    decidedAt: ago(days, 4000),
    recording: null,
    callerPseudonym: n === 0 || over.callerPseudonym === WHO ? WHO : pseudonymise(`06110000${String(n).padStart(2, '0')}`, TEST_PSEUDONYM_KEY),
    ...over,
  });
}

/** An accepted call whose recording is a file of the test's folder, on `server` (null: this one). */
function recorded(n: number, days: number, over: Partial<ConsentRecord> = {}, server: string | null = null): ConsentRecord {
  const path = join(dir, `${n}.wav`);
  writeFileSync(path, 'RIFF');
  return call(n, days, { outcome: 'accepted', digit: '1', recording: testRecording(path, server, ago(days, 4010)), ...over });
}

/** Stores the records in `store`'s log as the service does: a decision and an outcome entry each. */
async function seed(store: MemoryLedgerStore, records: ConsentRecord[]): Promise<void> {
  await store.registerSelf();
  const appender = new ChainAppender(store);
  for (const r of records) {
    const at = new Date(Date.parse(r.enteredAt) + 5000).toISOString();
    await appender.submit(eventFor('decision', { ...r, recording: null }, at, `d-${r.uniqueId}`)).done;
    await appender.submit(eventFor('outcome', r, at, `o-${r.uniqueId}`)).done;
  }
}

type Body = Record<string, unknown>;
const bodies = (store: MemoryLedgerStore): Body[] => store.state.entries.map((e) => JSON.parse(e.body) as Body);
const record = (store: MemoryLedgerStore, id: string): StoredRecord | null => {
  const r = store.state.records.get(id);
  return r?.json ? parseStoredRecord(r.json) : null;
};
const holdsOf = async (store: MemoryLedgerStore): Promise<Hold[]> => (await store.readHolds()).items;

const signer = generateSigner('centre');
const clock = { now: () => new Date(NOW), setTimeout: () => ({ cancel: () => undefined }) };

/** Signs a checkpoint of each log (as the service does while entries are added). */
async function sign(...stores: MemoryLedgerStore[]): Promise<void> {
  for (const s of stores) await new Checkpointer(s, signer, { intervalMs: 60_000, file: join(dir, `${s.log}.cp.jsonl`), clock, logger: quietLogger }).signNow();
}

async function verify(c: AdminContext): Promise<VerifyReport> {
  return verifyLedger(c, { keys: [verifierOf(signer)], checkpointFiles: [], hostCheckpointFile: null, checkpointIntervalMs: 60_000, recordings: false, recordingFormat: 'wav' });
}

describe('placing and releasing a hold', () => {
  test("When a call is held, then the hold is kept with its entry's place, and its entry is an event of the call in the call's log, which leaves the record as it was", async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const other = store.forLog('pbx-2');
    const c = call(1, 10);
    await seed(other, [c]);
    const before = other.state.records.get(c.uniqueId)?.json;

    const r = await placeHold(ctx(store), { call: c.uniqueId }, '  litigation 2026-44 (tribunal de Casablanca)  ');
    expect(r).toMatchObject({ status: 'placed', records: 1, deletionsCancelled: 0 });
    expect(r.hold.id).toMatch(/^h-[a-z2-7]{10}$/);
    const entry = other.state.entries[other.state.entries.length - 1];
    expect(await holdsOf(store)).toEqual([{ id: r.hold.id, scope: 'call', uniqueId: c.uniqueId, caller: null, reason: 'litigation 2026-44 (tribunal de Casablanca)', at: ago(0), log: 'pbx-2', seq: entry?.seq }]);
    expect(JSON.parse(String(entry?.body))).toEqual({
      type: 'hold',
      at: ago(0),
      hold: r.hold.id,
      scope: 'call',
      uniqueId: c.uniqueId,
      reason: 'litigation 2026-44 (tribunal de Casablanca)',
      callPrev: { seq: 2, hash: other.state.entries[1]?.hash },
    });
    expect(await other.eventSeqs(c.uniqueId)).toContain(entry?.seq);
    expect(other.state.records.get(c.uniqueId)?.json).toBe(before);
    expect(store.state.entries).toEqual([]); // nothing in this host's log

    // Held again: said, and nothing written.
    const again = await placeHold(ctx(store), { call: c.uniqueId }, 'another reason');
    expect(again).toMatchObject({ status: 'already', hold: { id: r.hold.id, reason: 'litigation 2026-44 (tribunal de Casablanca)' } });
    expect(other.state.entries).toHaveLength(3);
    expect(await holdsOf(store)).toHaveLength(1);
  });

  test('When a call is not in the ledger, or the reason is missing, too long or not one line, then nothing is held', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const c = call(1, 10);
    await seed(store, [c]);
    await expect(placeHold(ctx(store), { call: '1796032800.99' }, 'x')).rejects.toThrow(HoldError);
    await expect(placeHold(ctx(store), { call: '1796032800.99' }, 'x')).rejects.toThrow(/no record for uniqueid 1796032800\.99 in the ledger/);
    for (const bad of [undefined, '', '   ', 'x'.repeat(201), 'line one\nline two', 'tab\there', 'bidi \u202e spoof', 'c1 \u0085']) {
      await expect(placeHold(ctx(store), { call: c.uniqueId }, bad)).rejects.toThrow(AdminUsageError);
    }
    await expect(placeHold(ctx(store), { call: c.uniqueId }, '')).rejects.toThrow('--reason: a reason is required');
    await expect(placeHold(ctx(store), { caller: 'anonymous' }, 'x')).rejects.toThrow(/anonymous or empty number/);
    expect(await holdsOf(store)).toEqual([]);
    expect(store.state.entries).toHaveLength(2);
    // 200 characters (of any script) are fine.
    expect((await placeHold(ctx(store), { call: c.uniqueId }, 'م'.repeat(200))).status).toBe('placed');
  });

  test("When a caller is held, then its own entry binds it by a salted digest, each of their records in every log gets a note, their queued deletions are cancelled, and their number is nowhere", async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const other = store.forLog('pbx-2');
    const mine = [call(1, 10, { callerPseudonym: WHO }), recorded(2, 5, { callerPseudonym: WHO }, 'pbx-3')];
    const there = call(3, 4, { callerPseudonym: WHO });
    const someoneElse = call(4, 4);
    await seed(store, [...mine, someoneElse]);
    await seed(other, [there]);
    await store.queueDeletion('pbx-3', { uniqueId: mine[1]?.uniqueId as string, path: mine[1]?.recording?.file?.path as string, reason: 'erase', requestedAt: NOW - 1000 });
    await store.queueDeletion('pbx-3', { uniqueId: 'someone.else', path: '/rec/x.wav', reason: 'purge', requestedAt: NOW - 1000 });

    const r = await placeHold(ctx(store), { caller: '+212 661 23 45 67' }, 'CNDP inquiry 2026/118');
    expect(r).toMatchObject({ status: 'placed', records: 3, deletionsCancelled: 1 });
    const id = r.hold.id;
    const own = bodies(store).at(-1);
    expect(own).toEqual({ type: 'hold', at: ago(0), hold: id, scope: 'caller', subject: holdSubject(id, WHO), records: 3, reason: 'CNDP inquiry 2026/118' });
    expect(await holdsOf(store)).toEqual([{ id, scope: 'caller', uniqueId: null, caller: WHO, reason: 'CNDP inquiry 2026/118', at: ago(0), log: 'pbx-1', seq: store.state.entries.at(-1)?.seq }]);
    const notes = [...bodies(store), ...bodies(other)].filter((b) => b.type === 'hold' && b.uniqueId !== undefined);
    expect(notes.map((b) => b.uniqueId).sort()).toEqual([...mine, there].map((x) => x.uniqueId).sort());
    expect(notes.every((b) => b.hold === id && b.scope === 'caller' && !('subject' in b))).toBe(true);
    expect((await store.pendingDeletions('pbx-3')).map((d) => d.uniqueId)).toEqual(['someone.else']);
    // Neither the number nor the pseudonym is in the chain.
    const chain = JSON.stringify([store.state.entries, other.state.entries]);
    expect(chain).not.toMatch(LEAK);
    expect(chain).not.toContain(WHO);
    expect(JSON.stringify([...store.holdEntries])).not.toMatch(LEAK);

    // The same caller, written otherwise: already held.
    expect((await placeHold(ctx(store), { caller: '00212661234567' }, 'again')).status).toBe('already');
  });

  test("When holds are released, then a call's release is an event of the call, a caller's is noted in their records and after its own entry, and the hold is gone", async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const c = call(1, 10, { callerPseudonym: WHO });
    const d = call(2, 9);
    await seed(store, [c, d]);
    const onCall = (await placeHold(ctx(store), { call: d.uniqueId }, 'audit')).hold;
    const onCaller = (await placeHold(ctx(store), { caller: NUMBER }, 'inquiry')).hold;
    const alsoOnCall = (await placeHold(ctx(store), { call: c.uniqueId }, 'dispute')).hold;

    await expect(releaseHold(ctx(store), { call: '1.2' }, 'x')).rejects.toThrow('no legal hold on call 1.2');
    await expect(releaseHold(ctx(store), { id: 'h-2222222222' }, 'x')).rejects.toThrow(HoldError);
    await expect(releaseHold(ctx(store), { id: 'bogus' }, 'x')).rejects.toThrow(AdminUsageError);
    await expect(releaseHold(ctx(store), { id: onCall.id }, '')).rejects.toThrow(AdminUsageError);

    const r1 = await releaseHold(ctx(store), { call: c.uniqueId }, 'settled');
    expect(r1).toMatchObject({ hold: { id: alsoOnCall.id }, records: 1, stillCovering: [{ id: onCaller.id }] });
    expect(bodies(store).at(-1)).toMatchObject({ type: 'release', hold: alsoOnCall.id, scope: 'call', uniqueId: c.uniqueId, reason: 'settled' });
    // A call whose only hold is its caller's: named.
    await expect(releaseHold(ctx(store), { call: c.uniqueId }, 'x')).rejects.toThrow(`its caller's hold ${onCaller.id} covers it`);

    const r2 = await releaseHold(ctx(store), { caller: '+212661234567' }, 'closed');
    expect(r2).toMatchObject({ hold: { id: onCaller.id }, records: 1, stillCovering: [] });
    const tail = bodies(store).slice(-2);
    expect(tail).toEqual([
      expect.objectContaining({ type: 'release', hold: onCaller.id, scope: 'caller', uniqueId: c.uniqueId, reason: 'closed' }),
      { type: 'release', at: ago(0), hold: onCaller.id, scope: 'caller', records: 1, reason: 'closed' },
    ]);
    await releaseHold(ctx(store), { id: onCall.id }, 'done');
    expect(await holdsOf(store)).toEqual([]);
  });
});

describe('the purge and held records', () => {
  test('When held records are past their retention, then the purge keeps them and their recordings without touching them, says so per hold, and does not trim past their entries; once released, they go', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const unheld = recorded(1, 60);
    const held = recorded(2, 50);
    const heldThere = recorded(3, 45, { callerPseudonym: WHO }, 'pbx-2'); // its server would be asked to delete it
    const young = call(4, 5);
    await seed(store, [unheld, held, heldThere, young]);
    const onCall = (await placeHold(ctx(store), { call: held.uniqueId }, 'litigation 2026-44')).hold;
    const onCaller = (await placeHold(ctx(store), { caller: NUMBER }, 'CNDP inquiry')).hold;
    await sign(store);
    const firstOfHeld = Math.min(...(await store.eventSeqs(held.uniqueId)));

    const r = await purgeLedger(ctx(store));
    expect(r).toMatchObject({ records: 1, recordingsDeleted: 1, waiting: {} });
    expect(r.held).toEqual([
      { hold: onCall.id, scope: 'call', uniqueId: held.uniqueId, reason: 'litigation 2026-44', records: 1, erasures: 0 },
      { hold: onCaller.id, scope: 'caller', uniqueId: null, reason: 'CNDP inquiry', records: 1, erasures: 0 },
    ]);
    expect(record(store, unheld.uniqueId)).toBeNull();
    expect(record(store, held.uniqueId)).toEqual({ ...held, erasedAt: null });
    expect(record(store, heldThere.uniqueId)).toEqual({ ...heldThere, erasedAt: null });
    expect(existsSync(String(unheld.recording?.file?.path))).toBe(false);
    expect(existsSync(String(held.recording?.file?.path))).toBe(true);
    expect(await store.pendingDeletions('pbx-2')).toEqual([]); // its recording's fate was never asked
    const purge = bodies(store).at(-1);
    expect(purge).toMatchObject({ type: 'purge', records: 1, held: 2 });
    // Trimmed, but not up to the held call's first entry.
    expect(r.trimmed).toEqual([{ log: 'pbx-1', seq: firstOfHeld - 1 }]);
    await sign(store);
    const v = await verify(ctx(store));
    expect({ ok: v.ok, holds: v.holds }).toEqual({ ok: true, holds: { active: 2, problems: [] } });

    await releaseHold(ctx(store), { id: onCall.id }, 'judgment final');
    await releaseHold(ctx(store), { id: onCaller.id }, 'inquiry closed');
    const after = await purgeLedger(ctx(store));
    expect(after.held).toEqual([]);
    expect(record(store, held.uniqueId)).toBeNull();
    expect(await store.pendingDeletions('pbx-2')).toEqual([expect.objectContaining({ uniqueId: heldThere.uniqueId, reason: 'purge' })]);
    expect(bodies(store).at(-1)).not.toHaveProperty('held');
  });

  test("When a caller erased earlier has a late record under a hold, then the purge holds its erasure back and says so; released, the next purge erases it", async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const late = recorded(1, 3, { callerPseudonym: WHO });
    await store.markErased(WHO, NOW - DAY); // the erasure; the record arrived later from a journal
    await seed(store, [late]);
    const h = (await placeHold(ctx(store), { call: late.uniqueId }, 'evidence for a complaint')).hold;
    const r = await purgeLedger(ctx(store));
    expect(r.lateErasures.records).toBe(0);
    expect(r.held).toEqual([expect.objectContaining({ hold: h.id, records: 0, erasures: 1 })]);
    expect(record(store, late.uniqueId)?.erasedAt).toBeNull();
    expect(existsSync(String(late.recording?.file?.path))).toBe(true);
    await releaseHold(ctx(store), { id: h.id }, 'complaint withdrawn');
    expect((await purgeLedger(ctx(store))).lateErasures.records).toBe(1);
    expect(record(store, late.uniqueId)?.erasedAt).toBe(ago(0));
  });

  test('When the holds hash has an entry that is not a hold, then the purge and erase change nothing and say why', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const old = recorded(1, 60, { callerPseudonym: WHO });
    await seed(store, [old]);
    store.holdEntries.set('h-aaaaaaaaaa', '{"id":"h-aaaaaaaaaa","scope":"call"}');
    const entries = store.state.entries.length;
    await expect(purgeLedger(ctx(store))).rejects.toThrow(HoldsUnreadableError);
    await expect(eraseCaller(ctx(store), NUMBER)).rejects.toThrow(/legal holds cannot all be read: entry h-aaaaaaaaaa .* nothing was purged or erased/);
    expect(record(store, old.uniqueId)).toEqual({ ...old, erasedAt: null });
    expect(existsSync(String(old.recording?.file?.path))).toBe(true);
    expect(store.state.entries).toHaveLength(entries);
    expect(await store.erasureMarks()).toEqual(new Map());
    expect(await store.lock('purge', 1000)).not.toBeNull(); // released
  });
});

describe('erasure and held records', () => {
  test('When a record of the caller is held, or the caller, then erase is refused before anything changes, naming each hold and its reason', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const mine = [recorded(1, 5, { callerPseudonym: WHO }), call(2, 4, { callerPseudonym: WHO })];
    await seed(store, mine);
    const h = (await placeHold(ctx(store, NOW - 2000), { call: mine[1]?.uniqueId as string }, 'dispute #7')).hold;
    const entries = store.state.entries.length;
    const refusal = await eraseCaller(ctx(store), NUMBER).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(HeldRefusal);
    expect(String((refusal as Error).message)).toContain(`legal hold ${h.id} (call ${mine[1]?.uniqueId}; reason: dispute #7)`);
    expect(String((refusal as Error).message)).toContain('nothing was erased');
    expect(store.state.entries).toHaveLength(entries);
    expect(await store.erasureMarks()).toEqual(new Map());
    for (const m of mine) expect(record(store, m.uniqueId)).toEqual({ ...m, erasedAt: null });
    expect(existsSync(String(mine[0]?.recording?.file?.path))).toBe(true);

    const c = (await placeHold(ctx(store, NOW - 1000), { caller: NUMBER }, 'inquiry')).hold;
    await expect(eraseCaller(ctx(store), NUMBER)).rejects.toThrow(`legal holds ${h.id} (call ${mine[1]?.uniqueId}; reason: dispute #7), ${c.id} (this caller; reason: inquiry) cover`);
    // Another caller is not held back.
    await seed(store, [call(3, 3)]);
    expect((await eraseCaller(ctx(store), '0611000003')).records).toBe(1);
  });

  test('When erase is told to override the holds, then a hold-override entry comes first, the records are erased, and the holds are released as overridden, in the calls\' own chains', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const other = store.forLog('pbx-2');
    const a = recorded(1, 5, { callerPseudonym: WHO });
    const b = call(2, 4, { callerPseudonym: WHO });
    await seed(store, [a]);
    await seed(other, [b]);
    const onCall = (await placeHold(ctx(store, NOW - 2000), { call: a.uniqueId }, 'dispute #7')).hold;
    const onCaller = (await placeHold(ctx(store, NOW - 1000), { caller: NUMBER }, 'inquiry')).hold;
    const start = store.state.entries.length;

    const r = await eraseCaller(ctx(store), NUMBER, '  court order 2026-12 (erasure prevails)  ');
    expect(r).toMatchObject({ records: 2, recordingsDeleted: 1, failures: [], held: [] });
    expect(r.overridden).toEqual([
      { hold: onCall.id, reason: 'dispute #7', released: true },
      { hold: onCaller.id, reason: 'inquiry', released: true },
    ]);
    expect(existsSync(String(a.recording?.file?.path))).toBe(false);
    expect(record(store, a.uniqueId)?.erasedAt).toBe(ago(0));
    expect(record(other, b.uniqueId)?.erasedAt).toBe(ago(0));
    const mineNow = bodies(store).slice(start);
    expect(mineNow[0]).toEqual({ type: 'hold-override', at: ago(0), holds: [onCall.id, onCaller.id], reason: 'court order 2026-12 (erasure prevails)' });
    expect(mineNow.map((x) => x.type)).toEqual(['hold-override', 'erasure', 'erasure-request', 'release', 'release', 'release']);
    const reason = 'overridden: court order 2026-12 (erasure prevails)';
    expect(mineNow.slice(3)).toEqual([
      expect.objectContaining({ hold: onCall.id, scope: 'call', uniqueId: a.uniqueId, reason }),
      expect.objectContaining({ hold: onCaller.id, scope: 'caller', uniqueId: a.uniqueId, reason }),
      { type: 'release', at: ago(0), hold: onCaller.id, scope: 'caller', records: 2, reason },
    ]);
    // The erased record of the other log has the caller hold's release in its own chain.
    expect(bodies(other).at(-1)).toMatchObject({ type: 'release', hold: onCaller.id, uniqueId: b.uniqueId, reason });
    expect(await holdsOf(store)).toEqual([]);
    await expect(eraseCaller(ctx(store), NUMBER, '')).rejects.toThrow(AdminUsageError);
  });

  test('When an overridden hold still covers a record not erased yet (its recording waits for its server), then that hold stays', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const waiting = recorded(1, 5, { callerPseudonym: WHO }, 'pbx-2');
    await seed(store, [waiting]);
    const h = (await placeHold(ctx(store), { caller: NUMBER }, 'inquiry')).hold;
    const r = await eraseCaller(ctx(store), NUMBER, 'court order');
    expect(r).toMatchObject({ records: 0, waiting: { 'pbx-2': 1 }, overridden: [{ hold: h.id, released: false }] });
    expect((await holdsOf(store)).map((x) => x.id)).toEqual([h.id]);
    expect(bodies(store).filter((x) => x.type === 'hold-override')).toHaveLength(1);
  });
});

describe('verify and the holds', () => {
  async function heldLedger(): Promise<{ store: MemoryLedgerStore; hold: Hold }> {
    const store = new MemoryLedgerStore('pbx-1');
    await seed(store, [call(1, 5), call(2, 4, { callerPseudonym: WHO })]);
    const { hold } = await placeHold(ctx(store), { call: `${Math.floor((NOW - 5 * DAY) / 1000)}.1` }, 'litigation');
    await placeHold(ctx(store), { caller: NUMBER }, 'inquiry');
    await sign(store);
    return { store, hold };
  }

  test('When the holds in force are those of the log, then verify passes and counts them', async () => {
    const { store } = await heldLedger();
    const v = await verify(ctx(store));
    expect(v.ok).toBe(true);
    expect(v.holds).toEqual({ active: 2, problems: [] });
  });

  test('When a hold is deleted from the store directly, then verify fails: removed outside the ledger', async () => {
    const { store, hold } = await heldLedger();
    store.holdEntries.delete(hold.id);
    const v = await verify(ctx(store));
    expect(v.ok).toBe(false);
    expect(v.holds.problems).toEqual([{ hold: hold.id, kind: 'removed', message: expect.stringMatching(/never released but is no longer in force: removed outside the ledger/) }]);
  });

  test('When a hold is added to the store directly, or one is changed, or is not a hold, then verify names each', async () => {
    const { store, hold } = await heldLedger();
    const forged: Hold = { ...hold, id: 'h-zzzzzzzzzz', seq: 3 };
    await store.putHold(forged);
    store.holdEntries.set(hold.id, serialiseHold({ ...hold, reason: 'nothing to see' }));
    store.holdEntries.set('junk', 'x');
    const v = await verify(ctx(store));
    expect(v.ok).toBe(false);
    expect(v.holds.problems.map((p) => [p.hold, p.kind])).toEqual([
      ['junk', 'malformed'],
      [hold.id, 'differs'],
      ['h-zzzzzzzzzz', 'not-in-log'],
    ]);
    expect(v.holds.problems[1]?.message).toContain('in its reason');
  });

  test('When a release was interrupted before the hold left the hash, then verify says to release it again', async () => {
    const { store, hold } = await heldLedger();
    const kept = store.holdEntries.get(hold.id) as string;
    await releaseHold(ctx(store), { id: hold.id }, 'done');
    store.holdEntries.set(hold.id, kept);
    await sign(store);
    const v = await verify(ctx(store));
    expect(v.holds.problems).toEqual([{ hold: hold.id, kind: 'released', message: expect.stringContaining('release it again') }]);
    store.holdEntries.delete(hold.id);
    expect((await verify(ctx(store))).ok).toBe(true);
  });
});

describe('the evidence bundle of a held call', () => {
  test('When a call is held and released, then its bundle has both entries, its summary says so in French and Arabic, and it verifies', async () => {
    const store = new MemoryLedgerStore('pbx-1');
    const c = call(1, 5);
    const d = call(2, 4, { callerPseudonym: WHO });
    await seed(store, [c, d]);
    const h = (await placeHold(ctx(store, NOW - DAY), { call: c.uniqueId }, 'litigation 2026-44')).hold;
    const ch = (await placeHold(ctx(store), { caller: NUMBER }, 'CNDP inquiry')).hold;
    await sign(store);
    const key = verifierOf(signer);
    const b1 = await collectEvidence(store, c.uniqueId, [key], new Date(NOW));
    expect(b1.entries.map((e) => (JSON.parse(e.body) as Body).type)).toEqual(['decision', 'outcome', 'hold']);
    expect(b1.summary.fr).toContain(`Conservation légale (legal hold) ${h.id} placée le ${ago(1).slice(0, 10)} 03:00:00 UTC sur cet appel (motif : \u2068litigation 2026-44\u2069)`);
    expect(b1.summary.ar).toContain(`وُضع الحفظ القانوني \u2066${h.id}\u2069`);
    expect(verifyBundle(JSON.parse(JSON.stringify(b1)), key)).toMatchObject({ ok: true, problems: [] });
    const b2 = await collectEvidence(store, d.uniqueId, [key], new Date(NOW));
    expect(b2.summary.fr).toContain(`${ch.id} placée le`);
    expect(b2.summary.fr).toContain('sur les appels de cette personne');

    await releaseHold(ctx(store), { id: h.id }, 'settled');
    await sign(store);
    const b3 = await collectEvidence(store, c.uniqueId, [key], new Date(NOW));
    expect(b3.summary.fr).toContain(`Conservation légale ${h.id} levée le`);
    expect(b3.summary.ar).toContain(`رُفع الحفظ القانوني \u2066${h.id}\u2069`);
    expect(verifyBundle(JSON.parse(JSON.stringify(b3)), key).ok).toBe(true);
    // The reason is covered: changed, the bundle no longer verifies.
    const changed = JSON.parse(JSON.stringify(b3)) as typeof b3;
    changed.summary.fr = changed.summary.fr.replace('litigation', 'nothing');
    expect(verifyBundle(changed, key).problems).toEqual(['summary (fr): does not say what the checked data says']);
  });
});

describe('the metric of holds in force', () => {
  test("When the deletion worker makes its pass, then it counts the holds in force for /metrics", async () => {
    const store = new MemoryLedgerStore('pbx-1');
    await seed(store, [call(1, 5)]);
    await placeHold(ctx(store), { call: `${Math.floor((NOW - 5 * DAY) / 1000)}.1` }, 'a');
    await placeHold(ctx(store), { caller: NUMBER }, 'b');
    const metrics = new Metrics({ ari: () => 'up', ami: () => 'up', redis: () => 'up', journalBacklog: () => 0, activeCalls: () => 0 });
    const worker = new DeletionWorker({ queue: store, files: { remove: async () => 'removed' }, clock, holds: store }, { serverId: 'pbx-1', pollMs: 60_000 }, quietLogger, metrics);
    await worker.pass();
    expect(await metrics.registry.metrics()).toMatch(/^consent_ivr_legal_holds 2$/m);
  });
});

describe('the commands', () => {
  const config = () =>
    testConfig(
      { server: { id: 'pbx-1' }, ledger: { log: 'pbx-1', retentionDays: 30, journalPath: join(dir, 'j.jsonl'), checkpointFile: join(dir, 'cp.jsonl') }, recording: { dir } },
      dir,
      { signingKey: formatSigner(signer) },
    );
  const deps = (io: ReturnType<typeof captureIo>['io'], at = NOW) => ({ io, now: () => new Date(at) });

  test('When holds are placed, listed and released through the commands, then they say what was done and never the caller', async () => {
    mockStore = new MemoryLedgerStore('pbx-1');
    const c = call(1, 5);
    await seed(mockStore, [c, call(2, 4, { callerPseudonym: WHO })]);

    const h1 = captureIo();
    expect(await runHold(config(), { call: c.uniqueId, reason: 'litigation 2026-44' }, deps(h1.io, NOW - 2000))).toBe(0);
    expect(h1.out()).toMatch(new RegExp(`^legal hold h-[a-z2-7]{10} placed on call ${c.uniqueId.replace('.', '\\.')} \\(entry seq 5 of log pbx-1\\)`));
    const h2 = captureIo();
    expect(await runHold(config(), { caller: '-', reason: 'CNDP inquiry' }, deps({ ...h2.io, stdin: Readable.from([`${NUMBER}\n`]) }, NOW - 1000))).toBe(0);
    expect(h2.out()).toContain('placed on this caller (pseudonymous)');
    expect(h2.out()).toContain('it covers their 1 record(s) in the ledger now and the ones to come');
    const again = captureIo();
    expect(await runHold(config(), { caller: NUMBER, reason: 'x' }, deps(again.io))).toBe(0);
    expect(again.out()).toMatch(/is already under legal hold h-[a-z2-7]{10} since .* \(reason: CNDP inquiry\); nothing changed/);

    const list = captureIo();
    expect(await runHolds(config(), {}, deps(list.io))).toBe(0);
    const rows = list.out().trim().split('\n');
    expect(rows[0]).toBe('ID\tSCOPE\tON\tSINCE (UTC)\tENTRY\tREASON');
    expect(rows.slice(1).map((l) => l.split('\t').slice(1))).toEqual([
      ['call', c.uniqueId, ago(0, -2000), 'pbx-1:5', 'litigation 2026-44'],
      ['caller', 'caller (pseudonymous)', ago(0, -1000), 'pbx-1:7', 'CNDP inquiry'],
    ]);
    const json = captureIo();
    expect(await runHolds(config(), { json: true }, deps(json.io))).toBe(0);
    const shown = JSON.parse(json.out()) as { holds: Record<string, unknown>[]; malformed: unknown[] };
    expect(shown.holds[1]).toEqual({ id: expect.stringMatching(/^h-/), scope: 'caller', uniqueId: null, reason: 'CNDP inquiry', since: ago(0, -1000), log: 'pbx-1', seq: 7 });
    const everything = h1.out() + h2.out() + again.out() + list.out() + json.out() + h1.err() + h2.err();
    expect(everything).not.toMatch(LEAK);
    expect(everything).not.toContain(WHO);

    const rel = captureIo();
    expect(await runRelease(config(), { caller: NUMBER, reason: 'closed' }, deps(rel.io))).toBe(0);
    expect(rel.out()).toMatch(/^legal hold h-[a-z2-7]{10} on this caller \(pseudonymous\) released, as logged in the chain\n$/);
    const none = captureIo();
    expect(await runRelease(config(), { caller: NUMBER, reason: 'closed' }, deps(none.io))).toBe(1);
    expect(none.err()).toContain('consent-ivr ledger release: no legal hold on this caller');
  });

  test('When the commands are given bad input, then they exit 2 and say what is wrong; a call not in the ledger exits 1', async () => {
    mockStore = new MemoryLedgerStore('pbx-1');
    await seed(mockStore, [call(1, 5)]);
    let io = captureIo();
    const cases: [() => Promise<number>, number, RegExp][] = [
      [() => runHold(config(), { reason: 'x' }, deps(io.io)), 2, /give --call or --caller/],
      [() => runHold(config(), { call: '1.1', caller: NUMBER, reason: 'x' }, deps(io.io)), 2, /give one of --call or --caller, not --call and --caller/],
      [() => runHold(config(), { call: '1.1', reason: ' ' }, deps(io.io)), 2, /--reason: a reason is required/],
      [() => runHold(config(), { call: '1.1', reason: 'a\u0007b' }, deps(io.io)), 2, /--reason: one line/],
      [() => runHold(config(), { caller: '', reason: 'x' }, deps(io.io)), 2, /--caller: empty number/],
      [() => runHold(config(), { call: '1.1', reason: 'x' }, deps(io.io)), 1, /no record for uniqueid 1\.1 in the ledger/],
      [() => runRelease(config(), { id: 'h-1', reason: 'x' }, deps(io.io)), 2, /--id: "h-1" is not a hold id/],
      [() => runRelease(config(), { id: 'h-aaaaaaaaaa', call: '1.1', reason: 'x' }, deps(io.io)), 2, /give one of --id, --call or --caller/],
      [() => runErase(config(), { caller: NUMBER, reason: 'x' }, deps(io.io)), 2, /--reason: goes with --override-hold/],
      [() => runErase(config(), { caller: NUMBER, overrideHold: true }, deps(io.io)), 2, /--override-hold: needs --reason/],
    ];
    for (const [run, code, message] of cases) {
      io = captureIo();
      expect([await run(), io.err()]).toEqual([code, expect.stringMatching(message)]);
    }
  });

  test('When a held call is past its retention, then purge says what the hold kept, erase is refused with the reason (exit 1), and --override-hold erases and says so; verify fails once a hold is deleted behind the ledger', async () => {
    mockStore = new MemoryLedgerStore('pbx-1');
    const old = recorded(1, 60, { callerPseudonym: WHO });
    await seed(mockStore, [old, call(2, 50)]);
    const place = captureIo();
    expect(await runHold(config(), { call: old.uniqueId, reason: 'litigation 2026-44' }, deps(place.io))).toBe(0);
    const id = /legal hold (h-[a-z2-7]{10})/.exec(place.out())?.[1] as string;

    const purge = captureIo();
    expect(await runPurge(config(), deps(purge.io))).toBe(0);
    expect(purge.out()).toContain('purge: 1 record(s) entered before');
    expect(purge.out()).toContain(`kept 1 record(s) under hold ${id} (on call ${old.uniqueId}): litigation 2026-44\n`);
    const purgeJson = captureIo();
    expect(await runPurge(config(), deps(purgeJson.io), { json: true })).toBe(0);
    expect(JSON.parse(purgeJson.out())).toMatchObject({ records: 0, held: [{ hold: id, scope: 'call', uniqueId: old.uniqueId, reason: 'litigation 2026-44', records: 1, erasures: 0 }] });
    expect(existsSync(String(old.recording?.file?.path))).toBe(true);

    const refused = captureIo();
    expect(await runErase(config(), { caller: NUMBER }, deps(refused.io))).toBe(1);
    expect(refused.err()).toContain(`consent-ivr ledger erase: refused: legal hold ${id} (call ${old.uniqueId}; reason: litigation 2026-44)`);
    expect(refused.out()).toBe('');

    expect(await runCheckpoint(config(), { sign: true }, deps(captureIo().io))).toBe(0);
    const v1 = captureIo();
    expect(await runVerify(config(), {}, deps(v1.io))).toBe(0);
    expect(v1.out()).toContain('legal holds: OK, 1 in force');
    const erased = captureIo();
    expect(await runErase(config(), { caller: '-', overrideHold: true, reason: 'court order 12' }, deps({ ...erased.io, stdin: Readable.from([NUMBER]) }))).toBe(0);
    expect(erased.out()).toContain('erased 1 record(s) of this caller');
    expect(erased.out()).toContain(`legal hold ${id} (reason: litigation 2026-44) overridden, as logged in the chain; released: everything it covered is erased`);
    expect(erased.out() + erased.err()).not.toMatch(LEAK);
    expect(bodies(mockStore).map((b) => b.type)).toContain('hold-override');

    const again = captureIo();
    expect(await runHold(config(), { call: old.uniqueId, reason: 'new dispute' }, deps(again.io))).toBe(0);
    const id2 = /legal hold (h-[a-z2-7]{10})/.exec(again.out())?.[1] as string;
    mockStore.holdEntries.delete(id2);
    expect(await runCheckpoint(config(), { sign: true }, deps(captureIo().io))).toBe(0);
    const v2 = captureIo();
    expect(await runVerify(config(), {}, deps(v2.io))).toBe(1);
    expect(v2.out()).toContain(`legal holds: 1 problem(s), 0 in force\n  REMOVED ${id2}: hold ${id2} (call ${old.uniqueId}`);
  });
});
