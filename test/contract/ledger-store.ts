/**
 * What the ledger relies on of its store (src/ledger/types.ts), as one suite that any implementation
 * must pass: the Redis store (test/e2e/ledger-store-redis.test.ts) and the in-memory one the unit
 * tests use (test/unit/ledger-store-memory.test.ts). Not a test file itself: it is called by those.
 */
import { ChainAppender, extendTree, linkEntries } from '../../src/ledger/appender';
import { buildEntries, EMPTY_HEAD, entryId, GENESIS } from '../../src/ledger/chain';
import type { Hold } from '../../src/ledger/holds';
import { INDEX_ONLY, STAGE, type AdminStore, type AppendItem, type RecordWrite, type TrimRequest } from '../../src/ledger/types';

/** A record write of call `uniqueId` (the store keeps the JSON as given; it does not read it). */
function write(uniqueId: string, stage: number, over: Partial<RecordWrite> = {}): RecordWrite {
  return { uniqueId, json: JSON.stringify({ uniqueId, stage }), stage: stage as RecordWrite['stage'], enteredMs: 1000, callerPseudonym: '', callerIndex: 'add', ...over };
}

/** An event of the chain, with its record write or none. */
function item(eventId: string, record: RecordWrite | null = null): AppendItem {
  return { eventId, body: JSON.stringify({ type: 'outcome', eventId }), record };
}

/** Appends `items` on the store's current head, with their entries and tree computed as the appender does. */
async function add(store: AdminStore, items: AppendItem[], trim?: TrimRequest) {
  const head = await store.head();
  const calls = await store.callHeads([...new Set(items.flatMap((i) => (i.record ? [i.record.uniqueId] : [])))]);
  const entries = linkEntries(head, items, new Map(calls.map((c) => [c.uniqueId, c.prev])));
  return store.append(head, entries, items, extendTree(head.tree, entries), trim, calls);
}

async function collect<T>(chunks: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

/** Runs the store contract against fresh, empty stores made by `makeStore` (one per test). */
/** What a contract run can do to a store behind its back: make a record look as records made before calls were linked. */
export interface StoreBackdoor {
  forgetLink(store: AdminStore, uniqueId: string): Promise<void>;
}

export function ledgerStoreContract(name: string, makeStore: () => AdminStore | Promise<AdminStore>, backdoor: StoreBackdoor): void {
  describe(`ledger store contract: ${name}`, () => {
    let store: AdminStore;
    beforeEach(async () => {
      store = await makeStore();
    });

    test("When entries about a call are appended, then each links the call's previous entry; a record from before links finds its last entry all the same; a moved link refuses the append", async () => {
      const w = (id: string) => write('u1', STAGE.outcome, { json: `{"n":"${id}"}` });
      expect(await add(store, [item('a', w('a')), item('b', w('b'))])).toEqual({ status: 'ok' });
      const [a, b] = await store.entriesAfter(0, 2);
      expect(JSON.parse(String(a?.body)).callPrev).toBeNull();
      expect(JSON.parse(String(b?.body)).callPrev).toEqual({ seq: a?.seq, hash: a?.hash });
      await backdoor.forgetLink(store, 'u1');
      expect(await add(store, [item('c', w('c'))])).toEqual({ status: 'ok' });
      const [c] = await store.entriesAfter(2, 1);
      expect(JSON.parse(String(c?.body)).callPrev).toEqual({ seq: b?.seq, hash: b?.hash });
      // Another writer appended about the call since its link was read: nothing is written.
      const stale = await store.callHeads(['u1']);
      expect(await add(store, [item('d', w('d'))])).toEqual({ status: 'ok' });
      const head = await store.head();
      const entries = linkEntries(head, [item('e', w('e'))], new Map(stale.map((x) => [x.uniqueId, x.prev])));
      expect(await store.append(head, entries, [item('e', w('e'))], extendTree(head.tree, entries), undefined, stale)).toEqual({ status: 'call-conflict', uniqueId: 'u1' });
      expect((await store.head()).seq).toBe(4);
    });

    test("When an appender sends a call's entries from what it remembers, or a decision as the call's first, then it reads no record; where another writer moved the call, or the \"first\" entry is not, the store refuses it and the entry links after the real last one", async () => {
      let reads = 0;
      const counted = new Proxy(store, {
        get(target, prop, receiver) {
          if (prop === 'callHeads') return (ids: string[]) => ((reads += ids.length), target.callHeads(ids));
          const v: unknown = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const mine = new ChainAppender(counted);
      const other = new ChainAppender(store); // another instance, or the CLI
      const rec = (id: string, first = false) => write(id, STAGE.outcome, { json: `{"n":"${id}"}`, ...(first ? { first: true } : {}) });
      const prevOf = async (seq: number) => JSON.parse(String((await store.entriesAfter(seq - 1, 1))[0]?.body)).callPrev as { seq: number } | null;
      await mine.submit(item('d1', rec('u1', true))).done;
      await mine.submit(item('o1', rec('u1'))).done;
      expect(reads).toBe(0);
      expect(await prevOf(1)).toBeNull();
      expect(await prevOf(2)).toMatchObject({ seq: 1 });
      // Another writer appends about u1: the remembered head is refused, read, and the entry links after the other's.
      await other.submit(item('x1', rec('u1'))).done;
      await mine.submit(item('w1', rec('u1'))).done;
      expect(reads).toBe(1);
      expect(await prevOf(4)).toMatchObject({ seq: 3 });
      // A "first" entry of a call that has entries already (written by the other writer).
      await other.submit(item('x2', rec('u2'))).done;
      await mine.submit(item('d2', rec('u2', true))).done;
      expect(reads).toBe(2);
      expect(await prevOf(6)).toMatchObject({ seq: 5 });
      // Refused hints are not another writer's appends; the head moved by the other writer is one each time.
      expect(mine.conflicts).toBe(2);
      expect((await store.head()).seq).toBe(6);
    });

    test('When the log is empty, then its head is the genesis with the empty tree, and it has no entries, checkpoint or history', async () => {
      expect(await store.head()).toEqual({ seq: 0, hash: GENESIS, tree: '0:' });
      expect(await store.entriesAfter(0, 10)).toEqual([]);
      expect(await store.latestCheckpoint()).toBeNull();
      expect(await store.chainInfo()).toEqual({ lastGeneratedId: null, entriesAdded: null });
      expect(await collect(store.chain(10))).toEqual([{ anchor: null, anchorTree: null, entries: [] }]);
    });

    test('When entries are appended on the head, then they are read back in order from any seq, and the head and tree move', async () => {
      expect(await add(store, [item('a'), item('b')])).toEqual({ status: 'ok' });
      expect(await add(store, [item('c')])).toEqual({ status: 'ok' });
      const all = await store.entriesAfter(0, 10);
      const expected = buildEntries(EMPTY_HEAD, ['a', 'b', 'c'].map((id) => item(id).body));
      expect(all).toEqual(expected.map((e) => ({ ...e, id: entryId(e.seq) })));
      expect((await store.entriesAfter(1, 1)).map((e) => e.seq)).toEqual([2]);
      expect(await store.entriesAfter(3, 10)).toEqual([]);
      expect((await store.chainEntries([3, 9, 1])).map((e) => e?.seq ?? null)).toEqual([3, null, 1]);
      const last = expected[2];
      expect(await store.head()).toEqual({ seq: 3, hash: last?.hash, tree: extendTree('0:', expected) });
      expect(await store.chainInfo()).toEqual({ lastGeneratedId: entryId(3), entriesAdded: 3 });
      const chunks = await collect(store.chain(2));
      expect(chunks.map((c) => c.entries.map((e) => e.seq))).toEqual([[1, 2], [3]]);
    });

    test('When the head moved since the entries were computed, then the append is refused with the current head and writes nothing', async () => {
      const stale = await store.head();
      await add(store, [item('a', write('u1', STAGE.decision))]);
      const head = await store.head();
      const entries = buildEntries(stale, [item('b').body]);
      const r = await store.append(stale, entries, [item('b', write('u2', STAGE.decision))], extendTree(stale.tree, entries));
      expect(r).toEqual({ status: 'conflict', head });
      expect(await store.head()).toEqual(head);
      expect(await store.getRecord('u2')).toBeNull();
    });

    test('When an event was already applied to its record, then the batch is refused as a duplicate and nothing of it is written', async () => {
      await add(store, [item('e1', write('u1', STAGE.decision))]);
      const head = await store.head();
      const r = await add(store, [item('e2', write('u2', STAGE.decision)), item('e1', write('u1', STAGE.outcome))]);
      expect(r).toEqual({ status: 'duplicate', eventIds: ['e1'] });
      expect(await store.head()).toEqual(head);
      expect(await store.getRecord('u2')).toBeNull();
      expect(JSON.parse((await store.getRecord('u1'))?.json ?? '{}')).toMatchObject({ stage: STAGE.decision });
    });

    test('When a record is written by several events, then a lower stage never replaces a higher one, every event is indexed under it, and a seal only indexes', async () => {
      await add(store, [item('outcome', write('u1', STAGE.outcome))]);
      await add(store, [item('decision', write('u1', STAGE.decision))]);
      await add(store, [item('seal', write('u1', INDEX_ONLY, { json: '' }))]);
      expect(await store.getRecord('u1')).toEqual({ uniqueId: 'u1', json: write('u1', STAGE.outcome).json, seq: 1 });
      expect(await store.eventSeqs('u1')).toEqual([1, 2, 3]);
      await add(store, [item('erasure', write('u1', STAGE.erasure, { json: '{"erased":true}' }))]);
      expect(await store.getRecord('u1')).toEqual({ uniqueId: 'u1', json: '{"erased":true}', seq: 4 });
      await add(store, [item('seal-only', write('u9', INDEX_ONLY, { json: '' }))]);
      expect(await store.getRecord('u9')).toBeNull();
      expect(await store.eventSeqs('u9')).toEqual([5]);
      expect(await store.getRecords(['u1', 'nobody'])).toEqual([{ uniqueId: 'u1', json: '{"erased":true}', seq: 4 }, null]);
    });

    test('When records are listed by time, then they come in order of enteredAt then uniqueId, within [from, to), in chunks', async () => {
      const at = { b: 2000, a: 2000, c: 1000, d: 3000 } as const;
      await add(store, Object.entries(at).map(([id, ms]) => item(`e-${id}`, write(id, STAGE.outcome, { enteredMs: ms }))));
      const chunks = await collect(store.recordsByTime(1000, 3000, 2));
      expect(chunks.flat().map((r) => r.uniqueId)).toEqual(['c', 'a', 'b']);
      expect(chunks.every((c) => c.length <= 2)).toBe(true);
      expect((await collect(store.recordsByTime(3001, 9000, 2))).flat()).toEqual([]);
      const before = await store.recordsBefore(3000, 1, 5);
      expect(before.map((b) => [b.uniqueId, b.row?.uniqueId])).toEqual([
        ['a', 'a'],
        ['b', 'b'],
      ]);
    });

    test('When a walk by time deletes, as it goes, records older than the last one it read, then it still reads every record once, in order (what the purge relies on)', async () => {
      const at = { a: 1000, b: 1000, c: 1000, d: 1000, e: 2000, f: 2000, g: 3000, h: 4000 } as const;
      await add(store, Object.entries(at).map(([id, ms]) => item(`e-${id}`, write(id, STAGE.outcome, { enteredMs: ms }))));
      const read: string[] = [];
      let behind: string[] = [];
      for await (const rows of store.recordsByTime(0, Infinity, 3)) {
        read.push(...rows.map((r) => r.uniqueId));
        const lastMs = at[rows[rows.length - 1]?.uniqueId as keyof typeof at];
        behind.push(...rows.map((r) => r.uniqueId));
        const gone = behind.filter((id) => at[id as keyof typeof at] < lastMs);
        await store.deleteRecords(gone.map((uniqueId) => ({ uniqueId, callerPseudonym: '' })));
        behind = behind.filter((id) => !gone.includes(id));
      }
      expect(read).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
      expect((await collect(store.recordsByTime(0, Infinity, 10))).flat().map((r) => r.uniqueId)).toEqual(behind);
    });

    test('When records name a caller, then the caller index lists them until removed, and deleted records leave every index', async () => {
      const p = 'c'.repeat(64);
      await add(store, [item('e1', write('u1', STAGE.outcome, { callerPseudonym: p })), item('e2', write('u2', STAGE.outcome, { callerPseudonym: p }))]);
      expect((await collect(store.callerRecordIds(p, 10))).flat().sort()).toEqual(['u1', 'u2']);
      await add(store, [item('e3', write('u1', STAGE.erasure, { callerPseudonym: p, callerIndex: 'remove' }))]);
      expect((await collect(store.callerRecordIds(p, 10))).flat()).toEqual(['u2']);
      await store.deleteRecords([{ uniqueId: 'u2', callerPseudonym: p }]);
      expect(await store.getRecord('u2')).toBeNull();
      expect((await collect(store.callerRecordIds(p, 10))).flat()).toEqual([]);
      expect((await collect(store.recordsByTime(0, Infinity, 10))).flat().map((r) => r.uniqueId)).toEqual(['u1']);
    });

    test('When the chain is trimmed with an append, then the entries up to the target go, the anchor keeps its place, and the head follows', async () => {
      await add(store, [item('a'), item('b'), item('c')]);
      const [, second] = await store.entriesAfter(0, 3);
      const trim = { seq: 2, hash: second?.hash ?? '', tree: 'anchor-tree' };
      expect(await add(store, [item('purge')], trim)).toEqual({ status: 'ok' });
      expect((await store.entriesAfter(0, 10)).map((e) => e.seq)).toEqual([3, 4]);
      const [first] = await collect(store.chain(10));
      expect(first).toMatchObject({ anchor: { seq: 2, hash: second?.hash }, anchorTree: 'anchor-tree' });
      expect((await store.head()).seq).toBe(4);
      expect(await store.chainInfo()).toEqual({ lastGeneratedId: entryId(4), entriesAdded: 4 });
      await expect(add(store, [item('again')], trim)).rejects.toThrow();
      await expect(add(store, [item('nowhere')], { seq: 9, hash: GENESIS, tree: null })).rejects.toThrow();
      const last = (await store.entriesAfter(0, 10))[1];
      await add(store, [item('all')], { seq: 4, hash: last?.hash ?? '', tree: null });
      await add(store, [], { seq: 5, hash: (await store.head()).hash, tree: null });
      expect(await store.entriesAfter(0, 10)).toEqual([]);
      expect(await store.head()).toMatchObject({ seq: 5 });
    });

    test('When checkpoints are added, then the latest is the last added, and all are read back in order, in chunks', async () => {
      for (const size of [1, 2, 3]) await store.addCheckpoint(size, `note ${size}`, `${size}:t`);
      expect(await store.latestCheckpoint()).toMatchObject({ size: 3, note: 'note 3', tree: '3:t' });
      const chunks = await collect(store.checkpoints(2));
      expect(chunks.map((c) => c.map((cp) => cp.size))).toEqual([[1, 2], [3]]);
    });

    test('When notices, recordings to seal and logs are kept, then a notice keeps its first text, and the unsealed are listed oldest first until cleared', async () => {
      const notice = { version: 'v1', prompts: [{ lang: 'ar', prompt: 'notice', text: 'first', audioSha256: null }] };
      await store.saveNotice(notice);
      await store.saveNotice({ ...notice, prompts: [] });
      expect(await store.notice('v1')).toEqual(notice);
      expect(await store.notice('v2')).toBeNull();
      await store.markUnsealed('srv', { uniqueId: 'late', log: store.log, path: '/rec/late.wav', sinceMs: 2000 });
      await store.markUnsealed('srv', { uniqueId: 'early', log: store.log, path: '/rec/early.wav', sinceMs: 1000, stopped: 'withdrawal' });
      expect((await store.unsealed('srv')).map((u) => u.uniqueId)).toEqual(['early', 'late']);
      expect(await store.unsealed('other')).toEqual([]);
      await store.clearUnsealed('srv', 'early');
      expect((await store.unsealed('srv')).map((u) => u.uniqueId)).toEqual(['late']);
      await store.registerLog('b-log');
      await store.registerLog('a-log');
      await store.registerLog('a-log');
      expect(await store.logs()).toEqual(['a-log', 'b-log']);
    });

    test('When another log of the same ledger is opened, then it has its own chain and records but shares notices and deletions', async () => {
      await add(store, [item('e1', write('u1', STAGE.outcome))]);
      await store.saveNotice({ version: 'v1', prompts: [] });
      await store.queueDeletion('srv', { uniqueId: 'u1', path: '/rec/u1.wav', reason: 'erase', requestedAt: 5 });
      const other = store.forLog(`${store.log}-other`);
      expect(store.forLog(store.log).log).toBe(store.log);
      expect(await other.head()).toEqual({ seq: 0, hash: GENESIS, tree: '0:' });
      expect(await other.getRecord('u1')).toBeNull();
      expect(await other.notice('v1')).not.toBeNull();
      expect(await other.pendingDeletions('srv')).toHaveLength(1);
    });

    test('When deletions are queued, confirmed and forgotten, then a deletion keeps its first time and moves from the queue to the confirmations', async () => {
      await store.queueDeletion('srv-b', { uniqueId: 'u2', path: '/rec/u2.wav', reason: 'purge', requestedAt: 20 });
      await store.queueDeletion('srv-a', { uniqueId: 'u1', path: '/rec/u1.wav', reason: 'erase', requestedAt: 30 });
      await store.queueDeletion('srv-a', { uniqueId: 'u3', path: '/rec/u3.wav', reason: 'erase', requestedAt: 10 });
      await store.queueDeletion('srv-a', { uniqueId: 'u1', path: '/rec/u1.wav', reason: 'purge', requestedAt: 99 });
      expect(await store.deletionServers()).toEqual(['srv-a', 'srv-b']);
      expect(await store.pendingDeletions('srv-a')).toEqual([
        { uniqueId: 'u3', path: '/rec/u3.wav', reason: 'erase', requestedAt: 10 },
        { uniqueId: 'u1', path: '/rec/u1.wav', reason: 'erase', requestedAt: 30 },
      ]);
      await store.confirmDeletion('srv-a', 'u1', 'missing', 40);
      expect((await store.pendingDeletions('srv-a')).map((d) => d.uniqueId)).toEqual(['u3']);
      expect(await store.deletionConfirmations(['u1', 'u3'])).toEqual([{ server: 'srv-a', result: 'missing', atMs: 40 }, null]);
      await store.forgetConfirmations(['u1']);
      expect(await store.deletionConfirmations(['u1'])).toEqual([null]);
    });

    test('When queued deletions are cancelled (a legal hold), then they leave the queue without a confirmation, and the others stay', async () => {
      await store.queueDeletion('srv', { uniqueId: 'u1', path: '/rec/u1.wav', reason: 'purge', requestedAt: 10 });
      await store.queueDeletion('srv', { uniqueId: 'u2', path: '/rec/u2.wav', reason: 'erase', requestedAt: 20 });
      await store.cancelDeletions('srv', ['u1', 'u9']);
      await store.cancelDeletions('srv', []);
      expect((await store.pendingDeletions('srv')).map((d) => d.uniqueId)).toEqual(['u2']);
      expect(await store.deletionConfirmations(['u1'])).toEqual([null]);
    });

    test('When legal holds are kept, then every log sees them, oldest placed first, a hold put again replaces itself, and a removed one is gone', async () => {
      const call: Hold = { id: 'h-bbbbbbbbbb', scope: 'call', uniqueId: 'u1', caller: null, reason: 'litigation 2026-44', at: '2026-11-30T10:00:00.000Z', log: store.log, seq: 0 };
      const caller: Hold = { id: 'h-aaaaaaaaaa', scope: 'caller', uniqueId: null, caller: 'c'.repeat(64), reason: 'CNDP inquiry', at: '2026-11-30T11:00:00.000Z', log: store.log, seq: 7 };
      expect(await store.readHolds()).toEqual({ items: [], malformed: [] });
      await store.putHold(caller);
      await store.putHold(call);
      await store.putHold({ ...call, seq: 5 });
      const other = store.forLog(`${store.log}-other`);
      expect(await other.readHolds()).toEqual({ items: [{ ...call, seq: 5 }, caller], malformed: [] });
      await store.removeHold(call.id);
      await store.removeHold('h-2222222222');
      expect((await store.readHolds()).items).toEqual([caller]);
    });

    test('When erasures are marked, then a later mark replaces an earlier one until forgotten', async () => {
      await store.markErased('p1', 100);
      await store.markErased('p2', 200);
      await store.markErased('p1', 300);
      expect(await store.erasureMarks()).toEqual(new Map([['p1', 300], ['p2', 200]]));
      await store.forgetErasures(['p1']);
      expect(await store.erasureMarks()).toEqual(new Map([['p2', 200]]));
    });

    test('When a lock is held, then nobody else gets it until it is released', async () => {
      const release = await store.lock('purge', 60_000);
      expect(release).not.toBeNull();
      expect(await store.lock('purge', 60_000)).toBeNull();
      expect(await store.lock('other', 60_000)).not.toBeNull();
      await release?.();
      expect(await store.lock('purge', 60_000)).not.toBeNull();
    });
  });
}
