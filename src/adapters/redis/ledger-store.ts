/**
 * The ledger's store over Redis (single, Sentinel or Cluster): the chain as a stream, records as hashes,
 * a time index and a caller index (layout in keys.ts). The append is one Lua script: compare the head,
 * skip events already applied, add the entries and write the records, all or nothing.
 */
import { createHash } from 'node:crypto';
import { entryId, EMPTY_HEAD, checkErasureMark, checkPendingDeletion, checkUnsealed, parseConfirmation, readEntries, type QueueRead } from '../../ledger';
import type {
  AdminStore,
  DeletionConfirmation,
  PendingDeletion,
  AppendItem,
  AppendResult,
  CallHead,
  ChainEntry,
  ChainHead,
  LogHead,
  NoticeCatalogue,
  RecordRow,
  ScannedRecord,
  StoredChainEntry,
  StoredCheckpoint,
  TrimRequest,
  UnsealedRecording,
} from '../../ledger';
import { isReady, scanKeys, type RedisClient } from './client';
import { logBase, logKeys, sharedKeys, type LogKeys, type SharedKeys } from './keys';

/** A literal for a SCAN MATCH pattern. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * KEYS: chain, anchor, idx:entered, tree, anchor-tree, then per item: record key, caller index key.
 * ARGV: expected seq, expected hash, item count, trim seq (0: none), trim hash, trim min id, tree after the
 * append ('' : none), anchor tree of the trim ('' : none), then per item 12 values: event id, seq, prev,
 * hash, body, has record (1/0), uniqueid, record JSON, stage, enteredMs, caller index mode
 * (add/remove/none), and the record's `last` field as read before (the call's last entry, "<seq>:<hash>",
 * '' when absent): if another writer moved it since, nothing is written ('call-conflict'). Every entry
 * about a call sets `last`. A stage below every other (-1) only indexes the event under the record.
 */
const APPEND_LUA = `
local chain, anchorKey, idx, treeKey, anchorTreeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local expSeq, expHash, n = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local trimSeq, trimHash, trimMin = tonumber(ARGV[4]), ARGV[5], ARGV[6]
local newTree, trimTree = ARGV[7], ARGV[8]
local headSeq, headHash = 0, string.rep('0', 64)
local last = redis.call('XREVRANGE', chain, '+', '-', 'COUNT', 1)
if #last > 0 then
  local f = last[1][2]
  for i = 1, #f, 2 do
    if f[i] == 'seq' then headSeq = tonumber(f[i + 1]) elseif f[i] == 'hash' then headHash = f[i + 1] end
  end
else
  local a = redis.call('GET', anchorKey)
  if a then
    local s, h = string.match(a, '^(%d+):(%x+)$')
    if s then headSeq, headHash = tonumber(s), h end
  end
end
if headSeq ~= expSeq or headHash ~= expHash then
  return {'conflict', tostring(headSeq), headHash, redis.call('GET', treeKey) or ''}
end
local dups = {}
for i = 0, n - 1 do
  local a = 9 + i * 12
  if ARGV[a + 5] == '1' and redis.call('HEXISTS', KEYS[6 + i * 2], 'ev:' .. ARGV[a]) == 1 then
    dups[#dups + 1] = ARGV[a]
  end
end
if #dups > 0 then return {'duplicate', unpack(dups)} end
for i = 0, n - 1 do
  local a = 9 + i * 12
  if ARGV[a + 5] == '1' and (redis.call('HGET', KEYS[6 + i * 2], 'last') or '') ~= ARGV[a + 11] then
    return {'call-conflict', ARGV[a + 6]}
  end
end
if trimSeq > 0 then
  local t = redis.call('XRANGE', chain, ARGV[4] .. '-0', ARGV[4] .. '-0')
  local ok = false
  if #t > 0 then
    local f = t[1][2]
    for i = 1, #f, 2 do if f[i] == 'hash' and f[i + 1] == trimHash then ok = true end end
  end
  if not ok then return redis.error_reply('LEDGER trim target is not in the chain') end
  local a = redis.call('GET', anchorKey)
  if a then
    local s = tonumber(string.match(a, '^(%d+):'))
    if s and s >= trimSeq then return redis.error_reply('LEDGER chain already trimmed past the target') end
  end
end
for i = 0, n - 1 do
  local a = 9 + i * 12
  local seq = ARGV[a + 1]
  redis.call('XADD', chain, seq .. '-0', 'seq', seq, 'prev', ARGV[a + 2], 'hash', ARGV[a + 3], 'body', ARGV[a + 4])
  if ARGV[a + 5] == '1' then
    local rec, callerKey, uid = KEYS[6 + i * 2], KEYS[7 + i * 2], ARGV[a + 6]
    local stage = tonumber(ARGV[a + 8])
    local cur = tonumber(redis.call('HGET', rec, 'stage') or '0')
    redis.call('HSET', rec, 'ev:' .. ARGV[a], seq, 'last', seq .. ':' .. ARGV[a + 3])
    if stage >= cur then
      redis.call('HSET', rec, 'record', ARGV[a + 7], 'stage', ARGV[a + 8], 'seq', seq, 'enteredMs', ARGV[a + 9])
      redis.call('ZADD', idx, ARGV[a + 9], uid)
      if ARGV[a + 10] == 'add' then
        redis.call('SADD', callerKey, uid)
      elseif ARGV[a + 10] == 'remove' then
        redis.call('SREM', callerKey, uid)
      end
    end
  end
end
if newTree ~= '' then redis.call('SET', treeKey, newTree) end
if trimSeq > 0 then
  redis.call('SET', anchorKey, ARGV[4] .. ':' .. trimHash)
  if trimTree ~= '' then redis.call('SET', anchorTreeKey, trimTree) else redis.call('DEL', anchorTreeKey) end
  redis.call('XTRIM', chain, 'MINID', trimMin)
end
return {'ok'}
`;

const UNLOCK_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

class Script {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.call('EVALSHA', this.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return client.call('EVAL', this.lua, keys.length, ...keys, ...args);
    }
  }
}

const appendScript = new Script(APPEND_LUA);
const unlockScript = new Script(UNLOCK_LUA);

type RawEntry = [string, string[]];

function fieldsOf(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

function toEntry(raw: RawEntry): StoredChainEntry {
  const f = fieldsOf(raw[1]);
  return { id: raw[0], seq: Number(f.seq), prev: f.prev ?? '', hash: f.hash ?? '', body: f.body ?? '' };
}

function toCheckpoint(raw: RawEntry): StoredCheckpoint {
  const f = fieldsOf(raw[1]);
  return { id: raw[0], size: Number(f.size), note: f.note ?? '', tree: f.tree ?? '' };
}

function parseAnchor(v: unknown): ChainHead | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d+):([0-9a-f]+)$/.exec(v);
  return m ? { seq: Number(m[1]), hash: String(m[2]) } : null;
}

function scoreArg(ms: number, exclusive: boolean): string {
  if (ms === Infinity) return '+inf';
  if (ms === -Infinity) return '-inf';
  return exclusive ? `(${ms}` : String(ms);
}

/** Results of a MULTI/pipeline: throws the first command error. */
function results(res: [Error | null, unknown][] | null): unknown[] {
  if (!res) throw new Error('Redis transaction aborted');
  return res.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}

/** A new log's compact range: the empty tree. */
const EMPTY_TREE = '0:';

/**
 * One log of the ledger (records, chain, checkpoints) plus the keys all logs share. `forLog` gives the
 * same connection on another log.
 */
export class RedisLedgerStore implements AdminStore {
  readonly keys: LogKeys;
  readonly shared: SharedKeys;

  constructor(
    private readonly client: RedisClient,
    private readonly keyPrefix: string,
    readonly log: string,
  ) {
    this.keys = logKeys(keyPrefix, log);
    this.shared = sharedKeys(keyPrefix);
  }

  forLog(log: string): RedisLedgerStore {
    return log === this.log ? this : new RedisLedgerStore(this.client, this.keyPrefix, log);
  }

  async registerLog(log: string): Promise<void> {
    await this.client.call('SADD', this.shared.logs, log);
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

  async saveNotice(n: NoticeCatalogue): Promise<void> {
    await this.client.call('HSETNX', this.shared.notices, n.version, JSON.stringify(n));
  }

  async notice(version: string): Promise<NoticeCatalogue | null> {
    const v = (await this.client.call('HGET', this.shared.notices, version)) as string | null;
    return v ? (JSON.parse(v) as NoticeCatalogue) : null;
  }

  async markUnsealed(server: string, u: UnsealedRecording): Promise<void> {
    await this.client.call('HSET', this.shared.unsealed(server), u.uniqueId, JSON.stringify(u));
  }

  async unsealed(server: string): Promise<UnsealedRecording[]> {
    return (await this.readUnsealed(server)).items;
  }

  async readUnsealed(server: string): Promise<QueueRead<UnsealedRecording>> {
    const key = this.shared.unsealed(server);
    const read = readEntries('unsealed', key, (await this.client.call('HGETALL', key)) as string[], checkUnsealed);
    read.items.sort((a, b) => a.sinceMs - b.sinceMs);
    return read;
  }

  async clearUnsealed(server: string, uniqueId: string): Promise<void> {
    await this.client.call('HDEL', this.shared.unsealed(server), uniqueId);
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

  async markErased(pseudonym: string, atMs: number): Promise<void> {
    await this.client.call('HSET', this.shared.erasures, pseudonym, String(atMs));
  }

  async erasureMarks(): Promise<Map<string, number>> {
    return new Map((await this.readErasureMarks()).items);
  }

  async readErasureMarks(): Promise<QueueRead<[string, number]>> {
    return readEntries('erasures', this.shared.erasures, (await this.client.call('HGETALL', this.shared.erasures)) as string[], checkErasureMark);
  }

  async forgetErasures(pseudonyms: string[]): Promise<void> {
    if (pseudonyms.length > 0) await this.client.call('HDEL', this.shared.erasures, ...pseudonyms);
  }

  async queueDeletion(server: string, d: PendingDeletion): Promise<void> {
    // HSETNX: queued again by a later erase or purge, a deletion keeps its first time (its age).
    await this.client.multi().sadd(this.shared.deletionServers, server).hsetnx(this.shared.deletions(server), d.uniqueId, JSON.stringify(d)).exec();
  }

  async pendingDeletions(server: string): Promise<PendingDeletion[]> {
    return (await this.readDeletions(server)).items;
  }

  async readDeletions(server: string): Promise<QueueRead<PendingDeletion>> {
    const key = this.shared.deletions(server);
    const read = readEntries('deletions', key, (await this.client.call('HGETALL', key)) as string[], checkPendingDeletion);
    read.items.sort((a, b) => a.requestedAt - b.requestedAt);
    return read;
  }

  async deletionServers(): Promise<string[]> {
    return ((await this.client.call('SMEMBERS', this.shared.deletionServers)) as string[]).sort();
  }

  async confirmDeletion(server: string, uniqueId: string, result: DeletionConfirmation['result'], atMs: number): Promise<void> {
    const confirmation: DeletionConfirmation = { server, result, atMs };
    await this.client.multi().hdel(this.shared.deletions(server), uniqueId).hset(this.shared.deletionsDone, uniqueId, JSON.stringify(confirmation)).exec();
  }

  async deletionConfirmations(uniqueIds: string[]): Promise<(DeletionConfirmation | null)[]> {
    if (uniqueIds.length === 0) return [];
    const values = (await this.client.call('HMGET', this.shared.deletionsDone, ...uniqueIds)) as (string | null)[];
    return values.map((v) => (v ? parseConfirmation(v) : null));
  }

  async forgetConfirmations(uniqueIds: string[]): Promise<void> {
    if (uniqueIds.length > 0) await this.client.call('HDEL', this.shared.deletionsDone, ...uniqueIds);
  }

  async lock(name: string, ttlMs: number): Promise<(() => Promise<void>) | null> {
    const key = this.shared.lock(name);
    const token = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const ok = await this.client.call('SET', key, token, 'NX', 'PX', ttlMs);
    if (ok !== 'OK') return null;
    return async () => {
      await unlockScript.run(this.client, [key], [token]);
    };
  }
}
