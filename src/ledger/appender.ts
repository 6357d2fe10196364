/**
 * Appends events to the chain, safely across instances: entries are hashed in Node from the head this
 * process believes current, and the store appends them only if that is still the head (compare and
 * append); on conflict the entries are recomputed on the new head and sent again.
 *
 * Within one process, events waiting together go in one batch, and up to `maxInflight` batches are
 * pipelined: batch N+1 is computed on the head batch N will leave and sent without waiting for N's
 * reply, so under load an event waits for one store round trip, not two. The store applies them in
 * order (one connection). When a batch does not apply (conflict with another writer, an event already
 * there, an error), the batches sent after it cannot apply either: nothing more is sent until every
 * batch in flight has answered, then the events not stored are sent again in their original order.
 */
import { buildEntries } from './chain';
import type { AppendItem, ChainHead, ChainStore, TrimRequest } from './types';

export class ChainConflictError extends Error {
  constructor(attempts: number) {
    super(`chain append still conflicting after ${attempts} attempts (another writer keeps moving the head)`);
    this.name = 'ChainConflictError';
  }
}

export interface AppendJob {
  readonly item: AppendItem;
  /** Resolves once the event is in the store (or was already there). */
  readonly done: Promise<void>;
  /** Drops the job if it has not been sent yet. Returns false if it is already in flight or done. */
  abandon(): boolean;
  /** When the job's batch was last handed to the store (`now()` of the appender), or null while queued. */
  readonly sentAt: number | null;
}

interface Job extends AppendJob {
  /** Submission order: the order events are appended in. */
  readonly order: number;
  sentAt: number | null;
  trim: TrimRequest | undefined;
  state: 'queued' | 'sent' | 'abandoned' | 'done';
  conflicts: number;
  resolve(): void;
  reject(e: unknown): void;
}

export interface AppenderOptions {
  /** Events per batch. */
  batchMax: number;
  /** Conflicts tolerated for one event before it fails. */
  maxConflicts: number;
  /** Batches sent without waiting for the replies of the ones before (1: no pipelining). */
  maxInflight?: number;
  /** Milliseconds clock for `sentAt` and `inflightSince()`. */
  now?: () => number;
}

interface Batch {
  jobs: Job[];
  sentAt: number;
}

export class ChainAppender {
  private queue: Job[] = [];
  private readonly inflight: Batch[] = [];
  private submitted = 0;
  /** The head after every batch sent so far, if they all apply; null: read it from the store. */
  private head: ChainHead | null = null;
  /** Set when a batch did not apply: send nothing until the batches in flight have answered. */
  private resync = false;
  /** A head read from the store is in progress. */
  private readingHead = false;

  constructor(
    private readonly store: ChainStore,
    private readonly opts: AppenderOptions = { batchMax: 512, maxConflicts: 100, maxInflight: 4 },
  ) {}

  submit(item: AppendItem, trim?: TrimRequest): AppendJob {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(() => undefined); // an abandoned job's failure is nobody's business
    const job: Job = {
      item,
      trim,
      done,
      order: this.submitted++,
      state: 'queued',
      sentAt: null,
      conflicts: 0,
      resolve: () => {
        job.state = 'done';
        resolve();
      },
      reject: (e) => {
        job.state = 'done';
        reject(e);
      },
      abandon: () => {
        if (job.state !== 'queued') return false;
        job.state = 'abandoned';
        return true;
      },
    };
    this.queue.push(job);
    this.pump();
    return job;
  }

  /** When the oldest batch now in flight was handed to the store, or null when nothing is in flight. */
  inflightSince(): number | null {
    return this.inflight[0]?.sentAt ?? null;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Sends what can be sent now. Never awaits: replies come back through settle(). */
  private pump(): void {
    this.queue = this.queue.filter((j) => j.state === 'queued');
    const maxInflight = Math.max(1, this.opts.maxInflight ?? 4);
    while (this.queue.length > 0 && !this.resync && !this.readingHead && this.inflight.length < maxInflight) {
      if (!this.head) {
        if (this.inflight.length > 0) return; // the head is known once those have answered
        this.readHead();
        return;
      }
      const first = this.queue[0] as Job;
      // A trimming append goes alone and only when nothing else is in flight; others are batched.
      if (first.trim && this.inflight.length > 0) return;
      const jobs = first.trim ? [first] : this.takeUntilTrim();
      this.queue = this.queue.slice(jobs.length);
      this.send(jobs, this.head);
    }
  }

  /** Leading queued jobs up to batchMax, stopping before a trimming one (which goes alone). */
  private takeUntilTrim(): Job[] {
    const out: Job[] = [];
    for (const j of this.queue) {
      if (j.trim || out.length >= this.opts.batchMax) break;
      out.push(j);
    }
    return out;
  }

  private readHead(): void {
    this.readingHead = true;
    this.store.head().then(
      (h) => {
        this.readingHead = false;
        this.head = h;
        this.pump();
      },
      (e: unknown) => {
        this.readingHead = false;
        // Without a head nothing queued can be sent: fail what is waiting now.
        const waiting = this.queue.filter((j) => j.state === 'queued');
        this.queue = [];
        for (const j of waiting) j.reject(e);
        this.pump();
      },
    );
  }

  private send(jobs: Job[], base: ChainHead): void {
    const entries = buildEntries(
      base,
      jobs.map((j) => j.item.body),
    );
    const last = entries[entries.length - 1];
    this.head = last ? { seq: last.seq, hash: last.hash } : base;
    const batch: Batch = { jobs, sentAt: this.now() };
    for (const j of jobs) {
      j.state = 'sent';
      j.sentAt = batch.sentAt;
    }
    this.inflight.push(batch);
    let reply: ReturnType<ChainStore['append']>;
    try {
      reply = this.store.append(
        base,
        entries,
        jobs.map((j) => j.item),
        jobs[0]?.trim,
      );
    } catch (e) {
      reply = Promise.reject(e);
    }
    reply.then(
      (r) => this.settle(batch, r.status === 'ok' ? { ok: true } : r.status === 'duplicate' ? { dup: new Set(r.eventIds) } : { conflict: r.head }),
      (e: unknown) => this.settle(batch, { error: e }),
    );
  }

  private settle(batch: Batch, r: { ok: true } | { dup: Set<string> } | { conflict: ChainHead } | { error: unknown }): void {
    this.inflight.splice(this.inflight.indexOf(batch), 1);
    if ('ok' in r) {
      for (const j of batch.jobs) j.resolve();
    } else if ('error' in r) {
      // Unknown whether it applied: fail these (the caller falls back), read the head again.
      for (const j of batch.jobs) j.reject(r.error);
      this.resync = true;
      this.head = null;
    } else {
      let again = batch.jobs;
      if ('dup' in r) {
        for (const j of batch.jobs) if (r.dup.has(j.item.eventId)) j.resolve();
        again = batch.jobs.filter((j) => !r.dup.has(j.item.eventId));
      } else {
        for (const j of again) j.conflicts++;
      }
      for (const j of again) {
        if (j.conflicts >= this.opts.maxConflicts) {
          j.reject(new ChainConflictError(j.conflicts));
        } else {
          j.state = 'queued';
          j.sentAt = null;
          this.queue.push(j);
        }
      }
      this.resync = true;
      // The store's head after a conflict; after a duplicate nothing was applied, so it is still this
      // batch's base, but batches sent before the duplicate answered may have moved it: read it again.
      this.head = 'conflict' in r ? r.conflict : null;
    }
    if (this.resync && this.inflight.length === 0) {
      // Every batch sent after the one that did not apply has answered (they were built on a head that
      // never existed): the last head reported is current. Send again in submission order.
      this.resync = false;
      this.queue.sort((a, b) => a.order - b.order);
    }
    this.pump();
  }
}
