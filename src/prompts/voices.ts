/**
 * The synthetic voices `prompts build` can speak with, and the choice of one per language.
 *
 * Three engines, best first where a language has several: Pico (`pico2wave`, a voice of its own for
 * a few languages, French among them), the MBROLA diphone voices driven by espeak-ng (`mb-fr4`,
 * `mb-ar1`: espeak-ng's pronunciation, recorded human diphones), and espeak-ng's own formant voice.
 * A language none of them has (Tamazight) needs studio recordings.
 *
 * The tools are looked for in `prompts.toolPath`, then PATH. Each folder found is taken as a bin/
 * folder: the voice data is in its ../share/mbrola/<voice> and ../share/pico/lang/ (as /usr/bin,
 * /usr/share/mbrola and /usr/share/pico/lang are on Debian). The probe reads that once; the choice
 * from what it found is pure; a voice chosen automatically is tried before it is used (a digit, and
 * for an MBROLA voice the texts themselves: one lacking some of their sounds would leave silences).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Language } from '../domain/vocabulary';

const run = promisify(execFile);

export type Engine = 'espeak' | 'mbrola' | 'pico';

/** A voice: the engine, and the name that engine knows it by (espeak-ng `fr`, `mb-fr4`; Pico `fr-FR`). */
export interface Voice {
  engine: Engine;
  name: string;
}

/** One line of `espeak-ng --voices=<lang>`: the voice's language and file (mb/mb-fr4, roa/fr), in espeak-ng's order of preference. */
export interface EspeakVoiceLine {
  language: string;
  file: string;
}

/** What is installed, as one probe found it. */
export interface InstalledVoices {
  /** Paths of the tools found (null: not found). */
  espeak: string | null;
  mbrola: string | null;
  pico: string | null;
  /** MBROLA voice data found (ar1, fr4). */
  mbrolaVoices: readonly string[];
  /** Pico languages whose data is found (fr-FR). */
  picoLanguages: readonly string[];
  /** For each language asked about, espeak-ng's voices for it. */
  espeakVoices: Readonly<Record<Language, readonly EspeakVoiceLine[]>>;
}

/** How a voice is written in `prompts.voices` and the manifest: `fr` (espeak-ng), `mb-fr4` (MBROLA), `pico:fr-FR`. */
export function voiceId(voice: Voice): string {
  return voice.engine === 'pico' ? `pico:${voice.name}` : voice.name;
}

/** A voice as `prompts.voices` names it. */
export function parseVoice(id: string): Voice {
  if (id.startsWith('pico:')) return { engine: 'pico', name: id.slice('pico:'.length) };
  if (id.startsWith('mb-')) return { engine: 'mbrola', name: id };
  return { engine: 'espeak', name: id };
}

/** The data an MBROLA voice of espeak-ng needs: mb-fr4 → fr4, mb-fr1-en → fr1. */
export function mbrolaDataOf(name: string): string {
  return /^mb-([a-z]+[0-9]+)/.exec(name)?.[1] ?? name.replace(/^mb-/, '');
}

const ENGINE_NAMES: Record<Engine, string> = { espeak: 'espeak-ng', mbrola: 'MBROLA through espeak-ng', pico: 'Pico' };

/** A voice in words, for the build's report. */
export function describeVoice(voice: Voice): string {
  return `${voiceId(voice)} (${ENGINE_NAMES[voice.engine]})`;
}

/** Parses `espeak-ng --voices[=lang]` (pure): its lines in order, the header left out. */
export function parseEspeakVoices(listing: string): EspeakVoiceLine[] {
  const out: EspeakVoiceLine[] = [];
  for (const line of listing.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // Pty Language Age/Gender VoiceName File [Other languages]
    if (cols.length < 5 || !/^[0-9]+$/.test(cols[0] ?? '')) continue;
    out.push({ language: (cols[1] ?? '').toLowerCase(), file: cols[4] ?? '' });
  }
  return out;
}

const primary = (lang: string): string => lang.toLowerCase().split('-')[0] ?? '';

/** The Pico language for a language: the same code (fr-FR), else the first of the same language (fr → fr-FR). Pure. */
export function picoLanguageFor(lang: Language, installed: readonly string[]): string | null {
  return installed.find((p) => p.toLowerCase() === lang.toLowerCase()) ?? installed.find((p) => primary(p) === primary(lang)) ?? null;
}

/**
 * The voices that can speak a language, best first (pure): Pico, then the MBROLA voices whose data
 * is installed (in espeak-ng's order for the language), then espeak-ng's own. Empty: no voice at all.
 */
export function voiceCandidates(lang: Language, installed: InstalledVoices): Voice[] {
  const out: Voice[] = [];
  const pico = installed.pico ? picoLanguageFor(lang, installed.picoLanguages) : null;
  if (pico) out.push({ engine: 'pico', name: pico });
  if (!installed.espeak) return out;
  const lines = installed.espeakVoices[lang] ?? [];
  if (installed.mbrola) {
    for (const { file } of lines) {
      const name = file.split('/').pop() ?? '';
      if (file.startsWith('mb/') && installed.mbrolaVoices.includes(mbrolaDataOf(name)) && !out.some((v) => v.name === name)) out.push({ engine: 'mbrola', name });
    }
  }
  // espeak-ng resolves the language code itself, as `-v <lang>`.
  if (lines.some((l) => !l.file.startsWith('mb/'))) out.push({ engine: 'espeak', name: lang });
  return out;
}

/** Why a voice that `prompts.voices.<lang>` forces cannot be used here, or null when it can (pure). */
export function forcedVoiceProblem(lang: Language, id: string, installed: InstalledVoices): string | null {
  const key = `prompts.voices.${lang}`;
  const voice = parseVoice(id);
  if (voice.engine === 'pico') {
    if (!installed.pico) return `${key} is ${id}, but pico2wave is not installed (Debian: libttspico-utils)`;
    if (!installed.picoLanguages.includes(voice.name)) return `${key} is ${id}, but Pico has no ${voice.name} here (it has: ${installed.picoLanguages.join(', ') || 'none'})`;
    return null;
  }
  if (!installed.espeak) return `${key} is ${id}, but espeak-ng is not installed`;
  if (voice.engine === 'mbrola') {
    const data = mbrolaDataOf(voice.name);
    if (!installed.mbrola) return `${key} is ${id}, but mbrola is not installed (Debian: mbrola)`;
    if (!installed.mbrolaVoices.includes(data)) return `${key} is ${id}, but the MBROLA voice ${data} is not installed (Debian: mbrola-${data})`;
  }
  return null;
}

// ------------------------------------------------------------------------------------ the probe

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** MBROLA voices in a share/mbrola folder: <voice>/<voice>, <voice>, or voices/<voice> (where espeak-ng looks). */
function mbrolaVoicesIn(dir: string): string[] {
  const found = new Set<string>();
  for (const name of listDir(dir)) {
    const path = join(dir, name);
    if (existsSync(join(path, name)) || (name !== 'voices' && existsSync(path) && statSync(path).isFile())) found.add(name);
  }
  for (const name of listDir(join(dir, 'voices'))) found.add(name);
  return [...found];
}

/** Pico languages in a share/pico/lang folder: those with both their text analysis (_ta) and signal (_sg) files. */
function picoLanguagesIn(dir: string): string[] {
  const files = listDir(dir);
  return files
    .filter((f) => f.endsWith('_ta.bin'))
    .map((f) => f.slice(0, -'_ta.bin'.length))
    .filter((lang) => files.some((f) => f.startsWith(`${lang}_`) && f.endsWith('_sg.bin')));
}

/** The folders searched for the tools: prompts.toolPath, then PATH. */
export function searchPath(toolPath: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  return [...toolPath, ...(env.PATH ?? '').split(delimiter)].filter((d) => d !== '');
}

function findTool(name: string, dirs: readonly string[]): string | null {
  for (const dir of dirs) if (executable(join(dir, name))) return join(dir, name);
  return null;
}

/** Finds the tools and their voice data (the espeak-ng voices of each language are asked separately). */
export function probeTools(dirs: readonly string[]): Omit<InstalledVoices, 'espeakVoices'> {
  const espeak = findTool('espeak-ng', dirs);
  const mbrola = findTool('mbrola', dirs);
  const pico = findTool('pico2wave', dirs);
  const share = (tool: string | null, ...sub: string[]) => (tool ? [join(dirname(tool), '..', 'share', ...sub)] : []);
  const mbrolaDirs = [...new Set([...share(espeak, 'mbrola'), ...share(mbrola, 'mbrola')])];
  return {
    espeak,
    mbrola,
    pico,
    mbrolaVoices: [...new Set(mbrolaDirs.flatMap(mbrolaVoicesIn))].sort(),
    picoLanguages: share(pico, 'pico', 'lang').flatMap(picoLanguagesIn).sort(),
  };
}

// ------------------------------------------------------------------------------------ speaking

/**
 * A text as espeak-ng reads it best (pure): in Arabic, the shadda before the short vowel of its
 * letter. Unicode's canonical order puts the vowel first (an editor that normalises the text does),
 * and espeak-ng then reads the letter without its vowel (at-tsjīl for at-tasjīl).
 */
export function forEspeak(text: string): string {
  return text.replace(/([\u064B-\u0650\u0652])\u0651/g, '\u0651$1');
}

/** What the engines are run with: the tools found, and a PATH that has the tool path first (espeak-ng runs mbrola). */
interface Tools {
  found: Omit<InstalledVoices, 'espeakVoices'>;
  env: NodeJS.ProcessEnv;
}

/**
 * The sounds an MBROLA voice could not make, from espeak-ng's standard error (pure): mbrola warns
 * "a-R unknown, replaced with _-_" for each diphone it lacks, which it leaves silent.
 */
export function mbrolaGaps(stderr: string): string[] {
  return [...new Set([...stderr.matchAll(/mbrola: (?:Warning: )?(\S+) unknown/g)].map((m) => m[1] as string))];
}

/**
 * Speaks `text` with a voice into `wavFile` (a WAV at the engine's own rate); resolves with the
 * sounds an MBROLA voice left silent. espeak-ng writes to its standard output, so that a tool run
 * elsewhere (a wrapper into a chroot) needs no path of this host.
 */
async function speakWith(tools: Tools, voice: Voice, text: string, wordsPerMinute: number, wavFile: string): Promise<{ gaps: string[] }> {
  if (voice.engine === 'pico') {
    if (!tools.found.pico) throw new Error('pico2wave is not installed');
    await run(tools.found.pico, ['-l', voice.name, '-w', wavFile, text], { env: tools.env, timeout: 120_000 });
    if (!existsSync(wavFile) || statSync(wavFile).size <= 44) throw new Error(`pico2wave wrote no audio for ${voice.name}`);
    return { gaps: [] };
  }
  if (!tools.found.espeak) throw new Error('espeak-ng is not installed');
  const { stdout, stderr } = await run(tools.found.espeak, ['-v', voice.name, '-s', String(wordsPerMinute), '--stdout', forEspeak(text)], {
    env: tools.env,
    encoding: 'buffer',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120_000,
  });
  // espeak-ng exits 0 with no audio when the voice does not exist (or mbrola is missing).
  if (stdout.length <= 44 || stdout.toString('ascii', 0, 4) !== 'RIFF') {
    throw new Error(`espeak-ng -v ${voice.name} produced no audio${stderr.length > 0 ? `: ${stderr.toString('utf8').trim().split('\n')[0] ?? ''}` : ''}`);
  }
  writeFileSync(wavFile, stdout);
  return { gaps: voice.engine === 'mbrola' ? mbrolaGaps(stderr.toString('utf8')) : [] };
}

/** The voice of a language for a build, and the ones tried before it that could not speak the texts. */
export interface VoiceChoice {
  lang: Language;
  /** Null: no voice installed speaks this language, or it has no text (studio recordings needed). */
  voice: Voice | null;
  forced: boolean;
  /** False when the language has no text in this profile: nothing is spoken in it. */
  needed: boolean;
  skipped: { voice: Voice; error: string }[];
}

/**
 * The voices of one build: the tools probed once, each language's voice chosen once (the forced
 * one, else the best installed that says the texts whole), and the speaking itself.
 */
export class VoiceBox {
  private tools: Tools | null = null;
  private readonly listings = new Map<Language, Promise<EspeakVoiceLine[]>>();
  private readonly choices = new Map<string, Promise<VoiceChoice>>();

  constructor(
    private readonly toolPath: readonly string[] = [],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private toolsNow(): Tools {
    if (!this.tools) {
      const dirs = searchPath(this.toolPath, this.env);
      this.tools = { found: probeTools(dirs), env: { ...this.env, PATH: dirs.join(delimiter) } };
    }
    return this.tools;
  }

  private espeakVoices(lang: Language): Promise<EspeakVoiceLine[]> {
    const { found, env } = this.toolsNow();
    if (!found.espeak) return Promise.resolve([]);
    let listing = this.listings.get(lang);
    if (!listing) {
      listing = run(found.espeak, [`--voices=${lang}`], { env, timeout: 30_000 }).then(
        (r) => parseEspeakVoices(r.stdout),
        () => [],
      );
      this.listings.set(lang, listing);
    }
    return listing;
  }

  /** What this host has, for the languages named. */
  async installed(languages: readonly Language[]): Promise<InstalledVoices> {
    const espeakVoices: Record<Language, readonly EspeakVoiceLine[]> = {};
    for (const lang of languages) espeakVoices[lang] = await this.espeakVoices(lang);
    return { ...this.toolsNow().found, espeakVoices };
  }

  /**
   * The voice that speaks `texts` (a language's texts, all of them) in `lang`: `forced` when set (an
   * error when it is not installed), else the best installed that says them whole.
   */
  choose(lang: Language, forced: string | undefined, texts: string): Promise<VoiceChoice> {
    const key = `${lang}\0${forced ?? ''}\0${createHash('sha256').update(texts).digest('hex')}`;
    let choice = this.choices.get(key);
    if (!choice) {
      choice = this.chooseNow(lang, forced, texts);
      this.choices.set(key, choice);
    }
    return choice;
  }

  private async chooseNow(lang: Language, forced: string | undefined, texts: string): Promise<VoiceChoice> {
    if (texts.trim() === '') return { lang, voice: null, forced: false, needed: false, skipped: [] };
    const installed = await this.installed([lang]);
    if (forced !== undefined) {
      const problem = forcedVoiceProblem(lang, forced, installed);
      if (problem) throw new Error(problem);
      return { lang, voice: parseVoice(forced), forced: true, needed: true, skipped: [] };
    }
    const skipped: VoiceChoice['skipped'] = [];
    for (const voice of voiceCandidates(lang, installed)) {
      const error = await this.tryVoice(voice, texts);
      if (error === null) return { lang, voice, forced: false, needed: true, skipped };
      skipped.push({ voice, error });
    }
    return { lang, voice: null, forced: false, needed: true, skipped };
  }

  /**
   * Whether a voice can speak: a digit, and for an MBROLA voice the texts themselves (a voice's
   * diphones may not cover the sounds espeak-ng asks for, or words in another script: those would
   * be silent). Null when it can, else why not.
   */
  private async tryVoice(voice: Voice, texts: string): Promise<string | null> {
    const file = join(tmpdir(), `consent-ivr-voice-${process.pid}-${randomBytes(6).toString('hex')}.wav`);
    try {
      const { gaps } = await speakWith(this.toolsNow(), voice, voice.engine === 'mbrola' ? texts : '1', 175, file);
      if (gaps.length === 0) return null;
      return `it lacks ${gaps.length} of the sounds of these texts (${gaps.slice(0, 5).join(', ')}${gaps.length > 5 ? ', ...' : ''}), which would be silent`;
    } catch (e) {
      return ((e as { stderr?: Buffer | string }).stderr?.toString().trim() || (e as Error).message).split('\n')[0] ?? 'failed';
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Speaks a text into `wavFile`; resolves with the sounds an MBROLA voice left silent. */
  speak(voice: Voice, text: string, wordsPerMinute: number, wavFile: string): Promise<{ gaps: string[] }> {
    return speakWith(this.toolsNow(), voice, text, wordsPerMinute, wavFile);
  }
}
