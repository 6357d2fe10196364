/** Deleting recording files: only inside recording.dir, whatever a record says. */
import { promises as fsp } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import type { RecordingFiles } from '../ports/midcall';

function errText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code ?? (e instanceof Error ? e.message : String(e));
}

export type RemoveResult = { ok: true; deleted: boolean } | { ok: false; error: string };

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Deletes a recording: its file as Asterisk wrote it and its encrypted copy (`<file>.age`), whichever
 * exist; deleted when either was there. The same rules for both (see removeFile).
 */
export async function removeRecording(path: string, recordingDir: string): Promise<RemoveResult> {
  const plain = await removeFile(path, recordingDir);
  if (!plain.ok) return plain;
  const encrypted = await removeFile(`${path}.age`, recordingDir);
  if (!encrypted.ok) return encrypted;
  return { ok: true, deleted: plain.deleted || encrypted.deleted };
}

/**
 * Deletes a file. A missing file is fine; a path outside the recording directory (after
 * resolving symbolic links of its folder) is refused, so a tampered record cannot delete other files.
 */
async function removeFile(path: string, recordingDir: string): Promise<RemoveResult> {
  const root = await fsp.realpath(resolve(recordingDir)).catch(() => resolve(recordingDir));
  const target = resolve(path);
  let folder: string;
  try {
    folder = await fsp.realpath(dirname(target));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, deleted: false };
    return { ok: false, error: errText(e) };
  }
  const real = resolve(folder, target.slice(dirname(target).length + 1));
  if (!within(real, root)) return { ok: false, error: `outside recording.dir (${recordingDir}); not deleted` };
  try {
    await fsp.unlink(real);
    return { ok: true, deleted: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, deleted: false };
    return { ok: false, error: errText(e) };
  }
}

/** Recording files as the service removes them: only under recording.dir. */
export function recordingFiles(dir: string): RecordingFiles {
  return {
    remove: async (path: string) => {
      const r = await removeRecording(path, dir);
      if (!r.ok) throw new Error(r.error);
      return r.deleted ? 'removed' : 'missing';
    },
  };
}
