/**
 * `consent-ivr doctor` against the real sandbox: it passes there (run with no --config, as an
 * administrator would in a checkout), and fails naming the cause when something the service needs is
 * wrong: the AMI secret, a prompt, Redis's persistence, the routine in the dialplan.
 */
import { cpSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer } from '../support';
import { asteriskCli, runCli, sandbox, startApp } from '../support';

/** `consent-ivr doctor` with no --config (the checkout's sandbox configuration), plus `env`. */
async function doctor(env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const r = await runCli(['doctor'], env, 60000);
  return { code: r.code, out: r.stdout + r.stderr };
}

beforeAll(() => sandbox());

test('When the sandbox is up, then doctor passes every check with no --config, and says so', async () => {
  const r = await doctor();
  const passed = /doctor: 10 check\(s\) passed \(([^)]*)\); 0 problem\(s\) — ready/.exec(r.out)?.[1]?.split(', ').sort();
  expect(passed).toEqual(['ami', 'ari', 'clock', 'config', 'http', 'modules', 'prompts', 'recordings', 'redis', 'routine']);
  expect(r.out).not.toContain('PROBLEM');
  expect(r.code).toBe(0);
}, 90000);

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
    expect(r.out).toContain(`PROBLEM prompts: prompt missing or unreadable: ${gone}`);
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
