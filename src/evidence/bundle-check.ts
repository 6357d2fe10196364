/**
 * Checking an evidence bundle offline (bundle.ts says what it holds): every link is recomputed from the
 * bundle and the public key alone, so any field changed makes one of these checks fail.
 */
import { entryHash, entryLeaf, nextWriter, parseStoredRecord, serialiseRecord, sha256Hex, validateRecord, verifyInclusion, type RecordWriter, type StoredRecord } from '../ledger';
import { noticeVersionOf } from '../prompts';
import { BUNDLE_FORMAT, sealFields, sortKeys, TOP_KEYS, type BundleEntry, type EvidenceBundle } from './bundle';
import { fingerprint, openNote, parseCheckpoint, type VerifierKey } from './checkpoint';
import { originOf } from './checkpoint-file';
import { sealOf } from './seal';
import { summarise } from './summary';

export interface BundleCheck {
  ok: boolean;
  /** What does not match, one line each. */
  problems: string[];
  /** Checkpoint size and signer, when the checkpoint opened. */
  checkpoint: { size: number; signedBy: string } | null;
}

export function isHex(v: unknown, len?: number): v is string {
  return typeof v === 'string' && /^[0-9a-f]+$/.test(v) && (len === undefined || v.length === len);
}

type Bundle = Partial<EvidenceBundle> & Record<string, unknown> & { uniqueId: string; log: string; entries: unknown[]; recordSeq: number };

/** Checks a bundle (parsed JSON) with the public key, offline. */
export function verifyBundle(raw: unknown, key: VerifierKey): BundleCheck {
  const problems: string[] = [];
  const fail = (p: string): BundleCheck => ({ ok: false, problems: [...problems, p], checkpoint: null });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not an evidence bundle (a JSON object)');
  const b = raw as Partial<EvidenceBundle> & Record<string, unknown>;
  if (b.format !== BUNDLE_FORMAT) return fail(`format: expected ${BUNDLE_FORMAT}, found ${JSON.stringify(b.format)}`);
  const extra = Object.keys(b).filter((k) => !(TOP_KEYS as readonly string[]).includes(k));
  if (extra.length > 0) problems.push(`fields that are not part of the bundle: ${extra.join(', ')}`);
  if (typeof b.uniqueId !== 'string' || typeof b.log !== 'string' || !Array.isArray(b.entries) || typeof b.recordSeq !== 'number') return fail('uniqueId, log, recordSeq or entries missing');
  const bundle = b as Bundle;
  const signed = openBundleCheckpoint(bundle, key, problems);
  if (typeof signed === 'string') return fail(signed);
  const { size } = signed;
  const bodies = checkEntries(bundle, signed, problems);
  const record = checkRecord(bundle, bodies, problems);
  checkNoticeAndSeal(bundle, record, bodies, problems);
  // The summary, from the checked data.
  if (record) {
    const expected = summarise({ uniqueId: b.uniqueId, log: b.log, record, entries: b.entries as BundleEntry[], notice: b.notice ?? null, seal: b.seal ?? null, size, keyName: key.name });
    if (b.summary?.fr !== expected.fr) problems.push('summary (fr): does not say what the checked data says');
    if (b.summary?.ar !== expected.ar) problems.push('summary (ar): does not say what the checked data says');
  }
  return { ok: problems.length === 0, problems, checkpoint: { size, signedBy: key.name } };
}

/** The checkpoint, opened with the key, and the key the bundle names; a string says why it does not open. */
function openBundleCheckpoint(b: Bundle, key: VerifierKey, problems: string[]): { size: number; root: Buffer } | string {
  let signed: { size: number; root: Buffer };
  try {
    const opened = openNote(String(b.checkpoint?.note ?? ''), [key]);
    const c = parseCheckpoint(opened.text);
    if (c.origin !== originOf(b.log)) problems.push(`checkpoint: signed for ${c.origin}, but the bundle is about log "${b.log}"`);
    signed = { size: c.size, root: c.root };
  } catch (e) {
    return `checkpoint: ${(e as Error).message}`;
  }
  const fp = fingerprint(key);
  if (b.key?.fingerprint !== fp || b.key.name !== key.name || b.key.keyId !== key.keyId) problems.push(`key: the bundle names key ${b.key?.name ?? '?'} (${b.key?.fingerprint ?? '?'}), not the key given (${key.name}, ${fp})`);
  return signed;
}

/** The entries: hashes, proofs against the signed root, that each is about this call, and the call's links. */
function checkEntries(b: Bundle, { size, root }: { size: number; root: Buffer }, problems: string[]): Map<number, Record<string, unknown>> {
  const bodies = new Map<number, Record<string, unknown>>();
  const hashes = new Map<number, string>();
  const seqs = new Set<number>();
  for (const e of b.entries) {
    const x = e as Partial<BundleEntry>;
    const where = `entry seq ${String(x.seq)}`;
    if (typeof x.seq !== 'number' || !Number.isSafeInteger(x.seq) || x.seq < 1 || !isHex(x.prev, 64) || !isHex(x.hash, 64) || typeof x.body !== 'string' || !Array.isArray(x.proof)) {
      problems.push(`${where}: malformed`);
      continue;
    }
    if (seqs.has(x.seq)) problems.push(`${where}: appears twice`);
    seqs.add(x.seq);
    const hash = entryHash(x.seq, x.prev, x.body);
    if (hash !== x.hash) {
      problems.push(`${where}: its content does not match its hash (edited)`);
      continue;
    }
    if (x.seq > size) {
      problems.push(`${where}: after the checkpoint (${size} entries)`);
      continue;
    }
    const proof = (x.proof as unknown[]).map((p) => (isHex(p, 64) ? Buffer.from(p, 'hex') : Buffer.alloc(0)));
    if (proof.some((p) => p.length !== 32) || !verifyInclusion(x.seq - 1, size, entryLeaf({ hash }), proof, root)) {
      problems.push(`${where}: not included in the signed checkpoint (its proof does not lead to the signed root)`);
      continue;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(x.body) as Record<string, unknown>;
    } catch {
      problems.push(`${where}: body is not JSON`);
      continue;
    }
    if (body.uniqueId !== b.uniqueId) problems.push(`${where}: about call ${String(body.uniqueId)}, not ${b.uniqueId}`);
    hashes.set(x.seq, hash);
    bodies.set(x.seq, body);
  }
  if (b.entries.length === 0) problems.push('no ledger entry about the call');
  checkCallLinks(bodies, problems);
  for (const [seq, body] of bodies) {
    const p = body.callPrev as { seq?: unknown; hash?: unknown } | null | undefined;
    if (p && typeof p.seq === 'number' && hashes.has(p.seq) && hashes.get(p.seq) !== p.hash) problems.push(`entry seq ${seq}: links to a call entry seq ${p.seq} whose hash is not the one in the bundle`);
  }
  return bodies;
}

/** The record: as stored, with the digest the entry that wrote it recorded, and the call's latest state. */
function checkRecord(b: Bundle, bodies: Map<number, Record<string, unknown>>, problems: string[]): StoredRecord | null {
  let record: StoredRecord | null = null;
  try {
    record = parseStoredRecord(JSON.stringify(b.record));
    validateRecord(record, { erased: record.erasedAt !== null });
    if (JSON.stringify(b.record) !== serialiseRecord(record)) {
      problems.push('record: has fields or a field order a stored record does not have');
    }
  } catch (e) {
    problems.push(`record: ${(e as Error).message}`);
  }
  const writer = bodies.get(b.recordSeq);
  if (record) {
    if (record.uniqueId !== b.uniqueId) problems.push(`record: about call ${record.uniqueId}, not ${b.uniqueId}`);
    if (!writer) problems.push(`record: the entry that wrote it (seq ${b.recordSeq}) is not in the bundle`);
    else if (writer.recordDigest !== sha256Hex(serialiseRecord(record))) problems.push(`record: differs from what entry seq ${b.recordSeq} recorded`);
    const last = lastWriter(bodies);
    if (writer && last && last.seq !== b.recordSeq) problems.push(`record: not the latest state of the call: entry seq ${last.seq} (${last.type}) wrote it after seq ${b.recordSeq}`);
  }
  return record;
}

/** The notice texts against the version the record names, and the seal against its entry. */
function checkNoticeAndSeal(b: Bundle, record: StoredRecord | null, bodies: Map<number, Record<string, unknown>>, problems: string[]): void {
  if (b.notice !== null && b.notice !== undefined) {
    const n = b.notice;
    if (!Array.isArray(n.prompts) || n.prompts.some((p) => typeof p?.text !== 'string' || typeof p.lang !== 'string' || typeof p.prompt !== 'string')) problems.push('notice: malformed');
    else if (noticeVersionOf(n.prompts) !== n.version || (record && record.noticeVersion !== n.version)) {
      problems.push(`notice: its texts and audio hashes do not give the version the record names (${record?.noticeVersion ?? '?'})`);
    }
  }
  const sealEntries = [...bodies.values()].filter((x) => x.type === 'seal');
  if (sealEntries.length > 1) problems.push('seal: more than one seal entry');
  const sealBody = sealEntries[0] ? sealOf(JSON.stringify(sealEntries[0])) : null;
  if (sealBody) {
    if (JSON.stringify(sealFields(sealBody)) !== JSON.stringify(sortKeys(b.seal ?? {}))) problems.push('seal: differs from the seal entry');
  } else if (b.seal) problems.push('seal: no seal entry in the bundle');
}

/** The entry that wrote the record last, as the store applies writes (a lower stage never overwrites a higher one). */
function lastWriter(bodies: Map<number, Record<string, unknown>>): RecordWriter | null {
  let best: RecordWriter | null = null;
  for (const seq of [...bodies.keys()].sort((x, y) => x - y)) best = nextWriter(best, seq, String(bodies.get(seq)?.type));
  return best;
}

/**
 * The call's own chain: an entry that names the call's previous entry (`callPrev`, in entries made
 * since calls were linked) must follow that entry in the bundle, and one that names none must be the
 * call's first; so no entry about the call can be left out between its first and its last.
 */
function checkCallLinks(bodies: Map<number, Record<string, unknown>>, problems: string[]): void {
  const seqs = [...bodies.keys()].sort((x, y) => x - y);
  seqs.forEach((seq, i) => {
    const body = bodies.get(seq) as Record<string, unknown>;
    if (!('callPrev' in body)) return; // an entry from before calls were linked
    const before = i > 0 ? (seqs[i - 1] as number) : null;
    const p = body.callPrev as { seq?: unknown; hash?: unknown } | null;
    if (p === null) {
      if (before !== null) problems.push(`entry seq ${seq}: says it is the call's first entry, but the bundle has entry seq ${before} before it`);
      return;
    }
    if (typeof p !== 'object' || typeof p.seq !== 'number' || !isHex(p.hash, 64)) {
      problems.push(`entry seq ${seq}: its link to the call's previous entry is malformed`);
      return;
    }
    if (p.seq !== before) problems.push(`entry seq ${seq}: the call's previous entry is seq ${p.seq}, which the bundle ${bodies.has(p.seq) ? 'does not have just before it' : 'leaves out'}`);
  });
}
