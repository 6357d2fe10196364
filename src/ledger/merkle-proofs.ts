/**
 * Proofs over the log's Merkle tree (RFC 9162 section 2.1; hashing and the Frontier in merkle.ts): LogTree
 * computes node hashes, roots, inclusion and consistency proofs over a trimmed log, and verifyInclusion and
 * verifyConsistency check such proofs. Pure: no I/O.
 */
import { checkIndex, EMPTY_ROOT, Frontier, half, HASH_BYTES, isHash, isPowerOfTwo, nodeHash, splitPoint } from './merkle';

// ---------------------------------------------------------------------------------------------------------
// LogTree (node hashes and proofs over a trimmed log)
// ---------------------------------------------------------------------------------------------------------

/** A result would need leaves that were trimmed (are only known through the base frontier). */
export class TreeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TreeError';
  }
}

/**
 * Node hashes of a log whose leaves before `base.size` are gone (trimmed) but whose compact range at that
 * size is known, plus the leaves after it. node(lo, hi) = MTH of leaves [lo, hi). Computable when [lo,hi)
 * lies entirely at or after base.size, equals one piece of base, or is a range whose RFC-split recursion
 * only reaches such ranges; otherwise throws a TreeError('leaves before <n> were trimmed').
 */
export class LogTree {
  readonly #base: Frontier;
  readonly #baseSize: number;
  /** Piece of the base by its lo: [hi, hash]. */
  readonly #pieces = new Map<number, { hi: number; hash: Buffer }>();
  readonly #leafAt: (index: number) => Buffer;
  readonly #size: number;

  /** leafAt(i) must return the leaf hash of leaf i; it is only called for base.size <= i < size. */
  constructor(base: Frontier, leafAt: (index: number) => Buffer, size: number) {
    if (!(base instanceof Frontier)) throw new TypeError('LogTree: base must be a Frontier');
    if (typeof leafAt !== 'function') throw new TypeError('LogTree: leafAt must be a function');
    checkIndex(size, 'LogTree: size');
    if (size < base.size) throw new RangeError(`LogTree: size ${size} is smaller than the base size ${base.size}`);
    this.#base = base.clone();
    this.#baseSize = base.size;
    for (const p of base.pieces()) this.#pieces.set(p.lo, { hi: p.hi, hash: p.hash });
    this.#leafAt = leafAt;
    this.#size = size;
  }

  get size(): number {
    return this.#size;
  }

  /** MTH of leaves [lo, hi), 0 <= lo < hi <= size. */
  node(lo: number, hi: number): Buffer {
    checkIndex(lo, 'LogTree.node: lo');
    checkIndex(hi, 'LogTree.node: hi');
    if (!(lo < hi && hi <= this.#size)) {
      throw new RangeError(`LogTree.node: need 0 <= lo < hi <= ${this.#size}, got lo=${lo} hi=${hi}`);
    }
    return this.#node(lo, hi);
  }

  /** MTH of all size leaves (EMPTY_ROOT for size 0). */
  root(): Buffer {
    return this.rootAt(this.#size);
  }

  /** MTH of the first n leaves. From the base for n >= base.size (O(n - base.size)); below it only if computable. */
  rootAt(n: number): Buffer {
    checkIndex(n, 'LogTree.rootAt: n');
    if (n > this.#size) throw new RangeError(`LogTree.rootAt: n=${n} is beyond the tree size ${this.#size}`);
    if (n === 0) return Buffer.from(EMPTY_ROOT);
    if (n < this.#baseSize) return this.#node(0, n);
    const f = this.#base.clone();
    for (let i = this.#baseSize; i < n; i++) f.append(this.#leaf(i));
    return f.root();
  }

  /** RFC 9162 2.1.3.1 PATH(index, D[0:n]), 0 <= index < n <= size; the deepest sibling first. */
  inclusionProof(index: number, n: number): Buffer[] {
    checkIndex(index, 'LogTree.inclusionProof: index');
    checkIndex(n, 'LogTree.inclusionProof: n');
    if (n < 1 || n > this.#size) throw new RangeError(`LogTree.inclusionProof: need 1 <= n <= ${this.#size}, got n=${n}`);
    if (index >= n) throw new RangeError(`LogTree.inclusionProof: index ${index} is not below the tree size ${n}`);
    // Walk from the root down to the leaf; each level contributes the sibling subtree of the path.
    const ranges: [number, number][] = [];
    let lo = 0;
    let hi = n;
    while (hi - lo > 1) {
      const mid = lo + splitPoint(hi - lo);
      if (index < mid) {
        ranges.push([mid, hi]);
        hi = mid;
      } else {
        ranges.push([lo, mid]);
        lo = mid;
      }
    }
    // The sibling ranges are disjoint, so computing each once is O(n) in total.
    return ranges.reverse().map(([a, b]) => this.#node(a, b));
  }

  /** RFC 9162 2.1.4.1 PROOF(m, D[0:n]), 0 < m <= n <= size (empty when m === n). */
  consistencyProof(m: number, n: number): Buffer[] {
    checkIndex(m, 'LogTree.consistencyProof: m');
    checkIndex(n, 'LogTree.consistencyProof: n');
    if (n > this.#size) throw new RangeError(`LogTree.consistencyProof: n=${n} is beyond the tree size ${this.#size}`);
    if (!(m > 0 && m <= n)) throw new RangeError(`LogTree.consistencyProof: need 0 < m <= n, got m=${m} n=${n}`);
    // SUBPROOF(m, D[lo:hi], b) unrolled; m stays absolute. Nodes are collected top-down, the RFC lists them bottom-up.
    const ranges: [number, number][] = [];
    let lo = 0;
    let hi = n;
    let complete = true; // the RFC's b: the current subtree's left edge is the old tree's left edge
    while (m !== hi) {
      const mid = lo + splitPoint(hi - lo);
      if (m <= mid) {
        ranges.push([mid, hi]);
        hi = mid;
      } else {
        ranges.push([lo, mid]);
        lo = mid;
        complete = false;
      }
    }
    if (!complete) ranges.push([lo, hi]);
    return ranges.reverse().map(([a, b]) => this.#node(a, b));
  }

  #leaf(i: number): Buffer {
    const h = this.#leafAt(i);
    if (!isHash(h)) throw new TypeError(`LogTree: leafAt(${i}) must return a ${HASH_BYTES}-byte Buffer`);
    return h;
  }

  /** node(lo, hi) for a validated range; recursion depth O(log(hi - lo)). */
  #node(lo: number, hi: number): Buffer {
    if (lo >= this.#baseSize) {
      // Entirely after the trim point: MTH of the leaves themselves, iteratively.
      const f = new Frontier();
      for (let i = lo; i < hi; i++) f.append(this.#leaf(i));
      return f.root();
    }
    const piece = this.#pieces.get(lo);
    if (piece !== undefined && piece.hi === hi) return Buffer.from(piece.hash);
    if (hi - lo === 1) throw new TreeError(`leaves before ${this.#baseSize} were trimmed`);
    const mid = lo + splitPoint(hi - lo);
    return nodeHash(this.#node(lo, mid), this.#node(mid, hi));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------------------

/**
 * RFC 9162 2.1.3.2: does `proof` show that `leaf` (a leaf hash) is leaf `index` of the tree of `size` leaves
 * with root `root`? False (not an exception) for index >= size or any malformed hash.
 */
export function verifyInclusion(index: number, size: number, leaf: Buffer, proof: readonly Buffer[], root: Buffer): boolean {
  checkIndex(index, 'verifyInclusion: index');
  checkIndex(size, 'verifyInclusion: size');
  if (!Array.isArray(proof)) throw new TypeError('verifyInclusion: proof must be an array');
  if (index >= size || !isHash(leaf) || !isHash(root) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // A right-edge node without a right sibling at this level: climb until it is a right child.
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(root);
}

/**
 * RFC 9162 2.1.4.2: does `proof` show that the tree of m leaves with root oldRoot is a prefix of the tree
 * of n leaves with root newRoot? For m === n the proof must be empty and the roots equal. False (not an
 * exception) for m === 0, m > n or any malformed hash.
 */
export function verifyConsistency(m: number, n: number, oldRoot: Buffer, newRoot: Buffer, proof: readonly Buffer[]): boolean {
  checkIndex(m, 'verifyConsistency: m');
  checkIndex(n, 'verifyConsistency: n');
  if (!Array.isArray(proof)) throw new TypeError('verifyConsistency: proof must be an array');
  if (m === 0 || m > n || !isHash(oldRoot) || !isHash(newRoot) || !proof.every(isHash)) return false;
  if (m === n) return proof.length === 0 && oldRoot.equals(newRoot);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(m) ? [oldRoot, ...proof] : [...proof];
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Buffer;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Buffer;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && fr.equals(oldRoot) && sr.equals(newRoot);
}
