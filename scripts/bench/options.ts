/** The benchmark's command line (docs/benchmark.md, "Options"), and the files some options make. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../../test/support';
import type { CallScript, Flow } from './calls';

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

export function options() {
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
export type Options = ReturnType<typeof options>;
