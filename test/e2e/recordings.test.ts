/**
 * Protected recordings on the real sandbox: a call accepted is recorded by Asterisk's MixMonitor as
 * usual, and once closed the service encrypts it to the controller's age keys, seals the encrypted
 * file and removes the plaintext. `recording decrypt` gives back the WAV (checked against its seal)
 * to the holder of a recipient's identity and to no one else; the service killed between the close and
 * the encryption encrypts at its next start; on two servers the one holding the file encrypts it; an
 * erasure destroys the recording's key, so a copy taken before it no longer opens, even with the
 * controller's identity. A Redis of this file's own; real service instances, real CLI, real age.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually, placeCall, promptSeconds, RedisServer, runCli, sandbox, soxStat, startApp, TestAmi, waitChannelsGone, wavSeconds, type RunningApp } from '../support';

const PREFIX = 'recordings-test:';

let redis: RedisServer;
let raw: Redis;
let work: string;
let base: string;
let ami: TestAmi;
/** The controller's identity (the DPO's), a sealed backup identity, and a stranger's. */
const id = { dpo: '', backup: '', stranger: '' };
let recipients: string;

function keygen(file: string): string {
  execFileSync('age-keygen', ['-o', file], { stdio: 'ignore' });
  return execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim();
}

/** The first bytes of a file. */
function head(file: string, n = 32): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function env(server: string, dir: string): Record<string, string> {
  return {
    CONSENT_IVR_REDIS_URL: redis.url,
    CONSENT_IVR_REDIS_KEY_PREFIX: PREFIX,
    CONSENT_IVR_SERVER_ID: server,
    CONSENT_IVR_RECORDING_DIR: dir,
    CONSENT_IVR_RECORDING_SEAL_POLL_MS: '300',
    CONSENT_IVR_SERVER_DELETION_POLL_MS: '300',
    CONSENT_IVR_RECORDING_ENCRYPTION_RECIPIENTS_FILE: recipients,
  };
}

/** A recording folder that the sandbox's Asterisk writes into. */
function recordingDir(name: string): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Files under a folder, relative to it. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as { name: string; parentPath?: string; path?: string; isFile(): boolean }[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path ?? '', e.name).slice(dir.length + 1))
    .sort();
}

/** A call accepted during the Arabic notice: the caller then talks (a 1 kHz tone) to the agent for about `talk` s. */
async function acceptedCall(app: RunningApp, callerNum: string, talk = 6): Promise<{ uid: string; plain: string }> {
  // MixMonitor's `b`: only the bridged conversation is recorded, which starts after the confirmation.
  const call = await placeCall(ami, { app: app.name, w1: 1.5, k1: '1', talk: promptSeconds('ar', 'accepted') + talk, agentSecs: talk, callerNum });
  const r = await call.result;
  expect(r.result).toBe('accepted');
  const uid = r.id as string;
  expect(await waitChannelsGone([uid], 30000)).toEqual([]);
  return { uid, plain: r.recording as string };
}

beforeAll(async () => {
  sandbox();
  redis = await RedisServer.start();
  raw = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  work = mkdtempSync(join(sandbox().stateDir, 'recordings-test-'));
  base = mkdtempSync(join(sandbox().recordingsDir, 'protected-'));
  const lines = ['dpo', 'backup'].map((who) => keygen(join(work, `${who}.key`)));
  keygen(join(work, 'stranger.key'));
  id.dpo = join(work, 'dpo.key');
  id.backup = join(work, 'backup.key');
  id.stranger = join(work, 'stranger.key');
  recipients = join(work, 'recipients.txt');
  writeFileSync(recipients, `# the DPO\n${lines[0]}\n# sealed backup key\n${lines[1]}\n`);
  ami = new TestAmi();
  await ami.start();
}, 30000);

afterAll(async () => {
  ami?.close();
  raw?.disconnect();
  await redis?.destroy();
  rmSync(work, { recursive: true, force: true });
  rmSync(base, { recursive: true, force: true });
});

describe('protected recordings', () => {
  test('When a caller accepts, then the file on disk is age-encrypted (no WAV left), decrypts to the call with either recipient, not with a stranger\'s identity, and verify re-hashes it', async () => {
    const dir = recordingDir('one');
    const e = env('srv-one', dir);
    const app = await startApp(e);
    let uid = '';
    let plain = '';
    let sealedKeyId: string | undefined;
    try {
      ({ uid, plain } = await acceptedCall(app, '+212600001001'));
      await eventually(() => existsSync(`${plain}.age`) && !existsSync(plain), 20000, 'the recording to be encrypted and its plaintext removed');
      const sealed = await app.waitForLog((l) => l.call === uid && l.message === 'recording encrypted and sealed', 5000, 'the seal');
      expect(sealed.keyId).toMatch(/^age-[0-9a-f]{16}$/);
      sealedKeyId = String(sealed.keyId);
    } finally {
      expect(await app.stop()).toBe(0);
    }
    const enc = `${plain}.age`;
    expect(head(enc, 4).toString('latin1')).not.toBe('RIFF');
    expect(head(enc, 22).toString('latin1')).toBe('age-encryption.org/v1\n');
    expect(filesUnder(dir).filter((f) => !f.endsWith('.age'))).toEqual([]);
    expect(statSync(enc).mode & 0o777).toBe(0o640);

    // The controller's identity, and the backup recipient's: the WAV the call made.
    for (const [who, identity] of [['dpo', id.dpo], ['backup', id.backup]] as const) {
      const out = join(work, `${uid}-${who}.wav`);
      const r = await runCli(['recording', 'decrypt', uid, '--identity', identity, '--out', out], e);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toContain(`decrypted ${uid}:`);
      expect(r.stdout).toContain('checked against its seal');
      expect(statSync(out).mode & 0o777).toBe(0o600);
      expect(head(out, 4).toString('latin1')).toBe('RIFF');
      // The caller's ~6 s of 1 kHz tone after the confirmation, not the notice.
      const seconds = wavSeconds(out);
      expect(seconds).toBeGreaterThan(1);
      expect(seconds).toBeLessThan(8);
      const stat = soxStat(out);
      expect(Math.abs(stat.hz - 1000)).toBeLessThan(100);
      expect(stat.rms).toBeGreaterThan(0.01);
    }
    // The same file twice: refused, nothing overwritten.
    const again = await runCli(['recording', 'decrypt', uid, '--identity', id.dpo, '--out', join(work, `${uid}-dpo.wav`)], e);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists');

    // A stranger's identity opens nothing, and leaves no file.
    const wrong = join(work, `${uid}-stranger.wav`);
    const refused = await runCli(['recording', 'decrypt', uid, '--identity', id.stranger, '--out', wrong], e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is not one of the recipients of key age-');
    expect(existsSync(wrong)).toBe(false);
    // Nor does the controller's identity open the file directly: it is encrypted to the recording's own key.
    const direct = spawnSync('age', ['--decrypt', '-i', id.dpo, enc], { encoding: 'utf8' });
    expect(direct.status).not.toBe(0);
    expect(direct.stderr).toContain('no identity matched');

    // verify --recordings re-hashes the encrypted file against its seal.
    const ok = await runCli(['ledger', 'verify', '--recordings', '--json'], e);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as { recordings: { intact: number; changed: unknown[] } }).recordings).toMatchObject({ intact: 1, changed: [] });
    // The bundle states the encryption and its key id.
    const bundleFile = join(work, 'bundle.json');
    const bundle = await runCli(['ledger', 'evidence', uid, '--out', bundleFile], e);
    expect([bundle.code, bundle.stderr]).toEqual([0, '']);
    const b = JSON.parse(readFileSync(bundleFile, 'utf8')) as { seal: { encryption?: { keyId: string } }; summary: { fr: string; ar: string } };
    expect(b.seal.encryption?.keyId).toBe(sealedKeyId);
    expect(b.summary.fr).toContain(`chiffré (age) : seule la clé du responsable du traitement ${sealedKeyId}`);
    expect(b.summary.ar).toContain(`مُشفَّر (age)`);
    const checked = await runCli(['evidence', 'verify', bundleFile, '--key', join(sandbox().stateDir, 'ledger-signing-key.pub')], e);
    expect([checked.code, checked.stderr]).toEqual([0, '']);
    // One byte changed in the encrypted file: verify finds it, decrypt refuses it.
    const copy = join(work, 'saved.age');
    copyFileSync(enc, copy);
    const bytes = readFileSync(enc);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff;
    writeFileSync(enc, bytes);
    const changed = await runCli(['ledger', 'verify', '--recordings', '--json'], e);
    expect(changed.code).toBe(1);
    expect((JSON.parse(changed.stdout) as { recordings: { changed: unknown[] } }).recordings.changed).toHaveLength(1);
    const tampered = await runCli(['recording', 'decrypt', uid, '--identity', id.dpo, '--out', join(work, 'tampered.wav')], e);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('differs from its seal');
    copyFileSync(copy, enc);
  }, 120000);

  test('When the service is killed while a recorded call goes on, then at its next start the closed recording is encrypted before anything else and no plaintext is left', async () => {
    const dir = recordingDir('killed');
    const e = env('srv-killed', dir);
    const first = await startApp(e);
    const call = await placeCall(ami, { app: first.name, w1: 1.5, k1: '1', talk: promptSeconds('ar', 'accepted') + 8, agentSecs: 8, callerNum: '+212600001002' });
    const r = await call.result;
    expect(r.result).toBe('accepted');
    const uid = r.id as string;
    const plain = r.recording as string;
    await first.waitForLog((l) => l.call === uid && l.message === 'recording started', 10000, 'the recording to start');
    expect(await first.stop('SIGKILL')).not.toBe(0);
    // The call goes on in the dialplan; MixMonitor closes the file at its hangup.
    expect(await waitChannelsGone([uid], 30000)).toEqual([]);
    expect(existsSync(plain)).toBe(true);
    expect(existsSync(`${plain}.age`)).toBe(false);

    const second = await startApp(e, first.name);
    try {
      const recovered = second.lines.find((l) => l.message === 'recordings closed while the service was down are sealed');
      expect(recovered).toMatchObject({ recordings: 1 });
      // Before the service said it was ready.
      const order = second.lines.map((l) => l.message);
      expect(order.indexOf('recordings closed while the service was down are sealed')).toBeLessThan(order.indexOf('consent-ivr ready'));
      expect(existsSync(plain)).toBe(false);
      expect(head(`${plain}.age`, 22).toString('latin1')).toBe('age-encryption.org/v1\n');
      expect(filesUnder(dir).filter((f) => !f.endsWith('.age'))).toEqual([]);
    } finally {
      expect(await second.stop()).toBe(0);
    }
    const out = join(work, `${uid}-recovered.wav`);
    const d = await runCli(['recording', 'decrypt', uid, '--identity', id.dpo, '--out', out], e);
    expect([d.code, d.stderr]).toEqual([0, '']);
    expect(wavSeconds(out)).toBeGreaterThan(3);
  }, 120000);

  test('When two servers share the ledger, then the server holding the recording encrypts it, and decryption is refused elsewhere with the server named', async () => {
    const dirA = recordingDir('srv-a');
    const dirB = recordingDir('srv-b');
    const [appA, appB] = await Promise.all([startApp(env('srv-a', dirA)), startApp(env('srv-b', dirB))]);
    let uid = '';
    let plain = '';
    try {
      ({ uid, plain } = await acceptedCall(appB, '+212600001003'));
      expect(plain.startsWith(dirB)).toBe(true);
      await eventually(() => existsSync(`${plain}.age`) && !existsSync(plain), 20000, 'B to encrypt its recording');
      await appB.waitForLog((l) => l.call === uid && l.message === 'recording encrypted and sealed', 5000, 'B to log the seal');
      expect(appA.lines.some((l) => l.call === uid && l.message === 'recording encrypted and sealed')).toBe(false);
      expect(filesUnder(dirA)).toEqual([]);
    } finally {
      expect(await Promise.all([appA.stop(), appB.stop()])).toEqual([0, 0]);
    }
    const there = await runCli(['recording', 'decrypt', uid, '--identity', id.dpo, '--out', join(work, 'a.wav')], env('srv-a', dirA));
    expect(there.code).toBe(1);
    expect(there.stderr).toContain('its recording is on server srv-b; run this command there');
    const here = await runCli(['recording', 'decrypt', uid, '--identity', id.dpo, '--out', join(work, 'b.wav')], env('srv-b', dirB));
    expect([here.code, here.stderr]).toEqual([0, '']);
  }, 120000);

  test("When a caller is erased, then their recording's key is destroyed: a copy of the encrypted file taken before no longer opens, even with the controller's identity", async () => {
    const dir = recordingDir('erased');
    const e = env('srv-erased', dir);
    const app = await startApp(e);
    const caller = '+212600001004';
    let uid = '';
    let plain = '';
    try {
      ({ uid, plain } = await acceptedCall(app, caller));
      await eventually(() => existsSync(`${plain}.age`) && !existsSync(plain), 20000, 'the recording to be encrypted');
    } finally {
      expect(await app.stop()).toBe(0);
    }
    // A backup of the encrypted file, taken while it could still be decrypted.
    const backup = join(work, 'backup-of-erased.age');
    copyFileSync(`${plain}.age`, backup);
    const before = await runCli(['recording', 'decrypt', uid, '--identity', id.dpo, '--out', join(work, 'before.wav')], e);
    expect(before.code).toBe(0);

    const erase = await runCli(['ledger', 'erase', '--caller', caller], e);
    expect([erase.code, erase.stderr]).toEqual([0, '']);
    expect(existsSync(`${plain}.age`)).toBe(false);
    // The erasure entry says the key was destroyed; Redis keeps only its tombstone.
    const kept = await raw.hget(`${PREFIX}{ledger}:recording-keys`, uid);
    expect(JSON.parse(kept ?? '{}')).toEqual({ uniqueId: uid, destroyedAtMs: expect.any(Number) });
    const entries = [];
    for (const key of await raw.keys(`${PREFIX}{ledger*:chain`)) {
      for (const [, f] of await raw.xrange(key, '-', '+')) entries.push(JSON.parse(String(f[f.indexOf('body') + 1])) as Record<string, unknown>);
    }
    expect(entries.find((b) => b.type === 'erasure' && b.uniqueId === uid)).toMatchObject({ recording: 'deleted', recordingKey: 'destroyed' });

    // The backup put back where it was: the command refuses it, and no tool opens it.
    copyFileSync(backup, `${plain}.age`);
    const after = await runCli(['recording', 'decrypt', uid, '--identity', id.dpo, '--out', join(work, 'after.wav')], e);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('was erased at');
    expect(after.stderr).toContain('no one can decrypt any copy of it');
    for (const identity of [id.dpo, id.backup]) {
      const direct = spawnSync('age', ['--decrypt', '-i', identity, backup], { encoding: 'utf8' });
      expect(direct.status).not.toBe(0);
      expect(direct.stderr).toContain('no identity matched');
    }
    rmSync(`${plain}.age`);
  }, 120000);

  test("When a caller asks for access, then the folder holds their records and a decrypted copy of their recording, and nothing of another caller's", async () => {
    const dir = recordingDir('access');
    const e = env('srv-access', dir);
    const app = await startApp(e);
    const [asking, other] = ['+212600001005', '+212600001006'];
    let mine = { uid: '', plain: '' };
    let theirs = { uid: '', plain: '' };
    try {
      [mine, theirs] = await Promise.all([acceptedCall(app, asking), acceptedCall(app, other)]);
      await eventually(() => [mine, theirs].every((c) => existsSync(`${c.plain}.age`) && !existsSync(c.plain)), 20000, 'both recordings encrypted');
    } finally {
      expect(await app.stop()).toBe(0);
    }
    const out = join(work, 'access-request');
    const r = await runCli(['ledger', 'access', '--caller', asking, '--out', out, '--identity', id.dpo, '--json'], e);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(r.stdout)).toMatchObject({ records: 1, recordings: 1, failures: [] });
    const files = filesUnder(out);
    expect(files).toContain(`recordings/${mine.uid}.wav`);
    const copy = join(out, 'recordings', `${mine.uid}.wav`);
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    expect(head(copy, 4).toString('latin1')).toBe('RIFF');
    expect(Math.abs(soxStat(copy).hz - 1000)).toBeLessThan(100);
    // Nothing of the other caller: no file named after their call, no mention of it or of either number in any file.
    for (const f of files) {
      const text = readFileSync(join(out, f)).toString('latin1');
      expect([f, text.includes(theirs.uid)]).toEqual([f, false]);
      expect([f, text.includes(other), text.includes(asking)]).toEqual([f, false, false]);
    }
    expect(files.some((f) => f.includes(theirs.uid))).toBe(false);
  }, 120000);
});
