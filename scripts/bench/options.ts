/** The benchmark's command line (docs/benchmark.md, "Options"), and the files some options make. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../../test/support';
import type { CallScript, Flow } from './calls';
import { DEFAULT_SEARCH, type SearchOptions } from './capacity';

/** --floor-steps: the Node floor's shape (node-floor.ts): the least steps, or the steps the product cannot do without. */
export type FloorSteps = 'minimal' | 'product';

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
}



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
export function campaignConfig(dir: string, runId: string, n: number): string {
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
export function benchRecipients(dir: string, runId: string): string {
  const identity = resolve(dir, `${runId}-dpo.key`);
  execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
  const file = resolve(dir, `${runId}-recipients.txt`);
  writeFileSync(file, execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }));
  return file;
}

/** What a run does: a burst (the default), a soak, a sustained rate, or the capacity search. */
export type Mode = 'burst' | 'soak' | 'rate' | 'capacity';

type Args = Record<string, string | boolean | undefined>;

function modeOf(a: Args): Mode {
  const given = (['soak', 'rate', 'capacity'] as const).filter((k) => a[k] !== undefined && a[k] !== false);
  if (given.length > 1) throw new Error(`--${given.join(' and --')} cannot be combined`);
  return given[0] ?? 'burst';
}

/**
 * What each caller does. Burst and soak: the key 2 + U(0, 4) s after the answer (2 to 6 s into the
 * Arabic notice), the agent 2 s after the hand-back. Sustained rate: the key 3 + U(0, 2) s after the
 * answer, the confirmation (~5.5 s), then the agent stays 10 s while the call is recorded: ~20 s per
 * call, so that R calls/s keep about 20 × R calls up. The caller stays `talk` seconds after the key (the
 * agent's hang-up ends the call first).
 */
function scriptOf(a: Args, mode: Mode): CallScript {
  const sustained = mode === 'rate' || mode === 'capacity';
  const pick = (k: string, burst: string, rate: string) => (typeof a[k] === 'string' ? (a[k] as string) : sustained ? rate : burst);
  const w1Jitter = Number(pick('w1-jitter', '4', '2'));
  if (!Number.isFinite(w1Jitter) || w1Jitter < 0) throw new Error('--w1-jitter must be a number of seconds >= 0');
  const agentSecs = Number(pick('agent-secs', '2', '10'));
  if (!Number.isFinite(agentSecs) || agentSecs < 0) throw new Error('--agent-secs must be a number of seconds >= 0');
  return { w1: positive('w1', pick('w1', '2', '3')), w1Jitter, key: '1', agentSecs, talk: positive('talk', pick('talk', '120', '30')) };
}

/** --capacity: the search's bounds (capacity.ts). */
function searchOf(a: Args): SearchOptions {
  const start = positive('capacity-start', String(a['capacity-start'] ?? DEFAULT_SEARCH.start));
  const max = positive('capacity-max', String(a['capacity-max'] ?? DEFAULT_SEARCH.max));
  if (max < start) throw new Error('--capacity-max must be at least --capacity-start');
  const maxSteps = Math.round(positive('capacity-steps', String(a['capacity-steps'] ?? DEFAULT_SEARCH.maxSteps)));
  return { start, max, min: start / 8, precision: DEFAULT_SEARCH.precision, maxSteps };
}

function parse() {
  return parseArgs({
    options: {
      calls: { type: 'string', default: '400' },
      flows: { type: 'string', default: 'baseline,node,app' },
      soak: { type: 'boolean', default: false },
      'soak-calls': { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '200' },
      rate: { type: 'string' },
      duration: { type: 'string', default: '60' },
      capacity: { type: 'boolean', default: false },
      'capacity-start': { type: 'string' },
      'capacity-max': { type: 'string' },
      'capacity-steps': { type: 'string' },
      w1: { type: 'string' },
      'w1-jitter': { type: 'string' },
      ramp: { type: 'string', default: '0' },
      'agent-secs': { type: 'string' },
      talk: { type: 'string' },
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
      'floor-steps': { type: 'string', default: 'minimal' },
    },
    strict: true,
  }).values;
}

export function options() {
  const a = parse();
  const mode = modeOf(a);
  const soak = mode === 'soak';
  const rampMs = Number(a.ramp) * 1000;
  if (!Number.isFinite(rampMs) || rampMs < 0) throw new Error('--ramp must be a number of seconds >= 0');
  if (rampMs > 0 && mode !== 'burst') throw new Error('--ramp is for a burst only');
  const flows = (soak ? 'app' : (a.flows ?? '')).split(',').map((f) => f.trim()) as Flow[];
  for (const f of flows) if (!['app', 'baseline', 'node'].includes(f)) throw new Error(`--flows: unknown flow ${f} (baseline, node, app)`);
  const floorSteps = a['floor-steps'] ?? 'minimal';
  if (floorSteps !== 'minimal' && floorSteps !== 'product') throw new Error(`--floor-steps must be minimal or product, got ${floorSteps}`);
  // What the caller sends: "silence" from the answer to the key (a phone's RTP); "talk" also a 1 kHz tone
  // after the key; "none" nothing at all (then Answer() in the floor waits 500 ms for media).
  const caller = a.caller ?? 'silence';
  if (!['silence', 'talk', 'none'].includes(caller)) throw new Error(`--caller must be silence, talk or none, got ${caller}`);
  return {
    mode,
    soak,
    calls: Math.round(positive(soak ? 'soak-calls' : 'calls', soak ? a['soak-calls'] : a.calls)),
    concurrency: soak ? Math.round(positive('concurrency', a.concurrency)) : null,
    /** --rate: calls per second; --duration: seconds of arrivals (each step of --capacity too). */
    rate: mode === 'rate' ? positive('rate', a.rate) : null,
    durationS: positive('duration', a.duration),
    search: searchOf(a),
    script: scriptOf(a, mode),
    settleMs: Number(a.settle) * 1000,
    rampMs,
    sampleEveryMs: positive('sample-every', a['sample-every']) * 1000,
    flows,
    floorSteps: floorSteps as FloorSteps,
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
export type Options = ReturnType<typeof options>;
