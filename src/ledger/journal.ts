/**
 * The local append-only journal: where a record goes when Redis does not take it in time. One JSON object
 * per line; every write is fsync'd before it is acknowledged (writes that arrive together share one
 * fsync). Replayed entries are acknowledged by an `ack` line; when nothing is pending the file is
 * compacted.
 *
 * Lines:
 *   {"t":"w","id":<event id>,"kind":"decision"|"outcome"|"withdrawal"|"pause"|"resume","at":<ISO time>,"record":{…}}
 *   (the record as its stored JSON, record-fields.ts)
 *   {"t":"a","id":<event id>}
 *
 * One process owns a journal at a time (a `<path>.lock` file holding its pid); give each app instance
 * its own journal path.
 */
import { constants, promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { temporaryNameFor } from '../files/output-file';
import type { ConsentRecord } from '../ports/ledger';
import { Mutex } from './mutex';
import { fromStored, toStored } from './record-fields';
import type { StoredRecord } from './types';

export type JournalKind = 'decision' | 'outcome' | 'withdrawal' | 'pause' | 'resume';
const KINDS: readonly string[] = ['decision', 'outcome', 'withdrawal', 'pause', 'resume'];

export interface JournalEntry {
  id: string;
  kind: JournalKind;
  at: string;
  record: ConsentRecord;
}

export interface JournalWarning {
  line: number;
  problem: string;
}

export class JournalLockedError extends Error {
  constructor(path: string, pid: number) {
    super(`journal ${path} is in use by process ${pid}; give each instance its own ledger.journalPath`);
    this.name = 'JournalLockedError';
  }
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === 'EPERM';
  }
}

async function takeLock(lockPath: string, journalPath: string): Promise<void> {
  for (let i = 0; i < 2; i++) {
    try {
      const fh = await fsp.open(lockPath, 'wx', 0o600);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      return;
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw e;
      const pid = Number.parseInt((await fsp.readFile(lockPath, 'utf8').catch(() => '')).trim(), 10);
      if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) throw new JournalLockedError(journalPath, pid);
      await fsp.rm(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`journal ${journalPath}: cannot take the lock ${lockPath}`);
}

/** The consent record of a journal line (it was never stored, so it has no erasure time). */
function consentRecord(json: Readonly<Record<string, unknown>>): ConsentRecord {
  const r: Partial<StoredRecord> = fromStored(json);
  delete r.erasedAt;
  return r as ConsentRecord;
}

function parseLine(line: string): { t: 'w'; entry: JournalEntry } | { t: 'a'; id: string } | null {
  const v = JSON.parse(line) as Record<string, unknown>;
  if (v.t === 'a' && typeof v.id === 'string') return { t: 'a', id: v.id };
  if (
    v.t === 'w' &&
    typeof v.id === 'string' &&
    typeof v.kind === 'string' &&
    KINDS.includes(v.kind) &&
    typeof v.at === 'string' &&
    v.record !== null &&
    typeof v.record === 'object'
  ) {
    return { t: 'w', entry: { id: v.id, kind: v.kind as JournalKind, at: v.at, record: consentRecord(v.record as Record<string, unknown>) } };
  }
  return null;
}

/** What the durable ledger needs of a journal. */
export interface JournalPort {
  append(entry: JournalEntry): Promise<void>;
  ack(ids: string[]): Promise<void>;
  pending(): JournalEntry[];
  backlog(): number;
  compact(): Promise<void>;
}

export class Journal implements JournalPort {
  private readonly pendingById = new Map<string, JournalEntry>();
  private readonly mutex = new Mutex();
  private queue: { line: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing = false;
  /** After a failed write the file may end in a torn line: start the next write on a new line. */
  private needsNewline = false;
  private closed = false;
  private linesInFile = 0;

  private constructor(
    readonly path: string,
    private fh: fsp.FileHandle,
    readonly warnings: JournalWarning[],
  ) {}

  /** Opens (creating it if needed) and reads the journal; takes its lock. */
  static async open(path: string): Promise<Journal> {
    const dir = dirname(path);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await takeLock(`${path}.lock`, path);
    try {
      const warnings: JournalWarning[] = [];
      const entries = new Map<string, JournalEntry>();
      let lines = 0;
      let endsTorn = false;
      let text = '';
      try {
        text = await fsp.readFile(path, 'utf8');
      } catch (e) {
        if (errno(e) !== 'ENOENT') throw e;
      }
      const parts = text.split('\n');
      parts.forEach((line, i) => {
        if (line.trim() === '') return;
        lines += 1;
        const isLast = i === parts.length - 1; // no newline after it: a write cut short
        try {
          const p = parseLine(line);
          if (!p) warnings.push({ line: i + 1, problem: 'not a journal entry; skipped' });
          else if (p.t === 'w') entries.set(p.entry.id, p.entry);
          else entries.delete(p.id);
        } catch {
          if (isLast) endsTorn = true;
          warnings.push({ line: i + 1, problem: isLast ? 'incomplete last line (interrupted write); skipped' : 'not valid JSON; skipped' });
        }
      });
      const created = text === '';
      const fh = await fsp.open(path, 'a', 0o600);
      if (created) await fsyncDir(dir);
      const j = new Journal(path, fh, warnings);
      for (const [id, e] of entries) j.pendingById.set(id, e);
      j.linesInFile = lines;
      j.needsNewline = endsTorn || (text !== '' && !text.endsWith('\n'));
      return j;
    } catch (e) {
      await fsp.rm(`${path}.lock`, { force: true });
      throw e;
    }
  }

  /** Entries written and not yet acknowledged, oldest first. */
  pending(): JournalEntry[] {
    return [...this.pendingById.values()];
  }

  backlog(): number {
    return this.pendingById.size;
  }

  /** Appends an entry; resolves once it is on disk (fsync). */
  async append(entry: JournalEntry): Promise<void> {
    // Pending before the write, so a compaction running meanwhile keeps it (a line written twice is read once).
    const known = this.pendingById.has(entry.id);
    this.pendingById.set(entry.id, entry);
    try {
      await this.write(JSON.stringify({ t: 'w', id: entry.id, kind: entry.kind, at: entry.at, record: toStored(entry.record) }));
    } catch (e) {
      if (!known) this.pendingById.delete(entry.id);
      throw e;
    }
  }

  /** Marks entries as replayed. */
  async ack(ids: string[]): Promise<void> {
    const known = ids.filter((id) => this.pendingById.has(id));
    if (known.length === 0) return;
    await this.write(known.map((id) => JSON.stringify({ t: 'a', id })).join('\n'));
    for (const id of known) this.pendingById.delete(id);
  }

  /** Rewrites the file with only the pending entries (atomically: temp file, fsync, rename). */
  async compact(): Promise<void> {
    await this.mutex.run(async () => {
      if (this.closed) return;
      const pending = this.pending();
      if (this.linesInFile === pending.length && !this.needsNewline) return;
      // A new file of a random name (O_EXCL): never one prepared at a predictable name, a symlink included.
      const tmp = temporaryNameFor(this.path);
      const body = pending.map((e) => `${JSON.stringify({ t: 'w', id: e.id, kind: e.kind, at: e.at, record: toStored(e.record) })}\n`).join('');
      const out = await fsp.open(tmp, 'wx', 0o600);
      try {
        await out.writeFile(body);
        await out.sync();
      } finally {
        await out.close();
      }
      await fsp.rename(tmp, this.path);
      await fsyncDir(dirname(this.path));
      await this.fh.close();
      this.fh = await fsp.open(this.path, 'a', 0o600);
      this.linesInFile = pending.length;
      this.needsNewline = false;
    });
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.fh.close();
      await fsp.rm(`${this.path}.lock`, { force: true });
    });
  }

  private write(line: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`journal ${this.path} is closed`));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        void this.mutex.run(() => this.flush());
      }
    });
  }

  /** Writes everything queued with one write and one fsync per round (group commit). */
  private async flush(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        this.flushing = false; // in the same tick as the empty check, so no write is left behind
        return;
      }
      const batch = this.queue;
      this.queue = [];
      try {
        if (this.closed) throw new Error(`journal ${this.path} is closed`);
        const text = (this.needsNewline ? '\n' : '') + batch.map((b) => `${b.line}\n`).join('');
        await this.fh.appendFile(text);
        await this.fh.datasync();
        this.needsNewline = false;
        this.linesInFile += batch.reduce((n, b) => n + b.line.split('\n').length, 0);
        for (const b of batch) b.resolve();
      } catch (e) {
        this.needsNewline = true;
        for (const b of batch) b.reject(e);
      }
    }
  }
}
