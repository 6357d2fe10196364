/**
 * The consent call end to end against the real sandbox: calls are Local channels placed through
 * AMI, with the caller's keys sent as DTMF by the dialplan, and the service started through its
 * real entry point. Every test also checks that its call left no channel in Asterisk or in the
 * Stasis application.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { callsLeft, CallScript, placeCall as place, promptSeconds, recordingsOf, soxStat, RunningApp, sandbox, startApp, TestAmi, wavSeconds } from '../support';

let ami: TestAmi;
let app: RunningApp;

/** Test timings: short waits so the whole file runs in about a minute. */
const INPUT_TIMEOUT_MS = 1500;

beforeAll(async () => {
  sandbox();
  ami = new TestAmi();
  await ami.start();
  app = await startApp({
    CONSENT_IVR_FLOW_INPUT_TIMEOUT_MS: String(INPUT_TIMEOUT_MS),
    CONSENT_IVR_FLOW_MAX_ATTEMPTS: '2',
    CONSENT_IVR_FLOW_MAX_CALL_MS: '120000',
  });
}, 60000);

afterAll(async () => {
  const code = await app?.stop();
  app?.saveLog('consent-call');
  expect(app?.leaks()).toEqual([]);
  ami?.close();
  expect(code).toBe(0);
});

const placeCall = (a: TestAmi, script: CallScript, ms?: number) => place(a, { app: app.name, ...script }, ms);
/** What the service logs once Asterisk answered its MixMonitor action. */
const RECORDING_ANSWERED = ['recording started', 'recording started after the flow ended; stopping it', 'recording could not be started'];

describe('the consent call', () => {
  test.concurrent('When the caller presses 1 during the Arabic notice, then the call is recorded from the accept on, in Arabic, and the dialplan continues', async () => {
    // The caller talks on after the confirmation ("recorded; *9 stops it") for about 4 s.
    const call = await placeCall(ami, { w1: 1.5, k1: '1', talk: promptSeconds('ar', 'accepted') + 4, agentSecs: 5 });
    const uid = await call.uniqueId;
    const r = await call.result;
    expect(r).toMatchObject({ result: 'accepted', reason: 'key-accept', lang: 'ar', id: uid, db: 'accepted' });
    expect(r.recording).toMatch(new RegExp(`/\\d{4}/\\d{2}/\\d{2}/${uid.replace('.', '\\.')}\\.wav$`));
    await app.callEnded(uid);
    // Recording stops when the channel goes away; wait for the file to be complete.
    expect(await callsLeft(app.name, [uid])).toEqual([]);
    expect(existsSync(r.recording as string)).toBe(true);
    // Recordings are personal data: files 0640 in folders 0750 (Asterisk runs with umask 027).
    expect(statSync(r.recording as string).mode & 0o777).toBe(0o640);
    expect(statSync(dirname(r.recording as string)).mode & 0o777).toBe(0o750);
    const seconds = wavSeconds(r.recording as string);
    // Only the bridged conversation: the caller's ~4 s of tone after the confirmation, not the notice.
    expect(seconds).toBeGreaterThan(1);
    expect(seconds).toBeLessThan(6);
    // What was recorded is the caller's 1 kHz tone, not the spoken notice.
    expect(Math.abs(soxStat(r.recording as string).hz - 1000)).toBeLessThan(100);
    const log = app.callLines(uid);
    const decided = log.findIndex((l) => l.message === 'decision');
    const started = log.findIndex((l) => l.message === 'recording started');
    expect(decided).toBeGreaterThanOrEqual(0);
    expect(started).toBeGreaterThan(decided);
  });

  test.concurrent('When the caller presses 2 during the French notice, then nothing is recorded, the language is French and the call continues', async () => {
    const arNotice = promptSeconds('ar', 'notice');
    const call = await placeCall(ami, { w1: arNotice + 1.5, k1: '2', talk: 8 });
    const uid = await call.uniqueId;
    const r = await call.result;
    expect(r).toMatchObject({ result: 'refused', reason: 'key-refuse', lang: 'fr', recording: '', db: 'refused' });
    await app.callEnded(uid);
    expect(app.callLines(uid).some((l) => l.message === 'recording started')).toBe(false);
    expect(recordingsOf(uid)).toEqual([]);
    expect(await callsLeft(app.name, [uid])).toEqual([]);
  });

  test.concurrent('When the caller presses 1 during the French notice, then CONSENT_LANG is fr', async () => {
    const arNotice = promptSeconds('ar', 'notice');
    const call = await placeCall(ami, { w1: arNotice + 1.5, k1: '1', talk: 8 });
    const r = await call.result;
    expect(r).toMatchObject({ result: 'accepted', lang: 'fr' });
    expect(await callsLeft(app.name, [await call.uniqueId])).toEqual([]);
  });

  test.concurrent('When the caller presses nothing, then the choice is repeated and the call continues unrecorded as no-input', async () => {
    // A silent caller: waits longer than the whole flow before hanging up.
    const call = await placeCall(ami, { w1: 110, hangupAfter: 1 }, 120000);
    const uid = await call.uniqueId;
    const r = await call.result;
    expect(r).toMatchObject({ result: 'no-input', reason: 'attempts-exhausted', recording: '', db: 'no-input' });
    const prompts = app.callLines(uid).filter((l) => l.message === 'play').map((l) => `${String(l.lang)}:${String(l.prompt)}`);
    expect(prompts.slice(0, 4)).toEqual(['ar:notice', 'fr:notice', 'ar:choice', 'fr:choice']);
    expect(recordingsOf(uid)).toEqual([]);
    expect(await callsLeft(app.name, [uid])).toEqual([]);
  }, 150000);

  test.concurrent('When the caller presses an invalid key then 1, then "invalid" plays and the call is accepted', async () => {
    const invalid = promptSeconds('ar', 'invalid');
    const call = await placeCall(ami, { w1: 1, k1: '#', w2: invalid + 1, k2: '1', talk: 8 });
    const uid = await call.uniqueId;
    const r = await call.result;
    expect(r).toMatchObject({ result: 'accepted', lang: 'ar' });
    const prompts = app.callLines(uid).filter((l) => l.message === 'play').map((l) => l.prompt);
    expect(prompts).toEqual(['notice', 'invalid', 'choice', 'accepted']);
    expect(await callsLeft(app.name, [uid])).toEqual([]);
  });

  test.concurrent('When the caller presses 0, then the full notice plays in their language, and 1 afterwards accepts', async () => {
    const call = await placeCall(ami, { w1: 1, k1: '0', w2: 4, k2: '1', talk: 8 });
    const uid = await call.uniqueId;
    const r = await call.result;
    expect(r).toMatchObject({ result: 'accepted', lang: 'ar' });
    const prompts = app.callLines(uid).filter((l) => l.message === 'play').map((l) => `${String(l.lang)}:${String(l.prompt)}`);
    expect(prompts).toEqual(['ar:notice', 'ar:full-notice', 'ar:accepted']);
    expect(await callsLeft(app.name, [uid])).toEqual([]);
  });

  test.concurrent('When the caller hangs up during the notice, then the flow ends as abandoned and nothing is recorded', async () => {
    const call = await placeCall(ami, { w1: 2, hangupAfter: 1 });
    const uid = await call.uniqueId;
    const end = await app.callEnded(uid);
    expect(end).toMatchObject({ outcome: 'abandoned', reason: 'hangup' });
    expect(app.callLines(uid).some((l) => l.message === 'recording started')).toBe(false);
    expect(recordingsOf(uid)).toEqual([]);
    expect(await callsLeft(app.name, [uid])).toEqual([]);
  });

  test.concurrent('When the caller hangs up right after pressing 1, then no recording starts after the hangup and no channel is left', async () => {
    const call = await placeCall(ami, { w1: 1.5, k1: '1', hangupAfter: 1 });
    const uid = await call.uniqueId;
    const end = await app.callEnded(uid);
    expect(end.outcome).toBe('abandoned');
    expect(await callsLeft(app.name, [uid])).toEqual([]);
    // The flow asked for a recording only if it reached the recording phase before the hangup (no flow
    // step is taken after the end): then wait for Asterisk's answer to MixMonitor, late or not.
    if (app.callLines(uid).some((l) => l.message === 'flow' && l.to === 'recording')) {
      await app.waitForLog((l) => l.call === uid && RECORDING_ANSWERED.includes(String(l.message)), 10000, `the answer to MixMonitor for ${uid}`);
    }
    const log = app.callLines(uid);
    const endIdx = log.findIndex((l) => l.message === 'consent flow ended');
    expect(log.slice(endIdx).some((l) => l.message === 'recording started')).toBe(false);
  });
});
