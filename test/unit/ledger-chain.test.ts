import { buildEntries, ChainVerifier, EMPTY_HEAD, entryHash, entryId, GENESIS } from '../../src/ledger/chain';
import type { StoredChainEntry } from '../../src/ledger/types';

const body = (i: number) => JSON.stringify({ type: 'outcome', at: `2025-01-01T00:00:0${i % 10}Z`, uniqueId: `u.${i}`, outcome: 'refused', recordDigest: 'd' });

function chain(n: number): StoredChainEntry[] {
  return buildEntries(EMPTY_HEAD, Array.from({ length: n }, (_, i) => body(i + 1))).map((e) => ({ ...e, id: entryId(e.seq) }));
}

function verify(entries: StoredChainEntry[], opts: { anchor?: { seq: number; hash: string } | null; lastId?: string | null; added?: number | null; chunk?: number } = {}) {
  const v = new ChainVerifier(opts.anchor ?? null);
  const chunk = opts.chunk ?? 2;
  for (let i = 0; i < entries.length; i += chunk) v.feed(entries.slice(i, i + chunk));
  const last = entries[entries.length - 1];
  return v.finish({ lastGeneratedId: opts.lastId === undefined ? (last?.id ?? null) : opts.lastId, entriesAdded: opts.added === undefined ? (last?.seq ?? null) : opts.added });
}

describe('hash chain', () => {
  test('When entries are built, then each links to the previous hash and the first to the genesis', () => {
    const c = chain(3);
    expect(c[0]?.prev).toBe(GENESIS);
    expect(c[1]?.prev).toBe(c[0]?.hash);
    expect(c[2]?.hash).toBe(entryHash(3, String(c[1]?.hash), body(3)));
    expect(c.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  test('When the chain is intact, then the verifier passes and reports the head', () => {
    const c = chain(7);
    const r = verify(c);
    expect(r.ok).toBe(true);
    expect(r.entries).toBe(7);
    expect(r.head).toEqual({ seq: 7, hash: c[6]?.hash });
    expect(verify([]).ok).toBe(true);
  });

  test('When an entry body is edited, then the break is "edited" at that entry', () => {
    const c = chain(5);
    c[2] = { ...(c[2] as StoredChainEntry), body: body(99) };
    expect(verify(c).break).toMatchObject({ kind: 'edited', seq: 3, position: 3, id: '3-0' });
  });

  test('When an entry is edited and rehashed, then the break is the link of the next entry', () => {
    const c = chain(5);
    const e = c[2] as StoredChainEntry;
    c[2] = { ...e, body: body(99), hash: entryHash(3, e.prev, body(99)) };
    const r = verify(c);
    expect(r.break).toMatchObject({ kind: 'edited', seq: 4, position: 4 });
    expect(r.break?.message).toMatch(/does not link to seq 3/);
  });

  test('When an entry in the middle is deleted, then the break is "deleted" naming the missing seq', () => {
    const c = chain(6);
    c.splice(3, 1);
    const r = verify(c);
    expect(r.break).toMatchObject({ kind: 'deleted', seq: 5, position: 4 });
    expect(r.break?.message).toMatch(/entry seq 4 is missing/);
  });

  test('When the first entries are deleted and there is no anchor, then the break is "deleted"', () => {
    const r = verify(chain(5).slice(2));
    expect(r.break).toMatchObject({ kind: 'deleted', seq: 3, position: 1 });
    expect(r.break?.message).toMatch(/follows the start of the chain: entries seq 1–2 are missing/);
  });

  test('When the last entries are deleted, then the store\'s last id reveals it', () => {
    const c = chain(5);
    expect(verify(c.slice(0, 4), { lastId: '5-0' }).break).toMatchObject({ kind: 'deleted', position: null });
  });

  test('When two entries are swapped, then the break is "reordered", even across chunk boundaries', () => {
    for (const chunk of [1, 2, 100]) {
      const c = chain(6);
      const swapped = [c[0], c[1], c[3], c[2], c[4], c[5]] as StoredChainEntry[];
      const r = verify(swapped, { chunk });
      expect(r.break).toMatchObject({ kind: 'reordered', seq: 4, position: 3 });
    }
  });

  test('When an entry is moved far back, then the break is "reordered"', () => {
    const c = chain(6);
    const moved = [c[0], c[2], c[3], c[4], c[1], c[5]] as StoredChainEntry[];
    expect(verify(moved).break?.kind).toBe('reordered');
  });

  test('When an entry is duplicated, then the break is "reordered or duplicated"', () => {
    const c = chain(4);
    const r = verify([c[0], c[1], c[1], c[2], c[3]] as StoredChainEntry[]);
    expect(r.break).toMatchObject({ kind: 'reordered', position: 3 });
  });

  test('When the log was rebuilt under other ids, then the break is "rewritten"', () => {
    const c = chain(3).map((e, i) => ({ ...e, id: `${1000 + i}-0` }));
    expect(verify(c).break?.kind).toBe('rewritten');
    expect(verify(chain(3), { added: 7 }).break?.kind).toBe('rewritten');
  });

  test('When the chain starts at an anchor declared by a purge entry, then it verifies; an undeclared anchor does not', () => {
    const bodies = Array.from({ length: 5 }, (_, i) => body(i + 1));
    const all = buildEntries(EMPTY_HEAD, bodies);
    const anchor = { seq: 2, hash: String(all[1]?.hash) };
    const purge = JSON.stringify({ type: 'purge', at: 'x', cutoff: 'x', records: 0, recordingsDeleted: 0, failures: 0, trimmedTo: anchor });
    const withPurge = buildEntries(EMPTY_HEAD, [...bodies, purge]).map((e) => ({ ...e, id: entryId(e.seq) }));
    expect(verify(withPurge.slice(2), { anchor }).ok).toBe(true);
    const plain = chain(5);
    const r = verify(plain.slice(2), { anchor: { seq: 2, hash: String(plain[1]?.hash) } });
    expect(r.break?.kind).toBe('anchor');
  });
});
