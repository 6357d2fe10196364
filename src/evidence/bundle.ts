/**
 * The evidence bundle of one call: a single JSON file that whoever holds the ledger's public key can
 * check offline, without Redis, the configuration or our systems.
 *
 * It holds the call's record, every ledger entry about the call with a Merkle inclusion proof in a
 * signed checkpoint, the checkpoint and the fingerprint of the key that signed it, the texts of the
 * notice version the caller heard with the SHA-256 of each audio file, the recording's seal, and a
 * summary in French and Arabic. `verifyBundle` recomputes every link: entry hashes, proofs against the
 * signed root, the record's digest in the entry that wrote it, the notice version from its texts and
 * audio hashes, the seal against its entry, and the summary from the checked data. Any field changed
 * makes one of these fail.
 */
import { entryLeaf, entryHash, Frontier, LogTree, TreeError, verifyConsistency, verifyInclusion, findRecord, parseStoredRecord, serialiseRecord, sha256Hex, validateRecord, nextWriter, type AdminStore, type RecordWriter, type NoticeCatalogue, type RecordingSeal, type StoredChainEntry, type StoredRecord, type StoredJson, toStored } from '../ledger';
import { fingerprint, openNote, parseCheckpoint, type VerifierKey } from './checkpoint';
import { logOfOrigin, originOf } from './checkpoint-file';
import { sealOf } from './seal';
import { noticeVersionOf } from '../prompts';

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

const TOP_KEYS = ['format', 'uniqueId', 'log', 'generatedAt', 'record', 'recordSeq', 'entries', 'checkpoint', 'key', 'notice', 'seal', 'summary'] as const;

// ------------------------------------------------------------------------------------------- summary

const OUTCOME_FR: Record<string, string> = {
  accepted: "a accepté l'enregistrement",
  refused: "a refusé l'enregistrement",
  'no-input': "n'a pas choisi (aucune touche) : l'appel n'a pas été enregistré",
  abandoned: "a raccroché avant de choisir : l'appel n'a pas été enregistré",
  unavailable: "n'a pas pu être consulté (service indisponible) : l'appel n'a pas été enregistré",
  error: "n'a pas pu être consulté (erreur) : l'appel n'a pas été enregistré",
};
const OUTCOME_AR: Record<string, string> = {
  accepted: 'وافق على التسجيل',
  refused: 'رفض التسجيل',
  'no-input': 'لم يضغط على أي زر: لم تُسجَّل المكالمة',
  abandoned: 'أنهى المكالمة قبل الاختيار: لم تُسجَّل المكالمة',
  unavailable: 'لم يُسأل (الخدمة غير متاحة): لم تُسجَّل المكالمة',
  error: 'لم يُسأل (خطأ): لم تُسجَّل المكالمة',
};
const LANG_FR: Record<string, string> = { ar: 'arabe', fr: 'français' };
const LANG_AR: Record<string, string> = { ar: 'العربية', fr: 'الفرنسية' };

/** "2026-11-30 14:02:03 UTC" */
function when(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '?';
}

/** The summary of checked data, in French and Arabic (the same text every time for the same data). */
export function summarise(b: Pick<EvidenceBundle, 'uniqueId' | 'log' | 'entries' | 'notice' | 'seal'> & { record: StoredRecord; size: number; keyName: string }): { fr: string; ar: string } {
  const r = b.record;
  const fr: string[] = [];
  const ar: string[] = [];
  const dirFr = r.direction === 'outbound' ? 'sortant' : 'entrant';
  const dirAr = r.direction === 'outbound' ? 'صادرة' : 'واردة';
  fr.push(`Appel ${b.uniqueId} (${dirFr}), reçu le ${when(r.enteredAt)}.`);
  ar.push(`المكالمة ${b.uniqueId} (${dirAr})، بتاريخ ${when(r.enteredAt)}.`);
  if (r.noticeStartedAt) {
    fr.push(`L'avis d'enregistrement (version ${r.noticeVersion}) a commencé le ${when(r.noticeStartedAt)}${b.notice ? `; ses ${b.notice.prompts.length} textes sont joints` : ''}.`);
    ar.push(`بدأ إشعار التسجيل (النسخة ${r.noticeVersion}) في ${when(r.noticeStartedAt)}${b.notice ? `، ونصوصه الـ${b.notice.prompts.length} مرفقة` : ''}.`);
  }
  const outcome = r.outcome ?? 'unknown';
  const keyFr = r.digit ? ` (touche ${r.digit})` : '';
  const keyAr = r.digit ? ` (الزر ${r.digit})` : '';
  fr.push(`La personne ${OUTCOME_FR[outcome] ?? outcome}${keyFr}${r.decidedAt ? ` le ${when(r.decidedAt)}` : ''}${r.language ? `, en ${LANG_FR[r.language] ?? r.language}` : ''}.`);
  ar.push(`الشخص ${OUTCOME_AR[outcome] ?? outcome}${keyAr}${r.decidedAt ? ` في ${when(r.decidedAt)}` : ''}${r.language ? `، باللغة ${LANG_AR[r.language] ?? r.language}` : ''}.`);
  if (r.recording?.startedAt) {
    fr.push(`L'enregistrement a commencé le ${when(r.recording.startedAt)}, après l'acceptation.`);
    ar.push(`بدأ التسجيل في ${when(r.recording.startedAt)}، بعد الموافقة.`);
  }
  const w = r.withdrawal;
  if (w) {
    const byFr = w.by === 'agent' ? "par l'agent, à la demande de la personne" : 'par la personne';
    const byAr = w.by === 'agent' ? 'من طرف الموظف بطلب من الشخص' : 'من طرف الشخص';
    fr.push(`Le consentement a été retiré ${byFr} le ${when(w.at)} : l'enregistrement s'est arrêté là${w.recording === 'deleted' ? ' et la partie enregistrée a été supprimée' : ''}.`);
    ar.push(`سُحبت الموافقة ${byAr} في ${when(w.at)}: توقف التسجيل${w.recording === 'deleted' ? ' وحُذف الجزء المسجَّل' : ''}.`);
  }
  if (b.seal) {
    const s = (b.seal.durationMs / 1000).toFixed(1);
    fr.push(`Fichier d'enregistrement scellé le ${when(b.seal.at)} : ${b.seal.size} octets, ${s} s, SHA-256 ${b.seal.sha256}.`);
    ar.push(`خُتم ملف التسجيل في ${when(b.seal.at)}: ${b.seal.size} بايت، ${s} ثانية، SHA-256 ${b.seal.sha256}.`);
  }
  if (r.erasedAt) {
    fr.push(`Les données personnelles de cet appel ont été effacées le ${when(r.erasedAt)} (enregistrement supprimé).`);
    ar.push(`مُحيت المعطيات الشخصية لهذه المكالمة في ${when(r.erasedAt)} (حُذف التسجيل).`);
  }
  fr.push(`Preuve : ${b.entries.length} entrée(s) du journal « ${b.log} », incluses dans un point de contrôle de ${b.size} entrées signé par la clé « ${b.keyName} ».`);
  ar.push(`الإثبات: ${b.entries.length} قيد من السجل «${b.log}»، مدرجة في نقطة تحقق من ${b.size} قيدًا موقعة بالمفتاح «${b.keyName}».`);
  return { fr: fr.join(' '), ar: ar.join(' ') };
}

// -------------------------------------------------------------------------------------------- verify

export interface BundleCheck {
  ok: boolean;
  /** What does not match, one line each. */
  problems: string[];
  /** Checkpoint size and signer, when the checkpoint opened. */
  checkpoint: { size: number; signedBy: string } | null;
}

function isHex(v: unknown, len?: number): v is string {
  return typeof v === 'string' && /^[0-9a-f]+$/.test(v) && (len === undefined || v.length === len);
}

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

  // The checkpoint and the key.
  let size: number;
  let root: Buffer;
  try {
    const opened = openNote(String(b.checkpoint?.note ?? ''), [key]);
    const c = parseCheckpoint(opened.text);
    if (c.origin !== originOf(b.log)) problems.push(`checkpoint: signed for ${c.origin}, but the bundle is about log "${b.log}"`);
    size = c.size;
    root = c.root;
  } catch (e) {
    return fail(`checkpoint: ${(e as Error).message}`);
  }
  const fp = fingerprint(key);
  if (b.key?.fingerprint !== fp || b.key.name !== key.name || b.key.keyId !== key.keyId) problems.push(`key: the bundle names key ${b.key?.name ?? '?'} (${b.key?.fingerprint ?? '?'}), not the key given (${key.name}, ${fp})`);

  // The entries: hashes, proofs, and that each is about this call.
  const bodies = new Map<number, Record<string, unknown>>();
  const hashes = new Map<number, string>();
  const seqs = new Set<number>();
  for (const e of b.entries as unknown[]) {
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

  // The record: the digest in the entry that wrote it.
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

  // The notice texts.
  if (b.notice !== null && b.notice !== undefined) {
    const n = b.notice;
    if (!Array.isArray(n.prompts) || n.prompts.some((p) => typeof p?.text !== 'string' || typeof p.lang !== 'string' || typeof p.prompt !== 'string')) problems.push('notice: malformed');
    else if (noticeVersionOf(n.prompts) !== n.version || (record && record.noticeVersion !== n.version)) {
      problems.push(`notice: its texts and audio hashes do not give the version the record names (${record?.noticeVersion ?? '?'})`);
    }
  }

  // The seal, against its entry.
  const sealEntries = [...bodies.values()].filter((x) => x.type === 'seal');
  if (sealEntries.length > 1) problems.push('seal: more than one seal entry');
  const sealBody = sealEntries[0] ? sealOf(JSON.stringify(sealEntries[0])) : null;
  if (sealBody) {
    if (JSON.stringify(sealFields(sealBody)) !== JSON.stringify(sortKeys(b.seal ?? {}))) problems.push('seal: differs from the seal entry');
  } else if (b.seal) problems.push('seal: no seal entry in the bundle');

  // The summary, from the checked data.
  if (record) {
    const expected = summarise({ uniqueId: b.uniqueId, log: b.log, record, entries: b.entries as BundleEntry[], notice: b.notice ?? null, seal: b.seal ?? null, size, keyName: key.name });
    if (b.summary?.fr !== expected.fr) problems.push('summary (fr): does not say what the checked data says');
    if (b.summary?.ar !== expected.ar) problems.push('summary (ar): does not say what the checked data says');
  }
  return { ok: problems.length === 0, problems, checkpoint: { size, signedBy: key.name } };
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

/** The seal as the bundle states it: the seal entry's fields but its type and call. */
function sealFields(body: object): Record<string, unknown> {
  return sortKeys(Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'type' && k !== 'uniqueId' && k !== 'callPrev')));
}

function sortKeys(o: object): Record<string, unknown> {
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
 */
async function callEntries(log: AdminStore, uniqueId: string, recordSeq: number): Promise<{ seqs: number[]; entries: StoredChainEntry[] }> {
  const want = new Set([...(await log.eventSeqs(uniqueId)), recordSeq]);
  const got = new Map<number, StoredChainEntry>();
  while (want.size > got.size) {
    const ask = [...want].filter((q) => !got.has(q));
    const found = await log.chainEntries(ask);
    const missing = ask.filter((_, i) => found[i] === null);
    if (missing.length > 0) throw new EvidenceError(`entries ${missing.join(', ')} of this call are no longer in the log (purged or deleted); run consent-ivr ledger verify`);
    for (const e of found as StoredChainEntry[]) {
      got.set(e.seq, e);
      try {
        const p = (JSON.parse(e.body) as { callPrev?: { seq?: unknown } | null }).callPrev;
        if (p && typeof p.seq === 'number' && Number.isSafeInteger(p.seq) && p.seq > 0) want.add(p.seq);
      } catch {
        // an unreadable body: the bundle's check names it
      }
    }
  }
  const seqs = [...want].sort((a, b) => a - b);
  return { seqs, entries: seqs.map((q) => got.get(q) as StoredChainEntry) };
}

/**
 * The Merkle tree of a log's first `size` entries (from its anchor's compact range and the entries
 * after it), checked against the signed `root`.
 */
async function treeOf(log: AdminStore, size: number, root: Buffer, chunk: number): Promise<LogTree> {
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

// ------------------------------------------------------------------------------------- consistency

export const CONSISTENCY_FORMAT = 'consent-ivr-consistency/1';

/** That a later checkpoint extends an earlier one: the log only grew between them. */
export interface ConsistencyFile {
  format: typeof CONSISTENCY_FORMAT;
  log: string;
  old: { note: string };
  new: { note: string };
  /** RFC 9162 consistency proof, hex. */
  proof: string[];
}

/** Proves the log's latest trusted checkpoint consistent with an earlier one (an auditor's copy). */
export async function proveConsistency(store: AdminStore, oldNote: string, keys: readonly VerifierKey[], chunk = 1000): Promise<ConsistencyFile> {
  let old;
  try {
    old = parseCheckpoint(openNote(oldNote, keys).text);
  } catch (e) {
    throw new EvidenceError(`the earlier checkpoint: ${(e as Error).message}`);
  }
  const name = logOfOrigin(old.origin);
  if (name === null || !(await store.logs()).includes(name)) throw new EvidenceError(`the earlier checkpoint is of ${old.origin}, not a log of this ledger`);
  const log = store.forLog(name);
  let latest: { note: string; size: number; root: Buffer } | null = null;
  for await (const part of log.checkpoints(chunk)) {
    for (const c of part) {
      try {
        const p = parseCheckpoint(openNote(c.note, keys).text);
        if (p.origin === old.origin && p.size >= old.size) latest = { note: c.note, size: p.size, root: p.root };
      } catch {
        // not trusted: ledger verify reports it
      }
    }
  }
  if (!latest) throw new EvidenceError(`no trusted checkpoint of log "${name}" as large as the earlier one (${old.size} entries)`);
  const tree = await treeOf(log, latest.size, latest.root, chunk);
  let oldRoot: Buffer;
  try {
    oldRoot = tree.rootAt(old.size);
  } catch (e) {
    if (e instanceof TreeError) throw new EvidenceError(`the entries of the earlier checkpoint were purged since: no proof can be made`);
    throw e;
  }
  if (!oldRoot.equals(old.root)) throw new EvidenceError(`the log is NOT consistent with the earlier checkpoint of ${old.size} entries: entries before it were changed; run consent-ivr ledger verify`);
  const proof = old.size === 0 || old.size === latest.size ? [] : tree.consistencyProof(old.size, latest.size);
  return { format: CONSISTENCY_FORMAT, log: name, old: { note: oldNote }, new: { note: latest.note }, proof: proof.map((p) => p.toString('hex')) };
}

/** Checks a consistency file offline with the public key. */
export function verifyConsistencyFile(raw: unknown, key: VerifierKey): { ok: boolean; problems: string[]; sizes: [number, number] | null } {
  const fail = (p: string) => ({ ok: false, problems: [p], sizes: null });
  const f = raw as Partial<ConsistencyFile> | null;
  if (!f || f.format !== CONSISTENCY_FORMAT || !Array.isArray(f.proof)) return fail('not a consistency proof file');
  let a;
  let b;
  try {
    a = parseCheckpoint(openNote(String(f.old?.note ?? ''), [key]).text);
    b = parseCheckpoint(openNote(String(f.new?.note ?? ''), [key]).text);
  } catch (e) {
    return fail(`checkpoint: ${(e as Error).message}`);
  }
  if (a.origin !== b.origin) return fail(`the two checkpoints are of different logs (${a.origin}, ${b.origin})`);
  if (a.size > b.size) return fail('the earlier checkpoint is larger than the later one');
  const proof = f.proof.map((p) => (isHex(p, 64) ? Buffer.from(p, 'hex') : Buffer.alloc(0)));
  const ok = a.size === 0 ? proof.length === 0 : a.size === b.size ? proof.length === 0 && a.root.equals(b.root) : verifyConsistency(a.size, b.size, a.root, b.root, proof);
  return ok ? { ok, problems: [], sizes: [a.size, b.size] } : { ok, problems: [`the log of ${b.size} entries does not extend the one of ${a.size}: the proof fails`], sizes: [a.size, b.size] };
}
