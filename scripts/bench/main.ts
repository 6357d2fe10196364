/**
 * `npm run bench`: consent-ivr under load against the pure-dialplan floor (dialplans/baseline.conf), in
 * the sandbox, measured from Asterisk's own AMI event timestamps. Options and results: docs/benchmark.md.
 *
 * A run is a sequence of named steps: options → prepare (sandbox, AMI, service instances) → for each
 * flow: waitQuiet → place (burst or soak) → measure → check → summarise; then report and clean up.
 * `--hooks FILE` loads a module whose default export is a `BenchHooks`: what an experiment may change
 * (the service's start options) and observe (its log lines, each phase's result).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO, asteriskCli, until, promValue, requireSandbox, stasisChannels, TestAmi, type LogLine, type SandboxStatus, type StartOptions } from '../../test/support';
import { CallTracker, latencies, type CallRecord, type CallScript, type Flow } from './calls';
import { checkLedger, dropLedger, stuckChannels, type LedgerCheck } from './checks';
import { ServiceGroup } from './instances';
import { ProcSampler, cpuSeconds, machineCpu, threads } from './proc';
import { summariseProfile, type ProfileSummary } from './profile';
import { fmt, peakOverlap, slope, summarise, type Summary } from './stats';

/** What an experiment plugs into a run. */
export interface BenchHooks {
  /** Changes the options every service instance starts with (environment, node flags). */
  startOptions?(o: StartOptions): StartOptions;
  onServiceLine?(l: LogLine): void;
  afterPhase?(p: PhaseResult): void | Promise<void>;
  /** Extra fields for the JSON report. */
  report?(): Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
}

// ------------------------------------------------------------------------------------ options

/** --campaigns N: the service runs with N campaign profiles loaded besides the default. */
function campaignCount(v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 999) throw new Error(`--campaigns must be a whole number from 0 to 999, got ${v}`);
  return n;
}

/**
 * A configuration with `n` campaign profiles, each with its own controller and a number pattern no
 * benchmark call dials: every call is chosen into the default profile after its number was tried
 * against every profile's patterns (the longest choice), and plays the prompts the sandbox built.
 */
function campaignConfig(dir: string, runId: string, n: number): string {
  const lines = [`extends: ${resolve(REPO, 'config/sandbox.yaml')}`, 'profiles:'];
  for (let i = 1; i <= n; i += 1) {
    const id = String(i).padStart(3, '0');
    lines.push(`  campaign-${id}:`, `    numbers: ["_8${id}XXXXXX", "09${id}00000"]`, `    legal: { controller: "Client ${id} SARL", cndpReference: "D-${id}-2026" }`, `    ledger: { retentionDays: ${30 + i} }`);
  }
  const file = resolve(dir, `${runId}-campaigns.yaml`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** --encrypt: the service encrypts its recordings to a key made for this run (recording.encryption). */
function benchRecipients(dir: string, runId: string): string {
  const identity = resolve(dir, `${runId}-dpo.key`);
  execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
  const file = resolve(dir, `${runId}-recipients.txt`);
  writeFileSync(file, execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }));
  return file;
}

function options() {
  const { values: a } = parseArgs({
    options: {
      calls: { type: 'string', default: '400' },
      flows: { type: 'string', default: 'baseline,node,app' },
      soak: { type: 'boolean', default: false },
      'soak-calls': { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '200' },
      w1: { type: 'string', default: '2' },
      'w1-jitter': { type: 'string', default: '4' },
      ramp: { type: 'string', default: '0' },
      'agent-secs': { type: 'string', default: '2' },
      settle: { type: 'string', default: '5' },
      'sample-every': { type: 'string', default: '5' },
      out: { type: 'string', default: 'bench-results' },
      keep: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'info' },
      caller: { type: 'string', default: 'silence' },
      'quiet-wait': { type: 'string', default: '180' },
      'no-heard': { type: 'boolean', default: false },
      hooks: { type: 'string' },
      instances: { type: 'string', default: '1' },
      campaigns: { type: 'string', default: '0' },
      encrypt: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const soak = a.soak === true;
  // Each caller presses the key w1 + U(0, w1-jitter) s after the answer: by default 2 to 6 s into the 12 s
  // Arabic notice. --w1-jitter 0 is the worst case: every key within the time it took to place the calls.
  const w1Jitter = Number(a['w1-jitter']);
  if (!Number.isFinite(w1Jitter) || w1Jitter < 0) throw new Error('--w1-jitter must be a number of seconds >= 0');
  const rampMs = Number(a.ramp) * 1000;
  if (!Number.isFinite(rampMs) || rampMs < 0) throw new Error('--ramp must be a number of seconds >= 0');
  const flows = (soak ? 'app' : (a.flows ?? '')).split(',').map((f) => f.trim()) as Flow[];
  for (const f of flows) if (!['app', 'baseline', 'node'].includes(f)) throw new Error(`--flows: unknown flow ${f} (baseline, node, app)`);
  // What the caller sends: "silence" from the answer to the key (a phone's RTP); "talk" also a 1 kHz tone
  // after the key; "none" nothing at all (then Answer() in the floor waits 500 ms for media).
  const caller = a.caller ?? 'silence';
  if (!['silence', 'talk', 'none'].includes(caller)) throw new Error(`--caller must be silence, talk or none, got ${caller}`);
  return {
    soak,
    calls: Math.round(positive(soak ? 'soak-calls' : 'calls', soak ? a['soak-calls'] : a.calls)),
    concurrency: soak ? Math.round(positive('concurrency', a.concurrency)) : null,
    script: { w1: positive('w1', a.w1), w1Jitter, key: '1', agentSecs: Number(a['agent-secs']), talk: 120 } as CallScript,
    settleMs: Number(a.settle) * 1000,
    rampMs,
    sampleEveryMs: positive('sample-every', a['sample-every']) * 1000,
    flows,
    caller,
    callerVars: { BENCH_HEARD: a['no-heard'] ? '0' : '1', BENCH_SILENCE: caller === 'none' ? '0' : '1', BENCH_TONE: caller === 'talk' ? '1' : '0' },
    logLevel: a['log-level'] === 'debug' ? 'debug' : 'info',
    quietWaitMs: Number(a['quiet-wait']) * 1000,
    instances: Math.round(positive('instances', a.instances)),
    campaigns: campaignCount(a.campaigns),
    encrypt: a.encrypt === true,
    cpuProf: a['cpu-prof'] === true,
    hooks: a.hooks,
    keep: a.keep === true,
    out: resolve(REPO, a.out ?? 'bench-results'),
  };
}
type Options = ReturnType<typeof options>;

// ------------------------------------------------------------------------------------ prepare

/** What the service logged, per call (UNIQUEID) and in total. */
interface AppLog {
  ended: Set<string>;
  at: Record<'entered' | 'decision' | 'recording', Map<string, number>>;
  journalWrites: number;
  errors: number;
}

interface Run {
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
  interrupted: boolean;
}

/** Starts the Node floor under its own Stasis application; resolves once it is connected. */
async function startFloor(sb: SandboxStatus, app: string, recDir: string): Promise<NonNullable<Run['floor']>> {
  const env = {
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

async function prepare(o: Options): Promise<Run> {
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
  const ami = await new TestAmi({ actionTimeoutMs: 60000, keep: false, eventMask: 'call,dtmf,user' }).start();
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
  const floor = o.flows.includes('node') ? await startFloor(sb, `${runId}-floor`, resolve(recDir, 'node')) : null;
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
  const run: Run = { o, sb, runId, recDir, profDir, ami, tracker: new CallTracker(ami, runId), svc, floor, log, hooks, asteriskPid: sb.asterisk.pid, interrupted: false };
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
async function waitQuiet(run: Run): Promise<{ waitedS: number; quiet: boolean; otherChannels: number; busyPercentOfOneCore: number | null }> {
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

// ------------------------------------------------------------------------------------ place

type RssPoint = { t: number; completed: number; rssMb: number | null; heapUsedMb: number | null; heapTotalMb?: number | null; externalMb?: number | null };

interface Placed {
  calls: CallRecord[];
  originateMs: number;
  series: RssPoint[];
}

/** Places `total` calls of `flow`: all at once (or over --ramp), or in a soak at most `limit` at a time; resolves when they are over. */
async function place(run: Run, flow: Flow, total: number, limit: number | null): Promise<Placed> {
  const { o, svc, tracker } = run;
  const vars = (i: number) =>
    flow === 'app' ? { ...o.callerVars, __CONSENT_APP: svc.appFor(i) } : flow === 'node' ? { ...o.callerVars, __CONSENT_APP: run.floor?.app ?? '' } : { ...o.callerVars, __BASELINE_DIR: resolve(run.recDir, 'baseline') };
  const t0 = Date.now();
  const out: Placed = { calls: [], originateMs: 0, series: [] };
  let placed = 0;
  let finished = 0;
  let allDone!: () => void;
  const over = new Promise<void>((r) => (allDone = r));
  const originating: Promise<unknown>[] = [];
  const launch = () => {
    while (!run.interrupted && placed < total && (limit === null || placed - finished < limit)) {
      const i = placed++;
      originating.push(tracker.place(i, flow, o.script, vars(i)).then((c) => out.calls.push(c)));
    }
    if (placed === total && out.originateMs === 0) void Promise.all(originating).then(() => (out.originateMs = Date.now() - t0));
  };
  tracker.onFinished = (c) => {
    if (c.flow !== flow) return;
    finished++;
    if (limit !== null && finished % 500 === 0) console.log(`  ${finished} calls done, service RSS ${fmt(svc.rssMb())} MB`);
    if (finished >= total) allDone();
    else if (limit !== null) launch();
  };
  // RSS from /proc; the JS heap and external memory from the service's own metrics (largest instance).
  const sample = async () => {
    const p: RssPoint = { t: Date.now() - t0, completed: finished, rssMb: svc.rssMb(), heapUsedMb: null };
    const ms = await svc.metrics().catch(() => null);
    const most = (name: string) => (ms ? Math.max(...ms.map((m) => promValue(m, name) / 2 ** 20)) : null);
    out.series.push({ ...p, heapUsedMb: most('consent_ivr_nodejs_heap_size_used_bytes'), heapTotalMb: most('consent_ivr_nodejs_heap_size_total_bytes'), externalMb: most('consent_ivr_nodejs_external_memory_bytes') });
  };
  const sampler = limit === null ? null : setInterval(() => void sample(), o.sampleEveryMs);
  if (limit === null && o.rampMs > 0) {
    for (let i = 0; i < total && !run.interrupted; i++) {
      await sleep(Math.max(0, t0 + (i * o.rampMs) / total - Date.now()));
      const c = await tracker.place(placed++, flow, o.script, vars(i));
      out.calls.push(c);
    }
    out.originateMs = Date.now() - t0;
  } else launch();
  // A call lasts about w1 + prompts + agentSecs: give the slowest plenty of time.
  const perCallMs = (o.script.w1 + o.script.w1Jitter + o.script.agentSecs + 30) * 1000;
  const budget = (limit === null ? perCallMs + o.rampMs : perCallMs * Math.ceil(total / limit)) + 120000;
  await Promise.race([over, sleep(budget)]);
  if (sampler) {
    clearInterval(sampler);
    out.series.push({ t: Date.now() - t0, completed: finished, rssMb: svc.rssMb(), heapUsedMb: null });
  }
  return out;
}

// ------------------------------------------------------------------------------------ measure and check

type Usage = ReturnType<ProcSampler['stop']>;

/** CPU and memory of Asterisk, the service and the machine while `body` runs. */
async function measure<T>(run: Run, flow: Flow, body: () => Promise<T>) {
  const pid = run.asteriskPid;
  const ast = new ProcSampler(pid, 500).start();
  const app = flow === 'app' ? run.svc.sample(500) : flow === 'node' ? new ProcSampler(run.floor?.proc.pid ?? -1, 500).start() : null;
  let threadsPeak = threads(pid) ?? 0;
  const threadTimer = setInterval(() => (threadsPeak = Math.max(threadsPeak, threads(pid) ?? 0)), 500);
  if (flow === 'app') await run.svc.metrics().catch(() => undefined); // resets the event-loop lag histogram
  const machine0 = machineCpu();
  const bench0 = cpuSeconds(process.pid);
  const t0 = Date.now();
  const result = await body();
  clearInterval(threadTimer);
  const wallSeconds = (Date.now() - t0) / 1000;
  const asterisk = { ...ast.stop(), threadsPeak };
  const appUse: Usage | null = app?.stop() ?? null;
  const machine1 = machineCpu();
  const benchCpu = bench0 === null ? null : (cpuSeconds(process.pid) ?? bench0) - bench0;
  const busy = machine0 && machine1 ? machine1.busyS - machine0.busyS : null;
  const machine = {
    busyPercentOfAllCores: busy !== null && machine0 && machine1 ? (100 * busy) / Math.max(1e-9, machine1.totalS - machine0.totalS) : null,
    othersCpuSeconds: busy === null ? null : Math.max(0, busy - (asterisk.cpuSeconds ?? 0) - (appUse?.cpuSeconds ?? 0) - (benchCpu ?? 0)),
    benchCpuSeconds: benchCpu,
  };
  return { result, wallSeconds, asterisk, appUse, machine };
}

interface Checks {
  decided: { expected: number; seen: number; missing: string[] };
  stuckChannels: string[];
  stasisChannels: string[] | null;
  ledger: (Omit<LedgerCheck, 'missing' | 'mismatched'> & { missing: number; mismatched: number; examples: unknown[] }) | null;
  journalBacklog: number | null;
  journalWrites: number | null;
  outcomeCounter: Record<string, number> | null;
  eventLoopLagP99Ms: number | null;
  heapUsedMb: number | null;
}

/** Every call decided (accepted, and for the app its flow logged as ended), no channel left, no ledger record lost. */
async function check(run: Run, flow: Flow, calls: CallRecord[]): Promise<Checks> {
  const live = calls.filter((c) => !c.originateFailed);
  const undecided = live.filter((c) => !(c.result === 'accepted' && (flow !== 'app' || (c.uniqueId !== null && run.log.ended.has(c.uniqueId)))));
  const apps = flow === 'app' ? run.svc.apps : flow === 'node' && run.floor ? [run.floor.app] : [];
  const out: Checks = {
    decided: { expected: live.length, seen: live.length - undecided.length, missing: undecided.slice(0, 20).map((c) => c.uniqueId ?? c.benchId) },
    stuckChannels: await stuckChannels(run.ami, (n) => n.includes('@consent-bench-'), 15000),
    stasisChannels: null,
    ledger: null,
    journalBacklog: null,
    journalWrites: null,
    outcomeCounter: null,
    eventLoopLagP99Ms: null,
    heapUsedMb: null,
  };
  const perApp = await Promise.all(apps.map((a) => stasisChannels(a).catch(() => null)));
  out.stasisChannels = perApp.some((x) => x === null) ? null : perApp.flatMap((x) => x ?? []);
  if (flow !== 'app') return out;
  // The outcome is written after the hand-back: wait (bounded) for every record to be final.
  const ledger = () => checkLedger(run.sb.redis.url, `${run.runId}:`, live);
  const lc = await until(async () => {
    const r = await ledger();
    return r.complete === r.expected && r;
  }, 10000, 500) || (await ledger());
  out.ledger = { ...lc, missing: lc.missing.length, mismatched: lc.mismatched.length, examples: [...lc.missing.slice(0, 5), ...lc.mismatched.slice(0, 5)] };
  out.journalWrites = run.log.journalWrites;
  const ms = await run.svc.metrics().catch(() => null);
  if (ms) {
    const total = (name: string, labels: Record<string, string> = {}) => ms.reduce((a, m) => a + promValue(m, name, labels), 0);
    const worst = (name: string) => Math.max(...ms.map((m) => promValue(m, name)));
    out.journalBacklog = total('consent_ivr_journal_backlog');
    out.outcomeCounter = Object.fromEntries(['accepted', 'refused', 'no-input', 'abandoned', 'error'].map((x) => [x, total('consent_ivr_calls_total', { outcome: x })]));
    out.eventLoopLagP99Ms = worst('consent_ivr_nodejs_eventloop_lag_p99_seconds') * 1000;
    out.heapUsedMb = worst('consent_ivr_nodejs_heap_size_used_bytes') / 2 ** 20;
  }
  return out;
}

/** App only: where the time goes, split with the service's log timestamps (ms). */
function breakdown(log: AppLog, calls: CallRecord[]): Record<string, Summary> {
  const split = (from: (c: CallRecord, id: string) => number | null | undefined, to: (c: CallRecord, id: string) => number | null | undefined) =>
    summarise(calls.flatMap((c) => {
      const a = c.uniqueId ? from(c, c.uniqueId) : null;
      const b = c.uniqueId ? to(c, c.uniqueId) : null;
      return a != null && b != null ? [b - a] : [];
    }));
  return {
    "DTMFEnd → 'decision' logged (ARI event, flow)": split((c) => c.dtmfEnd, (_, id) => log.at.decision.get(id)),
    "'decision' → MixMonitorStart (ledger write, AMI send)": split((_, id) => log.at.decision.get(id), (c) => c.recStart),
    'MixMonitorStart → AMI response seen by the service': split((c) => c.recStart, (_, id) => log.at.recording.get(id)),
    "entry → 'call entered' logged (StasisStart delivered)": split((c) => c.enter, (_, id) => log.at.entered.get(id)),
    "'call entered' → prompt heard (ARI answer + play)": split((_, id) => log.at.entered.get(id), (c) => c.heard),
  };
}

// ------------------------------------------------------------------------------------ a phase

export interface PhaseResult {
  flow: Flow;
  mode: 'burst' | 'soak';
  calls: number;
  quiet: Awaited<ReturnType<typeof waitQuiet>>;
  originateSeconds: number;
  wallSeconds: number;
  peakCallsInFlow: number;
  latencyMs: { dtmfToRecording: Summary; entryToPromptHeard: Summary; timeInFlow: Summary };
  missingEvents: ReturnType<typeof latencies>['missing'];
  results: Record<string, number>;
  originateFailures: number;
  unfinished: number;
  asterisk: Usage & { threadsPeak: number };
  /** CPU and memory of the flow's Node process: consent-ivr, or the Node floor. */
  app: Usage | null;
  machine: Awaited<ReturnType<typeof measure>>['machine'];
  checks: Checks;
  breakdownMs: Record<string, Summary> | null;
  rssSeries?: RssPoint[];
  perCall: (string | number | null)[][];
}

async function phase(run: Run, flow: Flow, total: number, limit: number | null): Promise<PhaseResult> {
  const quiet = await waitQuiet(run);
  const how = limit ? `, at most ${limit} at a time` : run.o.rampMs > 0 ? ` placed over ${run.o.rampMs / 1000} s` : ' at once';
  console.log(`\n${flow}: ${total} calls${how} (machine ${quiet.quiet ? 'quiet' : 'NOT quiet'} after ${fmt(quiet.waitedS, 0)} s: ${quiet.otherChannels} other channels, ${fmt(quiet.busyPercentOfOneCore, 0)} % of a core busy)`);
  const m = await measure(run, flow, () => place(run, flow, total, limit));
  const calls = m.result.calls;
  const lat = latencies(calls);
  const result: PhaseResult = {
    flow,
    mode: limit === null ? 'burst' : 'soak',
    calls: calls.length,
    quiet,
    originateSeconds: m.result.originateMs / 1000,
    wallSeconds: m.wallSeconds,
    peakCallsInFlow: peakOverlap(calls.filter((c) => c.enter !== null).map((c) => ({ start: c.enter as number, end: c.done ?? c.hangup ?? Infinity }))),
    latencyMs: { dtmfToRecording: summarise(lat.dtmfToRecordingMs), entryToPromptHeard: summarise(lat.entryToPromptHeardMs), timeInFlow: summarise(lat.flowMs) },
    missingEvents: lat.missing,
    results: calls.reduce<Record<string, number>>((r, c) => {
      const k = c.originateFailed ? 'originate-failed' : (c.result ?? 'none');
      return { ...r, [k]: (r[k] ?? 0) + 1 };
    }, {}),
    originateFailures: calls.filter((c) => c.originateFailed).length,
    unfinished: calls.filter((c) => !c.originateFailed && c.hangup === null).length,
    asterisk: m.asterisk,
    app: m.appUse,
    machine: m.machine,
    checks: await check(run, flow, calls),
    breakdownMs: flow === 'app' ? breakdown(run.log, calls) : null,
    perCall: calls.map((c) => [c.uniqueId, c.enter, c.heard, c.dtmfEnd, c.recStart, c.done, c.hangup, c.result, c.originateFailed]),
  };
  if (limit !== null) result.rssSeries = m.result.series;
  await run.hooks.afterPhase?.(result);
  return result;
}

// ------------------------------------------------------------------------------------ targets and report

interface Target {
  name: string;
  met: boolean | null;
  detail: string;
}

function targets(phases: PhaseResult[]): Target[] {
  const app = phases.find((p) => p.flow === 'app');
  const base = phases.find((p) => p.flow === 'baseline');
  const out: Target[] = [];
  if (app && base) {
    const [a, b] = [app.latencyMs.dtmfToRecording.p99, base.latencyMs.dtmfToRecording.p99];
    const ratio = a !== null && b !== null && b > 0 ? a / b : null;
    out.push({ name: 'p99 DTMF→recording start ≤ 1.5 × baseline p99', met: ratio === null ? null : ratio <= 1.5, detail: `${fmt(a)} ms vs ${fmt(b)} ms: ${fmt(ratio, 2)}×` });
  }
  for (const p of phases) {
    const c = p.checks;
    out.push({
      name: `${p.flow}: every call decided`,
      met: c.decided.seen === c.decided.expected && p.originateFailures + p.unfinished === 0,
      detail: `${c.decided.seen}/${c.decided.expected} came back with the caller's decision; results ${JSON.stringify(p.results)}; ${p.originateFailures} originate failures, ${p.unfinished} unfinished`,
    });
    // A call whose routine never returned was held until the caller hung up: stuck too.
    const held = p.results.none ?? 0;
    out.push({
      name: `${p.flow}: no stuck channel`,
      met: c.stuckChannels.length === 0 && (c.stasisChannels?.length ?? 0) === 0 && held === 0,
      detail: `${c.stuckChannels.length} channels left in Asterisk${c.stasisChannels ? `, ${c.stasisChannels.length} in Stasis` : ''}, ${held} calls never returned from the routine`,
    });
    if (c.ledger) {
      out.push({
        name: `${p.flow}: no lost ledger record`,
        met: c.ledger.complete === c.ledger.expected && (c.journalBacklog ?? 0) === 0,
        detail: `${c.ledger.complete}/${c.ledger.expected} final records, ${c.ledger.missing} missing, ${c.ledger.mismatched} not final, chain ${c.ledger.chainLength} entries, journal backlog ${c.journalBacklog ?? '?'}; ${c.journalWrites ?? '?'} writes went through the local journal`,
      });
    }
  }
  const series = app?.rssSeries;
  if (app && series) {
    const rss = series.map((s) => s.rssMb).filter((v): v is number => v !== null);
    const max = rss.length ? Math.max(...rss) : null;
    // Growth after warm-up (the first 10 % of calls) per 1,000 calls, and the peak in each fifth of the run.
    const growth = slope(series.filter((s) => s.rssMb !== null && s.completed >= app.calls * 0.1).map((s) => ({ x: s.completed / 1000, y: s.rssMb as number })));
    const fifths = [0, 1, 2, 3, 4].map((i) => {
      const v = series.filter((x) => x.completed >= (i * app.calls) / 5 && (i === 4 || x.completed < ((i + 1) * app.calls) / 5)).map((x) => x.rssMb ?? 0);
      return v.length ? Math.max(...v) : null;
    });
    out.push({
      name: 'soak: RSS ≤ 150 MB and flat',
      met: max === null ? null : max <= 150,
      detail: `max ${fmt(max)} MB; peak per fifth of the calls ${fifths.map((f) => fmt(f)).join(' / ')} MB; trend after warm-up ${fmt(growth, 2)} MB per 1,000 calls`,
    });
  }
  return out;
}

function print(phases: PhaseResult[], tgts: Target[], profiles: ProfileSummary[], problems: [string, number][]): void {
  const app = phases.find((p) => p.flow === 'app');
  // One column group per flow: p50, p99, max, n (ms).
  const row = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? c.padEnd(32) : c.padStart(i % 4 === 0 ? 6 : 8))).join(' '));
  console.log('');
  row(['', ...phases.flatMap((p) => [p.flow, '', '', ''])]);
  row(['metric (ms)', ...phases.flatMap(() => ['p50', 'p99', 'max', 'n'])]);
  const labels = { dtmfToRecording: 'DTMF → MixMonitorStart', entryToPromptHeard: 'entry → first prompt heard', timeInFlow: 'time in flow (entry → return)' } as const;
  for (const [key, label] of Object.entries(labels) as [keyof typeof labels, string][]) {
    row([label, ...phases.flatMap((p) => [fmt(p.latencyMs[key].p50), fmt(p.latencyMs[key].p99), fmt(p.latencyMs[key].max), String(p.latencyMs[key].n)])]);
  }
  const cpu = phases.filter((p) => p.app?.cpuSeconds != null).map((p) => `${p.flow} ${fmt(((p.app?.cpuSeconds ?? 0) * 1000) / Math.max(1, p.calls), 2)} ms`);
  if (cpu.length > 0) console.log(`
CPU per call of the Node process: ${cpu.join(', ')}`);
  if (app?.breakdownMs) {
    console.log('\napp, split with the service log timestamps (ms):');
    for (const [label, s] of Object.entries(app.breakdownMs)) console.log(`  ${label.padEnd(56)} p50 ${fmt(s.p50)}  p99 ${fmt(s.p99)}  max ${fmt(s.max)}`);
  }
  console.log('\nresources over each phase:');
  for (const p of phases) {
    const a = p.asterisk;
    const svc = p.app ? `; service ${fmt(p.app.cpuSeconds)} CPU s (${fmt(p.app.cpuPercentOfOneCore, 0)} %), RSS peak ${fmt(p.app.rssPeakMb)} MB, end ${fmt(p.app.rssEndMb)} MB, event-loop lag p99 ${fmt(p.checks.eventLoopLagP99Ms)} ms` : '';
    console.log(`  ${p.flow.padEnd(9)} ${p.calls} calls in ${fmt(p.wallSeconds)} s (originated in ${fmt(p.originateSeconds, 2)} s, peak ${p.peakCallsInFlow} in the flow); Asterisk ${fmt(a.cpuSeconds)} CPU s (${fmt(a.cpuPercentOfOneCore, 0)} % of a core, ${a.threadsPeak} threads peak)${svc}`);
    console.log(`            machine ${fmt(p.machine.busyPercentOfAllCores, 0)} % of all cores busy; this benchmark ${fmt(p.machine.benchCpuSeconds)} CPU s; other processes ${fmt(p.machine.othersCpuSeconds)} CPU s`);
    console.log(`            results ${JSON.stringify(p.results)}; missing events ${JSON.stringify(p.missingEvents)}`);
  }
  for (const p of profiles) {
    console.log(`\nCPU profile ${p.file}: ${fmt(p.totalMs - p.idleMs, 0)} ms busy of ${fmt(p.totalMs, 0)} ms`);
    for (const k of p.byPackage.slice(0, 12)) console.log(`  ${fmt(k.percentOfBusy).padStart(5)} %  ${k.pkg}`);
    console.log('  top functions (self time):');
    for (const f of p.topFunctions.slice(0, 15)) console.log(`  ${fmt(f.percentOfBusy).padStart(5)} %  ${f.name}  ${f.where}`);
  }
  if (problems.length > 0) console.log('\nservice warnings and errors (count, level: message (detail)):');
  for (const [k, n] of problems.slice(0, 12)) console.log(`  ${String(n).padStart(6)}  ${k}`);
  console.log('\ntargets:');
  for (const t of tgts) console.log(`  [${t.met === null ? ' ? ' : t.met ? ' ok' : 'MISS'}] ${t.name}: ${t.detail}`);
}

/** The commit the service was built from, and how many files of src/ had uncommitted changes. */
function gitState(): { commit: string | null; srcChanges: number | null } {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: REPO, encoding: 'utf8' });
    return { commit: git('rev-parse', '--short', 'HEAD').trim(), srcChanges: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length };
  } catch {
    return { commit: null, srcChanges: null };
  }
}

async function cleanup(run: Run): Promise<void> {
  const dropped = await dropLedger(run.sb.redis.url, `${run.runId}:`).catch(() => 0);
  if (run.floor) await dropLedger(run.sb.redis.url, `${run.floor.app}:`).catch(() => 0);
  rmSync(run.recDir, { recursive: true, force: true });
  for (const app of run.svc.apps) for (const f of [`${app}.jsonl`, `${app}.jsonl.lock`, `${app}.checkpoints.jsonl`]) rmSync(resolve(run.sb.stateDir, 'journal', f), { force: true });
  console.log(`cleaned up: ${dropped} ledger keys under ${run.runId}:, recordings in ${run.recDir} (keep them with --keep)`);
}

// ------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const o = options();
  const run = await prepare(o);
  const phases: PhaseResult[] = [];
  let exitCode: number | null;
  try {
    for (const [i, flow] of o.flows.entries()) {
      if (run.interrupted) break;
      if (i > 0) await sleep(o.settleMs);
      phases.push(await phase(run, flow, o.calls, o.concurrency));
    }
  } finally {
    exitCode = await run.svc.stop();
    run.floor?.proc.kill('SIGTERM');
    run.ami.close();
  }
  const profDir = run.profDir;
  const profiles = profDir ? readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => summariseProfile(resolve(profDir, f))) : [];
  const tgts = targets(phases);
  const problems = [...run.svc.problemCounts.entries()].sort((a, b) => b[1] - a[1]);
  const report = {
    runId: run.runId,
    date: new Date().toISOString(),
    mode: o.soak ? 'soak' : 'burst',
    settings: { ...o, callerVars: undefined },
    machine: { cpus: cpus().length, node: process.version },
    code: gitState(),
    perCallColumns: ['uniqueId', 'enter', 'heard', 'dtmfEnd', 'recStart', 'done', 'hangup', 'result', 'originateFailed'],
    phases,
    targets: tgts,
    service: { exitCode, problems: Object.fromEntries(problems), warnings: run.svc.warnings, errorLines: run.log.errors },
    profiles,
    ...run.hooks.report?.(),
  };
  const file = resolve(o.out, `${run.runId}-${o.soak ? 'soak' : 'burst'}-${o.calls}${o.instances > 1 ? `-i${o.instances}` : ''}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);
  print(phases, tgts, profiles, problems);
  console.log(`\nresults: ${file}`);
  if (!o.keep) await cleanup(run);
  process.exitCode = tgts.every((t) => t.met !== false) ? 0 : 1;
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(2);
});
