/**
 * Output files (`ledger … --out`, `report --out`): written whole or not at all, and never through a
 * name someone else could have prepared. The data goes to a new file with a random name in the same
 * folder, created with O_EXCL (a symlink, or any file, already there makes it fail instead of being
 * followed), fsync'd, then renamed over the target (rename replaces a symlink at the target, it never
 * writes through it) and the folder fsync'd.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The temporary name next to `path`: hidden, random, never reused. */
export function temporaryNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(12).toString('hex')}.tmp`);
}

/** Writes `data` to `path` atomically (see above); `mode` before the umask. */
export function writeOutputFile(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = temporaryNameFor(path);
  // 'wx': O_CREAT | O_EXCL — fails on anything already at that name, a symlink included.
  const fd = openSync(tmp, 'wx', mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw e;
  }
  syncFolder(dirname(path));
}

/** Makes the rename durable. Some file systems refuse to fsync a folder: the file itself is on disk. */
function syncFolder(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // not supported here
  } finally {
    closeSync(fd);
  }
}
