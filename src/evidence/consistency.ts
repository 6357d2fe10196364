/** That a later checkpoint of a log extends an earlier one (the log only grew): the proof, and its check offline. */
import { TreeError, verifyConsistency, type AdminStore } from '../ledger';
import { EvidenceError, treeOf } from './bundle';
import { isHex } from './bundle-check';
import { openNote, parseCheckpoint, type VerifierKey } from './checkpoint';
import { logOfOrigin } from './checkpoint-file';

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
