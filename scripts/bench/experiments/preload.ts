/**
 * EXPERIMENTS ONLY -- never loaded by the service in normal use. `npm run bench -- --experiment X`
 * starts the service with `node -r <this file>` to measure what a change to src/ would gain before
 * anyone makes it. Each experiment patches the built code in memory; src/ and dist/ stay untouched.
 *
 *   trace-ledger   no change; times each Redis append, ledger write and journal append
 *   trace-accept   no change; per call, the service-side times of the accept path (key reaching the
 *                  runner, ledger write, MixMonitor action), the time spent writing log lines, and
 *                  the ARI events received by type
 *
 * (quiet-logs, ari-pool, ledger-batch and direct-ari, the experiments behind R1-R4 in
 * docs/benchmark.md, were removed once those changes were made in src/.)
 *
 * Selected with BENCH_EXPERIMENTS (comma-separated).
 */
import { resolve } from 'node:path';

const REPO = resolve(__dirname, '../../../../..');
const chosen = new Set((process.env.BENCH_EXPERIMENTS ?? '').split(',').filter(Boolean));

type AnyFn = (...args: unknown[]) => unknown;

/** The prototype of a class of the built service, to patch. */
function prototypeOf(file: string, cls: string): Record<string, AnyFn> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(resolve(REPO, file)) as Record<string, { prototype: Record<string, AnyFn> }>;
  const proto = mod[cls]?.prototype;
  if (!proto) throw new Error(`experiment: ${cls} not found in ${file}`);
  return proto;
}

/** Milliseconds since the epoch, sub-millisecond: the clock of Asterisk's AMI timestamps. */
const now = () => performance.timeOrigin + performance.now();

/** What the trace experiments collect; written once, as JSON, to BENCH_TRACE_FILE when the service exits. */
const traces: (() => Record<string, unknown>)[] = [];
process.on('exit', () => {
  const file = process.env.BENCH_TRACE_FILE;
  if (!file || traces.length === 0) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('node:fs') as typeof import('node:fs')).writeFileSync(file, JSON.stringify(Object.assign({}, ...traces.map((t) => t()))));
});

/**
 * trace-ledger: no behaviour change; times the ledger's parts, kept under `__ledger` in the trace file: each Redis append (batch size, ms from send to reply), each DurableLedger write (ms from the
 * call to stored, where it went) and each journal append (ms, fsync included).
 */
if (chosen.has('trace-ledger')) {
  const out = { appends: [] as [number, number, number][], writes: [] as [number, number, string][], journal: [] as [number, number][] };
  const wrap = (file: string, cls: string, method: string, record: (t0: number, ms: number, args: unknown[], result: unknown) => void) => {
    const proto = prototypeOf(file, cls);
    const original = proto[method] as AnyFn;
    proto[method] = async function (this: unknown, ...args: unknown[]) {
      const t0 = now();
      const result = await original.apply(this, args);
      record(t0, now() - t0, args, result);
      return result;
    };
  };
  wrap('dist/adapters/redis/ledger-store.js', 'RedisLedgerStore', 'append', (t0, ms, args) => out.appends.push([t0, ms, (args[1] as unknown[]).length]));
  wrap('dist/ledger/durable-ledger.js', 'DurableLedger', 'write', (t0, ms, _args, where) => out.writes.push([t0, ms, String(where)]));
  wrap('dist/ledger/journal.js', 'Journal', 'append', (t0, ms) => out.journal.push([t0, ms]));
  traces.push(() => ({ __ledger: out }));
}

/**
 * trace-accept: no behaviour change; per call, the service-side times of the accept path, written to
 * BENCH_TRACE_FILE at exit as { [uniqueId]: { digit, write0, write1, ami0, ami1 } } (ms since the
 * epoch, the same clock as Asterisk's AMI timestamps): the key reaching the runner, the decision's
 * ledger write, and the MixMonitor action from send to response.
 */
if (chosen.has('trace-accept')) {
  const calls: Record<string, Record<string, number>> = {};
  const mark = (id: string, k: string, t: number) => {
    const c = (calls[id] ??= {});
    if (c[k] === undefined) c[k] = t;
  };
  const runner = prototypeOf('dist/runner/call-runner.js', 'CallRunner');
  const digit = runner.digit as AnyFn;
  runner.digit = function (this: { channelId: string }, ...args: unknown[]) {
    mark(this.channelId, 'digit', now());
    return digit.apply(this, args);
  };
  const ledger = prototypeOf('dist/ledger/durable-ledger.js', 'DurableLedger');
  const write = ledger.write as AnyFn;
  ledger.write = async function (this: unknown, ...args: unknown[]) {
    const kind = args[0] as string;
    const id = (args[1] as { uniqueId: string }).uniqueId;
    if (kind === 'decision') mark(id, 'write0', now());
    const r = await write.apply(this, args);
    if (kind === 'decision') mark(id, 'write1', now());
    return r;
  };
  const recorder = prototypeOf('dist/adapters/ami/recorder.js', 'AmiRecorder');
  const start = recorder.start as AnyFn;
  recorder.start = async function (this: unknown, ...args: unknown[]) {
    const file = (args[0] as { file: string }).file;
    const id = file.replace(/^.*\//, '').replace(/\.[^.]*$/, '');
    mark(id, 'ami0', now());
    const r = await start.apply(this, args);
    mark(id, 'ami1', now());
    return r;
  };
  // ARI events received, by type (ari-client emits every event as '*' too).
  const events: Record<string, number> = {};
  const adapter = prototypeOf('dist/adapters/ari/ari-adapter.js', 'AriAdapter');
  const connectOnce = adapter.connectOnce as AnyFn;
  adapter.connectOnce = async function (this: { client: { on(e: string, f: (ev: { type?: string }) => void): void } | null }, ...args: unknown[]) {
    const r = await connectOnce.apply(this, args);
    this.client?.on('*', (ev) => {
      const t = ev.type ?? '?';
      events[t] = (events[t] ?? 0) + 1;
    });
    return r;
  };
  // Time spent in stdout writes (synchronous on a pipe: a slow reader stalls the service).
  const stdoutWrite = process.stdout.write.bind(process.stdout) as AnyFn;
  const stdoutStats = { calls: 0, totalMs: 0, maxMs: 0, over1ms: 0 };
  (process.stdout as unknown as { write: AnyFn }).write = (...args: unknown[]) => {
    const t0 = now();
    const r = stdoutWrite(...args);
    const ms = now() - t0;
    stdoutStats.calls++;
    stdoutStats.totalMs += ms;
    if (ms > stdoutStats.maxMs) stdoutStats.maxMs = ms;
    if (ms > 1) stdoutStats.over1ms++;
    return r;
  };
  traces.push(() => ({ ...calls, __stdout: stdoutStats, __events: events }));
}
