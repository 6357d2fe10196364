/**
 * The second layer of the ledger's store over Redis (see ledger-store.ts): the reads and scans of one
 * log (its records, indexes and chain), the listing of the logs, and the deletion of records.
 */
import { entryId, type RecordRow, type ScannedRecord, type StoredChainEntry, type ChainHead } from '../../ledger';
import { scanKeys } from './client';
import { logBase, logKeys } from './keys';
import { parseAnchor, results, toEntry, type RawEntry } from './replies';
import { RedisSharedStore } from './shared-store';

/** A literal for a SCAN MATCH pattern. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function scoreArg(ms: number, exclusive: boolean): string {
  if (ms === Infinity) return '+inf';
  if (ms === -Infinity) return '-inf';
  return exclusive ? `(${ms}` : String(ms);
}

export abstract class RedisLogReads extends RedisSharedStore {
  async scanLogs(): Promise<string[]> {
    const found = new Set<string>();
    const legacy = logBase(this.keyPrefix, '');
    const tagged = new RegExp(`^${escapeRegExp(this.keyPrefix)}\\{ledger:([A-Za-z0-9._-]+)\\}:`);
    for await (const keys of scanKeys(this.client, `${globEscape(this.keyPrefix)}{ledger*`, 1000)) {
      for (const k of keys) {
        const m = tagged.exec(k);
        if (m) found.add(m[1] as string);
        else if (k === `${legacy}chain` || k === `${legacy}anchor`) found.add('');
      }
    }
    return [...found].sort();
  }

  async *scanRecords(chunk: number): AsyncIterable<ScannedRecord[]> {
    const prefix = this.keys.record('');
    for await (const keys of scanKeys(this.client, `${globEscape(prefix)}*`, chunk)) {
      const p = this.client.pipeline();
      for (const k of keys) p.hmget(k, 'record', 'seq', 'enteredMs', 'stage');
      const rows = results(await p.exec()) as (string | null)[][];
      const out: ScannedRecord[] = [];
      rows.forEach(([json, seq, ms, stage], i) => {
        if (json === null || json === undefined) return; // only events indexed (a seal before its record)
        out.push({ uniqueId: (keys[i] as string).slice(prefix.length), json, seq: Number(seq), enteredMs: Number(ms), stage: Number(stage ?? 0) });
      });
      if (out.length > 0) yield out;
    }
  }

  async *timeIndex(chunk: number): AsyncIterable<{ uniqueId: string; ms: number }[]> {
    for (let start = 0; ; start += chunk) {
      const flat = (await this.client.call('ZRANGE', this.keys.entered, start, start + chunk - 1, 'WITHSCORES')) as string[];
      const out: { uniqueId: string; ms: number }[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ uniqueId: String(flat[i]), ms: Number(flat[i + 1]) });
      if (out.length > 0) yield out;
      if (out.length < chunk) return;
    }
  }

  async *callerIndexes(chunk: number): AsyncIterable<{ pseudonym: string; uniqueIds: string[] }[]> {
    const prefix = this.keys.caller('');
    for await (const keys of scanKeys(this.client, `${globEscape(prefix)}*`, chunk)) {
      const p = this.client.pipeline();
      for (const k of keys) p.smembers(k);
      const sets = results(await p.exec()) as string[][];
      yield keys.map((k, i) => ({ pseudonym: k.slice(prefix.length), uniqueIds: (sets[i] ?? []).map(String) }));
    }
  }

  async inCallerIndex(rows: { uniqueId: string; callerPseudonym: string }[]): Promise<boolean[]> {
    if (rows.length === 0) return [];
    const p = this.client.pipeline();
    for (const r of rows) p.sismember(this.keys.caller(r.callerPseudonym), r.uniqueId);
    return (results(await p.exec()) as number[]).map((v) => Number(v) === 1);
  }

  async logs(): Promise<string[]> {
    const logs = ((await this.client.call('SMEMBERS', this.shared.logs)) as string[]).map(String);
    // The chain of versions before per-instance logs, while it holds anything.
    const legacy = logKeys(this.keyPrefix, '');
    const [chain, anchor] = await Promise.all([this.client.call('EXISTS', legacy.chain), this.client.call('EXISTS', legacy.anchor)]);
    if (Number(chain) + Number(anchor) > 0 && !logs.includes('')) logs.push('');
    return logs.sort();
  }

  async getRecord(uniqueId: string): Promise<RecordRow | null> {
    return (await this.getRecords([uniqueId]))[0] ?? null;
  }

  async getRecords(uniqueIds: string[]): Promise<(RecordRow | null)[]> {
    if (uniqueIds.length === 0) return [];
    const p = this.client.pipeline();
    for (const id of uniqueIds) p.hmget(this.keys.record(id), 'record', 'seq');
    const rows = results(await p.exec()) as [string | null, string | null][];
    return rows.map(([json, seq], i) => (json === null ? null : { uniqueId: uniqueIds[i] as string, json, seq: Number(seq) }));
  }

  async *recordsByTime(fromMs: number, toMs: number, chunk: number): AsyncIterable<RecordRow[]> {
    // Keyset pagination: resume at the last score seen, skipping the members already read at that score.
    let min = scoreArg(fromMs, false);
    let skip = 0;
    let lastScore: string | null = null;
    const max = scoreArg(toMs, true);
    for (;;) {
      const flat = (await this.client.call('ZRANGE', this.keys.entered, min, max, 'BYSCORE', 'LIMIT', skip, chunk, 'WITHSCORES')) as string[];
      if (flat.length === 0) return;
      const ids: string[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const id = String(flat[i]);
        const score = String(flat[i + 1]);
        ids.push(id);
        if (score === lastScore) skip += 1;
        else {
          lastScore = score;
          skip = 1;
        }
      }
      min = lastScore ?? min;
      const rows = await this.getRecords(ids);
      yield rows.filter((r): r is RecordRow => r !== null);
      if (ids.length < chunk) return;
    }
  }

  async recordsBefore(beforeMs: number, offset: number, count: number): Promise<{ uniqueId: string; row: RecordRow | null }[]> {
    const ids = ((await this.client.call('ZRANGE', this.keys.entered, '-inf', scoreArg(beforeMs, true), 'BYSCORE', 'LIMIT', offset, count)) as string[]).map(String);
    const rows = await this.getRecords(ids);
    return ids.map((uniqueId, i) => ({ uniqueId, row: rows[i] ?? null }));
  }

  async *callerRecordIds(pseudonym: string, chunk: number): AsyncIterable<string[]> {
    let cursor = '0';
    do {
      const [next, ids] = (await this.client.call('SSCAN', this.keys.caller(pseudonym), cursor, 'COUNT', chunk)) as [string, string[]];
      cursor = String(next);
      if (ids.length > 0) yield ids.map(String);
    } while (cursor !== '0');
  }

  async deleteRecords(rows: { uniqueId: string; callerPseudonym: string }[]): Promise<void> {
    if (rows.length === 0) return;
    const m = this.client.multi();
    for (const r of rows) {
      m.del(this.keys.record(r.uniqueId));
      m.zrem(this.keys.entered, r.uniqueId);
      if (r.callerPseudonym) m.srem(this.keys.caller(r.callerPseudonym), r.uniqueId);
    }
    results(await m.exec());
  }

  async *chain(chunk: number): AsyncIterable<{ anchor: ChainHead | null; anchorTree: string | null; entries: StoredChainEntry[] }> {
    // The anchor and the first chunk are read in one transaction, so a concurrent purge cannot slip between.
    const first = results(
      await this.client.multi().get(this.keys.anchor).get(this.keys.anchorTree).xrange(this.keys.chain, '-', '+', 'COUNT', chunk).exec(),
    );
    const anchor = parseAnchor(first[0]);
    const anchorTree = typeof first[1] === 'string' ? first[1] : null;
    let entries = (first[2] as RawEntry[]).map(toEntry);
    yield { anchor, anchorTree, entries };
    while (entries.length === chunk) {
      const lastId = (entries[entries.length - 1] as StoredChainEntry).id;
      entries = ((await this.client.call('XRANGE', this.keys.chain, `(${lastId}`, '+', 'COUNT', chunk)) as RawEntry[]).map(toEntry);
      if (entries.length === 0) return;
      yield { anchor, anchorTree, entries };
    }
  }

  async entriesAfter(afterSeq: number, count: number): Promise<StoredChainEntry[]> {
    return ((await this.client.call('XRANGE', this.keys.chain, `(${entryId(afterSeq)}`, '+', 'COUNT', count)) as RawEntry[]).map(toEntry);
  }

  async eventSeqs(uniqueId: string): Promise<number[]> {
    const flat = (await this.client.call('HGETALL', this.keys.record(uniqueId))) as string[];
    const seqs: number[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) if (String(flat[i]).startsWith('ev:')) seqs.push(Number(flat[i + 1]));
    return seqs.sort((a, b) => a - b);
  }

  async chainEntries(seqs: number[]): Promise<(StoredChainEntry | null)[]> {
    if (seqs.length === 0) return [];
    const p = this.client.pipeline();
    for (const s of seqs) p.xrange(this.keys.chain, entryId(s), entryId(s));
    const rows = results(await p.exec()) as RawEntry[][];
    return rows.map((r) => (r[0] ? toEntry(r[0]) : null));
  }

  async chainInfo(): Promise<{ lastGeneratedId: string | null; entriesAdded: number | null }> {
    let flat: unknown[];
    try {
      flat = (await this.client.call('XINFO', 'STREAM', this.keys.chain)) as unknown[];
    } catch (e) {
      if (e instanceof Error && /no such key/i.test(e.message)) return { lastGeneratedId: null, entriesAdded: null };
      throw e;
    }
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) info[String(flat[i])] = flat[i + 1];
    const added = info['entries-added'];
    return {
      lastGeneratedId: typeof info['last-generated-id'] === 'string' ? info['last-generated-id'] : null,
      entriesAdded: added === undefined || added === null ? null : Number(added),
    };
  }
}
