/**
 * `consent-ivr prompts build`: speaks the configured texts with the best voice installed (voices.ts)
 * and converts them with sox to what Asterisk plays (8 kHz, mono, 16-bit WAV) in
 * <soundsDir>/<lang>/<folder>/<prompt>.wav. A manifest in each folder lists the files this command
 * wrote (`files`, with the voice and text they came from) and the studio recordings `prompts import`
 * wrote (`imported`); any other .wav there was supplied by an administrator. Only the files the
 * build wrote are ever written again by it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Profile } from '../config/profiles';
import type { Language, PromptName } from '../domain/vocabulary';
import { writeOutputFile } from '../files/output-file';
import type { NoticeCatalogue } from '../ledger';
import { renderAll, type NoticeSource } from './texts';
import { VoiceBox, voiceId, type Voice, type VoiceChoice } from './voices';
import { wavSeconds } from './wav';

const run = promisify(execFile);
export const MANIFEST = '.consent-ivr-generated.json';

/** The record of one folder's files that consent-ivr wrote. */
export interface Manifest {
  /** Spoken by `prompts build`: file name → hash of (voice, speed, text) it came from, of the audio written, and the voice. */
  files: Record<string, { source: string; audio: string; voice?: string }>;
  /**
   * Studio recordings written by `prompts import`: file name → hash of the audio written, the
   * artist's file it came from, and when. Kept apart from `files`, so that no build (not even one
   * of a version that predates imports) takes them for its own.
   */
  imported?: Record<string, { audio: string; from: string; at: string }>;
}

export interface BuildResult {
  lang: Language;
  prompt: PromptName;
  file: string;
  /**
   * imported: a studio recording (`prompts import`), left alone; admin-supplied: a file consent-ivr did
   * not write, left alone; no-text: no text in this language and no recording yet; no-voice: a text
   * but no voice installed that speaks the language, and no recording yet (both need a recording).
   */
  status: 'generated' | 'unchanged' | 'admin-supplied' | 'imported' | 'no-text' | 'no-voice';
  /** The voice of a generated or unchanged prompt (as prompts.voices names it), when known. */
  voice?: string;
  /** Sounds the (forced) MBROLA voice lacks, left silent in this prompt. */
  gaps?: string[];
}

/** A profile, as the prompt commands need it. */
export type PromptProfile = Pick<Profile, 'name' | 'prompts' | 'legal' | 'flow'>;

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function promptFile(soundsDir: string, folder: string, lang: Language, prompt: PromptName): string {
  return join(soundsDir, lang, folder, `${prompt}.wav`);
}

/**
 * Whether each prompt's file is there, in the sounds directory as this host sees it: true or false,
 * or null for every prompt when the directory itself cannot be read (Asterisk on another host).
 */
export function promptAudioProbe(soundsDir: string): (profile: Pick<PromptProfile, 'prompts'>, lang: Language, prompt: PromptName) => boolean | null {
  const readable = existsSync(soundsDir);
  return (profile, lang, prompt) => (readable ? existsSync(promptFile(soundsDir, profile.prompts.folder, lang, prompt)) : null);
}

export function readManifest(dir: string): Manifest {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Partial<Manifest>;
    return { ...m, files: m.files ?? {}, imported: m.imported ?? {} };
  } catch {
    return { files: {}, imported: {} };
  }
}

/** Writes a folder's manifest whole (a build or an import stopped half-way leaves the last one complete). */
export function writeManifest(dir: string, manifest: Manifest): void {
  writeOutputFile(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Who wrote the file at `name` in a folder: the build, an import, someone else, or nobody yet. */
export function ownerOf(manifest: Manifest, name: string, audio: string | null): 'none' | 'generated' | 'imported' | 'admin' {
  if (audio === null) return 'none';
  if (manifest.imported?.[name]?.audio === audio) return 'imported';
  if (manifest.files[name]?.audio === audio) return 'generated';
  return 'admin';
}

function audioOf(file: string): string | null {
  return existsSync(file) ? sha256(readFileSync(file)) : null;
}

/** Speaks one text and converts it to the prompt's format, in place of `file`. */
async function speakPrompt(voices: VoiceBox, voice: Voice, text: string, wordsPerMinute: number, file: string, what: string): Promise<string[]> {
  const raw = `${file}.voice.wav`;
  const tmp = `${file}.tmp.wav`;
  try {
    const { gaps } = await voices.speak(voice, text, wordsPerMinute, raw);
    // 8 kHz mono 16-bit, a little silence after the words so prompts do not run into each other.
    await run('sox', [raw, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', tmp, 'pad', '0', '0.3']);
    renameSync(tmp, file);
    return gaps;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string | Buffer };
    const tool = err.code === 'ENOENT' ? ' (is sox installed?)' : '';
    const detail = err.stderr?.toString().trim() || err.message;
    throw new Error(`could not build prompt ${what} with the voice ${voiceId(voice)}${tool}: ${detail} (prompts.voices.<lang> chooses another)`, { cause: e });
  } finally {
    rmSync(raw, { force: true });
    rmSync(tmp, { force: true });
  }
}

/** The voice of each of the profile's languages; a forced voice that is not installed fails the build before anything is written. */
export async function voicesOf(config: PromptProfile, voices: VoiceBox): Promise<Map<Language, VoiceChoice>> {
  const out = new Map<Language, VoiceChoice>();
  const rendered = renderAll(config);
  for (const lang of config.flow.languages) {
    const texts = rendered.filter((r) => r.lang === lang && r.text !== null).map((r) => r.text as string);
    out.set(lang, await voices.choose(lang, config.prompts.voices[lang], texts.join('\n')));
  }
  return out;
}

/**
 * Speaks the profile's texts into its prompts folder, in each of its languages. `voices` is the
 * build's (one probe for every profile); by default one of its own, over prompts.toolPath.
 */
export async function buildPrompts(
  config: PromptProfile,
  soundsDir = config.prompts.soundsDir,
  force = false,
  voices = new VoiceBox(config.prompts.toolPath),
): Promise<BuildResult[]> {
  const { folder, wordsPerMinute } = config.prompts;
  const chosen = await voicesOf(config, voices);
  const results: BuildResult[] = [];
  const manifests = new Map<string, Manifest>();
  for (const { lang, prompt, text } of renderAll(config)) {
    const dir = join(soundsDir, lang, folder);
    mkdirSync(dir, { recursive: true });
    const manifest = manifests.get(dir) ?? readManifest(dir);
    manifests.set(dir, manifest);
    const name = `${prompt}.wav`;
    const file = join(dir, name);
    const owner = ownerOf(manifest, name, audioOf(file));
    const known = manifest.files[name];
    const done = (status: BuildResult['status'], voice?: string, gaps: string[] = []) =>
      results.push({ lang, prompt, file, status, ...(voice ? { voice } : {}), ...(gaps.length > 0 ? { gaps } : {}) });
    if (owner === 'imported') done('imported');
    else if (owner === 'admin') done('admin-supplied');
    else if (text === null) done('no-text');
    else {
      const voice = chosen.get(lang)?.voice ?? null;
      // No voice any more for a prompt spoken before: what was spoken stays.
      if (voice === null) done(owner === 'generated' ? 'unchanged' : 'no-voice', known?.voice);
      else {
        const id = voiceId(voice);
        const source = sha256(JSON.stringify([id, wordsPerMinute, text]));
        if (owner === 'generated' && known?.source === source && !force) done('unchanged', id);
        else {
          const gaps = await speakPrompt(voices, voice, text, wordsPerMinute, file, `${lang}/${prompt}`);
          manifest.files[name] = { source, audio: sha256(readFileSync(file)), voice: id };
          writeManifest(dir, manifest);
          done('generated', id, gaps);
        }
      }
    }
  }
  for (const [dir, manifest] of manifests) writeManifest(dir, manifest);
  return results;
}

/** Folder (under the sounds directory) of the pause/resume tone, the musiconhold class consent-ivr-tone. */
export const TONE_FOLDER = 'consent-ivr-tone';

/**
 * Writes the short tone both parties hear when the agent pauses or resumes the recording:
 * <soundsDir>/consent-ivr-tone/tone.wav, 0.25 s at 800 Hz then silence (the music-on-hold class
 * plays it once to the agent while the customer hears a beep). Resolves with its path.
 */
export async function buildTone(soundsDir: string): Promise<string> {
  const dir = join(soundsDir, TONE_FOLDER);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'tone.wav');
  const tmp = `${file}.tmp.wav`;
  try {
    await run('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', tmp, 'synth', '0.25', 'sine', '800', 'vol', '0.4', 'pad', '0', '5']);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return file;
}

/**
 * The notice version kept with every decision: a hash of the rendered texts and, where the
 * prompt files can be read from here, of the audio the caller hears.
 */
export function noticeVersion(
  config: PromptProfile,
  soundsDir = config.prompts.soundsDir,
): { version: string; audioMissing: string[]; catalogue: NoticeCatalogue } {
  const audioMissing: string[] = [];
  const prompts: NoticeCatalogue['prompts'] = [];
  for (const { lang, prompt, text } of renderAll(config)) {
    const file = promptFile(soundsDir, config.prompts.folder, lang, prompt);
    let audioSha256: string | null = null;
    try {
      audioSha256 = sha256(readFileSync(file));
    } catch {
      audioMissing.push(file);
    }
    // A prompt with no text (a studio recording) is '' in the catalogue: its audio hash is what it says.
    prompts.push({ lang, prompt, text: text ?? '', audioSha256 });
  }
  const version = noticeVersionOf(prompts);
  return { version, audioMissing, catalogue: { version, profile: config.name, controller: config.legal.controller, prompts } };
}

/**
 * The version of a notice: a digest of every text spoken and of every audio file's SHA-256, so that
 * whoever holds the texts and the audio hashes (an evidence bundle) can recompute it.
 */
export function noticeVersionOf(prompts: NoticeCatalogue['prompts']): string {
  const h = createHash('sha256');
  for (const p of prompts) h.update(`${p.lang}/${p.prompt}\0${p.text}\0${p.audioSha256 ?? ''}\0`);
  return h.digest('hex').slice(0, 16);
}

/** Seconds of each prompt file that can be read, keyed "<lang>/<prompt>". */
export function promptDurations(config: NoticeSource, soundsDir = config.prompts.soundsDir): Map<string, number> {
  const out = new Map<string, number>();
  for (const { lang, prompt } of renderAll(config)) {
    try {
      out.set(`${lang}/${prompt}`, wavSeconds(readFileSync(promptFile(soundsDir, config.prompts.folder, lang, prompt))));
    } catch {
      // Not readable from here (Asterisk on another host): the timing check is skipped for it.
    }
  }
  return out;
}

