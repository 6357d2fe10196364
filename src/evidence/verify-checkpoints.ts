/**
 * The checkpoints `ledger verify` checks the logs against: those kept in Redis, in this host's checkpoint
 * file and in files given, each opened with the trusted keys and sorted to its log.
 */
import { promises as fsp } from 'node:fs';
import type { AdminContext } from '../ledger';
import { NoteError, openNote, parseCheckpoint, type VerifierKey } from './checkpoint';
import { logOfOrigin, lossOf, originOf, readCheckpointLines } from './checkpoint-file';
import type { CheckpointProblem, CheckpointProblemKind, VerifyOptions } from './verify-report';

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

export interface OpenedCheckpoint {
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
export async function gatherCheckpoints(
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

/** Keeps, of several checkpoint problems of one kind and source, the largest (the others are counted in it). */
export function collapse(problems: CheckpointProblem[]): CheckpointProblem[] {
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
