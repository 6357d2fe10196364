/**
 * `npm run bench`: consent-ivr under load against the pure-dialplan floor (dialplans/baseline.conf), in
 * the sandbox, measured from Asterisk's own AMI event timestamps. Options and results: docs/benchmark.md.
 *
 * A run is a sequence of named steps: options → prepare (sandbox, AMI, service instances) → for each
 * flow: waitQuiet → place (burst, soak or a sustained rate) → measure → check → summarise; then
 * targets, report and clean up. `--capacity` makes each flow a series of sustained-rate phases, the
 * next rate chosen from the verdicts so far.
 * The steps live in options.ts (the command line), run.ts (prepare, waitQuiet, cleanup), phase.ts
 * (place, measure, check, the phase's result), rate.ts (--rate, --capacity), report.ts (the
 * per-phase checks, what is printed), targets.ts (issue 26's targets) and capacity.ts (the search).
 * `--hooks FILE` loads a module whose default export is a `BenchHooks`: what an experiment may change
 * (the service's start options) and observe (its log lines, each phase's result).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { options, type Options } from './options';
import { phase, type Load, type PhaseResult } from './phase';
import { summariseProfile } from './profile';
import { capacity, cpuSplit, foundPhase, printCapacity, printCpuSplit, type CapacityReport } from './rate';
import { checksMet, gitState, print, summaryOf, targets } from './report';
import { cleanup, prepare, sleep, type Run } from './run';
import { allMet, burstTargets, capacityTargets, rateTargets, type Verdict } from './targets';

export type { BenchHooks } from './run';
export type { PhaseResult } from './phase';

// ------------------------------------------------------------------------------------ main

type Outcome = { phases: PhaseResult[]; capacity: CapacityReport | null };

/** The phases of the run's mode: one per flow (burst, soak, --rate), or the capacity search's steps. */
async function phases(run: Run): Promise<Outcome> {
  const { o } = run;
  if (o.mode === 'capacity') return capacity(run);
  const load: Load = o.mode === 'soak' ? { kind: 'soak', calls: o.calls, limit: o.concurrency ?? 1 } : o.mode === 'rate' ? { kind: 'rate', perSecond: o.rate ?? 1, seconds: o.durationS } : { kind: 'burst', calls: o.calls };
  const out: PhaseResult[] = [];
  for (const [i, flow] of o.flows.entries()) {
    if (run.interrupted) break;
    if (i > 0) await sleep(o.settleMs);
    out.push(await phase(run, flow, load));
  }
  return { phases: out, capacity: null };
}

/**
 * The issue 26 targets of the mode, and the phases the per-phase checks and the table cover: every
 * phase, except in a capacity search, where only each flow's step at its rate (the others went past it
 * on purpose).
 */
function verdictsOf(o: Options, r: Outcome): { verdicts: Verdict[]; shown: PhaseResult[] } {
  if (r.capacity) {
    const shown = r.capacity.flows.map((f) => foundPhase(f, r.phases)).filter((p): p is PhaseResult => p !== null);
    return { verdicts: capacityTargets(Object.fromEntries(r.capacity.flows.map((f) => [f.flow, f.found]))), shown };
  }
  const sums = r.phases.map(summaryOf);
  if (o.mode === 'rate') return { verdicts: rateTargets(sums, o.rate ?? 0), shown: r.phases };
  return { verdicts: o.mode === 'burst' ? burstTargets(sums) : [], shown: r.phases };
}

function fileName(run: Run): string {
  const { o } = run;
  const what = o.mode === 'rate' ? `rate-${o.rate}x${o.durationS}` : o.mode === 'capacity' ? `capacity-${o.durationS}` : `${o.mode}-${o.calls}`;
  return resolve(o.out, `${run.runId}-${what}${o.instances > 1 ? `-i${o.instances}` : ''}.json`);
}

async function main(): Promise<void> {
  const o = options();
  const run = await prepare(o);
  let outcome: Outcome;
  let exitCode: number | null;
  try {
    outcome = await phases(run);
  } finally {
    exitCode = await run.svc.stop();
    run.floor?.proc.kill('SIGTERM');
    run.ami.close();
  }
  const profDir = run.profDir;
  const profiles = profDir ? readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => summariseProfile(resolve(profDir, f))) : [];
  const { verdicts, shown } = verdictsOf(o, outcome);
  const tgts = targets(shown);
  const problems = [...run.svc.problemCounts.entries()].sort((a, b) => b[1] - a[1]);
  const report = {
    runId: run.runId,
    date: new Date().toISOString(),
    mode: o.mode,
    settings: { ...o, callerVars: undefined },
    machine: { cpus: cpus().length, node: process.version },
    code: gitState(),
    perCallColumns: ['uniqueId', 'enter', 'heard', 'dtmfEnd', 'recStart', 'done', 'hangup', 'result', 'originateFailed', 'lang'],
    phases: outcome.phases,
    targets: tgts,
    issue26: verdicts,
    ...(o.mode === 'rate' ? { cpuSplit: outcome.phases.map(cpuSplit) } : {}),
    ...(outcome.capacity ? { capacity: outcome.capacity } : {}),
    service: { exitCode, problems: Object.fromEntries(problems), warnings: run.svc.warnings, errorLines: run.log.errors },
    profiles,
    ...run.hooks.report?.(),
  };
  const file = fileName(run);
  writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);
  if (outcome.capacity) printCapacity(outcome.capacity);
  print(shown, tgts, verdicts, profiles, problems);
  if (o.mode === 'rate') for (const c of outcome.phases.map(cpuSplit)) if (c) printCpuSplit(c);
  console.log(`\nresults: ${file}`);
  if (!o.keep) await cleanup(run);
  process.exitCode = checksMet(tgts) && allMet(verdicts) ? 0 : 1;
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(2);
});
