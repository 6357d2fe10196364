/**
 * Legal holds against a real Redis of its own (a redis-server on a free port in a temporary folder;
 * never the shared sandbox's), through the command functions and through the real entry point
 * (src/cli/main.ts compiled): a held call survives a purge that would delete it (and says so), erase
 * is refused with the hold's reason, --override-hold --reason erases and is in the chain, holds are
 * listed and released, a caller's number is nowhere, and verify fails once a hold is HDEL'd from Redis.
 * (The same over the in-memory store: test/unit/holds.test.ts.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { RedisServer } from '../support';
import { parseStoredRecord, pseudonymise } from '../../src/ledger';
import { runCheckpoint, runVerify } from '../../src/cli/evidence-commands';
import { runHold, runHolds, runRelease } from '../../src/cli/hold-commands';
import { runErase, runPurge } from '../../src/cli/retention-commands';
import { formatVerifier, verifierOf } from '../../src/evidence/checkpoint';
import type { ConsentRecord } from '../../src/ports/ledger';
import type { StoredRecord } from '../../src/ledger/types';
import { testRecording, TEST_PROMPT_TEXTS, TEST_PSEUDONYM_KEY as KEY } from '../support/records';
import { captureIo } from '../support/cli-io';
import { fakeRecording, ledgerRecord, LedgerCases, seedLedger, type LedgerCase } from '../support/ledger-cases';

const REPO = resolve(__dirname, '../..');

const DAY = 86_400_000;
const NOW = Math.floor(Date.now() / 1000) * 1000;
/** A caller's number, and the forms it could leak in (never in Redis, the chain or any output). */
const NUMBER = '0661234567';
const LEAK = /0661234567|212661234567/;

const cases = new LedgerCases('holds');
/** The key the ledgers of these cases are signed with, as a service would sign them. */
const SIGNER = cases.signer;
let redis: RedisServer;
let raw: Redis;
let work: string;

beforeAll(async () => {
  await cases.start();
  ({ redis, raw, work } = cases);
});

afterAll(() => cases.stop());

type Env = LedgerCase;
const env = (retentionDays = 30): Env => cases.env(retentionDays);
const rec = ledgerRecord;
/** Writes records through the real ledger, with its clock at each record's time, and signs the log. */
const seed = (e: Env, records: ConsentRecord[]): Promise<void> => seedLedger(e, records, NOW);

async function storedRecord(e: Env, uniqueId: string): Promise<StoredRecord | null> {
  const json = await raw.hget(`${e.prefix}{ledger:main}:rec:${uniqueId}`, 'record');
  return json === null ? null : parseStoredRecord(json);
}

type Entry = [string, string[]];

async function chainOf(e: Env): Promise<Entry[]> {
  return (await raw.xrange(`${e.prefix}{ledger:main}:chain`, '-', '+')) as Entry[];
}

async function bodiesOf(e: Env): Promise<Record<string, unknown>[]> {
  return (await chainOf(e)).map(([, f]) => JSON.parse(String(f[f.indexOf('body') + 1])) as Record<string, unknown>);
}

const holdsKey = (e: Env) => `${e.prefix}{ledger}:holds`;

/** The hold id a `ledger hold` printed. */
function holdId(out: string): string {
  const m = /legal hold (h-[a-z2-7]{10}) placed/.exec(out);
  if (!m) throw new Error(`no hold placed: ${out}`);
  return m[1] as string;
}

describe('ledger hold, purge and erase', () => {
  test('When a held call is past its retention, then the purge keeps it and its recording and says so, erase is refused with the reason, --override-hold --reason erases and is in the chain, and verify passes', async () => {
    const e = env(30);
    const t = NOW - 60 * DAY;
    // The unheld call first: the start of the log can be trimmed up to the held call's first entry.
    const unheld = rec(1, t, 'accepted', '0611000002', { recording: testRecording(fakeRecording(e, 'unheld.wav')) });
    const held = rec(2, t + 1000, 'accepted', NUMBER, { recording: testRecording(fakeRecording(e, 'held.wav'), null, new Date(t + 5500).toISOString()) });
    const recent = rec(3, NOW - 5 * DAY, 'refused', NUMBER);
    await seed(e, [unheld, held, recent]);
    const now = () => new Date(NOW);

    const place = captureIo();
    expect(await runHold(e.config, { call: held.uniqueId, reason: 'litigation 2026-44' }, { io: place.io, now })).toBe(0);
    const id = holdId(place.out());
    expect(place.out()).toContain(`placed on call ${held.uniqueId} (entry seq 7 of log main)`);
    expect(JSON.parse(String(await raw.hget(holdsKey(e), id)))).toMatchObject({ id, scope: 'call', uniqueId: held.uniqueId, caller: null, reason: 'litigation 2026-44', log: 'main' });
    expect(await runCheckpoint(e.config, { sign: true }, { io: captureIo().io })).toBe(0);

    // The purge's cutoff (30 days) would delete both old calls: the held one stays, with its recording.
    const purge = captureIo();
    expect(await runPurge(e.config, { io: purge.io, now })).toBe(0);
    expect(purge.out()).toMatch(/purge: 1 record\(s\) entered before .* deleted, 1 recording file\(s\) deleted/);
    expect(purge.out()).toContain(`kept 1 record(s) under hold ${id} (on call ${held.uniqueId}): litigation 2026-44\n`);
    expect(await storedRecord(e, unheld.uniqueId)).toBeNull();
    expect(existsSync(join(e.recordings, 'unheld.wav'))).toBe(false);
    expect(await storedRecord(e, held.uniqueId)).toEqual({ ...held, erasedAt: null });
    expect(existsSync(join(e.recordings, 'held.wav'))).toBe(true);
    // The log is trimmed, but not up to the held call's first entry.
    const events = await raw.hgetall(`${e.prefix}{ledger:main}:rec:${held.uniqueId}`);
    const first = Math.min(...Object.entries(events).filter(([k]) => k.startsWith('ev:')).map(([, v]) => Number(v)));
    expect(first).toBe(3);
    expect(await raw.get(`${e.prefix}{ledger:main}:anchor`)).toMatch(/^2:[0-9a-f]{64}$/);
    expect(purge.out()).toContain('log main trimmed up to seq 2');
    const json = captureIo();
    expect(await runPurge(e.config, { io: json.io, now }, { json: true })).toBe(0);
    expect(JSON.parse(json.out())).toMatchObject({ records: 0, held: [{ hold: id, scope: 'call', uniqueId: held.uniqueId, reason: 'litigation 2026-44', records: 1, erasures: 0 }] });

    // Erase is refused before anything changes, with the hold's reason.
    const entries = (await chainOf(e)).length;
    const refused = captureIo();
    expect(await runErase(e.config, { caller: NUMBER }, { io: refused.io, now })).toBe(1);
    expect(refused.err()).toContain(`consent-ivr ledger erase: refused: legal hold ${id} (call ${held.uniqueId}; reason: litigation 2026-44)`);
    expect(await chainOf(e)).toHaveLength(entries);
    expect(await raw.hexists(`${e.prefix}{ledger}:erasures`, pseudonymise(NUMBER, KEY))).toBe(0);
    expect(await storedRecord(e, recent.uniqueId)).toEqual({ ...recent, erasedAt: null });

    // Overridden with a reason: logged first, then the erasure, then the hold released as overridden.
    const erase = captureIo();
    expect(await runErase(e.config, { caller: NUMBER, overrideHold: true, reason: 'court order 2026-12' }, { io: erase.io, now })).toBe(0);
    expect(erase.out()).toContain('erased 2 record(s) of this caller');
    expect(erase.out()).toContain(`legal hold ${id} (reason: litigation 2026-44) overridden, as logged in the chain; released`);
    expect(erase.out() + erase.err()).not.toMatch(LEAK);
    const bodies = (await bodiesOf(e)).slice(entries);
    expect(bodies.map((b) => b.type)).toEqual(['hold-override', 'erasure', 'erasure', 'erasure-request', 'release']);
    expect(bodies[0]).toEqual({ type: 'hold-override', at: new Date(NOW).toISOString(), holds: [id], reason: 'court order 2026-12' });
    expect(bodies[4]).toMatchObject({ type: 'release', hold: id, scope: 'call', uniqueId: held.uniqueId, reason: 'overridden: court order 2026-12' });
    expect(existsSync(join(e.recordings, 'held.wav'))).toBe(false);
    expect(await storedRecord(e, held.uniqueId)).toMatchObject({ callerPseudonym: '', erasedAt: expect.any(String) });
    expect(await raw.hlen(holdsKey(e))).toBe(0);

    expect(await runCheckpoint(e.config, { sign: true }, { io: captureIo().io })).toBe(0);
    const v = captureIo();
    expect(await runVerify(e.config, {}, { io: v.io, now })).toBe(0);
    expect(v.out()).toContain('ledger verified');
  });
});

describe('ledger holds and release', () => {
  test('When a call and a caller (number from stdin) are held, listed and released, then the list says what each is on and the number is nowhere in Redis or the output', async () => {
    const e = env();
    const calls = [rec(1, NOW - 3 * DAY, 'accepted', NUMBER), rec(2, NOW - 2 * DAY, 'refused', '0611000002')];
    await seed(e, calls);
    const onCall = captureIo();
    expect(await runHold(e.config, { call: String(calls[1]?.uniqueId), reason: 'audit 2026' }, { io: onCall.io, now: () => new Date(NOW - 1000) })).toBe(0);
    const onCaller = captureIo();
    const stdin = Readable.from([`${NUMBER}\n`]);
    expect(await runHold(e.config, { caller: '-', reason: 'CNDP inquiry 118' }, { io: { ...onCaller.io, stdin }, now: () => new Date(NOW) })).toBe(0);
    expect(onCaller.out()).toContain('placed on this caller (pseudonymous)');
    const [a, b] = [holdId(onCall.out()), holdId(onCaller.out())];
    // Placed again: said, not duplicated.
    const again = captureIo();
    expect(await runHold(e.config, { call: String(calls[1]?.uniqueId), reason: 'again' }, { io: again.io })).toBe(0);
    expect(again.out()).toContain(`is already under legal hold ${a}`);
    expect(await raw.hlen(holdsKey(e))).toBe(2);

    const list = captureIo();
    expect(await runHolds(e.config, {}, { io: list.io })).toBe(0);
    const rows = list.out().trim().split('\n').map((l) => l.split('\t'));
    expect(rows[0]).toEqual(['ID', 'SCOPE', 'ON', 'SINCE (UTC)', 'ENTRY', 'REASON']);
    expect(rows.slice(1).map((r) => [r[0], r[1], r[2], r[5]])).toEqual([
      [a, 'call', calls[1]?.uniqueId, 'audit 2026'],
      [b, 'caller', 'caller (pseudonymous)', 'CNDP inquiry 118'],
    ]);
    const json = captureIo();
    expect(await runHolds(e.config, { json: true }, { io: json.io })).toBe(0);
    expect((JSON.parse(json.out()) as { holds: { id: string; scope: string; seq: number }[] }).holds.map((h) => [h.id, h.scope, h.seq > 0])).toEqual([
      [a, 'call', true],
      [b, 'caller', true],
    ]);

    // Redis keeps the pseudonym (as the caller index does), the chain only a salted digest of it; the number is nowhere.
    const hash = JSON.stringify(await raw.hgetall(holdsKey(e)));
    expect(hash).toContain(pseudonymise(NUMBER, KEY));
    const chain = JSON.stringify(await chainOf(e));
    expect(chain).not.toContain(pseudonymise(NUMBER, KEY));
    for (const text of [hash, chain, onCall.out(), onCaller.out(), list.out(), json.out(), onCaller.err()]) expect(text).not.toMatch(LEAK);

    const r1 = captureIo();
    expect(await runRelease(e.config, { id: a, reason: 'audit done' }, { io: r1.io })).toBe(0);
    expect(r1.out()).toContain(`legal hold ${a} on call ${calls[1]?.uniqueId} released, as logged in the chain`);
    const r2 = captureIo();
    expect(await runRelease(e.config, { caller: '-', reason: 'inquiry closed' }, { io: { ...r2.io, stdin: Readable.from([NUMBER]) } })).toBe(0);
    expect(r2.out() + r2.err()).not.toMatch(LEAK);
    expect(await raw.hlen(holdsKey(e))).toBe(0);
    const none = captureIo();
    expect(await runHolds(e.config, {}, { io: none.io })).toBe(0);
    expect(none.out()).toBe('no legal hold in force\n');
    const releases = (await bodiesOf(e)).filter((x) => x.type === 'release');
    expect(releases.map((x) => [x.hold, x.uniqueId ?? 'own'])).toEqual([
      [a, calls[1]?.uniqueId],
      [b, calls[0]?.uniqueId],
      [b, 'own'],
    ]);
    const missing = captureIo();
    expect(await runRelease(e.config, { id: a, reason: 'x' }, { io: missing.io })).toBe(1);
    expect(missing.err()).toContain(`no legal hold ${a} in force`);
  });
});

describe('ledger verify and the holds', () => {
  test('When the holds in force match the log, then verify passes; after HDEL of a hold from Redis, it fails and names the hold', async () => {
    const e = env();
    const c = rec(1, NOW - DAY, 'refused', '0611000001');
    await seed(e, [c]);
    const place = captureIo();
    expect(await runHold(e.config, { call: c.uniqueId, reason: 'litigation 2026-44' }, { io: place.io })).toBe(0);
    const id = holdId(place.out());
    expect(await runCheckpoint(e.config, { sign: true }, { io: captureIo().io })).toBe(0);
    const ok = captureIo();
    expect(await runVerify(e.config, {}, { io: ok.io })).toBe(0);
    expect(ok.out()).toContain('legal holds: OK, 1 in force');

    await raw.hdel(holdsKey(e), id);
    const broken = captureIo();
    expect(await runVerify(e.config, {}, { io: broken.io })).toBe(1);
    expect(broken.out()).toContain(`REMOVED ${id}: hold ${id} (call ${c.uniqueId}`);
    expect(broken.out()).toContain('removed outside the ledger');
    expect(broken.out()).toContain('ledger verification FAILED');
    const asJson = captureIo();
    expect(await runVerify(e.config, { json: true }, { io: asJson.io })).toBe(1);
    expect((JSON.parse(asJson.out()) as { holds: unknown }).holds).toEqual({ active: 0, problems: [{ hold: id, kind: 'removed', message: expect.any(String) }] });

    // A hold written into Redis by hand is not in the log either.
    await raw.hset(holdsKey(e), 'h-zzzzzzzzzz', JSON.stringify({ id: 'h-zzzzzzzzzz', scope: 'call', uniqueId: c.uniqueId, caller: null, reason: 'forged', at: new Date(NOW).toISOString(), log: 'main', seq: 1 }));
    const forged = captureIo();
    expect(await runVerify(e.config, {}, { io: forged.io })).toBe(1);
    expect(forged.out()).toContain('NOT-IN-LOG h-zzzzzzzzzz');
  });
});

describe('legal holds through the real entry point', () => {
  test('When dist-like main.js runs "ledger hold --caller -", "ledger holds --json" and "ledger release", then they work with the pseudonym key only and never print the number', async () => {
    const e = env();
    await seed(e, [rec(1, NOW - DAY, 'accepted', NUMBER)]);
    const outDir = join(work, 'build');
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'pipe' });
    const main = join(outDir, 'cli/main.js');
    const pub = join(e.dir, 'ledger.pub');
    writeFileSync(pub, formatVerifier(verifierOf(SIGNER)));
    const yaml = join(e.dir, 'consent-ivr.yaml');
    writeFileSync(
      yaml,
      JSON.stringify({
        prompts: { texts: { ar: TEST_PROMPT_TEXTS, fr: TEST_PROMPT_TEXTS } },
        redis: { url: redis.url, keyPrefix: e.prefix },
        ledger: { log: 'main', journalPath: join(e.dir, 'j.jsonl'), checkpointFile: e.config.ledger.checkpointFile, trustedKeyFiles: [pub] },
        recording: { dir: e.recordings },
        ari: { passwordFile: join(e.dir, 'no-such-ari-password') },
        ami: { secretFile: join(e.dir, 'no-such-ami-secret') },
      }),
    );
    const childEnv = { PATH: process.env.PATH ?? '', NODE_PATH: join(REPO, 'node_modules'), CONSENT_IVR_PSEUDONYM_KEY: KEY };
    const cli = (args: string[], input?: string) => spawnSync(process.execPath, [main, '--config', yaml, 'ledger', ...args], { env: childEnv, encoding: 'utf8', input });

    const hold = cli(['hold', '--caller', '-', '--reason', 'CNDP inquiry 118'], `${NUMBER}\n`);
    expect(hold.stderr).toBe('');
    expect(hold.status).toBe(0);
    const id = holdId(hold.stdout);
    const list = cli(['holds', '--json']);
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual({ holds: [expect.objectContaining({ id, scope: 'caller', uniqueId: null, reason: 'CNDP inquiry 118', log: 'main' })], malformed: [] });
    const usage = cli(['hold', '--call', '1.1']);
    expect(usage.status).toBe(2); // --reason is required
    const verify = cli(['verify']);
    expect(verify.stdout).toContain('legal holds: OK, 1 in force');
    expect(verify.status).toBe(0);
    const release = cli(['release', '--id', id, '--reason', 'inquiry closed']);
    expect(release.status).toBe(0);
    expect(release.stdout).toContain(`legal hold ${id} on this caller (pseudonymous) released`);
    for (const r of [hold, list, verify, release]) expect(r.stdout + r.stderr).not.toMatch(LEAK);
    expect(await raw.hlen(holdsKey(e))).toBe(0);
  }, 120000);
});
