/**
 * Merkle tree hashing for an append-only log, as in RFC 9162 (Certificate Transparency v2) section 2.1.
 * Pure: no I/O, only SHA-256 from node:crypto.
 *
 * - Leaf hash = SHA-256(0x00 || data); node hash = SHA-256(0x01 || left || right).
 * - MTH({}) = SHA-256(""); MTH({d0}) = leaf hash of d0; MTH(D[n]) for n > 1 splits at k, the largest
 *   power of two strictly less than n: HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
 * - Leaf indices are 0-based. Everything below works on leaf hashes, never on raw leaf data.
 *
 * {@link Frontier} is the compact range [0, size): one perfect subtree root per set bit of size. It is what
 * is kept of the log's start after old leaves are trimmed; {@link LogTree} computes node hashes, roots and
 * proofs from such a frontier plus the leaves after it, and throws {@link TreeError} when a result would
 * need a trimmed leaf.
 *
 * Every Buffer returned is a fresh copy: callers may mutate it without affecting a frontier or tree.
 */
import { createHash } from 'node:crypto';

const HASH_BYTES = 32;
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** SHA-256(0x00 || data). */
export function leafHash(data: Buffer): Buffer {
  if (!Buffer.isBuffer(data)) throw new TypeError('leafHash: data must be a Buffer');
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** SHA-256(0x01 || left || right); both inputs must be 32-byte hashes. */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  checkHash(left, 'nodeHash: left');
  checkHash(right, 'nodeHash: right');
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The root of the empty tree: SHA-256 of the empty string. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** Reference MTH over leaf hashes (already leaf-hashed). Straight recursion; depth O(log n). */
export function rootOf(leaves: readonly Buffer[]): Buffer {
  if (!Array.isArray(leaves)) throw new TypeError('rootOf: leaves must be an array');
  leaves.forEach((leaf, i) => checkHash(leaf, `rootOf: leaves[${i}]`));
  if (leaves.length === 0) return Buffer.from(EMPTY_ROOT);
  const mth = (lo: number, hi: number): Buffer => {
    if (hi - lo === 1) return Buffer.from(leaves[lo] as Buffer);
    const k = splitPoint(hi - lo);
    return nodeHash(mth(lo, lo + k), mth(lo + k, hi));
  };
  return mth(0, leaves.length);
}

// ---------------------------------------------------------------------------------------------------------
// Frontier (compact range of [0, size))
// ---------------------------------------------------------------------------------------------------------

/** Compact range of [0, size): the roots of the perfect subtrees of the left decomposition of size (one per set bit, largest first). */
export class Frontier {
  #size: number;
  #hashes: Buffer[];

  /** Throws RangeError for a bad size, Error when hashes do not match it (count = popcount(size), 32 bytes each). */
  constructor(size = 0, hashes: Buffer[] = []) {
    checkIndex(size, 'Frontier: size');
    if (!Array.isArray(hashes)) throw new Error('Frontier: hashes must be an array');
    const expected = popcount(size);
    if (hashes.length !== expected) {
      throw new Error(`Frontier: a tree of size ${size} needs ${expected} subtree hash(es), got ${hashes.length}`);
    }
    hashes.forEach((h, i) => {
      if (!isHash(h)) throw new Error(`Frontier: hashes[${i}] must be a ${HASH_BYTES}-byte Buffer`);
    });
    this.#size = size;
    this.#hashes = hashes.map((h) => Buffer.from(h));
  }

  get size(): number {
    return this.#size;
  }

  /** Copies of the subtree roots, largest (leftmost) first. */
  get hashes(): readonly Buffer[] {
    return this.#hashes.map((h) => Buffer.from(h));
  }

  /** Appends one leaf hash. */
  append(leaf: Buffer): void {
    checkHash(leaf, 'Frontier.append: leaf');
    if (this.#size >= Number.MAX_SAFE_INTEGER) throw new RangeError('Frontier.append: the tree is full');
    // Each trailing set bit of size is a perfect subtree the new leaf's subtree now merges with.
    let merged: Buffer = Buffer.from(leaf);
    let s = this.#size;
    while (s % 2 === 1) {
      merged = nodeHash(this.#hashes.pop() as Buffer, merged);
      s = (s - 1) / 2;
    }
    this.#hashes.push(merged);
    this.#size += 1;
  }

  /** MTH of the size leaves (EMPTY_ROOT for 0). The largest subtree is always the left half of the split. */
  root(): Buffer {
    const hs = this.#hashes;
    if (hs.length === 0) return Buffer.from(EMPTY_ROOT);
    let acc = hs[hs.length - 1] as Buffer;
    for (let i = hs.length - 2; i >= 0; i--) acc = nodeHash(hs[i] as Buffer, acc);
    return Buffer.from(acc);
  }

  clone(): Frontier {
    return new Frontier(this.#size, this.#hashes);
  }

  /** The subtrees as [lo, hi, hash] ranges, left to right. */
  pieces(): { lo: number; hi: number; hash: Buffer }[] {
    return decompose(this.#size).map(([lo, hi], i) => ({ lo, hi, hash: Buffer.from(this.#hashes[i] as Buffer) }));
  }

  /** "<size>:<hex>,<hex>,..." ("0:" for empty) */
  toString(): string {
    return `${this.#size}:${this.#hashes.map((h) => h.toString('hex')).join(',')}`;
  }

  /** Inverse of toString. Accepts only the canonical form (decimal size, lowercase hex). */
  static parse(s: string): Frontier {
    if (typeof s !== 'string') throw new Error('Frontier.parse: input must be a string');
    const m = /^(0|[1-9][0-9]*):(.*)$/s.exec(s);
    if (!m) throw new Error(`Frontier.parse: expected "<size>:<hex>,<hex>,...", got ${JSON.stringify(clip(s))}`);
    const size = Number(m[1]);
    if (!Number.isSafeInteger(size)) throw new Error(`Frontier.parse: size ${clip(m[1] ?? '')} is too large`);
    const body = m[2] ?? '';
    const parts = body === '' ? [] : body.split(',');
    const expected = popcount(size);
    if (parts.length !== expected) {
      throw new Error(`Frontier.parse: a tree of size ${size} needs ${expected} subtree hash(es), got ${parts.length}`);
    }
    const hashes = parts.map((p, i) => {
      if (!/^[0-9a-f]{64}$/.test(p)) {
        throw new Error(`Frontier.parse: hash #${i + 1} must be 64 lowercase hex digits, got ${JSON.stringify(clip(p))}`);
      }
      return Buffer.from(p, 'hex');
    });
    return new Frontier(size, hashes);
  }
}

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

// ---------------------------------------------------------------------------------------------------------
// Helpers (arithmetic rather than bit operators: sizes may exceed 2^32)
// ---------------------------------------------------------------------------------------------------------

function isHash(h: unknown): h is Buffer {
  return Buffer.isBuffer(h) && h.length === HASH_BYTES;
}

function checkHash(h: unknown, what: string): void {
  if (!isHash(h)) throw new RangeError(`${what} must be a ${HASH_BYTES}-byte Buffer`);
}

function checkIndex(n: unknown, what: string): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${String(n)}`);
  }
}

function half(n: number): number {
  return Math.floor(n / 2);
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** The largest power of two strictly less than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function popcount(n: number): number {
  let c = 0;
  while (n > 0) {
    c += n % 2;
    n = half(n);
  }
  return c;
}

/** [lo, hi) of the perfect subtrees of [0, size), largest first. */
function decompose(size: number): [number, number][] {
  const out: [number, number][] = [];
  let p = 1;
  while (p * 2 <= size) p *= 2;
  let lo = 0;
  let rest = size;
  while (rest > 0) {
    if (rest >= p) {
      out.push([lo, lo + p]);
      lo += p;
      rest -= p;
    }
    p /= 2;
  }
  return out;
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
