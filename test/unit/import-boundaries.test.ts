/**
 * The lint rule that keeps the dependencies of src/ in one direction (boundaries/imports: the table in
 * eslint.config.mjs, the rule in eslint/boundaries.mjs, the map in docs/development.md "Architecture").
 * Every folder of src/ is probed: at least one import against its allow-list is refused, with the
 * reason written out here, and at least one it is allowed is let through. The project's own sources
 * pass it (npx eslint .).
 *
 * ESLint loads its configuration (an ES module) with a dynamic import, which jest's module system
 * refuses: the samples are linted with ESLint's Node API in a child process, all at once.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const REPO = resolve(__dirname, '../..');

/** For each sample (file relative to the repository, code), the messages of boundaries/imports. */
const LINT = `
const { ESLint } = require('eslint');
const { join } = require('node:path');
const samples = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const eslint = new ESLint({ cwd: process.cwd(), overrideConfigFile: join(process.cwd(), 'eslint.config.mjs') });
Promise.all(samples.map(async ([file, code]) => {
  const [result] = await eslint.lintText(code, { filePath: join(process.cwd(), file) });
  return result.messages.filter((m) => m.ruleId === 'boundaries/imports' || m.fatal).map((m) => m.message);
})).then((out) => process.stdout.write(JSON.stringify(out)));
`;

function lintSamples(samples: [string, string][]): string[][] {
  const r = spawnSync(process.execPath, ['-e', LINT], { cwd: REPO, input: JSON.stringify(samples), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`eslint failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[][];
}

/** The folders of src/ that hold a source file (adapters/ holds only its three adapters). */
function sourceFolders(dir = join(REPO, 'src')): string[] {
  const entries = readdirSync(dir, { withFileTypes: true });
  const here = entries.some((e) => e.isFile() && e.name.endsWith('.ts')) ? [relative(join(REPO, 'src'), dir)] : [];
  return [...here, ...entries.filter((e) => e.isDirectory()).flatMap((e) => sourceFolders(join(dir, e.name)))];
}

/** Imports refused: file, code with one wrong import, the part of the reason lint must give. */
const WRONG: [string, string, string][] = [
  // Pure shared folders.
  ['src/domain/x.ts', "export type { Clock } from '../ports/clock';", "src/domain/ may import no other folder of src/; '../ports/clock' is src/ports/"],
  ['src/domain/x.ts', "import { readFileSync } from 'node:fs'; export const r = readFileSync;", "src/domain/ is pure: it imports no module of Node ('node:fs')"],
  ['src/domain/x.ts', "export { randomUUID } from 'node:crypto';", "src/domain/ is pure: it imports no module of Node ('node:crypto')"],
  ['src/ports/x.ts', "import { createServer } from 'http'; export const s = createServer;", "src/ports/ is pure: it imports no module of Node ('http')"],
  ['src/ports/x.ts', "export type { Config } from './../config/schema';", "src/ports/ may import only domain of src/; './../config/schema' is src/config/"],
  ['src/ports/x.ts', "export type { Summary } from '../call/flow/types';", "'../call/flow/types' is inside the slice call/"],
  ['src/ports/x.ts', "export { z } from 'zod';", "src/ports/ is pure: it imports no package ('zod')"],
  // Other shared folders.
  ['src/config/x.ts', "export { createLogger } from '../observability/logger';", "src/config/ may import only domain of src/; '../observability/logger' is src/observability/"],
  ['src/observability/x.ts', "export const load = () => import('../config/load');", "src/observability/ may import only ports of src/; '../config/load' is src/config/"],
  ['src/files/x.ts', "const { formatRecord } = require('../ledger'); export const f = formatRecord;", "src/files/ may import no other folder of src/; '../ledger' is src/ledger/"],
  ['src/types/x.d.ts', "export type { Language } from '../domain/vocabulary';", "src/types/ may import no other folder of src/; '../domain/vocabulary' is src/domain/"],
  // Adapters: each client library only in its own, and no adapter imports another.
  ['src/adapters/ari/x.ts', "export { Redis } from 'ioredis';", 'ioredis is used through src/adapters/redis/ only'],
  ['src/adapters/ari/x.ts', "export { AmiConnection } from '../ami/ami-connection';", "src/adapters/ari/ may import only domain, observability, ports of src/; '../ami/ami-connection' is src/adapters/ami/"],
  ['src/adapters/ami/x.ts', "export { default as Ari } from 'ari-client';", 'ari-client is used through src/adapters/ari/ only'],
  ['src/adapters/ami/x.ts', "export { ConsentApp } from '../../call';", "src/adapters/ami/ may import only observability, ports of src/; '../../call' is src/call/"],
  ['src/adapters/redis/x.ts', "export { parseRecord } from '../redis/../../ledger/record';", "'../redis/../../ledger/record' is inside the slice ledger/"],
  ['src/adapters/redis/x.ts', "export { AmiRecorder } from '../ami/recorder';", "src/adapters/redis/ may import only config, ledger, observability of src/; '../ami/recorder' is src/adapters/ami/"],
  ['src/ledger/x.ts', "import Manager = require('asterisk-manager'); export const M = Manager;", 'asterisk-manager is used through src/adapters/ami/ only'],
  ['src/adapters/age/x.ts', "export { keyringOf } from '../../recordings';", "src/adapters/age/ may import only ports of src/; '../../recordings' is src/recordings/"],
  // Slices, and the pure folders inside call/ and midcall/.
  ['src/call/x.ts', "export { DurableLedger } from '../ledger';", "src/call/ may import only call/flow, config, domain, observability, ports of src/; '../ledger' is src/ledger/"],
  ['src/call/x.ts', "export { startService } from '../service/start';", "src/call/ may import only call/flow, config, domain, observability, ports of src/; '../service/start' is src/service/"],
  ['src/call/flow/x.ts', "import { readFile } from 'node:fs/promises'; export const r = readFile;", "src/call/flow/ is pure: it imports no module of Node ('node:fs/promises')"],
  ['src/call/flow/x.ts', "export { CallRunner } from '../call-runner';", "src/call/flow/ may import only domain of src/; '../call-runner' is src/call/"],
  ['src/call/flow/x.ts', "export type T = import('../../ports/clock').Clock;", "src/call/flow/ may import only domain of src/; '../../ports/clock' is src/ports/"],
  ['src/midcall/x.ts', "export { Checkpointer } from '../evidence/checkpointer';", "'../evidence/checkpointer' is inside the slice evidence/"],
  ['src/midcall/x.ts', "export { RedisLedgerStore } from '../adapters/redis';", "src/midcall/ may import only midcall/plan, adapters/ami, config, domain, ledger, observability, ports of src/; '../adapters/redis' is src/adapters/redis/"],
  ['src/midcall/plan/x.ts', "import { connect } from 'node:net'; export const c = connect;", "src/midcall/plan/ is pure: it imports no module of Node ('node:net')"],
  ['src/midcall/plan/x.ts', "const { spawn } = require('child_process'); export const s = spawn;", "src/midcall/plan/ is pure: it imports no module of Node ('child_process')"],
  ['src/midcall/plan/x.ts', "export { MidcallInbox } from '../inbox';", "src/midcall/plan/ may import only domain, ports of src/; '../inbox' is src/midcall/"],
  ['src/ledger/x.ts', "export { RedisLedgerStore } from '../adapters/redis';", "src/ledger/ may import only domain, files, observability, ports of src/; '../adapters/redis' is src/adapters/redis/"],
  ['src/ledger/x.ts', "export { buildPrompts } from './../prompts';", "src/ledger/ may import only domain, files, observability, ports of src/; './../prompts' is src/prompts/"],
  ['src/evidence/x.ts', "export { formatRecord } from '../ledger/format';", "'../ledger/format' is inside the slice ledger/"],
  ['src/evidence/x.ts', "export { collectReport } from '../report';", "src/evidence/ may import only config, ledger, observability, ports, prompts of src/; '../report' is src/report/"],
  ['src/retention/x.ts', "export const inbox = () => import('../midcall');", "src/retention/ may import only config, domain, ledger, observability, ports of src/; '../midcall' is src/midcall/"],
  ['src/retention/x.ts', "export { listCalls } from '../ledger//query';", "'../ledger//query' is inside the slice ledger/"],
  ['src/report/x.ts', "export { verifyLog } from '../evidence/verify';", "'../evidence/verify' is inside the slice evidence/"],
  ['src/report/x.ts', "export { createLogger } from '../observability/logger';", "src/report/ may import only domain, evidence, ledger of src/; '../observability/logger' is src/observability/"],
  ['src/recordings/x.ts', "export { eraseCaller } from '../retention';", "src/recordings/ may import only config, evidence, files, ledger, observability, ports of src/; '../retention' is src/retention/"],
  ['src/recordings/x.ts', "export { AgeCli } from '../adapters/age/age-cli';", "src/recordings/ may import only config, evidence, files, ledger, observability, ports of src/; '../adapters/age/age-cli' is src/adapters/age/"],
  ['src/prompts/x.ts', "export { sealEvent } from '../evidence';", "src/prompts/ may import only config, domain, files, ledger of src/; '../evidence' is src/evidence/"],
  ['src/prompts/x.ts', "export { renderPrompt } from './../prompts/../prompts/../call/flow/machine';", "is inside the slice call/"],
  ['src/access/x.ts', "export { eraseCaller } from '../retention';", "src/access/ may import only config, domain, evidence, files, ledger of src/; '../retention' is src/retention/"],
  ['src/access/x.ts', "export { describeCall } from '../evidence/summary';", "'../evidence/summary' is inside the slice evidence/"],
  // Roots.
  ['src/service/x.ts', "export { buildProgram } from '../cli/main';", "src/service/ may import only adapters/age, adapters/ami, adapters/ari, adapters/redis, call, config, domain, evidence, ledger, midcall, observability, ports, prompts, recordings, retention of src/; '../cli/main' is src/cli/"],
  ['src/service/x.ts', "export { ConsentApp } from '../call/consent-app';", "'../call/consent-app' is inside the slice call/"],
  ['src/cli/x.ts', "export { planPause } from '../midcall/plan/pause';", "'../midcall/plan/pause' is inside the slice midcall/"],
  ['src/cli/x.ts', "export const record = require('../service/../ledger/record');", "'../service/../ledger/record' is inside the slice ledger/"],
  ['src/cli/x.ts', "export { version } from '../../package.json';", "'../../package.json' is outside src/"],
  // Absolute paths, file: URLs and other URLs, backslashes.
  ['src/ledger/x.ts', `export { startService } from '${REPO}/src/service/start';`, "src/ledger/ may import only domain, files, observability, ports of src/;"],
  ['src/report/x.ts', `export const f = () => import('file://${REPO}/src/evidence/verify.js');`, 'is inside the slice evidence/'],
  ['src/config/x.ts', "export const f = () => import('data:text/javascript,export default 1');", 'src/ imports no URL'],
  ['src/cli/x.ts', "export { parseRecord } from '..\\\\ledger\\\\record';", "module paths are written with '/'"],
  // A file or a folder the table does not know, and a path lint cannot read.
  ['src/x.ts', 'export const x = 1;', 'src/x.ts is in no folder of the boundary table'],
  ['src/call/x.ts', "export { x } from '../billing/x';", "'../billing/x' is src/billing/x, which is in no folder of the boundary table"],
  ['src/ledger/x.ts', 'export const load = (m: string) => import(m);', 'A module path computed at run time cannot be checked'],
];

/** Nothing imports the command line, and only the command line imports service/ (static and dynamic). */
const NOT_CLI_OR_SERVICE = ['domain', 'ports', 'config', 'observability', 'files', 'adapters/ari', 'adapters/ami', 'adapters/redis', 'adapters/age', 'call', 'call/flow', 'midcall', 'midcall/plan', 'ledger', 'evidence', 'retention', 'report', 'prompts', 'recordings', 'access'];
for (const folder of NOT_CLI_OR_SERVICE) {
  const up = '../'.repeat(folder.split('/').length);
  WRONG.push([`src/${folder}/y.ts`, `export { buildProgram } from '${up}cli/main';`, `'${up}cli/main' is src/cli/`]);
  WRONG.push([`src/${folder}/y.ts`, `export const start = () => import('${up}service/start');`, `'${up}service/start' is src/service/`]);
}

/** Imports let through: file, code. */
const PERMITTED: [string, string][] = [
  ['src/domain/x.ts', "export type { Language } from './vocabulary';"],
  ['src/ports/x.ts', "export type { Language } from '../domain/vocabulary'; export type { Ledger } from './ledger';"],
  ['src/config/x.ts', "export { LANGUAGES } from '../domain/vocabulary'; export { readFileSync } from 'node:fs'; export { z } from 'zod';"],
  ['src/observability/x.ts', "export type { Observer } from '../ports/observer'; export { createServer } from 'node:http'; export { Registry } from 'prom-client';"],
  ['src/files/x.ts', "export { writeFileSync } from 'node:fs'; export { writeOutputFile } from './output-file';"],
  ['src/types/x.d.ts', "declare module 'asterisk-manager' { const Manager: unknown; export default Manager; }"],
  ['src/adapters/ari/x.ts', "export { default as Ari } from 'ari-client'; export type { CallControl } from '../../ports/call-control'; export { createLogger } from '../../observability/logger';"],
  ['src/adapters/ami/x.ts', "export { default as Manager } from 'asterisk-manager'; export type { Recorder } from '../../ports/recorder'; export { AmiConnection } from './ami-connection';"],
  ['src/adapters/redis/x.ts', "export { Redis } from 'ioredis'; export { formatRecord } from '../../ledger'; export type { Config } from '../../config/schema'; export { logKeys } from './keys';"],
  ['src/adapters/age/x.ts', "export type { RecordingCipher } from '../../ports/cipher'; export { spawn } from 'node:child_process';"],
  ['src/recordings/x.ts', "export { sealOf } from '../evidence'; export type { RecordingKey } from '../ledger'; export { writeOutputFile } from '../files/output-file'; export { spawn } from 'node:child_process';"],
  ['src/call/x.ts', "export { decide } from './flow/machine'; export type { Clock } from '../ports/clock'; export { handBack } from './hand-back';"],
  ['src/call/flow/x.ts', "export type { Language } from '../../domain/vocabulary'; export type { Summary } from './types';"],
  ['src/midcall/x.ts', "export { AmiConnection } from '../adapters/ami/ami-connection'; export { formatRecord } from '../ledger'; export { planPause } from './plan/pause';"],
  ['src/midcall/plan/x.ts', "export type { Ledger } from '../../ports/ledger'; export type { Language } from '../../domain/vocabulary'; export { planWithdrawal } from './withdrawal';"],
  ['src/ledger/x.ts', "export type { ConsentRecord } from '../ports/ledger'; export { writeOutputFile } from '../files/output-file'; export { DAY_MS } from './durable-ledger'; export { createHash } from 'node:crypto';"],
  ['src/evidence/x.ts', "export { formatRecord } from '../ledger/index'; export { buildPrompts } from '../prompts'; export { sealEvent } from './seal';"],
  ['src/retention/x.ts', "export const ledger = () => import('../ledger'); export type { Clock } from '../ports/clock'; export { eraseCall } from './admin';"],
  ['src/report/x.ts', "export { verifyLog } from '../evidence/'; export { formatRecord } from '../ledger'; export { renderReport } from './render';"],
  ['src/prompts/x.ts', "export type { Config } from '../config/schema'; export { formatRecord } from '../ledger'; export { execFile } from 'node:child_process';"],
  ['src/access/x.ts', "export { describeCall } from '../evidence'; export { writeOutputFile } from '../files/output-file'; export type { ProfileSet } from '../config/profiles'; export { collectAccess } from './collect';"],
  ['src/service/x.ts', "export { ConsentApp } from '../call'; export { AriAdapter } from '../adapters/ari/ari-adapter'; export { createLedger } from './ledger';"],
  ['src/cli/x.ts', "export { giveAccess } from '../access'; export { startService } from '../service/start'; export { collectReport } from '../report/index.ts'; export const doctor = require('./doctor'); export { Command } from 'commander';"],
];

describe('import boundaries', () => {
  let messages: string[][];
  beforeAll(() => {
    messages = lintSamples([...WRONG.map(([file, code]): [string, string] => [file, code]), ...PERMITTED]);
  });

  test('Every folder of src/ that holds source files is probed both ways', () => {
    const probed = (samples: [string, ...string[]][]) => new Set(samples.map(([file]) => dirname(file).replace(/^src\/?/, '')));
    const refused = probed(WRONG);
    const permitted = probed(PERMITTED);
    for (const folder of sourceFolders()) {
      expect([folder, refused.has(folder)]).toEqual([folder, true]);
      expect([folder, permitted.has(folder)]).toEqual([folder, true]);
    }
  });

  test.each(WRONG.map((w, i) => [...w, i] as const))('When %s has %s, then lint refuses it: %s', (_file, _code, reason, i) => {
    expect(messages[i]).toHaveLength(1);
    expect(messages[i]?.[0]).toContain(reason);
  });

  test.each(PERMITTED.map((p, i) => [...p, WRONG.length + i] as const))('When %s has %s, then lint lets it through', (_file, _code, i) => {
    expect(messages[i]).toEqual([]);
  });
});
