/**
 * `consent-ivr prompts build`: speaks the configured texts with espeak-ng and converts them with sox
 * to what Asterisk plays (8 kHz, mono, 16-bit WAV) in <soundsDir>/<lang>/<folder>/<prompt>.wav.
 * A manifest in each folder lists the files this command wrote; any other .wav there was supplied
 * by an administrator and is left alone.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Profile } from '../config/profiles';
import type { Language, PromptName } from '../domain/vocabulary';
import type { NoticeCatalogue } from '../ledger';
import { renderAll, type NoticeSource } from './texts';
import { wavSeconds } from './wav';

const run = promisify(execFile);
export const MANIFEST = '.consent-ivr-generated.json';

interface Manifest {
  /** file name → hash of (voice, speed, text) it was generated from, and of the audio written */
  files: Record<string, { source: string; audio: string }>;
}

export interface BuildResult {
  lang: Language;
  prompt: PromptName;
  file: string;
  /** no-text: the prompt has no text in this language and no recording yet (a studio recording is needed). */
  status: 'generated' | 'unchanged' | 'admin-supplied' | 'no-text';
}

/** A profile, as the prompt commands need it. */
export type PromptProfile = Pick<Profile, 'name' | 'prompts' | 'legal' | 'flow'>;

function sha256(data: string | Buffer): string {
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

function readManifest(dir: string): Manifest {
  try {
    return JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return { files: {} };
  }
}

/** Speaks the profile's texts into its prompts folder, in each of its languages. */
export async function buildPrompts(config: PromptProfile, soundsDir = config.prompts.soundsDir, force = false): Promise<BuildResult[]> {
  const { folder, voices, wordsPerMinute } = config.prompts;
  const results: BuildResult[] = [];
  const manifests = new Map<string, Manifest>();
  for (const { lang, prompt, text } of renderAll(config)) {
    const dir = join(soundsDir, lang, folder);
    mkdirSync(dir, { recursive: true });
    const manifest = manifests.get(dir) ?? readManifest(dir);
    manifests.set(dir, manifest);
    const name = `${prompt}.wav`;
    const file = join(dir, name);
    const voice = voices[lang] ?? lang;
    const source = sha256(JSON.stringify([voice, wordsPerMinute, text]));
    const known = manifest.files[name];
    if (text === null) {
      results.push({ lang, prompt, file, status: existsSync(file) ? 'admin-supplied' : 'no-text' });
      continue;
    }
    if (existsSync(file)) {
      const audio = sha256(readFileSync(file));
      if (!known || known.audio !== audio) {
        results.push({ lang, prompt, file, status: 'admin-supplied' });
        continue;
      }
      if (known.source === source && !force) {
        results.push({ lang, prompt, file, status: 'unchanged' });
        continue;
      }
    }
    const raw = `${file}.espeak.wav`;
    const tmp = `${file}.tmp.wav`;
    try {
      await run('espeak-ng', ['-v', voice, '-s', String(wordsPerMinute), '-w', raw, text]);
      // 8 kHz mono 16-bit, a little silence after the words so prompts do not run into each other.
      await run('sox', [raw, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', tmp, 'pad', '0', '0.3']);
      renameSync(tmp, file);
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string };
      const tool = err.code === 'ENOENT' ? ' (is espeak-ng and sox installed?)' : '';
      throw new Error(`could not build prompt ${lang}/${prompt}${tool}: ${err.stderr?.trim() || err.message}`, { cause: e });
    } finally {
      rmSync(raw, { force: true });
      rmSync(tmp, { force: true });
    }
    manifest.files[name] = { source, audio: sha256(readFileSync(file)) };
    results.push({ lang, prompt, file, status: 'generated' });
  }
  for (const [dir, manifest] of manifests) writeFileSync(join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
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
      audioSha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
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

