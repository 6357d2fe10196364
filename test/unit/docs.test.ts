/**
 * The documentation says only what is true of the configuration and the CLI: every configuration key
 * the README and docs/ name exists in the schema, every environment variable they name is one the
 * program reads, the shipped configuration files load, and every `consent-ivr …` command line they
 * show is a command that takes the options it uses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main';
import { envNameFor, loadConfig, schemaLeaves, validate } from '../../src/config/load';
import { configSchema, profileSection, type ConfigFile } from '../../src/config/schema';
import { DEFAULT_PROFILE, LANGUAGE_CODE, PROFILE_NAME } from '../../src/domain/vocabulary';
import { parse } from 'yaml';
import { REASONS } from '../../src/call/flow/types';
import { HAND_BACK_REASONS } from '../../src/call/hand-back';

const REPO = resolve(__dirname, '../..');
const DOCS = [join(REPO, 'README.md'), ...readdirSync(join(REPO, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(REPO, 'docs', f))];
/** Top-level sections; keys under `profiles.<name>.` are judged by profileKeyProblem. */
const SECTIONS = Object.keys(configSchema.shape).filter((s) => s !== 'profiles');
const LEAVES = schemaLeaves().map((l) => l.path);

type Doc = Record<string, unknown>;
const SHIPPED_RAW = parse(readFileSync(join(REPO, 'config/consent-ivr.yaml'), 'utf8')) as Doc;
const SHIPPED_CONFIG: ConfigFile = validate(SHIPPED_RAW);

function getPath(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Doc)[k] : undefined), obj);
}

/** Whether a key names a leaf of `leaves`, or a section above some; a language code may stand where the leaves have a built-in language (`prompts.texts.zgh.notice`). */
function isKeyOf(token: string, leaves: readonly string[]): boolean {
  const asBuiltIn = token
    .split('.')
    .map((s, i) => (i > 0 && LANGUAGE_CODE.test(s) ? 'ar' : s))
    .join('.');
  return [token, asBuiltIn].some((t) => leaves.some((l) => l === t || l.startsWith(`${t}.`)));
}

/**
 * The keys a profile may set, from the code rather than a list kept here: every leaf of the top-level
 * sections a profile has, and the profile's own (numbers), that a profile setting it (to the top
 * level's own value) passes validation with. The service-wide ones (prompts.soundsDir, …) and the
 * keys a profile's section does not have (ledger.journalPath, …) are refused, so they are not here.
 */
const PROFILE_LEAVES: readonly string[] = (() => {
  const sections = Object.keys(profileSection.shape);
  const candidates = [...LEAVES.filter((l) => sections.includes(l.split('.')[0] as string)), ...schemaLeaves(profileSection).map((l) => l.path)];
  const profileDefaults = profileSection.parse({});
  const accepted = (key: string): boolean => {
    const [section, sub] = key.split('.') as [string, string | undefined];
    const value = getPath(SHIPPED_CONFIG, key) ?? getPath(profileDefaults, key);
    const setting = sub === undefined ? { [section]: value } : { [section]: { [sub]: value } };
    try {
      validate({ ...SHIPPED_RAW, profiles: { probe: setting } });
      return true;
    } catch {
      return false;
    }
  };
  /** A leaf whose section has required keys (recording.encryption.recipientsFile): set it alone, to a path. */
  const acceptedAlone = (leaf: string): boolean => {
    const setting = leaf
      .split('.')
      .reverse()
      .reduce<unknown>((inner, k) => ({ [k]: inner }), getPath(SHIPPED_CONFIG, leaf) ?? '/etc/consent-ivr/probe');
    try {
      validate({ ...SHIPPED_RAW, profiles: { probe: setting } });
      return true;
    } catch {
      return false;
    }
  };
  return [...new Set(candidates)].filter((leaf) => accepted(leaf.split('.').slice(0, 2).join('.')) || acceptedAlone(leaf));
})();

/** Why `profiles.<name>.<rest>` is not a key a profile may set, or null when it is one. */
function profileKeyProblem(name: string, rest: string): string | null {
  if (name !== '<name>' && (!PROFILE_NAME.test(name) || name === DEFAULT_PROFILE)) return `"${name}" is not a profile name`;
  if (rest === '' || isKeyOf(rest, PROFILE_LEAVES)) return null;
  return `${rest} is not a key a profile may set`;
}

/** Environment variables read outside the schema's keys: secrets, the config path, the sandbox's. */
const OTHER_ENV = new Set([
  'CONSENT_IVR_CONFIG',
  'CONSENT_IVR_ARI_PASSWORD',
  'CONSENT_IVR_AMI_SECRET',
  'CONSENT_IVR_PSEUDONYM_KEY',
  'CONSENT_IVR_API_TOKEN',
  'CONSENT_IVR_LEDGER_SIGNING_KEY',
  'CONSENT_IVR_SANDBOX_CACHE',
]);

function mentions(pattern: RegExp): { doc: string; token: string }[] {
  return DOCS.flatMap((doc) => [...readFileSync(doc, 'utf8').matchAll(pattern)].map((m) => ({ doc: doc.slice(REPO.length + 1), token: m[1] as string })));
}

test('Every configuration key the docs mention exists in the schema', () => {
  const keys = mentions(new RegExp(`\`((?:${SECTIONS.join('|')})\\.[A-Za-z0-9.-]+)`, 'g'))
    .map(({ doc, token }) => ({ doc, token: token.replace(/\.$/, '') }))
    .filter(({ token }) => !/\.(conf|md|yaml|ts|js|json|service|timer)$/.test(token));
  expect(keys.length).toBeGreaterThan(20);
  const unknown = keys.filter(({ token }) => !isKeyOf(token, LEAVES));
  expect(unknown).toEqual([]);
});

test('Every key the docs mention under profiles.<name>. is a key a profile may set', () => {
  const keys = mentions(/`(profiles\.(?:<name>|[A-Za-z0-9_-]+)(?:\.[A-Za-z0-9-]+)*)/g);
  expect(keys.length).toBeGreaterThan(3);
  const problems = keys.flatMap(({ doc, token }) => {
    const [, name, rest] = /^profiles\.(<name>|[^.]+)\.?(.*)$/.exec(token) ?? [];
    const problem = profileKeyProblem(name ?? '', rest ?? '');
    return problem ? [`${doc}: ${token}: ${problem}`] : [];
  });
  expect(problems).toEqual([]);
});

test('The rule for profiles.<name>. keys takes what a profile may set and nothing else', () => {
  const ok = (token: string) => {
    const [, name, rest] = /^profiles\.(<name>|[^.]+)\.?(.*)$/.exec(token) ?? [];
    return profileKeyProblem(name ?? '', rest ?? '') === null;
  };
  for (const t of [
    'profiles.bank',
    'profiles.<name>',
    'profiles.bank.flow.languages',
    'profiles.public-service.flow.maxCallMs',
    'profiles.bank.legal.controller',
    'profiles.bank.legal.purposes.fr',
    'profiles.bank.prompts.texts',
    'profiles.bank.prompts.texts.zgh.full-notice',
    'profiles.bank.prompts.voices',
    'profiles.bank.withdrawal.partialRecording',
    'profiles.bank.ledger.retentionDays',
    'profiles.bank.recording.encryption.recipientsFile',
    'profiles.bank.numbers',
  ]) {
    expect([t, ok(t)]).toEqual([t, true]);
  }
  for (const t of [
    'profiles.bank.prompts.soundsDir',
    'profiles.bank.prompts.folder',
    'profiles.bank.flow.shutdownGraceMs',
    'profiles.bank.withdrawal.pollMs',
    'profiles.bank.ledger.journalPath',
    'profiles.bank.recording.dir',
    'profiles.bank.recording.encryption.age',
    'profiles.bank.ari',
    'profiles.bank.flow.languagez',
    'profiles.bank.prompts.texts.fr.notise',
    'profiles.bank.numbers.pattern',
    'profiles.default.flow.languages',
    'profiles.b@nk.flow',
  ]) {
    expect([t, ok(t)]).toEqual([t, false]);
  }
});

test('Every CONSENT_IVR_ variable the docs mention is one the program reads', () => {
  const known = new Set([...LEAVES.map(envNameFor), ...OTHER_ENV]);
  const named = mentions(/\b(CONSENT_IVR_[A-Z0-9_]+)/g).filter(({ token }) => !token.endsWith('_'));
  expect(named.length).toBeGreaterThan(5);
  expect(named.filter(({ token }) => !known.has(token))).toEqual([]);
});

test('The shipped configuration files load: the production sample and the sandbox overlay', () => {
  const env = { CONSENT_IVR_ARI_PASSWORD: 'a', CONSENT_IVR_AMI_SECRET: 'b', CONSENT_IVR_PSEUDONYM_KEY: 'c', CONSENT_IVR_API_TOKEN: 'd', CONSENT_IVR_LEDGER_SIGNING_KEY: 'e' };
  for (const f of ['consent-ivr.yaml', 'sandbox.yaml']) expect(loadConfig(join(REPO, 'config', f), env).config.flow.languages).toEqual(['ar', 'fr']);
});

/** The command lines the docs show: in shell blocks and in inline code, each starting with `consent-ivr `. */
function commandLines(): { doc: string; line: string }[] {
  const out: { doc: string; line: string }[] = [];
  for (const doc of DOCS) {
    const text = readFileSync(doc, 'utf8');
    const name = doc.slice(REPO.length + 1);
    for (const block of text.matchAll(/```(?:sh|bash|shell)?\n([\s\S]*?)```/g)) {
      for (const raw of (block[1] as string).split('\n')) {
        const line = raw.replace(/\s+#.*$/, '').trim();
        if (line.startsWith('consent-ivr ')) out.push({ doc: name, line });
      }
    }
    for (const span of text.matchAll(/`(consent-ivr [^`]+)`/g)) out.push({ doc: name, line: span[1] as string });
  }
  return out;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function optionsOf(cmd: Command, program: Command): Set<string> {
  const known = new Set<string>(['--help']);
  for (const opt of [...cmd.options, ...program.options, ...(cmd.parent?.options ?? [])]) for (const f of [opt.long, opt.short]) if (f) known.add(f);
  return known;
}

test('Every consent-ivr command line in the docs names a real command, and every option it uses is one that command takes', () => {
  const program = buildProgram();
  const lines = commandLines();
  expect(lines.length).toBeGreaterThan(20);
  const problems: string[] = [];
  for (const { doc, line } of lines) {
    const words = line.split(/\s+/).slice(1);
    let cmd: Command = program;
    let i = 0;
    for (; i < words.length; i++) {
      const sub = cmd.commands.find((c) => c.name() === words[i]);
      if (!sub) break;
      cmd = sub;
    }
    if (cmd === program) {
      // A placeholder (`consent-ivr <command>`) names no command; anything else must be one.
      if (/^[a-z]/.test(words[0] ?? '')) problems.push(`${doc}: "${line}": no command "${words[0]}"`);
      continue;
    }
    // Under a group of commands (prompts, ledger, keys), the next word names one of them.
    if (cmd.commands.length > 0 && /^[a-z]/.test(words[i] ?? '')) {
      const missing = `${commandPath(cmd)} ${words[i] as string}`;
      problems.push(`${doc}: "${line}": no command "${missing}"`);
      continue;
    }
    const known = optionsOf(cmd, program);
    for (const w of words.slice(i)) {
      const flag = /^(--?[A-Za-z][A-Za-z0-9-]*)/.exec(w)?.[1];
      if (!flag || known.has(flag)) continue;
      problems.push(`${doc}: "${line}": ${cmd.name()} has no option ${flag}`);
    }
  }
  expect(problems).toEqual([]);
});

test('The CONSENT_REASON values admin.md lists are exactly those the dialplan can receive', () => {
  const row = /\| `CONSENT_REASON` \|([^\n]*)\|/.exec(readFileSync(join(REPO, 'docs/admin.md'), 'utf8'));
  expect(row).not.toBeNull();
  const documented = [...String(row?.[1]).matchAll(/`([a-z-]+)`/g)].map((m) => m[1]).sort();
  // A call whose caller hung up is handed back to no one; the routine itself sets some reasons.
  const routine = [...readFileSync(join(REPO, 'dialplans/consent-ivr.conf'), 'utf8').matchAll(/Set\(CONSENT_REASON=([a-z][a-z-]*)\)/g)].map((m) => m[1] as string);
  const reachable = [...new Set([...REASONS.filter((r) => r !== 'hangup'), ...HAND_BACK_REASONS, ...routine])].sort();
  expect(documented).toEqual(reachable);
});
