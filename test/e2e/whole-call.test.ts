/**
 * Consent for the whole call, end to end against the real sandbox: outbound calls (the customer is
 * asked inside Dial's U() before being connected), and the caller's withdrawal with *9 during the
 * conversation — stopped by the dialplan at once, taken into the ledger by the service, even when
 * the service was down at the time.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pseudonymise } from '../../src/ledger/pseudonym';
import { activeChannels, asteriskCli, closedRecordingSeconds, recordingClosed, until, eventually, originateLocal, waitChannelsGone, windowLevels, AmiEvent, bandLevel, CallScript, placeCall as place, placeOutboundCall, promptSeconds, recordingsOf, RunningApp, sandbox, startApp, TestAmi, wavSeconds, ledgerRecord, ledgerRecordWhen, requireSipp, runSipp } from '../support';
import { execFileSync } from 'node:child_process';

let ami: TestAmi;
/** The default configuration: a withdrawal deletes the part already recorded. */
let app: RunningApp;
/** partialRecording: keep. */
let keeper: RunningApp;

const FAST = {
  CONSENT_IVR_FLOW_INPUT_TIMEOUT_MS: '1500',
  CONSENT_IVR_FLOW_MAX_ATTEMPTS: '2',
  CONSENT_IVR_WITHDRAWAL_POLL_MS: '300',
};

beforeAll(async () => {
  sandbox();
  ami = new TestAmi();
  await ami.start();
  [app, keeper] = await Promise.all([startApp(FAST), startApp({ ...FAST, CONSENT_IVR_WITHDRAWAL_PARTIAL_RECORDING: 'keep' })]);
}, 60000);

afterAll(async () => {
  const codes = await Promise.all([app?.stop(), keeper?.stop()]);
  expect(app?.leaks(['0612345678'])).toEqual([]);
  expect(keeper?.leaks(['0612345678'])).toEqual([]);
  ami?.close();
  expect(codes).toEqual([0, 0]);
});

const pseudonymKey = () => readFileSync(resolve(sandbox().stateDir, 'secrets', 'pseudonym-key'), 'utf8').trim();

/** Seconds after the accept before the conversation starts: the confirmation prompt, plus a margin. */
const afterAccept = () => promptSeconds('ar', 'accepted') + 2.5;

function withdrawnEvent(uniqueId: string, ms = 60000): Promise<AmiEvent> {
  return ami.waitFor((e) => e.event === 'UserEvent' && e.userevent === 'ConsentIvrWithdrawn' && e.id === uniqueId, ms, `withdrawal of ${uniqueId}`);
}

/** The dialplan playing one of the withdrawal routine's prompts on a channel. */
function promptPlayed(uniqueId: string, prompt: string, ms = 60000): Promise<AmiEvent> {
  return ami.waitFor(
    (e) => e.event === 'Newexten' && e.uniqueid === uniqueId && e.application === 'Playback' && e.appdata === `consent-ivr/${prompt}`,
    ms,
    `${prompt} played to ${uniqueId}`,
  );
}

/** The linkedid of a placed inbound test call (all its channels share it). */
const linkedIdOf = (testId: string) => ami.events.find((e) => e.userevent === 'ConsentTestEnter' && e.testid === testId)?.linkedid;

/** The whisper the agent's channel of a test call heard before being connected. */
function agentWhisper(testId: string, ms = 30000): Promise<AmiEvent> {
  return ami.waitFor(
    (e) =>
      e.event === 'Newexten' &&
      e.application === 'Playback' &&
      /^consent-ivr\/agent-/.test(String(e.appdata)) &&
      String(e.channel).startsWith('Local/s@consent-test-agent-') &&
      e.linkedid === linkedIdOf(testId),
    ms,
    `the whisper to the agent of ${testId}`,
  );
}

/**
 * Whether a withdrawal of this call is still queued in Asterisk's AstDB for the service instance
 * (the dialplan queues it; the service takes it off once stored in the ledger).
 */
const withdrawalQueued = (to: RunningApp, uniqueId: string) => asteriskCli(`database get consent-ivr-withdrawn/${to.name} ${uniqueId}`).includes('Value:');

/** Resolves once the service has stored every withdrawal the dialplan queued for the call. */
async function withdrawalsStored(to: RunningApp, uniqueId: string): Promise<void> {
  expect(await until(() => !withdrawalQueued(to, uniqueId), 20000)).toBe(true);
}

/** Resolves once MixMonitor has closed the call's recording (with `ms` to do it): it records no more. */
async function recordingStopped(file: string, ms: number): Promise<void> {
  expect({ file, closed: await until(() => recordingClosed(file), ms) }).toEqual({ file, closed: true });
}

/** The longest run of windows quieter than `below`, in windows. */
function longestQuiet(levels: number[], below = 0.01): number {
  let best = 0;
  let run = 0;
  for (const l of levels) {
    run = l < below ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

async function inbound(to: RunningApp, script: CallScript) {
  const call = await place(ami, { app: to.name, ...script });
  return { uid: await call.uniqueId, result: call.result, testId: call.testId };
}

describe('outbound calls: the customer is asked before being connected', () => {
  test.concurrent('When the customer presses 1, then the conversation after the accept is recorded with both voices, and both sides see "accepted"', async () => {
    const call = await placeOutboundCall(ami, { app: app.name, w1: 1.5, k1: '1', talk: afterAccept() + 5 });
    const r = await call.result;
    expect(r).toMatchObject({ result: 'accepted', reason: 'key-accept', lang: 'ar', db: 'accepted', dialstatus: 'ANSWER' });
    const uid = r.id as string;
    expect(r.recording).toMatch(new RegExp(`/${uid.replace('.', '\\.')}\\.wav$`));
    expect(existsSync(r.recording as string)).toBe(true);
    // The conversation only (MixMonitor b): not the notice, which the agent never heard.
    const seconds = await closedRecordingSeconds(r.recording as string);
    expect(seconds).toBeGreaterThan(2);
    expect(seconds).toBeLessThan(afterAccept() + 5);
    // The customer's voice (1 kHz) and the agent's (500 Hz) are both in it.
    expect(bandLevel(r.recording as string, 900, 1100)).toBeGreaterThan(0.05);
    expect(bandLevel(r.recording as string, 400, 600)).toBeGreaterThan(0.05);
    // Meanwhile the agent heard music on hold (Dial's m option), from dialling until the customer was connected.
    const moh = ami.events.filter((e) => /^MusicOnHold(Start|Stop)$/.test(String(e.event)) && e.channel === r.channel);
    expect(moh.map((e) => e.event)).toEqual(['MusicOnHoldStart', 'MusicOnHoldStop']);
    const rec = await ledgerRecordWhen(uid, (x) => x.outcome === 'accepted');
    expect(Number(moh[1]?.timestamp) * 1000).toBeGreaterThanOrEqual(Date.parse(rec.decidedAt as string));
    // The subject is the customer: their number, pseudonymised like a caller's; never stored in clear.
    expect(rec).toMatchObject({ direction: 'outbound', calledNumber: '', callerPseudonym: pseudonymise('0612345678', pseudonymKey()) });
  });

  test.concurrent('When the customer accepts, then presses *9 in the conversation, then their recording stops and the ledger says withdrawn', async () => {
    const call = await placeOutboundCall(ami, { app: app.name, w1: 1.5, k1: '1', w4: afterAccept() + 3, k4: '*9', talk: 8 });
    const r = await call.result;
    expect(r).toMatchObject({ result: 'accepted', dialstatus: 'ANSWER' });
    const uid = r.id as string;
    expect(await withdrawnEvent(uid)).toMatchObject({ by: 'caller' });
    expect(await ledgerRecordWhen(uid, (x) => x.withdrawal !== null)).toMatchObject({ direction: 'outbound', withdrawal: { by: 'caller', recording: 'deleted' }, recording: { file: null } });
    expect(existsSync(r.recording as string)).toBe(false);
  });

  test.concurrent('When the customer presses 2, then the call is connected all the same, and nothing is recorded', async () => {
    const call = await placeOutboundCall(ami, { app: app.name, w1: 1.5, k1: '2', talk: 6 });
    const r = await call.result;
    expect(r).toMatchObject({ result: 'refused', reason: 'key-refuse', recording: '', db: 'refused', dialstatus: 'ANSWER' });
    // Connected: the agent and the customer were bridged for the customer's few seconds of talk.
    expect(Number(r.answered)).toBeGreaterThanOrEqual(3);
    expect(recordingsOf(r.id as string)).toEqual([]);
    expect(await ledgerRecordWhen(r.id as string, (x) => x.outcome === 'refused')).toMatchObject({ direction: 'outbound', recording: null });
  });

  test.concurrent('When the customer says nothing, then the call is connected unrecorded as no-input', async () => {
    const call = await placeOutboundCall(ami, { app: app.name, talk: 50 }, 120000);
    const r = await call.result;
    expect(r).toMatchObject({ result: 'no-input', reason: 'attempts-exhausted', recording: '', dialstatus: 'ANSWER' });
    expect(Number(r.answered)).toBeGreaterThan(0);
    expect(recordingsOf(r.id as string)).toEqual([]);
  }, 150000);

  test.concurrent('When the outbound routine is handed another call\'s channel as the agent\'s, then the service sets nothing on that channel (not the same linkedid), and the call goes on', async () => {
    // The channel named: an inbound caller, silent in its own consent flow meanwhile.
    const victim = await place(ami, { app: app.name, talk: 60, agentSecs: 2 });
    const victimUid = await victim.uniqueId;
    const enter = await ami.waitFor((e) => e.userevent === 'ConsentTestEnter' && e.unique === victimUid, 5000, 'the channel to name');
    const victimName = enter.channel as string;
    expect(victimName).toMatch(/^Local\/s@consent-test-in-/);

    const testId = `forged${Date.now() % 1000000}`;
    const result = ami.userEvent('ConsentTestOut', testId, 60000);
    await originateLocal(ami, 's', 'consent-test-out-forged', 'consent-test-agent-voice', {
      __TESTID: testId,
      __CONSENT_APP: app.name,
      __W1: '1.5',
      __K1: '2',
      __TALK: '8',
      FORGED_AGENT: victimName,
    });
    const customer = (await ami.waitFor((e) => e.userevent === 'ConsentTestCustomer' && e.testid === testId, 30000, 'the customer')).leg as string;
    expect(await app.callEnded(customer)).toMatchObject({ outcome: 'refused' });
    const r = await result;
    // Decided and connected; the agent's side (which the service was not allowed to name) got nothing either.
    expect(r).toMatchObject({ result: '', id: '', dialstatus: 'ANSWER' });
    expect(await ledgerRecordWhen(customer, (x) => x.outcome === 'refused')).toMatchObject({ direction: 'outbound', recording: null });
    expect(app.callLines(customer).map((l) => l.message)).toContain('result not set on the agent channel: that channel is not part of this call');

    // The named channel's own flow ends as its own; none of the forged call's values were set on it.
    expect(await victim.result).toMatchObject({ result: 'no-input' });
    const varName = (e: AmiEvent) => {
      const v = e.variable as unknown;
      return v && typeof v === 'object' ? (Object.keys(v)[0] ?? '') : String(v ?? '');
    };
    const set = ami.events.filter((e) => e.event === 'VarSet' && e.uniqueid === victimUid && varName(e).startsWith('CONSENT_'));
    expect(set.length).toBeGreaterThan(0);
    expect(set.filter((e) => e.value === customer || e.value === 'refused' || e.value === 'key-refuse')).toEqual([]);
  }, 120000);

  test.concurrent('When the customer hangs up during the notice, then nothing is recorded and the agent\'s dialplan goes on', async () => {
    const call = await placeOutboundCall(ami, { app: app.name, w1: 2, hangupAfter: 1 });
    const r = await call.result;
    // Dial returned at the hangup, before any decision: no result for the agent's side.
    expect(r).toMatchObject({ result: '', recording: '', db: '' });
    expect(r.dialstatus).not.toBe('');
    const uid = (await ami.waitFor((e) => e.event === 'UserEvent' && e.userevent === 'ConsentTestCustomer' && e.testid === call.testId, 1000, 'the customer')).leg as string;
    expect(uid).toMatch(/^\d+\.\d+$/);
    expect(recordingsOf(uid)).toEqual([]);
  });
});

describe('the agent is told', () => {
  test.concurrent('When the agent is a SIP phone, then the call to it carries X-Consent-Result with the caller\'s result', async () => {
    requireSipp();
    const phone = runSipp({ scenario: 'agent-phone.xml', exten: 'agent', listenPort: 5071, traceMessages: true, timeoutS: 60 });
    // Place the call once the phone listens.
    const listening = await until(() => execFileSync('ss', ['-lun'], { encoding: 'utf8' }).includes('127.0.0.1:5071'), 10000);
    if (!listening) throw new Error('the SIPp agent phone did not start listening on 127.0.0.1:5071');
    const { result } = await inbound(app, { w1: 1.5, k1: '1', talk: afterAccept() + 3, agentDial: 'PJSIP/sipp-agent' });
    expect(await result).toMatchObject({ result: 'accepted' });
    const r = await phone;
    expect({ code: r.code, failed: r.stats['FailedCall(C)'], look: r.dir }).toMatchObject({ code: 0, failed: '0' });
    const invite = r.messages.split(/-{10,}/).find((m) => /^INVITE sip:/m.test(m)) ?? '';
    expect(invite).toMatch(/^X-Consent-Result: accepted\s*$/m);
  }, 90000);
});

describe('the control API', () => {
  const api = async (method: string, path: string, token?: string) => {
    const port = (await app.waitForLog((l) => l.message === 'api listening', 5000, 'the API listener')).port as number;
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const token = () => readFileSync(sandbox().api.tokenFile, 'utf8').trim();

  test('When a CRM reads, pauses, resumes and withdraws through the API, then each follows the keys\' rules; without the token nothing is done', async () => {
    const { uid, result } = await inbound(app, { w1: 1.5, k1: '1', talk: 60, agentSecs: 60 });
    const r = await result;
    expect(r).toMatchObject({ result: 'accepted' });
    // Once the caller and the agent are connected, the recording grows.
    await ami.waitFor((e) => e.event === 'BridgeEnter' && e.uniqueid === uid, 20000, `${uid} connected to the agent`);
    // No token, or another one: 401, and the recording goes on.
    expect((await api('POST', `/calls/${uid}/withdraw`)).status).toBe(401);
    expect((await api('POST', `/calls/${uid}/withdraw`, 'not-the-token')).status).toBe(401);
    expect((await api('GET', `/calls/${uid}`, `${token()}x`)).status).toBe(401);
    // MixMonitor writes in 32 KB blocks (about 2 s of audio): the file grows within a few seconds.
    const size = statSync(r.recording as string).size;
    expect(await until(() => statSync(r.recording as string).size > size, 6000, 200)).toBe(true);
    expect((await ledgerRecord(uid))?.withdrawal).toBeNull();

    expect(await api('GET', `/calls/${uid}`, token())).toEqual({
      status: 200,
      body: expect.objectContaining({ uniqueId: uid, direction: 'inbound', outcome: 'accepted', recorded: true, paused: false, callUp: true, withdrawnAt: null }),
    });
    expect(await api('GET', '/calls/1.2', token())).toMatchObject({ status: 404 });
    // Whatever a CRM sends, only a UNIQUEID reaches Asterisk.
    expect(await api('POST', `/calls/${uid}%0D%0AAction:%20Originate/withdraw`, token())).toMatchObject({ status: 404 });
    expect(await api('POST', `/calls/${uid},b/pause`, token())).toMatchObject({ status: 404 });
    expect(await api('POST', `/calls/${uid}/resume`, token())).toMatchObject({ status: 409, body: { error: 'not paused' } });
    expect(await api('POST', `/calls/${uid}/pause`, token())).toMatchObject({ status: 200, body: { paused: true } });
    expect(await api('POST', `/calls/${uid}/pause`, token())).toMatchObject({ status: 409, body: { error: 'already paused' } });
    // The pause is in the ledger (open: "start/") before it is resumed.
    expect((await ledgerRecordWhen(uid, (x) => x.pauses.length > 0)).pauses).toEqual([{ start: expect.any(String), end: null }]);
    expect(await api('POST', `/calls/${uid}/resume`, token())).toMatchObject({ status: 200, body: { paused: false } });
    expect((await ledgerRecord(uid))?.pauses).toEqual([{ start: expect.any(String), end: expect.any(String) }]);
    expect(await api('POST', `/calls/${uid}/withdraw`, token())).toMatchObject({ status: 200, body: { recorded: false, withdrawnBy: 'agent' } });
    // After a withdrawal nothing resumes the recording, and a second withdrawal changes nothing.
    expect(await api('POST', `/calls/${uid}/resume`, token())).toMatchObject({ status: 409 });
    expect(await api('POST', `/calls/${uid}/withdraw`, token())).toMatchObject({ status: 200, body: { recorded: false } });
    expect(await ledgerRecord(uid)).toMatchObject({ withdrawal: { by: 'agent', recording: 'deleted' }, recording: { file: null } });
    expect(existsSync(r.recording as string)).toBe(false);
    expect(app.lines.filter((l) => l.call === uid && l.message === 'consent withdrawn during the call')).toHaveLength(1);
  }, 120000);

  test('When a call was refused, then the API cannot pause or withdraw a recording it does not have', async () => {
    const { uid, result } = await inbound(app, { w1: promptSeconds('ar', 'notice') + 1.5, k1: '2', talk: 20, agentSecs: 20 });
    expect(await result).toMatchObject({ result: 'refused' });
    expect(await api('POST', `/calls/${uid}/pause`, token())).toMatchObject({ status: 409, body: { error: 'this call is not recorded' } });
    expect(await api('POST', `/calls/${uid}/withdraw`, token())).toMatchObject({ status: 409, body: { error: 'this call is not recorded' } });
    expect(await api('GET', `/calls/${uid}`, token())).toMatchObject({ status: 200, body: { outcome: 'refused', recorded: false } });
  }, 90000);
});

describe('withdrawal during the conversation (*9)', () => {
  test.concurrent('When the caller accepts then presses *9, then the recording stops, is deleted, the ledger says withdrawn, and the call goes on; a second *9 changes nothing', async () => {
    const { uid, result, testId } = await inbound(app, { w1: 1.5, k1: '1', w4: afterAccept() + 2, k4: '*9', w5: promptSeconds('ar', 'withdrawn') + 3, k5: '*9', talk: 8, agentSecs: 40 });
    const r = await result;
    expect(r).toMatchObject({ result: 'accepted' });
    // Before being connected, the agent heard that the call is recorded, in the caller's language.
    const whisper = await agentWhisper(testId);
    expect(whisper.appdata).toBe('consent-ivr/agent-recorded');
    expect(whisper.language).toBe('ar');
    await withdrawnEvent(uid);
    await promptPlayed(uid, 'withdrawn');
    // Meanwhile the agent hears the tone.
    await ami.waitFor((e) => e.event === 'MusicOnHoldStart' && e.class === 'consent-ivr-tone' && e.linkedid === linkedIdOf(testId), 10000, 'the tone to the agent');
    const rec = await ledgerRecordWhen(uid, (x) => x.withdrawal !== null);
    expect(rec).toMatchObject({ withdrawal: { by: 'caller', recording: 'deleted' }, recording: { file: null }, outcome: 'accepted' });
    expect(existsSync(r.recording as string)).toBe(false);
    // The call is still up after the withdrawal.
    expect(activeChannels().some((l) => l.endsWith(`!${uid}`))).toBe(true);
    // The second *9: "this call is not recorded", and no second withdrawal.
    // The dialplan chose "not recorded" without queuing anything (a withdrawal would have come first).
    await promptPlayed(uid, 'not-recorded');
    await withdrawalsStored(app, uid);
    expect(ami.events.filter((e) => e.userevent === 'ConsentIvrWithdrawn' && e.id === uid)).toHaveLength(1);
    expect((await ledgerRecord(uid))?.withdrawal?.at).toBe(rec.withdrawal?.at);
    expect(app.lines.filter((l) => l.call === uid && l.message === 'consent withdrawn during the call')).toHaveLength(1);
  }, 90000);

  test.concurrent('When the caller presses *9 with partialRecording keep, then the file stops growing within a second and is kept, ending at the withdrawal', async () => {
    const { uid, result } = await inbound(keeper, { w1: 1.5, k1: '1', w4: afterAccept() + 3, k4: '*9', talk: 10, agentSecs: 30 });
    const r = await result;
    const file = r.recording as string;
    await withdrawnEvent(uid);
    // For the record: from the caller's 9 to MixMonitor stopping, in Asterisk's own event times.
    const nine = ami.events.find((e) => e.event === 'DTMFEnd' && e.uniqueid === uid && e.digit === '9');
    const stop = await ami.waitFor((e) => e.event === 'MixMonitorStop' && e.uniqueid === uid, 5000, 'MixMonitorStop');
    console.log(`key 9 -> MixMonitorStop: ${Math.round((Number(stop.timestamp) - Number(nine?.timestamp)) * 1000)} ms`);
    // MixMonitor closed the file (its header then holds its size) within a second, while the call goes on.
    await recordingStopped(file, 1000);
    expect(activeChannels().some((l) => l.endsWith(`!${uid}`))).toBe(true);
    const rec = await ledgerRecordWhen(uid, (x) => x.withdrawal !== null);
    expect(rec).toMatchObject({ withdrawal: { by: 'caller', recording: 'kept' }, recording: { file: { path: file } } });
    // The conversation before *9 (at most ~5.5 s after the confirmation), not the 10 s of talk after it.
    expect(wavSeconds(file)).toBeGreaterThan(2);
    expect(wavSeconds(file)).toBeLessThan(afterAccept() + 3 - promptSeconds('ar', 'accepted') + 1.5);
  }, 90000);

  test.concurrent('When a caller who refused presses *9, then they hear "this call is not recorded" and nothing is stored', async () => {
    const arNotice = promptSeconds('ar', 'notice');
    const { uid, result, testId } = await inbound(app, { w1: arNotice + 1.5, k1: '2', w4: promptSeconds('fr', 'refused') + 2.5, k4: '*9', talk: 6, agentSecs: 20 });
    expect(await result).toMatchObject({ result: 'refused' });
    expect(await agentWhisper(testId)).toMatchObject({ appdata: 'consent-ivr/agent-not-recorded', language: 'fr' });
    // The dialplan chose "not recorded": a withdrawal would have been queued and announced before it.
    await promptPlayed(uid, 'not-recorded');
    expect(ami.events.some((e) => e.userevent === 'ConsentIvrWithdrawn' && e.id === uid)).toBe(false);
    expect(withdrawalQueued(app, uid)).toBe(false);
    expect((await ledgerRecord(uid))?.withdrawal).toBeNull();
  }, 90000);

  test.concurrent('When the agent presses *9 on the caller\'s behalf, then the recording stops and the ledger says withdrawn by the agent', async () => {
    const { uid, result, testId } = await inbound(app, { w1: 1.5, k1: '1', talk: 20, agentW: 3, agentK: '*9', agentSecs: 15 });
    expect(await result).toMatchObject({ result: 'accepted' });
    expect(await withdrawnEvent(uid)).toMatchObject({ by: 'agent' });
    // The caller hears the confirmation, and so does the agent (the consent-ivr-withdrawn class).
    await promptPlayed(uid, 'withdrawn');
    await ami.waitFor((e) => e.event === 'MusicOnHoldStart' && e.class === 'consent-ivr-withdrawn' && e.linkedid === linkedIdOf(testId), 10000, 'the confirmation to the agent');
    const rec = await ledgerRecordWhen(uid, (x) => x.withdrawal !== null);
    expect(rec).toMatchObject({ withdrawal: { by: 'agent', recording: 'deleted' }, recording: { file: null } });
  }, 90000);

  test.concurrent('When the caller hangs up during the "recording stopped" prompt, then the withdrawal still stands', async () => {
    const { uid, result } = await inbound(app, { w1: 1.5, k1: '1', w4: afterAccept() + 2, k4: '*9', talk: 0.5, agentSecs: 30 });
    const r = await result;
    await withdrawnEvent(uid);
    const rec = await ledgerRecordWhen(uid, (x) => x.withdrawal !== null);
    expect(rec).toMatchObject({ withdrawal: { by: 'caller', recording: 'deleted' } });
    expect(existsSync(r.recording as string)).toBe(false);
    // The CDR of the call says it too, in its userfield.
    const cdr = await ami.waitFor((e) => e.event === 'Cdr' && e.uniqueid === uid && /consent=/.test(String(e.userfield)), 30000, `the CDR of ${uid}`);
    expect(cdr.userfield).toBe('consent=accepted;consent-withdrawn=caller');
  }, 90000);

  test.concurrent('When the caller presses a lone *, then it reaches the agent after the feature timeout and nothing is withdrawn', async () => {
    const call = await place(ami, { app: app.name, w1: 1.5, k1: '1', w4: afterAccept() + 2, k4: '*', talk: 6, agentSecs: 30 });
    const uid = await call.uniqueId;
    await call.result;
    const linkedid = ami.events.find((e) => e.userevent === 'ConsentTestEnter' && e.testid === call.testId)?.linkedid;
    expect(linkedid).toBeTruthy();
    await ami.waitFor(
      (e) => e.event === 'DTMFEnd' && e.digit === '*' && e.direction === 'Received' && e.linkedid === linkedid && String(e.channel).startsWith('Local/s@consent-test-agent-'),
      30000,
      'the * at the agent',
    );
    // Passed on to the agent: the feature gave up on it, so no withdrawal was queued or announced.
    expect(ami.events.some((e) => e.userevent === 'ConsentIvrWithdrawn' && e.id === uid)).toBe(false);
    expect(withdrawalQueued(app, uid)).toBe(false);
  }, 90000);

  test.concurrent('When the agent presses *8, then *8 again, then the paused part is silence in the file, both hear a tone, and the ledger keeps the span', async () => {
    const call = await place(ami, { app: keeper.name, w1: 1.5, k1: '1', talk: 30, agentW: 3, agentK: '*8', agentW2: 4, agentK2: '*8', agentSecs: 6 });
    const uid = await call.uniqueId;
    const r = await call.result;
    expect(r).toMatchObject({ result: 'accepted' });
    const rec = await ledgerRecordWhen(uid, (x) => x.pauses.length > 0 && x.pauses.every((p) => p.end !== null), 40000);
    const { start, end } = rec.pauses[0] ?? { start: '', end: null };
    const pausedS = (Date.parse(end as string) - Date.parse(start as string)) / 1000;
    // The agent's second *8 came about 4 s after the first (plus the keys and the tone).
    expect(pausedS).toBeGreaterThan(3);
    expect(pausedS).toBeLessThan(7);
    expect(await waitChannelsGone([uid], 30000)).toEqual([]);
    // Each time, the customer heard a beep and the agent the consent-ivr-tone class.
    expect(ami.events.filter((e) => e.event === 'Newexten' && e.uniqueid === uid && e.application === 'Playback' && e.appdata === 'beep')).toHaveLength(2);
    const linkedid = linkedIdOf(call.testId);
    expect(ami.events.filter((e) => e.event === 'MusicOnHoldStart' && e.class === 'consent-ivr-tone' && e.linkedid === linkedid)).toHaveLength(2);
    // In the file: the caller's tone, then a silent stretch about as long as the pause, then the tone again.
    const levels = windowLevels(r.recording as string);
    const quietS = longestQuiet(levels) / 10;
    expect(quietS).toBeGreaterThan(pausedS - 1.5);
    expect(quietS).toBeLessThan(pausedS + 1.5);
    expect(levels.slice(0, 10).some((l) => l > 0.05)).toBe(true);
    expect(levels.slice(-10).some((l) => l > 0.05)).toBe(true);
    expect(keeper.lines.filter((l) => l.call === uid && /^recording (paused|resumed) by the agent$/.test(String(l.message))).map((l) => l.message)).toEqual([
      'recording paused by the agent',
      'recording resumed by the agent',
    ]);
  }, 90000);

  test.concurrent('When the caller withdraws during a pause, then the recording stops for good: the agent\'s next *8 resumes nothing', async () => {
    const { uid, result } = await inbound(keeper, { w1: 1.5, k1: '1', w4: afterAccept() + 6, k4: '*9', talk: 25, agentW: 2, agentK: '*8', agentW2: 8, agentK2: '*8', agentSecs: 8 });
    const r = await result;
    await ami.waitFor((e) => e.userevent === 'ConsentIvrPause' && e.id === uid && e.want === 'pause', 30000, 'the pause');
    await withdrawnEvent(uid);
    // The second *8 finds the call withdrawn: "not recorded", no resume.
    await promptPlayed(uid, 'not-recorded', 30000);
    expect(ami.events.some((e) => e.userevent === 'ConsentIvrPause' && e.id === uid && e.want === 'resume')).toBe(false);
    const rec = await ledgerRecordWhen(uid, (x) => x.withdrawal !== null);
    expect(rec).toMatchObject({ withdrawal: { by: 'caller', recording: 'kept' } });
    // The pause stays open: nothing was recorded after it.
    expect(rec.pauses.at(-1)?.end).toBeNull();
    expect(await waitChannelsGone([uid], 30000)).toEqual([]);
    expect(existsSync(r.recording as string)).toBe(true);
  }, 90000);

  test.concurrent('When the caller withdrew, then the agent\'s *8 resumes nothing: "not recorded", no pause stored, no file', async () => {
    const { uid, result } = await inbound(app, { w1: 1.5, k1: '1', w4: afterAccept() + 1, k4: '*9', talk: 25, agentW: 6, agentK: '*8', agentSecs: 12 });
    const r = await result;
    await withdrawnEvent(uid);
    // The *8 found the call withdrawn: "not recorded", nothing queued for the service.
    await promptPlayed(uid, 'not-recorded', 30000);
    await withdrawalsStored(app, uid);
    const rec = await ledgerRecordWhen(uid, (x) => x.withdrawal !== null);
    expect(rec.pauses).toEqual([]);
    expect(existsSync(r.recording as string)).toBe(false);
    expect(ami.events.some((e) => e.userevent === 'ConsentIvrPause' && e.id === uid)).toBe(false);
  }, 90000);

  test.concurrent('When the caller reached the agent through a Queue, then the whisper plays and *9 works there too', async () => {
    const { uid, result, testId } = await inbound(app, { w1: 1.5, k1: '1', w4: afterAccept() + 5, k4: '*9', talk: 10, agentSecs: 20, viaQueue: true });
    expect(await result).toMatchObject({ result: 'accepted' });
    expect(await agentWhisper(testId)).toMatchObject({ appdata: 'consent-ivr/agent-recorded' });
    await withdrawnEvent(uid);
    expect(await ledgerRecordWhen(uid, (x) => x.withdrawal !== null)).toMatchObject({ withdrawal: { by: 'caller', recording: 'deleted' } });
  }, 90000);

  /** The agent's channel in the bridge with the caller of a test call (Local ;1 half). */
  const agentLeg = async (testId: string) =>
    (
      await ami.waitFor(
        (e) => e.event === 'BridgeEnter' && String(e.channel).startsWith('Local/s@consent-test-agent-') && String(e.channel).endsWith(';1') && e.linkedid === linkedIdOf(testId),
        30000,
        `the agent of ${testId} connected`,
      )
    ).channel as string;

  /**
   * An accepted call whose agent transfers the caller with `transfer` once connected (the caller's *9
   * comes `w4` s into the talk): the *9 must come after the transfer and still withdraw.
   */
  async function transferThenWithdraw(w4: number, transfer: (agent: string, testId: string) => Promise<void>): Promise<void> {
    const { uid, result, testId } = await inbound(app, { w1: 1.5, k1: '1', w4, k4: '*9', talk: 10, agentSecs: 30 });
    const r = await result;
    await transfer(await agentLeg(testId), testId);
    const transferredAt = Date.now() / 1000;
    // The *9 came in the new bridge, after the transfer.
    expect(Number((await withdrawnEvent(uid)).timestamp)).toBeGreaterThan(transferredAt);
    expect(await ledgerRecordWhen(uid, (x) => x.withdrawal !== null)).toMatchObject({ withdrawal: { by: 'caller', recording: 'deleted' } });
    expect(existsSync(r.recording as string)).toBe(false);
  }

  const secondAgent = (testId: string) => ami.waitFor((e) => e.userevent === 'ConsentTestAgent2' && e.testid === testId, 20000, 'the second agent');

  test.concurrent('When the agent blind-transfers the caller, then the caller\'s *9 still withdraws (the state follows the caller)', async () => {
    await transferThenWithdraw(afterAccept() + 7, async (agent, testId) => {
      // Asterisk can refuse ("Transfer invalid") for a moment after the agent entered the bridge, while the
      // bridge still settles (CI load): the transfer is accepted once it has.
      const transfer = () => ami.action('BlindTransfer', { Channel: agent, Context: 'consent-test-xfer', Exten: 's' }).then(() => true, (e: Error) => (/Transfer invalid/.test(e.message) ? false : Promise.reject(e)));
      await eventually(transfer, 3000, `Asterisk to accept the blind transfer of ${agent}`, 200);
      await secondAgent(testId);
    });
  }, 90000);

  test.concurrent('When the agent makes an attended transfer, then the caller\'s *9 still withdraws with the new agent', async () => {
    await transferThenWithdraw(afterAccept() + 9, async (agent, testId) => {
      // Atxfer keys in the target like a phone would: digits only.
      await ami.conn.action('Atxfer', { Channel: agent, Context: 'consent-test-xfer', Exten: '2' });
      await secondAgent(testId);
      // The transferring agent hangs up: the caller and the new agent are connected.
      await ami.conn.action('Hangup', { Channel: agent });
    });
  }, 90000);

  test('When the service is killed during the conversation and the caller presses *9, then the recording stops at once and the withdrawal reaches the ledger after the restart', async () => {
    const victim = await startApp(FAST);
    const { uid, result } = await inbound(victim, { w1: 1.5, k1: '1', w4: afterAccept() + 6, k4: '*9', talk: 12, agentSecs: 40 });
    const r = await result;
    const file = r.recording as string;
    expect(r).toMatchObject({ result: 'accepted' });
    // Killed once the outcome (which names the recording) is in the ledger: the hand-back and the
    // outcome's write run side by side, and this case is about what the dialplan does without the service.
    await ledgerRecordWhen(uid, (x) => !!x.recording?.file);
    await victim.stop('SIGKILL');
    await withdrawnEvent(uid);
    // Stopped by the dialplan alone (MixMonitor closed the file); kept until the service is back to delete it.
    await recordingStopped(file, 5000);
    expect(withdrawalQueued(victim, uid)).toBe(true);
    expect((await ledgerRecord(uid))?.withdrawal).toBeNull();
    const back = await startApp(FAST, victim.name);
    try {
      await back.waitForLog((l) => l.call === uid && l.message === 'consent withdrawn during the call', 20000, 'the queued withdrawal');
      expect(await ledgerRecordWhen(uid, (x) => x.withdrawal !== null)).toMatchObject({ withdrawal: { by: 'caller', recording: 'deleted' }, recording: { file: null } });
      expect(existsSync(file)).toBe(false);
    } finally {
      expect(await back.stop()).toBe(0);
    }
  }, 120000);
  test('When the service is down and the agent presses *8, then the recording stops instead of going on unpaused, and the pause is kept after the restart', async () => {
    const victim = await startApp(FAST);
    const call = await place(ami, { app: victim.name, w1: 1.5, k1: '1', talk: 30, agentW: 5, agentK: '*8', agentSecs: 12 });
    const uid = await call.uniqueId;
    const r = await call.result;
    expect(r).toMatchObject({ result: 'accepted' });
    await ledgerRecordWhen(uid, (x) => !!x.recording?.file);
    await victim.stop('SIGKILL');
    // The dialplan waited 2 s for the service, then stopped the recording itself.
    expect(await ami.waitFor((e) => e.userevent === 'ConsentIvrPauseLate' && e.id === uid, 30000, 'the late pause')).toMatchObject({ want: 'pause' });
    await recordingStopped(r.recording as string, 5000);
    const back = await startApp(FAST, victim.name);
    try {
      const rec = await ledgerRecordWhen(uid, (x) => x.pauses.length > 0);
      // Kept as a pause with no end: nothing was recorded after it.
      expect(rec.pauses).toEqual([{ start: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/), end: null }]);
      expect(existsSync(r.recording as string)).toBe(true);
    } finally {
      expect(await back.stop()).toBe(0);
    }
  }, 120000);
});

