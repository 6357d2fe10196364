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
 * LogTree, TreeError and the verification of proofs are in merkle-proofs.ts.
 *
 * Every Buffer returned is a fresh copy: callers may mutate it without affecting a frontier or tree.
 */
import { createHash } from 'node:crypto';

export const HASH_BYTES = 32;
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
// Helpers (arithmetic rather than bit operators: sizes may exceed 2^32); the exported ones serve merkle-proofs.ts
// ---------------------------------------------------------------------------------------------------------

export function isHash(h: unknown): h is Buffer {
  return Buffer.isBuffer(h) && h.length === HASH_BYTES;
}

function checkHash(h: unknown, what: string): void {
  if (!isHash(h)) throw new RangeError(`${what} must be a ${HASH_BYTES}-byte Buffer`);
}

export function checkIndex(n: unknown, what: string): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${String(n)}`);
  }
}

export function half(n: number): number {
  return Math.floor(n / 2);
}

export function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** The largest power of two strictly less than n (n >= 2). */
export function splitPoint(n: number): number {
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
