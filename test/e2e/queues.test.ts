/**
 * Poisoned queues, on a real Redis of this file's own and the sandbox's Asterisk: a malformed entry
 * (bad JSON, wrong shape) in front of valid ones in the recording deletions, the recordings waiting for
 * their seal and the AstDB withdrawal queue, and a call whose record cannot be read in front of the
 * others. Each time a real service instance does the valid work behind it, reports the bad entry once
 * at error level with its key and field (escaped), and counts it in
 * consent_ivr_queue_entries_malformed_total{queue}; `ledger pending` lists the valid deletions and
 * names the bad ones.
 *
 * And UNIQUEIDs with a system name (asterisk.conf systemname, "pbx1-1764496800.7"). The sandbox's
 * Asterisk is shared by every checkout and test run, and its systemname can only be changed in its
 * asterisk.conf with a restart, so it keeps none: the system-name UNIQUEIDs are written directly where
 * Asterisk would put them — the withdrawal queue through AMI DBPut, the ledger's records — and the
 * control API is asked about them over HTTP, against a running service.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { logKeys, sharedKeys } from '../../src/adapters/redis/keys';
import { AstDbMidCallQueue, WITHDRAWAL_FAMILY } from '../../src/midcall/astdb-queue';
import { createLedger } from '../../src/service/ledger';
import { runPending } from '../../src/cli/retention-commands';
import type { CliIO } from '../../src/cli/toolkit';
import type { Config } from '../../src/config/schema';
import { createLogger } from '../../src/observability/logger';
import type { ConsentRecord } from '../../src/ports/ledger';
import { testConfig, testRecord, testRecording } from '../support/records';
import { asteriskCli, eventually, RedisServer, sandbox, startApp, TestAmi, type RunningApp } from '../support';

const PREFIX = 'queues-test:';
const SERVER = 'srv-q';
const shared = sharedKeys(PREFIX);

let redis: RedisServer;
let raw: Redis;
let work: string;
let dir: string;
let ami: TestAmi;

/** The CLI's and the seeding's configuration: this file's Redis, this server, `log` as the instance's log. */
function configFor(log?: string): Config {
  return testConfig(
    {
      server: { id: SERVER },
      redis: { url: redis.url, keyPrefix: PREFIX, writeTimeoutMs: 2000 },
      ledger: { journalPath: join(work, `journal-${randomUUID().slice(0, 8)}.jsonl`), ...(log ? { log } : {}) },
      recording: { dir },
    },
    work,
  );
}

const serviceEnv = {
  CONSENT_IVR_REDIS_KEY_PREFIX: PREFIX,
  CONSENT_IVR_SERVER_ID: SERVER,
  CONSENT_IVR_SERVER_DELETION_POLL_MS: '300',
  CONSENT_IVR_RECORDING_SEAL_POLL_MS: '300',
  CONSENT_IVR_WITHDRAWAL_POLL_MS: '300',
};
const start = (name?: string) => startApp({ ...serviceEnv, CONSENT_IVR_REDIS_URL: redis.url, CONSENT_IVR_RECORDING_DIR: dir }, name);

/** A closed WAV file of one second (8 kHz, 16 bit, mono): what MixMonitor leaves once done. */
function writeWav(path: string): string {
  const data = Buffer.alloc(16000);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, Buffer.concat([h, data]));
  return path;
}

/** A recorded call of this server, entered a minute ago, its file in the recording folder. */
function recorded(uniqueId: string, over: Partial<ConsentRecord> = {}): ConsentRecord {
  const at = (ms: number) => new Date(Date.now() - 60_000 + ms).toISOString();
  return testRecord({
    uniqueId,
    enteredAt: at(0),
    noticeStartedAt: at(100),
    decidedAt: at(4000),
    recording: testRecording(writeWav(join(dir, '2026', '11', '30', `${uniqueId}.wav`)), SERVER, at(4100)),
    ...over,
  });
}

/** Stores records in the instance log `log`, as a service would have. */
async function seed(log: string, records: ConsentRecord[]): Promise<void> {
  const quiet = createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));
  const ledger = await createLedger(configFor(log), quiet);
  try {
    await new Promise<void>((ready) => ledger.onReady(ready));
    for (const r of records) expect(await ledger.ledger.recordOutcome(r)).toBe('redis');
  } finally {
    await ledger.close();
  }
}

async function storedRecord(log: string, uniqueId: string): Promise<Record<string, unknown> | null> {
  const json = await raw.hget(logKeys(PREFIX, log).record(uniqueId), 'record');
  return json ? (JSON.parse(json) as Record<string, unknown>) : null;
}

function capture(): { io: CliIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) => ({ write: (s: string) => (add(s), true), once: () => undefined, isTTY: false });
  return { io: { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) }, out: () => out, err: () => err };
}

/** The error lines of a service that set a queue entry apart. */
const setApart = (app: RunningApp, queue: string) => app.lines.filter((l) => l.level === 'error' && l.queue === queue);

beforeAll(async () => {
  sandbox();
  redis = await RedisServer.start();
  raw = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  work = mkdtempSync(join(tmpdir(), 'civr-queues-'));
  dir = join(work, 'rec');
  mkdirSync(dir);
  ami = await new TestAmi().start();
}, 30000);

afterAll(async () => {
  ami?.close();
  raw?.disconnect();
  await redis?.destroy();
  rmSync(work, { recursive: true, force: true });
});

describe('a malformed entry holds up nothing behind it', () => {
  test('When the deletion queue holds bad JSON, a wrong-shaped entry and a hostile field in front of valid deletions, then `ledger pending` lists the valid ones and names the others, the service deletes and confirms the valid ones, and counts and logs each bad one once', async () => {
    const key = shared.deletions(SERVER);
    const files = ['1796032800.11', '1796032800.12'].map((id) => writeWav(join(dir, 'del', `${id}.wav`)));
    await raw.sadd(shared.deletionServers, SERVER);
    // Redis gives a hash back in an order of its own: wherever the bad entries fall, nothing waits behind them.
    await raw.hset(key, 'x', 'not json');
    await raw.hset(key, '1796032800.10', JSON.stringify({ uniqueId: '1796032800.10', path: '/etc/passwd', reason: 'erase' }));
    await raw.hset(key, 'evil\r\n{"level":"info","message":"forged"}', '{}');
    for (const [i, path] of files.entries()) {
      const uniqueId = `1796032800.1${i + 1}`;
      await raw.hset(key, uniqueId, JSON.stringify({ uniqueId, path, reason: 'erase', requestedAt: Date.now() - 60_000 }));
    }

    const before = capture();
    expect(await runPending(configFor(), { json: true }, { io: before.io })).toBe(1);
    const listed = JSON.parse(before.out()) as { server: string; count: number; deletions: { uniqueId: string }[]; malformed: { key: string; field: string; problem: string }[] }[];
    for (const s of listed) s.malformed.sort((a, b) => (a.field < b.field ? -1 : 1));
    expect(listed).toEqual([
      expect.objectContaining({
        server: SERVER,
        count: 2,
        deletions: [expect.objectContaining({ uniqueId: '1796032800.11' }), expect.objectContaining({ uniqueId: '1796032800.12' })],
        malformed: [
          { key, field: '1796032800.10', problem: 'requestedAt is not a time' },
          { key, field: 'evil\r\n{"level":"info","message":"forged"}', problem: 'uniqueId is not a call id' },
          { key, field: 'x', problem: 'not JSON' },
        ],
      }),
    ]);
    const text = capture();
    expect(await runPending(configFor(), {}, { io: text.io })).toBe(1);
    expect(text.out()).toContain(`${SERVER}: 2 deletion(s) waiting`);
    expect(text.err()).toContain(`malformed deletions entry, set apart (it holds up nothing; remove or fix it): key ${key} field x: not JSON`);
    expect(text.err()).toContain('field evil\\u000d\\u000a{"level":"info","message":"forged"}: uniqueId is not a call id');

    const app = await start();
    try {
      await eventually(async () => (await raw.hlen(shared.deletionsDone)) === 2 && true, 20000, 'the valid deletions to be confirmed');
      expect(files.map((f) => existsSync(f))).toEqual([false, false]);
      expect(existsSync('/etc/passwd')).toBe(true);
      expect((await raw.hkeys(key)).sort()).toEqual(['1796032800.10', 'evil\r\n{"level":"info","message":"forged"}', 'x']);
      // The gauges still come, and the bad entries are counted once each however many passes meet them.
      await eventually(async () => /consent_ivr_recording_deletions_pending\{server="srv-q"\} 0/.test((await app.http('/metrics')).body), 20000, 'the pending gauge at 0');
      expect(await app.metric('consent_ivr_queue_entries_malformed_total', { queue: 'deletions' })).toBe(3);
      const lines = setApart(app, 'deletions');
      expect(lines.map((l) => l.field).sort()).toEqual(['1796032800.10', 'evil\\u000d\\u000a{"level":"info","message":"forged"}', 'x']);
      expect(lines.every((l) => l.key === key)).toBe(true);
      expect(app.lines.some((l) => l.message === 'forged')).toBe(false);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  }, 90000);

  test('When the recordings waiting for their seal hold bad entries and a call whose record cannot be read, then after a restart the valid ones are sealed all the same, and the bad ones are counted and logged', async () => {
    const name = `civr-${randomUUID().slice(0, 8)}`;
    const good = recorded('1796032800.21');
    const unreadable = recorded('1796032800.20');
    await seed(name, [good, unreadable]);
    await raw.hset(logKeys(PREFIX, name).record(unreadable.uniqueId), 'record', 'not json');
    const key = shared.unsealed(SERVER);
    await raw.hset(key, 'x', 'not json');
    await raw.hset(key, '1796032800.29', JSON.stringify({ uniqueId: '1796032800.29', log: name, path: '/etc/passwd' }));
    // The unreadable record's recording first (the oldest: the sealer takes them oldest first), then the good one.
    for (const [r, sinceMs] of [[unreadable, 1000], [good, 2000]] as const) {
      await raw.hset(key, r.uniqueId, JSON.stringify({ uniqueId: r.uniqueId, log: name, path: r.recording?.file?.path, sinceMs }));
    }

    const app = await start(name);
    try {
      const chain = logKeys(PREFIX, name).chain;
      const seals = async () =>
        (await raw.xrange(chain, '-', '+'))
          .map(([, f]) => JSON.parse(String(f[f.indexOf('body') + 1])) as { type: string; uniqueId?: string })
          .filter((b) => b.type === 'seal')
          .map((b) => b.uniqueId);
      expect((await eventually(async () => ((await seals()).length === 2 ? seals() : false), 20000, 'both recordings sealed')).sort()).toEqual([unreadable.uniqueId, good.uniqueId]);
      expect((await raw.hkeys(key)).sort()).toEqual(['1796032800.29', 'x']);
      expect(await app.metric('consent_ivr_queue_entries_malformed_total', { queue: 'unsealed' })).toBe(3);
      expect(setApart(app, 'unsealed').map((l) => [l.key, l.field ?? null, l.problem])).toEqual(
        expect.arrayContaining([
          [key, 'x', 'not JSON'],
          [key, '1796032800.29', 'sinceMs is not a time'],
          [unreadable.uniqueId, null, expect.stringContaining("the call's record cannot be read")],
        ]),
      );
    } finally {
      expect(await app.stop()).toBe(0);
    }
  }, 90000);

  test('When the AstDB withdrawal queue holds an entry the dialplan does not write and one whose record cannot be read, then the withdrawal behind them — a UNIQUEID with a system name — is stored and its entry removed; the others stay, counted once', async () => {
    const name = `civr-${randomUUID().slice(0, 8)}`;
    const family = `${WITHDRAWAL_FAMILY}/${name}`;
    const corrupt = recorded('1796032800.31');
    const named = recorded('pbx1-1796032800.32');
    await seed(name, [corrupt, named]);
    await raw.hset(logKeys(PREFIX, name).record(corrupt.uniqueId), 'record', '{"uniqueId": ');
    const at = (Date.now() / 1000 - 5).toFixed(3);
    // AstDB gives them back by key: the bad ones first.
    await ami.action('DBPut', { Family: family, Key: '1796032800.30', Val: 'garbage' });
    await ami.action('DBPut', { Family: family, Key: corrupt.uniqueId, Val: `${at}|caller` });
    await ami.action('DBPut', { Family: family, Key: named.uniqueId, Val: `${at}|caller` });
    const queued = (k: string) => asteriskCli(`database get ${family} ${k}`).includes('Value:');

    const app = await start(name);
    try {
      await eventually(async () => ((await storedRecord(name, named.uniqueId))?.withdrawnAt ?? null) !== null, 20000, 'the withdrawal of the system-name call');
      expect(await storedRecord(name, named.uniqueId)).toMatchObject({ withdrawnBy: 'caller', withdrawalRecording: 'deleted', recordingPath: null });
      expect(existsSync(named.recording?.file?.path as string)).toBe(false);
      await eventually(() => !queued(named.uniqueId), 20000, 'its AstDB entry to go');
      expect([queued('1796032800.30'), queued(corrupt.uniqueId)]).toEqual([true, true]);
      expect(existsSync(corrupt.recording?.file?.path as string)).toBe(true);
      expect(await app.metric('consent_ivr_queue_entries_malformed_total', { queue: 'withdrawals' })).toBe(2);
      expect(setApart(app, 'withdrawals').map((l) => l.key)).toEqual([`/${family}/1796032800.30`, corrupt.uniqueId]);
    } finally {
      expect(await app.stop()).toBe(0);
      await ami.action('DBDelTree', { Family: family }).catch(() => undefined);
    }
  }, 90000);
});

describe('UNIQUEIDs with a system name', () => {
  test('When a CRM asks the control API about calls whose UNIQUEIDs carry a system name, then it answers about them (not "not found"), under the same rules as any call', async () => {
    const name = `civr-${randomUUID().slice(0, 8)}`;
    const calls = [recorded('pbx1-1796032800.41'), recorded('pbx-2.site_b-1796032800.42', { outcome: 'refused', digit: '2', recording: null })];
    await seed(name, calls);
    const app = await start(name);
    try {
      const port = (await app.waitForLog((l) => l.message === 'api listening', 5000, 'the API listener')).port as number;
      const token = readFileSync(sandbox().api.tokenFile, 'utf8').trim();
      const api = async (method: string, path: string) => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      expect(await api('GET', '/calls/pbx1-1796032800.41')).toEqual({ status: 200, body: expect.objectContaining({ uniqueId: 'pbx1-1796032800.41', outcome: 'accepted', recorded: true, callUp: false }) });
      expect(await api('GET', '/calls/pbx-2.site_b-1796032800.42')).toMatchObject({ status: 200, body: { outcome: 'refused', recorded: false } });
      // The call has ended: the API says so (it would say "not found" to a path it does not route).
      expect(await api('POST', '/calls/pbx1-1796032800.41/pause')).toMatchObject({ status: 410, body: { error: 'the call has ended' } });
      expect(await api('GET', '/calls/pbx9-1796032800.49')).toMatchObject({ status: 404, body: { error: 'no consent record for this call' } });
      // What is not a UNIQUEID still reaches nothing.
      for (const path of ['/calls/pbx%2F1-1796032800.41', '/calls/..-1796032800.41', '/calls/pbx 1-1796032800.41', `/calls/${'a'.repeat(65)}-1796032800.41`]) {
        expect(await api('GET', path)).toMatchObject({ status: 404, body: { error: expect.stringContaining('not found: use /calls/<uniqueid>') } });
      }
    } finally {
      expect(await app.stop()).toBe(0);
    }
  }, 60000);
});

describe('the AstDB withdrawal queue', () => {
  test('When a request is taken off the queue twice (the control API and the queue\'s pass both finished it), then the second removal is no error and the queue is empty', async () => {
    const name = `civr-${randomUUID().slice(0, 8)}`;
    const queue = new AstDbMidCallQueue(ami.conn, name);
    const item = { kind: 'withdrawal', key: '1796032800.40', uniqueId: '1796032800.40', at: new Date(1796032805250), by: 'agent' } as const;
    try {
      await queue.put(item);
      expect((await queue.pending()).items).toEqual([item]);
      await queue.remove(item);
      await expect(queue.remove(item)).resolves.toBeUndefined();
      expect(await queue.pending()).toEqual({ items: [], unreadable: [] });
    } finally {
      await ami.action('DBDelTree', { Family: `${WITHDRAWAL_FAMILY}/${name}` }).catch(() => undefined);
    }
  }, 30000);
});
