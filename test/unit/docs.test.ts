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
import { envNameFor, loadConfig, schemaLeaves } from '../../src/config/load';
import { configSchema } from '../../src/config/schema';
import { REASONS } from '../../src/call/flow/types';
import { HAND_BACK_REASONS } from '../../src/call/hand-back';

const REPO = resolve(__dirname, '../..');
const DOCS = [join(REPO, 'README.md'), ...readdirSync(join(REPO, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(REPO, 'docs', f))];
const SECTIONS = Object.keys(configSchema.shape);
const LEAVES = schemaLeaves().map((l) => l.path);

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
  const keys = mentions(new RegExp(`\`((?:${SECTIONS.join('|')})\\.[A-Za-z0-9.]+)`, 'g'))
    .map(({ doc, token }) => ({ doc, token: token.replace(/\.$/, '') }))
    .filter(({ token }) => !/\.(conf|md|yaml|ts|js|json|service|timer)$/.test(token));
  expect(keys.length).toBeGreaterThan(20);
  const unknown = keys.filter(({ token }) => !LEAVES.some((l) => l === token || l.startsWith(`${token}.`)));
  expect(unknown).toEqual([]);
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
    const known = new Set(cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x))));
    for (const opt of [...program.options, ...(cmd.parent?.options ?? [])]) for (const f of [opt.long, opt.short]) if (f) known.add(f);
    known.add('--help');
    for (const w of words.slice(i)) {
      const flag = /^(--?[A-Za-z][A-Za-z0-9-]*)/.exec(w)?.[1];
      if (flag && !known.has(flag)) problems.push(`${doc}: "${line}": ${cmd.name()} has no option ${flag}`);
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
