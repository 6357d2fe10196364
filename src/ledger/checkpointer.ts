/**
 * Signs checkpoints of one log: its size and Merkle root, as a C2SP signed note (checkpoint.ts), kept
 * with the log in Redis and appended to a local file.
 *
 * The checkpointer signs only what it checked itself: from its last checkpoint (whose compact range must
 * give the root that checkpoint signed) it reads the entries added since, checks that they extend the
 * chain (seq, prev link, hash) and computes the new root. A log that was rewritten below the last
 * checkpoint is not signed again: it is reported, and `ledger verify` names the break.
 */
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../logging/logger';
import { safe } from '../logging/logger';
import { Periodic, type Clock } from '../ports/clock';
import type { ServiceObserver } from '../ports/observer';
import { entryLeaf } from './appender';
import { entryHash, GENESIS } from './chain';
import { formatCheckpoint, openNote, parseCheckpoint, signNote, verifierOf, type SignerKey, type VerifierKey } from './checkpoint';
import { Frontier } from './merkle';
import type { CheckpointStore, StoredCheckpoint } from './types';

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

/** One line of the local checkpoint file. */
export interface CheckpointLine {
  at: string;
  log: string;
  size: number;
  note: string;
}

export interface CheckpointerOptions {
  intervalMs: number;
  /** Local file every checkpoint is appended to (JSON Lines). */
  file: string;
  clock: Clock;
  logger: Logger;
  /** Keys whose earlier checkpoints are accepted as a starting point (after a rotation). */
  trusted?: VerifierKey[];
  /** Entries read per round trip. */
  chunk?: number;
  /** Told of each checkpoint and the time it took. */
  observer?: Pick<ServiceObserver, 'checkpointSigned'>;
}

interface Base {
  size: number;
  tree: Frontier;
  /** Hash of entry `size` (the genesis for an empty log). */
  lastHash: string;
  /** A checkpoint of this size is already stored. */
  signed: boolean;
}

export type SignResult =
  | { status: 'signed'; size: number; note: string }
  | { status: 'unchanged'; size: number }
  | { status: 'skipped'; reason: string };

export class Checkpointer {
  private base: Base | null = null;
  private readonly runs: Periodic<SignResult>;
  private readonly keys: VerifierKey[];

  constructor(
    private readonly store: CheckpointStore,
    private readonly signer: SignerKey,
    private readonly opts: CheckpointerOptions,
  ) {
    this.keys = [verifierOf(signer), ...(opts.trusted ?? [])];
    this.runs = new Periodic(opts.clock, opts.intervalMs, () =>
      this.sign().catch((e: Error): SignResult => {
        this.base = null; // read again from the store next time
        this.opts.logger.warn('checkpoint not signed; will try again', { error: safe(e.message) });
        return { status: 'skipped', reason: e.message };
      }),
    );
  }

  start(): void {
    this.runs.start();
  }

  /** Signs a last checkpoint (bounded by the caller) and stops. */
  async stop(): Promise<SignResult> {
    await this.runs.stop();
    return this.signNow();
  }

  /** Signs a checkpoint now if entries were added since the last one. Concurrent calls share one run. */
  signNow(): Promise<SignResult> {
    return this.runs.runNow();
  }

  private async sign(): Promise<SignResult> {
    if (!this.store.isReady()) return { status: 'skipped', reason: 'Redis is not connected' };
    const started = Date.now();
    // A log begun before Merkle trees keeps no tree in Redis; its tree is computed from its entries
    // here all the same (unless its start was purged before trees: startOfLog refuses then).
    const head = await this.store.head();
    const base = this.base ?? (await this.loadBase());
    if (head.seq === base.size && base.signed) {
      this.base = base;
      return { status: 'unchanged', size: base.size };
    }
    const next = await this.extend(base, head.seq);
    const stored = head.tree === null ? null : Frontier.parse(head.tree);
    if (stored && stored.size === next.size && !stored.root().equals(next.tree.root())) {
      this.opts.logger.warn("checkpoint: the log's tree state in Redis differs from its entries; signing the tree computed from the entries", { log: safe(this.store.log) });
    }
    const text = formatCheckpoint({ origin: originOf(this.store.log), size: next.size, root: next.tree.root(), extensions: [] });
    const note = signNote(text, this.signer);
    await this.store.addCheckpoint(next.size, note, next.tree.toString());
    const line: CheckpointLine = { at: this.opts.clock.now().toISOString(), log: this.store.log, size: next.size, note };
    await fsp.mkdir(dirname(this.opts.file), { recursive: true });
    await fsp.appendFile(this.opts.file, `${JSON.stringify(line)}\n`, { mode: 0o640 });
    const covered = next.size - base.size;
    this.base = { ...next, signed: true };
    this.opts.observer?.checkpointSigned?.(Date.now() - started);
    this.opts.logger.debug('checkpoint signed', { log: safe(this.store.log), size: next.size, newEntries: covered });
    return { status: 'signed', size: next.size, note };
  }

  /**
   * Where to continue from: the last checkpoint in the store if it opens with our keys and its compact
   * range gives the root it signed; otherwise the start of the log (its anchor's compact range).
   */
  private async loadBase(): Promise<Base> {
    const last = await this.store.latestCheckpoint();
    const tree = last ? this.usable(last) : null;
    if (tree) {
      if (tree.size === 0) return { size: 0, tree, lastHash: GENESIS, signed: true };
      const lastHash = await this.lastEntryOf(tree);
      if (lastHash !== null) return { size: tree.size, tree, lastHash, signed: true };
      throw new Error(`the log's entries up to ${tree.size} are not the ones its last checkpoint signed: not signing; run consent-ivr ledger verify`);
    }
    return this.startOfLog();
  }

  /**
   * The hash of the checkpoint's last entry, read from the log and proven to be the one signed: the
   * entries of the tree's last (smallest) subtree must give that subtree's hash. Null when they do not.
   */
  private async lastEntryOf(tree: Frontier): Promise<string | null> {
    const piece = tree.pieces()[tree.pieces().length - 1];
    if (!piece) return null;
    const entries = (await this.store.entriesAfter(piece.lo, piece.hi - piece.lo)).filter((e) => e.seq <= piece.hi);
    const first = entries[0];
    if (first && first.seq > piece.lo + 1) {
      // The start of that subtree was purged since (a long-idle log): only the last entry can be read.
      const tail = entries[entries.length - 1];
      if (!tail || tail.seq !== piece.hi || entryHash(tail.seq, tail.prev, tail.body) !== tail.hash) return null;
      this.opts.logger.warn('checkpoint: the entries the last checkpoint ends with were partly purged; continuing from its last entry as stored', { log: safe(this.store.log) });
      return tail.hash;
    }
    if (entries.length !== piece.hi - piece.lo) return null;
    const sub = new Frontier();
    let prev: string | null = null;
    for (const [i, e] of entries.entries()) {
      if (e.seq !== piece.lo + i + 1 || (prev !== null && e.prev !== prev) || entryHash(e.seq, e.prev, e.body) !== e.hash) return null;
      sub.append(entryLeaf(e));
      prev = e.hash;
    }
    return sub.root().equals(piece.hash) ? prev : null;
  }

  private usable(cp: StoredCheckpoint): Frontier | null {
    try {
      const { text } = openNote(cp.note, this.keys);
      const c = parseCheckpoint(text);
      const tree = Frontier.parse(cp.tree);
      if (c.origin === originOf(this.store.log) && c.size === tree.size && tree.root().equals(c.root)) return tree;
      this.opts.logger.warn('checkpoint: the last checkpoint does not match its stored tree; starting over from the log', { log: safe(this.store.log) });
    } catch (e) {
      this.opts.logger.warn('checkpoint: the last checkpoint does not open with the configured keys; starting over from the log', {
        log: safe(this.store.log),
        error: safe((e as Error).message),
      });
    }
    return null;
  }

  /** The log's start: empty, or the anchor left by a purge with its compact range. */
  private async startOfLog(): Promise<Base> {
    const first = await this.store.entriesAfter(0, 1);
    const e = first[0];
    if (!e || e.seq === 1) return { size: 0, tree: new Frontier(), lastHash: GENESIS, signed: false };
    throw new Error(`the log starts at seq ${e.seq} (trimmed) and has no valid checkpoint to continue from; run consent-ivr ledger verify`);
  }

  /** Reads and checks the entries after `base` up to `to`, and returns the base they lead to. */
  private async extend(base: Base, to: number): Promise<Base> {
    const chunk = this.opts.chunk ?? 1000;
    const tree = base.tree.clone();
    let last = base.lastHash;
    let seq = base.size;
    while (seq < to) {
      const entries = await this.store.entriesAfter(seq, Math.min(chunk, to - seq));
      if (entries.length === 0) throw new Error(`entries after seq ${seq} are missing (the log ends before its head ${to})`);
      for (const e of entries) {
        if (e.seq !== seq + 1 || e.prev !== last || entryHash(e.seq, e.prev, e.body) !== e.hash) {
          throw new Error(`entry seq ${e.seq} does not extend seq ${seq} as last checkpointed: not signing; run consent-ivr ledger verify`);
        }
        tree.append(entryLeaf(e));
        last = e.hash;
        seq = e.seq;
        if (seq >= to) break;
      }
    }
    return { size: seq, tree, lastHash: last, signed: false };
  }
}
