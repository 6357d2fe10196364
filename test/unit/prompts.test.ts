/**
 * The pure parts of the prompts' voices, studio imports and the voice artist's script: which voice a
 * language gets from what a probe found, how a forced voice is checked, what `sox stats` says of a
 * take and what is done with it, which of an artist's files are takes, and the script's text.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, validate } from '../../src/config/load';
import { profileSetOf } from '../../src/config/profiles';
import { ownerOf, type Manifest } from '../../src/prompts/build';
import { gainFor, IMPORT_LEVELS, judgeTake, parseSoxStats, planImport, soxFormats } from '../../src/prompts/import';
import { languageName, renderScript, scriptOf } from '../../src/prompts/script';
import { runImport, runScript } from '../../src/cli/prompts-commands';
import {
  forcedVoiceProblem,
  forEspeak,
  mbrolaDataOf,
  mbrolaGaps,
  parseEspeakVoices,
  parseVoice,
  picoLanguageFor,
  probeTools,
  voiceCandidates,
  voiceId,
  type InstalledVoices,
} from '../../src/prompts/voices';

const SANDBOX = resolve(__dirname, '../../config/sandbox.yaml');
const env = { CONSENT_IVR_ARI_PASSWORD: 'a', CONSENT_IVR_AMI_SECRET: 'b', CONSENT_IVR_PSEUDONYM_KEY: 'c', CONSENT_IVR_API_TOKEN: 'd', CONSENT_IVR_LEDGER_SIGNING_KEY: 'e' };

/** What `espeak-ng --voices=fr` and `--voices=ar` print (espeak-ng 1.52), cut down. */
const ESPEAK_FR = `Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  fr-fr           --/M      French_(France)    roa/fr               (fr 5)
 7  fr-fr           --/M      french-mbrola-1    mb/mb-fr1            (fr 7)
 7  fr-fr           --/F      french-mbrola-4    mb/mb-fr4            (fr 7)
 5  fr-be           --/M      French_(Belgium)   roa/fr-BE            (fr 8)
 8  fr-fr           --/F      french-mbrola-2    mb/mb-fr2            (fr 8)
`;
const ESPEAK_AR = `Pty Language       Age/Gender VoiceName          File                 Other Languages
 1  ar              --/M      arabic-mbrola-1    mb/mb-ar1
 2  ar              --/M      arabic-mbrola-2    mb/mb-ar2
 5  ar              --/M      Arabic             sem/ar
`;
const EMPTY = 'Pty Language       Age/Gender VoiceName          File                 Other Languages\n';

function installed(over: Partial<InstalledVoices> = {}): InstalledVoices {
  return {
    espeak: '/usr/bin/espeak-ng',
    mbrola: '/usr/bin/mbrola',
    pico: '/usr/bin/pico2wave',
    mbrolaVoices: ['ar1', 'ar2', 'fr1', 'fr4'],
    picoLanguages: ['de-DE', 'en-GB', 'es-ES', 'fr-FR'],
    espeakVoices: { fr: parseEspeakVoices(ESPEAK_FR), ar: parseEspeakVoices(ESPEAK_AR), zgh: parseEspeakVoices(EMPTY), shi: [] },
    ...over,
  };
}

const ids = (lang: string, i: InstalledVoices) => voiceCandidates(lang, i).map(voiceId);

describe('voices', () => {
  test('When espeak-ng lists its voices, then each line gives the language and file, in its order, the header left out', () => {
    expect(parseEspeakVoices(ESPEAK_FR)).toEqual([
      { language: 'fr-fr', file: 'roa/fr' },
      { language: 'fr-fr', file: 'mb/mb-fr1' },
      { language: 'fr-fr', file: 'mb/mb-fr4' },
      { language: 'fr-be', file: 'roa/fr-BE' },
      { language: 'fr-fr', file: 'mb/mb-fr2' },
    ]);
    expect(parseEspeakVoices(EMPTY)).toEqual([]);
  });

  test('When everything is installed, then French gets Pico, then the installed MBROLA voices in espeak-ng\'s order, then espeak-ng\'s own; Arabic its MBROLA voices, then espeak-ng', () => {
    expect(ids('fr', installed())).toEqual(['pico:fr-FR', 'mb-fr1', 'mb-fr4', 'fr']);
    // mb-fr2 is listed by espeak-ng, but its data is not installed.
    expect(ids('fr', installed())).not.toContain('mb-fr2');
    expect(ids('ar', installed())).toEqual(['mb-ar1', 'mb-ar2', 'ar']);
  });

  test('When a tool is missing, then its voices are not offered: no mbrola, no MBROLA voice; no espeak-ng, Pico only; nothing, no voice', () => {
    expect(ids('ar', installed({ mbrola: null }))).toEqual(['ar']);
    expect(ids('fr', installed({ pico: null, mbrolaVoices: ['fr4'] }))).toEqual(['mb-fr4', 'fr']);
    expect(ids('fr', installed({ espeak: null }))).toEqual(['pico:fr-FR']);
    expect(ids('ar', installed({ espeak: null, pico: null }))).toEqual([]);
  });

  test('When a language has no voice anywhere (Tamazight), then it has no candidate: its prompts need recordings', () => {
    expect(ids('zgh', installed())).toEqual([]);
    expect(ids('shi', installed())).toEqual([]);
    expect(ids('shi-Tfng', installed())).toEqual([]);
  });

  test('When Pico has a language in another region, then it is taken for the language (es-MA → es-ES); the exact region first', () => {
    expect(picoLanguageFor('es-MA', ['es-ES'])).toBe('es-ES');
    expect(picoLanguageFor('fr', ['fr-FR'])).toBe('fr-FR');
    expect(picoLanguageFor('en-US', ['en-GB', 'en-US'])).toBe('en-US');
    expect(picoLanguageFor('ar', ['fr-FR'])).toBeNull();
  });

  test('When prompts.voices names a voice, then it is read as espeak-ng, MBROLA or Pico, and written back the same', () => {
    expect(parseVoice('fr')).toEqual({ engine: 'espeak', name: 'fr' });
    expect(parseVoice('mb-fr4')).toEqual({ engine: 'mbrola', name: 'mb-fr4' });
    expect(parseVoice('pico:fr-FR')).toEqual({ engine: 'pico', name: 'fr-FR' });
    for (const id of ['fr', 'mb-fr4', 'pico:fr-FR', 'ar']) expect(voiceId(parseVoice(id))).toBe(id);
    expect(mbrolaDataOf('mb-fr4')).toBe('fr4');
    expect(mbrolaDataOf('mb-fr1-en')).toBe('fr1');
  });

  test('When a forced voice is not installed, then the problem names the key and the package; when it is, there is none', () => {
    expect(forcedVoiceProblem('fr', 'mb-fr4', installed())).toBeNull();
    expect(forcedVoiceProblem('fr', 'pico:fr-FR', installed())).toBeNull();
    expect(forcedVoiceProblem('ar', 'ar', installed())).toBeNull();
    expect(forcedVoiceProblem('fr', 'mb-fr2', installed())).toBe('prompts.voices.fr is mb-fr2, but the MBROLA voice fr2 is not installed (Debian: mbrola-fr2)');
    expect(forcedVoiceProblem('fr', 'mb-fr4', installed({ mbrola: null }))).toContain('mbrola is not installed');
    expect(forcedVoiceProblem('fr', 'pico:fr-FR', installed({ pico: null }))).toContain('libttspico-utils');
    expect(forcedVoiceProblem('it', 'pico:it-IT', installed())).toContain('Pico has no it-IT here');
    expect(forcedVoiceProblem('ar', 'ar', installed({ espeak: null }))).toContain('espeak-ng is not installed');
  });

  test('When mbrola lacks diphones, then each is named once (those would be silent)', () => {
    const stderr = ['mbrola: Warning: a-R unknown, replaced with _-_', 'mbrola: Warning: R-a unknown, replaced with _-_', 'mbrola: Warning: a-R unknown, replaced with _-_', 'mbrola: A@ unknown, replaced with _-_', 'something else'].join('\n');
    expect(mbrolaGaps(stderr)).toEqual(['a-R', 'R-a', 'A@']);
    expect(mbrolaGaps('')).toEqual([]);
  });

  test('When Arabic text has the vowel before the shadda (Unicode\'s order), then espeak-ng gets the shadda first; other text is unchanged', () => {
    expect(forEspeak('التَّسْجِيلِ'.normalize('NFC'))).toBe('الت\u0651\u064Eسْجِيلِ');
    expect(forEspeak('Tapez 1 pour accepter')).toBe('Tapez 1 pour accepter');
  });

  test('When tools are in a folder of the tool path, then they are found there first, and the voice data beside it (../share/mbrola, ../share/pico/lang)', () => {
    const root = mkdtempSync(join(tmpdir(), 'civr-tools-'));
    const bin = join(root, 'bin');
    mkdirSync(bin);
    for (const tool of ['espeak-ng', 'mbrola', 'pico2wave']) writeFileSync(join(bin, tool), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(bin, 'not-a-tool'), '', { mode: 0o644 });
    mkdirSync(join(root, 'share', 'mbrola', 'fr4'), { recursive: true });
    writeFileSync(join(root, 'share', 'mbrola', 'fr4', 'fr4'), '');
    mkdirSync(join(root, 'share', 'mbrola', 'ar1'), { recursive: true });
    writeFileSync(join(root, 'share', 'mbrola', 'ar1', 'ar1'), '');
    mkdirSync(join(root, 'share', 'mbrola', 'empty'), { recursive: true });
    mkdirSync(join(root, 'share', 'pico', 'lang'), { recursive: true });
    for (const f of ['fr-FR_ta.bin', 'fr-FR_nk0_sg.bin', 'de-DE_ta.bin']) writeFileSync(join(root, 'share', 'pico', 'lang', f), '');
    const found = probeTools([bin, join(root, 'nowhere')]);
    expect(found).toEqual({ espeak: join(bin, 'espeak-ng'), mbrola: join(bin, 'mbrola'), pico: join(bin, 'pico2wave'), mbrolaVoices: ['ar1', 'fr4'], picoLanguages: ['fr-FR'] });
    expect(probeTools([join(root, 'nowhere')])).toMatchObject({ espeak: null, mbrola: null, pico: null, mbrolaVoices: [], picoLanguages: [] });
  });
});

describe('configuration of the voices', () => {
  test('When prompts.toolPath is relative, then it is taken from the configuration file\'s folder', () => {
    const { config } = loadConfig(SANDBOX, env);
    expect(config.prompts.toolPath).toEqual([resolve(__dirname, '../../.sandbox/bin')]);
  });

  test('When a profile sets prompts.toolPath, then it is refused: one setting of the service', () => {
    expect(() => validate({ prompts: { texts: {} }, profiles: { bank: { prompts: { toolPath: ['/opt/bin'] } } } })).toThrow(
      'profiles.bank.prompts.toolPath: one setting of the whole service; set it at the top level (prompts.toolPath)',
    );
  });
});

describe('studio recordings: the decisions of prompts import', () => {
  const STATS = `DC offset  -0.000005
Min level  -1.000000
Max level   0.999969
Pk lev dB       0.00
RMS lev dB     -1.07
RMS Pk dB      -1.06
RMS Tr dB      -1.11
Crest factor    1.13
Flat factor     7.34
Pk count       15.2k
Bit-depth      16/16
Num samples    44.1k
Length s       1.000
Scale max   1.000000
Window s       0.050
`;

  test('When sox stats reports a file, then its peak, RMS and length are read (the first column of several channels, -inf for silence)', () => {
    expect(parseSoxStats(STATS)).toEqual({ peakDb: 0, rmsDb: -1.07, seconds: 1 });
    const stereo = `             Overall     Left      Right\nPk lev dB     -10.46    -10.46    -12.00\nRMS lev dB    -13.47    -13.47    -15.00\nLength s       2.000\n`;
    expect(parseSoxStats(stereo)).toEqual({ peakDb: -10.46, rmsDb: -13.47, seconds: 2 });
    expect(parseSoxStats('Pk lev dB       -inf\nRMS lev dB      -inf\nLength s       1.000\n')).toEqual({ peakDb: -Infinity, rmsDb: -Infinity, seconds: 1 });
    expect(() => parseSoxStats('nothing')).toThrow(/Pk lev dB/);
  });

  test('When a take peaks at full scale, then it is refused as clipped; below -40 dBFS peak or -55 dBFS RMS, as silent; else it is taken', () => {
    expect(judgeTake({ peakDb: 0, rmsDb: -12, seconds: 2 })).toMatchObject({ ok: false, reason: 'clipped' });
    expect(judgeTake({ peakDb: -0.05, rmsDb: -12, seconds: 2 })).toMatchObject({ ok: false, reason: 'clipped' });
    expect(judgeTake({ peakDb: -45, rmsDb: -50, seconds: 2 })).toMatchObject({ ok: false, reason: 'silent' });
    expect(judgeTake({ peakDb: -20, rmsDb: -60, seconds: 2 })).toMatchObject({ ok: false, reason: 'silent' });
    expect(judgeTake({ peakDb: -Infinity, rmsDb: -Infinity, seconds: 2 })).toMatchObject({ ok: false, reason: 'silent', message: expect.stringContaining('-inf') });
    expect(judgeTake({ peakDb: -3, rmsDb: -22, seconds: 2 })).toEqual({ ok: true });
    expect(judgeTake({ peakDb: -0.2, rmsDb: -30, seconds: 2 })).toEqual({ ok: true });
  });

  test('When a take is quieter or louder than the target, then the gain brings its RMS to -20 dBFS', () => {
    expect(IMPORT_LEVELS.targetRmsDb).toBe(-20);
    expect(gainFor({ peakDb: -10, rmsDb: -29.5, seconds: 1 })).toBe(9.5);
    expect(gainFor({ peakDb: -1, rmsDb: -14.25, seconds: 1 })).toBe(-5.75);
  });

  test('When sox prints its help, then the formats it reads are those of AUDIO FILE FORMATS', () => {
    const help = 'SoX v14.4.2\n\nAUDIO FILE FORMATS: 8svx aif flac mp3 ogg wav\nPLAYLIST FORMATS: m3u pls\n';
    expect(soxFormats(help)).toEqual(['8svx', 'aif', 'flac', 'mp3', 'ogg', 'wav']);
    expect(soxFormats('no such line')).toEqual([]);
  });

  test('When an artist\'s folder is read, then prompt names become takes, other names are ignored, a prompt twice or in a format sox does not read is refused', () => {
    const plan = planImport(['notice.wav', 'Choice.FLAC', 'accepted.mp3', 'invalid.wav', 'invalid.flac', 'README.txt', 'notice-take2.wav', '.DS_Store', 'refused'], ['wav', 'flac']);
    expect(plan.takes).toEqual([
      { from: 'Choice.FLAC', prompt: 'choice' },
      { from: 'notice.wav', prompt: 'notice' },
    ]);
    expect(plan.rejected.map((r) => [r.from, r.prompt])).toEqual([
      ['accepted.mp3', 'accepted'],
      ['refused', 'refused'],
      ['invalid.flac', 'invalid'],
      ['invalid.wav', 'invalid'],
    ]);
    expect(plan.rejected[0]?.reason).toContain('libsox-fmt-mp3');
    expect(plan.rejected[2]?.reason).toContain('2 files for invalid');
    expect(plan.ignored.map((r) => r.from)).toEqual(['README.txt', 'notice-take2.wav']);
  });

  test('When a file is in the prompts folder, then the manifest says who wrote it: an import, the build, or someone else (a build never takes an import for its own)', () => {
    const manifest: Manifest = { files: { 'choice.wav': { source: 's', audio: 'b' }, 'notice.wav': { source: 's', audio: 'old' } }, imported: { 'notice.wav': { audio: 'a', from: 'notice.flac', at: '2026-01-01T00:00:00Z' } } };
    expect(ownerOf(manifest, 'notice.wav', 'a')).toBe('imported');
    expect(ownerOf(manifest, 'choice.wav', 'b')).toBe('generated');
    expect(ownerOf(manifest, 'choice.wav', 'edited')).toBe('admin');
    expect(ownerOf(manifest, 'invalid.wav', 'x')).toBe('admin');
    expect(ownerOf(manifest, 'invalid.wav', null)).toBe('none');
    // A manifest written before imports existed has no `imported` section.
    expect(ownerOf({ files: {} }, 'notice.wav', 'a')).toBe('admin');
  });
});

describe('the voice artist\'s script', () => {
  const profile = () => {
    const file = join(mkdtempSync(join(tmpdir(), 'civr-script-')), 'c.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        extends: SANDBOX,
        profiles: { souss: { flow: { languages: ['zgh', 'fr'], defaultLanguage: 'fr' }, prompts: { texts: { zgh: { invalid: 'ⴰⵙⵜⴰⵢ ⵓⵔ ⵉⵖⵓⴷⵏ' } } } } },
      }),
    );
    const { config } = loadConfig(file, env);
    return profileSetOf(config).get('souss') as NonNullable<ReturnType<ReturnType<typeof profileSetOf>['get']>>;
  };

  test('When a language has its texts, then each prompt has its words with the legal fields filled in, its purpose, its file and where it goes', () => {
    const { config } = loadConfig(SANDBOX, env);
    const entries = scriptOf(profileSetOf(config).default, '/snd', ['ar']);
    expect(entries).toHaveLength(10);
    const notice = entries[0];
    expect(notice).toMatchObject({ profile: 'default', lang: 'ar', direction: 'rtl', prompt: 'notice', file: 'notice.wav', path: '/snd/ar/consent-ivr/notice.wav', reference: null, emptyLegalFields: [] });
    expect(notice?.text).toContain(config.legal.controller);
    expect(notice?.text).toContain(config.legal.purposes.ar as string);
    expect(notice?.text).not.toMatch(/\{[a-zA-Z]+\}/);
    expect(notice?.purpose).toContain('Short notice');
  });

  test('When a prompt has no text in a language, then the script gives the text of the profile\'s first language that has one, and says to record from it', () => {
    const entries = scriptOf(profile(), '/snd');
    const zgh = entries.filter((e) => e.lang === 'zgh');
    expect(zgh.find((e) => e.prompt === 'notice')).toMatchObject({ text: null, reference: { lang: 'fr', text: expect.stringContaining('Tapez 1') }, path: '/snd/zgh/consent-ivr/souss/notice.wav' });
    expect(zgh.find((e) => e.prompt === 'invalid')).toMatchObject({ text: 'ⴰⵙⵜⴰⵢ ⵓⵔ ⵉⵖⵓⴷⵏ', reference: null });
    const text = renderScript(zgh);
    expect(text).toContain('=== Profile souss, Standard Moroccan Tamazight (zgh) ===');
    expect(text).toContain('consent-ivr prompts import --profile souss --lang zgh');
    expect(text).toContain('1. notice.wav');
    expect(text).toContain('(no text in the configuration: record it from the French text below, said in Standard Moroccan Tamazight)');
    expect(text).toContain('   [fr] ');
    expect(text).toContain('4. invalid.wav');
    expect(text).toContain('   ⴰⵙⵜⴰⵢ ⵓⵔ ⵉⵖⵓⴷⵏ');
    expect(text).toContain('The prompts go in /snd/zgh/consent-ivr/souss/');
  });

  test('When the legal fields a text names are empty, then the script says which, and languages are named in English', () => {
    const { config } = loadConfig(SANDBOX, env);
    const p = profileSetOf(config).default;
    const entries = scriptOf({ ...p, legal: { ...p.legal, retention: {} } }, '/snd', ['fr']);
    expect(entries.find((e) => e.prompt === 'full-notice')?.emptyLegalFields).toEqual(['retention']);
    expect(renderScript(entries)).toContain('(legal fields still empty in fr: retention; set them before recording)');
    expect(languageName('ar')).toBe('Arabic');
    expect(languageName('fr')).toBe('French');
  });
});

describe('the prompts commands', () => {
  const capture = () => {
    const text = { stdout: '', stderr: '' };
    const stream = (k: 'stdout' | 'stderr') => ({ write: (s: string) => ((text[k] += s), true), once: () => undefined });
    return { text, io: { stdout: stream('stdout'), stderr: stream('stderr') } };
  };
  const { config } = loadConfig(SANDBOX, env);

  test('When prompts script names an unknown profile or a language the profile does not speak, then it is a usage error (exit 2) that says what exists', async () => {
    const a = capture();
    expect(await runScript(config, { profile: 'nope' }, a.io)).toBe(2);
    expect(a.text.stderr).toContain('--profile "nope": no such profile (profiles: default)');
    const b = capture();
    expect(await runScript(config, { lang: 'zgh' }, b.io)).toBe(2);
    expect(b.text.stderr).toContain('--lang "zgh": not a language of profile default (flow.languages: ar, fr)');
    expect(b.text.stdout).toBe('');
  });

  test('When prompts script is asked for JSON, then it prints every prompt of each language, with its words', async () => {
    const c = capture();
    expect(await runScript(config, { lang: 'fr', json: true, soundsDir: '/snd' }, c.io)).toBe(0);
    const entries = JSON.parse(c.text.stdout) as { lang: string; prompt: string; text: string | null; path: string }[];
    expect(entries.map((e) => e.prompt)).toHaveLength(10);
    expect(entries.every((e) => e.lang === 'fr' && e.text !== null && e.path.startsWith('/snd/fr/consent-ivr/'))).toBe(true);
  });

  test('When prompts import is given no folder, or a language the profile does not speak, then it is a usage error (exit 2) and writes nothing', async () => {
    const a = capture();
    expect(await runImport(config, join(tmpdir(), 'civr-no-such-folder'), { lang: 'fr', soundsDir: '/nonexistent' }, a.io)).toBe(2);
    expect(a.text.stderr).toContain('not a folder');
    const b = capture();
    expect(await runImport(config, tmpdir(), { lang: 'zgh', soundsDir: '/nonexistent' }, b.io)).toBe(2);
    expect(b.text.stderr).toContain('--lang "zgh"');
  });
});
