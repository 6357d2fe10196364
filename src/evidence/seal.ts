/**
 * Seals of recordings: what a file is once Asterisk has closed it (SHA-256, size, duration), as a ledger
 * event of its call, and the checks `ledger verify --recordings` makes against them.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { wavHeader } from '../prompts';
import { INDEX_ONLY, type AppendItem, type EventBody, type RecordingSeal } from '../ledger';

/** What a recording file is now. */
export interface FileState {
  size: number;
  sha256: string;
  durationMs: number;
  /** Asterisk has finished writing it (WAV: its header holds the final sizes). Null: cannot tell from the file. */
  closed: boolean | null;
}

/** Bytes per second of the headerless formats MixMonitor writes. */
const RAW_RATE: Record<string, number> = { sln: 16000, gsm: 1650 };

/** The file's state, or null when it does not exist. */
export async function inspectRecording(path: string, format: string): Promise<FileState | null> {
  let size: number;
  try {
    size = (await fsp.stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const hash = createHash('sha256');
  let head = Buffer.alloc(0);
  for await (const chunk of createReadStream(path)) {
    const b = chunk as Buffer;
    if (head.length < 4096) head = Buffer.concat([head, b.subarray(0, 4096 - head.length)]);
    hash.update(b);
  }
  let durationMs = 0;
  let closed: boolean | null = null;
  const h = format === 'wav' || format === 'wav49' ? wavHeader(head) : null;
  if (h) {
    closed = h.riffSize === size - 8 && h.dataOffset + h.dataSize <= size;
    const data = closed ? h.dataSize : size - h.dataOffset;
    durationMs = h.byteRate > 0 ? Math.round((data / h.byteRate) * 1000) : 0;
  } else if (format === 'wav' || format === 'wav49') {
    closed = false; // no complete header yet
  } else {
    const rate = RAW_RATE[format];
    durationMs = rate ? Math.round((size / rate) * 1000) : 0;
  }
  return { size, sha256: hash.digest('hex'), durationMs, closed };
}

/** The path of a recording relative to recording.dir, or null when it is not inside it. */
export function relativeToDir(path: string, dir: string): string | null {
  const rel = relative(resolve(dir), resolve(path));
  if (rel === '' || rel.startsWith('..') || rel.split(sep).includes('..')) return null;
  return rel.split(sep).join('/');
}

/** The event id of a call's seal: one per call. */
export function sealEventId(uniqueId: string): string {
  return `seal:${uniqueId}`;
}

/** The ledger event sealing a call's recording; it is indexed under the call's record without changing it. */
export function sealEvent(uniqueId: string, enteredMs: number, seal: RecordingSeal, at: Date): AppendItem {
  const body: EventBody = { type: 'seal', at: at.toISOString(), uniqueId, ...seal };
  return {
    eventId: sealEventId(uniqueId),
    body: JSON.stringify(body),
    record: { uniqueId, json: '', stage: INDEX_ONLY, enteredMs, callerPseudonym: '', callerIndex: 'add' },
  };
}

/** The seal in a chain entry's body, or null when the entry is not a seal. */
export function sealOf(body: string): ({ uniqueId: string; at: string } & RecordingSeal) | null {
  let b: Record<string, unknown>;
  try {
    b = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (b.type !== 'seal' || typeof b.uniqueId !== 'string' || typeof b.sha256 !== 'string' || typeof b.file !== 'string') return null;
  return b as unknown as { uniqueId: string; at: string } & RecordingSeal;
}
