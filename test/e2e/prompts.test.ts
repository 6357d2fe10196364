/**
 * `consent-ivr prompts build` with the real voices and sox (installed by the sandbox: espeak-ng and
 * sox on the host, MBROLA and Pico in the chroot through .sandbox/bin), and `prompts import` of
 * studio recordings made here with sox.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/load';
import { profileSetOf } from '../../src/config/profiles';
import { buildPrompts, MANIFEST, noticeVersion, type Manifest } from '../../src/prompts/build';
import { importPrompts, parseSoxStats } from '../../src/prompts/import';
import { renderText } from '../../src/prompts/texts';
import { REPO, wavSeconds } from '../support';

// The prompt commands read no secret.
const { config } = loadConfig(resolve(REPO, 'config/sandbox.yaml'), process.env, { secrets: [] });

describe('prompts', () => {
  test('When texts are rendered, then the legal values of each language are filled in', () => {
    const fr = renderText(config, 'fr', 'full-notice');
    expect(fr).toContain(config.legal.controller);
    expect(fr).toContain(config.legal.cndpReference);
    expect(fr).toContain(config.legal.retention.fr);
    expect(fr).not.toMatch(/\{[a-zA-Z]+\}/);
    expect(renderText(config, 'ar', 'full-notice')).toContain(config.legal.rights.ar);
  });

  test('When prompts are built, then every prompt is an 8 kHz mono 16-bit WAV, an admin-supplied file is left alone, and the notice version follows the audio', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'civr-sounds-'));
    // An administrator recorded their own French notice before the first build.
    mkdirSync(join(dir, 'fr', 'consent-ivr'), { recursive: true });
    const own = join(dir, 'fr', 'consent-ivr', 'notice.wav');
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', own, 'synth', '1', 'sine', '440']);
    const ownBytes = readFileSync(own);

    const first = await buildPrompts(profileSetOf(config).default, dir);
    expect(first).toHaveLength(20);
    expect(first.find((r) => r.lang === 'fr' && r.prompt === 'notice')?.status).toBe('admin-supplied');
    expect(first.filter((r) => r.status === 'generated')).toHaveLength(19);
    expect(readFileSync(own).equals(ownBytes)).toBe(true);

    const ar = join(dir, 'ar', 'consent-ivr', 'notice.wav');
    const header = readFileSync(ar);
    expect(header.readUInt16LE(22)).toBe(1); // channels
    expect(header.readUInt32LE(24)).toBe(8000); // sample rate
    expect(header.readUInt16LE(34)).toBe(16); // bits per sample
    expect(wavSeconds(ar)).toBeGreaterThan(3);

    const v1 = noticeVersion(profileSetOf(config).default, dir);
    expect(v1.audioMissing).toEqual([]);
    const second = await buildPrompts(profileSetOf(config).default, dir);
    expect(second.filter((r) => r.status === 'unchanged')).toHaveLength(19);
    expect(noticeVersion(profileSetOf(config).default, dir).version).toBe(v1.version);

    // Replacing a prompt's audio changes the notice version.
    writeFileSync(own, Buffer.concat([ownBytes, Buffer.alloc(1600)]));
    expect(noticeVersion(profileSetOf(config).default, dir).version).not.toBe(v1.version);
  }, 60000);

  test('When an artist\'s files are imported, then clipped and silent takes are refused, the others trimmed, levelled, 8 kHz mono 16-bit and marked imported; a build leaves them alone; the notice version follows them', async () => {
    const profile = profileSetOf(config).default;
    const dir = mkdtempSync(join(tmpdir(), 'civr-sounds-'));
    const takes = mkdtempSync(join(tmpdir(), 'civr-takes-'));
    const sox = (...args: string[]) => execFileSync('sox', args, { stdio: 'pipe' });
    // A studio take: 1 s of silence, 2 s of a tone, 0.7 s of silence; 44.1 kHz stereo 24-bit.
    sox('-n', '-r', '44100', '-c', '2', '-b', '24', join(takes, 'notice.wav'), 'synth', '2', 'sine', '300', 'vol', '0.2', 'pad', '1', '0.7');
    // A quiet one in FLAC (RMS about -29 dBFS).
    sox('-n', '-r', '48000', '-c', '1', join(takes, 'choice.flac'), 'synth', '1.5', 'sine', '500', 'vol', '0.05', 'pad', '0.5', '0.5');
    // Clipped: a square wave driven past full scale.
    sox('-n', '-r', '16000', '-c', '1', '-b', '16', join(takes, 'invalid.wav'), 'synth', '1', 'square', '400', 'gain', '3');
    // Silent, and almost silent.
    sox('-n', '-r', '8000', '-c', '1', join(takes, 'refused.wav'), 'trim', '0', '1');
    sox('-n', '-r', '8000', '-c', '1', join(takes, 'accepted.wav'), 'synth', '1', 'sine', '300', 'vol', '0.001');
    writeFileSync(join(takes, 'notes.txt'), 'not a prompt');

    const report = await importPrompts(profile, 'fr', takes, dir);
    expect(report.imported.map((t) => [t.prompt, t.from])).toEqual([
      ['choice', 'choice.flac'],
      ['notice', 'notice.wav'],
    ]);
    expect(report.rejected.map((r) => [r.from, (r.reason ?? '').split(':')[0]])).toEqual([
      ['accepted.wav', 'silent'],
      ['invalid.wav', 'clipped'],
      ['refused.wav', 'silent'],
    ]);
    expect(report.ignored.map((r) => r.from)).toEqual(['notes.txt']);
    expect(report.missing.map((m) => m.prompt)).toEqual(['full-notice', 'invalid', 'accepted', 'refused', 'withdrawn', 'not-recorded', 'agent-recorded', 'agent-not-recorded']);

    const folder = join(dir, 'fr', 'consent-ivr');
    // sox writes the stats to its standard error.
    const stats = (file: string, ...effects: string[]) => parseSoxStats(spawnSync('sox', [file, '-n', ...effects, 'stats'], { encoding: 'utf8' }).stderr);
    for (const prompt of ['notice', 'choice']) {
      const file = join(folder, `${prompt}.wav`);
      const header = readFileSync(file);
      expect([header.readUInt16LE(20), header.readUInt16LE(22), header.readUInt32LE(24), header.readUInt16LE(34)]).toEqual([1, 1, 8000, 16]); // PCM, mono, 8 kHz, 16-bit
      // Silence cut at both ends, 0.3 s of pause added after the words.
      const take = report.imported.find((t) => t.prompt === prompt);
      expect(wavSeconds(file)).toBeCloseTo(prompt === 'notice' ? 2.3 : 1.8, 1);
      expect(wavSeconds(file)).toBeLessThan((take?.secondsIn ?? 0) - 0.6);
      // The words (without the pause) at -20 dBFS RMS, loud or quiet as they were recorded, and never at full scale.
      const level = stats(file, 'trim', '0', String(wavSeconds(file) - 0.3));
      expect(level.rmsDb).toBeGreaterThan(-21.5);
      expect(level.rmsDb).toBeLessThan(-18.5);
      expect(level.peakDb).toBeLessThan(-0.1);
    }
    const manifest = () => JSON.parse(readFileSync(join(folder, MANIFEST), 'utf8')) as Manifest;
    expect(Object.keys(manifest().imported ?? {}).sort()).toEqual(['choice.wav', 'notice.wav']);
    expect(manifest().imported?.['choice.wav']?.from).toBe('choice.flac');
    expect(manifest().files['notice.wav']).toBeUndefined();

    // The build speaks the rest and leaves the recordings alone, even when forced.
    const recorded = readFileSync(join(folder, 'notice.wav'));
    const built = await buildPrompts(profile, dir);
    expect(built.filter((r) => r.lang === 'fr' && r.status === 'imported').map((r) => r.prompt)).toEqual(['notice', 'choice']);
    expect(built.filter((r) => r.status === 'generated')).toHaveLength(18);
    const forced = await buildPrompts(profile, dir, true);
    expect(forced.filter((r) => r.status === 'imported')).toHaveLength(2);
    expect(readFileSync(join(folder, 'notice.wav')).equals(recorded)).toBe(true);
    expect(Object.keys(manifest().imported ?? {}).sort()).toEqual(['choice.wav', 'notice.wav']);

    // A new take of the notice replaces the recording, and the notice version follows it.
    const v1 = noticeVersion(profile, dir);
    expect(v1.audioMissing).toEqual([]);
    const retake = mkdtempSync(join(tmpdir(), 'civr-takes-'));
    sox('-n', '-r', '44100', '-c', '1', join(retake, 'notice.wav'), 'synth', '2.5', 'sine', '350', 'vol', '0.3', 'pad', '0.4', '0.4');
    expect((await importPrompts(profile, 'fr', retake, dir)).imported).toHaveLength(1);
    expect(readFileSync(join(folder, 'notice.wav')).equals(recorded)).toBe(false);
    expect(noticeVersion(profile, dir).version).not.toBe(v1.version);

    // A file consent-ivr did not write is kept, unless told to replace it.
    writeFileSync(join(folder, 'withdrawn.wav'), readFileSync(join(folder, 'refused.wav')));
    sox('-n', '-r', '8000', '-c', '1', join(retake, 'withdrawn.wav'), 'synth', '1', 'sine', '440', 'vol', '0.3');
    const kept = await importPrompts(profile, 'fr', retake, dir);
    expect(kept.rejected.map((r) => r.from)).toEqual(['withdrawn.wav']);
    expect(kept.rejected[0]?.reason).toContain('--force');
    expect((await importPrompts(profile, 'fr', retake, dir, { force: true })).imported.map((t) => t.prompt).sort()).toEqual(['notice', 'withdrawn']);
    expect(existsSync(join(folder, 'withdrawn.wav'))).toBe(true);
    expect(Object.keys(manifest().imported ?? {}).sort()).toEqual(['choice.wav', 'notice.wav', 'withdrawn.wav']);
  }, 120000);

  test('When a better voice is installed (the chroot\'s Pico and MBROLA through .sandbox/bin), then the generated prompts are spoken again with it, and the recordings are left alone', async () => {
    const profile = profileSetOf(config).default;
    expect(profile.prompts.toolPath).toEqual([resolve(REPO, '.sandbox/bin')]);
    expect(existsSync(resolve(REPO, '.sandbox/bin/pico2wave'))).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'civr-sounds-'));
    const takes = mkdtempSync(join(tmpdir(), 'civr-takes-'));
    execFileSync('sox', ['-n', '-r', '16000', '-c', '1', join(takes, 'refused.wav'), 'synth', '1.2', 'sine', '320', 'vol', '0.2', 'pad', '0.2', '0.2']);
    expect((await importPrompts(profile, 'fr', takes, dir)).imported).toHaveLength(1);
    const recording = readFileSync(join(dir, 'fr', 'consent-ivr', 'refused.wav'));

    // This host's tools only: espeak-ng's own voices.
    const hostOnly = { ...profile, prompts: { ...profile.prompts, toolPath: [] } };
    const first = await buildPrompts(hostOnly, dir);
    expect(new Set(first.filter((r) => r.status === 'generated').map((r) => r.voice))).toEqual(new Set(['ar', 'fr']));

    // With the chroot's voices: Pico for French; Arabic gets an MBROLA voice only if it says every sound of the texts.
    const second = await buildPrompts(profile, dir);
    const fr = second.filter((r) => r.lang === 'fr');
    expect(fr.find((r) => r.prompt === 'refused')?.status).toBe('imported');
    expect(fr.filter((r) => r.prompt !== 'refused').map((r) => `${r.status} ${r.voice ?? ''}`)).toEqual(Array(9).fill('generated pico:fr-FR'));
    const manifest = JSON.parse(readFileSync(join(dir, 'fr', 'consent-ivr', MANIFEST), 'utf8')) as Manifest;
    expect(manifest.files['notice.wav']?.voice).toBe('pico:fr-FR');
    expect(readFileSync(join(dir, 'fr', 'consent-ivr', 'refused.wav')).equals(recording)).toBe(true);
    const header = readFileSync(join(dir, 'fr', 'consent-ivr', 'notice.wav'));
    expect([header.readUInt16LE(22), header.readUInt32LE(24), header.readUInt16LE(34)]).toEqual([1, 8000, 16]);
    expect(wavSeconds(join(dir, 'fr', 'consent-ivr', 'notice.wav'))).toBeGreaterThan(3);
    const ar = second.filter((r) => r.lang === 'ar');
    const arVoice = ar[0]?.voice;
    for (const r of ar) expect(`${r.status} ${r.voice ?? ''}`).toBe(`${arVoice === 'ar' ? 'unchanged' : 'generated'} ${arVoice ?? ''}`);

    // Nothing new installed: nothing is spoken again.
    expect((await buildPrompts(profile, dir)).filter((r) => r.status === 'generated')).toEqual([]);
  }, 120000);
});
