import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
  // ARI, AMI and Redis client libraries are imported only by their own adapter.
  ...[
    ['src/**/*.ts', ['src/adapters/**'], ['ari-client', 'asterisk-manager', 'ioredis']],
    ['src/adapters/ari/**/*.ts', [], ['asterisk-manager', 'ioredis']],
    ['src/adapters/ami/**/*.ts', [], ['ari-client', 'ioredis']],
    ['src/adapters/redis/**/*.ts', [], ['ari-client', 'asterisk-manager']],
  ].map(([glob, ignores, paths]) => ({
    files: [glob],
    ignores,
    rules: { 'no-restricted-imports': ['error', { paths }] },
  })),
);
