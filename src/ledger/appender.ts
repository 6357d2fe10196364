/**
 * Appends events to the chain, safely across instances: entries are hashed in Node from the head this
 * process believes current, and the store appends them only if that is still the head (compare and
 * append); on conflict the entries are recomputed on the new head and sent again. Within one process
 * appends are serialised, and events waiting together go in one batch.
 */
import { systemClock, type Clock } from '../ports/clock';
import { entryHash } from './chain';
import { Frontier, leafHash } from './merkle';
import type { AppendItem, CallHead, ChainEntry, ChainHead, ChainStore, LogHead, TrimRequest } from './types';

/** The Merkle leaf of a chain entry: its hash (which covers seq, prev and body). */
export function entryLeaf(e: { hash: string }): Buffer {
  return leafHash(Buffer.from(e.hash, 'hex'));
}

/** The log's compact range after `entries`, from the one before them (null: the log has no tree). */
export function extendTree(tree: string | null, entries: readonly ChainEntry[]): string | null {
  if (tree === null) return null;
  const f = Frontier.parse(tree);
  for (const e of entries) f.append(entryLeaf(e));
  return f.toString();
}

/**
 * The entries for `items` after `head`. An item about a call gets `callPrev`: the call's previous
 * entry (from `calls`, or an earlier item of the same batch), or null for the call's first entry.
 */
export function linkEntries(head: ChainHead, items: readonly AppendItem[], calls: ReadonlyMap<string, ChainHead | null>): ChainEntry[] {
  const last = new Map(calls);
  const out: ChainEntry[] = [];
  let prev = head;
  for (const item of items) {
    let body = item.body;
    const call = item.record?.uniqueId;
    if (call !== undefined) {
      const p = last.get(call) ?? null;
      body = JSON.stringify({ ...(JSON.parse(item.body) as object), callPrev: p ? { seq: p.seq, hash: p.hash } : null });
    }
    const seq = prev.seq + 1;
    const hash = entryHash(seq, prev.hash, body);
    out.push({ seq, prev: prev.hash, hash, body });
    prev = { seq, hash };
    if (call !== undefined) last.set(call, prev);
  }
  return out;
}

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
  /** When the job's batch was handed to the store (ms, on the appender's clock), or null while queued. */
  readonly sentAt: number | null;
  /** The seq of the job's entry once done; null before, or when the event had been applied already. */
  readonly seq: number | null;
}

interface Job extends AppendJob {
  sentAt: number | null;
  seq: number | null;
  trim: TrimRequest | undefined;
  state: 'queued' | 'sent' | 'abandoned';
  resolve(): void;
  reject(e: unknown): void;
}

export interface AppenderOptions {
  /** Events per batch. */
  batchMax: number;
  /** Conflicts tolerated for one batch before it fails. */
  maxConflicts: number;
  /** The clock of `sentAt` and `inflightSince()`. */
  clock: Clock;
  /** Called on each conflict (another writer moved the head): a metric, to show logs are not shared. */
  onConflict?: () => void;
  /**
   * Called when the log in the store is shorter than what this appender last wrote to it: the store
   * lost entries (a flush, a restart without persistence, a rollback). Appends go on from the store's head.
   */
  onRegression?: (from: number, to: number) => void;
}

const DEFAULTS: AppenderOptions = { batchMax: 512, maxConflicts: 100, clock: systemClock };

/** Calls whose last entry this appender remembers (it wrote it): the most recent ones. */
const KNOWN_CALLS = 20_000;

export class ChainAppender {
  private queue: Job[] = [];
  private running: Promise<void> | null = null;
  private head: LogHead | null = null;
  /**
   * The last entry of the calls this appender wrote about, as their records keep it: the next entry
   * about such a call is sent without reading the record first. Only a hint: the store compares each
   * record's `last` before it writes, and a call another writer moved is refused, forgotten and read.
   */
  private readonly known = new Map<string, CallHead>();
  /** Conflicts met so far (another writer had moved the head). */
  conflicts = 0;
  /** When the batch in flight was sent; null when none is. */
  private inflightAt: number | null = null;
  private readonly opts: AppenderOptions;

  constructor(
    private readonly store: ChainStore,
    opts: Partial<AppenderOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

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
      state: 'queued',
      sentAt: null,
      seq: null,
      resolve,
      reject,
      abandon: () => {
        if (job.state !== 'queued') return false;
        job.state = 'abandoned';
        return true;
      },
    };
    this.queue.push(job);
    if (!this.running) this.running = this.pump();
    return job;
  }

  /** When the batch now in flight was handed to the store, or null when nothing is in flight. */
  inflightSince(): number | null {
    return this.inflightAt;
  }

  private async pump(): Promise<void> {
    for (;;) {
      this.queue = this.queue.filter((j) => j.state === 'queued');
      const first = this.queue[0];
      if (!first) {
        this.running = null; // same tick as the empty check: a later submit starts a new pump
        return;
      }
      // A trimming append goes alone; others are batched.
      const batch = first.trim ? [first] : this.queue.filter((j) => !j.trim).slice(0, this.opts.batchMax);
      const taken = new Set(batch);
      this.queue = this.queue.filter((j) => !taken.has(j));
      const sentAt = this.opts.clock.now().getTime();
      this.inflightAt = sentAt;
      for (const j of batch) {
        j.state = 'sent';
        j.sentAt = sentAt;
      }
      try {
        const seqs = await this.appendBatch(
          batch.map((j) => j.item),
          first.trim,
        );
        for (const j of batch) {
          j.seq = seqs.get(j.item) ?? null;
          j.resolve();
        }
      } catch (e) {
        this.head = null; // unknown after a failure: read it again next time
        for (const j of batch) j.reject(e);
      } finally {
        this.inflightAt = null;
      }
    }
  }

  /** Appends the items (those not applied already); resolves with the seq of each one's entry. */
  private async appendBatch(all: AppendItem[], trim: TrimRequest | undefined): Promise<Map<AppendItem, number>> {
    let items = all;
    for (let attempt = 0; items.length > 0; attempt++) {
      const head = this.head ?? (await this.store.head());
      // An empty log (new, or emptied by a loss) says so in the ledger's list of logs.
      if (head.seq === 0) await this.store.registerSelf();
      const calls = await this.callHeadsOf(items);
      const entries = linkEntries(head, items, new Map(calls.map((c) => [c.uniqueId, c.prev])));
      const tree = extendTree(head.tree, entries);
      const r = await this.store.append(head, entries, items, tree, trim, calls).catch((e: unknown) => {
        this.forget(items); // unknown whether it was applied
        throw e;
      });
      if (r.status === 'ok') {
        this.remember(items, entries);
        const last = entries[entries.length - 1];
        this.head = last ? { seq: last.seq, hash: last.hash, tree } : head;
        return new Map(items.map((item, i) => [item, (entries[i] as ChainEntry).seq]));
      }
      if (r.status === 'duplicate') {
        const dup = new Set(r.eventIds);
        items = items.filter((i) => !dup.has(i.eventId));
        this.head = head;
      } else {
        // A head this appender remembered or assumed, refused: read it (not another writer's doing, as far as is known).
        const hint = r.status === 'call-conflict' && this.hinted.has(r.uniqueId);
        if (r.status === 'call-conflict') {
          this.known.delete(r.uniqueId);
          this.read.add(r.uniqueId);
        }
        if (r.status === 'conflict') {
          if (this.head !== null && r.head.seq < this.head.seq) this.opts.onRegression?.(this.head.seq, r.head.seq);
          this.head = r.head;
        } else this.head = head;
        if (!hint) {
          this.conflicts += 1;
          this.opts.onConflict?.();
        }
        if (attempt + 1 >= this.opts.maxConflicts) throw new ChainConflictError(attempt + 1);
      }
    }
    return new Map();
  }

  /** Calls the store refused a remembered or assumed head for: read from the store next time. */
  private readonly read = new Set<string>();
  /** Calls of the batch being sent whose heads were remembered or assumed, not read. */
  private hinted = new Set<string>();

  /**
   * The heads of the calls of `items`: remembered, assumed empty for a call's first entry, or read
   * from the store (one round trip, only when some call is neither).
   */
  private async callHeadsOf(items: readonly AppendItem[]): Promise<CallHead[]> {
    const heads = new Map<string, CallHead>();
    const unknown: string[] = [];
    this.hinted = new Set();
    for (const { record } of items) {
      if (!record || heads.has(record.uniqueId) || unknown.includes(record.uniqueId)) continue;
      const id = record.uniqueId;
      const known = this.read.has(id) ? undefined : this.known.get(id);
      if (known) heads.set(id, known);
      else if (record.first && !this.read.has(id)) heads.set(id, { uniqueId: id, prev: null, stored: '' });
      else {
        unknown.push(id);
        continue;
      }
      this.hinted.add(id);
    }
    if (unknown.length > 0) {
      for (const h of await this.store.callHeads(unknown)) heads.set(h.uniqueId, h);
      for (const id of unknown) this.read.delete(id);
    }
    return [...heads.values()];
  }

  /** Remembers each call's last entry among those just appended. */
  private remember(items: readonly AppendItem[], entries: readonly ChainEntry[]): void {
    items.forEach((item, i) => {
      const id = item.record?.uniqueId;
      const e = entries[i];
      if (id === undefined || !e) return;
      this.known.delete(id); // re-inserted last: the Map's order is the eviction order
      this.known.set(id, { uniqueId: id, prev: { seq: e.seq, hash: e.hash }, stored: `${e.seq}:${e.hash}` });
    });
    for (const id of this.known.keys()) {
      if (this.known.size <= KNOWN_CALLS) break;
      this.known.delete(id);
    }
  }

  private forget(items: readonly AppendItem[]): void {
    for (const { record } of items) if (record) this.known.delete(record.uniqueId);
  }
}
