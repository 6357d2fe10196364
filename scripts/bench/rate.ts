/**
 * Sustained arrival (issue 26, item 3): `--rate R --duration S` places R calls a second for S seconds
 * in each flow; `--capacity` searches, per flow, the highest rate at which entry → first prompt p99
 * ≤ 500 ms and key → recording p99 ≤ 100 ms hold (every call decided, none stuck, none lost), each
 * step a `--rate` phase of `--duration` seconds after the machine went quiet (waitQuiet). The search's
 * decisions are capacity.ts's, the verdicts targets.ts's.
 */
import { bracket, nextRate, type SearchOptions, type Step } from './capacity';
import type { Flow } from './calls';
import { phase, type PhaseResult, type Usage } from './phase';
import { summaryOf } from './report';
import { sleep, type Run } from './run';
import { fmt } from './stats';
import { CAPACITY_RATIO, RATE_BOUNDS, rateHolds, type RateBounds } from './targets';

export interface CapacityStep extends Step {
  /** Index of the step's phase in the report's phases. */
  phase: number;
  quiet: boolean;
  p99: { entryToPrompt: number | null; keyToRecording: number | null };
  detail: string;
}

export interface FlowCapacity {
  flow: Flow;
  /** The highest rate (calls/s) that held below the lowest that failed; null when none held. */
  found: number | null;
  reason: string;
  steps: CapacityStep[];
}

/** One process's share over a phase: CPU seconds, % of one core over the phase, CPU per call. */
interface Share {
  cpuSeconds: number | null;
  percentOfOneCore: number | null;
  perCallMs: number | null;
  /** CPU per call × the rate: the cores it keeps busy while calls arrive at that rate. */
  coresAtRate: number | null;
}

export interface CpuSplit {
  flow: Flow;
  rate: number;
  calls: number;
  wallSeconds: number;
  asterisk: Share;
  redis: Share;
  service: Share;
  machineBusyPercentOfAllCores: number | null;
  othersCpuSeconds: number | null;
}

export interface CapacityReport {
  bounds: RateBounds;
  search: SearchOptions;
  durationS: number;
  flows: FlowCapacity[];
  /** consent-ivr's rate / the Node floor's (target ≥ 0.9). */
  appOverNode: number | null;
  /** Asterisk, Redis and the service at consent-ivr's rate (its step there). */
  cpuSplitAtAppRate: CpuSplit | null;
}

/** `--rate R`: one sustained phase of the flow. */
export function sustained(run: Run, flow: Flow, perSecond: number): Promise<PhaseResult> {
  return phase(run, flow, { kind: 'rate', perSecond, seconds: run.o.durationS });
}

/** The capacity search for one flow; its steps' phases are appended to `phases`. */
export async function searchCapacity(run: Run, flow: Flow, phases: PhaseResult[]): Promise<FlowCapacity> {
  const steps: CapacityStep[] = [];
  console.log(`\n${flow}: capacity search (${run.o.durationS} s per step, from ${run.o.search.start}/s up to ${run.o.search.max}/s, at most ${run.o.search.maxSteps} steps)`);
  for (;;) {
    const next = nextRate(steps, run.o.search);
    if ('done' in next) return { flow, found: next.found, reason: next.reason, steps };
    if (run.interrupted) return { flow, found: bracket(steps).held, reason: 'interrupted', steps };
    if (phases.length > 0) await sleep(run.o.settleMs);
    const p = await sustained(run, flow, next.rate);
    phases.push(p);
    const s = summaryOf(p);
    const h = rateHolds(s, RATE_BOUNDS);
    steps.push({ rate: next.rate, holds: h.holds, phase: phases.length - 1, quiet: p.quiet.quiet, p99: { entryToPrompt: s.p99.entryToPrompt, keyToRecording: s.p99.keyToRecording }, detail: h.detail });
    console.log(`  ${flow} at ${fmt(next.rate, 2)}/s: ${h.holds ? 'holds' : 'FAILS'}: ${h.detail}${p.quiet.quiet ? '' : ' (machine NOT quiet before the step)'}`);
  }
}

function share(u: Usage | null, calls: number, rate: number): Share {
  const cpu = u?.cpuSeconds ?? null;
  const perCallMs = cpu === null || calls === 0 ? null : (cpu * 1000) / calls;
  return { cpuSeconds: cpu, percentOfOneCore: u?.cpuPercentOfOneCore ?? null, perCallMs, coresAtRate: perCallMs === null ? null : (perCallMs / 1000) * rate };
}

/** The CPU of Asterisk, Redis and the flow's Node process over one sustained phase. */
export function cpuSplit(p: PhaseResult): CpuSplit | null {
  if (p.load.kind !== 'rate') return null;
  const r = p.load.perSecond;
  return {
    flow: p.flow,
    rate: r,
    calls: p.calls,
    wallSeconds: p.wallSeconds,
    asterisk: share(p.asterisk, p.calls, r),
    redis: share(p.redis, p.calls, r),
    service: share(p.app, p.calls, r),
    machineBusyPercentOfAllCores: p.machine.busyPercentOfAllCores,
    othersCpuSeconds: p.machine.othersCpuSeconds,
  };
}

/** The phase of a flow's step at its found rate. */
export function foundPhase(c: FlowCapacity, phases: PhaseResult[]): PhaseResult | null {
  const step = c.steps.find((s) => s.holds && s.rate === c.found);
  return step ? (phases[step.phase] ?? null) : null;
}

/** `--capacity`: the search for every flow of the run, then the ratio and consent-ivr's CPU split. */
export async function capacity(run: Run): Promise<{ phases: PhaseResult[]; capacity: CapacityReport }> {
  const phases: PhaseResult[] = [];
  const flows: FlowCapacity[] = [];
  for (const flow of run.o.flows) {
    if (run.interrupted) break;
    flows.push(await searchCapacity(run, flow, phases));
  }
  const found = (f: Flow) => flows.find((c) => c.flow === f)?.found ?? null;
  const [a, n] = [found('app'), found('node')];
  const app = flows.find((c) => c.flow === 'app');
  const at = app ? foundPhase(app, phases) : null;
  return {
    phases,
    capacity: {
      bounds: RATE_BOUNDS,
      search: run.o.search,
      durationS: run.o.durationS,
      flows,
      appOverNode: a !== null && n !== null && n > 0 ? a / n : null,
      cpuSplitAtAppRate: at ? cpuSplit(at) : null,
    },
  };
}

const shareLine = (name: string, s: Share) => `  ${name.padEnd(9)} ${fmt(s.cpuSeconds)} CPU s, ${fmt(s.percentOfOneCore, 0)} % of a core over the step, ${fmt(s.perCallMs, 2)} ms per call (${fmt(s.coresAtRate, 2)} cores at this rate)`;

/** Prints a CPU split (the rate steps and the capacity). */
export function printCpuSplit(c: CpuSplit): void {
  console.log(`\nCPU split, ${c.flow} at ${fmt(c.rate, 2)} calls/s (${c.calls} calls over ${fmt(c.wallSeconds)} s; machine ${fmt(c.machineBusyPercentOfAllCores, 0)} % of all cores busy, other processes ${fmt(c.othersCpuSeconds)} CPU s):`);
  for (const [name, s] of [['Asterisk', c.asterisk], ['Redis', c.redis], ['service', c.service]] as const) console.log(shareLine(name, s));
}

/** Prints the search: every step, the rate found per flow, the ratio, the CPU split at consent-ivr's rate. */
export function printCapacity(r: CapacityReport): void {
  console.log(`\ncapacity (highest rate with entry → first prompt p99 ≤ ${r.bounds.entryToPromptMs} ms and key → recording p99 ≤ ${r.bounds.keyToRecordingMs} ms; ${r.durationS} s per step):`);
  for (const f of r.flows) {
    const steps = f.steps.map((s) => `${fmt(s.rate, 2)}/s ${s.holds ? 'ok' : 'FAIL'} (${fmt(s.p99.entryToPrompt, 0)} / ${fmt(s.p99.keyToRecording, 0)} ms)`).join(', ');
    console.log(`  ${f.flow.padEnd(9)} ${f.found === null ? 'none' : `${fmt(f.found, 2)} calls/s`} (${f.reason}); steps: ${steps}`);
  }
  console.log(`  consent-ivr / Node floor: ${fmt(r.appOverNode, 3)} (target ≥ ${CAPACITY_RATIO})`);
  if (r.cpuSplitAtAppRate) printCpuSplit(r.cpuSplitAtAppRate);
}
