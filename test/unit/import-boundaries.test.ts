/**
 * The lint rule that keeps the dependencies of src/ in one direction (eslint.config.mjs, described in
 * docs/development.md "Architecture"): it refuses an import against the direction and lets the
 * permitted ones through. The project's own sources pass it (npx eslint . in the suite).
 *
 * ESLint loads its configuration (an ES module) with a dynamic import, which jest's module system
 * refuses: the samples are linted with ESLint's Node API in a child process, all at once.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const REPO = resolve(__dirname, '../..');

/** For each sample (file relative to the repository, code), the messages of no-restricted-imports. */
const LINT = `
const { ESLint } = require('eslint');
const { join } = require('node:path');
const samples = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const eslint = new ESLint({ cwd: process.cwd(), overrideConfigFile: join(process.cwd(), 'eslint.config.mjs') });
Promise.all(samples.map(async ([file, code]) => {
  const [result] = await eslint.lintText(code, { filePath: join(process.cwd(), file) });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
})).then((out) => process.stdout.write(JSON.stringify(out)));
`;

function lintSamples(samples: [string, string][]): string[][] {
  const r = spawnSync(process.execPath, ['-e', LINT], { cwd: REPO, input: JSON.stringify(samples), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`eslint failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[][];
}

describe('import boundaries', () => {
  const WRONG: [string, string, RegExp][] = [
    ['src/ledger/x.ts', "export { RedisLedgerStore } from '../adapters/redis';", /src\/ledger\/ does not import adapters/],
    ['src/ledger/x.ts', "import type { Service } from '../app/service'; export type S = Service;", /src\/ledger\//],
    ['src/flow/x.ts', "import type { Config } from '../config/schema'; export type C = Config;", /src\/flow\/ imports only domain/],
    ['src/ports/x.ts', "import type { Summary } from '../flow/types'; export type S = Summary;", /src\/ports\/ imports only domain/],
    ['src/runner/x.ts', "export { createLedger } from '../app/ledger';", /src\/runner\/ imports only domain, flow, ports, logging/],
    ['src/domain/x.ts', "export { systemClock } from '../ports/clock';", /src\/domain\/ imports nothing/],
    ['src/adapters/redis/x.ts', "export { AmiRecorder } from '../ami/recorder';", /adapter does not import another adapter/],
    ['src/adapters/ari/x.ts', "export { ConsentApp } from '../../app/consent-app';", /src\/adapters\/ does not import/],
    ['src/app/x.ts', "export { registerLedgerCommands } from '../cli/ledger-commands';", /does not import cli/],
    ['src/ledger/x.ts', "export { Redis } from 'ioredis';", /ioredis is used through src\/adapters\/redis only/],
  ];
  const PERMITTED: [string, string][] = [
    ['src/flow/x.ts', "export type { Language } from '../domain/vocabulary'; export { decide } from './machine';"],
    ['src/ports/x.ts', "export type { Language } from '../domain/vocabulary'; export type { Ledger } from './ledger';"],
    ['src/runner/x.ts', "export { decide } from '../flow/machine'; export type { Clock } from '../ports/clock'; export type { Logger } from '../logging/logger';"],
    ['src/ledger/x.ts', "export type { ConsentRecord } from '../ports/ledger'; export { DAY_MS } from './durable-ledger';"],
    ['src/adapters/redis/x.ts', "export type { AdminStore } from '../../ledger/types'; export { Redis } from 'ioredis'; export { logKeys } from './keys';"],
    ['src/app/x.ts', "export { RedisLedgerStore } from '../adapters/redis'; export { CallRunner } from '../runner/call-runner';"],
    ['src/cli/x.ts', "export { startService } from '../app/service'; export { describeTarget } from '../adapters/redis';"],
  ];
  let refused: string[][];
  beforeAll(() => {
    refused = lintSamples([...WRONG.map(([file, code]): [string, string] => [file, code]), ...PERMITTED]);
  });

  test.each(WRONG.map((w, i) => [...w, i] as const))('When %s imports against the direction (%s), then lint refuses it', (_file, _code, message, i) => {
    expect(refused[i]).toHaveLength(1);
    expect(refused[i]?.[0]).toMatch(message);
  });

  test.each(PERMITTED.map((p, i) => [...p, WRONG.length + i] as const))('When %s imports in the direction allowed (%s), then lint lets it through', (_file, _code, i) => {
    expect(refused[i]).toEqual([]);
  });
});
