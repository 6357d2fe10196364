/** The per-call runner with in-memory ports and a manual clock (pure logic; the real ports are proven end to end). */
import { CallRunner, recordingPath, type RunnerHooks } from '../../src/runner/call-runner';
import { createLogger } from '../../src/logging/logger';
import type { CallControl, DialplanTarget, IncomingCall } from '../../src/ports/call-control';
import type { Clock } from '../../src/ports/clock';
import type { ConsentRecord, Ledger, StoredIn } from '../../src/ports/ledger';
import type { Recorder, RecordingRequest } from '../../src/ports/recorder';
import { Writable } from 'node:stream';

class ManualClock implements Clock {
  t = Date.UTC(2026, 10, 28, 12, 0, 0);
  timers: { at: number; fn: () => void; live: boolean }[] = [];
  now() {
    return new Date(this.t);
  }
  setTimeout(fn: () => void, ms: number) {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return { cancel: () => (timer.live = false) };
  }
  advance(ms: number) {
    this.t += ms;
    for (const timer of this.timers.filter((x) => x.live && x.at <= this.t)) {
      timer.live = false;
      timer.fn();
    }
  }
  get live() {
    return this.timers.filter((x) => x.live).length;
  }
}

/** A promise whose settlement the test controls. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise((r) => setImmediate(r));

function setup(hooks: RunnerHooks = {}) {
  const log: string[] = [];
  const clock = new ManualClock();
  const calls: CallControl & { played: string[]; stopped: string[]; continued: (DialplanTarget | undefined)[] } = {
    played: [],
    stopped: [],
    continued: [],
    answer: async () => undefined,
    play: async (_c, id, sound, lang) => {
      calls.played.push(`${id}:${lang}:${sound}`);
    },
    stopPlayback: async (id) => {
      calls.stopped.push(id);
    },
    getVariable: async () => null,
    continueInDialplan: async (_c, target) => {
      calls.continued.push(target);
    },
  };
  const recStart = deferred<{ mixMonitorId: string }>();
  const recorder: Recorder & { started: RecordingRequest[]; stoppedIds: string[] } = {
    started: [],
    stoppedIds: [],
    start: (req) => {
      recorder.started.push(req);
      return recStart.promise;
    },
    stop: async (_c, id) => {
      recorder.stoppedIds.push(id);
    },
    mute: async () => undefined,
  };
  const decisionStore = deferred<StoredIn>();
  const ledger: Ledger & { decisions: ConsentRecord[]; outcomes: ConsentRecord[] } = {
    decisions: [],
    outcomes: [],
    recordDecision: (r) => {
      ledger.decisions.push(r);
      return decisionStore.promise;
    },
    recordOutcome: async (r) => {
      ledger.outcomes.push(r);
      return 'redis';
    },
    recordWithdrawal: async () => 'redis',
    recordPause: async () => 'redis',
    find: async (id) => [...ledger.outcomes, ...ledger.decisions].find((r) => r.uniqueId === id) ?? null,
  };
  const call: IncomingCall = {
    channelId: '1732800000.42',
    channelName: 'Local/s@consent-test-in-00000001;2',
    answered: true,
    direction: 'inbound',
    subjectNumber: '+212600000000',
    calledNumber: '0522000000',
    agentChannel: null,
    linkedId: '1732800000.41',
    args: [],
  };
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      log.push(chunk.toString());
      cb();
    },
  });
  const runner = new CallRunner(
    call,
    'pseudo',
    { calls, recorder, ledger, clock, agentChannel: { set: async () => undefined } },
    {
      flow: { languages: ['ar', 'fr'], defaultLanguage: 'ar', inputTimeoutMs: 4000, maxAttempts: 3, maxCallMs: 60000, fullNoticeExtensionMs: 60000 },
      recording: { dir: '/var/spool/rec', format: 'wav', options: 'b' },
      promptFolder: 'consent-ivr',
      noticeVersion: 'v1',
      serverId: 'pbx-1',
    },
    createLogger({ level: 'debug', format: 'json' }, sink),
    hooks,
  );
  return { runner, clock, calls, recorder, recStart, ledger, decisionStore, log };
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
    expect(t.calls.continued).toEqual([{ context: 'consent-ivr-result', extension: 'accepted_ar_key-accept', priority: 1 }]);
    expect(t.clock.live).toBe(0);
    expect(t.ledger.outcomes[0]).toMatchObject({ outcome: 'accepted', digit: '1', language: 'ar', recordingPath: expect.any(String), noticeVersion: 'v1' });
  });

  test('When the caller accepts, then the hooks report where each ledger write went and the time from the accept to the recording', async () => {
    const stored: string[] = [];
    const recordingMs: number[] = [];
    const t = setup({ onStored: (kind, where) => stored.push(`${kind}:${where}`), onRecordingStarted: (ms) => recordingMs.push(ms) });
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
    expect(t.calls.continued).toEqual([{ context: 'consent-ivr-result', extension: 'error__deadline', priority: 1 }]);
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
    expect(t.calls.continued).toEqual([{ context: 'consent-ivr-result', extension: 'error__deadline', priority: 1 }]);
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
