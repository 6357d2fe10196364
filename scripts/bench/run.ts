/**
 * A benchmark run's resources: the sandbox, AMI, the service instances and the Node floor, what the
 * service logged; prepared once, shared by every phase, cleaned up at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO, asteriskCli, promptSeconds, requireSandbox, TestAmi, type LogLine, type SandboxStatus, type StartOptions } from '../../test/support';
import { BENCH_EVENT_FILTER, CallTracker } from './calls';
import { dropLedger } from './checks';
import { ServiceGroup } from './instances';
import { benchRecipients, campaignConfig, type Options } from './options';
import { machineCpu } from './proc';
import type { PhaseResult } from './phase';

/** What an experiment plugs into a run. */
export interface BenchHooks {
  /** Changes the options every service instance starts with (environment, node flags). */
  startOptions?(o: StartOptions): StartOptions;
  onServiceLine?(l: LogLine): void;
  afterPhase?(p: PhaseResult): void | Promise<void>;
  /** Extra fields for the JSON report. */
  report?(): Record<string, unknown>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the service logged, per call (UNIQUEID) and in total. */
export interface AppLog {
  ended: Set<string>;
  at: Record<'entered' | 'decision' | 'recording', Map<string, number>>;
  journalWrites: number;
  errors: number;
}

export interface Run {
  o: Options;
  sb: SandboxStatus;
  runId: string;
  recDir: string;
  profDir: string | undefined;
  ami: TestAmi;
  tracker: CallTracker;
  svc: ServiceGroup;
  /** The Node floor (node-floor.ts), when the run has its flow. */
  floor: { app: string; proc: ChildProcess } | null;
  log: AppLog;
  hooks: BenchHooks;
  asteriskPid: number;
  /** The length (ms) of the sandbox's built `accepted` prompt in a language, or null when it has none. */
  confirmationMs(lang: string): number | null;
  interrupted: boolean;
}

/** The sandbox's confirmation prompt lengths, read once per language. */
function confirmationLengths(): (lang: string) => number | null {
  const known = new Map<string, number | null>();
  return (lang) => {
    if (!known.has(lang)) {
      let ms: number | null = null;
      try {
        ms = promptSeconds(lang as 'ar' | 'fr', 'accepted') * 1000;
      } catch {
        // no such prompt built in the sandbox
      }
      known.set(lang, ms);
    }
    return known.get(lang) ?? null;
  };
}

/** Starts the Node floor under its own Stasis application; resolves once it is connected. */
async function startFloor(sb: SandboxStatus, app: string, recDir: string, steps: Options['floorSteps']): Promise<NonNullable<Run['floor']>> {
  const env = {
    FLOOR_STEPS: steps,
    FLOOR_ARI_URL: sb.ari.url,
    FLOOR_ARI_USER: sb.ari.user,
    FLOOR_ARI_PASSWORD: sb.ari.password,
    FLOOR_APP: app,
    FLOOR_AMI_PORT: String(sb.ami.port),
    FLOOR_AMI_USER: sb.ami.user,
    FLOOR_AMI_SECRET: sb.ami.secret,
    FLOOR_REDIS_PORT: new URL(sb.redis.url).port,
    FLOOR_RECORDING_DIR: recDir,
  };
  const proc = spawn(process.execPath, ['--experimental-websocket', '--no-warnings', resolve(__dirname, 'node-floor.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    proc.stdout.once('data', () => res());
    proc.once('exit', (code) => rej(new Error(`the Node floor exited with ${code} before it was ready`)));
  });
  return { app, proc };
}

export async function prepare(o: Options): Promise<Run> {
  const sb = await requireSandbox();
  if (!existsSync(resolve(REPO, 'dist/cli/main.js'))) throw new Error('dist/cli/main.js is missing: run `npm run build`');
  const loaded = ['consent-bench-caller', 'consent-baseline', 'consent-ivr'].map((c) => asteriskCli(`dialplan show ${c}`)).join('');
  if (!['TALK_DETECT', 'MixMonitor', 'CONSENT_APP'].every((w) => loaded.includes(w))) {
    throw new Error('the sandbox has not loaded dialplans/baseline.conf (or the CONSENT_APP routine): run `npm run sandbox:up`');
  }
  if (!sb.asterisk.pid) throw new Error('the sandbox status gives no Asterisk pid');
  const hooks: BenchHooks = o.hooks ? ((await import(resolve(o.hooks))) as { default: BenchHooks }).default : {};
  const runId = `bench-${Date.now().toString(36)}`;
  mkdirSync(o.out, { recursive: true });
  const recDir = resolve(sb.recordingsDir, 'bench', runId);
  const profDir = o.cpuProf ? resolve(o.out, `${runId}-prof`) : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });
  const ami = await new TestAmi({ actionTimeoutMs: 60000, keep: false, eventMask: 'call,dtmf,user', filter: BENCH_EVENT_FILTER }).start();
  console.log(`run ${runId}: starting ${o.instances} consent-ivr instance(s) (app and ledger prefix ${runId})${o.campaigns > 0 ? ` with ${o.campaigns} campaign profiles loaded` : ''}${o.encrypt ? ', recordings encrypted (age)' : ''}`);
  let start: StartOptions = {
    ...(o.campaigns > 0 ? { config: campaignConfig(o.out, runId, o.campaigns) } : {}),
    nodeArgs: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
    env: {
      CONSENT_IVR_LOGGING_LEVEL: o.logLevel,
      CONSENT_IVR_LOGGING_FORMAT: 'json',
      CONSENT_IVR_REDIS_KEY_PREFIX: `${runId}:`,
      CONSENT_IVR_RECORDING_DIR: resolve(recDir, 'app'),
      ...(o.encrypt ? { CONSENT_IVR_RECORDING_ENCRYPTION_RECIPIENTS_FILE: benchRecipients(o.out, runId) } : {}),
    },
  };
  start = hooks.startOptions?.(start) ?? start;
  const svc = await ServiceGroup.start(runId, start, o.instances);
  const floor = o.flows.includes('node') ? await startFloor(sb, `${runId}-floor`, resolve(recDir, 'node'), o.floorSteps) : null;
  const log: AppLog = { ended: new Set(), at: { entered: new Map(), decision: new Map(), recording: new Map() }, journalWrites: 0, errors: 0 };
  const stamp: Record<string, keyof AppLog['at']> = { 'call entered the consent flow': 'entered', decision: 'decision', 'recording started': 'recording' };
  svc.onLine((l) => {
    hooks.onServiceLine?.(l);
    if (l.level === 'error') log.errors++;
    if (l.message === 'ledger: record stored in the local journal') log.journalWrites++;
    if (typeof l.call !== 'string') return;
    if (l.message === 'consent flow ended') log.ended.add(l.call);
    const k = stamp[String(l.message)];
    if (k) log.at[k].set(l.call, Date.parse(String(l.timestamp)));
  });
  const run: Run = { o, sb, runId, recDir, profDir, ami, tracker: new CallTracker(ami, runId), svc, floor, log, hooks, asteriskPid: sb.asterisk.pid, confirmationMs: confirmationLengths(), interrupted: false };
  process.once('SIGINT', () => {
    run.interrupted = true;
    console.error('interrupted: stopping the service');
  });
  return run;
}

/**
 * Other engineers' tests share this machine and this Asterisk: before a phase, wait (bounded) for a
 * quiet moment: no other channel in Asterisk and the whole machine under 25 % of one core for 3 s.
 */
export async function waitQuiet(run: Run): Promise<{ waitedS: number; quiet: boolean; otherChannels: number; busyPercentOfOneCore: number | null }> {
  const t0 = Date.now();
  for (;;) {
    const before = machineCpu();
    await sleep(3000);
    const after = machineCpu();
    const busy = before && after ? (100 * (after.busyS - before.busyS)) / 3 : null;
    const chans = (await run.ami.channels()).length;
    const quiet = chans === 0 && busy !== null && busy < 25;
    if (quiet || Date.now() - t0 >= run.o.quietWaitMs) return { waitedS: (Date.now() - t0) / 1000, quiet, otherChannels: chans, busyPercentOfOneCore: busy };
  }
}

export async function cleanup(run: Run): Promise<void> {
  const dropped = await dropLedger(run.sb.redis.url, `${run.runId}:`).catch(() => 0);
  if (run.floor) await dropLedger(run.sb.redis.url, `${run.floor.app}:`).catch(() => 0);
  rmSync(run.recDir, { recursive: true, force: true });
  for (const app of run.svc.apps) for (const f of [`${app}.jsonl`, `${app}.jsonl.lock`, `${app}.checkpoints.jsonl`]) rmSync(resolve(run.sb.stateDir, 'journal', f), { force: true });
  console.log(`cleaned up: ${dropped} ledger keys under ${run.runId}:, recordings in ${run.recDir} (keep them with --keep)`);
}
