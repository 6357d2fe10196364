/**
 * In-memory ports of the per-call runner (call control, recorder, ledger) on a manual clock, for the
 * runner's and the app's unit tests. The recorder's start and the decision's write settle when the
 * test says so (`recStart`, `decisionStore`); the rest answer at once.
 */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/logger';
import type { CallControl, DialplanTarget, IncomingCall } from '../../src/ports/call-control';
import type { ConsentRecord, Ledger, StoredIn } from '../../src/ports/ledger';
import type { CallObserver } from '../../src/ports/observer';
import type { Recorder, RecordingRequest } from '../../src/ports/recorder';
import type { CallProfile, RunnerPorts, RunnerSettings } from '../../src/call/call-runner';
import type { CallProfiles } from '../../src/call/consent-app';
import { deferred, ManualClock } from './manual-clock';

/** The default profile of the runner's tests: Arabic then French. */
export const TEST_PROFILE: CallProfile = {
  name: 'default',
  flow: { languages: ['ar', 'fr'], defaultLanguage: 'ar', inputTimeoutMs: 4000, maxAttempts: 3, maxCallMs: 60000, fullNoticeExtensionMs: 60000 },
  promptFolder: 'consent-ivr',
  noticeVersion: 'v1',
};

export const RUNNER_SETTINGS: RunnerSettings = {
  profile: TEST_PROFILE,
  recording: { dir: '/var/spool/rec', format: 'wav', options: 'b' },
  serverId: 'pbx-1',
};

/** Profiles for the app's tests: `profiles` by name (the default is TEST_PROFILE), chosen by name only. */
export function testProfiles(profiles: CallProfile[] = []): CallProfiles {
  const byName = new Map([TEST_PROFILE, ...profiles].map((p) => [p.name, p]));
  return {
    choose(argument) {
      if (argument === null || argument === '') return { profile: TEST_PROFILE, by: 'default' };
      const p = byName.get(argument);
      return p ? { profile: p, by: 'argument' } : { profile: null, unknown: argument };
    },
  };
}

/** An inbound call, already answered; `over` changes its fields. */
export function testCall(over: Partial<IncomingCall> = {}): IncomingCall {
  return {
    channelId: '1732800000.42',
    channelName: 'Local/s@consent-test-in-00000001;2',
    answered: true,
    direction: 'inbound',
    subjectNumber: '+212600000000',
    calledNumber: '0522000000',
    agentChannel: null,
    linkedId: '1732800000.41',
    profile: null,
    args: [],
    ...over,
  };
}

/** A debug logger whose lines are kept in `lines`. */
export function capturedLog(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', format: 'json' }, sink), lines };
}

export function fakeRunnerPorts(observer: CallObserver = {}) {
  const clock = new ManualClock();
  const calls: CallControl & { played: string[]; stopped: string[]; continued: (DialplanTarget | undefined)[]; linked: Map<string, string> } = {
    played: [],
    stopped: [],
    continued: [],
    /** The linkedid of each channel (by id or name) that exists; set by the test. */
    linked: new Map(),
    answer: async () => undefined,
    play: async (_c, id, sound, lang) => {
      calls.played.push(`${id}:${lang}:${sound}`);
    },
    stopPlayback: async (id) => {
      calls.stopped.push(id);
    },
    getVariable: async () => null,
    linkedIdOf: async (channel) => calls.linked.get(channel) ?? null,
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
    /** What was written, in order. */
    decisions: [],
    outcomes: [],
  };
  const ports: RunnerPorts = { calls, recorder, ledger, clock, agentChannel: { set: async () => undefined }, observer };
  return { ports, clock, calls, recorder, recStart, ledger, decisionStore };
}
