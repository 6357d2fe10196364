/** The records of a log against the entries that wrote them, and the indexes against the records (`ledger verify`). */
import { nextWriter, parseStoredRecord, RECORD_STAGES, sha256Hex, type AdminContext, type AdminStore, type RecordWriter, type StoredChainEntry, type StoredRecord, type VerifyResult } from '../ledger';
import type { LogReport, RecordProblem } from './verify-report';

/** What the walk keeps of each call: the entry that must have written its record, and its last entry's time. */
interface CallState {
  writer: RecordWriter;
  atMs: number;
}


/**
 * Follows the entries about calls, as the store's append applies them: an entry writes its call's
 * record unless the record was written at a higher stage (a decision replayed after the outcome).
 */
export class CallWriters {
  readonly calls = new Map<string, CallState>();

  feed(entries: StoredChainEntry[]): void {
    for (const e of entries) {
      let b: { type?: unknown; uniqueId?: unknown; at?: unknown };
      try {
        b = JSON.parse(e.body) as typeof b;
      } catch {
        continue; // the chain check covers an unparsable entry
      }
      if (typeof b.uniqueId !== 'string' || RECORD_STAGES[String(b.type)] === undefined) continue;
      const cur = this.calls.get(b.uniqueId) ?? null;
      const writer = nextWriter(cur?.writer ?? null, e.seq, String(b.type));
      if (writer) this.calls.set(b.uniqueId, { writer, atMs: Date.parse(String(b.at)) });
    }
  }
}

/**
 * Every record of the log, found by its key (not through an index): each must be the latest state of
 * its call (written by the last entry that writes it) and match the digest that entry recorded; every
 * record the log's entries name must exist (unless old enough to be purged); the time index and the
 * caller index must list exactly the records (both ways).
 */
export async function checkRecords(ctx: AdminContext, store: AdminStore, chain: VerifyResult, writers: CallWriters, graceMs: number): Promise<LogReport['records']> {
  let checked = 0;
  let unverifiable = 0;
  let count = 0;
  let first: RecordProblem | null = null;
  const fail = (p: RecordProblem) => {
    count += 1;
    first ??= p;
  };
  const anchorSeq = chain.anchor?.seq ?? 0;
  const headSeq = chain.head?.seq ?? 0;
  const times = new Map<string, number>();
  const subjects = new Map<string, string>();
  for await (const rows of store.scanRecords(ctx.chunk)) {
    const entries = await store.chainEntries(rows.map((r) => r.seq));
    const indexed = await store.inCallerIndex(rows.map((r) => ({ uniqueId: r.uniqueId, callerPseudonym: parsePseudonym(r.json) })));
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (!row) continue;
      times.set(row.uniqueId, row.enteredMs);
      subjects.set(row.uniqueId, parsePseudonym(row.json));
      const w = writers.calls.get(row.uniqueId);
      const named = (problem: string) => fail({ uniqueId: row.uniqueId, seq: row.seq, message: `record ${row.uniqueId}: ${problem}` });
      if (w && w.writer.seq > row.seq) {
        named(`it is not the latest state of its call: entry seq ${w.writer.seq} (${w.writer.type}) wrote it after seq ${row.seq}, which it now matches (rolled back, or edited)`);
        continue;
      }
      if (!w && row.seq <= anchorSeq) {
        unverifiable += 1;
        continue;
      }
      const e = entries[i];
      let problem: string | null = null;
      if (!e) problem = row.seq > headSeq ? `points to chain entry seq ${row.seq}, past the end of the chain` : `its chain entry seq ${row.seq} is missing`;
      else {
        let b: { uniqueId?: unknown; recordDigest?: unknown } = {};
        try {
          b = JSON.parse(e.body) as typeof b;
        } catch {
          b = {};
        }
        if (b.uniqueId !== row.uniqueId) problem = `its chain entry seq ${row.seq} is about another call`;
        else if (b.recordDigest !== sha256Hex(row.json)) problem = `its content differs from what chain entry seq ${row.seq} recorded: the record was edited`;
      }
      if (!problem && indexed[i] === false && !isErased(row.json)) problem = "it is not in its caller's index: an erasure of that caller would miss it";
      if (problem) named(problem);
      else checked += 1;
    }
  }
  // Records the log names that are gone (purge removes records past the retention period only).
  for (const [uniqueId, w] of writers.calls) {
    if (!times.has(uniqueId) && w.atMs >= graceMs) fail({ uniqueId, seq: w.writer.seq, message: `record ${uniqueId} (named by chain entry seq ${w.writer.seq}) is missing: deleted outside erase/purge` });
  }
  await checkIndexes(ctx, store, times, subjects, fail);
  const problem: RecordProblem | null = first;
  return { checked, unverifiable, problem, problems: count };
}

/** The stored record, or null when it does not read as one (edited: the digest check reports it). */
export function readable(json: string): StoredRecord | null {
  try {
    return parseStoredRecord(json);
  } catch {
    return null;
  }
}

function parsePseudonym(json: string): string {
  return readable(json)?.callerPseudonym ?? '';
}

function isErased(json: string): boolean {
  const r = readable(json);
  return r !== null && (r.erasedAt !== null || r.callerPseudonym === '');
}

/**
 * The time index (list, export, report, purge read it) and the caller indexes (erasure reads them)
 * against the records found by their keys (`times`, `subjects`: each record's time and subject).
 */
async function checkIndexes(ctx: AdminContext, store: AdminStore, times: Map<string, number>, subjects: Map<string, string>, fail: (p: RecordProblem) => void): Promise<void> {
  // The time index against the records, both ways.
  const listed = new Set<string>();
  for await (const part of store.timeIndex(ctx.chunk)) {
    for (const { uniqueId, ms } of part) {
      listed.add(uniqueId);
      const t = times.get(uniqueId);
      if (t === undefined) fail({ uniqueId, seq: null, message: `the time index names record ${uniqueId}, which does not exist` });
      else if (t !== ms) fail({ uniqueId, seq: null, message: `record ${uniqueId} is in the time index at another time than its own: list and report place it wrongly` });
    }
  }
  for (const uniqueId of times.keys()) {
    if (!listed.has(uniqueId)) fail({ uniqueId, seq: null, message: `record ${uniqueId} is not in the time index: list, export and report do not show it` });
  }
  // Each caller index names only that caller's records: an erasure of the caller reaches no one else.
  for await (const part of store.callerIndexes(ctx.chunk)) {
    for (const { pseudonym, uniqueIds } of part) {
      for (const uniqueId of uniqueIds) {
        const subject = subjects.get(uniqueId);
        if (subject === pseudonym) continue;
        fail({
          uniqueId,
          seq: null,
          message: `the index of caller ${pseudonym.slice(0, 12)}… names record ${uniqueId}, ${subject === undefined ? 'which does not exist' : "which is another caller's"}: an erasure of that caller would reach it`,
        });
      }
    }
  }
}
