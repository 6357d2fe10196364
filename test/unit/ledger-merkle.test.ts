import { createHash, randomBytes } from 'node:crypto';
import { EMPTY_ROOT, Frontier, leafHash, nodeHash, rootOf } from '../../src/ledger/merkle';
import { LogTree, TreeError, verifyConsistency, verifyInclusion } from '../../src/ledger/merkle-proofs';

// ---- An independent, deliberately naive RFC 9162 section 2.1 implementation (slices and recursion) ----

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const refLeaf = (data: Buffer): Buffer => sha256(Buffer.from([0]), data);
const refNode = (l: Buffer, r: Buffer): Buffer => sha256(Buffer.from([1]), l, r);
const refSplit = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
/** MTH over leaf hashes. */
function refMth(d: Buffer[]): Buffer {
  if (d.length === 0) return sha256();
  if (d.length === 1) return d[0] as Buffer;
  const k = refSplit(d.length);
  return refNode(refMth(d.slice(0, k)), refMth(d.slice(k)));
}
/** PATH(m, D[n]) */
function refPath(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = refSplit(d.length);
  return m < k ? [...refPath(m, d.slice(0, k)), refMth(d.slice(k))] : [...refPath(m - k, d.slice(k)), refMth(d.slice(0, k))];
}
/** PROOF(m, D[n]) */
function refProof(m: number, d: Buffer[]): Buffer[] {
  const sub = (mm: number, dd: Buffer[], b: boolean): Buffer[] => {
    if (mm === dd.length) return b ? [] : [refMth(dd)];
    const k = refSplit(dd.length);
    return mm <= k ? [...sub(mm, dd.slice(0, k), b), refMth(dd.slice(k))] : [...sub(mm - k, dd.slice(k), false), refMth(dd.slice(0, k))];
  };
  return sub(m, d, true);
}

// ---- Fixtures ----

const hex = (bs: readonly Buffer[]): string[] => bs.map((b) => b.toString('hex'));
const leaves = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
const flipped = (b: Buffer, bit = 0): Buffer => {
  const c = Buffer.from(b);
  c[bit >> 3] = (c[bit >> 3] as number) ^ (1 << (bit & 7));
  return c;
};
function frontierOf(ls: Buffer[]): Frontier {
  const f = new Frontier();
  for (const l of ls) f.append(l);
  return f;
}
const fullTree = (ls: Buffer[], size = ls.length): LogTree => new LogTree(new Frontier(), (i) => ls[i] as Buffer, size);

/** A tree over `all` whose leaves before s are only known through a frontier (round-tripped through its text form). */
function trimmedTree(all: Buffer[], s: number, size = all.length): { tree: LogTree; calls: number[] } {
  const base = Frontier.parse(frontierOf(all.slice(0, s)).toString());
  const calls: number[] = [];
  const tree = new LogTree(
    base,
    (i) => {
      calls.push(i);
      if (i < s || i >= size) throw new Error(`leafAt(${i}) called outside [${s}, ${size})`);
      return all[i] as Buffer;
    },
    size,
  );
  return { tree, calls };
}
/** Hex result, or 'trimmed' for a TreeError; anything else is rethrown (fails the test). */
function outcome(f: () => Buffer | Buffer[]): string[] | 'trimmed' {
  try {
    const r = f();
    return hex(Array.isArray(r) ? r : [r]);
  } catch (e) {
    if (e instanceof TreeError) return 'trimmed';
    throw e;
  }
}
const popcount = (n: number): number => n.toString(2).split('').filter((c) => c === '1').length;

describe('ledger merkle: hashing primitives', () => {
  it('When data is leaf-hashed, then it is SHA-256 of 0x00 followed by the data', () => {
    const data = Buffer.from('hello');
    expect(leafHash(data).toString('hex')).toBe(refLeaf(data).toString('hex'));
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  });

  it('When two hashes are combined, then the node hash is SHA-256 of 0x01, left and right', () => {
    const [a, b] = leaves(2) as [Buffer, Buffer];
    expect(nodeHash(a, b).toString('hex')).toBe(refNode(a, b).toString('hex'));
    expect(nodeHash(a, b).equals(nodeHash(b, a))).toBe(false);
  });

  it('When a node hash input is not 32 bytes, then it throws a RangeError', () => {
    const [a] = leaves(1) as [Buffer];
    expect(() => nodeHash(a, Buffer.alloc(31))).toThrow(RangeError);
    expect(() => nodeHash(Buffer.alloc(33), a)).toThrow(/32-byte/);
  });

  it('The empty root is SHA-256 of the empty string', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(rootOf([]).toString('hex')).toBe(EMPTY_ROOT.toString('hex'));
  });
});

describe('ledger merkle: known answers', () => {
  it('When leaves are the decimal strings 0..6, then the root matches a tiny recursive implementation and the fixed answer', () => {
    const data = Array.from({ length: 7 }, (_, i) => Buffer.from(String(i)));
    const tiny = (ds: Buffer[]): Buffer => {
      if (ds.length === 1) return sha256(Buffer.from([0]), ds[0] as Buffer);
      let k = 1;
      while (k * 2 < ds.length) k *= 2;
      return sha256(Buffer.from([1]), tiny(ds.slice(0, k)), tiny(ds.slice(k)));
    };
    const expected = tiny(data).toString('hex');
    expect(expected).toBe('a3e23b32ccb6bf96d092d165d8aa546e09829de8f03b0e8957581d1e16b92bdf');
    const ls = data.map((d) => leafHash(d));
    expect(rootOf(ls).toString('hex')).toBe(expected);
    expect(frontierOf(ls).root().toString('hex')).toBe(expected);
    expect(fullTree(ls).root().toString('hex')).toBe(expected);
  });

  it('When the Certificate Transparency test leaves are hashed, then the roots of sizes 1..8 are the published ones', () => {
    const data = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) =>
      Buffer.from(h, 'hex'),
    );
    const roots = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    const f = new Frontier();
    data.forEach((d, i) => {
      f.append(leafHash(d));
      expect(f.root().toString('hex')).toBe(roots[i]);
    });
  });
});

describe('ledger merkle: Frontier', () => {
  const all = leaves(70);

  it('When leaves are appended one by one, then the root equals the reference MTH for every size 0..70', () => {
    const f = new Frontier();
    for (let n = 0; n <= 70; n++) {
      const expected = rootOf(all.slice(0, n)).toString('hex');
      expect(refMth(all.slice(0, n)).toString('hex')).toBe(expected);
      expect(f.size).toBe(n);
      expect(f.hashes).toHaveLength(popcount(n));
      expect(f.root().toString('hex')).toBe(expected);
      if (n < 70) f.append(all[n] as Buffer);
    }
  });

  it('When pieces are listed, then they are the perfect subtrees of the size, largest first, with their MTH', () => {
    for (let n = 0; n <= 70; n++) {
      const pieces = frontierOf(all.slice(0, n)).pieces();
      expect(pieces).toHaveLength(popcount(n));
      let lo = 0;
      let prevWidth = Infinity;
      for (const p of pieces) {
        const width = p.hi - p.lo;
        expect(p.lo).toBe(lo);
        expect(popcount(width)).toBe(1);
        expect(width).toBeLessThan(prevWidth);
        expect(p.hash.toString('hex')).toBe(rootOf(all.slice(p.lo, p.hi)).toString('hex'));
        lo = p.hi;
        prevWidth = width;
      }
      expect(lo).toBe(n);
    }
  });

  it('When constructed from a size and matching hashes, then it continues exactly like the original', () => {
    const orig = frontierOf(all.slice(0, 13));
    const copy = new Frontier(13, [...orig.hashes]);
    for (let i = 13; i < 70; i++) copy.append(all[i] as Buffer);
    expect(copy.root().toString('hex')).toBe(rootOf(all).toString('hex'));
    expect(new Frontier().toString()).toBe('0:');
    expect(new Frontier().root().toString('hex')).toBe(EMPTY_ROOT.toString('hex'));
  });

  it('When the hashes do not match the size, then the constructor throws', () => {
    const [a, b] = leaves(2) as [Buffer, Buffer];
    expect(() => new Frontier(3, [a])).toThrow(/size 3 needs 2 subtree hash\(es\), got 1/);
    expect(() => new Frontier(0, [a])).toThrow(Error);
    expect(() => new Frontier(4, [a, b])).toThrow(/needs 1/);
    expect(() => new Frontier(1, [Buffer.alloc(16)])).toThrow(/32-byte/);
    expect(() => new Frontier(-1, [])).toThrow(RangeError);
    expect(() => new Frontier(1.5, [a])).toThrow(RangeError);
    expect(() => new Frontier(Number.NaN)).toThrow(RangeError);
  });

  it('When a clone is appended to, then the original is unchanged', () => {
    const f = frontierOf(all.slice(0, 5));
    const before = f.toString();
    const c = f.clone();
    c.append(all[5] as Buffer);
    expect(f.toString()).toBe(before);
    expect(c.size).toBe(6);
    expect(c.root().toString('hex')).toBe(rootOf(all.slice(0, 6)).toString('hex'));
  });

  it('When returned buffers or inputs are mutated, then the frontier is unaffected', () => {
    const ls = all.slice(0, 4).map((b) => Buffer.from(b));
    const f = frontierOf(ls);
    const root = f.root().toString('hex');
    ls.forEach((b) => b.fill(0));
    f.root().fill(0);
    (f.hashes[0] as Buffer).fill(0);
    (f.pieces()[0] as { hash: Buffer }).hash.fill(0);
    expect(f.root().toString('hex')).toBe(root);
    new Frontier().root().fill(0);
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('When a leaf is not a 32-byte buffer, then append throws a RangeError', () => {
    expect(() => new Frontier().append(Buffer.alloc(20))).toThrow(RangeError);
  });

  it('When formatted and parsed back, then the frontier round-trips for every size 0..70', () => {
    for (let n = 0; n <= 70; n++) {
      const f = frontierOf(all.slice(0, n));
      const s = f.toString();
      expect(s).toMatch(/^\d+:([0-9a-f]{64}(,[0-9a-f]{64})*)?$/);
      const g = Frontier.parse(s);
      expect(g.size).toBe(n);
      expect(g.toString()).toBe(s);
      expect(g.root().toString('hex')).toBe(f.root().toString('hex'));
    }
    expect(Frontier.parse('0:').size).toBe(0);
  });

  it('When the text is malformed, then parse throws an Error naming the problem', () => {
    const h = 'ab'.repeat(32);
    const bad: [string, RegExp][] = [
      ['', /expected "<size>:<hex>/],
      ['3', /expected/],
      [':', /expected/],
      ['-1:', /expected/],
      ['01:', /expected/],
      ['1.5:', /expected/],
      [' 0:', /expected/],
      ['1e3:', /expected/],
      ['99999999999999999999:', /too large/],
      ['1:', /size 1 needs 1 subtree hash\(es\), got 0/],
      ['0:' + h, /needs 0/],
      [`1:${h},${h}`, /got 2/],
      [`3:${h}`, /needs 2/],
      [`2:${h},`, /needs 1/],
      [`1:${'zz'.repeat(32)}`, /64 lowercase hex digits/],
      [`1:${h.toUpperCase()}`, /64 lowercase hex digits/],
      [`1:${h.slice(2)}`, /64 lowercase hex digits/],
      [`1:${h} `, /64 lowercase hex digits/],
      [`1:${h}\n`, /64 lowercase hex digits/],
    ];
    for (const [text, msg] of bad) {
      expect(() => Frontier.parse(text)).toThrow(Error);
      expect(() => Frontier.parse(text)).toThrow(msg);
    }
  });
});

describe('ledger merkle: inclusion proofs', () => {
  const all = leaves(41);

  it('When a proof is built for every index of sizes 1..40, then it matches the RFC definition and verifies', () => {
    const tree = fullTree(all, 40);
    for (let n = 1; n <= 40; n++) {
      const root = tree.rootAt(n);
      expect(root.toString('hex')).toBe(refMth(all.slice(0, n)).toString('hex'));
      for (let i = 0; i < n; i++) {
        const proof = tree.inclusionProof(i, n);
        expect(hex(proof)).toEqual(hex(refPath(i, all.slice(0, n))));
        expect(verifyInclusion(i, n, all[i] as Buffer, proof, root)).toBe(true);
      }
    }
  });

  it('When the leaf, index, size, root or any proof element is wrong, then verification fails', () => {
    const tree = fullTree(all, 41);
    for (let n = 1; n <= 40; n++) {
      const root = tree.rootAt(n);
      const nextRoot = tree.rootAt(n + 1);
      for (let i = 0; i < n; i++) {
        const leaf = all[i] as Buffer;
        const proof = tree.inclusionProof(i, n);
        expect(verifyInclusion(i, n, all[(i + 1) % 41] as Buffer, proof, root)).toBe(false);
        expect(verifyInclusion(i, n, flipped(leaf, 255), proof, root)).toBe(false);
        for (let j = 0; j < n; j++) if (j !== i) expect(verifyInclusion(j, n, leaf, proof, root)).toBe(false);
        expect(verifyInclusion(n, n, leaf, proof, root)).toBe(false);
        // The tree size is bound by the (signed) root, not the proof: claiming n + 1 with the real root of n + 1 fails.
        expect(verifyInclusion(i, n + 1, leaf, proof, nextRoot)).toBe(false);
        expect(verifyInclusion(i, n, leaf, proof, flipped(root))).toBe(false);
        expect(verifyInclusion(i, n, leaf, proof, nextRoot)).toBe(false);
        proof.forEach((_, k) => {
          const bad = proof.map((p, x) => (x === k ? flipped(p, 7 + k) : p));
          expect(verifyInclusion(i, n, leaf, bad, root)).toBe(false);
        });
        if (proof.length > 0) expect(verifyInclusion(i, n, leaf, proof.slice(0, -1), root)).toBe(false);
        expect(verifyInclusion(i, n, leaf, [...proof, leaf], root)).toBe(false);
        expect(verifyInclusion(i, n, leaf, [...proof.slice(0, -1), Buffer.alloc(31)], root)).toBe(false);
      }
    }
  });

  it('When verify arguments are not non-negative integers, then it throws a RangeError', () => {
    const [a] = leaves(1) as [Buffer];
    expect(() => verifyInclusion(-1, 1, a, [], a)).toThrow(RangeError);
    expect(() => verifyInclusion(0, 1.5, a, [], a)).toThrow(RangeError);
    expect(verifyInclusion(0, 1, a, [], a)).toBe(true);
    expect(verifyInclusion(0, 0, a, [], a)).toBe(false);
  });
});

describe('ledger merkle: consistency proofs', () => {
  const all = leaves(41);
  const tree = fullTree(all, 40);
  const roots = Array.from({ length: 41 }, (_, n) => tree.rootAt(n));

  it('When a proof is built for every 0 < m <= n <= 40, then it matches the RFC definition and verifies', () => {
    for (let n = 1; n <= 40; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = tree.consistencyProof(m, n);
        expect(hex(proof)).toEqual(hex(refProof(m, all.slice(0, n))));
        if (m === n) expect(proof).toEqual([]);
        expect(verifyConsistency(m, n, roots[m] as Buffer, roots[n] as Buffer, proof)).toBe(true);
      }
    }
  });

  it('When the proof, either root or a size is tampered with, then verification fails', () => {
    for (let n = 1; n <= 40; n++) {
      for (let m = 1; m <= n; m++) {
        const oldRoot = roots[m] as Buffer;
        const newRoot = roots[n] as Buffer;
        const proof = tree.consistencyProof(m, n);
        const check = (mm: number, nn: number, o: Buffer, nr: Buffer, p: Buffer[]) => verifyConsistency(mm, nn, o, nr, p);
        proof.forEach((_, k) => {
          const bad = proof.map((p, x) => (x === k ? flipped(p, 100 + k) : p));
          expect(check(m, n, oldRoot, newRoot, bad)).toBe(false);
        });
        expect(check(m, n, flipped(oldRoot), newRoot, proof)).toBe(false);
        expect(check(m, n, oldRoot, flipped(newRoot), proof)).toBe(false);
        if (m > 1) expect(check(m, n, roots[m - 1] as Buffer, newRoot, proof)).toBe(false);
        if (n < 40) expect(check(m, n, oldRoot, roots[n + 1] as Buffer, proof)).toBe(false);
        if (proof.length > 0) expect(check(m, n, oldRoot, newRoot, proof.slice(0, -1))).toBe(false);
        expect(check(m, n, oldRoot, newRoot, [...proof, oldRoot])).toBe(false);
        if (m > 1) expect(check(m - 1, n, roots[m - 1] as Buffer, newRoot, proof)).toBe(false);
        if (m < n) expect(check(m + 1, n, roots[m + 1] as Buffer, newRoot, proof)).toBe(false);
        if (n < 40) expect(check(m, n + 1, oldRoot, roots[n + 1] as Buffer, proof)).toBe(false);
        expect(check(n + 1, n, oldRoot, newRoot, proof)).toBe(false);
        expect(check(0, n, EMPTY_ROOT, newRoot, proof)).toBe(false);
      }
    }
  });

  it('When m equals n, then only an empty proof with equal roots verifies', () => {
    const r = roots[5] as Buffer;
    expect(verifyConsistency(5, 5, r, Buffer.from(r), [])).toBe(true);
    expect(verifyConsistency(5, 5, r, roots[6] as Buffer, [])).toBe(false);
    expect(verifyConsistency(5, 5, r, r, [r])).toBe(false);
    expect(verifyConsistency(5, 6, r, roots[6] as Buffer, [])).toBe(false);
    expect(() => verifyConsistency(1, Number.POSITIVE_INFINITY, r, r, [])).toThrow(RangeError);
  });
});

describe('ledger merkle: LogTree over a trimmed log', () => {
  const N = 40;
  const all = leaves(N);
  const full = fullTree(all);
  const baseSizes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 16, 21, 31, 32, 33, 40];
  const piecesAt = baseSizes.map((s) => frontierOf(all.slice(0, s)).pieces());
  const fullRoots = Array.from({ length: N + 1 }, (_, n) => full.rootAt(n));
  const fullPaths = fullRoots.map((_, n) => Array.from({ length: n }, (_x, i) => hex(full.inclusionProof(i, n))));
  const fullProofs = fullRoots.map((_, n) => Array.from({ length: n + 1 }, (_x, m) => (m === 0 ? [] : hex(full.consistencyProof(m, n)))));

  /** The computability rule as specified: at/after the base, a piece of the base, or split into such ranges. */
  const computable = (s: number, lo: number, hi: number): boolean => {
    if (lo >= s) return true;
    if ((piecesAt[baseSizes.indexOf(s)] ?? []).some((p) => p.lo === lo && p.hi === hi)) return true;
    if (hi - lo === 1) return false;
    const k = refSplit(hi - lo);
    return computable(s, lo, lo + k) && computable(s, lo + k, hi);
  };

  it.each(baseSizes)('When the leaves before %i are trimmed, then roots from the base match the full tree', (s) => {
    const { tree, calls } = trimmedTree(all, s);
    expect(tree.size).toBe(N);
    expect(tree.root().toString('hex')).toBe(full.root().toString('hex'));
    for (let n = s; n <= N; n++) {
      calls.length = 0;
      expect(tree.rootAt(n).toString('hex')).toBe(refMth(all.slice(0, n)).toString('hex'));
      expect(calls).toEqual(Array.from({ length: n - s }, (_, i) => s + i));
    }
    for (let n = 0; n < s; n++) {
      const got = outcome(() => tree.rootAt(n));
      expect(got).toEqual(n === 0 || computable(s, 0, n) ? [refMth(all.slice(0, n)).toString('hex')] : 'trimmed');
    }
  });

  it.each(baseSizes)('When the leaves before %i are trimmed, then node() works exactly where the rule allows', (s) => {
    const { tree } = trimmedTree(all, s);
    for (let lo = 0; lo < N; lo++) {
      for (let hi = lo + 1; hi <= N; hi++) {
        const expected = computable(s, lo, hi) ? [refMth(all.slice(lo, hi)).toString('hex')] : 'trimmed';
        expect(outcome(() => tree.node(lo, hi))).toEqual(expected);
      }
    }
    for (const p of frontierOf(all.slice(0, s)).pieces()) expect(tree.node(p.lo, p.hi).equals(p.hash)).toBe(true);
    if (s >= 2) expect(() => tree.node(0, 1)).toThrow(new TreeError(`leaves before ${s} were trimmed`));
  });

  it.each(baseSizes)('When the leaves before %i are trimmed, then inclusion proofs match the full tree or throw TreeError', (s) => {
    const { tree } = trimmedTree(all, s);
    for (let n = 1; n <= N; n++) {
      for (let i = 0; i < n; i++) {
        const got = outcome(() => tree.inclusionProof(i, n));
        const want = fullPaths[n]?.[i];
        expect(want).toBeDefined();
        if (n < s) {
          expect([want, 'trimmed']).toContainEqual(got);
        } else if (i >= s || (s % 2 === 1 && i === s - 1)) {
          // A leaf after the base, or the base's last piece when that piece is the single leaf s-1.
          expect(got).toEqual(want);
          expect(verifyInclusion(i, n, all[i] as Buffer, tree.inclusionProof(i, n), fullRoots[n] as Buffer)).toBe(true);
        } else {
          expect(got).toBe('trimmed');
        }
      }
    }
    if (s >= 2) expect(() => tree.inclusionProof(0, N)).toThrow(`leaves before ${s} were trimmed`);
  });

  it.each(baseSizes)('When the leaves before %i are trimmed, then consistency proofs match the full tree or throw TreeError', (s) => {
    const { tree } = trimmedTree(all, s);
    for (let n = 1; n <= N; n++) {
      for (let m = 1; m <= n; m++) {
        const got = outcome(() => tree.consistencyProof(m, n));
        const want = fullProofs[n]?.[m];
        expect(want).toBeDefined();
        if (m >= s) {
          expect(got).toEqual(want);
          expect(verifyConsistency(m, n, fullRoots[m] as Buffer, fullRoots[n] as Buffer, tree.consistencyProof(m, n))).toBe(true);
        } else {
          expect([want, 'trimmed']).toContainEqual(got);
        }
        if (m === 1 && s >= 2 && n > 1) expect(got).toBe('trimmed');
      }
    }
  });

  it('When the trimmed tree has grown past the base, then it matches a full tree of the same size', () => {
    const { tree } = trimmedTree(all, 13, 29);
    const small = fullTree(all, 29);
    expect(tree.root().toString('hex')).toBe(small.root().toString('hex'));
    expect(hex(tree.inclusionProof(20, 29))).toEqual(hex(small.inclusionProof(20, 29)));
    expect(hex(tree.consistencyProof(13, 29))).toEqual(hex(small.consistencyProof(13, 29)));
    const empty = new LogTree(new Frontier(), () => {
      throw new Error('no leaves');
    }, 0);
    expect(empty.root().toString('hex')).toBe(EMPTY_ROOT.toString('hex'));
    expect(empty.rootAt(0).toString('hex')).toBe(EMPTY_ROOT.toString('hex'));
  });

  it('TreeError is an Error with its own name', () => {
    const e = new TreeError('leaves before 3 were trimmed');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('TreeError');
  });

  it('When arguments are out of range or not integers, then LogTree throws a RangeError with a clear message', () => {
    const t = fullTree(all, 10);
    expect(() => t.node(0, 0)).toThrow(/0 <= lo < hi <= 10/);
    expect(() => t.node(3, 2)).toThrow(RangeError);
    expect(() => t.node(0, 11)).toThrow(RangeError);
    expect(() => t.node(-1, 2)).toThrow(/lo must be a non-negative safe integer/);
    expect(() => t.node(0.5, 2)).toThrow(RangeError);
    expect(() => t.rootAt(11)).toThrow(/beyond the tree size 10/);
    expect(() => t.rootAt(-1)).toThrow(RangeError);
    expect(() => t.inclusionProof(10, 10)).toThrow(/index 10 is not below the tree size 10/);
    expect(() => t.inclusionProof(0, 0)).toThrow(RangeError);
    expect(() => t.inclusionProof(0, 11)).toThrow(RangeError);
    expect(() => t.inclusionProof(Number.NaN, 5)).toThrow(RangeError);
    expect(() => t.consistencyProof(0, 5)).toThrow(/need 0 < m <= n/);
    expect(() => t.consistencyProof(6, 5)).toThrow(RangeError);
    expect(() => t.consistencyProof(1, 11)).toThrow(RangeError);
    expect(() => new LogTree(frontierOf(all.slice(0, 5)), () => all[0] as Buffer, 4)).toThrow(/smaller than the base size 5/);
    expect(() => new LogTree(new Frontier(), () => all[0] as Buffer, 2.5)).toThrow(RangeError);
    const broken = new LogTree(new Frontier(), () => Buffer.alloc(3), 2);
    expect(() => broken.root()).toThrow(/leafAt\(0\) must return a 32-byte Buffer/);
  });
});

describe('ledger merkle: large logs', () => {
  const leafOf = (i: number): Buffer => leafHash(Buffer.from(String(i)));

  it('When a 1,000,000-leaf log is trimmed at 999,000, then roots and proofs need only the leaves after the base', () => {
    const s = 999_000;
    const size = 1_000_000;
    const base = new Frontier(s, Array.from({ length: popcount(s) }, () => randomBytes(32)));
    let calls = 0;
    const tree = new LogTree(
      base,
      (i) => {
        calls++;
        if (i < s) throw new Error(`leafAt(${i}) is trimmed`);
        return leafOf(i);
      },
      size,
    );
    const ext = base.clone();
    for (let i = s; i < size; i++) ext.append(leafOf(i));
    const root = tree.root();
    expect(root.toString('hex')).toBe(ext.root().toString('hex'));
    expect(tree.rootAt(s).toString('hex')).toBe(base.root().toString('hex'));
    for (const i of [s, s + 1, 999_500, size - 1]) {
      expect(verifyInclusion(i, size, leafOf(i), tree.inclusionProof(i, size), root)).toBe(true);
    }
    for (const m of [s, 999_001, 999_999, size]) {
      expect(verifyConsistency(m, size, tree.rootAt(m), root, tree.consistencyProof(m, size))).toBe(true);
    }
    expect(() => tree.inclusionProof(500, size)).toThrow(TreeError);
    expect(() => tree.consistencyProof(1, size)).toThrow(TreeError);
    expect(calls).toBeLessThan(20 * (size - s));
  });

  it('When a full log has 2^14 + 5 leaves, then proofs verify against the frontier root', () => {
    const size = 2 ** 14 + 5;
    const ls = Array.from({ length: size }, (_, i) => leafOf(i));
    const tree = fullTree(ls);
    const root = frontierOf(ls).root();
    expect(tree.root().equals(root)).toBe(true);
    for (const i of [0, 10_000, size - 1]) {
      expect(verifyInclusion(i, size, ls[i] as Buffer, tree.inclusionProof(i, size), root)).toBe(true);
    }
    expect(verifyConsistency(2 ** 14, size, tree.rootAt(2 ** 14), root, tree.consistencyProof(2 ** 14, size))).toBe(true);
  });
});
