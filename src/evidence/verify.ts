/**
 * `consent-ivr ledger verify`: checks every log of the ledger.
 *
 * 1. The hash chain, walked from its anchor: the first edited, deleted or reordered entry (chain.ts).
 * 2. The signed checkpoints (kept in Redis, and any given in files): each must open with a trusted key,
 *    and the log must be consistent with it — the Merkle root of its first `size` entries, recomputed
 *    from the entries, equals the signed root. A checkpoint larger than the log means entries were
 *    removed from its end (truncation).
 * 3. The records against the entries that wrote them (digest of the stored JSON).
 * 4. With `recordings`, this server's recording files against their seals: changed, missing (and whether
 *    that is expected: erased, purged) or unexpected (a file no seal names).
 * Memory stays bounded by one chunk of entries and the checkpoints of one log.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { entryLeaf, ChainVerifier, entryHash, type VerifyResult, Frontier, parseStoredRecord, sha256Hex, DAY_MS, type AdminContext, nextWriter, RECORD_STAGES, type AdminStore, type RecordWriter, type StoredChainEntry } from '../ledger';
import { NoteError, openNote, parseCheckpoint, type VerifierKey } from './checkpoint';
import { logOfOrigin, lossOf, originOf, readCheckpointLines } from './checkpoint-file';
import { inspectRecording, relativeToDir, sealOf } from './seal';

export interface VerifyOptions {
  /** Public keys whose checkpoints are trusted. */
  keys: VerifierKey[];
  /** Checkpoints kept elsewhere (an auditor's copy): note files, or checkpoint files (JSON Lines). */
  checkpointFiles: string[];
  /**
   * The host's checkpoint file (ledger.checkpointFile): what this host signed, the ground truth against
   * which Redis is checked. Read when it exists; null: none.
   */
  hostCheckpointFile: string | null;
  /** ledger.checkpointIntervalMs: entries left unsigned much longer than this are a problem. */
  checkpointIntervalMs: number;
  /** Check this server's recording files against their seals. */
  recordings: boolean;
  /** recording.format, to read durations. */
  recordingFormat: string;
}

export type CheckpointProblemKind = 'truncated' | 'mismatch' | 'unknown-key' | 'bad-signature' | 'malformed' | 'unverifiable' | 'unsigned' | 'unregistered';

export interface CheckpointProblem {
  log: string | null;
  /** 'ledger' (kept in Redis) or the file it came from. */
  source: string;
  size: number | null;
  kind: CheckpointProblemKind;
  message: string;
}

export interface RecordProblem {
  uniqueId: string;
  seq: number | null;
  message: string;
}

/** What a log lost against what was signed: the largest signed size it no longer extends. */
export interface LogLoss {
  /** Entries signed (the largest checkpoint the log no longer extends). */
  signed: number;
  /** Where that checkpoint is kept ('ledger', or a file). */
  source: string;
  /** Entries the log holds now (from its start). */
  now: number;
  /** The log holds entries that differ from the signed ones (not only fewer). */
  rewritten: boolean;
}

export interface LogReport {
  log: string;
  chain: VerifyResult;
  /** Set when the log no longer extends a checkpoint: Redis lost or someone rewrote it. */
  loss: LogLoss | null;
  /**
   * The last loss an administrator accepted (`ledger accept-loss`): the checkpoints this host and Redis
   * kept from before it are not compared with the log (copies given with --checkpoint still are).
   */
  acceptedLoss: { at: string | null; signed: number; size: number; reason: string | null; checkpointsBefore: number } | null;
  records: { checked: number; unverifiable: number; problem: RecordProblem | null; problems: number };
  checkpoints: {
    /** Checkpoints whose root was recomputed from the entries and matched. */
    checked: number;
    /** Checkpoints of entries since purged (their signature is checked, their entries are gone). */
    beforeTrim: number;
    latest: { size: number; signedBy: string[] } | null;
    problems: CheckpointProblem[];
  };
}

/** Notes of a file, or of the host's checkpoint file, with the log each line says it is of. */
async function notesOf(file: string, host: boolean): Promise<{ note: string; log: string | null; time: number | null }[]> {
  if (host) return (await readCheckpointLines(file)).map((l) => ({ note: l.note, log: l.log, time: Number.isFinite(Date.parse(l.at)) ? Date.parse(l.at) : null }));
  return (await readCheckpointFile(file)).map((note) => ({ note, log: null, time: null }));
}

/** The time a Redis stream id was added at (ms). */
function streamTime(id: string): number | null {
  const ms = Number(id.split('-')[0]);
  return Number.isSafeInteger(ms) ? ms : null;
}

export interface RecordingFinding {
  uniqueId: string | null;
  file: string;
  message: string;
}

export interface RecordingsReport {
  server: string;
  /** Sealed files found intact. */
  intact: number;
  changed: RecordingFinding[];
  missing: RecordingFinding[];
  /** Sealed files gone on purpose (erased, purged): expected. */
  expectedMissing: RecordingFinding[];
  /** Files no seal names (and not waiting for one). */
  unexpected: RecordingFinding[];
  /** Recordings not sealed yet (call in progress, file not closed yet). */
  waiting: number;
}

export interface VerifyReport {
  ok: boolean;
  logs: LogReport[];
  /** Problems of checkpoints from files that name no log of this ledger, or none of ours. */
  checkpointProblems: CheckpointProblem[];
  recordings: RecordingsReport | null;
}

interface OpenedCheckpoint {
  source: string;
  size: number;
  root: Buffer;
  signedBy: string[];
  /** When it was signed (ms), where known: the host's file, the order of Redis's stream. */
  time: number | null;
  /** Entries signed before, when this checkpoint records an accepted loss. */
  loss: number | null;
}

/** Notes from a checkpoint file: a single note, or JSON Lines with a `note` field. */
export async function readCheckpointFile(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`--checkpoint ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
  }
  if (!text.trimStart().startsWith('{')) return [text];
  const notes: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const v = JSON.parse(line) as { note?: unknown };
      if (typeof v.note !== 'string') throw new Error('no note field');
      notes.push(v.note);
    } catch (e) {
      throw new Error(`--checkpoint ${file}: line ${i + 1} is not a checkpoint line (${(e as Error).message})`, { cause: e });
    }
  });
  return notes;
}

function openCheckpoint(note: string, keys: VerifierKey[], source: string, time: number | null = null): { log: string | null; cp: OpenedCheckpoint } | CheckpointProblem {
  try {
    const { text, signedBy } = openNote(note, keys);
    const c = parseCheckpoint(text);
    const log = logOfOrigin(c.origin);
    if (log === null) return { log: null, source, size: c.size, kind: 'malformed', message: `checkpoint of "${c.origin.slice(0, 80)}", not a consent-ivr log` };
    return { log, cp: { source, size: c.size, root: c.root, signedBy: signedBy.map((k) => `${k.name}+${k.keyId}`), time, loss: lossOf(c.extensions) } };
  } catch (e) {
    const kind: CheckpointProblemKind = e instanceof NoteError ? e.reason : 'malformed';
    const what = kind === 'unknown-key' ? 'not signed by a trusted key' : kind === 'bad-signature' ? 'its signature does not match its text' : 'not a signed checkpoint';
    return { log: null, source, size: null, kind, message: `${what}: ${(e as Error).message}` };
  }
}

function isProblem(v: { log: string | null; cp: OpenedCheckpoint } | CheckpointProblem): v is CheckpointProblem {
  return 'kind' in v;
}

/** The checkpoints of every log (from the ledger and the files), opened with the trusted keys. */
async function gatherCheckpoints(
  ctx: AdminContext,
  logs: string[],
  opts: VerifyOptions,
): Promise<{ byLog: Map<string, OpenedCheckpoint[]>; problems: Map<string, CheckpointProblem[]>; orphans: CheckpointProblem[] }> {
  const byLog = new Map<string, OpenedCheckpoint[]>(logs.map((l) => [l, []]));
  const problems = new Map<string, CheckpointProblem[]>(logs.map((l) => [l, []]));
  const orphans: CheckpointProblem[] = [];
  const take = (note: string, source: string, expectedLog: string | null, time: number | null = null) => {
    const r = openCheckpoint(note, opts.keys, source, time);
    if (isProblem(r)) {
      const p = { ...r, log: expectedLog };
      if (expectedLog !== null) problems.get(expectedLog)?.push(p);
      else orphans.push(p);
      return;
    }
    if (expectedLog !== null && r.log !== expectedLog) {
      problems.get(expectedLog)?.push({ log: expectedLog, source, size: r.cp.size, kind: 'malformed', message: `kept with log "${expectedLog}" but signed for ${originOf(r.log ?? '')}` });
      return;
    }
    const list = r.log !== null ? byLog.get(r.log) : undefined;
    if (!list) {
      orphans.push({
        log: r.log,
        source,
        size: r.cp.size,
        kind: 'truncated',
        message: `checkpoint of log "${r.log ?? ''}" (${r.cp.size} entries), which this ledger does not have: the whole log was removed`,
      });
      return;
    }
    list.push(r.cp);
  };
  for (const log of logs) {
    for await (const chunk of ctx.store.forLog(log).checkpoints(ctx.chunk)) for (const c of chunk) take(c.note, 'ledger', log, streamTime(c.id));
  }
  const files = [...(opts.hostCheckpointFile ? [{ file: opts.hostCheckpointFile, host: true }] : []), ...opts.checkpointFiles.map((file) => ({ file, host: false }))];
  for (const { file, host } of files) {
    for (const { note, log, time } of await notesOf(file, host)) {
      const r = openCheckpoint(note, opts.keys, file);
      // The host's file names the log of each line: a line signed for another log is reported there.
      if (host && log !== null && !isProblem(r) && r.log !== log) orphans.push({ log, source: file, size: r.cp.size, kind: 'malformed', message: `a line of log "${log}" holds a checkpoint of ${originOf(r.log ?? '')}` });
      else take(note, file, null, host ? time : null);
    }
  }
  for (const list of byLog.values()) list.sort((a, b) => a.size - b.size);
  return { byLog, problems, orphans };
}

/** What the walk keeps of each call: the entry that must have written its record, and its last entry's time. */
interface CallState {
  writer: RecordWriter;
  atMs: number;
}


/**
 * Follows the entries about calls, as the store's append applies them: an entry writes its call's
 * record unless the record was written at a higher stage (a decision replayed after the outcome).
 */
class CallWriters {
  readonly calls = new Map<string, CallState>();

  feed(entries: StoredChainEntry[]): void {
    for (const e of entries) {
      let b: { type?: unknown; uniqueId?: unknown; at?: unknown };
      try {
        b = JSON.parse(e.body) as typeof b;
      } catch {
        continue; // the chain check covers an unparsable entry
      }
      if (typeof b.uniqueId !== 'string' || RECORD_STAGES[String(b.type)] === undefined) continue;
      const cur = this.calls.get(b.uniqueId) ?? null;
      const writer = nextWriter(cur?.writer ?? null, e.seq, String(b.type));
      if (writer) this.calls.set(b.uniqueId, { writer, atMs: Date.parse(String(b.at)) });
    }
  }
}

/** Keeps, of several checkpoint problems of one kind and source, the largest (the others are counted in it). */
function collapse(problems: CheckpointProblem[]): CheckpointProblem[] {
  const groups = new Map<string, CheckpointProblem[]>();
  for (const p of problems) {
    const k = `${p.kind}\u0000${p.source}`;
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  return [...groups.values()].map((g) => {
    const top = g.reduce((a, b) => ((b.size ?? 0) > (a.size ?? 0) ? b : a));
    return g.length === 1 ? top : { ...top, message: `${top.message} (and ${g.length - 1} smaller checkpoint(s) of the same source alike)` };
  });
}

/** Checks one log: its chain, its checkpoints and its records. */
async function verifyLog(ctx: AdminContext, store: AdminStore, all: OpenedCheckpoint[], problems: CheckpointProblem[], seals: SealSink | null, opts: VerifyOptions): Promise<LogReport> {
  // Since the last accepted loss, what this host and Redis signed before it is history, not a check.
  const own = (c: OpenedCheckpoint) => c.source === 'ledger' || c.source === opts.hostCheckpointFile;
  const accepted = all.filter((c) => c.loss !== null && own(c) && c.time !== null).reduce<OpenedCheckpoint | null>((a, c) => (!a || (c.time ?? 0) > (a.time ?? 0) ? c : a), null);
  // The same checkpoint is in the host's file and in Redis: the acceptance dates from the first copy.
  const acceptedAt = accepted ? Math.min(...all.filter((c) => c.loss !== null && own(c) && c.time !== null && c.size === accepted.size && c.root.equals(accepted.root)).map((c) => c.time as number)) : 0;
  const before = (c: OpenedCheckpoint) => accepted !== null && own(c) && c.time !== null && c.time < acceptedAt;
  const checkpoints = all.filter((c) => !before(c));
  let lossReason: string | null = null;
  let verifier: ChainVerifier | null = null;
  const graceMs = ctx.now().getTime() - ctx.retentionDays * DAY_MS + DAY_MS;
  let tree: Frontier | null = null;
  let treeBrokenAt: number | null = null;
  let next = 0; // index of the next checkpoint to compare
  let matched = 0;
  let beforeTrim = 0;
  const log = store.log;
  const writers = new CallWriters();
  const signedUpTo = Math.max(0, ...checkpoints.map((c) => c.size));
  /** Time of the first entry no checkpoint covers. */
  let firstUnsignedAt: number | null = null;
  const compare = () => {
    for (;;) {
      const cp = checkpoints[next];
      if (!cp || !tree || cp.size > tree.size) return;
      next += 1;
      if (cp.size < tree.size) continue; // passed while the tree was broken: reported after the walk
      if (tree.root().equals(cp.root)) matched += 1;
      else
        problems.push({
          log,
          source: cp.source,
          size: cp.size,
          kind: 'mismatch',
          message: `the log's first ${cp.size} entries do not give the root this checkpoint signed: entries before it were changed, removed, reordered or added`,
        });
    }
  };
  let walked = 0;
  for await (const { anchor, anchorTree, entries } of store.chain(ctx.chunk)) {
    if (!verifier) {
      verifier = new ChainVerifier(anchor);
      tree = anchor ? (anchorTree !== null ? Frontier.parse(anchorTree) : null) : new Frontier();
      if (tree) {
        while (checkpoints[next] && (checkpoints[next] as OpenedCheckpoint).size < tree.size) {
          next += 1;
          beforeTrim += 1;
        }
        compare();
      }
    }
    verifier.feed(entries);
    writers.feed(entries);
    walked += entries.length;
    ctx.progress?.(walked);
    for (const e of entries) {
      if (firstUnsignedAt === null && e.seq > signedUpTo) firstUnsignedAt = bodyTime(e.body);
      if (accepted && e.body.includes('"loss"')) lossReason = lossReasonOf(e.body) ?? lossReason;
      if (tree && treeBrokenAt === null) {
        if (e.seq !== tree.size + 1) treeBrokenAt = tree.size;
        else {
          tree.append(entryLeaf({ hash: entryHash(e.seq, e.prev, e.body) }));
          compare();
        }
      }
    }
    if (seals) await seals.feed(store, entries);
  }
  const chain = (verifier ?? new ChainVerifier(null)).finish(await store.chainInfo());
  for (; next < checkpoints.length; next++) {
    const cp = checkpoints[next] as OpenedCheckpoint;
    const size = tree?.size ?? 0;
    if (!tree) {
      problems.push({ log, source: cp.source, size: cp.size, kind: 'unverifiable', message: 'the log was trimmed before Merkle trees: this checkpoint cannot be checked' });
    } else if (treeBrokenAt !== null && cp.size > treeBrokenAt) {
      problems.push({ log, source: cp.source, size: cp.size, kind: 'mismatch', message: `the log breaks after entry seq ${treeBrokenAt} (deleted or reordered entries) below this checkpoint of ${cp.size} entries` });
    } else if (cp.size > size) {
      problems.push({
        log,
        source: cp.source,
        size: cp.size,
        kind: 'truncated',
        message: `a checkpoint signed ${cp.size} entries but the log ends at ${size}: entries ${size + 1}–${cp.size} were removed (truncation), or Redis lost them`,
      });
    }
  }
  if (tree && treeBrokenAt === null && chain.ok) {
    const head = await store.head();
    if (head.tree !== null && head.seq === tree.size && head.tree !== tree.toString()) {
      problems.push({ log, source: 'ledger', size: tree.size, kind: 'mismatch', message: "the log's tree state in Redis differs from its entries: it was edited" });
    }
  }
  // Entries no checkpoint covers, for much longer than the service takes to sign them: the checkpoints
  // were deleted (from Redis, and this host's file is not the one that has them), or nobody signs.
  const headSeq = chain.head?.seq ?? 0;
  const lateMs = 2 * opts.checkpointIntervalMs + 60_000;
  if (headSeq > signedUpTo && firstUnsignedAt !== null && ctx.now().getTime() - firstUnsignedAt > lateMs) {
    problems.push({
      log,
      source: 'ledger',
      size: null,
      kind: 'unsigned',
      message: `entries ${signedUpTo + 1}–${headSeq} are covered by no signed checkpoint, the first since ${new Date(firstUnsignedAt).toISOString()}: checkpoints were deleted, or no service signs this log (pass its host's file with --checkpoint)`,
    });
  }

  const lossProblem = problems.filter((p) => p.kind === 'truncated' || p.kind === 'mismatch').reduce<CheckpointProblem | null>((a, p) => (!a || (p.size ?? 0) > (a.size ?? 0) ? p : a), null);
  const loss: LogLoss | null = lossProblem
    ? { signed: lossProblem.size ?? 0, source: lossProblem.source, now: headSeq, rewritten: problems.some((p) => p.kind === 'mismatch') }
    : null;
  const records = await checkRecords(ctx, store, chain, writers, graceMs);
  const last = checkpoints[checkpoints.length - 1];
  const acceptedLoss = accepted
    ? { at: new Date(acceptedAt).toISOString(), signed: accepted.loss ?? 0, size: accepted.size, reason: lossReason, checkpointsBefore: all.length - checkpoints.length }
    : null;
  return {
    log,
    chain,
    loss,
    acceptedLoss,
    records,
    checkpoints: { checked: matched, beforeTrim, latest: last ? { size: last.size, signedBy: last.signedBy } : null, problems: collapse(problems) },
  };
}

function lossReasonOf(body: string): string | null {
  try {
    const b = JSON.parse(body) as { type?: unknown; reason?: unknown };
    return b.type === 'loss' && typeof b.reason === 'string' ? b.reason : null;
  } catch {
    return null;
  }
}

function bodyTime(body: string): number | null {
  try {
    const t = Date.parse(String((JSON.parse(body) as { at?: unknown }).at));
    return Number.isFinite(t) ? t : null;
  } catch {
    return null;
  }
}

/**
 * Every record of the log, found by its key (not through an index): each must be the latest state of
 * its call (written by the last entry that writes it) and match the digest that entry recorded; every
 * record the log's entries name must exist (unless old enough to be purged); the time index and the
 * caller index must list exactly the records (both ways).
 */
async function checkRecords(ctx: AdminContext, store: AdminStore, chain: VerifyResult, writers: CallWriters, graceMs: number): Promise<LogReport['records']> {
  let checked = 0;
  let unverifiable = 0;
  let count = 0;
  let first: RecordProblem | null = null;
  const fail = (p: RecordProblem) => {
    count += 1;
    first ??= p;
  };
  const anchorSeq = chain.anchor?.seq ?? 0;
  const headSeq = chain.head?.seq ?? 0;
  const times = new Map<string, number>();
  const subjects = new Map<string, string>();
  for await (const rows of store.scanRecords(ctx.chunk)) {
    const entries = await store.chainEntries(rows.map((r) => r.seq));
    const indexed = await store.inCallerIndex(rows.map((r) => ({ uniqueId: r.uniqueId, callerPseudonym: parsePseudonym(r.json) })));
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (!row) continue;
      times.set(row.uniqueId, row.enteredMs);
      subjects.set(row.uniqueId, parsePseudonym(row.json));
      const w = writers.calls.get(row.uniqueId);
      const named = (problem: string) => fail({ uniqueId: row.uniqueId, seq: row.seq, message: `record ${row.uniqueId}: ${problem}` });
      if (w && w.writer.seq > row.seq) {
        named(`it is not the latest state of its call: entry seq ${w.writer.seq} (${w.writer.type}) wrote it after seq ${row.seq}, which it now matches (rolled back, or edited)`);
        continue;
      }
      if (!w && row.seq <= anchorSeq) {
        unverifiable += 1;
        continue;
      }
      const e = entries[i];
      let problem: string | null = null;
      if (!e) problem = row.seq > headSeq ? `points to chain entry seq ${row.seq}, past the end of the chain` : `its chain entry seq ${row.seq} is missing`;
      else {
        let b: { uniqueId?: unknown; recordDigest?: unknown } = {};
        try {
          b = JSON.parse(e.body) as typeof b;
        } catch {
          b = {};
        }
        if (b.uniqueId !== row.uniqueId) problem = `its chain entry seq ${row.seq} is about another call`;
        else if (b.recordDigest !== sha256Hex(row.json)) problem = `its content differs from what chain entry seq ${row.seq} recorded: the record was edited`;
      }
      if (!problem && indexed[i] === false && !isErased(row.json)) problem = "it is not in its caller's index: an erasure of that caller would miss it";
      if (problem) named(problem);
      else checked += 1;
    }
  }
  // Records the log names that are gone (purge removes records past the retention period only).
  for (const [uniqueId, w] of writers.calls) {
    if (!times.has(uniqueId) && w.atMs >= graceMs) fail({ uniqueId, seq: w.writer.seq, message: `record ${uniqueId} (named by chain entry seq ${w.writer.seq}) is missing: deleted outside erase/purge` });
  }
  // The time index (list, export, report, purge read it) against the records, both ways.
  const listed = new Set<string>();
  for await (const part of store.timeIndex(ctx.chunk)) {
    for (const { uniqueId, ms } of part) {
      listed.add(uniqueId);
      const t = times.get(uniqueId);
      if (t === undefined) fail({ uniqueId, seq: null, message: `the time index names record ${uniqueId}, which does not exist` });
      else if (t !== ms) fail({ uniqueId, seq: null, message: `record ${uniqueId} is in the time index at another time than its own: list and report place it wrongly` });
    }
  }
  for (const uniqueId of times.keys()) {
    if (!listed.has(uniqueId)) fail({ uniqueId, seq: null, message: `record ${uniqueId} is not in the time index: list, export and report do not show it` });
  }
  // Each caller index names only that caller's records: an erasure of the caller reaches no one else.
  for await (const part of store.callerIndexes(ctx.chunk)) {
    for (const { pseudonym, uniqueIds } of part) {
      for (const uniqueId of uniqueIds) {
        const subject = subjects.get(uniqueId);
        if (subject === pseudonym) continue;
        fail({
          uniqueId,
          seq: null,
          message: `the index of caller ${pseudonym.slice(0, 12)}… names record ${uniqueId}, ${subject === undefined ? 'which does not exist' : "which is another caller's"}: an erasure of that caller would reach it`,
        });
      }
    }
  }
  const problem: RecordProblem | null = first;
  return { checked, unverifiable, problem, problems: count };
}

function parsePseudonym(json: string): string {
  try {
    return parseStoredRecord(json).callerPseudonym;
  } catch {
    return '';
  }
}

function isErased(json: string): boolean {
  try {
    const r = parseStoredRecord(json);
    return r.erasedAt !== null || r.callerPseudonym === '';
  } catch {
    return false;
  }
}

/** Checks this server's sealed files as the walk meets their seals, and remembers which files are sealed. */
class SealSink {
  readonly sealed = new Set<string>();
  readonly report: RecordingsReport;
  constructor(
    private readonly ctx: AdminContext,
    private readonly format: string,
    /** Files waiting for their seal or their deletion (relative to recording.dir). */
    private readonly waitingPaths: Set<string>,
  ) {
    this.report = { server: ctx.serverId, intact: 0, changed: [], missing: [], expectedMissing: [], unexpected: [], waiting: 0 };
  }

  async feed(store: AdminStore, entries: StoredChainEntry[]): Promise<void> {
    for (const e of entries) {
      const seal = sealOf(e.body);
      if (!seal || seal.server !== this.ctx.serverId) continue;
      this.sealed.add(seal.file);
      const f = await inspectRecording(join(this.ctx.recordingDir, seal.file), this.format);
      const finding = { uniqueId: seal.uniqueId, file: seal.file };
      if (f && f.sha256 === seal.sha256 && f.size === seal.size) {
        const rec = await store.getRecord(seal.uniqueId);
        const erasedAt = rec ? parseStoredRecord(rec.json).erasedAt : null;
        if ((!rec || erasedAt) && this.waitingPaths.has(seal.file)) this.report.waiting += 1;
        else if (!rec || erasedAt) {
          this.report.unexpected.push({ ...finding, message: `still present although its record was ${erasedAt ? `erased at ${erasedAt}` : 'purged'} (deletion pending?)` });
        } else this.report.intact += 1;
      } else if (f) {
        this.report.changed.push({ ...finding, message: `differs from its seal of ${seal.at} (${seal.size} bytes, SHA-256 ${seal.sha256.slice(0, 16)}…; now ${f.size} bytes, ${f.sha256.slice(0, 16)}…)` });
      } else {
        const row = await store.getRecord(seal.uniqueId);
        const rec = row ? parseStoredRecord(row.json) : null;
        if (!rec) this.report.expectedMissing.push({ ...finding, message: 'removed by a purge (its record is gone too): expected' });
        else if (rec.erasedAt) this.report.expectedMissing.push({ ...finding, message: `removed by the erasure of ${rec.erasedAt}: expected` });
        else if (rec.withdrawal?.recording === 'deleted') this.report.expectedMissing.push({ ...finding, message: `removed after the withdrawal of ${rec.withdrawal?.at ?? '?'}: expected` });
        else this.report.missing.push({ ...finding, message: `missing: sealed at ${seal.at} and never erased or purged` });
      }
    }
  }

  /** Files in recording.dir that no seal names. */
  async walkDir(): Promise<void> {
    const waitingPaths = this.waitingPaths;
    const walk = async (dir: string, rel: string): Promise<void> => {
      let items;
      try {
        items = await fsp.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const it of items) {
        const r = rel ? `${rel}/${it.name}` : it.name;
        if (it.isDirectory()) await walk(join(dir, it.name), r);
        else if (!this.sealed.has(r)) {
          if (waitingPaths.has(r)) this.report.waiting += 1;
          else this.report.unexpected.push({ uniqueId: null, file: r, message: 'no seal names this file: not a recording this ledger knows was closed' });
        }
      }
    };
    await walk(this.ctx.recordingDir, '');
  }
}

export async function verifyLedger(ctx: AdminContext, opts: VerifyOptions): Promise<VerifyReport> {
  // The logs are found by their keys, not only by the list Redis keeps of them.
  const registered = await ctx.store.logs();
  const logs = [...new Set([...registered, ...(await ctx.store.scanLogs())])].sort();
  const { byLog, problems, orphans } = await gatherCheckpoints(ctx, logs, opts);
  for (const log of logs) {
    if (!registered.includes(log)) {
      problems.get(log)?.push({ log, source: 'ledger', size: null, kind: 'unregistered', message: `log "${log}" holds data but is not in the ledger's list of logs ({ledger}:logs): list, export and report do not see it` });
    }
  }
  let seals: SealSink | null = null;
  if (opts.recordings) {
    const waiting = new Set<string>();
    for (const p of [...(await ctx.store.unsealed(ctx.serverId)), ...(await ctx.store.pendingDeletions(ctx.serverId))]) {
      waiting.add(relativeToDir(p.path, ctx.recordingDir) ?? p.path);
    }
    seals = new SealSink(ctx, opts.recordingFormat, waiting);
  }
  const reports: LogReport[] = [];
  for (const log of logs) reports.push(await verifyLog(ctx, ctx.store.forLog(log), byLog.get(log) ?? [], problems.get(log) ?? [], seals, opts));
  await seals?.walkDir();
  const rec = seals?.report ?? null;
  const logsOk = reports.every((r) => r.chain.ok && !r.records.problem && r.checkpoints.problems.length === 0);
  const recOk = !rec || rec.changed.length + rec.missing.length + rec.unexpected.length === 0;
  return { ok: logsOk && orphans.length === 0 && recOk, logs: reports, checkpointProblems: orphans, recordings: rec };
}
