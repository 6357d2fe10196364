/**
 * What the ledger holds about one person, for their right of access: every record whose subject is
 * their pseudonym (the caller of an inbound call, the customer called on an outbound one), in every
 * log and every profile, each with the entries about its call, its recording's seal and the notice
 * its record names. Records are found through the caller index (as an erasure finds them) and kept
 * only when the record itself names the pseudonym: a stale or forged index entry never hands over
 * another person's record, and an erased record (its pseudonym removed) is no longer theirs.
 */
import { callEntries, sealFields, sealOf } from '../evidence';
import { parseStoredRecord, type AdminContext, type AdminStore, type NoticeCatalogue, type RecordingSeal, type RecordRow, type StoredChainEntry, type StoredRecord } from '../ledger';

/** One call of the person, as the ledger holds it. */
export interface AccessCall {
  /** The log the record is in. */
  log: string;
  record: StoredRecord;
  /** Seq of the entry that wrote the record. */
  recordSeq: number;
  /** The entries about this call (and no other), oldest first. */
  entries: StoredChainEntry[];
  /** Seqs of entries the call's index or links name that are no longer in the log (`ledger verify` says why). */
  missing: number[];
  /** The texts of the notice version the record names; null when the catalogue does not have it. */
  notice: NoticeCatalogue | null;
  /** The recording's seal, from the call's seal entry; null when none. */
  seal: (RecordingSeal & { at: string }) | null;
}

export interface Collected {
  calls: AccessCall[];
  /** Records indexed under the pseudonym that do not read as records (edited): whose they are cannot be told. */
  unreadable: number;
}

/** Whether a chain entry's body is about this call. */
function aboutCall(body: string, uniqueId: string): boolean {
  try {
    return (JSON.parse(body) as { uniqueId?: unknown }).uniqueId === uniqueId;
  } catch {
    return false;
  }
}

async function callOf(log: AdminStore, record: StoredRecord, row: RecordRow): Promise<AccessCall> {
  const { entries, missing } = await callEntries(log, record.uniqueId, row.seq, { lenient: true });
  // A forged link (callPrev) could lead to another call's entries: only this call's are kept.
  const own = entries.filter((e) => aboutCall(e.body, record.uniqueId));
  const sealEntry = own.map((e) => sealOf(e.body)).find((s) => s !== null) ?? null;
  const seal = sealEntry ? (sealFields(sealEntry) as unknown as AccessCall['seal']) : null;
  const notice = await log.notice(record.noticeVersion);
  return { log: log.log, record, recordSeq: row.seq, entries: own, missing, notice, seal };
}

function readable(json: string): StoredRecord | null {
  try {
    return parseStoredRecord(json);
  } catch {
    return null;
  }
}

function entryOrder(a: AccessCall, b: AccessCall): number {
  const t = Date.parse(a.record.enteredAt) - Date.parse(b.record.enteredAt);
  if (t !== 0) return t;
  const k = (c: AccessCall) => `${c.record.uniqueId}\u0000${c.log}`;
  return k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0;
}

/**
 * Every record of the person whose pseudonym this is, oldest first, in every log. A person's calls
 * are few: they are held in memory (the index is read in chunks).
 */
export async function collectAccess(ctx: AdminContext, pseudonym: string): Promise<Collected> {
  const calls: AccessCall[] = [];
  let unreadable = 0;
  for (const name of await ctx.store.logs()) {
    const log = ctx.store.forLog(name);
    for await (const ids of log.callerRecordIds(pseudonym, ctx.chunk)) {
      for (const row of await log.getRecords(ids)) {
        if (!row) continue; // an index entry whose record is gone
        const record = readable(row.json);
        if (!record) {
          unreadable += 1;
          continue;
        }
        // Stale or forged index entry (another person's record), or an erased record: not theirs.
        if (record.callerPseudonym !== pseudonym || record.uniqueId !== row.uniqueId) continue;
        calls.push(await callOf(log, record, row));
      }
      ctx.progress?.(calls.length);
    }
  }
  return { calls: calls.sort(entryOrder), unreadable };
}
