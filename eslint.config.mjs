import js from '@eslint/js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';
import boundaries from './eslint/boundaries.mjs';

const SRC = join(dirname(fileURLToPath(import.meta.url)), 'src');

/**
 * Who may import whom in src/ (docs/development.md, "Architecture"): for each folder, the other folders
 * of src/ it may import; a folder not listed is refused. A file belongs to the longest folder that holds
 * it (call/flow before call). Inside one folder files import each other freely.
 *   pure   imports no module of Node (no node:fs, node:net, ... nor node:crypto) and no package
 *   slice  other folders import it through its index only ('../ledger', not '../ledger/record');
 *          its own subfolders are listed like any other folder
 * Nothing lists cli (nothing imports the command line) and only cli lists service.
 */
const FOLDERS = {
  // Shared
  domain: { pure: true, imports: [] },
  ports: { pure: true, imports: ['domain'] },
  config: { imports: ['domain'] },
  observability: { imports: ['ports'] },
  files: { imports: [] },
  types: { imports: [] },
  'adapters/ari': { imports: ['domain', 'observability', 'ports'] },
  'adapters/ami': { imports: ['observability', 'ports'] },
  'adapters/redis': { imports: ['config', 'ledger', 'observability'] },
  'adapters/age': { imports: ['ports'] },
  // Slices
  call: { slice: true, imports: ['call/flow', 'config', 'domain', 'observability', 'ports'] },
  'call/flow': { pure: true, imports: ['domain'] },
  midcall: { slice: true, imports: ['midcall/plan', 'adapters/ami', 'config', 'domain', 'ledger', 'observability', 'ports'] },
  'midcall/plan': { pure: true, imports: ['domain', 'ports'] },
  ledger: { slice: true, imports: ['domain', 'files', 'observability', 'ports'] },
  evidence: { slice: true, imports: ['config', 'ledger', 'observability', 'ports', 'prompts'] },
  retention: { slice: true, imports: ['config', 'domain', 'ledger', 'observability', 'ports'] },
  report: { slice: true, imports: ['domain', 'evidence', 'ledger'] },
  prompts: { slice: true, imports: ['config', 'domain', 'files', 'ledger'] },
  recordings: { slice: true, imports: ['config', 'evidence', 'files', 'ledger', 'observability', 'ports'] },
  access: { slice: true, imports: ['config', 'domain', 'evidence', 'files', 'ledger'] },
  // Roots
  service: {
    imports: ['adapters/age', 'adapters/ami', 'adapters/ari', 'adapters/redis', 'call', 'config', 'domain', 'evidence', 'ledger', 'midcall', 'observability', 'ports', 'prompts', 'recordings', 'retention'],
  },
  cli: {
    imports: [
      'access', 'adapters/age', 'adapters/ami', 'adapters/ari', 'adapters/redis', 'call', 'config', 'domain', 'evidence', 'files', 'ledger', 'midcall',
      'observability', 'ports', 'prompts', 'recordings', 'report', 'retention', 'service',
    ],
  },
};

/** Client libraries of Asterisk and Redis, each imported only by its own adapter. */
const LIBRARIES = { 'ari-client': 'adapters/ari', 'asterisk-manager': 'adapters/ami', ioredis: 'adapters/redis' };

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
  {
    files: ['src/**/*.ts'],
    plugins: { boundaries },
    rules: {
      'boundaries/imports': ['error', { root: SRC, folders: FOLDERS, libraries: LIBRARIES }],
      // Counting every line, blank and comment ones too.
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: false, skipComments: false, IIFEs: true }],
    },
  },
);
