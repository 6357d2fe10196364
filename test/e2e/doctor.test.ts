/**
 * `consent-ivr doctor` against the real sandbox: it passes there (run with no --config, as an
 * administrator would in a checkout), and fails naming the cause when something the service needs is
 * wrong: the AMI secret, a prompt, Redis's persistence, the routine in the dialplan; and it warns when
 * several servers share the ledger while one makes UNIQUEIDs without asterisk.conf's systemname.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLedger } from '../../src/service/ledger';
import { formatSigner, generateSigner } from '../../src/evidence/checkpoint';
import { createLogger } from '../../src/observability/logger';
import { testConfig, testRecord, testRecording } from '../support/records';
import { RedisServer, asteriskCli, runCli, sandbox, startApp } from '../support';

/** `consent-ivr doctor` with no --config (the checkout's sandbox configuration), plus `env`. */
async function doctor(env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const r = await runCli(['doctor'], env, 60000);
  return { code: r.code, out: r.stdout + r.stderr };
}

beforeAll(() => sandbox());

test('When the sandbox is up, then doctor passes every check with no --config, and says so', async () => {
  const r = await doctor();
  const passed = /doctor: 13 check\(s\) passed \(([^)]*)\); 0 problem\(s\) — ready/.exec(r.out)?.[1]?.split(', ').sort();
  expect(passed).toEqual(['ami', 'ari', 'clock', 'config', 'encryption', 'http', 'modules', 'prompts', 'recordings', 'redis', 'routine', 'systemname', 'checkpoints'].sort());
  expect(r.out).not.toContain('PROBLEM');
  // The sandbox's recordings are plain WAV files: a warning, not a problem.
  expect(r.out).toMatch(/^warning encryption: recordings of every profile are not encrypted: each is a plain WAV on this disk/m);
  expect(r.code).toBe(0);
}, 90000);

test('When recordings are encrypted, then doctor does not warn; a recipients file holding a private key, or an age that is not there, is a problem', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'civr-doctor-age-'));
  try {
    const key = join(dir, 'dpo.key');
    execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
    const good = join(dir, 'recipients.txt');
    writeFileSync(good, execFileSync('age-keygen', ['-y', key]));
    const ok = await doctor({ CONSENT_IVR_RECORDING_ENCRYPTION_RECIPIENTS_FILE: good });
    expect(ok.out).not.toContain('encryption:');
    expect(ok.out).toMatch(/doctor: 13 check\(s\) passed \([^)]*encryption/);
    expect(ok.code).toBe(0);
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, readFileSync(key));
    const wrong = await doctor({ CONSENT_IVR_RECORDING_ENCRYPTION_RECIPIENTS_FILE: bad });
    expect(wrong.out).toMatch(/^PROBLEM encryption: profile default: .*bad\.txt: line 3 is a private key/m);
    expect(wrong.code).toBe(1);
    const noAge = await doctor({ CONSENT_IVR_RECORDING_ENCRYPTION_RECIPIENTS_FILE: good, CONSENT_IVR_RECORDING_ENCRYPTION_AGE: join(dir, 'no-such-age') });
    expect(noAge.out).toMatch(/^PROBLEM encryption: recording\.encryption\.age: .*is not installed/m);
    expect(noAge.code).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120000);

test('When the AMI secret is wrong, then doctor fails naming AMI and the secret', async () => {
  const r = await doctor({ CONSENT_IVR_AMI_SECRET: 'not-the-secret' });
  expect(r.out).toMatch(/^PROBLEM ami: AMI refuses user consent-ivr: wrong ami\.user or secret/m);
  expect(r.out).not.toContain('not-the-secret');
  expect(r.code).toBe(1);
}, 90000);

test('When a prompt is missing, then doctor fails naming the file', async () => {
  const sounds = mkdtempSync(join(tmpdir(), 'civr-sounds-'));
  try {
    for (const lang of ['ar', 'fr']) cpSync(join(sandbox().soundsDir, lang, 'consent-ivr'), join(sounds, lang, 'consent-ivr'), { recursive: true });
    const gone = join(sounds, 'fr', 'consent-ivr', 'refused.wav');
    unlinkSync(gone);
    const r = await doctor({ CONSENT_IVR_PROMPTS_SOUNDS_DIR: sounds });
    expect(r.out).toContain(`PROBLEM prompts: profile default: prompt missing or unreadable: ${gone}`);
    expect(r.out.match(/^PROBLEM prompts/gm)).toHaveLength(1);
    expect(r.code).toBe(1);
  } finally {
    rmSync(sounds, { recursive: true, force: true });
  }
}, 90000);

test('When Redis keeps nothing across a restart, then doctor fails saying so, and the service says it loudly at start-up', async () => {
  // A Redis that keeps nothing across a restart (no AOF, no snapshots).
  const redis = await RedisServer.start({ persistence: false });
  try {
    const r = await doctor({ CONSENT_IVR_REDIS_URL: redis.url });
    expect(r.out).toMatch(/^PROBLEM redis: Redis keeps nothing across a restart \(no AOF, no RDB snapshots\)/m);
    expect(r.code).toBe(1);
    const app = await startApp({ CONSENT_IVR_REDIS_URL: redis.url });
    try {
      const line = await app.waitForLog((l) => String(l.message).startsWith('Redis keeps nothing across a restart'), 15000, 'the persistence warning');
      expect(line.level).toBe('error');
    } finally {
      expect(await app.stop()).toBe(0);
    }
  } finally {
    await redis.destroy();
  }
}, 90000);

test('When the routine is not in the loaded dialplan, then doctor fails naming it; reloaded, it passes again', async () => {
  asteriskCli('dialplan remove context consent-ivr-withdraw');
  try {
    const r = await doctor();
    expect(r.out).toMatch(/^PROBLEM routine: consent-ivr-withdraw,s,1 is not in Asterisk's loaded dialplan: #include dialplans\/consent-ivr\.conf/m);
    expect(r.code).toBe(1);
  } finally {
    asteriskCli('dialplan reload');
  }
  expect((await doctor()).code).toBe(0);
}, 90000);

test('When two servers share the ledger and this one makes UNIQUEIDs without a system name, then doctor warns, naming both and the one without; it still passes', async () => {
  // The sandbox's Asterisk has no systemname (it is shared: its asterisk.conf stays as it is).
  const redis = await RedisServer.start();
  const work = mkdtempSync(join(tmpdir(), 'civr-doctor-'));
  try {
    const now = Date.now();
    const quiet = createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));
    for (const [server, uniqueId] of [['srv-a', `${Math.floor(now / 1000)}.1`], ['srv-b', `pbxb-${Math.floor(now / 1000)}.1`]] as const) {
      const config = testConfig({ server: { id: server }, redis: { url: redis.url }, ledger: { journalPath: join(work, `${server}.jsonl`) } }, work);
      const ledger = await createLedger(config, quiet);
      await new Promise<void>((ready) => ledger.onReady(ready));
      const at = new Date(now - 60_000).toISOString();
      expect(await ledger.ledger.recordOutcome(testRecord({ uniqueId, enteredAt: at, noticeStartedAt: at, decidedAt: at, recording: testRecording(`/rec/2026/11/30/${uniqueId}.wav`, server, at) }))).toBe('redis');
      await ledger.close();
    }
    const r = await doctor({ CONSENT_IVR_REDIS_URL: redis.url, CONSENT_IVR_SERVER_ID: 'srv-a' });
    expect(r.out).toMatch(/^warning systemname: this ledger holds the calls of several servers \(srv-a, srv-b\) and srv-a makes UNIQUEIDs without a system name: .*set systemname/m);
    expect(r.out).toMatch(/doctor: 13 check\(s\) passed \([^)]*systemname[^)]*\); 0 problem\(s\)/);
    expect(r.code).toBe(0);
  } finally {
    await redis.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}, 90000);

test("When this host's log in Redis no longer extends what this host signed, then doctor fails naming the log and both sizes", async () => {
  const redis = await RedisServer.start();
  const work = mkdtempSync(join(tmpdir(), 'civr-doctor-'));
  try {
    const signingKey = formatSigner(generateSigner('doctor-test'));
    const checkpointFile = join(work, 'checkpoints.jsonl');
    const config = testConfig({ redis: { url: redis.url }, ledger: { log: 'pbx-d', journalPath: join(work, 'j.jsonl'), checkpointFile } }, work, { signingKey });
    const quiet = createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));
    const ledger = await createLedger(config, quiet);
    await new Promise<void>((ready) => ledger.onReady(ready));
    const at = new Date(Date.now() - 60_000).toISOString();
    for (const i of [1, 2, 3]) expect(await ledger.ledger.recordOutcome(testRecord({ uniqueId: `${Math.floor(Date.now() / 1000)}.${i}`, enteredAt: at }))).toBe('redis');
    await ledger.close();
    const env = { CONSENT_IVR_REDIS_URL: redis.url, CONSENT_IVR_LEDGER_LOG: 'pbx-d', CONSENT_IVR_LEDGER_CHECKPOINT_FILE: checkpointFile, CONSENT_IVR_LEDGER_SIGNING_KEY: signingKey };
    expect((await runCli(['ledger', 'checkpoint'], env)).code).toBe(0);
    expect((await doctor(env)).out).toMatch(/doctor: 13 check\(s\) passed \([^)]*checkpoints/);
    // Redis loses the log's last entry (and the checkpoints kept with it).
    const raw = new Redis(redis.url);
    try {
      await raw.xdel('consent-ivr:{ledger:pbx-d}:chain', '3-0');
      await raw.del('consent-ivr:{ledger:pbx-d}:checkpoints');
    } finally {
      await raw.quit();
    }
    const r = await doctor(env);
    expect(r.out).toMatch(/PROBLEM checkpoints: the log is not a consistent extension of what this host signed.*"pbx-d" has 2 entries in Redis, but 3 were signed/);
    expect(r.code).not.toBe(0);
  } finally {
    await redis.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}, 90000);
