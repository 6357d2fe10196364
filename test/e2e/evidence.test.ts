/**
 * Evidence that holds up, end to end against the real sandbox (Asterisk, Redis): recordings sealed when
 * closed, checkpoints signed by the service, `ledger verify` against them (and against a copy kept
 * elsewhere), a call's evidence bundle checked offline, and two instances on a real 3-master Redis
 * Cluster appending to their own logs without contending.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { logBase } from '../../src/adapters/redis/keys';
import { formatCheckpoint, generateSigner, signNote } from '../../src/evidence/checkpoint';
import { originOf } from '../../src/evidence/checkpointer';
import { RedisCluster, callsLeft, letTimePass, placeCall, promptSeconds, RunningApp, runCli, sandbox, startApp, TestAmi, until, waitChannelsGone } from '../support';

const REPO = resolve(__dirname, '../..');
const MAIN = join(REPO, 'dist/cli/main.js');
const CALLER = '+212600004747';

let ami: TestAmi;

// A connection of each describe's own: the second places 400 calls and should not wait behind the
// events the first one's connection has gathered.
beforeEach(() => sandbox());

async function freshAmi(actionTimeoutMs?: number): Promise<void> {
  ami?.close();
  ami = new TestAmi({ actionTimeoutMs });
  await ami.start();
}

afterAll(() => ami?.close());

const tag = () => Math.random().toString(36).slice(2, 8);

/** The calls (UNIQUEIDs) that entered an instance's consent flow, from its log. */
const callsEntered = (app: RunningApp) => app.lines.filter((l) => l.message === 'call entered the consent flow').map((l) => String(l.call));

/** Runs the CLI with no configuration, no Redis and nothing of the sandbox: what an auditor has. */
function offline(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [MAIN, '--config', '/nonexistent/consent-ivr.yaml', ...args], {
    env: { PATH: process.env.PATH ?? '', CONSENT_IVR_REDIS_URL: 'redis://127.0.0.1:1/0' },
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('one instance: seals, checkpoints, verify and the evidence bundle', () => {
  let app: RunningApp;
  let env: Record<string, string>;
  let cli: (args: string[]) => ReturnType<typeof runCli>;
  let accepted: { uid: string; file: string };
  let refusedUid: string;
  let work: string;
  const publicKey = () => join(sandbox().stateDir, 'ledger-signing-key.pub');

  beforeAll(async () => {
    await freshAmi();
    const t = tag();
    work = mkdtempSync(join(tmpdir(), 'civr-evidence-'));
    env = {
      CONSENT_IVR_REDIS_KEY_PREFIX: `evidence-${t}:`,
      CONSENT_IVR_SERVER_ID: `ev-${t}`,
      CONSENT_IVR_RECORDING_DIR: mkdtempSync(join(sandbox().recordingsDir, 'evidence-')),
      CONSENT_IVR_LEDGER_CHECKPOINT_INTERVAL_MS: '1000',
      CONSENT_IVR_RECORDING_SEAL_POLL_MS: '300',
    };
    app = await startApp(env);
    cli = (args) => runCli(args, { ...env, CONSENT_IVR_LEDGER_LOG: app.name }, 60000);
    const [a, r] = await Promise.all([
      placeCall(ami, { app: app.name, w1: 1.5, k1: '1', talk: Math.ceil(promptSeconds('ar', 'accepted') + 3), callerNum: CALLER }),
      placeCall(ami, { app: app.name, w1: 1.5, k1: '2', talk: Math.ceil(promptSeconds('ar', 'refused') + 2), callerNum: '+212600004748' }),
    ]);
    const [ar, rr] = await Promise.all([a.result, r.result]);
    expect(ar).toMatchObject({ result: 'accepted' });
    expect(rr).toMatchObject({ result: 'refused' });
    accepted = { uid: String(ar.id), file: String(ar.recording) };
    refusedUid = String(rr.id);
    expect(await waitChannelsGone([accepted.uid, refusedUid], 30000)).toEqual([]);
    await app.waitForLog((l) => l.call === accepted.uid && l.message === 'recording sealed', 20000, 'the seal of the accepted call');
    const size = Number((await app.waitForLog((l) => l.message === 'checkpoint signed' && Number(l.size) >= 5, 10000, 'a checkpoint covering the seal')).size);
    expect(size).toBeGreaterThanOrEqual(5);
  }, 120000);

  afterAll(async () => {
    if (app) expect(await app.stop()).toBe(0);
    expect(app?.leaks([CALLER])).toEqual([]);
  });

  test('When the log, its checkpoints and the recordings are intact, then verify --recordings passes and says what it checked', async () => {
    const r = await cli(['ledger', 'verify', '--recordings', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      logs: { log: string; checkpoints: { checked: number; problems: unknown[] } }[];
      recordings: { intact: number; changed: unknown[]; missing: unknown[]; unexpected: unknown[] };
    };
    const mine = report.logs.find((l) => l.log === app.name);
    expect(mine?.checkpoints.checked).toBeGreaterThanOrEqual(1);
    expect(mine?.checkpoints.problems).toEqual([]);
    expect(report.recordings).toMatchObject({ intact: 1, changed: [], missing: [], unexpected: [] });
  }, 60000);

  test('When one byte of a recording is changed, then verify --recordings fails naming the call; restored, it passes', async () => {
    const original = readFileSync(accepted.file);
    const edited = Buffer.from(original);
    const at = Math.floor(edited.length / 2);
    edited[at] = (edited[at] ?? 0) ^ 0x01;
    writeFileSync(accepted.file, edited);
    try {
      const r = await cli(['ledger', 'verify', '--recordings']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`CHANGED call ${accepted.uid}`);
      expect(r.stdout).toContain('ledger verification FAILED');
    } finally {
      writeFileSync(accepted.file, original);
    }
    expect((await cli(['ledger', 'verify', '--recordings'])).code).toBe(0);
  }, 60000);

  test('When a record is edited so that it no longer reads as one (half a withdrawal) and its recording removed, then verify --recordings reports both and goes on', async () => {
    const raw = new Redis(sandbox().redis.url, { maxRetriesPerRequest: 1 });
    const key = `${logBase(env.CONSENT_IVR_REDIS_KEY_PREFIX as string, app.name)}rec:${accepted.uid}`;
    const original = String(await raw.hget(key, 'record'));
    const audio = readFileSync(accepted.file);
    await raw.hset(key, 'record', original.replace('"withdrawnAt":null', '"withdrawnAt":"2026-11-30T10:00:00.000Z"'));
    unlinkSync(accepted.file);
    try {
      const r = await cli(['ledger', 'verify', '--recordings']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`record ${accepted.uid}: its content differs from what chain entry`);
      expect(r.stdout).toContain(`MISSING call ${accepted.uid}`);
      expect(r.stdout).toContain('ledger verification FAILED');
    } finally {
      await raw.hset(key, 'record', original);
      writeFileSync(accepted.file, audio);
      await raw.quit();
    }
    expect((await cli(['ledger', 'verify', '--recordings'])).code).toBe(0);
  }, 60000);

  test('When a call\'s evidence bundle is written, then it verifies offline (no Redis, no configuration), and any field changed makes it fail naming what', async () => {
    const file = join(work, 'accepted.json');
    const w = await cli(['ledger', 'evidence', accepted.uid, '--out', file]);
    expect(w.code).toBe(0);
    const ok = offline(['evidence', 'verify', file, '--key', publicKey()]);
    expect(ok.out).toContain(`evidence verified: call ${accepted.uid}`);
    expect(ok.out).toContain("a accepté l'enregistrement (touche 1)");
    expect(ok.out).toContain('وافق على التسجيل');
    expect(ok.code).toBe(0);

    const bundle = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & {
      record: Record<string, unknown>;
      seal: Record<string, unknown>;
      entries: { body: string }[];
      notice: { prompts: { text: string }[] };
      summary: { fr: string };
    };
    expect(bundle.seal).toMatchObject({ file: expect.any(String), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), reason: 'call-end' });
    expect(bundle.notice.prompts.length).toBeGreaterThanOrEqual(10);
    expect(JSON.stringify(bundle)).not.toContain(CALLER);
    const mutations: [string, (b: typeof bundle) => void, string][] = [
      ['the digit', (b) => (b.record.digit = '2'), 'record'],
      ['the decision time', (b) => (b.record.decidedAt = '2020-01-01T00:00:00.000Z'), 'record'],
      ['the seal size', (b) => (b.seal.size = Number(b.seal.size) + 1), 'seal'],
      ['a notice text', (b) => (b.notice.prompts[0] = { ...b.notice.prompts[0], text: 'autre texte' } as { text: string }), 'notice'],
      ['an entry body', (b) => (b.entries[0] = { ...b.entries[0], body: (b.entries[0]?.body ?? '').replace('"decision"', '"outcome"') } as { body: string }), 'entry seq'],
      ['the summary', (b) => (b.summary.fr = b.summary.fr.replace('accepté', 'refusé')), 'summary'],
    ];
    for (const [what, change, named] of mutations) {
      const copy = JSON.parse(JSON.stringify(bundle)) as typeof bundle;
      change(copy);
      const f = join(work, `changed-${what.replace(/ /g, '-')}.json`);
      writeFileSync(f, JSON.stringify(copy));
      const r = offline(['evidence', 'verify', f, '--key', publicKey()]);
      expect({ what, code: r.code }).toEqual({ what, code: 1 });
      expect(r.out).toContain('evidence does NOT verify');
      expect(r.out).toContain(named);
    }
    // Another key: the checkpoint is not signed by it.
    const other = join(work, 'other-key');
    expect(offline(['keys', 'generate', '--out', other, '--name', 'someone-else']).code).toBe(0);
    const wrong = offline(['evidence', 'verify', file, '--key', `${other}.pub`]);
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain('checkpoint');
  }, 90000);

  test('When a checkpoint signed with another key is added to the log, then verify rejects it; a checkpoint kept elsewhere is checked with --checkpoint', async () => {
    const raw = new Redis(sandbox().redis.url, { maxRetriesPerRequest: 1 });
    const key = `${logBase(env.CONSENT_IVR_REDIS_KEY_PREFIX as string, app.name)}checkpoints`;
    const intruder = generateSigner('intruder');
    const note = signNote(formatCheckpoint({ origin: originOf(app.name), size: 1, root: Buffer.alloc(32, 7), extensions: [] }), intruder);
    const id = await raw.xadd(key, '*', 'size', '1', 'note', note, 'tree', '1:' + '07'.repeat(32));
    try {
      const r = await cli(['ledger', 'verify']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/UNKNOWN-KEY .*not signed by a trusted key/);
    } finally {
      await raw.xdel(key, String(id));
      raw.disconnect();
    }
    // The auditor's copy of the checkpoints: consistent with the log.
    const copy = join(work, 'auditor-checkpoints.jsonl');
    expect((await cli(['ledger', 'checkpoint', '--out', copy])).code).toBe(0);
    expect((await cli(['ledger', 'verify', '--checkpoint', copy])).code).toBe(0);
    const foreign = join(work, 'foreign-note');
    writeFileSync(foreign, note);
    const f = await cli(['ledger', 'verify', '--checkpoint', foreign]);
    expect(f.code).toBe(1);
    expect(f.stdout).toContain('not signed by a trusted key');
  }, 60000);

  test('When the caller is erased, then the call\'s bundle still verifies offline and says when it was erased; the removed recording is expected missing', async () => {
    expect((await cli(['ledger', 'erase', '--caller', CALLER])).code).toBe(0);
    const file = join(work, 'erased.json');
    expect((await cli(['ledger', 'evidence', accepted.uid, '--out', file])).code).toBe(0);
    const r = offline(['evidence', 'verify', file, '--key', publicKey()]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ont été effacées le \d{4}-\d\d-\d\d/);
    expect(r.out).toContain('مُحيت المعطيات الشخصية');
    const v = await cli(['ledger', 'verify', '--recordings']);
    expect(v.stdout).toContain('removed by the erasure of');
    expect(v.code).toBe(0);
    // The auditor's copy from before the erasure: the log only grew since, and that is provable offline.
    const proofFile = join(work, 'consistency.json');
    const p = await cli(['ledger', 'consistency', join(work, 'auditor-checkpoints.jsonl'), '--out', proofFile]);
    expect(p.code).toBe(0);
    const c = offline(['evidence', 'consistency', proofFile, '--key', publicKey()]);
    expect(c.out).toMatch(new RegExp(`log ${app.name}: consistent: the checkpoint of \\d+ entries extends the one of \\d+`));
    expect(c.code).toBe(0);
    const proofs = JSON.parse(readFileSync(proofFile, 'utf8')) as { log: string; proof: string[] }[];
    const mine = proofs.find((x) => x.log === app.name);
    expect(mine?.proof.length).toBeGreaterThan(0);
    if (mine) mine.proof[0] = 'f'.repeat(64);
    writeFileSync(proofFile, JSON.stringify(proofs));
    const forged = offline(['evidence', 'consistency', proofFile, '--key', publicKey()]);
    expect(forged.code).toBe(1);
    expect(forged.out).toContain('NOT consistent');
  }, 60000);

  test('When the last entries of the log are deleted after a checkpoint, then verify fails and says truncation — also from the auditor\'s copy once the ledger\'s checkpoints are gone', async () => {
    const copy = join(work, 'before-truncation.jsonl');
    expect((await cli(['ledger', 'checkpoint', '--out', copy])).code).toBe(0);
    expect(await app.stop()).toBe(0);
    const raw = new Redis(sandbox().redis.url, { maxRetriesPerRequest: 1 });
    const base = logBase(env.CONSENT_IVR_REDIS_KEY_PREFIX as string, app.name);
    try {
      const last = await raw.xrevrange(`${base}chain`, '+', '-', 'COUNT', 2);
      expect(last.length).toBe(2);
      await raw.xdel(`${base}chain`, ...last.map(([id]) => id));
      const r = await cli(['ledger', 'verify']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('TRUNCATED');
      expect(r.stdout).toContain('(truncation)');
      // Whoever can delete entries can delete the checkpoints kept with them: the copy kept elsewhere still tells.
      await raw.del(`${base}checkpoints`);
      const fromCopy = await cli(['ledger', 'verify', '--checkpoint', copy]);
      expect(fromCopy.code).toBe(1);
      expect(fromCopy.stdout).toMatch(/TRUNCATED \(checkpoint of \d+ entries, .*before-truncation\.jsonl\)/);
    } finally {
      raw.disconnect();
    }
  }, 60000);
});

describe('several instances, one ledger, on a real 3-master Redis Cluster', () => {
  let cluster: RedisCluster;

  beforeAll(async () => {
    await freshAmi(60000);
    cluster = await RedisCluster.start(3);
  }, 60000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  test('When two instances take 200 calls each at the same time, then every record is there, no append met another writer, and verify passes with both logs checkpointed', async () => {
    const prefix = `cluster-${tag()}:`;
    // Two log names whose keys live on different masters.
    const logs: string[] = [];
    const masters = new Set<number>();
    for (let i = 0; logs.length < 2 && i < 100; i++) {
      const name = `node-${i}`;
      const m = await cluster.masterOf(`${logBase(prefix, name)}chain`);
      if (!masters.has(m)) {
        masters.add(m);
        logs.push(name);
      }
    }
    expect(logs.length).toBe(2);
    const envOf = (log: string): Record<string, string> => ({
      CONSENT_IVR_REDIS_MODE: 'cluster',
      CONSENT_IVR_REDIS_CLUSTER_NODES: cluster.nodes.join(','),
      CONSENT_IVR_REDIS_KEY_PREFIX: prefix,
      CONSENT_IVR_REDIS_WRITE_TIMEOUT_MS: '2000',
      CONSENT_IVR_SERVER_ID: log,
      CONSENT_IVR_LEDGER_LOG: log,
      CONSENT_IVR_RECORDING_DIR: mkdtempSync(join(sandbox().recordingsDir, `${log}-`)),
      CONSENT_IVR_LEDGER_CHECKPOINT_INTERVAL_MS: '1000',
      CONSENT_IVR_RECORDING_SEAL_POLL_MS: '500',
      CONSENT_IVR_LOGGING_LEVEL: 'info',
    });
    const envs = logs.map(envOf);
    const apps = await Promise.all(envs.map((e) => startApp(e)));
    try {
      // Each caller stays on well past the confirmation (slower under this load), so every flow ends with
      // the decision, not a hang-up.
      const talk = { '1': Math.ceil(promptSeconds('ar', 'accepted') + 20), '2': Math.ceil(promptSeconds('ar', 'refused') + 20) };
      // Originated in waves of 20, half a second apart: that rate is the scenario (Asterisk's AMI answers
      // behind the events of hundreds of calls); the calls overlap, both instances appending all along.
      for (let i = 0; i < 200; i += 10) {
        if (i > 0) await letTimePass(500, 'the originate rate: a wave of 20 calls every half second');
        const wave = [];
        for (let j = i; j < i + 10; j++) {
          const k1 = j % 2 === 0 ? '1' : '2';
          for (const app of apps) wave.push(placeCall(ami, { app: app.name, w1: 1, k1, talk: talk[k1] }, 300000));
        }
        await Promise.all(wave);
      }
      // Counted by each instance as its flows end (per-call AMI events are not all delivered under this load).
      const decided = async (app: RunningApp) => (await app.metric('consent_ivr_calls_total', { outcome: 'accepted' })) + (await app.metric('consent_ivr_calls_total', { outcome: 'refused' }));
      await until(async () => (await Promise.all(apps.map(decided))).every((n) => n >= 200), 240000, 1000);
      expect(await Promise.all(apps.map(decided))).toEqual([200, 200]);
      // None of these calls is left in Asterisk or in its instance's Stasis application.
      for (const app of apps) expect(await callsLeft(app.name, callsEntered(app), 120000)).toEqual([]);
      for (const app of apps) expect(await app.metric('consent_ivr_ledger_append_conflicts_total')).toBe(0);
      // Each instance seals its own recordings (its server's), then signs a last checkpoint at shutdown.
      for (const app of apps) {
        await until(async () => (await app.metric('consent_ivr_recordings_unsealed')) === 0, 30000, 300);
        expect(await app.metric('consent_ivr_recordings_unsealed')).toBe(0);
      }
    } finally {
      for (const app of apps) expect(await app.stop()).toBe(0);
    }
    const cli = (e: Record<string, string>, args: string[]) => runCli(args, e, 120000);
    const list = await cli(envs[0] as Record<string, string>, ['ledger', 'list', '--json']);
    expect(list.code).toBe(0);
    const records = JSON.parse(list.stdout) as { uniqueId: string; outcome: string; recordingServer: string | null }[];
    expect(records.length).toBe(400);
    expect(records.filter((r) => r.outcome === 'accepted').length).toBe(200);
    expect(records.filter((r) => r.outcome === 'refused').length).toBe(200);
    for (const [i, log] of logs.entries()) {
      // Each server re-hashes its own recordings against their seals.
      const v = await cli(envs[i] as Record<string, string>, ['ledger', 'verify', '--recordings', '--json']);
      expect(v.code).toBe(0);
      const report = JSON.parse(v.stdout) as {
        ok: boolean;
        logs: { log: string; chain: { entries: number }; checkpoints: { checked: number; latest: { size: number } | null } }[];
        recordings: { intact: number };
      };
      expect(report.ok).toBe(true);
      expect(report.logs.map((l) => l.log).sort()).toEqual([...logs].sort());
      const mine = report.logs.find((l) => l.log === log);
      // decision + outcome per call, and a seal per accepted call: 200 + 200 + 100.
      expect(mine?.chain.entries).toBe(500);
      expect(mine?.checkpoints.latest?.size).toBe(500);
      expect(mine?.checkpoints.checked).toBeGreaterThanOrEqual(1);
      expect(report.recordings.intact).toBe(100);
      expect(records.filter((r) => r.recordingServer === log).length).toBe(100);
    }
  }, 600000);
});
