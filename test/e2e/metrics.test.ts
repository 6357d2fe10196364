/**
 * The metrics and health endpoints of the real service (`consent-ivr start`, started by startApp with
 * CONSENT_IVR_METRICS_PORT=0): the port it logs is the one bound, /healthz and /readyz answer, and a
 * real call placed through the sandbox shows up in /metrics.
 */
import { placeCall, promValue as sample, RunningApp, sandbox, startApp, TestAmi, until, waitChannelsGone } from '../support';

let ami: TestAmi;
let app: RunningApp;
let port = 0;

async function get(path: string, p = port, method = 'GET'): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(`http://127.0.0.1:${p}${path}`, { method, signal: AbortSignal.timeout(5000) });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

beforeAll(async () => {
  sandbox();
  ami = new TestAmi();
  await ami.start();
  app = await startApp();
  port = app.metricsPort;
}, 60000);

afterAll(async () => {
  // stop() keeps the instance's output in the sandbox's logs folder.
  const code = await app?.stop();
  ami?.close();
  expect(code).toBe(0);
});

describe('metrics and health endpoints', () => {
  test('When the service is started with metrics port 0, then it logs the port it is really bound to', () => {
    expect(Number.isInteger(port)).toBe(true);
    expect(port).toBeGreaterThan(0);
  });

  test('When /healthz is asked, then it answers 200 while the process runs', async () => {
    const r = await get('/healthz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true });
  });

  test('When ARI and AMI are connected, then /readyz is 200 and the connection gauges are 1', async () => {
    const r = await get('/readyz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ ready: true, ari: 'up', ami: 'up', redis: 'up', journalBacklog: 0 });
    const m = (await get('/metrics')).body;
    expect(sample(m, 'consent_ivr_ready')).toBe(1);
    expect(sample(m, 'consent_ivr_ari_connected')).toBe(1);
    expect(sample(m, 'consent_ivr_ami_connected')).toBe(1);
    expect(sample(m, 'consent_ivr_redis_connected')).toBe(1);
  });

  test('When an unknown path or another method is used, then the listener answers 404 or 405', async () => {
    expect((await get('/nothing-here')).status).toBe(404);
    expect((await get('/metrics', port, 'POST')).status).toBe(405);
    // A scraper's query string does not change the route.
    expect((await get('/healthz?probe=1')).status).toBe(200);
  });

  test('When a real call is accepted, then /metrics counts its outcome and language, its flow time, decision time, recording start time and ledger writes', async () => {
    const before = (await get('/metrics')).body;
    expect((await get('/metrics')).type).toMatch(/^text\/plain/);
    // The caller keeps talking longer than the confirmation prompt (about 4 s), so the routine returns.
    const call = await placeCall(ami, { app: app.name, w1: 1, k1: '1', talk: 10, agentSecs: 1 });
    const uid = await call.uniqueId;
    const result = await call.result;
    expect(result.result).toBe('accepted');
    const lang = result.lang as string;
    expect(['ar', 'fr']).toContain(lang);
    await app.waitForLog((l) => l.call === uid && l.message === 'consent flow ended', 30000, 'the end of the flow');

    const counted = (m: string) => sample(m, 'consent_ivr_calls_total', { outcome: 'accepted', lang });
    const outcomesStored = (m: string) => sample(m, 'consent_ivr_ledger_writes_total', { kind: 'outcome', stored_in: 'redis' });
    // The counters move once the call was handed back and its outcome stored: poll briefly.
    let after = before;
    await until(async () => {
      after = (await get('/metrics')).body;
      return counted(after) !== counted(before) && outcomesStored(after) !== outcomesStored(before);
    }, 5000);
    expect(counted(after)).toBe(counted(before) + 1);
    expect(sample(after, 'consent_ivr_calls_total', { outcome: 'refused' })).toBe(sample(before, 'consent_ivr_calls_total', { outcome: 'refused' }));
    expect(sample(after, 'consent_ivr_flow_duration_seconds_count', { outcome: 'accepted' })).toBe(
      sample(before, 'consent_ivr_flow_duration_seconds_count', { outcome: 'accepted' }) + 1,
    );
    expect(sample(after, 'consent_ivr_decision_seconds_count', { decision: 'accepted' })).toBe(
      sample(before, 'consent_ivr_decision_seconds_count', { decision: 'accepted' }) + 1,
    );
    expect(sample(after, 'consent_ivr_recording_start_seconds_count')).toBe(sample(before, 'consent_ivr_recording_start_seconds_count') + 1);
    // Key → MixMonitor confirmed, on an idle sandbox: well under a second (the histogram's 1 s bucket).
    expect(sample(after, 'consent_ivr_recording_start_seconds_bucket', { le: '1' })).toBe(sample(before, 'consent_ivr_recording_start_seconds_bucket', { le: '1' }) + 1);
    expect(sample(after, 'consent_ivr_ledger_writes_total', { kind: 'decision', stored_in: 'redis' })).toBe(
      sample(before, 'consent_ivr_ledger_writes_total', { kind: 'decision', stored_in: 'redis' }) + 1,
    );
    expect(outcomesStored(after)).toBe(outcomesStored(before) + 1);
    expect(sample(after, 'consent_ivr_ledger_writes_total', { stored_in: 'journal' })).toBe(sample(before, 'consent_ivr_ledger_writes_total', { stored_in: 'journal' }));
    expect(sample(after, 'consent_ivr_calls_in_flow')).toBe(0);
    expect(await waitChannelsGone([uid])).toEqual([]);
  });
});

describe('readiness without AMI', () => {
  test('When AMI cannot be reached, then /healthz is still 200 but /readyz is 503 and says AMI is down', async () => {
    // Nothing listens on port 1: AMI stays unreachable; the service starts anyway (after its 5 s wait).
    const other = await startApp({ CONSENT_IVR_AMI_PORT: '1' });
    try {
      const p = other.metricsPort;
      expect((await get('/healthz', p)).status).toBe(200);
      const r = await get('/readyz', p);
      expect(r.status).toBe(503);
      const body = JSON.parse(r.body) as { ready: boolean; ari: string; ami: string };
      expect(body).toMatchObject({ ready: false, ari: 'up' });
      expect(body.ami).not.toBe('up');
      expect(sample((await get('/metrics', p)).body, 'consent_ivr_ready')).toBe(0);
    } finally {
      expect(await other.stop()).toBe(0);
    }
  });
});
