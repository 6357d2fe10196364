/** One phase of a run: place a flow's calls, measure Asterisk, the service and the machine meanwhile, check what the calls left. */
import { resolve } from 'node:path';
import { until, promValue, stasisChannels } from '../../test/support';
import { confirmationLang, latencies, type CallRecord, type Flow } from './calls';
import { checkLedger, stuckChannels, type LedgerCheck } from './checks';
import { ProcSampler, cpuSeconds, machineCpu, threads } from './proc';
import { sleep, waitQuiet, type AppLog, type Run } from './run';
import { fmt, peakOverlap, summarise, type Summary } from './stats';
import type { FloorSteps } from './options';

export type RssPoint = { t: number; completed: number; rssMb: number | null; heapUsedMb: number | null; heapTotalMb?: number | null; externalMb?: number | null };

/**
 * How a phase places its calls: all at once (or over --ramp), a soak of at most `limit` at a time, or
 * a sustained arrival of `perSecond` calls a second for `seconds` (one every 1000 / perSecond ms).
 */
export type Load = { kind: 'burst'; calls: number } | { kind: 'soak'; calls: number; limit: number } | { kind: 'rate'; perSecond: number; seconds: number };

/** The number of calls a load places. */
export const callsOf = (l: Load): number => (l.kind === 'rate' ? Math.max(1, Math.round(l.perSecond * l.seconds)) : l.calls);

interface Placed {
  calls: CallRecord[];
  originateMs: number;
  series: RssPoint[];
}

/** The variables of the i-th call of a flow: which Stasis application, where the floor records. */
function callVars(run: Run, flow: Flow): (i: number) => Record<string, string> {
  const { o, svc } = run;
  if (flow === 'app') return (i) => ({ ...o.callerVars, __CONSENT_APP: svc.appFor(i) });
  if (flow === 'node') return () => ({ ...o.callerVars, __CONSENT_APP: run.floor?.app ?? '' });
  return () => ({ ...o.callerVars, __BASELINE_DIR: resolve(run.recDir, 'baseline') });
}

/**
 * Places calls one by one at their times (t0 + i × everyMs). A sustained arrival does not wait for an
 * originate to be queued before the next (arrivals do not slow down with Asterisk); --ramp does.
 */
async function placeSpread(run: Run, flow: Flow, total: number, everyMs: number, t0: number, out: Placed, awaitEach: boolean): Promise<void> {
  const vars = callVars(run, flow);
  const originating: Promise<unknown>[] = [];
  for (let i = 0; i < total && !run.interrupted; i++) {
    await sleep(Math.max(0, t0 + i * everyMs - Date.now()));
    const placing = run.tracker.place(i, flow, run.o.script, vars(i)).then((c) => out.calls.push(c));
    if (awaitEach) await placing;
    else originating.push(placing);
  }
  await Promise.all(originating);
  out.originateMs = Date.now() - t0;
}

/** How long a load may take before the calls still going are given up on (they count as unfinished). */
function budgetMs(run: Run, load: Load): number {
  const { script, rampMs } = run.o;
  // A call lasts about w1 + prompts + agentSecs: give the slowest plenty of time.
  const perCallMs = (script.w1 + script.w1Jitter + script.agentSecs + 30) * 1000;
  const placing = load.kind === 'soak' ? perCallMs * Math.ceil(load.calls / load.limit) : load.kind === 'rate' ? load.seconds * 1000 + perCallMs : perCallMs + rampMs;
  return placing + 120000;
}

/** Places the calls of a load; resolves when they are over. */
async function place(run: Run, flow: Flow, load: Load): Promise<Placed> {
  const { o, svc, tracker } = run;
  const total = callsOf(load);
  const limit = load.kind === 'soak' ? load.limit : null;
  const vars = callVars(run, flow);
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
    if (load.kind !== 'burst' && finished % 500 === 0) console.log(`  ${finished} calls done, service RSS ${fmt(svc.rssMb())} MB`);
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
  const sampler = load.kind === 'burst' ? null : setInterval(() => void sample(), o.sampleEveryMs);
  if (load.kind === 'rate') await placeSpread(run, flow, total, 1000 / load.perSecond, t0, out, false);
  else if (load.kind === 'burst' && o.rampMs > 0) await placeSpread(run, flow, total, o.rampMs / total, t0, out, true);
  else launch();
  await Promise.race([over, sleep(Math.max(0, t0 + budgetMs(run, load) - Date.now()))]);
  if (sampler) {
    clearInterval(sampler);
    out.series.push({ t: Date.now() - t0, completed: finished, rssMb: svc.rssMb(), heapUsedMb: null });
  }
  return out;
}

// ------------------------------------------------------------------------------------ measure and check

export type Usage = ReturnType<ProcSampler['stop']>;

/** CPU and memory of Asterisk, Redis, the service and the machine while `body` runs. */
async function measure<T>(run: Run, flow: Flow, body: () => Promise<T>) {
  const pid = run.asteriskPid;
  const ast = new ProcSampler(pid, 500).start();
  const redisSampler = run.sb.redis.pid ? new ProcSampler(run.sb.redis.pid, 500).start() : null;
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
  const redis: Usage | null = redisSampler?.stop() ?? null;
  const machine1 = machineCpu();
  const benchCpu = bench0 === null ? null : (cpuSeconds(process.pid) ?? bench0) - bench0;
  const busy = machine0 && machine1 ? machine1.busyS - machine0.busyS : null;
  const machine = {
    busyPercentOfAllCores: busy !== null && machine0 && machine1 ? (100 * busy) / Math.max(1e-9, machine1.totalS - machine0.totalS) : null,
    othersCpuSeconds: busy === null ? null : Math.max(0, busy - (asterisk.cpuSeconds ?? 0) - (redis?.cpuSeconds ?? 0) - (appUse?.cpuSeconds ?? 0) - (benchCpu ?? 0)),
    benchCpuSeconds: benchCpu,
  };
  return { result, wallSeconds, asterisk, redis, appUse, machine };
}

export interface Checks {
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
async function check(run: Run, flow: Flow, calls: CallRecord[], journalWritesBefore: number): Promise<Checks> {
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
  out.journalWrites = run.log.journalWrites - journalWritesBefore;
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
  /** The Node floor's shape (--floor-steps); null for the other flows. */
  floorSteps: FloorSteps | null;
  mode: Load['kind'];
  load: Load;
  calls: number;
  quiet: Awaited<ReturnType<typeof waitQuiet>>;
  originateSeconds: number;
  /** Calls per second from the first call's entry to the last's. */
  arrivalPerSecond: number | null;
  wallSeconds: number;
  peakCallsInFlow: number;
  latencyMs: { dtmfToRecording: Summary; entryToPromptHeard: Summary; timeInFlow: Summary; keyToHandBack: Summary; handBackOverConfirmation: Summary; amiEventLag: Summary };
  /** The confirmation prompt's length (ms) in each language the calls were confirmed in. */
  confirmationMs: Record<string, number | null>;
  missingEvents: ReturnType<typeof latencies>['missing'];
  results: Record<string, number>;
  originateFailures: number;
  unfinished: number;
  asterisk: Usage & { threadsPeak: number };
  /** The sandbox's Redis (its pid from the sandbox status): the ledger's, and the Node floor's SET. */
  redis: Usage | null;
  /** CPU and memory of the flow's Node process: consent-ivr, or the Node floor. */
  app: Usage | null;
  machine: Awaited<ReturnType<typeof measure>>['machine'];
  checks: Checks;
  breakdownMs: Record<string, Summary> | null;
  rssSeries?: RssPoint[];
  /** Soak: the service's timers, sockets and event listeners when idle before the calls and after them. */
  resources?: { before: Resources | null; after: Resources | null };
  perCall: (string | number | null)[][];
}

/** What a soak counts of the service when no call is in progress (its /metrics). */
export interface Resources {
  timers: number;
  sockets: number;
  listeners: Record<string, number>;
}

/** The service's timers, sockets and listeners now (the largest instance), or null without metrics. */
async function resourcesOf(run: Run): Promise<Resources | null> {
  const ms = await run.svc.metrics().catch(() => null);
  if (!ms || ms.length === 0) return null;
  const most = (name: string, labels: Record<string, string> = {}) => Math.max(...ms.map((m) => promValue(m, name, labels)));
  return {
    timers: most('consent_ivr_nodejs_active_resources', { type: 'Timeout' }),
    sockets: most('consent_ivr_nodejs_active_resources', { type: 'TCPSocketWrap' }) + most('consent_ivr_nodejs_active_resources', { type: 'TCPWRAP' }),
    listeners: Object.fromEntries(['ari', 'ami', 'redis'].map((e) => [e, most('consent_ivr_event_listeners', { emitter: e })])),
  };
}

/** What the calls' timestamps give: the latencies, the confirmation lengths used, the events missing. */
function callLatencies(run: Run, flow: Flow, calls: CallRecord[]): Pick<PhaseResult, 'latencyMs' | 'confirmationMs' | 'missingEvents' | 'peakCallsInFlow' | 'arrivalPerSecond'> {
  // The minimal Node floor plays no confirmation: it hands the call back right after MixMonitor.
  const confirmation = flow === 'node' && run.o.floorSteps === 'minimal' ? () => null : (l: string) => run.confirmationMs(l);
  const lat = latencies(calls, confirmation);
  const entered = calls.map((c) => c.enter).filter((t): t is number => t !== null);
  const span = entered.length > 1 ? (Math.max(...entered) - Math.min(...entered)) / 1000 : 0;
  return {
    peakCallsInFlow: peakOverlap(calls.filter((c) => c.enter !== null).map((c) => ({ start: c.enter as number, end: c.done ?? c.hangup ?? Infinity }))),
    arrivalPerSecond: span > 0 ? (entered.length - 1) / span : null,
    latencyMs: {
      dtmfToRecording: summarise(lat.dtmfToRecordingMs),
      entryToPromptHeard: summarise(lat.entryToPromptHeardMs),
      timeInFlow: summarise(lat.flowMs),
      keyToHandBack: summarise(lat.keyToHandBackMs),
      handBackOverConfirmation: summarise(lat.handBackOverConfirmationMs),
      amiEventLag: summarise(lat.eventLagMs),
    },
    confirmationMs: Object.fromEntries([...new Set(calls.filter((c) => c.done !== null).map(confirmationLang))].map((l) => [l, confirmation(l)])),
    missingEvents: lat.missing,
  };
}

function describe(run: Run, load: Load): string {
  if (load.kind === 'soak') return `${load.calls} calls, at most ${load.limit} at a time`;
  if (load.kind === 'rate') return `${fmt(load.perSecond, 2)} calls/s for ${load.seconds} s (${callsOf(load)} calls)`;
  return `${load.calls} calls${run.o.rampMs > 0 ? ` placed over ${run.o.rampMs / 1000} s` : ' at once'}`;
}

export async function phase(run: Run, flow: Flow, load: Load): Promise<PhaseResult> {
  const quiet = await waitQuiet(run);
  console.log(`\n${flow}: ${describe(run, load)} (machine ${quiet.quiet ? 'quiet' : 'NOT quiet'} after ${fmt(quiet.waitedS, 0)} s: ${quiet.otherChannels} other channels, ${fmt(quiet.busyPercentOfOneCore, 0)} % of a core busy)`);
  const journalWrites = run.log.journalWrites;
  const soakOfApp = load.kind === 'soak' && flow === 'app';
  const before = soakOfApp ? await resourcesOf(run) : null;
  const m = await measure(run, flow, () => place(run, flow, load));
  const calls = m.result.calls;
  const result: PhaseResult = {
    flow,
    floorSteps: flow === 'node' ? run.o.floorSteps : null,
    mode: load.kind,
    load,
    calls: calls.length,
    quiet,
    originateSeconds: m.result.originateMs / 1000,
    wallSeconds: m.wallSeconds,
    ...callLatencies(run, flow, calls),
    results: calls.reduce<Record<string, number>>((r, c) => {
      const k = c.originateFailed ? 'originate-failed' : (c.result ?? 'none');
      return { ...r, [k]: (r[k] ?? 0) + 1 };
    }, {}),
    originateFailures: calls.filter((c) => c.originateFailed).length,
    unfinished: calls.filter((c) => !c.originateFailed && c.hangup === null).length,
    asterisk: m.asterisk,
    redis: m.redis,
    app: m.appUse,
    machine: m.machine,
    checks: await check(run, flow, calls, journalWrites),
    breakdownMs: flow === 'app' ? breakdown(run.log, calls) : null,
    perCall: calls.map((c) => [c.uniqueId, c.enter, c.heard, c.dtmfEnd, c.recStart, c.done, c.hangup, c.result, c.originateFailed, c.lang]),
  };
  if (load.kind !== 'burst') result.rssSeries = m.result.series;
  if (soakOfApp) {
    // Idle again: the calls' timers and sockets are gone, the seals and checkpoints of the last ones done.
    await until(async () => ((await run.svc.metrics().catch(() => [''])).every((t) => promValue(t, 'consent_ivr_calls_in_flow') === 0) ? true : undefined), 30000, 500);
    await sleep(5000);
    result.resources = { before, after: await resourcesOf(run) };
  }
  await run.hooks.afterPhase?.(result);
  return result;
}
