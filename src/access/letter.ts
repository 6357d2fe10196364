/**
 * The cover letter of an access folder, one per language (French, Arabic): what the ledger holds of
 * the person, and for each campaign profile their calls were made in, who is responsible (the
 * profile's controller and CNDP reference), why the data is kept (its purposes, and the evidence of
 * consent), to whom recordings go, how long they are kept (the profile's retention) and how to use
 * their rights. Texts from the configuration are taken in the letter's language, else in another
 * one (marked to keep its own direction). Pure: the facts come from write.ts.
 */
import { DEFAULT_PROFILE } from '../domain/vocabulary';
import type { Block, Doc, Inline, Line } from './document';
import { WORDS, type LetterLang, type RecordingState, type Words } from './letter-texts';

export interface LetterCall {
  uniqueId: string;
  enteredAt: string;
  direction: 'inbound' | 'outbound';
  outcome: string | null;
  withdrawal: { at: string; by: 'caller' | 'agent' } | null;
  pauses: number;
  recording: RecordingState;
}

/** A text in each language of a profile (legal.purposes, …). */
export type Localized = Readonly<Record<string, string>>;

export interface LetterProfile {
  name: string;
  /**
   * In the configuration. A profile since removed keeps its calls: its legal texts are then empty (the
   * notice the person heard says them), its controller the notice's, its retention the default's.
   */
  configured: boolean;
  controller: string;
  cndpReference: string;
  purposes: Localized;
  recipients: Localized;
  retention: Localized;
  rights: Localized;
  retentionDays: number;
  calls: LetterCall[];
}

export interface LetterFacts {
  generatedAt: string;
  /** The profiles the person's calls were made in (the default's alone when there are none). */
  profiles: LetterProfile[];
  recordings: { copied: number; listed: number; failed: number; elsewhere: { server: string; count: number }[] };
}

/** "2026-11-30 09:59 UTC" */
export function when(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

const ltr = (s: string): Inline => ({ ltr: s });

/** The configuration's text in `lang`, else in another language, else "not given". */
function localized(w: Words, texts: Localized, lang: LetterLang): Inline {
  const own = texts[lang]?.trim();
  if (own) return { auto: own };
  const other = Object.entries(texts).find(([, v]) => v.trim() !== '');
  return other ? { auto: `${other[1].trim()} (${other[0]})` } : w.unknown;
}

const named = (w: Words, s: string): Inline => (s.trim() === '' ? w.unknown : { auto: s.trim() });

function callRow(w: Words, c: LetterCall): Line[] {
  const withdrawal: Line = c.withdrawal ? [ltr(when(c.withdrawal.at)), ' ', w.withdrawnBy[c.withdrawal.by]] : ['—'];
  return [
    [ltr(when(c.enteredAt).replace(' UTC', ''))],
    [ltr(c.uniqueId)],
    [w.direction[c.direction]],
    [w.outcome[c.outcome ?? 'none'] ?? ltr(c.outcome ?? '')],
    [w.recording[c.recording]],
    withdrawal,
    [c.pauses > 0 ? String(c.pauses) : '—'],
  ];
}

function profileBlocks(w: Words, lang: LetterLang, p: LetterProfile): Block[] {
  const controller = named(w, p.controller);
  const out: Block[] = [{ kind: 'h2', line: w.controller(controller) }];
  if (p.name !== DEFAULT_PROFILE) out.push({ kind: 'p', line: w.campaign(p.name) });
  out.push({ kind: 'p', line: w.cndp(p.cndpReference.trim() ? ltr(p.cndpReference.trim()) : null) });
  out.push({ kind: 'h3', line: [w.why] }, { kind: 'p', line: w.purposes(localized(w, p.purposes, lang)) }, { kind: 'p', line: w.evidence });
  out.push({ kind: 'p', line: w.recipients(localized(w, p.recipients, lang)) });
  out.push({ kind: 'h3', line: [w.howLong] }, { kind: 'p', line: w.retention(localized(w, p.retention, lang), p.retentionDays) });
  if (!p.configured) out.push({ kind: 'p', line: w.notConfigured });
  if (p.calls.length > 0) out.push({ kind: 'h3', line: [w.yourCalls] }, { kind: 'table', head: w.head, rows: p.calls.map((c) => callRow(w, c)) });
  return out;
}

function recordingBlocks(w: Words, f: LetterFacts): Block[] {
  const r = f.recordings;
  const elsewhere = r.elsewhere.reduce((n, e) => n + e.count, 0);
  if (r.copied + r.listed + r.failed + elsewhere === 0) return [];
  const out: Block[] = [{ kind: 'h2', line: [w.recordings] }];
  if (r.copied > 0) out.push({ kind: 'p', line: w.copies(r.copied) });
  if (r.listed > 0) out.push({ kind: 'p', line: w.listed(r.listed) });
  if (elsewhere > 0) out.push({ kind: 'p', line: w.elsewhere(elsewhere, r.elsewhere.map((e) => e.server).join(', ')) });
  if (r.failed > 0) out.push({ kind: 'p', line: w.failed(r.failed) });
  return out;
}

/** The letter in `lang`. */
export function letterDoc(f: LetterFacts, lang: LetterLang): Doc {
  const w = WORDS[lang];
  const calls = f.profiles.flatMap((p) => p.calls);
  const held = calls.filter((c) => c.recording !== 'none' && c.recording !== 'deleted').length;
  const blocks: Block[] = [
    { kind: 'h1', line: [w.title] },
    { kind: 'p', line: w.prepared(when(f.generatedAt)) },
    { kind: 'p', line: [w.greeting] },
    { kind: 'p', line: w.intro },
    { kind: 'h2', line: [w.what] },
  ];
  if (calls.length === 0) blocks.push({ kind: 'p', line: w.none });
  else {
    const inbound = calls.filter((c) => c.direction === 'inbound').length;
    blocks.push({ kind: 'p', line: w.calls(calls.length, inbound, calls.length - inbound) }, { kind: 'p', line: w.each }, { kind: 'p', line: w.recorded(held) });
  }
  blocks.push({ kind: 'p', line: w.erased });
  for (const p of f.profiles) blocks.push(...profileBlocks(w, lang, p));
  blocks.push(...recordingBlocks(w, f));
  blocks.push({ kind: 'h2', line: [w.rights] }, { kind: 'ul', items: w.rightsList });
  blocks.push({ kind: 'p', line: w.contact }, { kind: 'ul', items: f.profiles.map((p) => w.contactOf(named(w, p.controller), localized(w, p.rights, lang))) });
  blocks.push({ kind: 'p', line: w.complaint });
  blocks.push({ kind: 'h2', line: [w.files] }, { kind: 'p', line: w.filesLine });
  blocks.push({ kind: 'p', line: [w.closing] }, { kind: 'p', line: [w.signature] });
  return { lang, title: w.title, blocks: lang === 'fr' ? blocks.map(frenchSpacing) : blocks };
}

/** French puts a no-break space before : ; ? ! (a line never starts with one), and after n°. Only the letter's own words. */
function frenchSpacing(b: Block): Block {
  const line = (l: Line): Line => l.map((i) => (typeof i === 'string' ? i.replace(/ ([:;?!])/g, '\u00a0$1').replace(/n° /g, 'n°\u00a0') : i));
  switch (b.kind) {
    case 'ul':
      return { ...b, items: b.items.map(line) };
    case 'table':
      return { ...b, rows: b.rows.map((r) => r.map(line)) };
    default:
      return { ...b, line: line(b.line) };
  }
}
