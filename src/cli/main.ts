#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=20
/**
 * The consent-ivr command line: start the service, build prompts, check the configuration, and the
 * ledger commands. Exit codes: 0 ok, 1 operational failure, 2 bad configuration or usage.
 *
 * The first line names the node options the service runs with; the `consent-ivr` bin (systemd's
 * unit, an administrator's shell) gets them from it, `npm start` passes the same, and the tests and
 * the benchmark read them from it. A call allocates little and lives for seconds, so:
 * - `--max-semi-space-size=2`: a young generation of 2 MB semi-spaces (up to 16 MB each by default
 *   on 64-bit), which only reserved memory here;
 * - `--heap-growing-percent=20`: the old generation may grow by 20 % of what is live before the next
 *   full collection. With the small young generation alone, more objects reach the old one, and V8
 *   let 60 MB of dead ones pile up there (RSS 164 MB in a 5,000-call soak).
 * Together, in a soak of 5,000 calls 200 at a time, the RSS stays at 104–113 MB, for ~2 % more CPU
 * per call (docs/benchmark.md, "Soak").
 */
import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startService, type Service } from '../service/start';
import { ConfigError, loadConfig, LoadResult } from '../config/load';
import { profileSetOf } from '../config/profiles';
import type { Config, Secrets } from '../config/schema';
import { createLogger, type Logger } from '../observability/logger';
import { promptAudioProbe, promptDurations } from '../prompts';
import { checkConfig, checkDialplan, checkTimings, type Finding } from './check-config';
import { crashHandler } from './crash';
import { diagnose, printDoctor } from './doctor';
import { registerKeyCommands } from './key-commands';
import { registerPromptsCommands } from './prompts-commands';
import { registerLedgerCommands } from './ledger-commands';
import { registerAcceptLoss } from './loss-command';
import { registerRecordingCommands } from './recording-commands';
import { registerReportCommand } from './report-command';

/** Where the configuration is when a server is set up as docs/admin.md says. */
export const SYSTEM_CONFIG = '/etc/consent-ivr/consent-ivr.yaml';

/**
 * The configuration read without --config: CONSENT_IVR_CONFIG; else, run from a checkout whose
 * sandbox is up (scripts/sandbox.sh and its .sandbox/ folder next to this program), the sandbox's
 * config/sandbox.yaml; else the system's /etc/consent-ivr/consent-ivr.yaml.
 */
export function defaultConfig(env: NodeJS.ProcessEnv = process.env, root = resolve(__dirname, '../..')): string {
  if (env.CONSENT_IVR_CONFIG) return env.CONSENT_IVR_CONFIG;
  const sandbox = join(root, 'config', 'sandbox.yaml');
  if (existsSync(join(root, 'scripts', 'sandbox.sh')) && existsSync(join(root, '.sandbox')) && existsSync(sandbox)) return sandbox;
  return SYSTEM_CONFIG;
}

function fail(message: string, code: number): never {
  process.stderr.write(`consent-ivr: ${message}\n`);
  process.exit(code);
}

function load(program: Command, opts: { secrets?: readonly (keyof Secrets)[]; optionalSecrets?: readonly (keyof Secrets)[] } = {}): LoadResult {
  const file = program.opts<{ config: string }>().config;
  try {
    return loadConfig(file, process.env, opts);
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 2);
    throw e;
  }
}

/**
 * Reads the configuration file again and hands its profiles and prompts to the running service. A
 * file that does not load or validate is refused with the error logged: the configuration in force
 * stays, and no call notices.
 */
function reloadService(service: Service, program: Command, log: Logger): void {
  const file = program.opts<{ config: string }>().config;
  let next: Config;
  try {
    next = loadConfig(file, process.env).config;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log.error('reload refused: the new configuration is not valid; the one in force is kept', { error: message, key: e instanceof ConfigError ? e.key : undefined });
    return;
  }
  try {
    service.reload(next);
  } catch (e) {
    log.error('reload refused: the profiles or prompts could not be read; the ones in force are kept', { error: (e as Error).message });
  }
}

/** `consent-ivr start`: the service, with its signals handled from the start. */
function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the Stasis application')
    .action(async () => {
      const { config, warnings } = load(program);
      const log = createLogger(config.logging);
      process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: e instanceof Error ? e.message : String(e) }));
      process.on('uncaughtException', crashHandler(log));
      // Signals are handled from the start: one that arrives while the service starts stops it once started.
      let service: Service | null = null;
      let stopAsked = false;
      let signals = 0;
      const stop = () => void service?.stop().then(() => process.exit(0));
      const onSignal = (sig: string) => {
        signals += 1;
        if (signals > 1) {
          log.warn('second signal: exiting now', { signal: sig });
          process.exit(1);
        }
        stopAsked = true;
        // Still starting: stopped once started, or after 5 s if starting hangs (nothing was taken yet).
        if (!service) setTimeout(() => process.exit(0), 5000).unref();
        stop();
      };
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      process.on('SIGINT', () => onSignal('SIGINT'));
      // SIGHUP (systemctl reload): the configuration and the prompts again, for the calls that enter from now on.
      process.on('SIGHUP', () => {
        if (!service || stopAsked) return void log.warn('reload asked while starting or stopping; ignored');
        reloadService(service, program, log);
      });
      try {
        service = await startService(config, warnings, log);
        if (stopAsked) stop();
      } catch (e) {
        if (e instanceof ConfigError) {
          log.error(e.message, { key: e.key });
          fail(e.message, 2);
        }
        log.error('start-up failed', { error: (e as Error).message });
        fail((e as Error).message, 1);
      }
    });
}

/** `consent-ivr check-config`. */
function registerCheckConfig(program: Command): void {
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
        ...checkConfig(config, promptAudioProbe(o.soundsDir ? resolve(o.soundsDir) : config.prompts.soundsDir)),
        ...profileSetOf(config).all.flatMap((p) => checkTimings(p, promptDurations(p, o.soundsDir ? resolve(o.soundsDir) : config.prompts.soundsDir))),
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
}

/** `consent-ivr doctor`. */
function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check everything the service needs (ARI, AMI, modules, dialplan, http.conf, prompts, recordings, Redis and its persistence, clock, legal fields); one line per problem, exit 1 if any')
    .option('--json', 'print the report as JSON')
    .action(async (o: { json?: boolean }) => {
      const { config, warnings } = load(program);
      process.exitCode = printDoctor(await diagnose(config, warnings), (s) => process.stdout.write(s), o.json);
    });
}

export function buildProgram(): Command {
  const program = new Command('consent-ivr')
    .description('Asks callers, in Arabic and French, for consent before a call is recorded')
    .option('-c, --config <file>', `configuration file (default: CONSENT_IVR_CONFIG, else ${SYSTEM_CONFIG}; in a checkout with the sandbox up, config/sandbox.yaml)`, defaultConfig())
    .showHelpAfterError();

  registerStart(program);
  registerPromptsCommands(program, () => load(program, { secrets: [] }).config);
  registerCheckConfig(program);
  registerDoctor(program);

  // The ledger commands (run by whoever erases and purges, often from cron) need the pseudonym key
  // only, not the ARI password or the AMI secret.
  // The signing key where this host has it: checkpoints are then signed, and trusted, without a --key.
  const ledgerConfig = (): Config => load(program, { secrets: ['pseudonymKey'], optionalSecrets: ['signingKey'] }).config;
  registerLedgerCommands(program, ledgerConfig);
  const ledger = program.commands.find((c) => c.name() === 'ledger');
  if (ledger) registerAcceptLoss(ledger, ledgerConfig, {}, (code) => (process.exitCode = code));
  registerReportCommand(program, ledgerConfig);
  registerRecordingCommands(program, ledgerConfig);
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
