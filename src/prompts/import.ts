/**
 * `consent-ivr prompts import`: a voice artist's recordings, one file per prompt named
 * `<prompt>.<ext>` in any format the installed sox reads, made into prompts. Each take is measured
 * (`sox stats`): a clipped one (peaks at full scale) or a silent one is refused. The others have their
 * leading and trailing silence cut, their loudness brought to one RMS level (a limiter keeps the peaks
 * below full scale), and are converted to what Asterisk plays (8 kHz mono 16-bit WAV), written whole
 * into the profile's folder of that language and recorded in its manifest as imported, so that
 * `prompts build` leaves them alone and the notice version covers them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { promisify } from 'node:util';
import { PROMPT_NAMES, type Language, type PromptName } from '../domain/vocabulary';
import { ownerOf, promptFile, readManifest, sha256, writeManifest, type PromptProfile } from './build';
import { configuredText } from './texts';

const run = promisify(execFile);

/** The levels a take is judged and made to (dBFS). */
export const IMPORT_LEVELS = {
  /** A peak at or above this is a clipped take. */
  clipPeakDb: -0.1,
  /** A peak below this, or an RMS below the next, is a silent take (or a wrong file). */
  silentPeakDb: -40,
  silentRmsDb: -55,
  /** What silence is, to the trimming at both ends. */
  trimThresholdDb: -50,
  /** The RMS level every take is brought to. */
  targetRmsDb: -20,
} as const;

/** What `sox FILE -n stats` says of a file, its first column (all channels together). */
export interface SoxStats {
  peakDb: number;
  rmsDb: number;
  seconds: number;
}

/** Parses the report of sox's `stats` effect (pure); -inf is -Infinity. Throws when a figure is missing. */
export function parseSoxStats(report: string): SoxStats {
  const figures = new Map<string, number>();
  for (const line of report.split('\n')) {
    const m = /^([A-Za-z][A-Za-z .-]*?)\s+(-?inf|-?[0-9]+(?:\.[0-9]+)?)([kMG]?)(?:\s|$)/.exec(line.trim());
    if (!m || figures.has(m[1] as string)) continue;
    const [, key, number, unit] = m as unknown as [string, string, string, string];
    const value = number.endsWith('inf') ? (number.startsWith('-') ? -Infinity : Infinity) : Number(number) * ({ k: 1e3, M: 1e6, G: 1e9 }[unit] ?? 1);
    figures.set(key, value);
  }
  const get = (key: string): number => {
    const v = figures.get(key);
    if (v === undefined) throw new Error(`sox stats gave no "${key}"`);
    return v;
  };
  return { peakDb: get('Pk lev dB'), rmsDb: get('RMS lev dB'), seconds: get('Length s') };
}

export type TakeVerdict = { ok: true } | { ok: false; reason: 'clipped' | 'silent'; message: string };

const db = (v: number): string => (v === -Infinity ? '-inf' : v.toFixed(1));

/** Whether a take, as sox measured it, can be made into a prompt (pure). */
export function judgeTake(stats: SoxStats, levels = IMPORT_LEVELS): TakeVerdict {
  if (stats.peakDb >= levels.clipPeakDb) {
    return { ok: false, reason: 'clipped', message: `clipped: it peaks at ${db(stats.peakDb)} dBFS (full scale); record or export it again with peaks below -1 dBFS` };
  }
  if (stats.peakDb < levels.silentPeakDb || stats.rmsDb < levels.silentRmsDb) {
    return { ok: false, reason: 'silent', message: `silent: peak ${db(stats.peakDb)} dBFS, RMS ${db(stats.rmsDb)} dBFS (below ${levels.silentPeakDb} / ${levels.silentRmsDb}); is it the right file?` };
  }
  return { ok: true };
}

/** The gain that brings a take's RMS to the target (pure). */
export function gainFor(stats: SoxStats, levels = IMPORT_LEVELS): number {
  return Math.round((levels.targetRmsDb - stats.rmsDb) * 100) / 100;
}

/** The file formats sox reads here, from `sox -h`'s AUDIO FILE FORMATS line (pure). */
export function soxFormats(help: string): string[] {
  const line = help.split('\n').find((l) => l.startsWith('AUDIO FILE FORMATS:'));
  return line ? line.slice('AUDIO FILE FORMATS:'.length).trim().split(/\s+/).filter((f) => f !== '') : [];
}

/** A file of the artist's folder, and what becomes of it. */
export interface TakeFile {
  /** The file's name in the artist's folder. */
  from: string;
  prompt?: PromptName;
  reason?: string;
}

/**
 * Which files of the artist's folder are takes of which prompt (pure): `<prompt>.<ext>` (the name's
 * case aside) in a format sox reads. A name that is no prompt is ignored; a prompt given twice, or in
 * a format sox does not read here, is refused.
 */
export function planImport(names: readonly string[], formats: readonly string[]): { takes: TakeFile[]; rejected: TakeFile[]; ignored: TakeFile[] } {
  const takes: TakeFile[] = [];
  const rejected: TakeFile[] = [];
  const ignored: TakeFile[] = [];
  const byPrompt = new Map<PromptName, string[]>();
  for (const from of [...names].sort()) {
    if (from.startsWith('.')) continue;
    const ext = extname(from).slice(1).toLowerCase();
    const stem = (ext === '' ? from : from.slice(0, -(ext.length + 1))).toLowerCase();
    const prompt = PROMPT_NAMES.find((p) => p === stem);
    if (!prompt) {
      ignored.push({ from, reason: `not a prompt's name (${PROMPT_NAMES.join(', ')}, each .wav, .flac, ...)` });
      continue;
    }
    if (!formats.includes(ext)) {
      const usual = ['wav', 'flac', 'ogg', 'mp3', 'aiff', 'w64'].filter((f) => formats.includes(f));
      const mp3 = ext === 'mp3' ? '; Debian: libsox-fmt-mp3' : '';
      rejected.push({ from, prompt, reason: `sox on this host does not read .${ext || '(no extension)'} files (it reads ${usual.join(', ')} and others: sox -h${mp3})` });
      continue;
    }
    byPrompt.set(prompt, [...(byPrompt.get(prompt) ?? []), from]);
  }
  for (const [prompt, files] of byPrompt) {
    if (files.length === 1) takes.push({ from: files[0] as string, prompt });
    else for (const from of files) rejected.push({ from, prompt, reason: `${files.length} files for ${prompt} (${files.join(', ')}): keep one` });
  }
  return { takes, rejected, ignored };
}

export interface ImportedTake {
  prompt: PromptName;
  from: string;
  file: string;
  /** Length of the take, and of the prompt made of it (silence cut, a short pause added). */
  secondsIn: number;
  secondsOut: number;
  gainDb: number;
}

export interface ImportReport {
  imported: ImportedTake[];
  rejected: TakeFile[];
  ignored: TakeFile[];
  /** The prompts of this profile and language that have no file yet, and whether `prompts build` can speak them. */
  missing: { prompt: PromptName; hasText: boolean }[];
}

async function stats(file: string): Promise<SoxStats> {
  // stats writes its report to stderr.
  const { stderr } = await run('sox', [file, '-n', 'stats']);
  return parseSoxStats(stderr);
}

/** The formats the installed sox reads. */
export async function installedSoxFormats(): Promise<string[]> {
  try {
    const { stdout } = await run('sox', ['-h']);
    return soxFormats(stdout);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string };
    // Some builds exit non-zero after printing their help.
    if (err.stdout) return soxFormats(err.stdout);
    throw new Error(err.code === 'ENOENT' ? 'sox is not installed (Debian: sox)' : `sox -h failed: ${err.message}`, { cause: e });
  }
}

/** Makes one take into a prompt at `target` (written whole); the verdict when it was refused. */
async function importTake(source: string, target: string): Promise<{ ok: true; take: Omit<ImportedTake, 'prompt' | 'from' | 'file'> } | { ok: false; message: string }> {
  const before = await stats(source);
  const verdict = judgeTake(before);
  if (!verdict.ok) return { ok: false, message: verdict.message };
  const hidden = join(dirname(target), `.${basename(target)}.${randomBytes(8).toString('hex')}`);
  const trimmed = `${hidden}.trim.wav`;
  const tmp = `${hidden}.tmp.wav`;
  const t = String(IMPORT_LEVELS.trimThresholdDb);
  try {
    // One channel, silence cut at both ends, 8 kHz; 32-bit float so that nothing clips before the gain.
    await run('sox', [source, '-e', 'floating-point', '-b', '32', trimmed, 'channels', '1', 'silence', '1', '0.05', `${t}d`, 'reverse', 'silence', '1', '0.05', `${t}d`, 'reverse', 'rate', '8000']);
    const cut = await stats(trimmed);
    if (cut.seconds < 0.1 || cut.rmsDb === -Infinity) return { ok: false, message: 'nothing is left once the silence is cut' };
    const gainDb = gainFor(cut);
    // gain -l: a limiter keeps the peaks below full scale; then 16-bit (dithered) and a short pause after the words.
    const { stderr } = await run('sox', [trimmed, '-t', 'wav', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', tmp, 'gain', '-l', String(gainDb), 'pad', '0', '0.3']);
    if (/clipped/i.test(stderr)) return { ok: false, message: `could not be brought to ${IMPORT_LEVELS.targetRmsDb} dBFS RMS without clipping (${stderr.trim()})` };
    const after = await stats(tmp);
    renameSync(tmp, target);
    return { ok: true, take: { secondsIn: before.seconds, secondsOut: after.seconds, gainDb } };
  } finally {
    rmSync(trimmed, { force: true });
    rmSync(tmp, { force: true });
  }
}

export interface ImportOptions {
  /** Replace a file there that consent-ivr did not write (by default it is kept, and the take refused). */
  force?: boolean;
  /** The formats sox reads (default: asked of the installed sox). */
  formats?: readonly string[];
}

/** Imports the takes in `sourceDir` for one profile and language, into `soundsDir`. */
export async function importPrompts(profile: PromptProfile, lang: Language, sourceDir: string, soundsDir = profile.prompts.soundsDir, opts: ImportOptions = {}): Promise<ImportReport> {
  const names = readdirSync(sourceDir).filter((n) => statSync(join(sourceDir, n)).isFile());
  const plan = planImport(names, opts.formats ?? (await installedSoxFormats()));
  const dir = join(soundsDir, lang, profile.prompts.folder);
  mkdirSync(dir, { recursive: true });
  const manifest = readManifest(dir);
  const report: ImportReport = { imported: [], rejected: [...plan.rejected], ignored: plan.ignored, missing: [] };
  for (const { from, prompt } of plan.takes) {
    if (!prompt) continue;
    const name = `${prompt}.wav`;
    const file = join(dir, name);
    const owner = ownerOf(manifest, name, existsSync(file) ? sha256(readFileSync(file)) : null);
    if (owner === 'admin' && !opts.force) {
      report.rejected.push({ from, prompt, reason: `${file} is there and consent-ivr did not write it: kept (--force replaces it)` });
      continue;
    }
    const result = await importTake(join(sourceDir, from), file).catch((e: Error & { stderr?: string }) => ({
      ok: false as const,
      message: `sox could not read or convert it: ${(e.stderr?.trim() || e.message).split('\n')[0] ?? ''}`,
    }));
    if (!result.ok) {
      report.rejected.push({ from, prompt, reason: result.message });
      continue;
    }
    manifest.imported = { ...manifest.imported, [name]: { audio: sha256(readFileSync(file)), from, at: new Date().toISOString() } };
    delete manifest.files[name];
    writeManifest(dir, manifest);
    report.imported.push({ prompt, from, file, ...result.take });
  }
  for (const prompt of PROMPT_NAMES) {
    if (!existsSync(promptFile(soundsDir, profile.prompts.folder, lang, prompt))) report.missing.push({ prompt, hasText: configuredText(profile, lang, prompt) !== null });
  }
  return report;
}
