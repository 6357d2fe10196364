/**
 * The ledger's store over Redis (single, Sentinel or Cluster): the chain as a stream, records as hashes,
 * a time index and a caller index (layout in keys.ts). The append is one Lua script (scripts.ts): compare
 * the head, skip events already applied, add the entries and write the records, all or nothing.
 *
 * The store is built in layers, one file each: shared-store.ts (the connection, the keys, what all logs
 * share), log-reads.ts (the reads and scans of a log), then this file (the head, the append, the
 * checkpoints).
 */
import { entryId, EMPTY_HEAD } from '../../ledger';
import type { AdminStore, AppendItem, AppendResult, CallHead, ChainEntry, ChainHead, LogHead, StoredCheckpoint, TrimRequest } from '../../ledger';
import { isReady } from './client';
import { RedisLogReads } from './log-reads';
import { fieldsOf, parseAnchor, results, toEntry, type RawEntry } from './replies';
import { appendScript } from './scripts';

function toCheckpoint(raw: RawEntry): StoredCheckpoint {
  const f = fieldsOf(raw[1]);
  return { id: raw[0], size: Number(f.size), note: f.note ?? '', tree: f.tree ?? '' };
}

/** A new log's compact range: the empty tree. */
const EMPTY_TREE = '0:';

/**
 * One log of the ledger (records, chain, checkpoints) plus the keys all logs share. `forLog` gives the
 * same connection on another log.
 */
export class RedisLedgerStore extends RedisLogReads implements AdminStore {
  forLog(log: string): RedisLedgerStore {
    return log === this.log ? this : new RedisLedgerStore(this.client, this.keyPrefix, log);
  }

  async registerSelf(): Promise<void> {
    if (this.log !== '') await this.registerLog(this.log);
  }

  async callHeads(uniqueIds: string[]): Promise<CallHead[]> {
    const p = this.client.pipeline();
    for (const id of uniqueIds) p.hget(this.keys.record(id), 'last').hlen(this.keys.record(id));
    const flat = results(await p.exec()) as (string | number | null)[];
    const heads: CallHead[] = [];
    const legacy: number[] = [];
    uniqueIds.forEach((uniqueId, i) => {
      const last = flat[i * 2] as string | null;
      const prev = parseAnchor(last);
      if (prev) heads.push({ uniqueId, prev, stored: String(last) });
      else {
        // A record with events but no `last`: made before calls were linked (its last entry is found below).
        if (Number(flat[i * 2 + 1]) > 0) legacy.push(heads.length);
        heads.push({ uniqueId, prev: null, stored: last ?? '' });
      }
    });
    for (const at of legacy) {
      const h = heads[at] as CallHead;
      const seqs = await this.eventSeqs(h.uniqueId);
      const [e] = seqs.length > 0 ? await this.chainEntries([seqs[seqs.length - 1] as number]) : [null];
      if (e) h.prev = { seq: e.seq, hash: e.hash };
    }
    return heads;
  }

  isReady(): boolean {
    return isReady(this.client);
  }

  onReady(listener: () => void): void {
    this.client.on('ready', listener);
  }

  async head(): Promise<LogHead> {
    const [last, anchor, tree] = results(
      await this.client.multi().xrevrange(this.keys.chain, '+', '-', 'COUNT', 1).get(this.keys.anchor).get(this.keys.tree).exec(),
    ) as [RawEntry[], string | null, string | null];
    const first = last[0];
    const head = first ? toEntry(first) : (parseAnchor(anchor) ?? EMPTY_HEAD);
    // A log with entries but no tree was begun before Merkle trees: it stays without one.
    return { seq: head.seq, hash: head.hash, tree: tree ?? (head.seq === 0 ? EMPTY_TREE : null) };
  }

  async append(expected: ChainHead, entries: ChainEntry[], items: AppendItem[], tree: string | null, trim?: TrimRequest, calls: CallHead[] = []): Promise<AppendResult> {
    if (entries.length !== items.length) throw new Error('append: one entry per item');
    const stored = new Map(calls.map((c) => [c.uniqueId, c.stored]));
    const keys = [this.keys.chain, this.keys.anchor, this.keys.entered, this.keys.tree, this.keys.anchorTree];
    const args: (string | number)[] = [
      expected.seq,
      expected.hash,
      items.length,
      trim?.seq ?? 0,
      trim?.hash ?? '',
      trim ? entryId(trim.seq + 1) : '',
      tree ?? '',
      trim?.tree ?? '',
    ];
    items.forEach((item, i) => {
      const e = entries[i] as ChainEntry;
      const r = item.record;
      keys.push(r ? this.keys.record(r.uniqueId) : this.keys.chain, r && r.callerPseudonym ? this.keys.caller(r.callerPseudonym) : this.keys.chain);
      args.push(
        item.eventId,
        e.seq,
        e.prev,
        e.hash,
        e.body,
        r ? '1' : '0',
        r?.uniqueId ?? '',
        r?.json ?? '',
        r?.stage ?? 0,
        r?.enteredMs ?? 0,
        r && r.callerPseudonym ? r.callerIndex : 'none',
        r ? (stored.get(r.uniqueId) ?? '') : '',
      );
    });
    const reply = (await appendScript.run(this.client, keys, args)) as string[];
    switch (reply[0]) {
      case 'ok':
        return { status: 'ok' };
      case 'conflict':
        return { status: 'conflict', head: { seq: Number(reply[1]), hash: String(reply[2]), tree: reply[3] ? String(reply[3]) : Number(reply[1]) === 0 ? EMPTY_TREE : null } };
      case 'duplicate':
        return { status: 'duplicate', eventIds: reply.slice(1).map(String) };
      case 'call-conflict':
        return { status: 'call-conflict', uniqueId: String(reply[1]) };
      default:
        throw new Error(`append: unexpected reply from Redis: ${String(reply[0])}`);
    }
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    const last = (await this.client.call('XREVRANGE', this.keys.checkpoints, '+', '-', 'COUNT', 1)) as RawEntry[];
    return last[0] ? toCheckpoint(last[0]) : null;
  }

  async addCheckpoint(size: number, note: string, tree: string): Promise<void> {
    await this.client.call('XADD', this.keys.checkpoints, '*', 'size', String(size), 'note', note, 'tree', tree);
  }

  async *checkpoints(chunk: number): AsyncIterable<StoredCheckpoint[]> {
    let from = '-';
    for (;;) {
      const rows = ((await this.client.call('XRANGE', this.keys.checkpoints, from, '+', 'COUNT', chunk)) as RawEntry[]).map(toCheckpoint);
      if (rows.length > 0) yield rows;
      if (rows.length < chunk) return;
      from = `(${(rows[rows.length - 1] as StoredCheckpoint).id}`;
    }
  }
}
