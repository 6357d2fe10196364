/**
 * Faults and hostile input against the real sandbox. Each test asserts that no channel is left,
 * that nothing is recorded without an accept, and that the service keeps serving calls.
 */
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { logBase } from '../../src/adapters/redis/keys';
import { freePort, RedisServer, ariApplication, asteriskCli, eventually, EVENTS_ACTED_ON, letTimePass, ServiceProcess, placeCall, recordingsOf, RunningApp, runCli, sandbox, stasisChannels, startApp, TestAmi, waitChannelsGone } from '../support';

let ami: TestAmi;
const fast = { CONSENT_IVR_FLOW_INPUT_TIMEOUT_MS: '1500', CONSENT_IVR_FLOW_MAX_ATTEMPTS: '2' };

beforeAll(async () => {
  ami = new TestAmi();
  await ami.start();
});

// Runs after every describe's own clean-up: kills a service instance a failed test left running.
afterAll(async () => {
  ami.close();
  await ServiceProcess.killLeftovers();
});

async function stopClean(app: RunningApp, name: string, forbidden: string[] = []): Promise<void> {
  const code = await app.stop();
  app.saveLog(name);
  expect(code).toBe(0);
  expect(app.leaks(forbidden)).toEqual([]);
}

describe('when the service is not there', () => {
  test('When no service serves the Stasis application, then the routine returns at once with unavailable and the dialplan goes on', async () => {
    const call = await placeCall(ami, { app: 'civr-nobody', w1: 20, hangupAfter: 1 });
    const uid = await call.uniqueId;
    const r = await call.result;
    expect(r).toMatchObject({ result: 'unavailable', reason: 'app-not-connected', db: 'unavailable', recording: '' });
    expect(await waitChannelsGone([uid], 30000)).toEqual([]);
    expect(recordingsOf(uid)).toEqual([]);
  });

  test('When the service is killed mid-call, then new calls get unavailable, and once it is back the calls it left are handed back (decisions honoured, the rest unrecorded) and the next call works', async () => {
    let app = await startApp(fast);
    const name = app.name;
    const stranded = await placeCall(ami, { app: name, w1: 40, hangupAfter: 1 });
    const accepted = await placeCall(ami, { app: name, w1: 1, k1: '1', talk: 25 });
    const refused = await placeCall(ami, { app: name, w1: 1, k1: '2', talk: 25 });
    const strandedId = await stranded.uniqueId;
    const [acceptedId, refusedId] = [await accepted.uniqueId, await refused.uniqueId];
    await app.waitForLog((l) => l.call === strandedId && l.message === 'play', 10000, 'the notice to start');
    // Killed while the two others hear their confirmation: their decisions are stored, not handed back.
    await app.waitForLog((l) => l.call === acceptedId && l.message === 'recording started', 10000, 'the recording to start');
    // The confirmation plays only once the decision is stored: from then on it must be honoured.
    await app.waitForLog((l) => l.call === refusedId && l.message === 'play' && l.prompt === 'refused', 10000, 'the stored refusal');
    await app.stop('SIGKILL');
    app.saveLog('killed');
    // Asterisk notices the dead websocket within milliseconds; a call placed in that gap would enter
    // the dead application and wait there for the restart instead of getting "unavailable". Nothing
    // Asterisk exposes changes when it does (ARI and `ari show app` describe the application alike
    // before and after, while it holds channels), so give it a second.
    await letTimePass(1000, 'Asterisk to deactivate the application of the dead websocket');

    const during = await placeCall(ami, { app: name, w1: 20, hangupAfter: 1 });
    expect(await during.result).toMatchObject({ result: 'unavailable' });

    app = await startApp(fast, name);
    expect(await stranded.result).toMatchObject({ result: 'error', reason: 'recovered', recording: '' });
    expect(recordingsOf(strandedId)).toEqual([]);
    // A decision made before the crash is honoured.
    const a = await accepted.result;
    expect(a).toMatchObject({ result: 'accepted', reason: 'recovered' });
    expect(String(a.recording).endsWith(`/${acceptedId}.wav`)).toBe(true);
    expect(await refused.result).toMatchObject({ result: 'refused', reason: 'recovered', recording: '' });
    expect(recordingsOf(refusedId)).toEqual([]);

    const next = await placeCall(ami, { app: name, w1: 1, k1: '2', talk: 8 });
    expect(await next.result).toMatchObject({ result: 'refused' });
    expect(await waitChannelsGone([strandedId, acceptedId, refusedId, await during.uniqueId, await next.uniqueId], 40000)).toEqual([]);
    expect(await stasisChannels(name)).toEqual([]);
    await stopClean(app, 'restarted');
  });
});

describe('AMI down', () => {
  test('When AMI cannot be reached, then an accepted call continues unrecorded with error, a refusal still works, and nothing pretends otherwise', async () => {
    const app = await startApp({ ...fast, CONSENT_IVR_AMI_PORT: '1', CONSENT_IVR_AMI_ACTION_TIMEOUT_MS: '1000' });
    expect(app.lines.some((l) => l.message === 'AMI not reachable yet; accepted calls continue unrecorded until it is')).toBe(true);
    const accept = await placeCall(ami, { app: app.name, w1: 1, k1: '1', talk: 8 });
    const refuse = await placeCall(ami, { app: app.name, w1: 1, k1: '2', talk: 8 });
    const a = await accept.result;
    expect(a).toMatchObject({ result: 'error', reason: 'recording-failed', recording: '' });
    expect(await refuse.result).toMatchObject({ result: 'refused' });
    expect(recordingsOf(a.id as string)).toEqual([]);
    // The caller heard "this call will not be recorded", never "will be recorded".
    const prompts = app.lines.filter((l) => l.call === a.id && l.message === 'play').map((l) => l.prompt);
    expect(prompts).toContain('refused');
    expect(prompts).not.toContain('accepted');
    await stopClean(app, 'ami-down');
  });
});

describe('Asterisk restarted', () => {
  async function readyz(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** /readyz once it answers `status` (while Asterisk restarts, it may not answer at all). */
  const readyzIs = (port: number, status: number, ms: number, what: string) =>
    eventually(async () => readyz(port).then((r) => r.status === status && r, () => undefined), ms, what, 200);

  test('When Asterisk restarts, then the service notices, reports not ready, reconnects by itself and serves the next call', async () => {
    const port = await freePort();
    const app = await startApp({ ...fast, CONSENT_IVR_METRICS_PORT: String(port) });
    expect((await readyz(port)).status).toBe(200);
    asteriskCli('core restart now');
    const down = await readyzIs(port, 503, 15000, '/readyz to report the outage');
    expect(down.body).toMatchObject({ ready: false });
    await app.waitForLog((l) => /ARI websocket (lost|silent)|ARI client gave up|AMI connection lost/.test(String(l.message)), 15000, 'the outage in the logs');
    await readyzIs(port, 200, 60000, '/readyz to recover');
    await app.waitForLog((l) => l.message === 'AMI connected' && app.lines.indexOf(l) > 5, 30000, 'AMI to reconnect');
    // The restarted Asterisk knows nothing of the event filter: the service sets it again.
    const filtered = await eventually(
      async () => ariApplication(app.name).then((a) => (a?.events_allowed.length ?? 0) > 0 && a, () => undefined),
      10000,
      'the event filter to be set again',
      200,
    );
    expect(filtered?.events_allowed.map((e) => e.type).sort()).toEqual(EVENTS_ACTED_ON);
    const call = await placeCall(ami, { app: app.name, w1: 1, k1: '2', talk: 8 });
    expect(await call.result).toMatchObject({ result: 'refused' });
    await stopClean(app, 'asterisk-restart');
  }, 120000);
});

describe('Redis down', () => {
  test('When Redis stops during calls, then decisions go to the journal, calls are not held up, and once Redis is back every record is there exactly once', async () => {
    const redis = await RedisServer.start();
    const raw = new Redis({ port: redis.port, maxRetriesPerRequest: 1, lazyConnect: true });
    raw.on('error', () => undefined);
    const app = await startApp({ ...fast, CONSENT_IVR_REDIS_URL: redis.url, CONSENT_IVR_REDIS_WRITE_TIMEOUT_MS: '300', CONSENT_IVR_LEDGER_REPLAY_INTERVAL_MS: '500' });
    try {
      const before = await placeCall(ami, { app: app.name, w1: 1, k1: '2', talk: 8 });
      expect(await before.result).toMatchObject({ result: 'refused' });
      await redis.down();

      const accept = await placeCall(ami, { app: app.name, w1: 1, k1: '1', talk: 8 });
      const refuse = await placeCall(ami, { app: app.name, w1: 1, k1: '2', talk: 8 });
      const a = await accept.result;
      // The journal is durable storage: the accept stands and the call is recorded.
      expect(a).toMatchObject({ result: 'accepted' });
      expect(await refuse.result).toMatchObject({ result: 'refused' });
      const ids = [await before.uniqueId, await accept.uniqueId, await refuse.uniqueId];
      for (const id of ids.slice(1)) {
        await app.waitForLog((l) => l.call === id && l.message === 'decision stored in the local journal (ledger unavailable)', 5000, `journal write of ${id}`);
      }
      await waitChannelsGone(ids, 30000);

      await redis.up();
      await raw.connect();
      const base = logBase('consent-ivr:', app.name);
      const rec = (id: string) => `${base}rec:${id}`;
      await eventually(async () => (await Promise.all(ids.map((id) => raw.exists(rec(id))))).every((n) => n === 1), 20000, 'every record in Redis after the replay', 250);
      for (const id of ids) {
        const stored = JSON.parse((await raw.hget(rec(id), 'record')) ?? 'null') as { outcome: string; recordingPath: string | null } | null;
        expect(stored?.outcome).toBe(id === ids[1] ? 'accepted' : 'refused');
      }
      expect(JSON.parse((await raw.hget(rec(ids[1] as string), 'record')) as string).recordingPath).toBe(a.recording);
      // Exactly once: one decision and one outcome entry per call in the chain (the recording's seal aside).
      const bodies = (await raw.xrange(`${base}chain`, '-', '+')).map(([, f]) => JSON.parse(f[f.indexOf('body') + 1] as string) as { type: string; uniqueId: string });
      for (const id of ids) expect(bodies.filter((b) => b.uniqueId === id && b.type !== 'seal').map((b) => b.type).sort()).toEqual(['decision', 'outcome']);
    } finally {
      raw.disconnect();
      await stopClean(app, 'redis-down');
      await redis.destroy();
    }
  });
});

describe('shutdown', () => {
  test('When SIGTERM arrives during a flow, then the flow gets the grace period, the call continues unrecorded, and the service exits 0', async () => {
    const app = await startApp({ ...fast, CONSENT_IVR_FLOW_SHUTDOWN_GRACE_MS: '1000' });
    const call = await placeCall(ami, { app: app.name, w1: 30, hangupAfter: 1 });
    const uid = await call.uniqueId;
    await app.waitForLog((l) => l.call === uid && l.message === 'play', 10000, 'the notice to start');
    const code = await app.stop('SIGTERM');
    expect(code).toBe(0);
    expect(await call.result).toMatchObject({ result: 'error', reason: 'deadline', recording: '' });
    expect(app.lines.some((l) => l.message === 'stopped')).toBe(true);
    expect(await waitChannelsGone([uid], 40000)).toEqual([]);
  });
});

describe('hostile and broken input', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp(fast);
  });

  const nasty = {
    // CR/LF that would add AMI headers or a second action, commas and quotes for MixMonitor's File
    // field, a path traversal; the dialplan then makes it over 1 KB long.
    number: `0612345678\r\nAction: Originate\r\nChannel: Local/s@consent-test-agent\r\n\r\n,b,/bin/touch /tmp/pwned"'../../etc/passwd`,
    // Arabic script followed by bytes that are not valid UTF-8 (decoded from %FF%FE in the dialplan).
    nameUri: `${encodeURIComponent('محمد')}%FF%FE%22%0D%0A`,
  };

  test('When the caller ID is hostile, then the call is served normally, nothing reaches AMI or a file name, and the number is absent from logs', async () => {
    const call = await placeCall(ami, { app: app.name, w1: 1, k1: '1', talk: 8, callerNum: nasty.number, callerNameUri: nasty.nameUri, callerLong: true });
    const uid = await call.uniqueId;
    const r = await call.result;
    expect(r).toMatchObject({ result: 'accepted' });
    expect(String(r.recording).endsWith(`/${uid}.wav`)).toBe(true);
    expect(existsSync('/tmp/pwned')).toBe(false);
    expect(await waitChannelsGone([uid], 30000)).toEqual([]);
    const text = app.raw.join('\n');
    expect(text).not.toContain('0612345678');
    expect(text).not.toContain('Originate');
    expect(text).not.toContain('etc/passwd');
  });

  test('When digits flood in (tens a second, * # A-D), then the first valid key decides, once, and nothing crashes', async () => {
    const call = await placeCall(ami, { app: app.name, w1: 1, k1: '*#ABCD5121212120', talk: 8 });
    const uid = await call.uniqueId;
    const r = await call.result;
    // * and # are invalid (two attempts, maxAttempts 2): the flow ends as no-input, unrecorded.
    expect(r).toMatchObject({ result: 'no-input', recording: '' });
    expect(app.lines.filter((l) => l.call === uid && l.message === 'decision')).toHaveLength(1);
    expect(recordingsOf(uid)).toEqual([]);
    const next = await placeCall(ami, { app: app.name, w1: 1, k1: '2111', talk: 8 });
    expect(await next.result).toMatchObject({ result: 'refused' });
  });

  afterAll(async () => {
    await stopClean(app, 'hostile', ['0612345678']);
    expect(await stasisChannels(app.name)).toEqual([]);
  });
});

describe('bad configuration and credentials', () => {
  test('When the ARI password is wrong, then the service says so plainly, exits 2 and prints no secret', async () => {
    const r = await runCli(['start'], { CONSENT_IVR_ARI_PASSWORD: 'wrong-password-1234' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ARI refused the credentials of user consent-ivr/);
    expect(`${r.stdout}${r.stderr}`).not.toContain('wrong-password-1234');
    expect(`${r.stdout}${r.stderr}`).not.toContain(sandbox().ami.secret);
  });

  test('When the AMI secret is wrong, then the service says so plainly, exits 2 and prints no secret', async () => {
    const r = await runCli(['start'], { CONSENT_IVR_AMI_SECRET: 'wrong-secret-5678' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/AMI login as consent-ivr failed/);
    expect(`${r.stdout}${r.stderr}`).not.toContain('wrong-secret-5678');
    expect(`${r.stdout}${r.stderr}`).not.toContain(sandbox().ari.password);
  });

  test('When Asterisk cannot be reached, then the service keeps retrying with a clear warning instead of crashing', async () => {
    const r = await runCli(['start'], { CONSENT_IVR_ARI_URL: 'http://127.0.0.1:1', CONSENT_IVR_AMI_PORT: '1' }, 10000);
    // Still running when killed after 10 s: no crash loop.
    expect(r.code).toBeNull();
    expect(r.stdout).toContain('ARI not reachable; retrying');
    expect(r.stdout).not.toContain(sandbox().ari.password);
  });

  test('When the configuration is invalid, then the service names the key and exits 2', async () => {
    const r = await runCli(['start'], { CONSENT_IVR_FLOW_MAX_ATTEMPTS: 'many' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('flow.maxAttempts');
  });
});
