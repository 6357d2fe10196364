/**
 * The ledger's own benchmark (run first by `npm run bench`, or alone with `npm run bench:ledger`):
 *
 * - appends per second of 1, 2 and 4 instances (one process each) writing to the sandbox's Redis at
 *   once, each to its own log, and — for comparison — 2 and 4 instances sharing one log (one chain
 *   head): conflicts (appends retried because another writer moved the head) and journal fallbacks;
 * - the cost of a checkpoint: checking and signing the entries added since the last one;
 * - the cost of sealing a recording: hashing a 60 s file and appending its seal.
 *
 * Each instance writes `--records` calls (a decision and an outcome each), `--inflight` at a time.
 * Results: a table on stdout and <out>/ledger-<run>.json.
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import type { Config } from '../../src/config/schema';
import { createLedger } from '../../src/service/ledger';
import { generateSigner } from '../../src/evidence/checkpoint';
import { Checkpointer } from '../../src/evidence/checkpointer';
import { inspectRecording, sealEvent } from '../../src/evidence/seal';
import { closeClient, createRedisClient, RedisLedgerStore } from '../../src/adapters/redis';
import { createLogger } from '../../src/observability/logger';
import { systemClock } from '../../src/ports/clock';
import { REPO, requireSandbox, testConfig, testRecord, testRecording, until } from '../../test/support';
import { dropLedger } from './checks';

const quiet = createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));

interface WorkerResult {
  log: string;
  appends: number;
  ms: number;
  conflicts: number;
  journal: number;
}

function configFor(redisUrl: string, prefix: string, log: string, dir: string): Config {
  return testConfig({ redis: { url: redisUrl, keyPrefix: prefix, writeTimeoutMs: 5000 }, ledger: { log, journalPath: join(dir, `${log}-${process.pid}.jsonl`) } }, dir);
}

const record = (log: string, i: number) => {
  const uniqueId = `${log}.${process.pid}.${i}`;
  return testRecord({ uniqueId, linkedId: `${log}.${i}`, recording: testRecording(`/rec/2026/11/30/${uniqueId}.wav`, 'bench'), noticeVersion: 'bench' });
};

/** One instance: writes its records, reports. */
async function worker(): Promise<void> {
  const env = (name: string): string => {
    const v = process.env[name];
    if (v === undefined) throw new Error(`worker: ${name} is not set`);
    return v;
  };
  const LOG = env('LOG');
  const h = await createLedger(configFor(env('REDIS_URL'), env('PREFIX'), LOG, env('DIR')), quiet);
  await until(() => h.state() === 'up', 4000, 20);
  const n = Number(env('RECORDS'));
  let next = 0;
  let journal = 0;
  const start = process.hrtime.bigint();
  const lane = async () => {
    while (next < n) {
      const r = record(LOG, next++);
      if ((await h.ledger.recordDecision(r)) === 'journal') journal++;
      if ((await h.ledger.recordOutcome(r)) === 'journal') journal++;
    }
  };
  await Promise.all(Array.from({ length: Number(env('INFLIGHT')) }, lane));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const result: WorkerResult = { log: LOG, appends: 2 * n, ms, conflicts: h.durable.appendConflicts(), journal };
  await h.close();
  process.send?.(result);
}

async function runInstances(redisUrl: string, prefix: string, logs: string[], dir: string, records: number, inflight: number): Promise<WorkerResult[]> {
  const self = __filename;
  return Promise.all(
    logs.map(
      (log) =>
        new Promise<WorkerResult>((res, rej) => {
          const child = fork(self, ['--worker'], {
            env: { ...process.env, REDIS_URL: redisUrl, PREFIX: prefix, LOG: log, DIR: dir, RECORDS: String(records), INFLIGHT: String(inflight) },
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          });
          child.once('message', (m) => res(m as WorkerResult));
          child.once('exit', (code) => code !== 0 && rej(new Error(`instance ${log} exited ${code}`)));
        }),
    ),
  );
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      records: { type: 'string', default: '2000' },
      inflight: { type: 'string', default: '100' },
      out: { type: 'string', default: 'bench-results' },
      worker: { type: 'boolean', default: false },
    },
    strict: false,
  });
  if (args.worker) return worker();
  const sb = await requireSandbox();
  const records = Number(args.records);
  const inflight = Number(args.inflight);
  const run = `bench-ledger-${Date.now().toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), 'civr-bench-ledger-'));
  const rows: Record<string, unknown>[] = [];
  console.log(`ledger bench ${run}: ${records} calls (${2 * records} appends) per instance, ${inflight} in flight each, Redis ${sb.redis.url}`);
  try {
    for (const [shape, logsOf] of [
      ['own log', (k: number) => Array.from({ length: k }, (_, i) => `i${k}-${i}`)],
      ['one shared log', (k: number) => Array.from({ length: k }, () => `shared${k}`)],
    ] as const) {
      for (const k of [1, 2, 4]) {
        if (shape === 'one shared log' && k === 1) continue;
        const prefix = `${run}-${k}${shape === 'own log' ? 'o' : 's'}:`;
        const wall = Date.now();
        const res = await runInstances(sb.redis.url, prefix, logsOf(k), dir, records, inflight);
        const wallMs = Date.now() - wall;
        const appends = res.reduce((a, r) => a + r.appends, 0);
        const slowest = Math.max(...res.map((r) => r.ms));
        const row = {
          instances: k,
          logs: shape,
          appends,
          appendsPerSecond: Math.round(appends / (slowest / 1000)),
          conflicts: res.reduce((a, r) => a + r.conflicts, 0),
          journalFallbacks: res.reduce((a, r) => a + r.journal, 0),
          wallMs,
        };
        rows.push(row);
        console.log(`  ${String(k)} instance(s), ${shape.padEnd(14)} ${String(row.appendsPerSecond).padStart(7)} appends/s  conflicts ${row.conflicts}  journal ${row.journalFallbacks}`);
        await dropLedger(sb.redis.url, prefix).catch(() => undefined);
      }
    }

    // A checkpoint: checking and signing the entries added since the last one.
    const prefix = `${run}-cp:`;
    await runInstances(sb.redis.url, prefix, ['cp'], dir, records, inflight);
    const client = createRedisClient(configFor(sb.redis.url, prefix, 'cp', dir).redis, quiet, { role: 'cli' });
    const store = new RedisLedgerStore(client, prefix, 'cp');
    await until(() => store.isReady(), 4000, 20);
    const signer = generateSigner('bench');
    const cp = new Checkpointer(store, signer, { intervalMs: 60000, file: join(dir, 'checkpoints.jsonl'), clock: systemClock, logger: quiet });
    let t = process.hrtime.bigint();
    const first = await cp.signNow();
    const firstMs = Number(process.hrtime.bigint() - t) / 1e6;
    const h = await createLedger(configFor(sb.redis.url, prefix, 'cp', dir), quiet);
    await until(() => h.state() === 'up', 4000, 20);
    for (let i = 0; i < 100; i++) await h.ledger.recordOutcome(record('cp2', i));
    t = process.hrtime.bigint();
    await cp.signNow();
    const incrementalMs = Number(process.hrtime.bigint() - t) / 1e6;

    // A seal: hashing a 60 s recording (8 kHz, 16-bit WAV) and appending its seal.
    const wav = join(dir, 'seal.wav');
    execFileSync('sox', ['-n', '-r', '8000', '-b', '16', '-c', '1', wav, 'synth', '60', 'sine', '440']);
    const seals = 50;
    t = process.hrtime.bigint();
    for (let i = 0; i < seals; i++) {
      const f = await inspectRecording(wav, 'wav');
      if (!f?.closed) throw new Error('the test WAV should read as closed');
      await h.durable.appendEvent(sealEvent(`seal.${i}`, Date.now(), { server: 'bench', file: 'seal.wav', sha256: f.sha256, size: f.size, durationMs: f.durationMs, reason: 'call-end' }, new Date()));
    }
    const sealMs = Number(process.hrtime.bigint() - t) / 1e6 / seals;
    await h.close();
    await closeClient(client);
    await dropLedger(sb.redis.url, prefix).catch(() => undefined);
    const costs = {
      checkpointFirst: { entries: first.status === 'signed' ? first.size : null, ms: Math.round(firstMs * 10) / 10 },
      checkpointIncremental100: { ms: Math.round(incrementalMs * 10) / 10 },
      sealPer60sRecording: { ms: Math.round(sealMs * 10) / 10 },
    };
    console.log(`  checkpoint of ${costs.checkpointFirst.entries} entries from scratch: ${costs.checkpointFirst.ms} ms; of 100 new entries: ${costs.checkpointIncremental100.ms} ms`);
    console.log(`  seal of a 60 s recording (hash 960 kB, append): ${costs.sealPer60sRecording.ms} ms`);
    const outDir = resolve(REPO, String(args.out));
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `${run}.json`);
    writeFileSync(file, `${JSON.stringify({ run, records, inflight, appends: rows, costs }, null, 1)}\n`);
    console.log(`ledger bench results: ${file}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`ledger bench failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
