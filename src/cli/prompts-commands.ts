/**
 * The `prompts` commands: `build` speaks the configured texts with the best voice installed,
 * `script` prints what a voice artist records, `import` makes the artist's files into prompts.
 * Exit codes: 0 ok, 1 failure (a take refused, a tool failing), 2 bad usage.
 */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { profileSetOf, type Profile } from '../config/profiles';
import type { Config } from '../config/schema';
import type { Language } from '../domain/vocabulary';
import { printable } from '../ledger';
import {
  buildPrompts,
  buildTone,
  describeVoice,
  importPrompts,
  languageName,
  noticeVersion,
  renderScript,
  scriptOf,
  VoiceBox,
  voicesOf,
  type ImportReport,
} from '../prompts';
import { done, EXIT, out, processIO, run, UsageError, type CliDeps, type CliIO } from './toolkit';

/** The profiles a command works on: the one named (an unknown name is a usage error), or all. */
export function selectedProfiles(config: Config, name: string | undefined): readonly Profile[] {
  const set = profileSetOf(config);
  if (name === undefined) return set.all;
  const one = set.get(name);
  if (!one) throw new UsageError(`--profile "${printable(name)}": no such profile (profiles: ${set.all.map((p) => p.name).join(', ')})`);
  return [one];
}

/** The language asked for, which must be one of the profile's (or, without --profile, of one of them). */
function checkLanguage(profiles: readonly Profile[], lang: string | undefined): void {
  if (lang === undefined || profiles.some((p) => p.flow.languages.includes(lang))) return;
  const which = profiles.length === 1 ? `profile ${profiles[0]?.name ?? ''}` : 'any profile';
  const known = [...new Set(profiles.flatMap((p) => p.flow.languages))].join(', ');
  throw new UsageError(`--lang "${printable(lang)}": not a language of ${which} (flow.languages: ${known})`);
}

const soundsDirOf = (config: Config, dir: string | undefined): string => (dir ? resolve(dir) : config.prompts.soundsDir);

export interface BuildOptions {
  soundsDir?: string;
  force?: boolean;
  profile?: string;
}

/** `prompts build`: every profile's prompts (or one's), one probe of the voices for all, then the tone. */
export function runBuild(config: Config, o: BuildOptions, io: CliIO = processIO): Promise<number> {
  return run(io, 'build', async () => {
    const dir = soundsDirOf(config, o.soundsDir);
    const profiles = selectedProfiles(config, o.profile);
    const voices = new VoiceBox(config.prompts.toolPath);
    for (const profile of profiles) {
      for (const c of (await voicesOf(profile, voices)).values()) {
        const how = c.voice ? `${describeVoice(c.voice)}${c.forced ? ', set by prompts.voices' : ''}` : c.needed ? 'none installed speaks it: studio recordings needed' : 'none needed (no text: studio recordings)';
        await out(io.stdout, `voice ${c.lang} (profile ${profile.name}): ${how}\n`);
        for (const s of c.skipped) await out(io.stdout, `  skipped ${describeVoice(s.voice)}: ${s.error}\n`);
      }
      const results = await buildPrompts(profile, dir, o.force ?? false, voices);
      for (const r of results) {
        await out(io.stdout, `${r.status.padEnd(15)} ${r.file}${r.voice && r.status === 'generated' ? `  (${r.voice})` : ''}\n`);
        if (r.gaps) await out(io.stdout, `  warning: ${r.voice ?? 'the voice'} has no ${r.gaps.join(', ')}: silent there (prompts.voices.${r.lang} forces it)\n`);
      }
      const needed = results.filter((x) => x.status === 'no-text' || x.status === 'no-voice');
      for (const r of needed) {
        const why = r.status === 'no-text' ? 'no text' : `a text, but no voice installed speaks ${r.lang}`;
        await out(io.stdout, `needs a studio recording: profile ${profile.name}, language ${r.lang}, prompt ${r.prompt} (${why})\n`);
      }
      for (const lang of new Set(needed.map((r) => r.lang))) {
        await out(io.stdout, `  to record them: consent-ivr prompts script --profile ${profile.name} --lang ${lang}, then consent-ivr prompts import --profile ${profile.name} --lang ${lang} DIR\n`);
      }
      await out(io.stdout, `notice version ${noticeVersion(profile, dir).version} (profile ${profile.name})\n`);
    }
    await out(io.stdout, `${'tone'.padEnd(15)} ${await buildTone(dir)}\n`);
    return EXIT.ok;
  }, 'prompts ');
}

export interface ScriptOptions {
  profile?: string;
  lang?: string;
  soundsDir?: string;
  json?: boolean;
}

/** `prompts script`: the words a voice artist records, per profile and language. */
export function runScript(config: Config, o: ScriptOptions, io: CliIO = processIO): Promise<number> {
  return run(io, 'script', async () => {
    const profiles = selectedProfiles(config, o.profile);
    checkLanguage(profiles, o.lang);
    const dir = soundsDirOf(config, o.soundsDir);
    const entries = profiles.flatMap((p) => (o.lang === undefined ? scriptOf(p, dir) : p.flow.languages.includes(o.lang) ? scriptOf(p, dir, [o.lang]) : []));
    await out(io.stdout, o.json ? `${JSON.stringify(entries, null, 2)}\n` : renderScript(entries));
    return EXIT.ok;
  }, 'prompts ');
}

export interface ImportOptions {
  profile?: string;
  lang: string;
  soundsDir?: string;
  force?: boolean;
  json?: boolean;
}

function importText(report: ImportReport, profile: string, lang: Language): string {
  const lines: string[] = [];
  for (const t of report.imported) {
    lines.push(`imported        ${t.file}  from ${t.from}: ${t.secondsIn.toFixed(2)} s → ${t.secondsOut.toFixed(2)} s, gain ${t.gainDb >= 0 ? '+' : ''}${t.gainDb.toFixed(1)} dB`);
  }
  for (const r of report.rejected) lines.push(`REJECTED        ${r.from}: ${r.reason}`);
  for (const r of report.ignored) lines.push(`ignored         ${r.from}: ${r.reason}`);
  if (report.missing.length === 0) lines.push(`every prompt of profile ${profile} in ${languageName(lang)} has its file`);
  const spoken = report.missing.filter((m) => m.hasText).map((m) => m.prompt);
  const unspoken = report.missing.filter((m) => !m.hasText).map((m) => m.prompt);
  if (unspoken.length > 0) lines.push(`still missing, with no text (record them): ${unspoken.join(', ')}`);
  if (spoken.length > 0) lines.push(`still missing, with a text (prompts build speaks them, if a voice speaks ${lang}): ${spoken.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** `prompts import`: the artist's files of one profile and language. Exit 1 when a take was refused. */
export function runImport(config: Config, dir: string, o: ImportOptions, io: CliIO = processIO): Promise<number> {
  return run(io, 'import', async () => {
    const [profile] = selectedProfiles(config, o.profile ?? profileSetOf(config).default.name);
    if (!profile) throw new UsageError('no profile');
    checkLanguage([profile], o.lang);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${printable(dir)}: not a folder (the artist's files, named <prompt>.wav, <prompt>.flac, ...)`);
    const report = await importPrompts(profile, o.lang, dir, soundsDirOf(config, o.soundsDir), { force: o.force ?? false });
    await out(io.stdout, o.json ? `${JSON.stringify(report, null, 2)}\n` : importText(report, profile.name, o.lang));
    if (report.imported.length > 0) await out(io.stderr, `the notice version of profile ${profile.name} is now ${noticeVersion(profile, soundsDirOf(config, o.soundsDir)).version}: reload the service (systemctl reload consent-ivr) so that new calls carry it\n`);
    return report.rejected.length > 0 ? EXIT.failure : EXIT.ok;
  }, 'prompts ');
}

/** Registers `consent-ivr prompts build | script | import`; `getConfig` reads the configuration (no secret is needed). */
export function registerPromptsCommands(program: Command, getConfig: () => Config, deps: CliDeps = {}): void {
  const io = deps.io ?? processIO;
  const prompts = program.command('prompts').description('voice prompts: synthesised, or recorded in a studio');
  prompts
    .command('build')
    .description('speak the configured texts with the best voice installed (Pico, MBROLA, espeak-ng) into Asterisk sounds (8 kHz WAV); recordings are left alone')
    .option('--sounds-dir <dir>', 'Asterisk sounds directory (default: prompts.soundsDir)')
    .option('--profile <name>', 'only this campaign profile (default: every profile)')
    .option('--force', 'regenerate prompts this command wrote even if their text and voice are unchanged')
    .action(async (o: BuildOptions) => done(await runBuild(getConfig(), o, io)));
  prompts
    .command('script')
    .description("print what a voice artist records: each prompt's words, legal fields filled in, and its file name")
    .option('--profile <name>', 'only this campaign profile (default: every profile)')
    .option('--lang <code>', "only this language (default: each of the profile's)")
    .option('--sounds-dir <dir>', 'Asterisk sounds directory the files go to (default: prompts.soundsDir)')
    .option('--json', 'print the script as JSON')
    .action(async (o: ScriptOptions) => done(await runScript(getConfig(), o, io)));
  prompts
    .command('import')
    .description("make a voice artist's files (<prompt>.wav, .flac, ...) into prompts: clipped or silent takes refused, silence cut, loudness evened, 8 kHz WAV")
    .argument('<dir>', "folder of the artist's files")
    .requiredOption('--lang <code>', 'the language they are in')
    .option('--profile <name>', 'the campaign profile they are for (default: default)')
    .option('--sounds-dir <dir>', 'Asterisk sounds directory (default: prompts.soundsDir)')
    .option('--force', 'replace a prompt file that consent-ivr did not write')
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, o: ImportOptions) => done(await runImport(getConfig(), dir, o, io)));
}
