/**
 * Types shared by the ledger's pure logic and its store adapters. No I/O here.
 *
 * Two kinds of data live in a store:
 * - records: one per call (key: the channel's UNIQUEID), the latest known state of the consent decision;
 * - the chain: an append-only log of events (decision, outcome, erasure, access, purge, legal holds), each entry carrying the
 *   hash of the previous one. Chain entries hold no personal data: a record is referenced by its
 *   uniqueId and by the SHA-256 digest of its stored JSON.
 */
import type { ConsentRecord } from '../ports/ledger';
import type { HoldEntryBody, HoldOverrideBody, HoldStore } from './holds';
import type { QueueRead } from './queues';
import type { RecordingKeyStore, SealEncryption } from './recording-keys';

export type { DestroyedKey, RecordingKey, RecordingKeyStore, SealEncryption } from './recording-keys';

/** A record as stored: the port's record plus the time its personal fields were erased. */
export interface StoredRecord extends ConsentRecord {
  erasedAt: string | null;
}

/**
 * Precedence of writes to one record. A write with a lower stage never overwrites a higher one, so a
 * decision replayed late from the journal cannot undo the outcome, and nothing undoes an erasure.
 */
export const STAGE = { decision: 1, outcome: 2, withdrawal: 3, pause: 3, resume: 3, erasure: 9 } as const;
/** The stage at which each kind of entry writes its call's record (a seal and the others write none). */
export const RECORD_STAGES: Readonly<Record<string, number>> = {
  decision: STAGE.decision,
  outcome: STAGE.outcome,
  withdrawal: STAGE.withdrawal,
  pause: STAGE.pause,
  resume: STAGE.resume,
  erasure: STAGE.erasure,
};

/** The entry that last wrote a call's record: its seq, type and stage. */
export interface RecordWriter {
  seq: number;
  type: string;
  stage: number;
}

/**
 * The record's writer after entry `seq` of `type`, as the append script applies writes: an entry writes
 * its call's record unless a higher stage already did (a decision replayed after the outcome).
 */
export function nextWriter(cur: RecordWriter | null, seq: number, type: string): RecordWriter | null {
  const stage = RECORD_STAGES[type];
  if (stage === undefined) return cur;
  return !cur || stage >= cur.stage ? { seq, type, stage } : cur;
}

/** A write that only indexes its event under the record (ev:<id>) and never replaces the record (a seal). */
export const INDEX_ONLY = -1;
export type Stage = (typeof STAGE)[keyof typeof STAGE] | typeof INDEX_ONLY;

export type EventType = 'decision' | 'outcome' | 'withdrawal' | 'pause' | 'resume' | 'erasure' | 'erasure-request' | 'access' | 'purge' | 'seal' | 'loss' | 'hold' | 'release' | 'hold-override';

/** Why a recording was closed (and sealed). */
export type SealReason = 'call-end' | 'withdrawal' | 'stop';

/** The seal of a closed recording: what the file was when Asterisk closed it. */
export interface RecordingSeal {
  /** The server whose disk holds the file. */
  server: string;
  /** The file, relative to recording.dir. */
  file: string;
  sha256: string;
  size: number;
  durationMs: number;
  reason: SealReason;
  /** Set when the file is encrypted: then `sha256` and `size` are the encrypted file's. */
  encryption?: SealEncryption;
}

/** What a chain entry says (serialised to JSON as the entry's `body`). */
export type EventBody =
  | {
      type: 'decision' | 'outcome' | 'withdrawal' | 'pause' | 'resume' | 'erasure';
      at: string;
      uniqueId: string;
      outcome: string | null;
      recordDigest: string;
      /** Erasure: what became of the recording, and which server confirmed it when another one held it. */
      recording?: RecordingFateNote;
      confirmedBy?: string;
      /** Erasure: the key of the call's encrypted recording was destroyed (crypto-erasure). */
      recordingKey?: 'destroyed';
    }
  | { type: 'erasure-request'; at: string; records: number; recordingsDeleted: number; failures: number; waiting?: number }
  /**
   * A person's right of access was served (`ledger access`): how many of their records, and how many
   * decrypted recordings, were handed over. Neither their number nor their pseudonym.
   */
  | { type: 'access'; at: string; records: number; recordings: number }
  /**
   * An administrator recorded that the log lost entries that had been signed (`signed`), and that
   * signing goes on from the log as it is (`held` entries before this one). No personal data.
   */
  | { type: 'loss'; at: string; signed: number; held: number; reason: string }
  | {
      type: 'purge';
      at: string;
      cutoff: string;
      records: number;
      recordingsDeleted: number;
      /** Records kept until the server holding their recording confirms its deletion. */
      waiting?: number;
      failures: number;
      /** Records past their retention kept under a legal hold (absent: none). */
      held?: number;
      /** The chain was trimmed up to and including this entry (its seq and hash become the anchor). */
      trimmedTo: { seq: number; hash: string } | null;
    }
  | ({ type: 'seal'; at: string; uniqueId: string } & RecordingSeal)
  /** Legal holds (holds.ts): placed, released, overridden by an erasure. */
  | HoldEntryBody
  | HoldOverrideBody;

/** One entry of the chain as stored. `hash` = SHA-256 over seq, prev and body (see chain.ts). */
export interface ChainEntry {
  seq: number;
  prev: string;
  hash: string;
  body: string;
}

/** A chain entry read back from a store, with the store's own id for it (a stream id in Redis). */
export interface StoredChainEntry extends ChainEntry {
  id: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * The head of a log as an appender sees it: the last entry, and the Merkle compact range of the whole
 * log (merkle.ts Frontier text) — null for a log begun before Merkle trees, which gets no checkpoints.
 */
export interface LogHead extends ChainHead {
  tree: string | null;
}

/** What the chain append writes to a record together with the entry, atomically. */
export interface RecordWrite {
  uniqueId: string;
  /** The stored JSON of the record (serialiseRecord). */
  json: string;
  stage: Stage;
  /** Milliseconds since the epoch of enteredAt: the time index. */
  enteredMs: number;
  /** Caller index to add the record to, or remove it from (erasure). Empty pseudonym: none. */
  callerPseudonym: string;
  callerIndex: 'add' | 'remove';
  /**
   * The writer expects this to be the call's first entry (a decision): the appender may then send it
   * without reading the call's record first. The store still compares the record's `last` (it must be
   * absent), so a call that has entries after all is refused ('call-conflict') and read, then retried.
   */
  first?: boolean;
}

/** One event to append: its chain entry body, plus optionally the record it writes. */
export interface AppendItem {
  /** Unique id of the event; a store applies an event at most once. */
  eventId: string;
  /**
   * The entry's body (JSON). An event about a call (it has a `record`) gets the call's previous entry
   * added as `callPrev` by the appender, so that the entries of one call form a chain of their own.
   */
  body: string;
  record: RecordWrite | null;
}

/**
 * The last entry about a call, as its record keeps it (`last`): what the next entry about the call
 * links to. `stored` is the record's `last` field as it is now ('' when absent), which the append
 * compares before writing.
 */
export interface CallHead {
  uniqueId: string;
  /** Null: the call has no entry yet (or none since calls were linked). */
  prev: ChainHead | null;
  stored: string;
}

/** Trims the chain up to and including `seq` (which must have `hash`), atomically with the append. */
export interface TrimRequest {
  seq: number;
  hash: string;
  /** Merkle compact range of the log up to and including `seq` (kept as the anchor's tree), or null. */
  tree: string | null;
}

export type AppendResult =
  | { status: 'ok' }
  /** The chain's head is not the one the entries were computed from. */
  | { status: 'conflict'; head: LogHead }
  /** A call's last entry moved since it was read (another writer appended about that call). */
  | { status: 'call-conflict'; uniqueId: string }
  /** These events were already applied; nothing was written. */
  | { status: 'duplicate'; eventIds: string[] };

/** The write side of a store, used by DurableLedger and by erase/purge. */
export interface ChainStore {
  /** True when the store accepts commands now (Redis connection ready). */
  isReady(): boolean;
  /** Called each time the store becomes ready again. */
  onReady(listener: () => void): void;
  head(): Promise<LogHead>;
  /**
   * Appends entries (computed from `expected`) and applies their record writes, all or nothing. Checks
   * first that the head is `expected` and that no event was applied already. `tree` is the log's Merkle
   * compact range after the entries (null: the log has none).
   */
  append(expected: ChainHead, entries: ChainEntry[], items: AppendItem[], tree: string | null, trim?: TrimRequest, calls?: CallHead[]): Promise<AppendResult>;
  getRecord(uniqueId: string): Promise<RecordRow | null>;
  /** The last entry about each call (for `callPrev`), read from its record. */
  callHeads(uniqueIds: string[]): Promise<CallHead[]>;
  /** Registers this log in the ledger's list of logs (again: after Redis lost it). */
  registerSelf(): Promise<void>;
}

/** A record found by scanning: its row, and the time-index score and stage kept with it. */
export interface ScannedRecord extends RecordRow {
  enteredMs: number;
  stage: number;
}

/** A record row as read for the CLI: the stored JSON and the seq of the entry that wrote it. */
export interface RecordRow {
  uniqueId: string;
  json: string;
  /** Seq of the chain entry whose body holds the digest of `json`. */
  seq: number;
}

/** What an erasure or purge found of a record's recording: deleted, already missing, or none. */
export type RecordingFateNote = 'deleted' | 'already-missing' | 'none';

/** Why a recording is to be deleted by the server that holds it. */
export type DeletionReason = 'erase' | 'purge';

/** A recording that the server holding it must delete (queued by erase or purge on any host). */
export interface PendingDeletion {
  uniqueId: string;
  path: string;
  reason: DeletionReason;
  /** When it was queued (ms since the epoch). */
  requestedAt: number;
}

/** A deletion the holding server carried out: the file is gone ('missing': it was gone already). */
export interface DeletionConfirmation {
  server: string;
  result: 'deleted' | 'missing';
  atMs: number;
}

/**
 * Deletions of recordings, queued per server: recordings live on the disk of the server that made
 * them, so erase and purge (run on any host) queue the work for that server, whose service carries
 * it out and confirms; the record is finalised once the confirmation is there.
 */
export interface DeletionQueue {
  /** Queues a deletion; one per call (queued again, it keeps its first time). */
  queueDeletion(server: string, d: PendingDeletion): Promise<void>;
  /** The valid deletions queued for a server, oldest first (readDeletions without the malformed ones). */
  pendingDeletions(server: string): Promise<PendingDeletion[]>;
  /** A server's queue entry by entry: the valid deletions, oldest first, and the entries set apart as malformed (queues.ts). */
  readDeletions(server: string): Promise<QueueRead<PendingDeletion>>;
  /** Servers that have (or had) deletions queued. */
  deletionServers(): Promise<string[]>;
  /** Takes a deletion off the server's queue and keeps its confirmation, atomically. */
  confirmDeletion(server: string, uniqueId: string, result: DeletionConfirmation['result'], atMs: number): Promise<void>;
  deletionConfirmations(uniqueIds: string[]): Promise<(DeletionConfirmation | null)[]>;
  /** Forgets confirmations once their records are finalised. */
  forgetConfirmations(uniqueIds: string[]): Promise<void>;
  /** Takes deletions off a server's queue without doing them (a legal hold now keeps their recordings). */
  cancelDeletions(server: string, uniqueIds: string[]): Promise<void>;
}

/** A signed checkpoint as kept with its log: the note, and the compact range of the tree it signs. */
export interface StoredCheckpoint {
  /** Store id (a stream id in Redis): checkpoints in the order they were added. */
  id: string;
  size: number;
  note: string;
  tree: string;
}

/** What the checkpointer and verify need of one log. */
export interface CheckpointStore {
  readonly log: string;
  isReady(): boolean;
  head(): Promise<LogHead>;
  latestCheckpoint(): Promise<StoredCheckpoint | null>;
  addCheckpoint(size: number, note: string, tree: string): Promise<void>;
  checkpoints(chunk: number): AsyncIterable<StoredCheckpoint[]>;
  /** Entries with seq > `afterSeq`, in order, at most `count`. */
  entriesAfter(afterSeq: number, count: number): Promise<StoredChainEntry[]>;
  /** The anchor (last trimmed entry, with its Merkle compact range) and the chain from its start, in chunks. */
  chain(chunk: number): AsyncIterable<{ anchor: ChainHead | null; anchorTree: string | null; entries: StoredChainEntry[] }>;
}

/** One version of the notice: every text spoken and the SHA-256 of each audio file (null: not readable). */
export interface NoticeCatalogue {
  version: string;
  /** The campaign profile whose notice this is (catalogues stored before profiles: the default's). Not in the version's digest. */
  profile?: string;
  /** The controller its legal section names (not in the version's digest: the texts say it). */
  controller?: string;
  /** A prompt with no text (a studio recording only) has text ''. */
  prompts: { lang: string; prompt: string; text: string; audioSha256: string | null }[];
}

/** A recording waiting for its seal (the service of the server holding it seals it once closed). */
export interface UnsealedRecording {
  uniqueId: string;
  /** The log the call's record is in. */
  log: string;
  path: string;
  /** When the recording started (ms). */
  sinceMs: number;
  /** Set once the recording was stopped during the call (withdrawal, late pause): seal without waiting for the hangup. */
  stopped?: SealReason;
  /** The call's campaign profile: whose key the recording is encrypted to. */
  profile?: string;
}

/** What the service keeps of the ledger beyond its calls' records: notices, and recordings to seal. */
export interface EvidenceStore extends RecordingKeyStore {
  saveNotice(n: NoticeCatalogue): Promise<void>;
  notice(version: string): Promise<NoticeCatalogue | null>;
  markUnsealed(server: string, u: UnsealedRecording): Promise<void>;
  /** The valid recordings waiting for their seal, oldest first (readUnsealed without the malformed ones). */
  unsealed(server: string): Promise<UnsealedRecording[]>;
  /** The server's recordings waiting for their seal, entry by entry: the valid ones, oldest first, and the malformed ones. */
  readUnsealed(server: string): Promise<QueueRead<UnsealedRecording>>;
  clearUnsealed(server: string, uniqueId: string): Promise<void>;
  /** Registers a log (instance) of this ledger. */
  registerLog(log: string): Promise<void>;
}

/** The read and maintenance side of a store, used by the CLI (admin.ts). */
export interface AdminStore extends ChainStore, DeletionQueue, CheckpointStore, EvidenceStore, HoldStore {
  /** Every log of the ledger (the one of versions before per-instance logs, '', when it has data). */
  logs(): Promise<string[]>;
  /** Logs found by their keys, whether the list of logs names them or not (verify). */
  scanLogs(): Promise<string[]>;
  /** Every record of this log found by its key (not through an index), in chunks. */
  scanRecords(chunk: number): AsyncIterable<ScannedRecord[]>;
  /** The time index of this log, in chunks: uniqueId and score. */
  timeIndex(chunk: number): AsyncIterable<{ uniqueId: string; ms: number }[]>;
  /** Whether each record is in its caller's index. */
  inCallerIndex(rows: { uniqueId: string; callerPseudonym: string }[]): Promise<boolean[]>;
  /** Every caller index of this log, found by its key, in chunks. */
  callerIndexes(chunk: number): AsyncIterable<{ pseudonym: string; uniqueIds: string[] }[]>;
  /** The same store, on another log. */
  forLog(log: string): AdminStore;
  /** Seqs of the events stored for a call (its record's ev: index), oldest first. */
  eventSeqs(uniqueId: string): Promise<number[]>;
  getRecords(uniqueIds: string[]): Promise<(RecordRow | null)[]>;
  /**
   * Records whose enteredAt is within [fromMs, toMs), in order of enteredAt then uniqueId, in chunks:
   * keyset pagination, never the whole index in memory.
   */
  recordsByTime(fromMs: number, toMs: number, chunk: number): AsyncIterable<RecordRow[]>;
  /**
   * The oldest records entered before `beforeMs`, skipping the first `offset` (records a purge kept);
   * `row` is null for an index entry whose record is gone.
   */
  recordsBefore(beforeMs: number, offset: number, count: number): Promise<{ uniqueId: string; row: RecordRow | null }[]>;
  /** The uniqueIds indexed under a caller pseudonym, in chunks. */
  callerRecordIds(pseudonym: string, chunk: number): AsyncIterable<string[]>;
  /** Deletes records and their index entries. */
  deleteRecords(rows: { uniqueId: string; callerPseudonym: string }[]): Promise<void>;
  /** The anchor (last trimmed entry, with its Merkle compact range) and the chain from its start, in chunks. */
  chain(chunk: number): AsyncIterable<{ anchor: ChainHead | null; anchorTree: string | null; entries: StoredChainEntry[] }>;
  /** Chain entries by seq (null where absent). */
  chainEntries(seqs: number[]): Promise<(StoredChainEntry | null)[]>;
  /** The id of the last entry ever appended (even if deleted since), and the number of entries ever added. */
  chainInfo(): Promise<{ lastGeneratedId: string | null; entriesAdded: number | null }>;
  /** Takes a named lock for `ttlMs`; returns a release function, or null when someone else holds it. */
  lock(name: string, ttlMs: number): Promise<(() => Promise<void>) | null>;
  /**
   * Remembers that a caller's erasure was requested at `atMs` (replacing an earlier request), so that
   * records decided before it and stored only later (replayed from a journal) are erased too.
   */
  markErased(pseudonym: string, atMs: number): Promise<void>;
  /** The remembered erasure requests: caller pseudonym → time of the request (ms). */
  erasureMarks(): Promise<Map<string, number>>;
  /** The same, entry by entry: the valid requests, and the entries set apart as malformed. */
  readErasureMarks(): Promise<QueueRead<[string, number]>>;
  /** Forgets erasure requests (once older than the retention period). */
  forgetErasures(pseudonyms: string[]): Promise<void>;
}
