import js from '@eslint/js';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

/** Client libraries of Asterisk and Redis, each imported only by its own adapter (src/adapters/<name>). */
const LIBRARIES = { ari: 'ari-client', ami: 'asterisk-manager', redis: 'ioredis' };

/** The folders of src/. */
const FOLDERS = readdirSync(join(dirname(fileURLToPath(import.meta.url)), 'src'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

/** The pure parts: the only folders of src/ they may import. */
const ONLY = {
  domain: [],
  files: [],
  flow: ['domain'],
  ports: ['domain'],
  runner: ['domain', 'flow', 'ports', 'logging'],
};
/** Folders of src/ these folders must not import; any other folder must not import cli/ (nothing depends on the command line). */
const NOT = {
  ledger: ['adapters', 'app', 'cli', 'api', 'runner'],
  adapters: ['app', 'cli', 'api', 'runner', 'flow'],
};

/** Options of no-restricted-imports for the files of `folder` (of one adapter, for adapters/). */
function restrictions(folder, adapter) {
  const paths = Object.entries(LIBRARIES)
    .filter(([owner]) => owner !== adapter)
    .map(([owner, name]) => ({ name, message: `${name} is used through src/adapters/${owner} only.` }));
  const allowed = ONLY[folder];
  const forbidden = (allowed ? FOLDERS.filter((f) => !allowed.includes(f)) : (NOT[folder] ?? ['cli'])).filter((f) => f !== folder);
  const says = allowed ? `imports ${allowed.length > 0 ? `only ${allowed.join(', ')}` : 'nothing'} of the project` : `does not import ${forbidden.join(', ')}`;
  const patterns = [];
  if (forbidden.length > 0) {
    patterns.push({ regex: `^(\\.\\./)+(${forbidden.join('|')})(/|$)`, message: `src/${folder}/ ${says} (docs/development.md, Architecture).` });
  }
  // From src/adapters/<name>/, '../<other>' is another adapter.
  if (adapter) patterns.push({ regex: '^\\.\\./[^.]', message: 'An adapter does not import another adapter.' });
  return { paths, patterns };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.sandbox/', 'coverage/', 'jest.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    // CommonJS files that jest loads itself (the test sequencer).
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // Who may import whom (docs/development.md, "Architecture"): per folder of src/, the client libraries
  // it must not import (each is its adapter's) and the project's folders it must not import.
  ...FOLDERS.flatMap((folder) => (folder === 'adapters' ? Object.keys(LIBRARIES) : [null]).map((adapter) => [folder, adapter])).map(
    ([folder, adapter]) => ({
      files: [adapter ? `src/adapters/${adapter}/**/*.ts` : `src/${folder}/**/*.ts`],
      rules: { 'no-restricted-imports': ['error', restrictions(folder, adapter)] },
    }),
  ),
);
