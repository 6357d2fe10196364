/**
 * `npm run bench`: consent-ivr under load, against the pure-dialplan floor (dialplans/baseline.conf),
 * in the sandbox, measured from Asterisk's own AMI event timestamps. See docs/benchmark.md.
 *
 *   npm run bench                          400 concurrent calls through the floor, then through consent-ivr
 *   npm run bench -- --calls 1000          another size
 *   npm run bench -- --soak                5,000 calls through consent-ivr, at most 200 at a time, RSS over time
 *   npm run bench -- --cpu-prof            also profile the service (node --cpu-prof) and summarise it
 *
 * Options: --calls N, --ramp S, --flows baseline,app, --soak, --soak-calls N, --concurrency N, --w1 S, --w1-jitter S, --agent-secs S,
 * --caller silence|talk|none, --no-heard, --quiet-wait S, --settle S, --sample-every S, --out DIR, --keep,
 * --cpu-prof, --log-level info|debug, --experiment trace-ledger,trace-accept (see experiments/preload.ts),
 * --instances N (N services sharing the ledger, calls dealt to them in turn).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { BenchAmi } from './ami';
import { CallTracker, latencies, type CallRecord, type CallScript, type Flow } from './calls';
import { checkLedger, dropLedger, stasisChannels, stuckChannels, type LedgerCheck } from './checks';
import { ProcSampler, cpuSeconds, loadAverage, machineCpu, threads } from './proc';
import { summariseProfile, type ProfileSummary } from './profile';
import { ServiceGroup } from './instances';
import { REPO, asteriskCli, promValue, sandboxStatus, type Sandbox } from './service';
import { fmt, peakOverlap, slope, summarise, type Summary } from './stats';
import { acceptHops, HOPS, type AcceptTrace } from './hops';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '400' },
    flows: { type: 'string', default: 'baseline,app' },
    soak: { type: 'boolean', default: false },
    'soak-calls': { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '200' },
    w1: { type: 'string', default: '2' },
    'w1-jitter': { type: 'string' },
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
    experiment: { type: 'string', default: '' },
    instances: { type: 'string', default: '1' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface AppLog {
  ended: Map<string, string>;
  decisionAt: Map<string, number>;
  enteredAt: Map<string, number>;
  recordingLoggedAt: Map<string, number>;
  journalWrites: number;
  errors: number;
}

interface Resources {
  cpuSeconds: number | null;
  wallSeconds: number;
  cpuPercentOfOneCore: number | null;
  rssPeakMb: number | null;
  rssEndMb: number | null;
}

interface PhaseResult {
  flow: Flow;
  mode: 'burst' | 'soak';
  calls: number;
  concurrencyLimit: number | null;
  originateSeconds: number;
  wallSeconds: number;
  peakCallsInFlow: number;
  latencyMs: { dtmfToRecording: Summary; entryToPromptHeard: Summary; timeInFlow: Summary };
  missingEvents: { dtmf: number; recStart: number; heard: number; done: number };
  results: Record<string, number>;
  originateFailures: number;
  unfinished: number;
  asterisk: Resources & { threadsPeak: number | null };
  /** The rest of the machine during the phase: other engineers' tests share these cores. */
  machine: { quietAtStart: boolean; loadAverageStart: number | null; busyPercentOfAllCores: number | null; othersCpuSeconds: number | null; benchCpuSeconds: number | null };
  app: (Resources & { eventLoopLagP99Ms: number | null; heapUsedMb: number | null }) | null;
  checks: {
    decided: { expected: number; seen: number; missing: string[] };
    stuckChannels: string[];
    stasisChannels: string[] | null;
    ledger: Omit<LedgerCheck, 'missing' | 'mismatched'> & { missing: number; mismatched: number; examples: unknown[] } | null;
    journalBacklog: number | null;
    journalWrites: number | null;
    outcomeCounter: Record<string, number> | null;
  };
  /** App only: where the DTMF → recording time goes, from the service's log timestamps. */
  breakdownMs: {
    dtmfToDecisionLog: Summary;
    decisionLogToRecordingStart: Summary;
    recordingStartToAmiResponse: Summary;
    entryToStasisStartLog: Summary;
    stasisStartLogToPromptHeard: Summary;
  } | null;
  redis: { ledgerScripts: number; usecPerScript: number | null } | null;
  rssSeries?: { t: number; completed: number; rssMb: number | null; heapUsedMb: number | null; heapTotalMb?: number | null; externalMb?: number | null }[];
  perCall: (string | number | null)[][];
}

async function redisScriptStats(url: string): Promise<{ calls: number; usec: number }> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    const info = await r.info('commandstats');
    let calls = 0;
    let usec = 0;
    for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+),usec=(\d+)/gm)) {
      calls += Number(m[1]);
      usec += Number(m[2]);
    }
    return { calls, usec };
  } catch {
    return { calls: 0, usec: 0 };
  } finally {
    r.disconnect();
  }
}

function countBy<T>(xs: T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

async function main(): Promise<void> {
  if (args.help) {
    console.log('usage: npm run bench -- [--calls N] [--flows baseline,app] [--soak [--soak-calls N] [--concurrency N]] [--cpu-prof] [--keep]');
    return;
  }
  const soak = args.soak === true;
  const calls = Math.round(positive('calls', args.calls));
  const soakCalls = Math.round(positive('soak-calls', args['soak-calls']));
  const concurrency = Math.round(positive('concurrency', args.concurrency));
  // Each caller presses the key w1 + U(0, w1-jitter) seconds after the answer: by default between 2 and
  // 6 s into the 12 s Arabic notice, as callers do. --w1-jitter 0 is the worst case: every key comes
  // within the time it took to place the calls. In a soak the spread also keeps the calls from
  // moving in waves of `concurrency`.
  const w1Jitter = Number(args['w1-jitter'] ?? 4);
  if (!Number.isFinite(w1Jitter) || w1Jitter < 0) throw new Error('--w1-jitter must be a number of seconds >= 0');
  const script: CallScript = { w1: positive('w1', args.w1), w1Jitter, key: '1', agentSecs: Number(args['agent-secs']), talk: 120 };
  const settleMs = Number(args.settle) * 1000;
  // Burst mode: place the calls evenly over this many seconds (0: all at once).
  const rampMs = Number(args.ramp) * 1000;
  if (!Number.isFinite(rampMs) || rampMs < 0) throw new Error('--ramp must be a number of seconds >= 0');
  const sampleEveryMs = positive('sample-every', args['sample-every']) * 1000;
  const flows = (soak ? 'app' : (args.flows ?? '')).split(',').map((f) => f.trim()) as Flow[];
  for (const f of flows) if (f !== 'app' && f !== 'baseline') throw new Error(`--flows: unknown flow ${f}`);
  const logLevel = args['log-level'] === 'debug' ? 'debug' : 'info';
  const experiments = (args.experiment ?? '').split(',').filter(Boolean);
  const known = ['trace-ledger', 'trace-accept'];
  for (const x of experiments) if (!known.includes(x)) throw new Error(`--experiment: unknown ${x} (${known.join(', ')})`);
  const instances = Math.round(positive('instances', args.instances));
  if (instances > 1 && experiments.length > 0) throw new Error('--experiment works with one instance only (each would write the same trace file)');

  const sb: Sandbox = sandboxStatus();
  if (!existsSync(resolve(REPO, 'dist/cli/main.js'))) throw new Error('dist/cli/main.js is missing: run `npm run build`');
  const loaded = asteriskCli('dialplan show consent-bench-caller') + asteriskCli('dialplan show consent-baseline') + asteriskCli('dialplan show consent-ivr');
  if (!loaded.includes('TALK_DETECT') || !loaded.includes('MixMonitor') || !loaded.includes('CONSENT_APP')) {
    throw new Error('the sandbox has not loaded dialplans/baseline.conf (or the CONSENT_APP routine): run `npm run sandbox:up`');
  }
  const asteriskPid = sb.asterisk?.pid;
  if (!asteriskPid) throw new Error('the sandbox status gives no Asterisk pid');

  const runId = `bench-${Date.now().toString(36)}`;
  const outDir = resolve(REPO, args.out ?? 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const benchRecDir = resolve(sb.recordingsDir, 'bench', runId);
  const journalPath = resolve(sb.stateDir, 'journal', `${runId}.jsonl`);
  const keyPrefix = `${runId}:`;
  const profDir = args['cpu-prof'] ? resolve(outDir, `${runId}-prof`) : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });

  const ami = new BenchAmi({ ...sb.amiTest, events: 'call,dtmf,user', timeoutMs: 60000 });
  await ami.connect();
  const tracker = new CallTracker(ami, runId);

  console.log(`run ${runId}: starting ${instances === 1 ? 'consent-ivr' : `${instances} consent-ivr instances`} (app ${runId}, ledger prefix ${keyPrefix})`);
  const traceFile = resolve(outDir, `${runId}-trace.json`);
  const svc = await ServiceGroup.start({
    app: runId,
    keyPrefix,
    journalPath,
    recordingDir: resolve(benchRecDir, 'app'),
    soundsDir: sb.soundsDir,
    cpuProfDir: profDir,
    logLevel,
    experiments,
    traceFile,
  }, instances);
  if (experiments.length) console.log(`EXPERIMENT: the service runs with in-memory patches ${experiments.join(', ')} (scripts/bench/experiments/preload.ts)`);
  const appLog: AppLog = { ended: new Map(), decisionAt: new Map(), enteredAt: new Map(), recordingLoggedAt: new Map(), journalWrites: 0, errors: 0 };
  svc.onLine((l) => {
    const call = typeof l.call === 'string' ? l.call : null;
    const ts = typeof l.timestamp === 'string' ? Date.parse(l.timestamp) : NaN;
    if (l.level === 'error') appLog.errors++;
    if (l.message === 'ledger: record stored in the local journal') appLog.journalWrites++;
    if (!call) return;
    if (l.message === 'consent flow ended') appLog.ended.set(call, String(l.outcome));
    else if (l.message === 'decision') appLog.decisionAt.set(call, ts);
    else if (l.message === 'call entered the consent flow') appLog.enteredAt.set(call, ts);
    else if (l.message === 'recording started') appLog.recordingLoggedAt.set(call, ts);
  });

  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    console.error('interrupted: stopping the service');
  });

  const phases: PhaseResult[] = [];
  // What the caller sends: "silence" (default) from the answer to the key, like a phone's RTP, and
  // nothing after; "talk" also a 1 kHz tone after the key (recordings get content, Asterisk works
  // more); "none" nothing at all (then Answer() in the floor waits 500 ms for media).
  const caller = args.caller ?? 'silence';
  if (!['silence', 'talk', 'none'].includes(caller)) throw new Error(`--caller must be silence, talk or none, got ${caller}`);
  const callerVars = {
    BENCH_HEARD: args['no-heard'] ? '0' : '1',
    BENCH_SILENCE: caller === 'none' ? '0' : '1',
    BENCH_TONE: caller === 'talk' ? '1' : '0',
  };
  const baseVars = (flow: Flow, i: number): Record<string, string> =>
    flow === 'app' ? { ...callerVars, __CONSENT_APP: svc.appFor(i) } : { ...callerVars, __BASELINE_DIR: resolve(benchRecDir, 'baseline') };

  /**
   * Other engineers' tests share this machine and this Asterisk. Before a phase, wait (bounded) for a
   * quiet moment: no other channel in Asterisk and the whole machine under 25 % of one core for 3 s.
   */
  async function waitQuiet(maxMs: number): Promise<{ waitedS: number; quiet: boolean; otherChannels: number; busyPercentOfOneCore: number | null }> {
    const t0 = Date.now();
    for (;;) {
      const before = machineCpu();
      await sleep(3000);
      const after = machineCpu();
      const busy = before && after ? (100 * (after.busyS - before.busyS)) / 3 : null;
      const chans = (await ami.actionList('CoreShowChannels', 'CoreShowChannelsComplete')).length;
      const quiet = chans === 0 && busy !== null && busy < 25;
      if (quiet || Date.now() - t0 >= maxMs) return { waitedS: (Date.now() - t0) / 1000, quiet, otherChannels: chans, busyPercentOfOneCore: busy };
    }
  }

  async function runPhase(flow: Flow, total: number, limit: number | null): Promise<PhaseResult> {
    const q = await waitQuiet(Number(args['quiet-wait']) * 1000);
    console.log(`\n${flow}: ${total} calls${limit ? `, at most ${limit} at a time` : rampMs > 0 ? ` placed over ${rampMs / 1000} s` : ' at once'} (machine ${q.quiet ? 'quiet' : 'NOT quiet'} after ${fmt(q.waitedS, 0)} s: ${q.otherChannels} other channels, ${fmt(q.busyPercentOfOneCore, 0)} % of a core busy)`);
    const astSampler = new ProcSampler(asteriskPid as number, 500).start();
    const appSampler = flow === 'app' ? svc.sample(500) : null;
    let threadsPeak = threads(asteriskPid as number) ?? 0;
    const threadTimer = setInterval(() => (threadsPeak = Math.max(threadsPeak, threads(asteriskPid as number) ?? 0)), 500);
    if (flow === 'app') await svc.metrics().catch(() => undefined); // resets the event-loop lag histogram
    const redisBefore = await redisScriptStats(sb.redis.url);
    const loadStart = loadAverage();
    const machineBefore = machineCpu();
    const benchCpuBefore = cpuSeconds(process.pid);
    const t0 = Date.now();
    const mine: CallRecord[] = [];
    let placed = 0;
    let finished = 0;
    let originateMs = 0;
    let placeErrors = 0;
    const series: NonNullable<PhaseResult['rssSeries']> = [];
    let sampleTimer: NodeJS.Timeout | null = null;

    if (limit === null) {
      tracker.onFinished = (c) => {
        if (c.flow === flow) finished++;
      };
      const all: Promise<CallRecord>[] = [];
      for (let i = 0; i < total; i++) {
        if (rampMs > 0) {
          const due = t0 + (i * rampMs) / total;
          if (due > Date.now()) await sleep(due - Date.now());
        }
        all.push(tracker.place(i, flow, script, baseVars(flow, i)));
      }
      mine.push(...(await Promise.all(all)));
      placed = total;
      originateMs = Date.now() - t0;
    } else {
      let inFlight = 0;
      const launch = () => {
        while (!interrupted && inFlight < limit && placed < total) {
          const seq = placed++;
          inFlight++;
          tracker
            .place(seq, flow, script, baseVars(flow, seq))
            .then((c) => mine.push(c))
            .catch((e: Error) => {
              console.error(`originate failed: ${e.message}`);
              placeErrors++;
              finished++;
              inFlight--;
              launch();
            });
        }
        if (placed === total && originateMs === 0) originateMs = Date.now() - t0;
      };
      tracker.onFinished = (c) => {
        if (c.flow !== flow) return;
        finished++;
        inFlight--;
        if (finished % 500 === 0) console.log(`  ${finished} calls done, service RSS ${fmt(svc.rssMb())} MB`);
        launch();
      };
      // RSS from /proc; the JS heap (used and reserved) and external memory from the service's own metrics.
      const sample = async () => {
        const mb = (text: string, name: string) => promValue(text, name) / 2 ** 20;
        const point: NonNullable<PhaseResult['rssSeries']>[number] = { t: Date.now() - t0, completed: finished, rssMb: svc.rssMb(), heapUsedMb: null };
        try {
          // With several instances, the largest of each.
          const ms = await svc.metrics();
          const most = (name: string) => Math.max(...ms.map((m) => mb(m, name)));
          point.heapUsedMb = most('consent_ivr_nodejs_heap_size_used_bytes');
          point.heapTotalMb = most('consent_ivr_nodejs_heap_size_total_bytes');
          point.externalMb = most('consent_ivr_nodejs_external_memory_bytes');
        } catch {
          // the sample keeps its RSS
        }
        series.push(point);
      };
      await sample();
      sampleTimer = setInterval(() => void sample(), sampleEveryMs);
      launch();
    }

    // A call lasts about w1 + prompts + agentSecs; give the slowest plenty of time.
    const perCallMs = (script.w1 + script.w1Jitter + script.agentSecs + 30) * 1000;
    const budget = limit === null ? perCallMs + rampMs + 120000 : perCallMs * Math.ceil(total / limit) + 120000;
    const until = Date.now() + budget;
    while (!interrupted && finished < total && Date.now() < until) {
      await tracker.waitUntil(() => finished >= total || interrupted, 1000);
    }
    if (sampleTimer) clearInterval(sampleTimer);
    if (limit !== null) series.push({ t: Date.now() - t0, completed: finished, rssMb: svc.rssMb(), heapUsedMb: null });
    clearInterval(threadTimer);
    const wallSeconds = (Date.now() - t0) / 1000;
    const ast = astSampler.stop();
    const appRes = appSampler?.stop() ?? null;
    const redisAfter = await redisScriptStats(sb.redis.url);
    const machineAfter = machineCpu();
    const benchCpuAfter = cpuSeconds(process.pid);
    const benchCpu = benchCpuBefore !== null && benchCpuAfter !== null ? benchCpuAfter - benchCpuBefore : null;
    let machine: PhaseResult['machine'] = { quietAtStart: q.quiet, loadAverageStart: loadStart, busyPercentOfAllCores: null, othersCpuSeconds: null, benchCpuSeconds: benchCpu };
    if (machineBefore && machineAfter) {
      const busy = machineAfter.busyS - machineBefore.busyS;
      const ours = (ast.cpuSeconds ?? 0) + (appRes?.cpuSeconds ?? 0) + (benchCpu ?? 0);
      machine = { ...machine, busyPercentOfAllCores: (100 * busy) / Math.max(1e-9, machineAfter.totalS - machineBefore.totalS), othersCpuSeconds: Math.max(0, busy - ours) };
    }

    const stuck = await stuckChannels(ami, (n) => n.includes('@consent-bench-'), 15000);
    const lat = latencies(mine);
    const decidedMissing: string[] = [];
    let seen = 0;
    for (const c of mine) {
      if (c.originateFailed) continue;
      // Every caller presses 1: a call counts as decided when it came back from the routine accepted
      // (and, for the app, the service logged the end of its flow). "error" means the flow failed.
      const decided = c.result === 'accepted' && (flow !== 'app' || (c.uniqueId !== null && appLog.ended.has(c.uniqueId)));
      if (decided) seen++;
      else decidedMissing.push(c.uniqueId ?? c.benchId);
    }
    let ledger: PhaseResult['checks']['ledger'] = null;
    let stasis: string[] | null = null;
    let journalBacklog: number | null = null;
    let outcomeCounter: Record<string, number> | null = null;
    let lagP99: number | null = null;
    let heapUsed: number | null = null;
    let breakdown: PhaseResult['breakdownMs'] = null;
    if (flow === 'app') {
      // null (ARI did not answer) for any instance makes the whole answer unknown.
      const perApp = await Promise.all(svc.apps.map((a) => stasisChannels(sb.ari, a)));
      stasis = perApp.some((x) => x === null) ? null : perApp.flatMap((x) => x ?? []);
      // Outcome writes are asynchronous after the hand-back: give them a moment.
      await sleep(1000);
      const lc = await checkLedger(sb.redis.url, keyPrefix, mine.filter((c) => !c.originateFailed));
      ledger = {
        expected: lc.expected,
        complete: lc.complete,
        chainLength: lc.chainLength,
        missing: lc.missing.length,
        mismatched: lc.mismatched.length,
        examples: [...lc.missing.slice(0, 5), ...lc.mismatched.slice(0, 5)],
      };
      try {
        // Counts summed over the instances; lag and heap of the worst one.
        const ms = await svc.metrics();
        const total = (name: string, labels: Record<string, string> = {}) => ms.reduce((a, m) => a + promValue(m, name, labels), 0);
        const worst = (name: string) => Math.max(...ms.map((m) => promValue(m, name)));
        journalBacklog = total('consent_ivr_journal_backlog');
        outcomeCounter = {};
        for (const o of ['accepted', 'refused', 'no-input', 'abandoned', 'error']) outcomeCounter[o] = total('consent_ivr_calls_total', { outcome: o });
        lagP99 = worst('consent_ivr_nodejs_eventloop_lag_p99_seconds') * 1000;
        heapUsed = worst('consent_ivr_nodejs_heap_size_used_bytes') / 2 ** 20;
      } catch {
        journalBacklog = null;
      }
      const d2l: number[] = [];
      const l2r: number[] = [];
      const r2a: number[] = [];
      const e2s: number[] = [];
      const s2h: number[] = [];
      for (const c of mine) {
        const entered = c.uniqueId ? appLog.enteredAt.get(c.uniqueId) : undefined;
        if (entered !== undefined && c.enter !== null) e2s.push(entered - c.enter);
        if (entered !== undefined && c.heard !== null) s2h.push(c.heard - entered);
        const dec = c.uniqueId ? appLog.decisionAt.get(c.uniqueId) : undefined;
        const recLog = c.uniqueId ? appLog.recordingLoggedAt.get(c.uniqueId) : undefined;
        if (dec !== undefined && c.dtmfEnd !== null) d2l.push(dec - c.dtmfEnd);
        if (dec !== undefined && c.recStart !== null) l2r.push(c.recStart - dec);
        if (recLog !== undefined && c.recStart !== null) r2a.push(recLog - c.recStart);
      }
      breakdown = {
        dtmfToDecisionLog: summarise(d2l),
        decisionLogToRecordingStart: summarise(l2r),
        recordingStartToAmiResponse: summarise(r2a),
        entryToStasisStartLog: summarise(e2s),
        stasisStartLogToPromptHeard: summarise(s2h),
      };
    }
    const scripts = redisAfter.calls - redisBefore.calls;
    const result: PhaseResult = {
      flow,
      mode: limit === null ? 'burst' : 'soak',
      calls: placed,
      concurrencyLimit: limit,
      originateSeconds: originateMs / 1000,
      wallSeconds,
      peakCallsInFlow: peakOverlap(mine.filter((c) => c.enter !== null).map((c) => ({ start: c.enter as number, end: c.done ?? c.hangup ?? Infinity }))),
      latencyMs: { dtmfToRecording: summarise(lat.dtmfToRecordingMs), entryToPromptHeard: summarise(lat.entryToPromptHeardMs), timeInFlow: summarise(lat.flowMs) },
      missingEvents: lat.missing,
      results: countBy(mine, (c) => c.originateFailed ? 'originate-failed' : (c.result ?? 'none')),
      originateFailures: mine.filter((c) => c.originateFailed).length + placeErrors,
      unfinished: mine.filter((c) => !c.originateFailed && c.hangup === null).length,
      asterisk: { ...ast, threadsPeak },
      machine,
      app: appRes ? { ...appRes, eventLoopLagP99Ms: lagP99, heapUsedMb: heapUsed } : null,
      checks: {
        decided: { expected: mine.filter((c) => !c.originateFailed).length, seen, missing: decidedMissing.slice(0, 20) },
        stuckChannels: stuck,
        stasisChannels: stasis,
        ledger,
        journalBacklog,
        journalWrites: flow === 'app' ? appLog.journalWrites : null,
        outcomeCounter,
      },
      breakdownMs: breakdown,
      redis: flow === 'app' ? { ledgerScripts: scripts, usecPerScript: scripts > 0 ? (redisAfter.usec - redisBefore.usec) / scripts : null } : null,
      perCall: mine.map((c) => [c.uniqueId, c.enter, c.heard, c.dtmfBegin, c.dtmfEnd, c.recStart, c.done, c.hangup, c.result, c.originateFailed]),
    };
    if (limit !== null) result.rssSeries = series;
    return result;
  }

  let profiles: ProfileSummary[] = [];
  let exitCode: number | null;
  try {
    if (soak) {
      phases.push(await runPhase('app', soakCalls, concurrency));
    } else {
      for (const [i, flow] of flows.entries()) {
        if (interrupted) break;
        if (i > 0) await sleep(settleMs);
        phases.push(await runPhase(flow, calls, null));
      }
    }
  } finally {
    exitCode = await svc.stop();
    ami.close();
  }
  // trace-accept: the service wrote its per-call times when it exited.
  const appPhase = phases.find((p) => p.flow === 'app');
  let hops: ReturnType<typeof acceptHops> | null = null;
  if (experiments.includes('trace-accept') && appPhase && existsSync(traceFile)) {
    const trace = JSON.parse(readFileSync(traceFile, 'utf8')) as Record<string, AcceptTrace>;
    hops = acceptHops(
      appPhase.perCall.map((r) => ({ uniqueId: r[0] as string | null, dtmfEnd: r[4] as number | null, recStart: r[5] as number | null })),
      trace,
    );
  }
  if (profDir) {
    profiles = readdirSync(profDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => summariseProfile(resolve(profDir, f)));
  }

  const report = {
    runId,
    date: new Date().toISOString(),
    mode: soak ? 'soak' : 'burst',
    settings: { calls: soak ? soakCalls : calls, concurrency: soak ? concurrency : null, rampSeconds: rampMs / 1000, script, caller, heard: !args['no-heard'], flows, logLevel, cpuProf: Boolean(profDir), experiments, instances },
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    code: gitState(),
    perCallColumns: ['uniqueId', 'enter', 'heard', 'dtmfBegin', 'dtmfEnd', 'recStart', 'done', 'hangup', 'result', 'originateFailed'],
    phases,
    targets: targets(phases, soak),
    service: {
      exitCode,
      problems: Object.fromEntries([...svc.problemCounts.entries()].sort((a, b) => b[1] - a[1])),
      warnings: svc.warnings.slice(0, 50),
      errorLines: appLog.errors,
    },
    profiles,
    acceptHops: hops,
  };
  const file = resolve(outDir, `${runId}-${soak ? `soak-${soakCalls}` : `burst-${calls}`}${instances > 1 ? `-i${instances}` : ''}${experiments.length ? `-x-${experiments.join('+')}` : ''}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);
  printReport(report.phases, report.targets, profiles, soak);
  if (hops) {
    console.log('\napp, the accept path hop by hop (--experiment trace-accept; ms):');
    for (const [name, label] of HOPS) {
      const h = hops[name];
      console.log(`  ${label.padEnd(62)} p50 ${fmt(h.p50)}  p99 ${fmt(h.p99)}  max ${fmt(h.max)}  (n ${h.n})`);
    }
  }
  const problems = Object.entries(report.service.problems);
  if (problems.length > 0) {
    console.log('\nservice warnings and errors (count, level: message (detail)):');
    for (const [k, n] of problems.slice(0, 12)) console.log(`  ${String(n).padStart(6)}  ${k}`);
  }
  console.log(`\nresults: ${file}`);

  if (!args.keep) {
    const dropped = await dropLedger(sb.redis.url, keyPrefix).catch(() => 0);
    rmSync(benchRecDir, { recursive: true, force: true });
    for (const j of svc.journalPaths) {
      rmSync(j, { force: true });
      rmSync(`${j}.lock`, { force: true });
    }
    console.log(`cleaned up: ${dropped} ledger keys under ${keyPrefix}, recordings in ${benchRecDir} (keep them with --keep)`);
  }
  process.exitCode = report.targets.every((t) => t.met !== false) ? 0 : 1;
}

/** The commit the service was built from, and whether src/ had uncommitted changes (other engineers' work in progress). */
function gitState(): { commit: string | null; srcChanges: number | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return { commit, srcChanges: dirty };
  } catch {
    return { commit: null, srcChanges: null };
  }
}

interface Target {
  name: string;
  met: boolean | null;
  detail: string;
}

function targets(phases: PhaseResult[], soak: boolean): Target[] {
  const app = phases.find((p) => p.flow === 'app');
  const base = phases.find((p) => p.flow === 'baseline');
  const out: Target[] = [];
  if (app && base) {
    const a = app.latencyMs.dtmfToRecording.p99;
    const b = base.latencyMs.dtmfToRecording.p99;
    const ratio = a !== null && b !== null && b > 0 ? a / b : null;
    out.push({ name: 'p99 DTMF→recording start ≤ 1.5 × baseline p99', met: ratio === null ? null : ratio <= 1.5, detail: `${fmt(a)} ms vs ${fmt(b)} ms: ${fmt(ratio, 2)}×` });
  }
  for (const p of phases) {
    const c = p.checks;
    const lost = p.originateFailures + p.unfinished;
    out.push({
      name: `${p.flow}: every call decided`,
      met: c.decided.seen === c.decided.expected && lost === 0,
      detail: `${c.decided.seen}/${c.decided.expected} came back with the caller's decision; results ${JSON.stringify(p.results)}; ${p.originateFailures} originate failures, ${p.unfinished} unfinished`,
    });
    // A call whose routine never returned was held until the caller hung up (after `talk` s): stuck too.
    const held = p.results.none ?? 0;
    out.push({
      name: `${p.flow}: no stuck channel`,
      met: c.stuckChannels.length === 0 && (c.stasisChannels?.length ?? 0) === 0 && held === 0,
      detail: `${c.stuckChannels.length} channels left in Asterisk${c.stasisChannels ? `, ${c.stasisChannels.length} in Stasis` : ''}, ${held} calls never returned from the routine (held until the caller hung up)`,
    });
    if (c.ledger) {
      out.push({
        name: `${p.flow}: no lost ledger record`,
        met: c.ledger.complete === c.ledger.expected && (c.journalBacklog ?? 0) === 0,
        detail:
          `${c.ledger.complete}/${c.ledger.expected} final records in Redis, ${c.ledger.missing} missing, ${c.ledger.mismatched} not final, ` +
          `chain ${c.ledger.chainLength} entries, journal backlog ${c.journalBacklog ?? '?'}; ${c.journalWrites ?? '?'} writes missed Redis's ${'write timeout'} and went through the local journal`,
      });
    }
  }
  if (soak && app?.rssSeries) {
    const rss = app.rssSeries.map((s) => s.rssMb).filter((v): v is number => v !== null);
    const max = rss.length ? Math.max(...rss) : null;
    // Growth after warm-up (the first 10 % of calls), per 1,000 calls.
    const warm = app.rssSeries.filter((s) => s.rssMb !== null && s.completed >= app.calls * 0.1).map((s) => ({ x: s.completed / 1000, y: s.rssMb as number }));
    const growth = slope(warm);
    // Peak RSS in each fifth of the run (by calls done): flat means the last fifths are no higher than the first.
    const fifths = [0, 1, 2, 3, 4].map((i) => {
      const part = app.rssSeries?.filter((x) => x.completed >= (i * app.calls) / 5 && x.completed < ((i + 1) * app.calls) / 5 + (i === 4 ? 1 : 0)) ?? [];
      const v = part.map((x) => x.rssMb).filter((y): y is number => y !== null);
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

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 10) : c.padStart(widths[i] ?? 8))).join(' ');
}

function printReport(phases: PhaseResult[], tgts: Target[], profiles: ProfileSummary[], soak: boolean): void {
  const base = phases.find((p) => p.flow === 'baseline');
  const app = phases.find((p) => p.flow === 'app');
  const w = [34, 8, 8, 8, 6, 8, 8, 8, 6, 8, 8];
  console.log('');
  console.log(row(['', 'baseline', '', '', '', 'app', '', '', '', 'app/base', ''], w));
  console.log(row(['metric (ms)', 'p50', 'p99', 'max', 'n', 'p50', 'p99', 'max', 'n', 'p50', 'p99'], w));
  const metrics: [string, keyof PhaseResult['latencyMs']][] = [
    ['DTMF → MixMonitorStart', 'dtmfToRecording'],
    ['entry → first prompt heard', 'entryToPromptHeard'],
    ['time in flow (entry → return)', 'timeInFlow'],
  ];
  for (const [label, key] of metrics) {
    const b = base?.latencyMs[key];
    const a = app?.latencyMs[key];
    const ratio = (x: number | null | undefined, y: number | null | undefined) => (x != null && y != null && y > 0 ? fmt(x / y, 2) : '-');
    console.log(row([label, fmt(b?.p50), fmt(b?.p99), fmt(b?.max), String(b?.n ?? '-'), fmt(a?.p50), fmt(a?.p99), fmt(a?.max), String(a?.n ?? '-'), ratio(a?.p50, b?.p50), ratio(a?.p99, b?.p99)], w));
  }
  if (app?.breakdownMs) {
    const bd = app.breakdownMs;
    console.log('\napp, DTMF → recording start, split with the service log timestamps (ms):');
    console.log(`  DTMFEnd → 'decision' logged (ARI event, flow)         p50 ${fmt(bd.dtmfToDecisionLog.p50)}  p99 ${fmt(bd.dtmfToDecisionLog.p99)}  max ${fmt(bd.dtmfToDecisionLog.max)}`);
    console.log(`  'decision' → MixMonitorStart (ledger write, AMI send)   p50 ${fmt(bd.decisionLogToRecordingStart.p50)}  p99 ${fmt(bd.decisionLogToRecordingStart.p99)}  max ${fmt(bd.decisionLogToRecordingStart.max)}`);
    console.log(`  MixMonitorStart → AMI response seen by the service      p50 ${fmt(bd.recordingStartToAmiResponse.p50)}  p99 ${fmt(bd.recordingStartToAmiResponse.p99)}  max ${fmt(bd.recordingStartToAmiResponse.max)}`);
    console.log('app, entry → first prompt heard, split the same way (ms):');
    console.log(`  entry → 'call entered' logged (StasisStart delivered)  p50 ${fmt(bd.entryToStasisStartLog.p50)}  p99 ${fmt(bd.entryToStasisStartLog.p99)}  max ${fmt(bd.entryToStasisStartLog.max)}`);
    console.log(`  'call entered' → prompt heard (ARI answer + play)      p50 ${fmt(bd.stasisStartLogToPromptHeard.p50)}  p99 ${fmt(bd.stasisStartLogToPromptHeard.p99)}  max ${fmt(bd.stasisStartLogToPromptHeard.max)}`);
    if (app.redis) console.log(`  ledger: ${app.redis.ledgerScripts} append scripts in Redis (batches), ${fmt(app.redis.usecPerScript, 0)} µs each inside Redis`);
  }
  console.log('\nresources over each phase:');
  for (const p of phases) {
    const a = p.asterisk;
    let line = `  ${p.flow.padEnd(9)} ${p.calls} calls in ${fmt(p.wallSeconds)} s (originated in ${fmt(p.originateSeconds, 2)} s, peak ${p.peakCallsInFlow} in the flow); Asterisk ${fmt(a.cpuSeconds)} CPU s (${fmt(a.cpuPercentOfOneCore, 0)} % of a core, ${a.threadsPeak} threads peak)`;
    if (p.app) line += `; service ${fmt(p.app.cpuSeconds)} CPU s (${fmt(p.app.cpuPercentOfOneCore, 0)} %), RSS peak ${fmt(p.app.rssPeakMb)} MB, end ${fmt(p.app.rssEndMb)} MB, event-loop lag p99 ${fmt(p.app.eventLoopLagP99Ms)} ms`;
    console.log(line);
    const m = p.machine;
    console.log(`            machine: ${m.quietAtStart ? 'quiet' : 'NOT quiet'} at start, ${fmt(m.busyPercentOfAllCores, 0)} % of all cores busy during the phase; this benchmark's own process ${fmt(m.benchCpuSeconds)} CPU s; other processes ${fmt(m.othersCpuSeconds)} CPU s`);
    console.log(`            results ${JSON.stringify(p.results)}; missing events ${JSON.stringify(p.missingEvents)}`);
  }
  if (soak && app?.rssSeries) {
    console.log('\nsoak: service RSS over the run');
    const step = Math.max(1, Math.floor(app.rssSeries.length / 25));
    for (let i = 0; i < app.rssSeries.length; i += step) {
      const s = app.rssSeries[i];
      if (s) {
        console.log(
          `  t=${fmt(s.t / 1000, 0).padStart(5)} s  calls done ${String(s.completed).padStart(6)}  RSS ${fmt(s.rssMb)} MB  heap used ${fmt(s.heapUsedMb)} / reserved ${fmt(s.heapTotalMb)} MB  external ${fmt(s.externalMb)} MB`,
        );
      }
    }
    const last = app.rssSeries[app.rssSeries.length - 1];
    if (last) console.log(`  t=${fmt(last.t / 1000, 0).padStart(5)} s  calls done ${String(last.completed).padStart(6)}  RSS ${fmt(last.rssMb)} MB (end)`);
  }
  for (const p of profiles) {
    console.log(`\nCPU profile ${p.file}: ${fmt(p.totalMs - p.idleMs, 0)} ms busy of ${fmt(p.totalMs, 0)} ms`);
    for (const k of p.byPackage.slice(0, 12)) console.log(`  ${fmt(k.percentOfBusy).padStart(5)} %  ${k.pkg}`);
    console.log('  top functions (self time):');
    for (const f of p.topFunctions.slice(0, 15)) console.log(`  ${fmt(f.percentOfBusy).padStart(5)} %  ${f.name}  ${f.where}`);
  }
  console.log('\ntargets:');
  for (const t of tgts) console.log(`  [${t.met === null ? ' ? ' : t.met ? ' ok' : 'MISS'}] ${t.name}: ${t.detail}`);
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(2);
});
