/**
 * The files of an access folder, from what collect.ts found of one person:
 *
 *   records.json, records.csv   every record, as `ledger list --json` and `ledger export --format csv` show it
 *   calls/<uniqueId>.json       per call: a summary in French and Arabic (the evidence summary's
 *                               sentences), the record, its entries in the chain, the notice catalogue
 *                               of its version (texts per language, audio hashes), its recording
 *   recordings/<uniqueId>.wav   decrypted copies, when an opener is given (the controller's identity)
 *   lettre-fr.*, lettre-ar.*    the cover letter, HTML and text (letter.ts)
 *   README.txt                  every file, and the recordings not in the folder
 *
 * Nothing in them comes from another person's records: the calls are the person's, and the entries
 * are those about their calls.
 */
import { createHash } from 'node:crypto';
import type { ProfileSet } from '../config/profiles';
import { DEFAULT_PROFILE } from '../domain/vocabulary';
import { describeCall } from '../evidence';
import { csvHeader, csvRow, toStored } from '../ledger';
import type { AccessCall, Collected } from './collect';
import { docHtml, docText } from './document';
import type { AccessFolder } from './folder';
import { letterDoc, type LetterCall, type LetterFacts, type LetterProfile } from './letter';
import { LETTER_LANGS, type RecordingState } from './letter-texts';
import { readmeText, type RecordingEntry } from './readme';

/**
 * Opens a call's recording (it is kept encrypted) into `outPath`, a new file in the folder: a
 * decrypted copy. The recordings slice provides it, with the controller's identity.
 */
export type RecordingOpener = (uniqueId: string, outPath: string) => Promise<{ ok: true } | { ok: false; reason: string }>;

export interface WriteOptions {
  profiles: ProfileSet;
  /** This server (server.id): recordings held by another server are named, not opened. */
  serverId: string;
  /** Days the calls of a profile no longer configured are kept: the default's (ledger.retentionDays). */
  defaultRetentionDays: number;
  /** With the controller's identity, the recordings' opener; null: the recordings are listed. */
  opener: RecordingOpener | null;
  now: Date;
}

export interface Written {
  records: number;
  /** Decrypted copies in the folder. */
  recordings: number;
  /** Recordings of this server listed, not copied (no opener). */
  listed: number;
  elsewhere: { uniqueId: string; server: string }[];
  failures: { uniqueId: string; reason: string }[];
  /** The campaign profiles of the person's calls. */
  profiles: string[];
}

/** A file name for each call: its uniqueId when that is a plain name, else a digest of it; never twice the same. */
function fileNames(calls: readonly AccessCall[]): Map<AccessCall, string> {
  const used = new Set<string>();
  const out = new Map<AccessCall, string>();
  for (const c of calls) {
    const id = c.record.uniqueId;
    let name = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id) ? id : `call-${createHash('sha256').update(id).digest('hex').slice(0, 16)}`;
    if (used.has(name)) name = `${name}-${createHash('sha256').update(`${c.log}\u0000${id}`).digest('hex').slice(0, 8)}`;
    used.add(name);
    out.set(c, name);
  }
  return out;
}

function recordingEntry(c: AccessCall, serverId: string, state: RecordingState, extra: Partial<RecordingEntry> = {}): RecordingEntry {
  const file = c.record.recording?.file;
  return {
    uniqueId: c.record.uniqueId,
    state,
    server: file?.server ?? c.seal?.server ?? serverId,
    file: c.seal?.file ?? file?.path ?? '',
    sealed: c.seal !== null,
    durationMs: c.seal?.durationMs ?? null,
    sha256: c.seal?.sha256 ?? null,
    copy: null,
    ...extra,
  };
}

/** What becomes of a call's recording: none, deleted, elsewhere, listed, or opened into the folder. */
async function giveRecording(folder: AccessFolder, c: AccessCall, name: string, opts: WriteOptions): Promise<RecordingEntry> {
  const rec = c.record.recording;
  if (!rec) return recordingEntry(c, opts.serverId, 'none');
  if (!rec.file) return recordingEntry(c, opts.serverId, 'deleted');
  if (rec.file.server !== null && rec.file.server !== opts.serverId) return recordingEntry(c, opts.serverId, 'elsewhere');
  if (!opts.opener) return recordingEntry(c, opts.serverId, 'listed');
  const rel = `recordings/${name}.wav`;
  let reason: string;
  try {
    const r = await opts.opener(c.record.uniqueId, folder.pathOf(rel));
    if (r.ok && folder.adopt(rel)) return recordingEntry(c, opts.serverId, 'copied', { copy: rel });
    reason = r.ok ? 'the recording was not written' : r.reason;
  } catch (e) {
    reason = e instanceof Error ? e.message : String(e);
  }
  folder.remove(rel); // whatever was left of it
  return recordingEntry(c, opts.serverId, 'failed', { reason });
}

function parsedBody(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

function callJson(c: AccessCall, r: RecordingEntry): string {
  const s = describeCall({ uniqueId: c.record.uniqueId, record: c.record, entries: c.entries, notice: c.notice, seal: c.seal });
  const recording = r.state === 'none' ? null : { state: r.state, startedAt: c.record.recording?.startedAt ?? null, server: r.server, file: r.file || null, copy: r.copy, seal: c.seal };
  return `${JSON.stringify(
    {
      uniqueId: c.record.uniqueId,
      log: c.log,
      profile: c.record.profile ?? DEFAULT_PROFILE,
      summary: { fr: s.fr.join(' '), ar: s.ar.join(' ') },
      record: toStored(c.record),
      recordSeq: c.recordSeq,
      entries: c.entries.map((e) => ({ seq: e.seq, hash: e.hash, body: parsedBody(e.body) })),
      ...(c.missing.length > 0 ? { missingEntries: c.missing } : {}),
      notice: c.notice,
      recording,
    },
    null,
    2,
  )}\n`;
}

function letterCall(c: AccessCall, r: RecordingEntry): LetterCall {
  const w = c.record.withdrawal;
  return {
    uniqueId: c.record.uniqueId,
    enteredAt: c.record.enteredAt,
    direction: c.record.direction,
    outcome: c.record.outcome,
    withdrawal: w ? { at: w.at, by: w.by } : null,
    pauses: c.record.pauses.length,
    recording: r.state,
  };
}

/** The profiles of the calls, in the order of their first call; the default alone when there is none. */
function letterProfiles(calls: readonly AccessCall[], recs: ReadonlyMap<AccessCall, RecordingEntry>, opts: WriteOptions): LetterProfile[] {
  const byName = new Map<string, AccessCall[]>();
  for (const c of calls) {
    const name = c.record.profile ?? DEFAULT_PROFILE;
    byName.set(name, [...(byName.get(name) ?? []), c]);
  }
  if (byName.size === 0) byName.set(DEFAULT_PROFILE, []);
  return [...byName].map(([name, own]) => {
    const p = opts.profiles.get(name);
    const callsOf = own.map((c) => letterCall(c, recs.get(c) as RecordingEntry));
    if (p) {
      const { controller, cndpReference, purposes, recipients, retention, rights } = p.legal;
      return { name, configured: true, controller, cndpReference, purposes, recipients, retention, rights, retentionDays: p.retentionDays, calls: callsOf };
    }
    // A profile since removed: the controller its notice named; its legal texts are in that notice.
    const controller = own.map((c) => c.notice?.controller ?? '').find((x) => x.trim() !== '') ?? '';
    return { name, configured: false, controller, cndpReference: '', purposes: {}, recipients: {}, retention: {}, rights: {}, retentionDays: opts.defaultRetentionDays, calls: callsOf };
  });
}

function elsewhereByServer(entries: readonly RecordingEntry[]): { server: string; count: number }[] {
  const m = new Map<string, number>();
  for (const e of entries) if (e.state === 'elsewhere') m.set(e.server, (m.get(e.server) ?? 0) + 1);
  return [...m].map(([server, count]) => ({ server, count }));
}

/** Writes every file of the folder; the folder is committed by the caller. */
export async function writeAccess(folder: AccessFolder, collected: Collected, opts: WriteOptions): Promise<Written> {
  const { calls } = collected;
  const names = fileNames(calls);
  const recs = new Map<AccessCall, RecordingEntry>();
  for (const c of calls) recs.set(c, await giveRecording(folder, c, names.get(c) as string, opts));
  folder.write('records.json', `${JSON.stringify(calls.map((c) => toStored(c.record)), null, 2)}\n`);
  folder.write('records.csv', csvHeader() + calls.map((c) => csvRow(c.record)).join(''));
  for (const c of calls) folder.write(`calls/${names.get(c) as string}.json`, callJson(c, recs.get(c) as RecordingEntry));

  const entries = [...recs.values()];
  const count = (s: RecordingState) => entries.filter((e) => e.state === s).length;
  const facts: LetterFacts = {
    generatedAt: opts.now.toISOString(),
    profiles: letterProfiles(calls, recs, opts),
    recordings: { copied: count('copied'), listed: count('listed'), failed: count('failed'), elsewhere: elsewhereByServer(entries) },
  };
  for (const lang of LETTER_LANGS) {
    const doc = letterDoc(facts, lang);
    folder.write(`lettre-${lang}.html`, docHtml(doc));
    folder.write(`lettre-${lang}.txt`, docText(doc));
  }
  folder.write('README.txt', readmeText([...folder.files, 'README.txt'], entries, facts.generatedAt));
  return {
    records: calls.length,
    recordings: count('copied'),
    listed: count('listed'),
    elsewhere: entries.filter((e) => e.state === 'elsewhere').map((e) => ({ uniqueId: e.uniqueId, server: e.server })),
    failures: entries.filter((e) => e.state === 'failed').map((e) => ({ uniqueId: e.uniqueId, reason: e.reason ?? '' })),
    profiles: facts.profiles.filter((p) => p.calls.length > 0).map((p) => p.name),
  };
}
