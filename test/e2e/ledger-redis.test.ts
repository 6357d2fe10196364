/**
 * The consent ledger against a real Redis: each test file starts its own redis-server on a free port in a
 * temporary folder (never the shared sandbox's), so it can stop and restart it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { eventually, freePort, RedisServer } from '../support';
import type { Config } from '../../src/config/schema';
import { createLedger } from '../../src/service/ledger';
import { parseStoredRecord, pseudonymise } from '../../src/ledger';
import { RECORD_FIELDS } from '../../src/ledger/record-fields';
import { createLogger } from '../../src/observability/logger';
import type { ConsentRecord } from '../../src/ports/ledger';
import type { Outcome } from '../../src/call/flow/types';
import { TEST_PSEUDONYM_KEY as KEY, testConfig, testRecord, testRecording } from '../support/records';

// ------------------------------------------------------------------------------------------ helpers


function makeConfig(o: { url: string; prefix: string; dir: string; writeTimeoutMs?: number; retentionDays?: number }): Config {
  return testConfig(
    {
      redis: { url: o.url, keyPrefix: o.prefix, writeTimeoutMs: o.writeTimeoutMs ?? 300, commandTimeoutMs: 1000, connectTimeoutMs: 1000, reconnectMaxDelayMs: 200 },
      ledger: { log: 'main', journalPath: join(o.dir, 'journal', 'ledger.jsonl'), replayIntervalMs: 200, retentionDays: o.retentionDays ?? 180 },
      recording: { dir: join(o.dir, 'recordings') },
    },
    o.dir,
  );
}

/** Log lines captured in memory. */
function captureLogs(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', format: 'json' }, stream), text: () => lines.join('') };
}

const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function record(i: number, outcome: Outcome, over: Partial<ConsentRecord> = {}, number = `06${String(10000000 + i).slice(-8)}`): ConsentRecord {
  const entered = T0 + i * 1000;
  const accepted = outcome === 'accepted';
  const decided = outcome === 'accepted' || outcome === 'refused' || outcome === 'no-input';
  return testRecord({
    uniqueId: `1740823200.${i}`,
    callerPseudonym: pseudonymise(number, KEY),
    calledNumber: '+212522000000',
    outcome,
    digit: outcome === 'accepted' ? '1' : outcome === 'refused' ? '2' : null,
    language: decided ? (i % 2 ? 'fr' : 'ar') : null,
    attempts: outcome === 'no-input' ? 3 : 1,
    enteredAt: iso(entered),
    noticeStartedAt: outcome === 'error' ? null : iso(entered + 200),
    decidedAt: decided ? iso(entered + 5000) : null,
    recording: accepted ? testRecording(`/var/spool/asterisk/recording/consent-${i}.wav`, null, iso(entered + 5300)) : null,
    noticeVersion: 'v1-abcdef',
    ...over,
  });
}

/** Every key and every value stored under a prefix, as text. */
async function dumpAll(r: Redis): Promise<string> {
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) {
      parts.push(k);
      const type = await r.type(k);
      if (type === 'string') parts.push(String(await r.get(k)));
      else if (type === 'hash') parts.push(JSON.stringify(await r.hgetall(k)));
      else if (type === 'zset') parts.push(JSON.stringify(await r.zrange(k, '0', '-1', 'WITHSCORES')));
      else if (type === 'set') parts.push(JSON.stringify(await r.smembers(k)));
      else if (type === 'stream') parts.push(JSON.stringify(await r.xrange(k, '-', '+')));
      else parts.push(`(${type})`);
    }
  } while (cursor !== '0');
  return parts.join('\n');
}

async function chainBodies(r: Redis, prefix: string): Promise<{ type: string; uniqueId?: string }[]> {
  const entries = await r.xrange(`${prefix}{ledger:main}:chain`, '-', '+');
  return entries.map(([, f]) => JSON.parse(f[f.indexOf('body') + 1] as string) as { type: string; uniqueId?: string });
}

// -------------------------------------------------------------------------------------------- tests

let server: RedisServer;
let raw: Redis;
let work: string;
let n = 0;
const prefix = () => `t${++n}-${process.pid}:`;

beforeAll(async () => {
  server = await RedisServer.start();
  raw = new Redis({ port: server.port, maxRetriesPerRequest: 1 });
  raw.on('error', () => undefined);
  work = mkdtempSync(join(tmpdir(), 'civr-ledger-'));
});

afterAll(async () => {
  raw.disconnect();
  await server.destroy();
  rmSync(work, { recursive: true, force: true });
});

function dirFor(p: string): string {
  const d = join(work, p.replace(/[^a-z0-9]/gi, ''));
  mkdirSync(join(d, 'recordings'), { recursive: true });
  return d;
}

describe('ledger writes to Redis', () => {
  const outcomes: Outcome[] = ['accepted', 'refused', 'no-input', 'abandoned', 'unavailable', 'error'];

  test.each(outcomes)('When a call ends %s, then its record holds every field and the chain logs each event', async (outcome) => {
    const p = prefix();
    const cfg = makeConfig({ url: server.url, prefix: p, dir: dirFor(p) });
    const { logger } = captureLogs();
    const h = await createLedger(cfg, logger);
    await eventually(() => h.state() === 'up', 5000, 'ledger up');
    // As the service writes it: in a profile (a record without one, made before profiles, stores no profile field).
    const r = record(7, outcome, { profile: 'default' });
    const decided = outcome === 'accepted' || outcome === 'refused' || outcome === 'no-input';
    if (decided) await expect(h.ledger.recordDecision({ ...r, recording: null })).resolves.toBe('redis');
    await expect(h.ledger.recordOutcome(r)).resolves.toBe('redis');
    await h.close();

    const stored = await raw.hgetall(`${p}{ledger:main}:rec:${r.uniqueId}`);
    const json = JSON.parse(String(stored.record)) as Record<string, unknown>;
    expect(parseStoredRecord(String(stored.record))).toEqual({ ...r, erasedAt: null });
    expect(Object.keys(json)).toEqual(RECORD_FIELDS);
    expect(Number(stored.stage)).toBe(2);
    const bodies = await chainBodies(raw, p);
    expect(bodies.map((b) => b.type)).toEqual(decided ? ['decision', 'outcome'] : ['outcome']);
    expect(bodies.every((b) => b.uniqueId === r.uniqueId)).toBe(true);
    expect(await raw.zscore(`${p}{ledger:main}:idx:entered`, r.uniqueId)).toBe(String(Date.parse(r.enteredAt)));
    expect(await raw.sismember(`${p}{ledger:main}:idx:caller:${r.callerPseudonym}`, r.uniqueId)).toBe(1);
  });

  test('When records are written through Redis and through the journal, then the raw caller number is in no key, value, journal line or log line', async () => {
    const p = prefix();
    const dir = dirFor(p);
    const cfg = makeConfig({ url: server.url, prefix: p, dir });
    const logs = captureLogs();
    const number = '0612345678';
    const h = await createLedger(cfg, logs.logger);
    await eventually(() => h.state() === 'up', 5000, 'ledger up');
    await h.ledger.recordDecision(record(1, 'accepted', {}, number));
    await h.ledger.recordOutcome(record(1, 'accepted', {}, number));
    // A write that goes to the journal (invalid one first: it must be refused without echoing data).
    await expect(h.ledger.recordOutcome({ ...record(2, 'refused'), callerPseudonym: number })).rejects.toThrow(/callerPseudonym/);
    await h.close();
    const cfgDown = makeConfig({ url: 'redis://127.0.0.1:1/0', prefix: p, dir });
    const h2 = await createLedger(cfgDown, logs.logger);
    await expect(h2.ledger.recordOutcome(record(3, 'refused', {}, number))).resolves.toBe('journal');
    await h2.close();

    const variants = [number, '+212612345678', '212612345678', '612345678'];
    const everything = [await dumpAll(raw), readFileSync(cfg.ledger.journalPath, 'utf8'), logs.text()].join('\n');
    expect(everything).toContain(pseudonymise(number, KEY)); // the dump did find the records
    for (const v of variants) expect(everything).not.toContain(v);
  });

  test('When Redis is stopped, then decisions go to the journal, and when it is back every record is present exactly once, even if replay runs twice', async () => {
    const p = prefix();
    const cfg = makeConfig({ url: server.url, prefix: p, dir: dirFor(p) });
    const { logger } = captureLogs();
    const h = await createLedger(cfg, logger);
    await eventually(() => h.state() === 'up', 5000, 'ledger up');
    for (let i = 0; i < 10; i++) expect(await h.ledger.recordOutcome(record(i, 'refused'))).toBe('redis');

    await server.down();
    const where: string[] = [];
    for (let i = 10; i < 40; i++) {
      where.push(await h.ledger.recordDecision({ ...record(i, 'accepted'), recording: null }));
      where.push(await h.ledger.recordOutcome(record(i, 'accepted')));
    }
    expect(new Set(where)).toEqual(new Set(['journal']));
    expect(h.state()).toBe('down');
    expect(h.journalBacklog()).toBe(60);
    const journalCopy = readFileSync(cfg.ledger.journalPath, 'utf8');

    await server.up();
    await eventually(() => h.durable['store'].isReady(), 10000, 'reconnect');
    // Replay triggered twice at once (besides the automatic one): one run, nothing doubled.
    const [r1, r2] = await Promise.all([h.durable.replay(), h.durable.replay()]);
    expect(r1).toBe(r2);
    await eventually(() => h.journalBacklog() === 0, 15000, 'replay');
    expect((await h.durable.replay()).replayed).toBe(0);
    expect(h.state()).toBe('up');
    await h.close();

    // A crash that lost the acknowledgements: the same journal is replayed again on the next start.
    writeFileSync(cfg.ledger.journalPath, journalCopy);
    const h2 = await createLedger(cfg, logger);
    expect(h2.journalBacklog()).toBe(60);
    await eventually(() => h2.journalBacklog() === 0, 15000, 'replay after restart');
    await h2.close();

    const bodies = await chainBodies(raw, p);
    expect(bodies).toHaveLength(10 + 60);
    const seen = new Map<string, number>();
    for (const b of bodies) seen.set(`${b.type}:${b.uniqueId}`, (seen.get(`${b.type}:${b.uniqueId}`) ?? 0) + 1);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    for (let i = 0; i < 40; i++) {
      const json = parseStoredRecord(String(await raw.hget(`${p}{ledger:main}:rec:${record(i, 'refused').uniqueId}`, 'record')));
      expect(json.outcome).toBe(i < 10 ? 'refused' : 'accepted');
      if (i >= 10) expect(json.recording).toEqual(record(i, 'accepted').recording); // the outcome, not the earlier decision
    }
    expect(await raw.zcard(`${p}{ledger:main}:idx:entered`)).toBe(40);
  });

  test('When Redis hangs mid-write, then the write goes to the journal after writeTimeoutMs and still lands exactly once', async () => {
    const p = prefix();
    const cfg = makeConfig({ url: server.url, prefix: p, dir: dirFor(p), writeTimeoutMs: 200 });
    const { logger } = captureLogs();
    const h = await createLedger(cfg, logger);
    await eventually(() => h.state() === 'up', 5000, 'ledger up');
    await h.ledger.recordOutcome(record(1, 'refused'));
    server.pause();
    try {
      const t = Date.now();
      const pending = [h.ledger.recordOutcome(record(2, 'accepted')), h.ledger.recordOutcome(record(3, 'refused'))];
      expect(await Promise.all(pending)).toEqual(['journal', 'journal']);
      const took = Date.now() - t;
      expect(took).toBeGreaterThanOrEqual(190);
      expect(took).toBeLessThan(1500);
    } finally {
      server.resume();
    }
    await eventually(() => h.journalBacklog() === 0, 15000, 'replay');
    await h.close();
    const bodies = await chainBodies(raw, p);
    expect(bodies.map((b) => b.uniqueId).sort()).toEqual([record(1, 'refused').uniqueId, record(2, 'refused').uniqueId, record(3, 'refused').uniqueId].sort());
  });

  test('When two instances append concurrently to one ledger, then the chain stays intact and every record is there', async () => {
    const p = prefix();
    const a = await createLedger(makeConfig({ url: server.url, prefix: p, dir: dirFor(`${p}a`) }), captureLogs().logger);
    const b = await createLedger(makeConfig({ url: server.url, prefix: p, dir: dirFor(`${p}b`) }), captureLogs().logger);
    await eventually(() => a.state() === 'up' && b.state() === 'up', 5000, 'both up');
    const writes: Promise<string>[] = [];
    for (let i = 0; i < 150; i++) {
      writes.push(a.ledger.recordOutcome(record(i, 'refused')));
      writes.push(b.ledger.recordOutcome(record(1000 + i, 'accepted')));
    }
    const where = await Promise.all(writes);
    await a.close();
    await b.close();
    expect(where.filter((w) => w === 'redis').length + where.filter((w) => w === 'journal').length).toBe(300);
    expect(await raw.zcard(`${p}{ledger:main}:idx:entered`)).toBe(300);
    const entries = await raw.xrange(`${p}{ledger:main}:chain`, '-', '+');
    expect(entries).toHaveLength(300);
    entries.forEach(([id], i) => expect(id).toBe(`${i + 1}-0`));
  });
});

describe('ledger through Redis Sentinel', () => {
  test('When redis.mode is sentinel, then the ledger finds the master through the sentinel and stores records there', async () => {
    const sport = await freePort();
    const sdir = mkdtempSync(join(tmpdir(), 'civr-sentinel-'));
    const conf = join(sdir, 'sentinel.conf');
    writeFileSync(conf, `port ${sport}\nbind 127.0.0.1\ndir ${sdir}\nsentinel monitor civr 127.0.0.1 ${server.port} 1\n`);
    const sentinel = spawn('/usr/bin/redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    try {
      const p = prefix();
      const base = makeConfig({ url: 'redis://ignored:6379/0', prefix: p, dir: dirFor(p) });
      const cfg: Config = { ...base, redis: { ...base.redis, mode: 'sentinel', sentinels: [`127.0.0.1:${sport}`], sentinelName: 'civr' } };
      const h = await createLedger(cfg, captureLogs().logger);
      await eventually(() => h.state() === 'up', 10000, 'ledger up through sentinel');
      await expect(h.ledger.recordOutcome(record(1, 'refused'))).resolves.toBe('redis');
      await h.close();
      expect(await raw.exists(`${p}{ledger:main}:rec:${record(1, 'refused').uniqueId}`)).toBe(1);
    } finally {
      const exited = once(sentinel, 'exit');
      sentinel.kill('SIGTERM');
      await exited;
      rmSync(sdir, { recursive: true, force: true });
    }
  });
});

describe('many writes at once', () => {
  test('When 400 decisions are stored at once, and 1,000 more are journaled at once while Redis is unreachable, then each lands in the chain exactly once and the replayed journal is compacted', async () => {
    const p = prefix();
    const h = await createLedger(makeConfig({ url: server.url, prefix: p, dir: dirFor(p), writeTimeoutMs: 2000 }), captureLogs().logger);
    await eventually(() => h.state() === 'up', 5000, 'ledger up');
    const stored = await Promise.all(Array.from({ length: 400 }, (_, i) => h.ledger.recordDecision(record(i, 'accepted'))));
    expect(stored.every((w) => w === 'redis')).toBe(true);
    await h.close();

    // The same journal (its folder) first without Redis, then with it.
    const dir = join(work, `${p.replace(/[^a-z0-9]/gi, '')}j`);
    const down = await createLedger(makeConfig({ url: 'redis://127.0.0.1:1/0', prefix: p, dir }), captureLogs().logger);
    const journaled = await Promise.all(Array.from({ length: 1000 }, (_, i) => down.ledger.recordDecision(record(5000 + i, 'refused'))));
    expect(new Set(journaled)).toEqual(new Set(['journal']));
    await down.close();
    const cfg = makeConfig({ url: server.url, prefix: p, dir, writeTimeoutMs: 2000 });
    const up = await createLedger(cfg, captureLogs().logger);
    await eventually(() => up.journalBacklog() === 0, 30000, 'the replay of 1,000 decisions');
    await up.close();
    expect(existsSync(cfg.ledger.journalPath)).toBe(true);
    expect(readFileSync(cfg.ledger.journalPath, 'utf8')).toBe(''); // compacted

    const ids = (await chainBodies(raw, p)).map((b) => b.uniqueId);
    expect(ids).toHaveLength(1400);
    expect(new Set(ids).size).toBe(1400);
  });
});
