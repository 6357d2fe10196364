/**
 * Several Asterisk servers on one ledger: erasure and retention reach the recordings on every
 * server. Server A runs `ledger erase` and `ledger purge`; the recordings that server B holds are
 * queued for B, whose service deletes them and confirms; the records are finalised only after that.
 * A Redis of this file's own, records of calls recorded on A and on B (files in each server's
 * recording folder), and real service instances for the two servers.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { runErase, runPending, runPurge } from '../../src/cli/retention-commands';
import type { CliIO } from '../../src/cli/toolkit';
import type { Config } from '../../src/config/schema';
import { createLedger } from '../../src/service/ledger';
import { pseudonymise } from '../../src/ledger';
import { createLogger } from '../../src/observability/logger';
import type { ConsentRecord } from '../../src/ports/ledger';
import { TEST_PSEUDONYM_KEY as KEY, testConfig, testRecord, testRecording } from '../support/records';
import { RedisServer, eventually, placeCall, RunningApp, sandbox, startApp, TestAmi, waitChannelsGone } from '../support';

const DAY = 86_400_000;
const PREFIX = 'servers-test:';
const CALLER = '+212600000777';

let redis: RedisServer;
let raw: Redis;
let work: string;
const dirs: Record<'a' | 'b', string> = { a: '', b: '' };

function configFor(server: 'a' | 'b'): Config {
  return testConfig(
    {
      server: { id: `srv-${server}` },
      redis: { url: redis.url, keyPrefix: PREFIX, writeTimeoutMs: 2000 },
      ledger: { journalPath: join(work, `journal-${server}.jsonl`) },
      recording: { dir: dirs[server] },
    },
    work,
  );
}

function capture(): { io: CliIO; out: () => string } {
  let out = '';
  const sink = { write: (s: string) => ((out += s), true), once: () => undefined, isTTY: false };
  return { io: { stdout: sink, stderr: sink }, out: () => out };
}

/** A record of a call recorded on `server`, its file written there unless `missing`. */
function call(i: number, server: 'a' | 'b', enteredMs: number, opts: { missing?: boolean; caller?: string } = {}): ConsentRecord {
  const iso = (ms: number) => new Date(ms).toISOString();
  const uniqueId = `${Math.floor(enteredMs / 1000)}.${i}`;
  const path = join(dirs[server], '2026', '11', '30', `${uniqueId}.wav`);
  if (!opts.missing) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, 'RIFF');
  }
  return testRecord({
    uniqueId,
    callerPseudonym: pseudonymise(opts.caller ?? CALLER, KEY),
    calledNumber: '0522000000',
    outcome: 'accepted',
    digit: '1',
    language: 'fr',
    attempts: 1,
    enteredAt: iso(enteredMs),
    noticeStartedAt: iso(enteredMs + 100),
    decidedAt: iso(enteredMs + 4000),
    recording: testRecording(path, `srv-${server}`, iso(enteredMs + 4100)),
  });
}

/** A call's stored record, in whichever log (instance) holds it. */
async function stored(uniqueId: string): Promise<Record<string, unknown> | null> {
  for (const key of await raw.keys(`${PREFIX}{ledger*:rec:${uniqueId}`)) {
    const json = await raw.hget(key, 'record');
    if (json) return JSON.parse(json) as Record<string, unknown>;
  }
  return null;
}

/** The bodies of every log's entries. */
async function allBodies(): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const key of await raw.keys(`${PREFIX}{ledger*:chain`)) {
    for (const [, fields] of await raw.xrange(key, '-', '+')) out.push(JSON.parse(String(fields[fields.indexOf('body') + 1])) as Record<string, unknown>);
  }
  return out;
}

async function pending(): Promise<{ server: string; count: number; oldestAgeMs: number | null }[]> {
  const c = capture();
  expect(await runPending(configFor('a'), { json: true }, { io: c.io })).toBe(0);
  return JSON.parse(c.out()) as { server: string; count: number; oldestAgeMs: number | null }[];
}

const serviceEnv = (server: 'a' | 'b') => ({
  CONSENT_IVR_REDIS_URL: redis.url,
  CONSENT_IVR_REDIS_KEY_PREFIX: PREFIX,
  CONSENT_IVR_SERVER_ID: `srv-${server}`,
  CONSENT_IVR_RECORDING_DIR: dirs[server],
  CONSENT_IVR_SERVER_DELETION_POLL_MS: '300',
});

beforeAll(async () => {
  sandbox();
  redis = await RedisServer.start();
  raw = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  work = mkdtempSync(join(tmpdir(), 'civr-servers-'));
  dirs.a = join(work, 'rec-a');
  dirs.b = join(work, 'rec-b');
  mkdirSync(dirs.a);
  mkdirSync(dirs.b);
}, 30000);

afterAll(async () => {
  raw?.disconnect();
  await redis?.destroy();
  rmSync(work, { recursive: true, force: true });
});

describe('two servers, one ledger', () => {
  test('When server A erases a caller and purges, then B\'s recordings wait for B, B deletes them once up, and only then are the records finalised', async () => {
    const now = Date.now();
    const recent = [call(1, 'a', now - 60_000), call(2, 'b', now - 50_000), call(3, 'b', now - 40_000, { missing: true })];
    const other = { caller: '+212600000888' };
    const old = [call(4, 'a', now - 200 * DAY, other), call(5, 'b', now - 199 * DAY, other)];
    const quiet = createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));
    const seeding = await createLedger(configFor('a'), quiet);
    for (const r of [...recent, ...old]) await seeding.ledger.recordOutcome(r);
    await seeding.close();
    const [a1, b2, b3] = recent as [ConsentRecord, ConsentRecord, ConsentRecord];
    const [a4, b5] = old as [ConsentRecord, ConsentRecord];

    // Server A's service runs; B's is down.
    const appA = await startApp(serviceEnv('a'));
    let appB: RunningApp | null = null;
    try {
      // Erase from A: A's recording goes now; B's two wait for B, and their records stay as they are.
      const erase = capture();
      expect(await runErase(configFor('a'), { caller: CALLER }, { io: erase.io })).toBe(0);
      expect(erase.out()).toContain('erased 1 record(s) of this caller; 1 recording file(s) confirmed deleted');
      expect(erase.out()).toContain('2 record(s) not erased yet: their recordings wait to be deleted by the server that holds them: srv-b (2)');
      expect(existsSync(a1.recording?.file?.path as string)).toBe(false);
      expect(await stored(a1.uniqueId)).toMatchObject({ erasedAt: expect.any(String), recordingPath: null });
      expect(existsSync(b2.recording?.file?.path as string)).toBe(true);
      expect(await stored(b2.uniqueId)).toMatchObject({ erasedAt: null, recordingPath: b2.recording?.file?.path });

      // Purge from A: A's old record goes; B's old one is kept until B confirms.
      const purge = capture();
      expect(await runPurge(configFor('a'), { io: purge.io })).toBe(0);
      expect(purge.out()).toContain('purge: 1 record(s) entered before');
      expect(purge.out()).toContain('1 record(s) kept: their recordings wait to be deleted by the server that holds them: srv-b (1)');
      expect(await stored(a4.uniqueId)).toBeNull();
      expect(existsSync(a4.recording?.file?.path as string)).toBe(false);
      expect(await stored(b5.uniqueId)).not.toBeNull();

      // Nothing is lost while B is down: its deletions wait, listed per server and exported by A's /metrics.
      expect(await pending()).toEqual([expect.objectContaining({ server: 'srv-b', count: 3, oldestAgeMs: expect.any(Number) })]);
      const metrics = await eventually(
        async () => {
          const text = (await appA.http('/metrics')).body;
          return /consent_ivr_recording_deletions_pending\{server="srv-b"\} 3/.test(text) && text;
        },
        20000,
        'the pending deletions in /metrics',
      );
      expect(metrics).toMatch(/consent_ivr_recording_deletion_oldest_seconds\{server="srv-b"\} \d/);
      expect(existsSync(b2.recording?.file?.path as string)).toBe(true);

      // B comes up: its service deletes its files and confirms; the missing one is confirmed as missing.
      appB = await startApp(serviceEnv('b'));
      await eventually(async () => (await pending()).every((s) => s.count === 0), 20000, 'B to do its deletions');
      expect(existsSync(b2.recording?.file?.path as string)).toBe(false);
      expect(existsSync(b5.recording?.file?.path as string)).toBe(false);
      expect(appB.lines.some((l) => l.call === b3.uniqueId && l.message === 'queued recording deletion: the file was already missing')).toBe(true);
      // Still not finalised: that is the next erase or purge's work (the daily timer), from any host.
      expect(await stored(b2.uniqueId)).toMatchObject({ erasedAt: null });

      const again = capture();
      expect(await runPurge(configFor('a'), { io: again.io })).toBe(0);
      expect(again.out()).not.toContain('wait to be deleted');
      expect(await stored(b5.uniqueId)).toBeNull();
      expect(await stored(b2.uniqueId)).toMatchObject({ erasedAt: expect.any(String), recordingPath: null, recordingServer: null });
      expect(await stored(b3.uniqueId)).toMatchObject({ erasedAt: expect.any(String) });
      // The ledger says which server confirmed, and that B's third file was already missing.
      const bodies = await allBodies();
      expect(bodies.find((b) => b.type === 'erasure' && b.uniqueId === b2.uniqueId)).toMatchObject({ recording: 'deleted', confirmedBy: 'srv-b' });
      expect(bodies.find((b) => b.type === 'erasure' && b.uniqueId === b3.uniqueId)).toMatchObject({ recording: 'already-missing', confirmedBy: 'srv-b' });
      expect(bodies.find((b) => b.type === 'erasure' && b.uniqueId === a1.uniqueId)).toMatchObject({ recording: 'deleted' });
      expect(await raw.hlen(`${PREFIX}{ledger}:deletions-done`)).toBe(0);
    } finally {
      expect(await appA.stop()).toBe(0);
      if (appB) expect(await appB.stop()).toBe(0);
    }
  }, 90000);

  test('When each server records a call of the same caller, then each record names its server, and an erase from A reaches B\'s recording through B\'s service', async () => {
    // Recording folders that the sandbox's Asterisk writes to (inside its recordings mount), one per server.
    const base = mkdtempSync(join(sandbox().recordingsDir, 'servers-'));
    const real = { a: join(base, 'a'), b: join(base, 'b') };
    mkdirSync(real.a);
    mkdirSync(real.b);
    const env = (server: 'a' | 'b') => ({ ...serviceEnv(server), CONSENT_IVR_RECORDING_DIR: real[server] });
    const caller = '+212600000999';
    const ami = new TestAmi();
    await ami.start();
    const [appA, appB] = await Promise.all([startApp(env('a')), startApp(env('b'))]);
    try {
      const calls = await Promise.all([appA, appB].map((app) => placeCall(ami, { app: app.name, w1: 1.5, k1: '1', talk: 8, callerNum: caller })));
      const results = await Promise.all(calls.map((c) => c.result));
      expect(results.map((r) => r.result)).toEqual(['accepted', 'accepted']);
      const [ua, ub] = results.map((r) => r.id as string) as [string, string];
      expect(await waitChannelsGone([ua, ub], 30000)).toEqual([]);
      expect(await stored(ua)).toMatchObject({ recordingServer: 'srv-a', recordingPath: results[0]?.recording });
      expect(await stored(ub)).toMatchObject({ recordingServer: 'srv-b', recordingPath: results[1]?.recording });
      expect(existsSync(results[1]?.recording as string)).toBe(true);

      // The services pseudonymise with the sandbox's key: the erase must use the same.
      const sandboxKey = readFileSync(join(sandbox().stateDir, 'secrets', 'pseudonym-key'), 'utf8').trim();
      const cfgA = { ...configFor('a'), recording: { ...configFor('a').recording, dir: real.a }, secrets: { ...configFor('a').secrets, pseudonymKey: sandboxKey } };
      const first = capture();
      expect(await runErase(cfgA, { caller }, { io: first.io })).toBe(0);
      expect(first.out()).toContain('1 record(s) not erased yet: their recordings wait to be deleted by the server that holds them: srv-b (1)');
      expect(existsSync(results[0]?.recording as string)).toBe(false);
      // B's service takes its deletion off the queue and deletes the file.
      await eventually(() => !existsSync(results[1]?.recording as string), 20000, 'B to delete its recording');
      await eventually(async () => (await pending()).every((s) => s.count === 0), 20000, 'B to confirm');
      const second = capture();
      expect(await runErase(cfgA, { caller }, { io: second.io })).toBe(0);
      expect(second.out()).toContain('erased 1 record(s) of this caller; 1 recording file(s) confirmed deleted');
      expect(await stored(ub)).toMatchObject({ erasedAt: expect.any(String), recordingPath: null });
    } finally {
      ami.close();
      expect(await Promise.all([appA.stop(), appB.stop()])).toEqual([0, 0]);
      rmSync(base, { recursive: true, force: true });
    }
  }, 120000);
});
