/**
 * Signs checkpoints of one log: its size and Merkle root, as a C2SP signed note (checkpoint.ts), kept
 * with the log in Redis and appended to the host's checkpoint file.
 *
 * What was signed before is taken from the host's file, not from Redis: anyone who can write to Redis
 * can delete the checkpoints kept there, and must not thereby get a rewritten log signed. When it
 * (re)starts, the checkpointer walks the log from its start (or its purge anchor) and checks that it
 * gives the root of the last checkpoint in the file (and of the last one in Redis that opens with our
 * keys): the log must be a consistent extension of what was signed. Then it extends the tree it
 * computed itself with each entry added since, checking seq, prev link and hash, and that the last
 * entry it signed is still there. Otherwise it refuses — loudly, every interval until the log is
 * consistent again — while calls go on being decided and stored.
 */
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../observability/logger';
import { safe } from '../observability/logger';
import { Periodic, type Clock } from '../ports/clock';
import type { ServiceObserver } from '../ports/observer';
import { entryLeaf, entryHash, GENESIS, Frontier } from '../ledger';
import { formatCheckpoint, openNote, parseCheckpoint, signNote, verifierOf, type SignerKey, type VerifierKey } from './checkpoint';
import { lastTrustedCheckpoint, lossExtension, originOf, type CheckpointLine, type TrustedCheckpoint } from './checkpoint-file';
import type { CheckpointStore } from '../ledger';

export { logOfOrigin, originOf, type CheckpointLine } from './checkpoint-file';

export interface CheckpointerOptions {
  intervalMs: number;
  /** The host's checkpoint file (JSON Lines): read as the truth of what was signed, appended to. */
  file: string;
  clock: Clock;
  logger: Logger;
  /** Keys whose earlier checkpoints are accepted as a starting point (after a rotation). */
  trusted?: VerifierKey[];
  /** Entries read per round trip. */
  chunk?: number;
  /** Told of each checkpoint and the time it took, and of each refusal. */
  observer?: Pick<ServiceObserver, 'checkpointSigned' | 'checkpointRefused'>;
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
  | { status: 'skipped'; reason: string }
  | { status: 'refused'; reason: string };

/** The log is not a consistent extension of what was signed: not signing it. */
export class CheckpointRefusal extends Error {
  constructor(
    readonly log: string,
    /** Entries signed before (the host's file, or Redis). */
    readonly signedSize: number,
    /** Entries the log in Redis has now (its head's seq). */
    readonly logSize: number,
    message: string,
  ) {
    super(message);
    this.name = 'CheckpointRefusal';
  }
}

/** Where the checkpointer stands, for readiness and doctor. */
export type CheckpointerHealth = { state: 'ok' } | { state: 'refused'; since: string; reason: string; signedSize: number; logSize: number };

export class Checkpointer {
  private base: Base | null = null;
  private readonly runs: Periodic<SignResult>;
  private readonly keys: VerifierKey[];
  private refusal: CheckpointerHealth = { state: 'ok' };

  constructor(
    private readonly store: CheckpointStore,
    private readonly signer: SignerKey,
    private readonly opts: CheckpointerOptions,
  ) {
    this.keys = [verifierOf(signer), ...(opts.trusted ?? [])];
    this.runs = new Periodic(opts.clock, opts.intervalMs, () =>
      this.sign().then(
        (r): SignResult => {
          if (r.status === 'signed' || r.status === 'unchanged') this.refusal = { state: 'ok' };
          return r;
        },
        (e: Error): SignResult => {
          this.base = null; // read again from the file and the store next time
          if (!(e instanceof CheckpointRefusal)) {
            this.opts.logger.warn('checkpoint not signed; will try again', { error: safe(e.message) });
            return { status: 'skipped', reason: e.message };
          }
          const since = this.refusal.state === 'refused' ? this.refusal.since : this.opts.clock.now().toISOString();
          this.refusal = { state: 'refused', since, reason: e.message, signedSize: e.signedSize, logSize: e.logSize };
          this.opts.logger.error('checkpoint REFUSED: the log is not a consistent extension of what was signed; calls go on being stored, unsigned', {
            log: safe(e.log),
            signedSize: e.signedSize,
            logSize: e.logSize,
            reason: safe(e.message),
            file: safe(this.opts.file),
          });
          this.opts.observer?.checkpointRefused?.(e.log);
          return { status: 'refused', reason: e.message };
        },
      ),
    );
  }

  /**
   * Checks, without signing, that the log is a consistent extension of what was signed (doctor): the
   * walk a (re)start does.
   */
  async check(): Promise<CheckpointerHealth> {
    try {
      await this.loadBase();
      return { state: 'ok' };
    } catch (e) {
      if (!(e instanceof CheckpointRefusal)) throw e;
      return { state: 'refused', since: this.opts.clock.now().toISOString(), reason: e.message, signedSize: e.signedSize, logSize: e.logSize };
    }
  }

  /** Whether the last attempt refused to sign (the log does not extend what was signed). */
  health(): CheckpointerHealth {
    return this.refusal;
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
    const base = this.base ? await this.stillThere(this.base, head.seq) : await this.loadBase();
    if (head.seq === base.size && base.signed) {
      this.base = base;
      return { status: 'unchanged', size: base.size };
    }
    const next = await this.extend(base, head.seq);
    const stored = head.tree === null ? null : Frontier.parse(head.tree);
    if (stored && stored.size === next.size && !stored.root().equals(next.tree.root())) {
      this.opts.logger.warn("checkpoint: the log's tree state in Redis differs from its entries; signing the tree computed from the entries", { log: safe(this.store.log) });
    }
    const note = await this.publish(next, []);
    const covered = next.size - base.size;
    this.base = { ...next, signed: true };
    this.opts.observer?.checkpointSigned?.(Date.now() - started);
    this.opts.logger.debug('checkpoint signed', { log: safe(this.store.log), size: next.size, newEntries: covered });
    return { status: 'signed', size: next.size, note };
  }

  /** Signs `base` (with `extensions`), in the host's file first (what the next start continues from), then in Redis. */
  private async publish(base: Base, extensions: string[]): Promise<string> {
    const text = formatCheckpoint({ origin: originOf(this.store.log), size: base.size, root: base.tree.root(), extensions });
    const note = signNote(text, this.signer);
    const line: CheckpointLine = { at: this.opts.clock.now().toISOString(), log: this.store.log, size: base.size, note };
    await fsp.mkdir(dirname(this.opts.file), { recursive: true });
    await fsp.appendFile(this.opts.file, `${JSON.stringify(line)}\n`, { mode: 0o640 });
    await this.store.addCheckpoint(base.size, note, base.tree.toString());
    return note;
  }

  /**
   * Records an accepted loss: the log no longer extends what was signed (`check()` refuses), and an
   * administrator chose to go on from the log as it is. Signs the log as it is now (its own chain
   * checked from its start) with the loss extension; signing goes on from there. The caller has
   * appended the log's `loss` entry first. Refuses when there is no loss to accept.
   */
  async acceptLoss(): Promise<{ size: number; signed: number; note: string }> {
    const h = await this.check();
    if (h.state !== 'refused') throw new Error(`log "${this.store.log}" extends what was signed: there is no loss to accept`);
    const base = await this.walk(null, null);
    const note = await this.publish(base, [lossExtension(h.signedSize)]);
    this.base = { ...base, signed: true };
    this.refusal = { state: 'ok' };
    return { size: base.size, signed: h.signedSize, note };
  }

  /** The base kept from the last run, if the log still ends as it did then (Redis may have lost or rewritten it). */
  private async stillThere(base: Base, headSeq: number): Promise<Base> {
    const log = this.store.log;
    if (headSeq < base.size) {
      throw new CheckpointRefusal(log, base.size, headSeq, `log "${log}" has ${headSeq} entries in Redis, but ${base.size} were signed: entries ${headSeq + 1}–${base.size} were lost or removed`);
    }
    if (base.size === 0) return base;
    const [e] = await this.store.entriesAfter(base.size - 1, 1);
    if (!e || e.seq !== base.size || e.hash !== base.lastHash || entryHash(e.seq, e.prev, e.body) !== e.hash) {
      throw new CheckpointRefusal(log, base.size, headSeq, `entry seq ${base.size} of log "${log}" is not the one signed: the log was rewritten`);
    }
    return base;
  }

  /**
   * Where to continue from, checked: the whole log, walked from its start (or its anchor) and compared
   * with the last checkpoint in the host's file and the last one in Redis that opens with our keys.
   */
  private async loadBase(): Promise<Base> {
    const fromFile = await lastTrustedCheckpoint(this.opts.file, this.store.log, this.keys);
    const fromRedis = await this.latestInStore();
    return this.walk(fromFile, fromRedis);
  }

  /** The log walked from its start, checked against `fromFile` and `fromRedis` (either may be null). */
  private async walk(fromFile: TrustedCheckpoint | null, fromRedis: TrustedCheckpoint | null): Promise<Base> {
    const log = this.store.log;
    const targets = [fromFile, fromRedis].filter((c): c is TrustedCheckpoint => c !== null);
    const signedSize = Math.max(0, ...targets.map((c) => c.size));
    const headSeq = (await this.store.head()).seq;
    const refuse = (why: string) => new CheckpointRefusal(log, signedSize, headSeq, why);
    const where = (c: TrustedCheckpoint) => (c === fromFile ? `the host's checkpoint file (${this.opts.file})` : 'Redis');

    let tree: Frontier | null = null;
    let last = GENESIS;
    const check = () => {
      for (const c of targets) {
        if (tree && c.size === tree.size && !tree.root().equals(c.root)) {
          throw refuse(`log "${log}": its first ${c.size} entries do not give the root signed in ${where(c)}: entries before it were changed, removed or reordered`);
        }
      }
    };
    for await (const { anchor, anchorTree, entries } of this.store.chain(this.opts.chunk ?? 1000)) {
      if (!tree) {
        if (anchor && anchorTree === null) throw new Error(`log "${log}" was trimmed before Merkle trees: it cannot be checkpointed`);
        tree = anchorTree !== null ? Frontier.parse(anchorTree) : new Frontier();
        if (anchor && tree.size !== anchor.seq) throw refuse(`log "${log}": its purge anchor (seq ${anchor.seq}) and its tree (${tree.size}) disagree`);
        last = anchor ? anchor.hash : GENESIS;
        for (const c of targets) {
          if (c.size < tree.size) throw refuse(`log "${log}" starts after entry ${tree.size} (trimmed) but its last checkpoint in ${where(c)} signed ${c.size}: what was signed cannot be checked`);
        }
        check();
      }
      for (const e of entries) {
        if (e.seq !== tree.size + 1 || e.prev !== last || entryHash(e.seq, e.prev, e.body) !== e.hash) {
          throw refuse(`log "${log}" breaks at entry seq ${e.seq} (after ${tree.size}): run consent-ivr ledger verify`);
        }
        tree.append(entryLeaf(e));
        last = e.hash;
        check();
      }
    }
    const size = tree?.size ?? 0;
    if (size < signedSize) {
      throw refuse(`log "${log}" has ${size} entries in Redis, but ${signedSize} were signed (${where(targets.find((c) => c.size === signedSize) as TrustedCheckpoint)}): entries ${size + 1}–${signedSize} were lost or removed`);
    }
    const t = tree ?? new Frontier();
    return { size, tree: t, lastHash: last, signed: targets.some((c) => c.size === size) };
  }

  /** The last checkpoint kept in Redis, if it opens with our keys and is of this log. */
  private async latestInStore(): Promise<TrustedCheckpoint | null> {
    const cp = await this.store.latestCheckpoint();
    if (!cp) return null;
    try {
      const c = parseCheckpoint(openNote(cp.note, this.keys).text);
      if (c.origin === originOf(this.store.log)) return { size: c.size, root: c.root, at: null, note: cp.note };
    } catch {
      // not ours, or not signed by a trusted key: ledger verify names it
    }
    this.opts.logger.warn('checkpoint: the last checkpoint kept in Redis does not open with the configured keys; ignored', { log: safe(this.store.log) });
    return null;
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
