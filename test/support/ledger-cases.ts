/**
 * The ledger commands' end-to-end cases: a Redis of the file's own (a redis-server on a free port in a
 * temporary folder; never the shared sandbox's), one key prefix and folder per case, records written
 * through the real ledger (the service's write path) and its log signed as the service signs it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Outcome } from '../../src/call/flow/types';
import { runCheckpoint } from '../../src/cli/evidence-commands';
import type { Config } from '../../src/config/schema';
import { formatSigner, formatVerifier, generateSigner, verifierOf, type SignerKey } from '../../src/evidence/checkpoint';
import { pseudonymise } from '../../src/ledger';
import type { ConsentRecord } from '../../src/ports/ledger';
import { createLedger } from '../../src/service/ledger';
import { captureIo, quietLogger, settableClock } from './cli-io';
import { testConfig, testRecord, TEST_PSEUDONYM_KEY } from './records';
import { RedisServer } from './redis-server';
import { eventually } from './wait';

/** One case: its configuration (log `main`), key prefix, folder and recording.dir. */
export interface LedgerCase {
  config: Config;
  prefix: string;
  dir: string;
  recordings: string;
}

export class LedgerCases {
  redis!: RedisServer;
  raw!: Redis;
  work = '';
  /** The key the cases' ledgers are signed with, as a service would sign them. */
  readonly signer: SignerKey;
  private seq = 0;

  constructor(private readonly name: string) {
    this.signer = generateSigner(`${name}-test`);
  }

  async start(): Promise<void> {
    this.work = mkdtempSync(join(tmpdir(), `civr-${this.name}-`));
    this.redis = await RedisServer.start({ persistence: false });
    this.raw = new Redis({ port: this.redis.port, maxRetriesPerRequest: 1 });
  }

  async stop(): Promise<void> {
    this.raw?.disconnect();
    await this.redis?.destroy();
    rmSync(this.work, { recursive: true, force: true });
  }

  /** A new case: the ledger's settings (log `main`, a journal and checkpoint file of its own) with `settings` on top. */
  env(retentionDays = 180, settings: Record<string, unknown> = {}): LedgerCase {
    this.seq += 1;
    const prefix = `${this.name}${this.seq}:`;
    const dir = join(this.work, `case${this.seq}`);
    const recordings = join(dir, 'recordings');
    mkdirSync(recordings, { recursive: true });
    const config = testConfig(
      {
        redis: { url: this.redis.url, keyPrefix: prefix, writeTimeoutMs: 2000 },
        ledger: { log: 'main', journalPath: join(dir, 'journal.jsonl'), retentionDays, replayIntervalMs: 500, checkpointFile: join(dir, 'checkpoints.jsonl') },
        recording: { dir: recordings },
        ...settings,
      },
      dir,
      { signingKey: formatSigner(this.signer) },
    );
    return { config, prefix, dir, recordings };
  }

  /** The signing key's public half in a file (ledger.trustedKeyFiles of a configuration without the key). */
  publicKeyFile(e: { dir: string }): string {
    const f = join(e.dir, 'ledger.pub');
    writeFileSync(f, formatVerifier(verifierOf(this.signer)));
    return f;
  }
}

/** A call's record: entered at `enteredMs`, decided 4 s later unless abandoned, of the caller `number`. */
export function ledgerRecord(i: number, enteredMs: number, outcome: Outcome, number: string, over: Partial<ConsentRecord> = {}): ConsentRecord {
  const iso = (ms: number) => new Date(ms).toISOString();
  return testRecord({
    uniqueId: `${Math.floor(enteredMs / 1000)}.${i}`,
    callerPseudonym: pseudonymise(number, TEST_PSEUDONYM_KEY),
    calledNumber: '+212522000000',
    outcome,
    digit: outcome === 'accepted' ? '1' : outcome === 'refused' ? '2' : null,
    language: outcome === 'abandoned' ? null : 'fr',
    attempts: 1,
    enteredAt: iso(enteredMs),
    noticeStartedAt: iso(enteredMs + 100),
    decidedAt: outcome === 'abandoned' ? null : iso(enteredMs + 4000),
    recording: null,
    ...over,
  });
}

/** A file standing for a call recording, in the case's recording.dir. */
export function fakeRecording(e: LedgerCase, name: string): string {
  const p = join(e.recordings, name);
  writeFileSync(p, 'RIFF fake wav');
  return p;
}

/** Writes records through the real ledger, with its clock at each record's time, then signs the log. */
export async function seedLedger(e: LedgerCase, records: ConsentRecord[], nowMs: number): Promise<void> {
  const clock = settableClock(nowMs);
  const h = await createLedger(e.config, quietLogger, { clock });
  await eventually(() => h.state() === 'up', 5000, 'the ledger to connect', 20);
  const stored = async (p: Promise<string>, what: string) => {
    const where = await p;
    if (where !== 'redis') throw new Error(`${what} went to ${where}, not Redis`);
  };
  for (const r of records) {
    clock.set(Date.parse(r.enteredAt) + 5000);
    if (r.outcome === 'accepted' || r.outcome === 'refused') await stored(h.ledger.recordDecision({ ...r, recording: null }), `the decision of ${r.uniqueId}`);
    await stored(h.ledger.recordOutcome(r), `the outcome of ${r.uniqueId}`);
  }
  await h.close();
  // The service signs its log while it adds entries.
  const signed = await runCheckpoint(e.config, { sign: true }, { io: captureIo().io });
  if (signed !== 0) throw new Error(`ledger checkpoint exited ${signed}`);
}
