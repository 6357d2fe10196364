/**
 * The evidence bundle of one call: a single JSON file that whoever holds the ledger's public key can
 * check offline, without Redis, the configuration or our systems.
 *
 * It holds the call's record, every ledger entry about the call with a Merkle inclusion proof in a
 * signed checkpoint, the checkpoint and the fingerprint of the key that signed it, the texts of the
 * notice version the caller heard with the SHA-256 of each audio file (and, in catalogues stored
 * since campaign profiles, the profile and the controller, which the version does not cover), the
 * recording's seal, and a summary in French and Arabic. `verifyBundle` recomputes every link: entry hashes, proofs against the
 * signed root, the record's digest in the entry that wrote it, the notice version from its texts and
 * audio hashes, the seal against its entry, and the summary from the checked data. Any field changed
 * makes one of these fail.
 */
import { entryLeaf, entryHash, Frontier, LogTree, findRecord, parseStoredRecord, type AdminStore, type NoticeCatalogue, type RecordingSeal, type StoredChainEntry, type StoredJson, toStored } from '../ledger';
import { fingerprint, openNote, parseCheckpoint, type VerifierKey } from './checkpoint';
import { originOf } from './checkpoint-file';
import { sealOf } from './seal';
import { summarise } from './summary';

export const BUNDLE_FORMAT = 'consent-ivr-evidence/1';

export interface BundleEntry {
  seq: number;
  prev: string;
  hash: string;
  body: string;
  /** Merkle inclusion proof of this entry (leaf seq − 1) in the checkpoint's tree, hex. */
  proof: string[];
}

export interface EvidenceBundle {
  format: typeof BUNDLE_FORMAT;
  uniqueId: string;
  /** The log (instance) the call's entries are in. */
  log: string;
  generatedAt: string;
  /** The record as stored (its flat JSON). */
  record: StoredJson;
  /** Seq of the entry whose digest is the record's (the last write of it). */
  recordSeq: number;
  entries: BundleEntry[];
  checkpoint: { note: string };
  key: { name: string; keyId: string; fingerprint: string };
  /** The notice version's texts and audio hashes; null for calls made before texts were kept. */
  notice: NoticeCatalogue | null;
  seal: (RecordingSeal & { at: string }) | null;
  summary: { fr: string; ar: string };
}

export const TOP_KEYS = ['format', 'uniqueId', 'log', 'generatedAt', 'record', 'recordSeq', 'entries', 'checkpoint', 'key', 'notice', 'seal', 'summary'] as const;

/** The seal as the bundle states it: the seal entry's fields but its type and call. */
export function sealFields(body: object): Record<string, unknown> {
  return sortKeys(Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'type' && k !== 'uniqueId' && k !== 'callPrev')));
}

export function sortKeys(o: object): Record<string, unknown> {
  const src = o as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(src)
      .filter((k) => src[k] !== undefined)
      .sort()
      .map((k) => [k, src[k]]),
  );
}

// ------------------------------------------------------------------------------------------- collect

export class EvidenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvidenceError';
  }
}

/**
 * Gathers a call's bundle from the ledger: its record, its entries with inclusion proofs in the latest
 * checkpoint of its log that covers them (checked against the trusted keys, and against the log itself),
 * the notice texts and the seal.
 */
export async function collectEvidence(store: AdminStore, uniqueId: string, keys: readonly VerifierKey[], now: Date, chunk = 1000): Promise<EvidenceBundle> {
  const found = await findRecord(store, uniqueId);
  if (!found) throw new EvidenceError(`no record for uniqueid ${uniqueId}`);
  const log = found.log;
  const record = parseStoredRecord(found.row.json);
  const { seqs, entries } = await callEntries(log, uniqueId, found.row.seq);
  const maxSeq = Math.max(found.row.seq, ...seqs);

  // The latest checkpoint covering every entry, signed by a trusted key.
  let cp: { note: string; size: number; root: Buffer; key: VerifierKey } | null = null;
  for await (const chunkOf of log.checkpoints(chunk)) {
    for (const c of chunkOf) {
      if (c.size < maxSeq) continue;
      try {
        const opened = openNote(c.note, keys);
        const parsed = parseCheckpoint(opened.text);
        const key = opened.signedBy[0];
        if (key && parsed.origin === originOf(log.log)) cp = { note: c.note, size: parsed.size, root: parsed.root, key };
      } catch {
        // not ours, or not trusted: ledger verify reports it
      }
    }
  }
  if (!cp) throw new EvidenceError(`no signed checkpoint covers entry seq ${maxSeq} of log "${log.log}" yet: the service signs one within ledger.checkpointIntervalMs, or run consent-ivr ledger checkpoint`);

  const tree = await treeOf(log, cp.size, cp.root, chunk);
  const bundleEntries: BundleEntry[] = (entries as StoredChainEntry[]).map((e) => ({
    seq: e.seq,
    prev: e.prev,
    hash: e.hash,
    body: e.body,
    proof: tree.inclusionProof(e.seq - 1, cp.size).map((p) => p.toString('hex')),
  }));
  const sealEntry = bundleEntries.map((e) => sealOf(e.body)).find((s) => s !== null) ?? null;
  let seal: EvidenceBundle['seal'] = null;
  if (sealEntry) seal = sealFields(sealEntry) as unknown as EvidenceBundle['seal'];
  const notice = await log.notice(record.noticeVersion);
  const partial = { uniqueId, log: log.log, record, entries: bundleEntries, notice, seal };
  return {
    format: BUNDLE_FORMAT,
    uniqueId,
    log: log.log,
    generatedAt: now.toISOString(),
    record: toStored(record),
    recordSeq: found.row.seq,
    entries: bundleEntries,
    checkpoint: { note: cp.note },
    key: { name: cp.key.name, keyId: cp.key.keyId, fingerprint: fingerprint(cp.key) },
    notice,
    seal,
    summary: summarise({ ...partial, size: cp.size, keyName: cp.key.name }),
  };
}

/**
 * The entries about a call: those its record indexes, the one that wrote the record, and every entry
 * they link back to (`callPrev`), so that an index entry removed in Redis does not leave one out.
 * An entry no longer in the log fails (a bundle must hold them all), unless `lenient`: then the seqs
 * of those missing are returned with the entries found, and the links of the missing are not followed.
 */
export async function callEntries(
  log: AdminStore,
  uniqueId: string,
  recordSeq: number,
  opts: { lenient?: boolean } = {},
): Promise<{ seqs: number[]; entries: StoredChainEntry[]; missing: number[] }> {
  const want = new Set([...(await log.eventSeqs(uniqueId)), recordSeq]);
  const got = new Map<number, StoredChainEntry>();
  const missing = new Set<number>();
  while (want.size > got.size + missing.size) {
    const ask = [...want].filter((q) => !got.has(q) && !missing.has(q));
    const found = await log.chainEntries(ask);
    const gone = ask.filter((_, i) => found[i] === null);
    if (gone.length > 0 && !opts.lenient) throw new EvidenceError(`entries ${gone.join(', ')} of this call are no longer in the log (purged or deleted); run consent-ivr ledger verify`);
    for (const q of gone) missing.add(q);
    for (const e of found) {
      if (e === null) continue;
      got.set(e.seq, e);
      try {
        const p = (JSON.parse(e.body) as { callPrev?: { seq?: unknown } | null }).callPrev;
        if (p && typeof p.seq === 'number' && Number.isSafeInteger(p.seq) && p.seq > 0) want.add(p.seq);
      } catch {
        // an unreadable body: the bundle's check names it
      }
    }
  }
  const seqs = [...got.keys()].sort((a, b) => a - b);
  return { seqs, entries: seqs.map((q) => got.get(q) as StoredChainEntry), missing: [...missing].sort((a, b) => a - b) };
}

/**
 * The Merkle tree of a log's first `size` entries (from its anchor's compact range and the entries
 * after it), checked against the signed `root`.
 */
export async function treeOf(log: AdminStore, size: number, root: Buffer, chunk: number): Promise<LogTree> {
  let base: Frontier | null = null;
  let buf = Buffer.alloc(0);
  let count = 0;
  for await (const { anchor, anchorTree, entries: part } of log.chain(chunk)) {
    if (!base) {
      if (anchor && anchorTree === null) throw new EvidenceError(`log "${log.log}" was trimmed before Merkle trees: no proof can be made`);
      base = anchorTree !== null ? Frontier.parse(anchorTree) : new Frontier();
      buf = Buffer.alloc(Math.max(0, size - base.size) * 32);
    }
    for (const e of part) {
      if (e.seq > size) break;
      if (e.seq !== base.size + count + 1) throw new EvidenceError(`log "${log.log}" breaks at seq ${e.seq}; run consent-ivr ledger verify`);
      entryLeaf({ hash: entryHash(e.seq, e.prev, e.body) }).copy(buf, count * 32);
      count += 1;
    }
    if (base.size + count >= size) break;
  }
  if (!base || base.size + count !== size) throw new EvidenceError(`log "${log.log}" has fewer entries than its checkpoint of ${size} (truncated); run consent-ivr ledger verify`);
  const b = base;
  const tree = new LogTree(b, (i) => buf.subarray((i - b.size) * 32, (i - b.size + 1) * 32), size);
  if (!tree.root().equals(root)) throw new EvidenceError(`log "${log.log}" does not match its checkpoint of ${size} entries; run consent-ivr ledger verify`);
  return tree;
}
