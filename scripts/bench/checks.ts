/**
 * After-run checks: every call decided, no channel left behind, no ledger record lost.
 * The ledger is read only (key layout in src/adapters/redis/keys.ts).
 */
import Redis from 'ioredis';
import { logKeys, sharedKeys } from '../../src/adapters/redis/keys';
import { until, type TestAmi } from '../../test/support';
import type { CallRecord } from './calls';

/** Waits up to `ms` for the benchmark's channels to go, then lists what is left. */
export async function stuckChannels(ami: TestAmi, match: (name: string) => boolean, ms: number): Promise<string[]> {
  const ours = async () => (await ami.channels()).filter(match);
  return (await until(async () => (await ours()).length === 0, ms, 500)) ? [] : ours();
}

export interface LedgerCheck {
  expected: number;
  /** Calls with a record in Redis whose stage is the outcome (2) and whose outcome is the call's result. */
  complete: number;
  /** Calls without any record in Redis. */
  missing: string[];
  /** Calls whose record exists but is not final or does not match what the dialplan saw. */
  mismatched: { uniqueId: string; stage: string | null; outcome: string | null; expected: string | null; recording: boolean }[];
  /** Entries in the chain stream (two per call: decision and outcome). */
  chainLength: number;
}

/** Checks that every app call has its final record in Redis under `prefix`. */
export async function checkLedger(redisUrl: string, prefix: string, calls: CallRecord[]): Promise<LedgerCheck> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    // One log per service instance: a call's record is in the log of the instance that took it.
    const logs = (await redis.smembers(sharedKeys(prefix).logs)).map((l) => logKeys(prefix, l));
    const withId = calls.filter((c) => c.uniqueId !== null);
    const out: LedgerCheck = { expected: withId.length, complete: 0, missing: [], mismatched: [], chainLength: 0 };
    for (let i = 0; i < withId.length; i += 500) {
      const chunk = withId.slice(i, i + 500);
      const pipe = redis.pipeline();
      for (const c of chunk) for (const keys of logs) pipe.hmget(keys.record(c.uniqueId as string), 'stage', 'record');
      const rows = (await pipe.exec()) ?? [];
      chunk.forEach((c, j) => {
        let stage: string | null = null;
        let json: string | null = null;
        for (let k = 0; k < logs.length && stage === null && json === null; k++) {
          const [err, value] = rows[j * logs.length + k] ?? [new Error('no reply'), null];
          [stage, json] = (err ? [null, null] : (value as (string | null)[])) as [string | null, string | null];
        }
        if (stage === null && json === null) {
          out.missing.push(c.uniqueId as string);
          return;
        }
        let outcome: string | null = null;
        let recording = false;
        try {
          const rec = JSON.parse(json ?? 'null') as { outcome?: string | null; recordingPath?: string | null } | null;
          outcome = rec?.outcome ?? null;
          recording = typeof rec?.recordingPath === 'string' && rec.recordingPath !== '';
        } catch {
          // not JSON: counted as mismatched below
        }
        const okRecording = outcome !== 'accepted' || recording;
        if (stage === '2' && outcome !== null && outcome === c.result && okRecording) out.complete++;
        else out.mismatched.push({ uniqueId: c.uniqueId as string, stage, outcome, expected: c.result, recording });
      });
    }
    for (const keys of logs) out.chainLength += await redis.xlen(keys.chain);
    return out;
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under `prefix` (the benchmark's own ledger namespace). */
export async function dropLedger(redisUrl: string, prefix: string): Promise<number> {
  if (!/^bench-[a-z0-9-]+:$/.test(prefix)) throw new Error(`refusing to delete keys under ${prefix}`);
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let n = 0;
  try {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (batch.length > 0) n += await redis.unlink(...batch);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return n;
}
