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
import { entryLeaf } from './appender';
import { ChainVerifier, entryHash, type VerifyResult } from './chain';
import { NoteError, openNote, parseCheckpoint, type VerifierKey } from './checkpoint';
import { logOfOrigin, originOf } from './checkpointer';
import { Frontier } from './merkle';
import { parseStoredRecord, sha256Hex } from './record';
import { inspectRecording, relativeToDir, sealOf } from './seal';
import { DAY_MS, type AdminContext } from './admin';
import type { AdminStore, StoredChainEntry } from './types';

export interface VerifyOptions {
  /** Public keys whose checkpoints are trusted. */
  keys: VerifierKey[];
  /** Checkpoints kept elsewhere (an auditor's copy): note files, or checkpoint files (JSON Lines). */
  checkpointFiles: string[];
  /** Check this server's recording files against their seals. */
  recordings: boolean;
  /** recording.format, to read durations. */
  recordingFormat: string;
}

export type CheckpointProblemKind = 'truncated' | 'mismatch' | 'unknown-key' | 'bad-signature' | 'malformed' | 'unverifiable';

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

export interface LogReport {
  log: string;
  chain: VerifyResult;
  records: { checked: number; unverifiable: number; problem: RecordProblem | null };
  checkpoints: {
    /** Checkpoints whose root was recomputed from the entries and matched. */
    checked: number;
    /** Checkpoints of entries since purged (their signature is checked, their entries are gone). */
    beforeTrim: number;
    latest: { size: number; signedBy: string[] } | null;
    problems: CheckpointProblem[];
  };
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

function openCheckpoint(note: string, keys: VerifierKey[], source: string): { log: string | null; cp: OpenedCheckpoint } | CheckpointProblem {
  try {
    const { text, signedBy } = openNote(note, keys);
    const c = parseCheckpoint(text);
    const log = logOfOrigin(c.origin);
    if (log === null) return { log: null, source, size: c.size, kind: 'malformed', message: `checkpoint of "${c.origin.slice(0, 80)}", not a consent-ivr log` };
    return { log, cp: { source, size: c.size, root: c.root, signedBy: signedBy.map((k) => `${k.name}+${k.keyId}`) } };
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
  const take = (note: string, source: string, expectedLog: string | null) => {
    const r = openCheckpoint(note, opts.keys, source);
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
    for await (const chunk of ctx.store.forLog(log).checkpoints(ctx.chunk)) for (const c of chunk) take(c.note, 'ledger', log);
  }
  for (const file of opts.checkpointFiles) for (const note of await readCheckpointFile(file)) take(note, file, null);
  for (const list of byLog.values()) list.sort((a, b) => a.size - b.size);
  return { byLog, problems, orphans };
}

/** Checks one log: its chain, its checkpoints and its records. */
async function verifyLog(ctx: AdminContext, store: AdminStore, checkpoints: OpenedCheckpoint[], problems: CheckpointProblem[], seals: SealSink | null): Promise<LogReport> {
  let verifier: ChainVerifier | null = null;
  let recordProblem: RecordProblem | null = null;
  const graceMs = ctx.now().getTime() - ctx.retentionDays * DAY_MS + DAY_MS;
  let tree: Frontier | null = null;
  let treeBrokenAt: number | null = null;
  let next = 0; // index of the next checkpoint to compare
  let matched = 0;
  let beforeTrim = 0;
  const log = store.log;
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
    walked += entries.length;
    ctx.progress?.(walked);
    for (const e of entries) {
      if (tree && treeBrokenAt === null) {
        if (e.seq !== tree.size + 1) treeBrokenAt = tree.size;
        else {
          tree.append(entryLeaf({ hash: entryHash(e.seq, e.prev, e.body) }));
          compare();
        }
      }
    }
    if (seals) await seals.feed(store, entries);
    if (recordProblem || verifier.broken) continue;
    recordProblem = await missingRecord(store, entries, graceMs);
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
        message: `a checkpoint signed ${cp.size} entries but the log ends at ${size}: entries ${size + 1}–${cp.size} were removed (truncation)`,
      });
    }
  }
  if (tree && treeBrokenAt === null && chain.ok) {
    const head = await store.head();
    if (head.tree !== null && head.seq === tree.size && head.tree !== tree.toString()) {
      problems.push({ log, source: 'ledger', size: tree.size, kind: 'mismatch', message: "the log's tree state in Redis differs from its entries: it was edited" });
    }
  }

  const records = recordProblem ? { checked: 0, unverifiable: 0, problem: recordProblem } : await checkRecords(ctx, store, chain);
  const last = checkpoints[checkpoints.length - 1];
  return {
    log,
    chain,
    records,
    checkpoints: { checked: matched, beforeTrim, latest: last ? { size: last.size, signedBy: last.signedBy } : null, problems },
  };
}

/** A record that entries name but that is gone (not old enough to have been purged). */
async function missingRecord(store: AdminStore, entries: StoredChainEntry[], graceMs: number): Promise<RecordProblem | null> {
  const refs: { uniqueId: string; seq: number }[] = [];
  for (const e of entries) {
    try {
      const b = JSON.parse(e.body) as { type?: unknown; uniqueId?: unknown; at?: unknown };
      const named = ['decision', 'outcome', 'withdrawal', 'pause', 'resume', 'erasure'].includes(String(b.type));
      if (named && typeof b.uniqueId === 'string' && Date.parse(String(b.at)) >= graceMs) refs.push({ uniqueId: b.uniqueId, seq: e.seq });
    } catch {
      // an unparsable body cannot name a record; the chain check covers the entry itself
    }
  }
  const rows = await store.getRecords(refs.map((r) => r.uniqueId));
  const ref = refs[refs.findIndex((_, i) => rows[i] === null)];
  return ref ? { uniqueId: ref.uniqueId, seq: ref.seq, message: `record ${ref.uniqueId} (named by chain entry seq ${ref.seq}) is missing: deleted outside erase/purge` } : null;
}

/** Every record of the log against the chain entry that wrote it. */
async function checkRecords(ctx: AdminContext, store: AdminStore, chain: VerifyResult): Promise<LogReport['records']> {
  let checked = 0;
  let unverifiable = 0;
  const anchorSeq = chain.anchor?.seq ?? 0;
  const headSeq = chain.head?.seq ?? 0;
  for await (const rows of store.recordsByTime(-Infinity, Infinity, ctx.chunk)) {
    const inRange = rows.filter((r) => r.seq > anchorSeq);
    unverifiable += rows.length - inRange.length;
    const entries = await store.chainEntries(inRange.map((r) => r.seq));
    for (let i = 0; i < inRange.length; i++) {
      const row = inRange[i];
      if (!row) continue;
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
      if (problem) return { checked, unverifiable, problem: { uniqueId: row.uniqueId, seq: row.seq, message: `record ${row.uniqueId}: ${problem}` } };
      checked += 1;
    }
  }
  return { checked, unverifiable, problem: null };
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
        else if (rec.withdrawalRecording === 'deleted') this.report.expectedMissing.push({ ...finding, message: `removed after the withdrawal of ${rec.withdrawnAt ?? '?'}: expected` });
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
  const logs = await ctx.store.logs();
  const { byLog, problems, orphans } = await gatherCheckpoints(ctx, logs, opts);
  let seals: SealSink | null = null;
  if (opts.recordings) {
    const waiting = new Set<string>();
    for (const p of [...(await ctx.store.unsealed(ctx.serverId)), ...(await ctx.store.pendingDeletions(ctx.serverId))]) {
      waiting.add(relativeToDir(p.path, ctx.recordingDir) ?? p.path);
    }
    seals = new SealSink(ctx, opts.recordingFormat, waiting);
  }
  const reports: LogReport[] = [];
  for (const log of logs) reports.push(await verifyLog(ctx, ctx.store.forLog(log), byLog.get(log) ?? [], problems.get(log) ?? [], seals));
  await seals?.walkDir();
  const rec = seals?.report ?? null;
  const logsOk = reports.every((r) => r.chain.ok && !r.records.problem && r.checkpoints.problems.length === 0);
  const recOk = !rec || rec.changed.length + rec.missing.length + rec.unexpected.length === 0;
  return { ok: logsOk && orphans.length === 0 && recOk, logs: reports, checkpointProblems: orphans, recordings: rec };
}
