/**
 * Real SIP callers end to end: SIPp places calls to the sandbox's PJSIP endpoint (SIP over UDP, RTP
 * audio, keys sent as RFC 4733 telephone-events), Asterisk runs the example inbound context
 * (consent-example-inbound: the Gosub routine, then the agent), and the service, started through its
 * real entry point, decides. What each call did is read from Asterisk's AMI events (the digits it
 * decoded, MixMonitor, the dialplan lines after the routine), the service's log, the ledger and the
 * recording file.
 *
 * SIP calls reach Stasis(consent-ivr), the default application name (the PJSIP channel has no
 * CONSENT_APP), so this file runs the service as "consent-ivr": no other instance may use that name
 * while it runs (the e2e files run in band; the check below says so if one does).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AmiEvent, ariApplication, callsLeft, promptSeconds, recordingsOf, RunningApp, sandbox, soxStat, startApp, TestAmi, wavSeconds, freshExten, LedgerRecord, ledgerRecord, ledgerRecordWhen, ledgerRecordsSince, requireSipp, runSipp, SippResult, writeDtmfPcap, writeTonePcap } from '../support';

const APP = 'consent-ivr';
/** Short waits so the silent caller's flow (two presentations) lasts about half a minute. */
const INPUT_TIMEOUT_MS = 1500;
/** The caller "talks" with a tone, easy to recognise in the recording. */
const TONE_HZ = 1000;
/** The example agent (dialplans/example-inbound.conf) listens this long, then hangs up. */
const AGENT_SECS = 8;
/** The caller number of every SIPp scenario (From header); the service must never print it. */
const SIP_CALLER = '0612345678';

let ami: TestAmi;
let app: RunningApp;
let tonePcap: string;

/** Numbers measured along the way, written to .sandbox/logs/sip-e2e.json. */
const numbers: Record<string, unknown> = {};

beforeAll(async () => {
  sandbox();
  requireSipp();
  if ((await ariApplication(APP)) !== null) {
    throw new Error(`another service is connected to Asterisk as "${APP}" (npm start, the demo?): stop it, SIP calls would go to it`);
  }
  ami = new TestAmi();
  await ami.start();
  app = await startApp(
    {
      CONSENT_IVR_FLOW_INPUT_TIMEOUT_MS: String(INPUT_TIMEOUT_MS),
      CONSENT_IVR_FLOW_MAX_ATTEMPTS: '2',
      CONSENT_IVR_FLOW_MAX_CALL_MS: '120000',
    },
    APP,
  );
  const dir = resolve(sandbox().stateDir, 'sipp');
  mkdirSync(dir, { recursive: true });
  tonePcap = resolve(dir, `tone-${TONE_HZ}hz.pcap`);
  // Longer than any call: SIPp stops playing when the call ends.
  writeTonePcap(tonePcap, 30, TONE_HZ);
}, 60000);

afterAll(async () => {
  const code = await app?.stop();
  app?.saveLog('sip');
  ami?.close();
  writeFileSync(resolve(sandbox().stateDir, 'logs', 'sip-e2e.json'), `${JSON.stringify(numbers, null, 2)}\n`);
  expect(code).toBe(0);
  // Neither a secret nor the SIP callers' number in the service's output.
  expect(app?.leaks([SIP_CALLER])).toEqual([]);
});

// ------------------------------------------------------------------------------------------ helpers

/** The inbound PJSIP channel created for a call to `exten` (Asterisk's Newchannel event). */
async function inboundChannel(exten: string, ms = 30000): Promise<string> {
  const e = await ami.waitFor((x) => x.event === 'Newchannel' && (x.channel ?? '').startsWith('PJSIP/') && x.exten === exten, ms, `the SIP call to ${exten}`);
  return e.uniqueid as string;
}

function eventsOf(uid: string, event: string): AmiEvent[] {
  return ami.events.filter((e) => e.event === event && e.uniqueid === uid);
}

/** The Verbose line the example inbound context runs right after Gosub(consent-ivr,s,1) returned. */
function afterRoutine(uid: string, ms = 30000) {
  return ami.waitFor((e) => e.event === 'Newexten' && e.uniqueid === uid && e.application === 'Verbose', ms, `the dialplan after the routine for ${uid}`);
}

/** Milliseconds since the epoch of an AMI event (timestampevents = yes) or a log line. */
const amiMs = (e: AmiEvent) => Math.round(Number(e.timestamp) * 1000);
const logMs = (l: Record<string, unknown>) => Date.parse(String(l.timestamp));

/** SIPp's verdict, with where to look when it is not the expected one. */
function sippVerdict(r: SippResult) {
  return { code: r.code, successful: r.stats['SuccessfulCall(C)'], failed: r.stats['FailedCall(C)'], look: r.dir };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

// ------------------------------------------------------------------------------------------ tests

describe('SIP callers (SIPp: RTP audio, RFC 4733 digits)', () => {
  test.concurrent('When a SIP caller accepts, then presses *9 (RFC 4733) during the conversation, then the recording stops and the ledger records the withdrawal', async () => {
    const exten = freshExten('36');
    const keys = resolve(sandbox().stateDir, 'sipp', `keys-star9-${exten}.pcap`);
    writeDtmfPcap(keys, '*9');
    const sipp = runSipp({ scenario: 'withdraw.xml', exten, audio: keys });
    const uid = await inboundChannel(exten);
    expect(await app.callEnded(uid)).toMatchObject({ outcome: 'accepted' });
    await ami.waitFor((e) => e.event === 'UserEvent' && e.userevent === 'ConsentIvrWithdrawn' && e.id === uid, 30000, `withdrawal of ${uid}`);
    // Asterisk decoded the three keys from the RTP stream: 1 in the flow, then * and 9 in the conversation.
    expect(eventsOf(uid, 'DTMFEnd').map((e) => [e.digit, e.direction])).toEqual([
      ['1', 'Received'],
      ['*', 'Received'],
      ['9', 'Received'],
    ]);
    const r = await sipp;
    expect(sippVerdict(r)).toMatchObject({ code: 0, successful: '1', failed: '0' });
    // The service takes the withdrawal into the ledger shortly after the dialplan's event.
    const record = await ledgerRecordWhen(uid, (x) => x.withdrawal !== null, 15000);
    expect(record).toMatchObject({ outcome: 'accepted', withdrawal: { by: 'caller', recording: 'deleted' }, recording: { file: null } });
    expect(recordingsOf(uid)).toEqual([]);
    expect(await callsLeft(APP, [uid])).toEqual([]);
    rmSync(keys, { force: true });
  });

  test.concurrent('When a SIP caller presses 1 (RFC 4733) during the notice and talks, then Asterisk decodes 1, the call is accepted, MixMonitor starts after the digit and the recording holds the caller\'s RTP audio', async () => {
    const exten = freshExten('31');
    const sipp = runSipp({ scenario: 'accept.xml', exten, audio: tonePcap, traceMessages: true });
    const uid = await inboundChannel(exten);
    const end = await app.callEnded(uid);
    expect(end).toMatchObject({ outcome: 'accepted', reason: 'key-accept', lang: 'ar' });

    // The only digit Asterisk decoded from the RTP stream is the one the caller sent, and the flow acted on it.
    const dtmf = eventsOf(uid, 'DTMFEnd');
    expect(dtmf.map((e) => [e.digit, e.direction])).toEqual([['1', 'Received']]);
    const decision = app.callLines(uid).find((l) => l.message === 'decision');
    expect(decision).toMatchObject({ decision: 'accepted', lang: 'ar' });

    // MixMonitor starts after the digit, never before.
    const mixStart = await ami.waitFor((e) => e.event === 'MixMonitorStart' && e.uniqueid === uid, 10000, `MixMonitorStart on ${uid}`);
    const digitAt = amiMs(dtmf[0] as AmiEvent);
    expect(amiMs(mixStart)).toBeGreaterThanOrEqual(digitAt);
    const log = app.callLines(uid);
    expect(log.findIndex((l) => l.message === 'recording started')).toBeGreaterThan(log.findIndex((l) => l.message === 'decision'));
    numbers.acceptDigitToDecisionMs = logMs(decision as Record<string, unknown>) - digitAt;
    numbers.acceptDigitToMixMonitorMs = amiMs(mixStart) - digitAt;

    // The dialplan after the routine sees the result.
    const verbose = await afterRoutine(uid);
    expect(verbose.appdata).toContain(`consent: result=accepted reason=key-accept lang=ar id=${uid}`);

    // The call ends when the agent hangs up: SIPp received the BYE.
    const r = await sipp;
    expect(sippVerdict(r)).toMatchObject({ code: 0, successful: '1', failed: '0' });
    // Asterisk's answer kept telephone-event/8000 on the payload type the caller offered (101).
    const answer = r.messages.split(/-{10,}/).find((m) => /SIP\/2\.0 200 OK/.test(m) && /CSeq:\s*1 INVITE/i.test(m)) ?? '';
    expect(answer).toMatch(/^m=audio \d+ RTP\/AVP [\d ]*\b101\b/m);
    expect(answer).toMatch(/^a=rtpmap:101 telephone-event\/8000/m);
    expect(await callsLeft(APP, [uid])).toEqual([]);

    const record = await ledgerRecord(uid);
    // The ledger keeps the number the caller dialled (the DID), not the routine's own extension.
    expect(record).toMatchObject({ outcome: 'accepted', digit: '1', language: 'ar', calledNumber: exten });
    const file = (record as LedgerRecord).recording?.file?.path as string;
    expect(file).toMatch(new RegExp(`/\\d{4}/\\d{2}/\\d{2}/${uid.replace('.', '\\.')}\\.wav$`));
    expect(recordingsOf(uid)).toEqual([file]);
    // Only the bridged conversation ("b"): the agent's time on the line, not the notice before it.
    const seconds = wavSeconds(file);
    numbers.acceptRecordingSeconds = seconds;
    // The agent first hears the whisper ("call recorded"), then the two are connected.
    expect(seconds).toBeGreaterThan(AGENT_SECS - 2 - promptSeconds('ar', 'agent-recorded'));
    expect(seconds).toBeLessThan(AGENT_SECS + 3);
    // What was recorded is the caller's RTP tone (the example agent only beeps), at the level it was
    // sent (a sine of amplitude 0.5: RMS 0.35), not silence and not the spoken notice.
    const stat = soxStat(file);
    numbers.acceptRecordingSox = stat;
    expect(stat.rms).toBeGreaterThan(0.25);
    expect(stat.rms).toBeLessThan(0.45);
    expect(Math.abs(stat.hz - TONE_HZ)).toBeLessThan(100);
  });

  test.concurrent('When a SIP caller presses 2 (RFC 4733) and talks, then the call is refused, nothing is recorded and the call goes on to the agent', async () => {
    const exten = freshExten('32');
    const sipp = runSipp({ scenario: 'refuse.xml', exten, audio: tonePcap });
    const uid = await inboundChannel(exten);
    const end = await app.callEnded(uid);
    expect(end).toMatchObject({ outcome: 'refused', reason: 'key-refuse', lang: 'ar' });
    expect(eventsOf(uid, 'DTMFEnd').map((e) => e.digit)).toEqual(['2']);

    // The dialplan after the Gosub runs, and the agent leg answers.
    const verbose = await afterRoutine(uid);
    expect(verbose.appdata).toContain(`consent: result=refused reason=key-refuse lang=ar id=${uid}`);
    const dial = await ami.waitFor((e) => e.event === 'DialEnd' && e.uniqueid === uid, 15000, `the agent leg of ${uid}`);
    expect(dial.dialstatus).toBe('ANSWER');

    const r = await sipp;
    expect(sippVerdict(r)).toMatchObject({ code: 0, successful: '1', failed: '0' });
    expect(await callsLeft(APP, [uid])).toEqual([]);
    expect(await ledgerRecord(uid)).toMatchObject({ outcome: 'refused', digit: '2', recording: null });
    expect(app.callLines(uid).some((l) => l.message === 'recording started')).toBe(false);
    expect(eventsOf(uid, 'MixMonitorStart')).toEqual([]);
    expect(recordingsOf(uid)).toEqual([]);
  });

  test.concurrent('When a SIP caller presses nothing, then the choice is repeated, the flow ends as no-input, nothing is recorded and the call goes on', async () => {
    const exten = freshExten('33');
    const sipp = runSipp({ scenario: 'silent.xml', exten, timeoutS: 110 });
    const uid = await inboundChannel(exten);
    const end = await app.callEnded(uid, 100000);
    expect(end).toMatchObject({ outcome: 'no-input', reason: 'attempts-exhausted' });
    const prompts = app.callLines(uid)
      .filter((l) => l.message === 'play')
      .map((l) => `${String(l.lang)}:${String(l.prompt)}`);
    expect(prompts.slice(0, 4)).toEqual(['ar:notice', 'fr:notice', 'ar:choice', 'fr:choice']);
    expect(prompts.some((p) => p.endsWith(':accepted'))).toBe(false);
    expect(eventsOf(uid, 'DTMFEnd')).toEqual([]);
    const verbose = await afterRoutine(uid);
    expect(verbose.appdata).toContain('consent: result=no-input reason=attempts-exhausted');
    const dial = await ami.waitFor((e) => e.event === 'DialEnd' && e.uniqueid === uid, 15000, `the agent leg of ${uid}`);
    expect(dial.dialstatus).toBe('ANSWER');

    const r = await sipp;
    expect(sippVerdict(r)).toMatchObject({ code: 0, successful: '1', failed: '0' });
    expect(await ledgerRecord(uid)).toMatchObject({ outcome: 'no-input', digit: null, recording: null });
    expect(recordingsOf(uid)).toEqual([]);
    expect(await callsLeft(APP, [uid])).toEqual([]);
  }, 150000);

  test.concurrent('When a SIP caller hangs up (BYE) during the notice, then the flow ends as abandoned and nothing is recorded', async () => {
    const exten = freshExten('34');
    const sipp = runSipp({ scenario: 'hangup.xml', exten });
    const uid = await inboundChannel(exten);
    const end = await app.callEnded(uid);
    expect(end).toMatchObject({ outcome: 'abandoned', reason: 'hangup' });
    const r = await sipp;
    // SIPp's BYE got its 200 OK.
    expect(sippVerdict(r)).toMatchObject({ code: 0, successful: '1', failed: '0' });
    expect(await callsLeft(APP, [uid])).toEqual([]);
    // The flow ended with the BYE, not with a timeout.
    const hangup = await ami.waitFor((e) => e.event === 'Hangup' && e.uniqueid === uid, 10000, `the hangup of ${uid}`);
    expect(Math.abs(logMs(end) - amiMs(hangup))).toBeLessThan(2000);
    const entered = app.callLines(uid).find((l) => l.message === 'call entered the consent flow');
    expect(entered).toBeDefined();
    // SIPp sends its BYE 2 s after the answer, while the Arabic notice (about 12 s) plays.
    expect(logMs(end) - logMs(entered as Record<string, unknown>)).toBeLessThan(6000);
    expect(app.callLines(uid).some((l) => l.message === 'recording started')).toBe(false);
    expect(await ledgerRecord(uid)).toMatchObject({ outcome: 'abandoned', recording: null });
    expect(recordingsOf(uid)).toEqual([]);
  });

  test.concurrent('When 50 SIP callers arrive at 10 calls/s, pressing 1 and 2 alternately, then every call is decided by its own digit and none is left behind', async () => {
    const CALLS = 50;
    const prefix = freshExten('7').slice(0, 5);
    const since = new Date(Date.now() - 1000);
    const r = await runSipp({ scenario: 'load.xml', exten: prefix, audio: tonePcap, calls: CALLS, rate: 10, limit: CALLS, timeoutS: 150 });
    expect(sippVerdict(r)).toMatchObject({ code: 0, successful: String(CALLS), failed: '0' });

    // Call n dialled <prefix>0<n>: odd n pressed 1, even n pressed 2.
    const calls = ami.events
      .filter((e) => e.event === 'Newchannel' && (e.channel ?? '').startsWith('PJSIP/') && (e.exten ?? '').startsWith(`${prefix}0`))
      .map((e) => ({ n: Number((e.exten as string).slice(prefix.length + 1)), uid: e.uniqueid as string }));
    expect(calls.map((c) => c.n).sort((a, b) => a - b)).toEqual(Array.from({ length: CALLS }, (_, i) => i + 1));

    const ledger = await ledgerRecordsSince(since);
    const latencies: number[] = [];
    const wrong: unknown[] = [];
    for (const { n, uid } of calls) {
      const digit = n % 2 === 1 ? '1' : '2';
      const outcome = n % 2 === 1 ? 'accepted' : 'refused';
      const end = app.lines.find((l) => l.call === uid && l.message === 'consent flow ended');
      const decision = app.lines.find((l) => l.call === uid && l.message === 'decision');
      const dtmf = eventsOf(uid, 'DTMFEnd').map((e) => e.digit);
      const rec = ledger.get(uid);
      const seen = { n, outcome: end?.outcome, dtmf, ledgerDigit: rec?.digit, ledgerOutcome: rec?.outcome };
      const expected = { n, outcome, dtmf: [digit], ledgerDigit: digit, ledgerOutcome: outcome };
      if (JSON.stringify(seen) !== JSON.stringify(expected)) wrong.push({ seen, expected, uid });
      const dtmfEnd = eventsOf(uid, 'DTMFEnd')[0];
      if (decision && dtmfEnd) latencies.push(logMs(decision) - amiMs(dtmfEnd));
    }
    expect(wrong).toEqual([]);

    // Nothing stuck: every channel is gone and none of them is still in the Stasis application.
    expect(await callsLeft(APP, calls.map((c) => c.uid), 30000)).toEqual([]);

    latencies.sort((a, b) => a - b);
    numbers.load = {
      calls: CALLS,
      rate: 10,
      seconds: (r.endedAt - r.startedAt) / 1000,
      retransmissions: Number(r.stats['Retransmissions(C)']),
      inviteTo200MsAvg: r.stats['ResponseTime1(C)'],
      digitToDecisionMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: latencies[latencies.length - 1] },
    };
  }, 180000);
});

describe('a dialled number with commas (SIP user parts may hold them)', () => {
  test.concurrent('When a SIP caller dials "<number>,outbound,<a real channel>", then the call is inbound, its called number is the number alone, and that channel gets no CONSENT_* variable', async () => {
    // The channel named: another SIP call, silent in its own consent flow meanwhile.
    const victimExten = freshExten('37');
    const victimSipp = runSipp({ scenario: 'silent.xml', exten: victimExten, timeoutS: 110 });
    const victim = await ami.waitFor((e) => e.event === 'Newchannel' && (e.channel ?? '').startsWith('PJSIP/') && e.exten === victimExten, 30000, 'the channel to name');
    const victimUid = victim.uniqueid as string;

    const number = freshExten('38');
    const forged = `${number},outbound,${victim.channel as string}`;
    const sipp = runSipp({ scenario: 'refuse.xml', exten: forged, audio: tonePcap });
    const uid = await inboundChannel(forged);
    expect(await app.callEnded(uid)).toMatchObject({ outcome: 'refused', reason: 'key-refuse' });
    const verbose = await afterRoutine(uid);
    expect(verbose.appdata).toContain(`consent: result=refused reason=key-refuse lang=ar id=${uid}`);
    expect(sippVerdict(await sipp)).toMatchObject({ code: 0, successful: '1', failed: '0' });

    // Stored as what it is: an inbound call to the number, the caller its subject.
    const record = await ledgerRecord(uid);
    expect(record).toMatchObject({ direction: 'inbound', outcome: 'refused', calledNumber: number });
    expect(JSON.stringify(record)).not.toContain('outbound');
    expect(JSON.stringify(record)).not.toContain(victim.channel as string);

    // The channel named ran its own flow to its end, and nothing of the forged call was set on it.
    expect(await app.callEnded(victimUid, 100000)).toMatchObject({ outcome: 'no-input' });
    expect(sippVerdict(await victimSipp)).toMatchObject({ code: 0, successful: '1', failed: '0' });
    // asterisk-manager gives a VarSet's "Variable: NAME" as { NAME: '' }.
    const varName = (e: AmiEvent) => {
      const v = e.variable as unknown;
      return v && typeof v === 'object' ? (Object.keys(v)[0] ?? '') : String(v ?? '');
    };
    const consentVars = ami.events.filter((e) => e.event === 'VarSet' && e.uniqueid === victimUid && varName(e).startsWith('CONSENT_'));
    expect(consentVars.length).toBeGreaterThan(0); // its own routine's
    expect(consentVars.filter((e) => e.value === uid || e.value === 'refused' || e.value === 'key-refuse')).toEqual([]);
    expect(app.callLines(uid).filter((l) => /agent channel/.test(String(l.message)))).toEqual([]);
    expect(await callsLeft(APP, [uid, victimUid])).toEqual([]);
  }, 150000);
});
