/**
 * The hash chain of the event log. Pure: hashing, building entries from a head, and a streaming verifier
 * that finds the first edited, deleted or reordered entry.
 *
 * Entry hash = SHA-256 of `consent-ivr/chain/v1`, seq, prev and body, separated by newlines. Seq starts
 * at 1 and grows by one; the first entry's prev is {@link GENESIS}. After a purge has trimmed the start
 * of the chain, the last trimmed entry's seq and hash (the anchor) take the genesis' place.
 */
import { createHash } from 'node:crypto';
import type { ChainEntry, ChainHead, StoredChainEntry } from './types';

export const GENESIS = '0'.repeat(64);
const DOMAIN = 'consent-ivr/chain/v1';

export const EMPTY_HEAD: ChainHead = { seq: 0, hash: GENESIS };

export function entryHash(seq: number, prev: string, body: string): string {
  return createHash('sha256').update(`${DOMAIN}\n${seq}\n${prev}\n${body}`, 'utf8').digest('hex');
}

/** The entries for `bodies` appended after `head`. */
export function buildEntries(head: ChainHead, bodies: string[]): ChainEntry[] {
  const out: ChainEntry[] = [];
  let prev = head;
  for (const body of bodies) {
    const seq = prev.seq + 1;
    const hash = entryHash(seq, prev.hash, body);
    out.push({ seq, prev: prev.hash, hash, body });
    prev = { seq, hash };
  }
  return out;
}

/** The store id an entry is expected under (Redis stream id `<seq>-0`). */
export function entryId(seq: number): string {
  return `${seq}-0`;
}

export type BreakKind = 'edited' | 'deleted' | 'reordered' | 'rewritten' | 'anchor';

export interface ChainBreak {
  kind: BreakKind;
  /** 1-based position of the offending entry in the walk (null: found after the walk). */
  position: number | null;
  /** Store id of the offending entry. */
  id: string | null;
  seq: number | null;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Entries walked. */
  entries: number;
  anchor: ChainHead | null;
  /** Seq and hash of the last entry walked. */
  head: ChainHead | null;
  /** The first break found, if any. */
  break: ChainBreak | null;
}

interface Gap {
  from: number;
  to: number;
  position: number;
  id: string;
  seq: number;
  afterSeq: number;
}

/**
 * Walks the chain in order, one chunk at a time (memory stays bounded). After the first break it keeps
 * reading only to tell a deletion from a reordering (a "missing" entry that turns up later was moved).
 */
export class ChainVerifier {
  private expected: ChainHead;
  private position = 0;
  private last: StoredChainEntry | null = null;
  private firstBreak: ChainBreak | null = null;
  private gap: Gap | null = null;
  private declaredAnchor: ChainHead | null = null;

  constructor(private readonly anchor: ChainHead | null) {
    this.expected = anchor ?? EMPTY_HEAD;
  }

  feed(entries: StoredChainEntry[]): void {
    for (const e of entries) this.one(e);
  }

  get broken(): boolean {
    return this.firstBreak !== null;
  }

  private fail(b: ChainBreak): void {
    if (!this.firstBreak) this.firstBreak = b;
  }

  private one(e: StoredChainEntry): void {
    this.position += 1;
    const pos = this.position;
    if (this.firstBreak) {
      const g = this.gap;
      if (g && this.firstBreak.kind === 'deleted' && e.seq >= g.from && e.seq <= g.to) {
        this.firstBreak = {
          kind: 'reordered',
          position: g.position,
          id: g.id,
          seq: g.seq,
          message:
            `entry seq ${g.seq} (id ${g.id}, position ${g.position}) comes right after seq ${g.afterSeq}, ` +
            `but seq ${e.seq} turns up later (id ${e.id}, position ${pos}): entries were reordered`,
        };
        this.gap = null;
      }
      return;
    }
    const where = `entry seq ${e.seq} (id ${e.id}, position ${pos})`;
    if (entryHash(e.seq, e.prev, e.body) !== e.hash) {
      this.fail({ kind: 'edited', position: pos, id: e.id, seq: e.seq, message: `${where}: its content does not match its hash: the entry was edited` });
      return;
    }
    const want = this.expected.seq + 1;
    if (e.seq > want) {
      const before = this.expected.seq === 0 ? 'the start of the chain' : `seq ${this.expected.seq}`;
      this.fail({
        kind: 'deleted',
        position: pos,
        id: e.id,
        seq: e.seq,
        message: `${where} follows ${before}: entr${e.seq - want > 1 ? `ies seq ${want}–${e.seq - 1} are` : `y seq ${want} is`} missing (deleted)`,
      });
      this.gap = { from: want, to: e.seq - 1, position: pos, id: e.id, seq: e.seq, afterSeq: this.expected.seq };
      return;
    }
    if (e.seq < want) {
      this.fail({ kind: 'reordered', position: pos, id: e.id, seq: e.seq, message: `${where} comes after seq ${this.expected.seq}: entries were reordered or duplicated` });
      return;
    }
    if (e.prev !== this.expected.hash) {
      const prevDesc = this.expected.seq === 0 ? 'the genesis' : `seq ${this.expected.seq} (id ${this.last?.id ?? 'anchor'})`;
      this.fail({
        kind: 'edited',
        position: pos,
        id: e.id,
        seq: e.seq,
        message: `${where} does not link to ${prevDesc}: one of the two was edited (and its hash recomputed) or replaced`,
      });
      return;
    }
    if (e.id !== entryId(e.seq)) {
      this.fail({ kind: 'rewritten', position: pos, id: e.id, seq: e.seq, message: `${where} is stored under id ${e.id} instead of ${entryId(e.seq)}: the log was rebuilt` });
      return;
    }
    this.noteAnchorDeclaration(e.body);
    this.expected = { seq: e.seq, hash: e.hash };
    this.last = e;
  }

  private noteAnchorDeclaration(body: string): void {
    let b: unknown;
    try {
      b = JSON.parse(body);
    } catch {
      return; // the hash covers the body as it is; an unparsable body is not a chain break
    }
    const t = b as { type?: unknown; trimmedTo?: { seq?: unknown; hash?: unknown } | null };
    if (t.type === 'purge' && t.trimmedTo && typeof t.trimmedTo.seq === 'number' && typeof t.trimmedTo.hash === 'string') {
      this.declaredAnchor = { seq: t.trimmedTo.seq, hash: t.trimmedTo.hash };
    }
  }

  /**
   * Ends the walk. `info` is what the store knows about the log as a whole: the id of the last entry ever
   * appended (catches deleted entries at the end) and the number of entries ever appended.
   */
  finish(info: { lastGeneratedId: string | null; entriesAdded: number | null }): VerifyResult {
    const head = this.expected.seq === 0 && !this.anchor ? null : this.expected;
    if (!this.firstBreak) {
      const lastId = this.last?.id ?? null;
      if (info.lastGeneratedId !== null && info.lastGeneratedId !== '0-0' && info.lastGeneratedId !== lastId) {
        const after = this.last ? `seq ${this.last.seq} (id ${this.last.id})` : 'the anchor';
        this.fail({
          kind: 'deleted',
          position: null,
          id: info.lastGeneratedId,
          seq: null,
          message: `the log's last appended entry was ${info.lastGeneratedId} but the walk ends at ${after}: entries at the end were deleted`,
        });
      } else if (info.entriesAdded !== null && this.last && info.entriesAdded !== this.last.seq) {
        this.fail({
          kind: 'rewritten',
          position: null,
          id: null,
          seq: null,
          message: `the log says ${info.entriesAdded} entries were ever appended but the last seq is ${this.last.seq}: the log was rebuilt`,
        });
      } else if (this.anchor && (!this.declaredAnchor || this.declaredAnchor.seq !== this.anchor.seq || this.declaredAnchor.hash !== this.anchor.hash)) {
        this.fail({
          kind: 'anchor',
          position: null,
          id: null,
          seq: this.anchor.seq,
          message: `the chain starts after seq ${this.anchor.seq} but no purge entry declares that trim: entries at the start were deleted`,
        });
      }
    }
    return { ok: this.firstBreak === null, entries: this.position, anchor: this.anchor, head, break: this.firstBreak };
  }
}
