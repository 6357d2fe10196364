/**
 * The ledger commands and campaign profiles against a real Redis of its own (a redis-server on a free
 * port in a temporary folder; never the shared sandbox's): `ledger purge`, run through the built entry
 * point as the daily timer runs it, removes each record after its own profile's ledger.retentionDays
 * and counts per profile (text and --json); the log still verifies; `ledger list|export --profile`
 * keep one profile's records; `ledger erase` reaches a caller in every profile.
 * Needs the build (`npm run build`: dist/cli/main.js), as the other tests of the CLI do.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually, RedisServer, runCli, type CliResult } from '../support';
import type { Config } from '../../src/config/schema';
import { formatSigner, generateSigner } from '../../src/evidence/checkpoint';
import { parseStoredRecord, pseudonymise } from '../../src/ledger';
import { parseJsonl } from '../../src/ledger/format';
import type { StoredRecord } from '../../src/ledger/types';
import { runCheckpoint, runVerify } from '../../src/cli/evidence-commands';
import { runExport, runList } from '../../src/cli/records-commands';
import { runErase } from '../../src/cli/retention-commands';
import type { ConsentRecord } from '../../src/ports/ledger';
import type { ProfilePurge, PurgeReport } from '../../src/retention';
import { createLedger } from '../../src/service/ledger';
import { testConfig, testRecord, testRecording, TEST_PROMPT_TEXTS, TEST_PSEUDONYM_KEY as KEY } from '../support/records';
import { captureIo, quietLogger, settableClock } from '../support/cli-io';

const DAY = 86_400_000;
const NOW = Math.floor(Date.now() / 1000) * 1000;
const SIGNER = generateSigner('ledger-profiles-test');
/** The campaign profiles of these cases: the default kept 180 days, `bank` 30. */
const PROFILES = { bank: { ledger: { retentionDays: 30 } } };

let redis: RedisServer;
let raw: Redis;
let work: string;
let seq = 0;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'civr-ledger-profiles-'));
  redis = await RedisServer.start({ persistence: false });
  raw = new Redis({ port: redis.port, maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  raw.disconnect();
  await redis.destroy();
  rmSync(work, { recursive: true, force: true });
});

interface Env {
  config: Config;
  prefix: string;
  dir: string;
  recordings: string;
  /** The same configuration as a file, for the built entry point. */
  file: string;
}

/** A case of its own: its key prefix, folder, recordings and configuration (with the profiles above). */
function env(): Env {
  seq += 1;
  const prefix = `profiles${seq}:`;
  const dir = join(work, `case${seq}`);
  const recordings = join(dir, 'recordings');
  mkdirSync(recordings, { recursive: true });
  const ledger = { log: 'main', journalPath: join(dir, 'journal.jsonl'), retentionDays: 180, replayIntervalMs: 500, checkpointFile: join(dir, 'checkpoints.jsonl') };
  const settings = { redis: { url: redis.url, keyPrefix: prefix, writeTimeoutMs: 2000 }, ledger, recording: { dir: recordings }, profiles: PROFILES };
  const config = testConfig(settings, dir, { signingKey: formatSigner(SIGNER) });
  const file = join(dir, 'consent-ivr.yaml');
  // The ledger commands need neither the ARI password nor the AMI secret.
  const ari = { passwordFile: join(dir, 'no-such-ari-password') };
  const ami = { secretFile: join(dir, 'no-such-ami-secret') };
  writeFileSync(file, JSON.stringify({ prompts: { texts: { ar: TEST_PROMPT_TEXTS, fr: TEST_PROMPT_TEXTS } }, ...settings, ari, ami }));
  return { config, prefix, dir, recordings, file };
}

/**
 * `consent-ivr --config <file> ledger …` through the built entry point. What decides which Redis and
 * which records are touched is pinned here too, so that no CONSENT_IVR_ variable of the shell running
 * the tests can point it elsewhere.
 */
function cli(e: Env, args: string[]): Promise<CliResult> {
  return runCli(
    ['--config', e.file, 'ledger', ...args],
    {
      CONSENT_IVR_PSEUDONYM_KEY: KEY,
      CONSENT_IVR_REDIS_MODE: 'single',
      CONSENT_IVR_REDIS_URL: redis.url,
      CONSENT_IVR_REDIS_KEY_PREFIX: e.prefix,
      CONSENT_IVR_LEDGER_LOG: 'main',
      CONSENT_IVR_LEDGER_RETENTION_DAYS: '180',
      CONSENT_IVR_LEDGER_CHECKPOINT_FILE: e.config.ledger.checkpointFile,
      CONSENT_IVR_RECORDING_DIR: e.recordings,
    },
    60000,
  );
}


/** A refused call of `profile` (null: made before profiles) entered `days` ago; `file`: accepted and recorded in that file. */
function call(e: Env, i: number, profile: string | null, days: number, opts: { file?: string; number?: string } = {}): ConsentRecord {
  const enteredMs = NOW - days * DAY;
  const iso = (ms: number) => new Date(ms).toISOString();
  let recording: ConsentRecord['recording'] = null;
  if (opts.file) {
    const path = join(e.recordings, opts.file);
    writeFileSync(path, 'RIFF fake wav');
    recording = testRecording(path, null, iso(enteredMs + 4500));
  }
  return testRecord({
    uniqueId: `${Math.floor(enteredMs / 1000)}.${i}`,
    profile,
    callerPseudonym: pseudonymise(opts.number ?? `06110000${String(i).padStart(2, '0')}`, KEY),
    outcome: recording ? 'accepted' : 'refused',
    digit: recording ? '1' : '2',
    language: 'fr',
    enteredAt: iso(enteredMs),
    noticeStartedAt: iso(enteredMs + 100),
    decidedAt: iso(enteredMs + 4000),
    recording,
  });
}

/** Writes records through the real ledger, with its clock at each record's time, and signs the log as the service would. */
async function seed(e: Env, records: ConsentRecord[]): Promise<void> {
  const clock = settableClock(NOW);
  const h = await createLedger(e.config, quietLogger, { clock });
  await eventually(() => h.state() === 'up', 5000, 'the ledger to connect', 20);
  for (const r of [...records].sort((a, b) => Date.parse(a.enteredAt) - Date.parse(b.enteredAt))) {
    clock.set(Date.parse(r.enteredAt) + 5000);
    await expect(h.ledger.recordDecision({ ...r, recording: null })).resolves.toBe('redis');
    await expect(h.ledger.recordOutcome(r)).resolves.toBe('redis');
  }
  await h.close();
  expect(await runCheckpoint(e.config, { sign: true }, { io: captureIo().io })).toBe(0);
}

async function storedRecords(e: Env): Promise<StoredRecord[]> {
  const ids = await raw.zrange(`${e.prefix}{ledger:main}:idx:entered`, '0', '-1');
  const out: StoredRecord[] = [];
  for (const id of ids) out.push(parseStoredRecord(String(await raw.hget(`${e.prefix}{ledger:main}:rec:${id}`, 'record'))));
  return out;
}

const ids = (records: { uniqueId: string }[]) => records.map((r) => r.uniqueId).sort();

/**
 * Old records of both profiles, of none (made before profiles) and of a profile since removed from
 * the configuration: which go at NOW and which stay.
 */
function mixedLedger(e: Env): { gone: ConsentRecord[]; kept: ConsentRecord[] } {
  const gone = [
    call(e, 1, 'default', 200, { file: 'default-200.wav' }),
    call(e, 2, null, 195),
    call(e, 3, 'spring-sale', 190),
    call(e, 4, 'bank', 40, { file: 'bank-40.wav' }),
    call(e, 5, 'bank', 35),
  ];
  const kept = [call(e, 6, 'default', 40, { file: 'default-40.wav' }), call(e, 7, null, 40), call(e, 8, 'spring-sale', 40), call(e, 9, 'bank', 10)];
  return { gone, kept };
}

describe('ledger purge by campaign profile', () => {
  test("When purge runs through the entry point with a 30-day profile and the 180-day default, then each record goes after its own profile's retention, the text counts per profile, and the log still verifies", async () => {
    const e = env();
    const { gone, kept } = mixedLedger(e);
    await seed(e, [...gone, ...kept]);

    const r = await cli(e, ['purge']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^purge: 5 record\(s\) past their profile's retention deleted, 2 recording file\(s\) deleted, log main trimmed up to seq 6\n/);
    expect(r.stdout).toMatch(/^ {2}profile default: 180 day\(s\), records entered before \S+: 2 deleted, 1 recording file\(s\) deleted$/m);
    expect(r.stdout).toMatch(/^ {2}profile bank: 30 day\(s\), records entered before \S+: 2 deleted, 1 recording file\(s\) deleted$/m);
    expect(r.stdout).toMatch(/^ {2}profile spring-sale \(not in the configuration: the default's retention\): 180 day\(s\), records entered before \S+: 1 deleted, 0 recording file\(s\) deleted$/m);

    expect(ids(await storedRecords(e))).toEqual(ids(kept));
    expect(existsSync(join(e.recordings, 'default-200.wav'))).toBe(false);
    expect(existsSync(join(e.recordings, 'bank-40.wav'))).toBe(false);
    expect(existsSync(join(e.recordings, 'default-40.wav'))).toBe(true);
    for (const g of gone) expect(await raw.sismember(`${e.prefix}{ledger:main}:idx:caller:${g.callerPseudonym}`, g.uniqueId)).toBe(0);

    // The purge entry has the totals; verify does not take the records the 30-day profile lost for deletions outside a purge.
    const chain = (await raw.xrange(`${e.prefix}{ledger:main}:chain`, '-', '+')) as [string, string[]][];
    const [, fields] = chain[chain.length - 1] as [string, string[]];
    const body = JSON.parse(String(fields[fields.indexOf('body') + 1])) as { cutoff: string };
    expect(body).toMatchObject({ type: 'purge', records: 5, recordingsDeleted: 2, failures: 0, trimmedTo: { seq: 6 } });
    expect(Math.abs(Date.parse(body.cutoff) - (Date.now() - 180 * DAY))).toBeLessThan(5 * 60_000); // the longest retention's
    const v = captureIo();
    expect(await runVerify(e.config, {}, { io: v.io })).toBe(0);
    expect(v.out()).toMatch(/records: OK, 4 checked/);

    // Nothing more to do: each configured profile says 0.
    const again = await cli(e, ['purge']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^purge: 0 record\(s\) past their profile's retention deleted/);
    expect(again.stdout).toMatch(/^ {2}profile bank: 30 day\(s\), records entered before \S+: 0 deleted/m);
    expect(ids(await storedRecords(e))).toEqual(ids(kept));
  }, 120000);

  test('When purge --json runs, then it prints the totals and each profile\'s retention, cutoff and counts, the one not configured marked so', async () => {
    const e = env();
    const { gone, kept } = mixedLedger(e);
    await seed(e, [...gone, ...kept]);

    const r = await cli(e, ['purge', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as PurgeReport;
    const cutoff = (days: number) => Date.parse(report.profiles.find((p) => p.retentionDays === days)?.cutoff ?? '');
    expect(report).toMatchObject({ skipped: null, records: 5, recordingsDeleted: 2, recordingsMissing: 0, failures: [], waiting: {}, malformed: [] });
    expect(report.trimmed).toEqual([{ log: 'main', seq: 6 }]);
    const counts = (p: ProfilePurge) => [p.profile, p.configured, p.retentionDays, p.records, p.recordingsDeleted, p.kept];
    expect(report.profiles.map(counts)).toEqual([
      ['default', true, 180, 2, 1, 0],
      ['bank', true, 30, 2, 1, 0],
      ['spring-sale', false, 180, 1, 0, 0],
    ]);
    // Each cutoff is its retention before the purge's time (the purge ran within the last minutes).
    for (const days of [180, 30]) expect(Math.abs(cutoff(days) - (Date.now() - days * DAY))).toBeLessThan(5 * 60_000);
    expect(report.cutoff).toBe(report.profiles[0]?.cutoff);
    expect(ids(await storedRecords(e))).toEqual(ids(kept));
  }, 120000);
});

describe('ledger list, export and erase by campaign profile', () => {
  test('When list and export are given --profile, then only that profile\'s records come ("default": with those of no profile), with --since and --outcome too; a bad name exits 2', async () => {
    const e = env();
    const { gone, kept } = mixedLedger(e);
    await seed(e, [...gone, ...kept]);
    const all = [...gone, ...kept];
    const of = (p: string) => ids(all.filter((r) => (r.profile ?? 'default') === p));

    const bank = captureIo();
    expect(await runExport(e.config, { format: 'jsonl', profile: 'bank' }, { io: bank.io })).toBe(0);
    expect(ids(parseJsonl(bank.out()))).toEqual(of('bank'));
    expect(bank.err()).toBe('');
    const def = captureIo();
    expect(await runExport(e.config, { format: 'csv', profile: 'default', since: new Date(NOW - 100 * DAY).toISOString() }, { io: def.io })).toBe(0);
    expect(def.out().trim().split('\n')).toHaveLength(3); // the header, and the two default records of 40 days (one of them of no profile)
    // A profile removed from the configuration: its records are still listed, with a note.
    const removed = captureIo();
    expect(await runList(e.config, { profile: 'spring-sale', json: true }, { io: removed.io })).toBe(0);
    expect(ids(JSON.parse(removed.out()) as StoredRecord[])).toEqual(of('spring-sale'));
    expect(removed.err()).toContain('profile spring-sale is not in the configuration');
    const accepted = captureIo();
    expect(await runList(e.config, { profile: 'bank', outcome: 'accepted', json: true }, { io: accepted.io })).toBe(0);
    expect((JSON.parse(accepted.out()) as StoredRecord[]).map((r) => r.uniqueId)).toEqual([gone[3]?.uniqueId]);

    const bad = await cli(e, ['list', '--profile', 'no such']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--profile: "no such" is not a profile name');
    const viaCli = await cli(e, ['export', '--format', 'jsonl', '--profile', 'bank']);
    expect(viaCli.code).toBe(0);
    expect(ids(parseJsonl(viaCli.stdout))).toEqual(of('bank'));
  }, 120000);

  test("When a caller with records in two profiles is erased, then every one of them is, and another caller's stay", async () => {
    const e = env();
    const number = '0668000000';
    const theirs = [call(e, 1, 'bank', 3, { file: 'bank.wav', number }), call(e, 2, 'default', 2, { file: 'default.wav', number }), call(e, 3, null, 1, { number })];
    const other = call(e, 4, 'bank', 2, { file: 'other.wav' });
    await seed(e, [...theirs, other]);
    const c = captureIo();
    expect(await runErase(e.config, { caller: number }, { io: c.io })).toBe(0);
    expect(c.out()).toContain('erased 3 record(s) of this caller; 2 recording file(s) confirmed deleted');
    const stored = new Map((await storedRecords(e)).map((r) => [r.uniqueId, r]));
    for (const t of theirs) expect(stored.get(t.uniqueId)).toMatchObject({ callerPseudonym: '', profile: t.profile, erasedAt: expect.any(String) });
    expect(stored.get(other.uniqueId)).toEqual({ ...other, erasedAt: null });
    expect(existsSync(join(e.recordings, 'bank.wav'))).toBe(false);
    expect(existsSync(join(e.recordings, 'default.wav'))).toBe(false);
    expect(existsSync(join(e.recordings, 'other.wav'))).toBe(true);
    expect(await runVerify(e.config, {}, { io: captureIo().io })).toBe(0);
  }, 120000);
});
