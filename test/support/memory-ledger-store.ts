/**
 * The ledger's store (src/ledger/types.ts) in memory, with the rules of the Redis store
 * (src/adapters/redis/ledger-store.ts): the append compares the head, skips events already applied
 * and writes entries and records all or nothing, a write never lowers a record's stage, a trim keeps
 * an anchor. Both pass the same contract (test/contract/ledger-store.ts); unit tests use this one.
 *
 * `state` is the log's data, open to tests that play an intruder editing the store behind the
 * ledger's back; `ready` and `reconnect()` play the connection.
 */
import { EMPTY_HEAD, entryId } from '../../src/ledger/chain';
import { byPlacement, checkHold, serialiseHold, type Hold } from '../../src/ledger/holds';
import { readEntries, type QueueRead } from '../../src/ledger/queues';
import type {
  AdminStore,
  AppendItem,
  AppendResult,
  CallHead,
  ChainEntry,
  ChainHead,
  DeletionConfirmation,
  LogHead,
  NoticeCatalogue,
  PendingDeletion,
  RecordRow,
  ScannedRecord,
  StoredChainEntry,
  StoredCheckpoint,
  TrimRequest,
  UnsealedRecording,
  RecordingKey,
  DestroyedKey,
} from '../../src/ledger/types';

/** A new log's compact range: the empty tree. */
const EMPTY_TREE = '0:';

/** One call's record: its stored JSON (null while only events are indexed under it), and its events. */
export interface MemoryRecord {
  json: string | null;
  stage: number;
  /** Seq of the entry that wrote `json`. */
  seq: number;
  enteredMs: number;
  /** Event id → seq of its entry. */
  events: Map<string, number>;
  /** The call's last entry, "<seq>:<hash>" ('' before any linked entry). */
  last: string;
}

/** What one log holds. */
export interface MemoryLogState {
  entries: StoredChainEntry[];
  anchor: ChainHead | null;
  anchorTree: string | null;
  /** The log's Merkle compact range; null when none is kept (a log begun before trees). */
  tree: string | null;
  records: Map<string, MemoryRecord>;
  /** Caller pseudonym → uniqueIds. */
  callers: Map<string, Set<string>>;
  checkpoints: StoredCheckpoint[];
  /** Seq of the last entry ever added (trimmed or not), and how many were ever added. */
  lastAdded: number | null;
  added: number;
}

/** What all logs of one ledger share (one Redis, one key prefix). */
class SharedState {
  ready = true;
  readonly readyListeners: (() => void)[] = [];
  readonly logs = new Map<string, MemoryLogState>();
  readonly registered = new Set<string>();
  readonly notices = new Map<string, NoticeCatalogue>();
  readonly unsealed = new Map<string, Map<string, UnsealedRecording>>();
  readonly deletions = new Map<string, Map<string, PendingDeletion>>();
  readonly deletionsDone = new Map<string, DeletionConfirmation>();
  readonly erasures = new Map<string, number>();
  readonly recordingKeys = new Map<string, RecordingKey | DestroyedKey>();
  /** Hold id → the hold's stored JSON (as the Redis hash keeps it: tests may write anything there). */
  readonly holds = new Map<string, string>();
  readonly locks = new Map<string, { token: number; untilMs: number }>();
  nextToken = 1;

  constructor(readonly nowMs: () => number) {}

  log(name: string): MemoryLogState {
    let s = this.logs.get(name);
    if (!s) {
      s = { entries: [], anchor: null, anchorTree: null, tree: null, records: new Map(), callers: new Map(), checkpoints: [], lastAdded: null, added: 0 };
      this.logs.set(name, s);
    }
    return s;
  }
}

/** Values of a per-server map, or an empty list. */
function valuesOf<T>(m: Map<string, Map<string, T>>, key: string): T[] {
  return [...(m.get(key)?.values() ?? [])];
}

/** Ids in slices of `chunk`, as a Redis scan would return them. */
function* slices<T>(all: T[], chunk: number): Iterable<T[]> {
  for (let i = 0; i < all.length; i += chunk) yield all.slice(i, i + chunk);
}

export class MemoryLedgerStore implements AdminStore {
  readonly state: MemoryLogState;
  readonly shared: SharedState;

  /** `nowMs` is the time the locks expire by. */
  constructor(readonly log = 'pbx-1', opts: { nowMs?: () => number; shared?: SharedState } = {}) {
    this.shared = opts.shared ?? new SharedState(opts.nowMs ?? Date.now);
    this.state = this.shared.log(log);
  }

  forLog(log: string): MemoryLedgerStore {
    return log === this.log ? this : new MemoryLedgerStore(log, { shared: this.shared });
  }

  /** Whether the store takes commands now; false plays a lost connection (listeners are not told). */
  get ready(): boolean {
    return this.shared.ready;
  }

  set ready(v: boolean) {
    this.shared.ready = v;
  }

  /** The connection comes back: ready again, and the onReady listeners run. */
  reconnect(): void {
    this.shared.ready = true;
    for (const l of this.shared.readyListeners) l();
  }

  isReady(): boolean {
    return this.shared.ready;
  }

  onReady(listener: () => void): void {
    this.shared.readyListeners.push(listener);
  }

  async registerLog(log: string): Promise<void> {
    this.shared.registered.add(log);
  }

  async registerSelf(): Promise<void> {
    if (this.log !== '') this.shared.registered.add(this.log);
  }

  async callHeads(uniqueIds: string[]): Promise<CallHead[]> {
    return uniqueIds.map((uniqueId) => {
      const r = this.state.records.get(uniqueId);
      const m = /^(\d+):([0-9a-f]+)$/.exec(r?.last ?? '');
      if (m) return { uniqueId, prev: { seq: Number(m[1]), hash: String(m[2]) }, stored: r?.last ?? '' };
      // Entries from before calls were linked: the highest one indexed.
      const seq = Math.max(0, ...(r?.events.values() ?? []));
      const e = this.state.entries.find((x) => x.seq === seq);
      return { uniqueId, prev: e ? { seq: e.seq, hash: e.hash } : null, stored: '' };
    });
  }

  async scanLogs(): Promise<string[]> {
    return [...this.shared.logs]
      .filter(([, s]) => s.entries.length > 0 || s.anchor !== null || s.records.size > 0 || s.checkpoints.length > 0)
      .map(([name]) => name)
      .sort();
  }

  async *scanRecords(chunk: number): AsyncIterable<ScannedRecord[]> {
    const rows = [...this.state.records]
      .filter(([, r]) => r.json !== null)
      .map(([uniqueId, r]) => ({ uniqueId, json: r.json as string, seq: r.seq, enteredMs: r.enteredMs, stage: r.stage }));
    yield* slices(rows, chunk);
  }

  async *timeIndex(chunk: number): AsyncIterable<{ uniqueId: string; ms: number }[]> {
    yield* slices(
      this.indexed(-Infinity, Infinity).map((uniqueId) => ({ uniqueId, ms: this.state.records.get(uniqueId)?.enteredMs ?? 0 })),
      chunk,
    );
  }

  async *callerIndexes(chunk: number): AsyncIterable<{ pseudonym: string; uniqueIds: string[] }[]> {
    yield* slices(
      [...this.state.callers].filter(([, ids]) => ids.size > 0).map(([pseudonym, ids]) => ({ pseudonym, uniqueIds: [...ids] })),
      chunk,
    );
  }

  async inCallerIndex(rows: { uniqueId: string; callerPseudonym: string }[]): Promise<boolean[]> {
    return rows.map((r) => this.state.callers.get(r.callerPseudonym)?.has(r.uniqueId) ?? false);
  }

  async logs(): Promise<string[]> {
    const logs = [...this.shared.registered];
    // The log of versions before per-instance logs, while it holds anything.
    const legacy = this.shared.logs.get('');
    if (legacy && (legacy.added > 0 || legacy.anchor) && !logs.includes('')) logs.push('');
    return logs.sort();
  }

  async head(): Promise<LogHead> {
    const s = this.state;
    const last = s.entries[s.entries.length - 1];
    const head = last ?? s.anchor ?? EMPTY_HEAD;
    return { seq: head.seq, hash: head.hash, tree: s.tree ?? (head.seq === 0 ? EMPTY_TREE : null) };
  }

  async append(expected: ChainHead, entries: ChainEntry[], items: AppendItem[], tree: string | null, trim?: TrimRequest, calls: CallHead[] = []): Promise<AppendResult> {
    if (entries.length !== items.length) throw new Error('append: one entry per item');
    const s = this.state;
    const head = await this.head();
    if (head.seq !== expected.seq || head.hash !== expected.hash) return { status: 'conflict', head };
    const dups = items.filter((i) => i.record && s.records.get(i.record.uniqueId)?.events.has(i.eventId)).map((i) => i.eventId);
    if (dups.length > 0) return { status: 'duplicate', eventIds: dups };
    const stored = new Map(calls.map((c) => [c.uniqueId, c.stored]));
    const moved = items.find((i) => i.record && (s.records.get(i.record.uniqueId)?.last ?? '') !== (stored.get(i.record.uniqueId) ?? ''));
    if (moved?.record) return { status: 'call-conflict', uniqueId: moved.record.uniqueId };
    if (trim) {
      const target = s.entries.find((e) => e.seq === trim.seq);
      if (!target || target.hash !== trim.hash) throw new Error('LEDGER trim target is not in the chain');
      if (s.anchor && s.anchor.seq >= trim.seq) throw new Error('LEDGER chain already trimmed past the target');
    }
    items.forEach((item, i) => {
      const e = entries[i] as ChainEntry;
      s.entries.push({ ...e, id: entryId(e.seq) });
      s.lastAdded = e.seq;
      s.added += 1;
      if (item.record) this.writeRecord(item.eventId, e, item.record);
    });
    if (tree !== null) s.tree = tree;
    if (trim) {
      s.anchor = { seq: trim.seq, hash: trim.hash };
      s.anchorTree = trim.tree;
      s.entries = s.entries.filter((e) => e.seq > trim.seq);
    }
    return { status: 'ok' };
  }

  private writeRecord(eventId: string, e: ChainEntry, r: NonNullable<AppendItem['record']>): void {
    const s = this.state;
    const seq = e.seq;
    const rec = s.records.get(r.uniqueId) ?? { json: null, stage: 0, seq: 0, enteredMs: 0, events: new Map<string, number>(), last: '' };
    s.records.set(r.uniqueId, rec);
    rec.events.set(eventId, seq);
    rec.last = `${seq}:${e.hash}`;
    // A lower stage never overwrites a higher one; an index-only write (-1) never replaces the record.
    if (r.stage < rec.stage) return;
    Object.assign(rec, { json: r.json, stage: r.stage, seq, enteredMs: r.enteredMs });
    if (!r.callerPseudonym) return;
    const ids = s.callers.get(r.callerPseudonym) ?? new Set<string>();
    s.callers.set(r.callerPseudonym, ids);
    if (r.callerIndex === 'add') ids.add(r.uniqueId);
    else ids.delete(r.uniqueId);
  }

  async getRecord(uniqueId: string): Promise<RecordRow | null> {
    return (await this.getRecords([uniqueId]))[0] ?? null;
  }

  async getRecords(uniqueIds: string[]): Promise<(RecordRow | null)[]> {
    return uniqueIds.map((uniqueId) => {
      const r = this.state.records.get(uniqueId);
      return r && r.json !== null ? { uniqueId, json: r.json, seq: r.seq } : null;
    });
  }

  /** UniqueIds in the time index with `fromMs` <= enteredMs < `toMs`, by time then id. */
  private indexed(fromMs: number, toMs: number): string[] {
    return [...this.state.records]
      .filter(([, r]) => r.json !== null && r.enteredMs >= fromMs && r.enteredMs < toMs)
      .sort(([a, ra], [b, rb]) => ra.enteredMs - rb.enteredMs || (a < b ? -1 : a > b ? 1 : 0))
      .map(([id]) => id);
  }

  /**
   * As the Redis store pages its time index: each chunk is read from the index as it is then, from the
   * last time seen, skipping the records already read at that time. Deleting a record older than that
   * time changes nothing; deleting one read at that time makes the walk skip a record not read yet.
   */
  async *recordsByTime(fromMs: number, toMs: number, chunk: number): AsyncIterable<RecordRow[]> {
    let min = fromMs;
    let skip = 0;
    let lastMs: number | null = null;
    for (;;) {
      const ids = this.indexed(min, toMs).slice(skip, skip + chunk);
      if (ids.length === 0) return;
      for (const id of ids) {
        const ms = this.state.records.get(id)?.enteredMs ?? 0;
        if (ms === lastMs) skip += 1;
        else {
          lastMs = ms;
          skip = 1;
        }
      }
      min = lastMs ?? min;
      yield (await this.getRecords(ids)).filter((r): r is RecordRow => r !== null);
      if (ids.length < chunk) return;
    }
  }

  async recordsBefore(beforeMs: number, offset: number, count: number): Promise<{ uniqueId: string; row: RecordRow | null }[]> {
    const ids = this.indexed(-Infinity, beforeMs).slice(offset, offset + count);
    const rows = await this.getRecords(ids);
    return ids.map((uniqueId, i) => ({ uniqueId, row: rows[i] ?? null }));
  }

  async *callerRecordIds(pseudonym: string, chunk: number): AsyncIterable<string[]> {
    yield* slices([...(this.state.callers.get(pseudonym) ?? [])], chunk);
  }

  async deleteRecords(rows: { uniqueId: string; callerPseudonym: string }[]): Promise<void> {
    for (const r of rows) {
      this.state.records.delete(r.uniqueId);
      this.state.callers.get(r.callerPseudonym)?.delete(r.uniqueId);
    }
  }

  async *chain(chunk: number): AsyncIterable<{ anchor: ChainHead | null; anchorTree: string | null; entries: StoredChainEntry[] }> {
    const { anchor, anchorTree, entries } = this.state;
    const all = [...entries];
    let at = 0;
    do {
      const part = all.slice(at, at + chunk);
      at += chunk;
      yield { anchor, anchorTree, entries: part };
      if (part.length < chunk) return;
    } while (at < all.length);
  }

  async entriesAfter(afterSeq: number, count: number): Promise<StoredChainEntry[]> {
    return this.state.entries.filter((e) => e.seq > afterSeq).slice(0, count);
  }

  async chainEntries(seqs: number[]): Promise<(StoredChainEntry | null)[]> {
    return seqs.map((seq) => this.state.entries.find((e) => e.seq === seq) ?? null);
  }

  async chainInfo(): Promise<{ lastGeneratedId: string | null; entriesAdded: number | null }> {
    const s = this.state;
    return s.lastAdded === null ? { lastGeneratedId: null, entriesAdded: null } : { lastGeneratedId: entryId(s.lastAdded), entriesAdded: s.added };
  }

  async eventSeqs(uniqueId: string): Promise<number[]> {
    return [...(this.state.records.get(uniqueId)?.events.values() ?? [])].sort((a, b) => a - b);
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return this.state.checkpoints[this.state.checkpoints.length - 1] ?? null;
  }

  async addCheckpoint(size: number, note: string, tree: string): Promise<void> {
    this.state.checkpoints.push({ id: `${this.state.checkpoints.length + 1}-0`, size, note, tree });
  }

  async *checkpoints(chunk: number): AsyncIterable<StoredCheckpoint[]> {
    yield* slices([...this.state.checkpoints], chunk);
  }

  async saveNotice(n: NoticeCatalogue): Promise<void> {
    if (!this.shared.notices.has(n.version)) this.shared.notices.set(n.version, n);
  }

  async notice(version: string): Promise<NoticeCatalogue | null> {
    return this.shared.notices.get(version) ?? null;
  }

  async markUnsealed(server: string, u: UnsealedRecording): Promise<void> {
    const m = this.shared.unsealed.get(server) ?? new Map<string, UnsealedRecording>();
    this.shared.unsealed.set(server, m.set(u.uniqueId, u));
  }

  async unsealed(server: string): Promise<UnsealedRecording[]> {
    return valuesOf(this.shared.unsealed, server).sort((a, b) => a.sinceMs - b.sinceMs);
  }

  /** Typed entries: none is ever malformed here (the Redis store's parsing is tested on its own). */
  async readUnsealed(server: string): Promise<QueueRead<UnsealedRecording>> {
    return { items: await this.unsealed(server), malformed: [] };
  }

  async clearUnsealed(server: string, uniqueId: string): Promise<void> {
    this.shared.unsealed.get(server)?.delete(uniqueId);
  }

  async putRecordingKey(k: RecordingKey): Promise<boolean> {
    const v = this.shared.recordingKeys.get(k.uniqueId);
    if (v && 'destroyedAtMs' in v) return false;
    this.shared.recordingKeys.set(k.uniqueId, k);
    return true;
  }

  async recordingKey(uniqueId: string): Promise<RecordingKey | DestroyedKey | null> {
    return this.shared.recordingKeys.get(uniqueId) ?? null;
  }

  async destroyRecordingKey(uniqueId: string, atMs: number, tombstone: boolean): Promise<boolean> {
    const v = this.shared.recordingKeys.get(uniqueId);
    const had = v !== undefined;
    if (tombstone) {
      if (!v || !('destroyedAtMs' in v)) this.shared.recordingKeys.set(uniqueId, { uniqueId, destroyedAtMs: atMs });
    } else this.shared.recordingKeys.delete(uniqueId);
    return had;
  }

  async markErased(pseudonym: string, atMs: number): Promise<void> {
    this.shared.erasures.set(pseudonym, atMs);
  }

  async erasureMarks(): Promise<Map<string, number>> {
    return new Map(this.shared.erasures);
  }

  async readErasureMarks(): Promise<QueueRead<[string, number]>> {
    return { items: [...this.shared.erasures], malformed: [] };
  }

  async forgetErasures(pseudonyms: string[]): Promise<void> {
    for (const p of pseudonyms) this.shared.erasures.delete(p);
  }

  async queueDeletion(server: string, d: PendingDeletion): Promise<void> {
    const m = this.shared.deletions.get(server) ?? new Map<string, PendingDeletion>();
    this.shared.deletions.set(server, m);
    // Queued again, a deletion keeps its first time (its age).
    if (!m.has(d.uniqueId)) m.set(d.uniqueId, d);
  }

  async pendingDeletions(server: string): Promise<PendingDeletion[]> {
    return valuesOf(this.shared.deletions, server).sort((a, b) => a.requestedAt - b.requestedAt);
  }

  async readDeletions(server: string): Promise<QueueRead<PendingDeletion>> {
    return { items: await this.pendingDeletions(server), malformed: [] };
  }

  async deletionServers(): Promise<string[]> {
    return [...this.shared.deletions.keys()].sort();
  }

  async confirmDeletion(server: string, uniqueId: string, result: DeletionConfirmation['result'], atMs: number): Promise<void> {
    this.shared.deletions.get(server)?.delete(uniqueId);
    this.shared.deletionsDone.set(uniqueId, { server, result, atMs });
  }

  async deletionConfirmations(uniqueIds: string[]): Promise<(DeletionConfirmation | null)[]> {
    return uniqueIds.map((id) => this.shared.deletionsDone.get(id) ?? null);
  }

  async forgetConfirmations(uniqueIds: string[]): Promise<void> {
    for (const id of uniqueIds) this.shared.deletionsDone.delete(id);
  }

  async cancelDeletions(server: string, uniqueIds: string[]): Promise<void> {
    for (const id of uniqueIds) this.shared.deletions.get(server)?.delete(id);
  }

  /** The holds hash as stored, open to tests that play an intruder. */
  get holdEntries(): Map<string, string> {
    return this.shared.holds;
  }

  async putHold(hold: Hold): Promise<void> {
    this.shared.holds.set(hold.id, serialiseHold(hold));
  }

  /** Read entry by entry as the Redis store does: an entry a test wrote that is not a hold is set apart. */
  async readHolds(): Promise<QueueRead<Hold>> {
    const read = readEntries('holds', '{ledger}:holds', [...this.shared.holds].flat(), checkHold);
    read.items.sort(byPlacement);
    return read;
  }

  async removeHold(id: string): Promise<void> {
    this.shared.holds.delete(id);
  }

  async lock(name: string, ttlMs: number): Promise<(() => Promise<void>) | null> {
    const now = this.shared.nowMs();
    const held = this.shared.locks.get(name);
    if (held && held.untilMs > now) return null;
    const token = this.shared.nextToken++;
    this.shared.locks.set(name, { token, untilMs: now + ttlMs });
    return async () => {
      if (this.shared.locks.get(name)?.token === token) this.shared.locks.delete(name);
    };
  }
}
