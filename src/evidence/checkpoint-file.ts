/**
 * The host's checkpoint file (`ledger.checkpointFile`, JSON Lines): every checkpoint this host signed,
 * one line each. It is the ground truth of what was signed — Redis keeps a copy that anyone who can
 * write to Redis can delete — so the checkpointer continues from it and `ledger verify` reads it.
 */
import { promises as fsp } from 'node:fs';
import { openNote, parseCheckpoint, type VerifierKey } from './checkpoint';

/** One line of the file. */
export interface CheckpointLine {
  at: string;
  log: string;
  size: number;
  note: string;
}

/** A checkpoint read back and opened: its size and root, when it was signed, and by which key. */
export interface TrustedCheckpoint {
  size: number;
  root: Buffer;
  at: string | null;
  note: string;
}

/**
 * The extension line of a checkpoint that records an accepted loss: `consent-ivr-loss <n>`, the n
 * entries signed before that the log no longer has. Signing goes on from this checkpoint.
 */
export const LOSS_EXTENSION = 'consent-ivr-loss';

export function lossExtension(signed: number): string {
  return `${LOSS_EXTENSION} ${signed}`;
}

/** The entries signed before, when a checkpoint records an accepted loss; null otherwise. */
export function lossOf(extensions: readonly string[]): number | null {
  for (const e of extensions) {
    const m = /^consent-ivr-loss (0|[1-9][0-9]*)$/.exec(e);
    if (m) return Number(m[1]);
  }
  return null;
}

/** The origin line of a log's checkpoints. */
export function originOf(log: string): string {
  return `consent-ivr/${log === '' ? '-' : log}`;
}

/** The log an origin line names, or null when it is not one of ours. */
export function logOfOrigin(origin: string): string | null {
  const m = /^consent-ivr\/([A-Za-z0-9._-]{1,64})$/.exec(origin);
  if (!m) return null;
  return m[1] === '-' ? '' : (m[1] as string);
}

function parseLine(line: string): CheckpointLine | null {
  try {
    const v = JSON.parse(line) as Partial<CheckpointLine>;
    if (typeof v.note !== 'string' || typeof v.log !== 'string') return null;
    return { at: String(v.at ?? ''), log: v.log, size: Number(v.size), note: v.note };
  } catch {
    return null;
  }
}

/** The checkpoint a line holds if it opens with `keys` and is of `log`; null otherwise. */
function opened(l: CheckpointLine, log: string, keys: readonly VerifierKey[]): TrustedCheckpoint | null {
  try {
    const c = parseCheckpoint(openNote(l.note, keys).text);
    if (c.origin !== originOf(log)) return null;
    return { size: c.size, root: c.root, at: l.at || null, note: l.note };
  } catch {
    return null;
  }
}

const BLOCK = 64 * 1024;

/**
 * The last checkpoint of `log` in the file that opens with `keys`, read from the end of the file (the
 * file grows by a line a minute per log; only its tail is read). Null when the file has none, or does
 * not exist.
 */
export async function lastTrustedCheckpoint(file: string, log: string, keys: readonly VerifierKey[]): Promise<TrustedCheckpoint | null> {
  let fh;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    let end = (await fh.stat()).size;
    // Bytes from `end` on that were not read as lines yet: a line cut by the block boundary.
    let cut = Buffer.alloc(0);
    for (;;) {
      const start = Math.max(0, end - BLOCK);
      const block = Buffer.alloc(end - start);
      await fh.read(block, 0, block.length, start);
      end = start;
      const buf = Buffer.concat([block, cut]);
      // Unless the start of the file was reached, the first line may be cut: keep it for the next block.
      const first = end > 0 ? buf.indexOf(0x0a) : -1;
      if (end > 0 && first < 0) {
        cut = buf;
        continue;
      }
      const lines = buf.subarray(first + 1).toString('utf8').split('\n');
      for (let i = lines.length - 1; i >= 0; i--) {
        const l = (lines[i] as string).trim() ? parseLine(lines[i] as string) : null;
        const cp = l && l.log === log ? opened(l, log, keys) : null;
        if (cp) return cp;
      }
      if (end === 0) return null;
      cut = buf.subarray(0, first);
    }
  } finally {
    await fh.close();
  }
}

/** Every line of the file, in order (verify reads them all). Missing file: none. */
export async function readCheckpointLines(file: string): Promise<CheckpointLine[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: CheckpointLine[] = [];
  for (const line of text.split('\n')) {
    const l = line.trim() ? parseLine(line) : null;
    if (l) out.push(l);
  }
  return out;
}
