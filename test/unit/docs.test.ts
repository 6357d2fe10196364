/**
 * The documentation says only what is true of the configuration: every configuration key the README
 * and docs/ name exists in the schema, every environment variable they name is one the program reads,
 * and the shipped configuration files load.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { envNameFor, loadConfig, schemaLeaves } from '../../src/config/load';
import { configSchema } from '../../src/config/schema';

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
