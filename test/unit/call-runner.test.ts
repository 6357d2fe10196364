/** The per-call runner with in-memory ports and a manual clock (pure logic; the real ports are proven end to end). */
import { CallRunner, recordingPath } from '../../src/call/call-runner';
import type { CallObserver } from '../../src/ports/observer';
import { capturedLog, fakeRunnerPorts, RUNNER_SETTINGS, testCall } from '../support/call-ports';
import { flush } from '../support/manual-clock';

function setup(observer: CallObserver = {}) {
  const fakes = fakeRunnerPorts(observer);
  const { logger, lines: log } = capturedLog();
  const runner = new CallRunner(testCall(), 'pseudo', fakes.ports, RUNNER_SETTINGS, logger);
  return { ...fakes, runner, log };
}

describe('call runner', () => {
  test('When a file name is made, then it comes from the server-side id and the date only', () => {
    expect(recordingPath('/rec/', 'host-1.2', 'wav', new Date(Date.UTC(2026, 0, 5)))).toBe('/rec/2026/01/05/host-1.2.wav');
    expect(recordingPath('/rec', '../x,y', 'wav', new Date(Date.UTC(2026, 0, 5)))).toBe('/rec/2026/01/05/.._x_y.wav');
  });

  test('When the caller accepts, then the decision is stored before MixMonitor, the variables are set and the call continues', async () => {
    const t = setup();
    t.runner.start();
    expect(t.calls.played).toEqual(['1732800000.42-p1:ar:consent-ivr/notice']);
    t.runner.digit('1');
    expect(t.calls.stopped).toEqual(['1732800000.42-p1']);
    expect(t.ledger.decisions).toHaveLength(1);
    expect(t.recorder.started).toHaveLength(0);
    t.decisionStore.resolve('redis');
    await flush();
    expect(t.recorder.started).toEqual([{ channel: 'Local/s@consent-test-in-00000001;2', file: '/var/spool/rec/2026/11/28/1732800000.42.wav', options: 'b' }]);
    t.recStart.resolve({ mixMonitorId: '0x1' });
    await flush();
    expect(t.calls.played[1]).toBe('1732800000.42-p2:ar:consent-ivr/accepted');
    t.runner.playbackFinished('1732800000.42-p2', true);
    const summary = await t.runner.done;
    expect(summary.outcome).toBe('accepted');
    expect(t.calls.continued).toEqual([{ context: 'consent-ivr-result', extension: 'accepted_ar_key-accept_ar.fr_default', priority: 1 }]);
    expect(t.clock.live).toBe(0);
    expect(t.ledger.outcomes[0]).toMatchObject({ outcome: 'accepted', digit: '1', language: 'ar', recording: { file: { path: expect.any(String) } }, noticeVersion: 'v1' });
  });

  test('When Asterisk is too slow to confirm the answer and the notice, then the call goes on: the late notice and a key still lead to a recorded accept', async () => {
    const fakes = fakeRunnerPorts();
    const { logger, lines: log } = capturedLog();
    const t = { ...fakes, runner: new CallRunner(testCall({ answered: false }), 'pseudo', fakes.ports, RUNNER_SETTINGS, logger), log };
    const late = Object.assign(new Error('ARI play timed out after 3000 ms'), { uncertain: true });
    t.calls.answer = async () => Promise.reject(Object.assign(new Error('ARI answer timed out after 3000 ms'), { uncertain: true }));
    t.calls.play = async (_c, id, sound, lang) => {
      t.calls.played.push(`${id}:${lang}:${sound}`);
      if (sound.endsWith('/notice')) throw late;
    };
    t.runner.start();
    await flush();
    await flush();
    expect(t.calls.played).toEqual(['1732800000.42-p1:ar:consent-ivr/notice']);
    expect(t.log.some((l) => l.includes('prompt not confirmed in time; waiting for Asterisk to play it'))).toBe(true);
    expect(t.log.some((l) => l.includes('answer not confirmed in time; going on as answered'))).toBe(true);
    t.runner.digit('1');
    t.decisionStore.resolve('redis');
    await flush();
    t.recStart.resolve({ mixMonitorId: '0x1' });
    await flush();
    t.runner.playbackFinished('1732800000.42-p2', true);
    expect((await t.runner.done).outcome).toBe('accepted');
    expect(t.recorder.started).toHaveLength(1);
  });

  test('When Asterisk refuses the notice outright, then nothing is recorded and the call goes on unrecorded', async () => {
    const t = setup();
    t.calls.play = async () => Promise.reject(new Error('ARI play failed: 404 Channel not found'));
    t.runner.start();
    await flush();
    const summary = await t.runner.done;
    expect(summary).toMatchObject({ outcome: 'error', reason: 'prompt-failed' });
    expect(t.recorder.started).toHaveLength(0);
  });

  test('When the caller accepts, then the observer is told where each ledger write went and the time from the accept to the recording', async () => {
    const stored: string[] = [];
    const recordingMs: number[] = [];
    const t = setup({ stored: (kind, where) => stored.push(`${kind}:${where}`), recordingStarted: (ms) => recordingMs.push(ms) });
    t.runner.start();
    t.runner.digit('1');
    t.clock.advance(30);
    t.decisionStore.resolve('journal');
    await flush();
    t.clock.advance(12);
    t.recStart.resolve({ mixMonitorId: '0x1' });
    await flush();
    t.runner.playbackFinished('1732800000.42-p2', true);
    await t.runner.done;
    await flush();
    expect(stored).toEqual(['decision:journal', 'outcome:redis']);
    expect(recordingMs).toEqual([42]);
  });

  test('When the caller hangs up while MixMonitor is starting, then the late recording is stopped and the call is not continued', async () => {
    const t = setup();
    t.runner.start();
    t.runner.digit('1');
    t.decisionStore.resolve('redis');
    await flush();
    t.runner.hangup();
    t.recStart.resolve({ mixMonitorId: '0x9' });
    await flush();
    expect(t.recorder.stoppedIds).toEqual(['0x9']);
    expect(t.calls.continued).toEqual([]);
    expect((await t.runner.done).outcome).toBe('abandoned');
    expect(t.clock.live).toBe(0);
  });

  test('When the caller hangs up while the decision is being stored, then MixMonitor is never asked', async () => {
    const t = setup();
    t.runner.start();
    t.runner.digit('1');
    t.runner.hangup();
    t.decisionStore.resolve('redis');
    await flush();
    expect(t.recorder.started).toEqual([]);
  });

  test('When nobody answers, then timers drive the flow to no-input and no timer is left', async () => {
    const t = setup();
    t.runner.start();
    const finishPlayback = () => {
      const last = t.calls.played[t.calls.played.length - 1]?.split(':')[0] ?? '';
      t.runner.playbackFinished(last, true);
    };
    finishPlayback();
    finishPlayback();
    t.clock.advance(4000);
    finishPlayback();
    finishPlayback();
    t.clock.advance(4000);
    finishPlayback();
    finishPlayback();
    t.clock.advance(4000);
    t.decisionStore.resolve('redis');
    await flush();
    finishPlayback();
    finishPlayback();
    expect((await t.runner.done).outcome).toBe('no-input');
    expect(t.recorder.started).toEqual([]);
    expect(t.clock.live).toBe(0);
  });

  test('When the flow is stuck, then the deadline continues the call unrecorded with error', async () => {
    const t = setup();
    t.runner.start();
    t.clock.advance(60000);
    const s = await t.runner.done;
    expect(s).toMatchObject({ outcome: 'error', reason: 'deadline' });
    expect(t.calls.continued).toEqual([{ context: 'consent-ivr-result', extension: 'error__deadline_ar.fr_default', priority: 1 }]);
  });

  test('When handing the call back fails, then it is retried until it works, and the flow ends once', async () => {
    const t = setup();
    let failures = 2;
    const ok = t.calls.continueInDialplan;
    t.calls.continueInDialplan = async (c, target) => {
      if (failures-- > 0) throw Object.assign(new Error('ARI continue timed out'), { status: undefined });
      return ok(c, target);
    };
    t.runner.start();
    t.clock.advance(60000);
    for (let i = 0; i < 5; i++) {
      await flush();
      t.clock.advance(1000);
    }
    expect((await t.runner.done).outcome).toBe('error');
    expect(t.calls.continued).toEqual([{ context: 'consent-ivr-result', extension: 'error__deadline_ar.fr_default', priority: 1 }]);
  });

  test('When the channel is gone, then a failed hand-back is not retried', async () => {
    const t = setup();
    let tries = 0;
    t.calls.continueInDialplan = async () => {
      tries += 1;
      throw Object.assign(new Error('Channel not found'), { status: 404 });
    };
    t.runner.start();
    t.clock.advance(60000);
    await t.runner.done;
    expect(tries).toBe(1);
  });

  test('When the raw caller number is given, then it appears in no log line', async () => {
    const t = setup();
    t.runner.start();
    t.runner.digit('2');
    t.decisionStore.resolve('redis');
    await flush();
    t.runner.playbackFinished(t.calls.played[1]?.split(':')[0] ?? '', true);
    await t.runner.done;
    expect(t.log.join('')).not.toContain('600000000');
    expect(t.ledger.outcomes[0]?.callerPseudonym).toBe('pseudo');
  });
});

describe('call runner: the agent channel of an outbound call', () => {
  const AGENT = 'Local/s@consent-test-out-00000007;2';
  /** An outbound call whose customer refuses; `linked` gives the linkedid of each channel that exists. */
  async function refusedOutbound(linked: Record<string, string>, agent = AGENT) {
    const fakes = fakeRunnerPorts();
    const { logger, lines } = capturedLog();
    for (const [channel, id] of Object.entries(linked)) fakes.calls.linked.set(channel, id);
    const set: { channel: string; vars: Record<string, string> }[] = [];
    fakes.ports.agentChannel = { set: async (channel, vars) => void set.push({ channel, vars }) };
    const call = testCall({ direction: 'outbound', agentChannel: agent, calledNumber: '', channelName: 'Local/0612345678@consent-test-customer-00000008;1' });
    const runner = new CallRunner(call, 'pseudo', fakes.ports, RUNNER_SETTINGS, logger);
    runner.start();
    runner.digit('2');
    fakes.decisionStore.resolve('redis');
    await flush();
    runner.playbackFinished(fakes.calls.played[1]?.split(':')[0] ?? '', true);
    expect((await runner.done).outcome).toBe('refused');
    return { set, continued: fakes.calls.continued, log: lines.join('') };
  }

  test('When the agent channel is of the same call (same linkedid), then the result is set on it before the customer goes back to the dialplan', async () => {
    const t = await refusedOutbound({ '1732800000.42': '1732800000.40', [AGENT]: '1732800000.40' });
    expect(t.set).toEqual([{ channel: AGENT, vars: expect.objectContaining({ CONSENT_RESULT: 'refused', CONSENT_REASON: 'key-refuse', CONSENT_ID: '1732800000.42' }) }]);
    expect(t.continued).toHaveLength(1);
  });

  test('When the channel named as the agent\'s belongs to another call, or does not exist, then nothing is set on it and the call still goes on', async () => {
    const cases: Record<string, string>[] = [{ '1732800000.42': '1732800000.40', [AGENT]: '1732800099.1' }, { '1732800000.42': '1732800000.40' }];
    for (const linked of cases) {
      const t = await refusedOutbound(linked);
      expect(t.set).toEqual([]);
      expect(t.continued).toEqual([{ context: 'consent-ivr-result', extension: 'refused_ar_key-refuse_ar.fr_default', priority: 1 }]);
      expect(t.log).toContain('that channel is not part of this call');
      // The name came from the routine's arguments: it is not logged.
      expect(t.log).not.toContain('consent-test-out-00000007');
    }
  });
});
