import { buildEntries, ChainVerifier, EMPTY_HEAD, entryId } from '../../src/ledger/chain';
import { ChainAppender, ChainConflictError, entryLeaf, extendTree } from '../../src/ledger/appender';
import { Frontier } from '../../src/ledger/merkle';
import type { AppendItem, AppendResult, CallHead, ChainEntry, ChainHead, ChainStore, LogHead, RecordRow } from '../../src/ledger/types';
import { ManualClock, flush } from '../support/manual-clock';

/** The appender's and the store's clock: time passes only when a test advances it. */
let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock();
});

/**
 * A store that behaves like Redis for the appender: each append is applied (or refused) the moment
 * it arrives, in arrival order, and its reply comes back `replyMs` later on the test's clock. It
 * records how many appends were ever in flight at once.
 */
class PipeStore implements ChainStore {
  entries: ChainEntry[] = [];
  /** The log's Merkle compact range, as the Redis script keeps it (set by each append). */
  tree = '0:';
  applied = new Set<string>();
  appendCalls = 0;
  maxInflight = 0;
  private inflight = 0;
  replyMs = 20;
  /** Called at each arrival before it is applied (to let "another writer" act). */
  beforeApply: ((n: number) => void) | null = null;
  /** Arrivals (1-based) that fail with an error after being applied or not. */
  failAt = new Map<number, 'applied' | 'not-applied'>();

  isReady(): boolean {
    return true;
  }
  onReady(): void {}
  async getRecord(): Promise<RecordRow | null> {
    return null;
  }
  async callHeads(ids: string[]): Promise<CallHead[]> {
    return ids.map((uniqueId) => ({ uniqueId, prev: null, stored: '' }));
  }
  async registerSelf(): Promise<void> {}
  async head(): Promise<LogHead> {
    return this.current();
  }
  current(): LogHead {
    const l = this.entries[this.entries.length - 1];
    return { ...(l ? { seq: l.seq, hash: l.hash } : EMPTY_HEAD), tree: this.tree };
  }
  /** Appends one foreign entry, as another instance would. */
  foreign(body: string): void {
    const [e] = buildEntries(this.current(), [body]);
    this.entries.push(e as ChainEntry);
    this.tree = extendTree(this.tree, [e as ChainEntry]) as string;
  }
  append(expected: ChainHead, entries: ChainEntry[], items: AppendItem[], tree: string | null): Promise<AppendResult> {
    const n = ++this.appendCalls;
    this.inflight++;
    this.maxInflight = Math.max(this.maxInflight, this.inflight);
    this.beforeApply?.(n);
    const fail = this.failAt.get(n);
    let result: AppendResult;
    const h = this.current();
    const dups = items.filter((i) => this.applied.has(i.eventId)).map((i) => i.eventId);
    if (h.seq !== expected.seq || h.hash !== expected.hash) result = { status: 'conflict', head: h };
    else if (dups.length) result = { status: 'duplicate', eventIds: dups };
    else if (fail === 'not-applied') result = { status: 'ok' };
    else {
      this.entries.push(...entries);
      if (tree !== null) this.tree = tree;
      for (const i of items) this.applied.add(i.eventId);
      result = { status: 'ok' };
    }
    return new Promise((resolve, reject) =>
      clock.setTimeout(() => {
        this.inflight--;
        if (fail) reject(new Error(`store failed on append ${n}`));
        else resolve(result);
      }, this.replyMs),
    );
  }
}

const item = (id: string): AppendItem => ({ eventId: id, body: JSON.stringify({ type: 'outcome', at: '2026-01-01T00:00:00Z', uniqueId: id, outcome: 'refused', recordDigest: 'd' }), record: null });

/** The compact range the store keeps equals the one computed from its entries. */
function treeMatches(store: PipeStore): boolean {
  const f = new Frontier();
  for (const e of store.entries) f.append(entryLeaf(e));
  return f.toString() === store.tree;
}

function intact(store: PipeStore): boolean {
  const v = new ChainVerifier(null);
  v.feed(store.entries.map((e) => ({ ...e, id: entryId(e.seq) })));
  const last = store.entries[store.entries.length - 1];
  return v.finish({ lastGeneratedId: last ? entryId(last.seq) : null, entriesAdded: last?.seq ?? null }).ok;
}

const uniqueIdsInChain = (s: PipeStore) => s.entries.map((e) => (JSON.parse(e.body) as { uniqueId?: string }).uniqueId ?? 'foreign');

/** `rounds` replies of the store come back, one after the other: each time, what is queued runs, then a round trip passes on the clock. */
async function answer(s: PipeStore, rounds = 1): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await flush();
    clock.advance(s.replyMs);
  }
  await flush();
}

const appender = (s: PipeStore, batchMax: number, maxConflicts = 10) => new ChainAppender(s, { batchMax, maxConflicts, clock });

describe('chain appender', () => {
  test('When events arrive while a batch is in flight, then they wait for its answer and go together in the next batch, in order', async () => {
    const s = new PipeStore();
    const a = appender(s, 2);
    const t0 = clock.now().getTime();
    const jobs = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => a.submit(item(id)));
    await flush();
    expect(a.inflightSince()).toBe(t0);
    await answer(s, 4);
    await Promise.all(jobs.map((j) => j.done));
    expect(a.inflightSince()).toBeNull();
    expect(s.maxInflight).toBe(1);
    expect(s.appendCalls).toBe(4); // a alone (sent at once), then b c, d e, f
    // Each batch is sent when the one before it is answered, 20 ms later.
    expect(jobs.map((j) => (j.sentAt ?? NaN) - t0)).toEqual([0, 20, 20, 40, 40, 60]);
    expect(uniqueIdsInChain(s)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(intact(s)).toBe(true);
    expect(treeMatches(s)).toBe(true);
  });

  test('When another writer moves the head while batches are in flight, then every event lands once, in submission order, and the chain stays intact', async () => {
    const s = new PipeStore();
    s.beforeApply = (n) => {
      if (n === 2) s.foreign('{"type":"outcome","uniqueId":"other"}');
    };
    const a = appender(s, 1);
    const first = a.submit(item('a'));
    await answer(s);
    await first.done;
    const jobs = ['b', 'c', 'd', 'e'].map((id) => a.submit(item(id)));
    await answer(s, 5); // b's first append meets the foreign entry and is sent again, then c, d, e
    await Promise.all(jobs.map((j) => j.done));
    expect(a.conflicts).toBe(1);
    expect(uniqueIdsInChain(s)).toEqual(['a', 'other', 'b', 'c', 'd', 'e']);
    // Each job knows the seq its entry got (what a legal hold keeps of its entry), after the foreign one.
    expect([first, ...jobs].map((j) => j.seq)).toEqual([1, 3, 4, 5, 6]);
    expect(intact(s)).toBe(true);
    expect(treeMatches(s)).toBe(true);
    expect(new Set(uniqueIdsInChain(s)).size).toBe(6);
  });

  test('When a batch fails, then its events are rejected, the events after it still land once, and the chain stays intact', async () => {
    const s = new PipeStore();
    s.failAt.set(2, 'not-applied');
    const a = appender(s, 1);
    const first = a.submit(item('a'));
    await answer(s);
    await first.done;
    const b = a.submit(item('b'));
    const rest = ['c', 'd'].map((id) => a.submit(item(id)));
    await answer(s);
    await expect(b.done).rejects.toThrow('store failed on append 2');
    await answer(s, 2);
    await Promise.all(rest.map((j) => j.done));
    expect(uniqueIdsInChain(s)).toEqual(['a', 'c', 'd']);
    expect(intact(s)).toBe(true);
    expect(treeMatches(s)).toBe(true);
  });

  test('When a failed batch had in fact been applied, then the batches after it keep their place and nothing is appended twice', async () => {
    const s = new PipeStore();
    s.failAt.set(2, 'applied');
    const a = appender(s, 1);
    const first = a.submit(item('a'));
    await answer(s);
    await first.done;
    const b = a.submit(item('b'));
    const rest = ['c', 'd'].map((id) => a.submit(item(id)));
    await answer(s);
    await expect(b.done).rejects.toThrow();
    await answer(s, 2);
    await Promise.all(rest.map((j) => j.done));
    expect(uniqueIdsInChain(s)).toEqual(['a', 'b', 'c', 'd']);
    expect(intact(s)).toBe(true);
    expect(treeMatches(s)).toBe(true);
    // The caller sends b again later (journal replay): it is recognised as already there.
    const again = a.submit({ ...item('b') });
    await answer(s);
    await again.done;
    expect(uniqueIdsInChain(s)).toEqual(['a', 'b', 'c', 'd']);
  });

  test('When an event is already in the store, then it resolves without a second entry and the others of its batch land', async () => {
    const s = new PipeStore();
    const a = appender(s, 8);
    const first = a.submit(item('a'));
    await answer(s);
    await first.done;
    const jobs = [a.submit(item('a')), a.submit(item('b'))];
    expect(jobs.map((j) => j.seq)).toEqual([null, null]);
    await answer(s, 2); // a b, refused for a; then b alone
    await Promise.all(jobs.map((j) => j.done));
    expect(uniqueIdsInChain(s)).toEqual(['a', 'b']);
    // The one already applied appended nothing: no seq of its own.
    expect(jobs.map((j) => j.seq)).toEqual([null, 2]);
    expect(intact(s)).toBe(true);
    expect(treeMatches(s)).toBe(true);
  });

  test('When another writer keeps moving the head, then the event fails after maxConflicts attempts', async () => {
    const s = new PipeStore();
    s.replyMs = 1;
    s.beforeApply = () => s.foreign('{"type":"outcome","uniqueId":"other"}');
    const a = appender(s, 1, 3);
    const j = a.submit(item('a'));
    await answer(s, 3);
    await expect(j.done).rejects.toBeInstanceOf(ChainConflictError);
    expect(s.appendCalls).toBe(3);
    expect(uniqueIdsInChain(s).filter((u) => u === 'a')).toHaveLength(0);
  });

  test('When a queued event is abandoned, then it is never sent; one already sent cannot be abandoned', async () => {
    const s = new PipeStore();
    const a = appender(s, 1);
    const first = a.submit(item('a'));
    const second = a.submit(item('b'));
    await flush();
    expect(first.abandon()).toBe(false); // in flight
    expect(second.abandon()).toBe(true);
    await answer(s);
    await first.done;
    await answer(s); // the store would have answered a second batch by now
    expect(s.appendCalls).toBe(1);
    expect(second.sentAt).toBeNull();
    expect(uniqueIdsInChain(s)).toEqual(['a']);
  });
});
