/**
 * `npm run bench`: consent-ivr under load against the pure-dialplan floor (dialplans/baseline.conf), in
 * the sandbox, measured from Asterisk's own AMI event timestamps. Options and results: docs/benchmark.md.
 *
 * A run is a sequence of named steps: options → prepare (sandbox, AMI, service instances) → for each
 * flow: waitQuiet → place (burst or soak) → measure → check → summarise; then report and clean up.
 * The steps live in options.ts (the command line), run.ts (prepare, waitQuiet, cleanup), phase.ts
 * (place, measure, check, the phase's result) and report.ts (checks, targets, what is printed).
 * `--hooks FILE` loads a module whose default export is a `BenchHooks`: what an experiment may change
 * (the service's start options) and observe (its log lines, each phase's result).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { options } from './options';
import { phase, type PhaseResult } from './phase';
import { summariseProfile } from './profile';
import { gitState, print, targets } from './report';
import { cleanup, prepare, sleep } from './run';

export type { BenchHooks } from './run';
export type { PhaseResult } from './phase';

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
    perCallColumns: ['uniqueId', 'enter', 'heard', 'dtmfEnd', 'recStart', 'done', 'hangup', 'result', 'originateFailed', 'lang'],
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
