/** Reading what the sandbox recorded and played: lengths, levels, dominant frequency, files of a call. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { wavHeader, wavSeconds as wavBufferSeconds } from '../../src/prompts/wav';
import { until } from './wait';
import { sandbox } from './sandbox';

/** Length in seconds of a PCM WAV file. */
export function wavSeconds(file: string): number {
  return wavBufferSeconds(readFileSync(file));
}

/** Whether MixMonitor has closed a recording: Asterisk writes the WAV header's size only when it closes the file. */
export function recordingClosed(file: string): boolean {
  const buf = readFileSync(file);
  return wavHeader(buf)?.riffSize === buf.length - 8;
}

/**
 * The length of a recording once MixMonitor has closed it (its header then declares the file's size):
 * a call's result can reach the test just before Asterisk has finished the file.
 */
export async function closedRecordingSeconds(file: string, ms = 5000): Promise<number> {
  await until(() => {
    const buf = readFileSync(file);
    return wavHeader(buf)?.riffSize === buf.length - 8;
  }, ms);
  return wavSeconds(file);
}

/** Length of a consent prompt as built in the sandbox. */
export function promptSeconds(lang: 'ar' | 'fr', prompt: string): number {
  return wavSeconds(resolve(sandbox().soundsDir, lang, 'consent-ivr', `${prompt}.wav`));
}

/** Recording files of one call (named <uniqueid>.<format>), anywhere under the recordings directory. */
export function recordingsOf(uniqueId: string, dir = sandbox().recordingsDir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? recordingsOf(uniqueId, join(dir, e.name)) : e.name.startsWith(`${uniqueId}.`) ? [join(dir, e.name)] : [],
  );
}

/** `sox FILE -n [effects] stat`: the RMS amplitude (0..1) and the rough dominant frequency (Hz). */
export function soxStat(file: string, effects: string[] = []): { rms: number; hz: number } {
  const r = spawnSync('sox', [file, '-n', ...effects, 'stat'], { encoding: 'utf8' });
  const rms = /RMS\s+amplitude:\s+([\d.]+)/.exec(r.stderr)?.[1];
  const hz = /Rough\s+frequency:\s+(\d+)/.exec(r.stderr)?.[1];
  if (rms === undefined || hz === undefined) throw new Error(`sox stat failed for ${file}: ${r.stderr}`);
  return { rms: Number(rms), hz: Number(hz) };
}

/** RMS level (0..1) of an audio file within a frequency band (sox's band-pass filter). */
export function bandLevel(file: string, loHz: number, hiHz: number): number {
  return soxStat(file, ['sinc', `${loHz}-${hiHz}`]).rms;
}

/** RMS (0..1) of each `windowS` window of a 16-bit mono WAV file. */
export function windowLevels(file: string, windowS = 0.1): number[] {
  const buf = readFileSync(file);
  let off = 12;
  while (off + 8 <= buf.length && buf.toString('ascii', off, off + 4) !== 'data') off += 8 + buf.readUInt32LE(off + 4);
  const per = Math.round(buf.readUInt32LE(24) * windowS);
  const samples = buf.subarray(off + 8);
  const out: number[] = [];
  for (let i = 0; i + per * 2 <= samples.length; i += per * 2) {
    let sum = 0;
    for (let j = 0; j < per; j++) sum += (samples.readInt16LE(i + j * 2) / 32768) ** 2;
    out.push(Math.sqrt(sum / per));
  }
  return out;
}
