/**
 * The access folder: written whole or not at all, readable by its owner only. It is built in a new
 * folder next to the one asked for (hidden, random name, mode 0700), each file written atomically
 * (files/output-file.ts) with mode 0600, and renamed to the name asked for once complete. The name
 * asked for must not exist, or be an empty folder: a folder that holds anything is refused, so that
 * nothing of one person's data is ever mixed with other files (another person's, say).
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { temporaryNameFor, writeOutputFile } from '../files/output-file';
import { AdminUsageError } from '../ledger';

export const FOLDER_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Why `dir` cannot take the access folder, or null when it can (absent, or an empty folder). */
export function folderProblem(dir: string): string | null {
  let st;
  try {
    // resolve() drops a trailing '/', which would make lstat follow a symbolic link.
    st = lstatSync(resolve(dir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return `${dir}: ${(e as Error).message}`;
    const parent = dirname(resolve(dir));
    if (!existsSync(parent) || !statSync(parent).isDirectory()) return `${dir}: the folder it would be in (${parent}) does not exist`;
    return null;
  }
  if (st.isSymbolicLink()) return `${dir} is a symbolic link: give the folder itself, new or empty`;
  if (!st.isDirectory()) return `${dir} exists and is not a folder: give a new or empty folder`;
  if (readdirSync(dir).length > 0) return `${dir} exists and is not empty: give a new or empty folder (one person's data is never written among other files)`;
  return null;
}

/** A folder being written: files go to its temporary name until `commit`. */
export class AccessFolder {
  private readonly written: string[] = [];
  private done = false;

  private constructor(
    readonly target: string,
    readonly temp: string,
  ) {}

  /** Checks the target (AdminUsageError when it cannot take the folder) and creates the temporary folder. */
  static open(target: string): AccessFolder {
    const problem = folderProblem(target);
    if (problem) throw new AdminUsageError(`--out: ${problem}`);
    const abs = resolve(target);
    const temp = temporaryNameFor(abs);
    mkdirSync(temp, { mode: FOLDER_MODE });
    chmodSync(temp, FOLDER_MODE); // whatever the umask
    return new AccessFolder(abs, temp);
  }

  /** The files written so far, relative to the folder, in the order written. */
  get files(): readonly string[] {
    return this.written;
  }

  /** The path of `rel` in the temporary folder, its sub-folders made (0700). */
  pathOf(rel: string): string {
    const parts = rel.split('/');
    let dir = this.temp;
    for (const p of parts.slice(0, -1)) {
      dir = join(dir, p);
      if (!existsSync(dir)) {
        mkdirSync(dir, { mode: FOLDER_MODE });
        chmodSync(dir, FOLDER_MODE);
      }
    }
    return join(dir, parts[parts.length - 1] as string);
  }

  /** Writes a file (atomically, 0600). */
  write(rel: string, data: string | Uint8Array): void {
    writeOutputFile(this.pathOf(rel), data, FILE_MODE);
    chmodSync(this.pathOf(rel), FILE_MODE);
    this.written.push(rel);
  }

  /** Takes in a file another part wrote at pathOf(rel) (a recording's copy): 0600, listed. False when it is not there. */
  adopt(rel: string): boolean {
    const path = this.pathOf(rel);
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return false;
    }
    if (!st.isFile()) {
      rmSync(path, { recursive: true, force: true });
      return false;
    }
    chmodSync(path, FILE_MODE);
    this.written.push(rel);
    return true;
  }

  /** Removes a file (or what was left at its name), and its line in the list. */
  remove(rel: string): void {
    rmSync(this.pathOf(rel), { recursive: true, force: true });
    const i = this.written.indexOf(rel);
    if (i >= 0) this.written.splice(i, 1);
  }

  /** Gives the folder its name. Refused when the target was taken meanwhile (the temporary folder is removed). */
  commit(): void {
    const problem = folderProblem(this.target);
    if (problem) {
      this.discard();
      throw new Error(`--out: ${problem} (it was taken while the folder was written; nothing was written there)`);
    }
    // rename(2) replaces an empty folder, never one that holds anything.
    renameSync(this.temp, this.target);
    this.done = true;
  }

  /** Removes the temporary folder and what it holds. */
  discard(): void {
    if (this.done) return;
    rmSync(this.temp, { recursive: true, force: true });
    this.done = true;
  }
}
