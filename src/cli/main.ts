#!/usr/bin/env node
/**
 * The consent-ivr command line: start the service, build prompts, check the configuration, and the
 * ledger commands. Exit codes: 0 ok, 1 operational failure, 2 bad configuration or usage.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startService } from '../app/service';
import { ConfigError, loadConfig, LoadResult } from '../config/load';
import type { Config, Secrets } from '../config/schema';
import { createLogger } from '../logging/logger';
import { buildPrompts, buildTone, noticeVersion, promptDurations } from '../prompts/build';
import { checkConfig, checkDialplan, checkTimings, Finding } from './check-config';
import { registerKeyCommands } from './key-commands';
import { registerLedgerCommands } from './ledger-commands';

const DEFAULT_CONFIG = process.env.CONSENT_IVR_CONFIG ?? 'config/consent-ivr.yaml';

function fail(message: string, code: number): never {
  process.stderr.write(`consent-ivr: ${message}\n`);
  process.exit(code);
}

function load(program: Command, opts: { secrets?: readonly (keyof Secrets)[] } = {}): LoadResult {
  const file = program.opts<{ config: string }>().config;
  try {
    return loadConfig(file, process.env, opts);
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 2);
    throw e;
  }
}

export function buildProgram(): Command {
  const program = new Command('consent-ivr')
    .description('Asks callers, in Arabic and French, for consent before a call is recorded')
    .option('-c, --config <file>', 'configuration file (or CONSENT_IVR_CONFIG)', DEFAULT_CONFIG)
    .showHelpAfterError();

  program
    .command('start')
    .description('run the Stasis application')
    .action(async () => {
      const { config, warnings } = load(program);
      const log = createLogger(config.logging);
      process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: e instanceof Error ? e.message : String(e) }));
      try {
        const service = await startService(config, warnings, log);
        let signals = 0;
        const onSignal = (sig: string) => {
          signals += 1;
          if (signals > 1) {
            log.warn('second signal: exiting now', { signal: sig });
            process.exit(1);
          }
          void service.stop().then(() => process.exit(0));
        };
        process.on('SIGTERM', () => onSignal('SIGTERM'));
        process.on('SIGINT', () => onSignal('SIGINT'));
      } catch (e) {
        if (e instanceof ConfigError) {
          log.error(e.message, { key: e.key });
          fail(e.message, 2);
        }
        log.error('start-up failed', { error: (e as Error).message });
        fail((e as Error).message, 1);
      }
    });

  const prompts = program.command('prompts').description('voice prompts');
  prompts
    .command('build')
    .description('speak the configured texts with espeak-ng into Asterisk sounds (8 kHz WAV)')
    .option('--sounds-dir <dir>', 'Asterisk sounds directory (default: prompts.soundsDir)')
    .option('--force', 'regenerate prompts this command wrote even if their text is unchanged')
    .action(async (o: { soundsDir?: string; force?: boolean }) => {
      const { config } = load(program, { secrets: [] });
      const dir = o.soundsDir ? resolve(o.soundsDir) : config.prompts.soundsDir;
      try {
        const results = await buildPrompts(config, dir, o.force ?? false);
        for (const r of results) process.stdout.write(`${r.status.padEnd(15)} ${r.file}\n`);
        process.stdout.write(`${'tone'.padEnd(15)} ${await buildTone(dir)}\n`);
        process.stdout.write(`notice version ${noticeVersion(config, dir).version}\n`);
      } catch (e) {
        fail((e as Error).message, 1);
      }
    });

  program
    .command('check-config')
    .description('report unset legal fields and settings that would cost a refusing caller the service')
    .option('--dialplan <files...>', 'dialplan files to check for hang-ups on refusal')
    .option('--sounds-dir <dir>', 'Asterisk sounds directory holding the prompts (default: prompts.soundsDir)')
    .option('--json', 'print findings as JSON')
    .action((o: { dialplan?: string[]; json?: boolean; soundsDir?: string }) => {
      const { config, warnings } = load(program);
      const findings: Finding[] = [
        ...warnings.map((w): Finding => ({ level: 'warning', key: w.split(':')[0] ?? '', message: w })),
        ...checkConfig(config),
        ...checkTimings(config, promptDurations(config, o.soundsDir ? resolve(o.soundsDir) : config.prompts.soundsDir)),
      ];
      for (const f of o.dialplan ?? []) {
        let text: string;
        try {
          text = readFileSync(f, 'utf8');
        } catch (e) {
          fail(`cannot read dialplan ${f} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, 2);
        }
        findings.push(...checkDialplan(f, text));
      }
      if (o.json) process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
      else if (findings.length === 0) process.stdout.write('configuration OK\n');
      else for (const f of findings) process.stdout.write(`${f.level.padEnd(7)} ${f.key}: ${f.message}\n`);
      process.exitCode = findings.some((f) => f.level === 'error') ? 1 : 0;
    });

  // The ledger commands (run by whoever erases and purges, often from cron) need the pseudonym key
  // only, not the ARI password or the AMI secret.
  registerLedgerCommands(program, (): Config => load(program, { secrets: ['pseudonymKey'] }).config);
  registerKeyCommands(program);
  return program;
}

if (require.main === module) {
  const program = buildProgram().exitOverride();
  program.parseAsync(process.argv).catch((e: unknown) => {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    fail((e as Error).message, 1);
  });
}
