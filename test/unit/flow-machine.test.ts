import { decide, initialState } from '../../src/call/flow/machine';
import type { Effect, FlowEvent, FlowSettings, FlowState, Phase, Summary } from '../../src/call/flow/types';

const settings: FlowSettings = { languages: ['ar', 'fr'], defaultLanguage: 'ar', inputTimeoutMs: 5000, maxAttempts: 3, maxCallMs: 60000, fullNoticeExtensionMs: 45000 };

function run(events: FlowEvent[], s: FlowSettings = settings): { state: FlowState; effects: Effect[] } {
  let state = initialState(s);
  let effects: Effect[] = [];
  for (const e of events) {
    const t = decide(state, e);
    state = t.state;
    effects = t.effects;
  }
  return { state, effects };
}

const plays = (effects: Effect[]) => effects.filter((e) => e.type === 'play').map((e) => e.type === 'play' && `${e.lang}:${e.prompt}`);
const has = (effects: Effect[], type: Effect['type']) => effects.some((e) => e.type === type);
const finishOf = (effects: Effect[]) => {
  const f = effects.find((e) => e.type === 'finish');
  return f && f.type === 'finish' ? f.summary : undefined;
};

/** Event sequences that lead to each phase (playback ids are handed out 1, 2, 3, …). */
const reach: Record<Phase, FlowEvent[]> = {
  idle: [],
  answering: [{ type: 'start', answered: false }],
  presenting: [{ type: 'start', answered: true }],
  awaiting: [
    { type: 'start', answered: true },
    { type: 'playback-finished', id: 1, ok: true },
    { type: 'playback-finished', id: 2, ok: true },
  ],
  storing: [{ type: 'start', answered: true }, { type: 'digit', digit: '1' }],
  recording: [{ type: 'start', answered: true }, { type: 'digit', digit: '1' }, { type: 'decision-stored' }],
  confirming: [
    { type: 'start', answered: true },
    { type: 'digit', digit: '1' },
    { type: 'decision-stored' },
    { type: 'recording-started', path: '/r/x.wav' },
  ],
  done: [{ type: 'start', answered: true }, { type: 'hangup' }],
};

/** Every event, by a short name; the playback ids are those of the states below (1 and 2). */
const EVENTS = {
  'start (answered)': { type: 'start', answered: true },
  'start (ringing)': { type: 'start', answered: false },
  answered: { type: 'answered' },
  'answer-failed': { type: 'answer-failed' },
  'playback 1 ok': { type: 'playback-finished', id: 1, ok: true },
  'playback 1 failed': { type: 'playback-finished', id: 1, ok: false },
  'playback 2 ok': { type: 'playback-finished', id: 2, ok: true },
  'playback 2 failed': { type: 'playback-finished', id: 2, ok: false },
  'key 1': { type: 'digit', digit: '1' },
  'key 2': { type: 'digit', digit: '2' },
  'key 0': { type: 'digit', digit: '0' },
  'key #': { type: 'digit', digit: '#' },
  'input timeout': { type: 'timeout', timer: 'input' },
  deadline: { type: 'timeout', timer: 'deadline' },
  hangup: { type: 'hangup' },
  'decision-stored': { type: 'decision-stored' },
  'decision-store-failed': { type: 'decision-store-failed' },
  'recording-started': { type: 'recording-started', path: '/r/x.wav' },
  'recording-failed': { type: 'recording-failed' },
} as const satisfies Record<string, FlowEvent>;
type EventName = keyof typeof EVENTS;
const ev = (...names: EventName[]): FlowEvent[] => names.map((n) => EVENTS[n]);

/** The results of the flow, as the tables below state them. */
const CANCEL_TIMERS: Effect[] = [
  { type: 'cancel-timer', timer: 'input' },
  { type: 'cancel-timer', timer: 'deadline' },
];
/** The flow ends with `summary`, after stopping the prompts in `stop`. */
const ended = (summary: Summary, stop: Effect[] = []): { state: FlowState; effects: Effect[] } => ({ state: { phase: 'done', summary }, effects: [...stop, ...CANCEL_TIMERS, { type: 'finish', summary }] });
const stop = (id: number): Effect[] => [{ type: 'stop-playback', id }];

/** Every part of the notice played, then no key in time: the choice plays again (attempt 1). */
const firstSilence = ev('start (answered)', 'playback 1 ok', 'playback 2 ok', 'input timeout');
/** Two silences: the caller is awaiting a key with 2 attempts counted (the next playback is number 7). */
const SILENT = [...firstSilence, { type: 'playback-finished', id: 3, ok: true }, { type: 'playback-finished', id: 4, ok: true }, EVENTS['input timeout'], { type: 'playback-finished', id: 5, ok: true }, { type: 'playback-finished', id: 6, ok: true }] as FlowEvent[];
const THREE_INVALID = ev('start (answered)', 'key #', 'key #', 'key #');

/**
 * Every way into each phase: the events from the start (the last one makes the transition), the phase
 * before it, and the state and effects it gives.
 */
const INTO: [string, Phase, FlowEvent[], { state: FlowState; effects: Effect[] }][] = [
  ['answering, from idle: the call rings', 'idle', ev('start (ringing)'), { state: { phase: 'answering', settings }, effects: [{ type: 'start-timer', timer: 'deadline', ms: 60000 }, { type: 'answer' }] }],
  [
    'presenting, from idle: the call is answered already',
    'idle',
    ev('start (answered)'),
    {
      state: { phase: 'presenting', settings, nextPlaybackId: 2, lang: null, attempts: 0, extended: false, playing: { prompt: 'notice', lang: 'ar', id: 1 }, queue: [{ prompt: 'notice', lang: 'fr' }] },
      effects: [{ type: 'start-timer', timer: 'deadline', ms: 60000 }, { type: 'play', id: 1, prompt: 'notice', lang: 'ar' }],
    },
  ],
  [
    'presenting, from answering: the answer worked',
    'answering',
    ev('start (ringing)', 'answered'),
    {
      state: { phase: 'presenting', settings, nextPlaybackId: 2, lang: null, attempts: 0, extended: false, playing: { prompt: 'notice', lang: 'ar', id: 1 }, queue: [{ prompt: 'notice', lang: 'fr' }] },
      effects: [{ type: 'play', id: 1, prompt: 'notice', lang: 'ar' }],
    },
  ],
  [
    'presenting, from presenting: a part ended, the next plays',
    'presenting',
    ev('start (answered)', 'playback 1 ok'),
    {
      state: { phase: 'presenting', settings, nextPlaybackId: 3, lang: null, attempts: 0, extended: false, playing: { prompt: 'notice', lang: 'fr', id: 2 }, queue: [] },
      effects: [{ type: 'play', id: 2, prompt: 'notice', lang: 'fr' }],
    },
  ],
  [
    'presenting, from presenting: key 0 during the Arabic part',
    'presenting',
    ev('start (answered)', 'key 0'),
    {
      state: { phase: 'presenting', settings, nextPlaybackId: 3, lang: 'ar', attempts: 0, extended: true, playing: { prompt: 'full-notice', lang: 'ar', id: 2 }, queue: [{ prompt: 'choice', lang: 'ar' }] },
      effects: [{ type: 'stop-playback', id: 1 }, { type: 'start-timer', timer: 'deadline', ms: 45000 }, { type: 'play', id: 2, prompt: 'full-notice', lang: 'ar' }],
    },
  ],
  [
    'presenting, from presenting: key 0 again (the deadline is not moved twice)',
    'presenting',
    ev('start (answered)', 'key 0', 'key 0'),
    {
      state: { phase: 'presenting', settings, nextPlaybackId: 4, lang: 'ar', attempts: 0, extended: true, playing: { prompt: 'full-notice', lang: 'ar', id: 3 }, queue: [{ prompt: 'choice', lang: 'ar' }] },
      effects: [{ type: 'stop-playback', id: 2 }, { type: 'play', id: 3, prompt: 'full-notice', lang: 'ar' }],
    },
  ],
  [
    'presenting, from presenting: an invalid key',
    'presenting',
    ev('start (answered)', 'key #'),
    {
      state: { phase: 'presenting', settings, nextPlaybackId: 3, lang: 'ar', attempts: 1, extended: false, playing: { prompt: 'invalid', lang: 'ar', id: 2 }, queue: [{ prompt: 'choice', lang: 'ar' }] },
      effects: [{ type: 'stop-playback', id: 1 }, { type: 'play', id: 2, prompt: 'invalid', lang: 'ar' }],
    },
  ],
  [
    'presenting, from awaiting: key 0 after every part played (the default language)',
    'awaiting',
    ev('start (answered)', 'playback 1 ok', 'playback 2 ok', 'key 0'),
    {
      state: { phase: 'presenting', settings, nextPlaybackId: 4, lang: 'ar', attempts: 0, extended: true, playing: { prompt: 'full-notice', lang: 'ar', id: 3 }, queue: [{ prompt: 'choice', lang: 'ar' }] },
      effects: [{ type: 'cancel-timer', timer: 'input' }, { type: 'start-timer', timer: 'deadline', ms: 45000 }, { type: 'play', id: 3, prompt: 'full-notice', lang: 'ar' }],
    },
  ],
  [
    'presenting, from awaiting: an invalid key',
    'awaiting',
    ev('start (answered)', 'playback 1 ok', 'playback 2 ok', 'key #'),
    {
      state: { phase: 'presenting', settings, nextPlaybackId: 4, lang: 'ar', attempts: 1, extended: false, playing: { prompt: 'invalid', lang: 'ar', id: 3 }, queue: [{ prompt: 'choice', lang: 'ar' }] },
      effects: [{ type: 'cancel-timer', timer: 'input' }, { type: 'play', id: 3, prompt: 'invalid', lang: 'ar' }],
    },
  ],
  [
    'presenting, from awaiting: no key in time (the choice again, in every language)',
    'awaiting',
    firstSilence,
    {
      state: { phase: 'presenting', settings, nextPlaybackId: 4, lang: null, attempts: 1, extended: false, playing: { prompt: 'choice', lang: 'ar', id: 3 }, queue: [{ prompt: 'choice', lang: 'fr' }] },
      effects: [{ type: 'play', id: 3, prompt: 'choice', lang: 'ar' }],
    },
  ],
  [
    'awaiting, from presenting: the last part ended',
    'presenting',
    ev('start (answered)', 'playback 1 ok', 'playback 2 ok'),
    { state: { phase: 'awaiting', settings, nextPlaybackId: 3, lang: null, attempts: 0, extended: false }, effects: [{ type: 'start-timer', timer: 'input', ms: 5000 }] },
  ],
  [
    'storing, from presenting: key 1',
    'presenting',
    ev('start (answered)', 'key 1'),
    {
      state: { phase: 'storing', settings, nextPlaybackId: 2, lang: 'ar', attempts: 0, decision: { outcome: 'accepted', digit: '1' } },
      effects: [{ type: 'store-decision', decision: { outcome: 'accepted', digit: '1' }, lang: 'ar', attempts: 0 }, { type: 'stop-playback', id: 1 }],
    },
  ],
  [
    'storing, from presenting: key 2 during the French part',
    'presenting',
    ev('start (answered)', 'playback 1 ok', 'key 2'),
    {
      state: { phase: 'storing', settings, nextPlaybackId: 3, lang: 'fr', attempts: 0, decision: { outcome: 'refused', digit: '2' } },
      effects: [{ type: 'store-decision', decision: { outcome: 'refused', digit: '2' }, lang: 'fr', attempts: 0 }, { type: 'stop-playback', id: 2 }],
    },
  ],
  [
    'storing, from presenting: the last invalid key',
    'presenting',
    THREE_INVALID,
    {
      state: { phase: 'storing', settings, nextPlaybackId: 4, lang: 'ar', attempts: 3, decision: { outcome: 'no-input', digit: null } },
      effects: [{ type: 'store-decision', decision: { outcome: 'no-input', digit: null }, lang: 'ar', attempts: 3 }, { type: 'stop-playback', id: 3 }],
    },
  ],
  [
    'storing, from awaiting: key 1',
    'awaiting',
    ev('start (answered)', 'playback 1 ok', 'playback 2 ok', 'key 1'),
    {
      state: { phase: 'storing', settings, nextPlaybackId: 3, lang: 'ar', attempts: 0, decision: { outcome: 'accepted', digit: '1' } },
      effects: [{ type: 'store-decision', decision: { outcome: 'accepted', digit: '1' }, lang: 'ar', attempts: 0 }, { type: 'cancel-timer', timer: 'input' }],
    },
  ],
  [
    'storing, from awaiting: key 2',
    'awaiting',
    ev('start (answered)', 'playback 1 ok', 'playback 2 ok', 'key 2'),
    {
      state: { phase: 'storing', settings, nextPlaybackId: 3, lang: 'ar', attempts: 0, decision: { outcome: 'refused', digit: '2' } },
      effects: [{ type: 'store-decision', decision: { outcome: 'refused', digit: '2' }, lang: 'ar', attempts: 0 }, { type: 'cancel-timer', timer: 'input' }],
    },
  ],
  [
    'storing, from awaiting: an invalid key at the last attempt',
    'awaiting',
    [...SILENT, EVENTS['key #']],
    {
      state: { phase: 'storing', settings, nextPlaybackId: 7, lang: 'ar', attempts: 3, decision: { outcome: 'no-input', digit: null } },
      effects: [{ type: 'store-decision', decision: { outcome: 'no-input', digit: null }, lang: 'ar', attempts: 3 }, { type: 'cancel-timer', timer: 'input' }],
    },
  ],
  [
    'storing, from awaiting: no key in time at the last attempt',
    'awaiting',
    [...SILENT, EVENTS['input timeout']],
    {
      state: { phase: 'storing', settings, nextPlaybackId: 7, lang: null, attempts: 3, decision: { outcome: 'no-input', digit: null } },
      effects: [{ type: 'store-decision', decision: { outcome: 'no-input', digit: null }, lang: null, attempts: 3 }],
    },
  ],
  [
    'recording, from storing: the accept is stored',
    'storing',
    ev('start (answered)', 'key 1', 'decision-stored'),
    { state: { phase: 'recording', settings, nextPlaybackId: 2, lang: 'ar', attempts: 0, decision: { outcome: 'accepted', digit: '1' } }, effects: [{ type: 'start-recording' }] },
  ],
  [
    'confirming, from storing: the refusal is stored',
    'storing',
    ev('start (answered)', 'key 2', 'decision-stored'),
    {
      state: { phase: 'confirming', nextPlaybackId: 3, playing: { prompt: 'refused', lang: 'ar', id: 2 }, queue: [], summary: { outcome: 'refused', reason: 'key-refuse', lang: 'ar', digit: '2', attempts: 0, recordingPath: null } },
      effects: [{ type: 'play', id: 2, prompt: 'refused', lang: 'ar' }],
    },
  ],
  [
    'confirming, from storing: the silence is stored (no language: every one)',
    'storing',
    [...SILENT, EVENTS['input timeout'], EVENTS['decision-stored']],
    {
      state: {
        phase: 'confirming',
        nextPlaybackId: 8,
        playing: { prompt: 'refused', lang: 'ar', id: 7 },
        queue: [{ prompt: 'refused', lang: 'fr' }],
        summary: { outcome: 'no-input', reason: 'attempts-exhausted', lang: null, digit: null, attempts: 3, recordingPath: null },
      },
      effects: [{ type: 'play', id: 7, prompt: 'refused', lang: 'ar' }],
    },
  ],
  [
    'confirming, from storing: the accept could not be stored',
    'storing',
    ev('start (answered)', 'key 1', 'decision-store-failed'),
    {
      state: { phase: 'confirming', nextPlaybackId: 3, playing: { prompt: 'refused', lang: 'ar', id: 2 }, queue: [], summary: { outcome: 'error', reason: 'ledger-failed', lang: 'ar', digit: '1', attempts: 0, recordingPath: null } },
      effects: [{ type: 'play', id: 2, prompt: 'refused', lang: 'ar' }],
    },
  ],
  [
    'confirming, from storing: the refusal could not be stored',
    'storing',
    ev('start (answered)', 'key 2', 'decision-store-failed'),
    {
      state: { phase: 'confirming', nextPlaybackId: 3, playing: { prompt: 'refused', lang: 'ar', id: 2 }, queue: [], summary: { outcome: 'refused', reason: 'key-refuse', lang: 'ar', digit: '2', attempts: 0, recordingPath: null } },
      effects: [{ type: 'play', id: 2, prompt: 'refused', lang: 'ar' }],
    },
  ],
  [
    'confirming, from storing: the silence could not be stored',
    'storing',
    [...THREE_INVALID, EVENTS['decision-store-failed']],
    {
      state: {
        phase: 'confirming',
        nextPlaybackId: 5,
        playing: { prompt: 'refused', lang: 'ar', id: 4 },
        queue: [],
        summary: { outcome: 'no-input', reason: 'attempts-exhausted', lang: 'ar', digit: null, attempts: 3, recordingPath: null },
      },
      effects: [{ type: 'play', id: 4, prompt: 'refused', lang: 'ar' }],
    },
  ],
  [
    'confirming, from recording: MixMonitor started',
    'recording',
    ev('start (answered)', 'key 1', 'decision-stored', 'recording-started'),
    {
      state: { phase: 'confirming', nextPlaybackId: 3, playing: { prompt: 'accepted', lang: 'ar', id: 2 }, queue: [], summary: { outcome: 'accepted', reason: 'key-accept', lang: 'ar', digit: '1', attempts: 0, recordingPath: '/r/x.wav' } },
      effects: [{ type: 'play', id: 2, prompt: 'accepted', lang: 'ar' }],
    },
  ],
  [
    'confirming, from recording: MixMonitor failed',
    'recording',
    ev('start (answered)', 'key 1', 'decision-stored', 'recording-failed'),
    {
      state: { phase: 'confirming', nextPlaybackId: 3, playing: { prompt: 'refused', lang: 'ar', id: 2 }, queue: [], summary: { outcome: 'error', reason: 'recording-failed', lang: 'ar', digit: '1', attempts: 0, recordingPath: null } },
      effects: [{ type: 'play', id: 2, prompt: 'refused', lang: 'ar' }],
    },
  ],
  [
    'confirming, from confirming: the Arabic part ended, the French one plays',
    'confirming',
    [...SILENT, EVENTS['input timeout'], EVENTS['decision-stored'], { type: 'playback-finished', id: 7, ok: true }],
    {
      state: { phase: 'confirming', nextPlaybackId: 9, playing: { prompt: 'refused', lang: 'fr', id: 8 }, queue: [], summary: { outcome: 'no-input', reason: 'attempts-exhausted', lang: null, digit: null, attempts: 3, recordingPath: null } },
      effects: [{ type: 'play', id: 8, prompt: 'refused', lang: 'fr' }],
    },
  ],
  ['done, from idle: hang-up', 'idle', ev('hangup'), ended({ outcome: 'abandoned', reason: 'hangup', lang: null, digit: null, attempts: 0, recordingPath: null })],
  ['done, from answering: hang-up', 'answering', ev('start (ringing)', 'hangup'), ended({ outcome: 'abandoned', reason: 'hangup', lang: null, digit: null, attempts: 0, recordingPath: null })],
  ['done, from presenting: hang-up', 'presenting', ev('start (answered)', 'hangup'), ended({ outcome: 'abandoned', reason: 'hangup', lang: null, digit: null, attempts: 0, recordingPath: null }, stop(1))],
  ['done, from awaiting: hang-up', 'awaiting', [...firstSilence.slice(0, 3), EVENTS.hangup], ended({ outcome: 'abandoned', reason: 'hangup', lang: null, digit: null, attempts: 0, recordingPath: null })],
  ['done, from storing: hang-up', 'storing', ev('start (answered)', 'key 1', 'hangup'), ended({ outcome: 'abandoned', reason: 'hangup', lang: 'ar', digit: '1', attempts: 0, recordingPath: null })],
  ['done, from recording: hang-up', 'recording', ev('start (answered)', 'key 1', 'decision-stored', 'hangup'), ended({ outcome: 'abandoned', reason: 'hangup', lang: 'ar', digit: '1', attempts: 0, recordingPath: null })],
  [
    'done, from confirming: hang-up (while recorded)',
    'confirming',
    ev('start (answered)', 'key 1', 'decision-stored', 'recording-started', 'hangup'),
    ended({ outcome: 'abandoned', reason: 'hangup', lang: 'ar', digit: '1', attempts: 0, recordingPath: null }, stop(2)),
  ],
  ['done, from answering: the answer failed', 'answering', ev('start (ringing)', 'answer-failed'), ended({ outcome: 'error', reason: 'answer-failed', lang: null, digit: null, attempts: 0, recordingPath: null })],
  ['done, from presenting: a prompt could not be played', 'presenting', ev('start (answered)', 'playback 1 failed'), ended({ outcome: 'error', reason: 'prompt-failed', lang: null, digit: null, attempts: 0, recordingPath: null }, stop(1))],
  ['done, from answering: the deadline', 'answering', ev('start (ringing)', 'deadline'), ended({ outcome: 'error', reason: 'deadline', lang: null, digit: null, attempts: 0, recordingPath: null })],
  ['done, from presenting: the deadline', 'presenting', ev('start (answered)', 'deadline'), ended({ outcome: 'error', reason: 'deadline', lang: null, digit: null, attempts: 0, recordingPath: null }, stop(1))],
  ['done, from awaiting: the deadline', 'awaiting', [...firstSilence.slice(0, 3), EVENTS.deadline], ended({ outcome: 'error', reason: 'deadline', lang: null, digit: null, attempts: 0, recordingPath: null })],
  ['done, from storing an accept: the deadline (never records)', 'storing', ev('start (answered)', 'key 1', 'deadline'), ended({ outcome: 'error', reason: 'deadline', lang: 'ar', digit: '1', attempts: 0, recordingPath: null })],
  ['done, from storing a refusal: the deadline (the refusal stands)', 'storing', ev('start (answered)', 'key 2', 'deadline'), ended({ outcome: 'refused', reason: 'key-refuse', lang: 'ar', digit: '2', attempts: 0, recordingPath: null })],
  ['done, from storing a silence: the deadline (no-input stands)', 'storing', [...THREE_INVALID, EVENTS.deadline], ended({ outcome: 'no-input', reason: 'attempts-exhausted', lang: 'ar', digit: null, attempts: 3, recordingPath: null })],
  ['done, from recording: the deadline (never records)', 'recording', ev('start (answered)', 'key 1', 'decision-stored', 'deadline'), ended({ outcome: 'error', reason: 'deadline', lang: 'ar', digit: '1', attempts: 0, recordingPath: null })],
  [
    'done, from confirming a recorded accept: the deadline (the accept stands)',
    'confirming',
    ev('start (answered)', 'key 1', 'decision-stored', 'recording-started', 'deadline'),
    ended({ outcome: 'accepted', reason: 'key-accept', lang: 'ar', digit: '1', attempts: 0, recordingPath: '/r/x.wav' }, stop(2)),
  ],
  ['done, from confirming a refusal: the deadline (the refusal stands)', 'confirming', ev('start (answered)', 'key 2', 'decision-stored', 'deadline'), ended({ outcome: 'refused', reason: 'key-refuse', lang: 'ar', digit: '2', attempts: 0, recordingPath: null }, stop(2))],
  [
    'done, from confirming an accept not stored: the deadline (error, the deadline as reason)',
    'confirming',
    ev('start (answered)', 'key 1', 'decision-store-failed', 'deadline'),
    ended({ outcome: 'error', reason: 'deadline', lang: 'ar', digit: '1', attempts: 0, recordingPath: null }, stop(2)),
  ],
  ['done, from confirming: the last part ended', 'confirming', ev('start (answered)', 'key 2', 'decision-stored', 'playback 2 ok'), ended({ outcome: 'refused', reason: 'key-refuse', lang: 'ar', digit: '2', attempts: 0, recordingPath: null })],
  [
    'done, from confirming: the last part failed (the result stands)',
    'confirming',
    ev('start (answered)', 'key 1', 'decision-stored', 'recording-started', 'playback 2 failed'),
    ended({ outcome: 'accepted', reason: 'key-accept', lang: 'ar', digit: '1', attempts: 0, recordingPath: '/r/x.wav' }),
  ],
];

describe('consent flow: every way into each phase', () => {
  test.each(INTO)('When %s, then it gives the state and effects stated', (_name, from, events, expected) => {
    expect(run(events.slice(0, -1)).state.phase).toBe(from);
    expect(run(events)).toStrictEqual(expected);
  });

  test('When the ways in are listed, then every phase but idle is reached and idle is only the start', () => {
    expect([...new Set(INTO.map(([, , , t]) => t.state.phase))].sort()).toEqual(['answering', 'awaiting', 'confirming', 'done', 'presenting', 'recording', 'storing']);
    expect(initialState(settings)).toStrictEqual({ phase: 'idle', settings });
  });
});

/** A transition as the matrix below states it: 'ignored', or the next phase and its effects in order. */
function shown(before: FlowState, { state, effects }: { state: FlowState; effects: Effect[] }): string {
  const text: { [T in Effect['type']]: (e: Extract<Effect, { type: T }>) => string } = {
    answer: () => 'answer',
    play: (e) => `play ${e.id} ${e.lang} ${e.prompt}`,
    'stop-playback': (e) => `stop ${e.id}`,
    'start-timer': (e) => `start ${e.timer} ${e.ms}`,
    'cancel-timer': (e) => `cancel ${e.timer}`,
    'store-decision': (e) => `store ${e.decision.outcome}`,
    'start-recording': () => 'record',
    finish: (e) => `finish ${e.summary.outcome} ${e.summary.reason}`,
  };
  const parts = effects.map((e) => (text[e.type] as (e: Effect) => string)(e));
  return state === before && effects.length === 0 ? 'ignored' : `${state.phase}: ${parts.join(', ')}`;
}

const I = 'ignored';
/** While the decision is stored or the recording starts, the caller's keys, the prompts' ends and a second start change nothing. */
const DEAF = {
  'start (answered)': I, 'start (ringing)': I, answered: I, 'answer-failed': I,
  'playback 1 ok': I, 'playback 1 failed': I, 'playback 2 ok': I, 'playback 2 failed': I,
  'key 1': I, 'key 2': I, 'key 0': I, 'key #': I,
  'input timeout': I,
} as const;
/** The end of the flow, as the matrix shows it (after stopping the prompt `stopping`, if any). */
const end = (outcome: string, reason: string, stopping?: number) => `done: ${stopping ? `stop ${stopping}, ` : ''}cancel input, cancel deadline, finish ${outcome} ${reason}`;

/** The states of the matrix, each reached by these events: every phase, and those whose decision changes what follows. */
const ROWS = {
  idle: [],
  answering: ev('start (ringing)'),
  'presenting (playing 1)': ev('start (answered)'),
  awaiting: ev('start (answered)', 'playback 1 ok', 'playback 2 ok'),
  'storing an accept': ev('start (answered)', 'key 1'),
  'storing a refusal': ev('start (answered)', 'key 2'),
  'storing a silence': THREE_INVALID,
  recording: ev('start (answered)', 'key 1', 'decision-stored'),
  'confirming a recorded accept (playing 2)': ev('start (answered)', 'key 1', 'decision-stored', 'recording-started'),
  'confirming an accept not stored (playing 2)': ev('start (answered)', 'key 1', 'decision-store-failed'),
  done: ev('start (answered)', 'hangup'),
} satisfies Record<string, FlowEvent[]>;
type RowName = keyof typeof ROWS;

/** Every state above × every event: the result, stated. */
const MATRIX: Record<RowName, Record<EventName, string>> = {
  idle: {
    'start (answered)': 'presenting: start deadline 60000, play 1 ar notice',
    'start (ringing)': 'answering: start deadline 60000, answer',
    answered: I, 'answer-failed': I,
    'playback 1 ok': I, 'playback 1 failed': I, 'playback 2 ok': I, 'playback 2 failed': I,
    'key 1': I, 'key 2': I, 'key 0': I, 'key #': I,
    'input timeout': I, deadline: I,
    hangup: end('abandoned', 'hangup'),
    'decision-stored': I, 'decision-store-failed': I, 'recording-started': I, 'recording-failed': I,
  },
  answering: {
    'start (answered)': I, 'start (ringing)': I,
    answered: 'presenting: play 1 ar notice',
    'answer-failed': end('error', 'answer-failed'),
    'playback 1 ok': I, 'playback 1 failed': I, 'playback 2 ok': I, 'playback 2 failed': I,
    'key 1': I, 'key 2': I, 'key 0': I, 'key #': I,
    'input timeout': I, deadline: end('error', 'deadline'),
    hangup: end('abandoned', 'hangup'),
    'decision-stored': I, 'decision-store-failed': I, 'recording-started': I, 'recording-failed': I,
  },
  'presenting (playing 1)': {
    'start (answered)': I, 'start (ringing)': I, answered: I, 'answer-failed': I,
    'playback 1 ok': 'presenting: play 2 fr notice',
    'playback 1 failed': end('error', 'prompt-failed', 1),
    'playback 2 ok': I, 'playback 2 failed': I,
    'key 1': 'storing: store accepted, stop 1',
    'key 2': 'storing: store refused, stop 1',
    'key 0': 'presenting: stop 1, start deadline 45000, play 2 ar full-notice',
    'key #': 'presenting: stop 1, play 2 ar invalid',
    'input timeout': I,
    deadline: end('error', 'deadline', 1),
    hangup: end('abandoned', 'hangup', 1),
    'decision-stored': I, 'decision-store-failed': I, 'recording-started': I, 'recording-failed': I,
  },
  awaiting: {
    'start (answered)': I, 'start (ringing)': I, answered: I, 'answer-failed': I,
    'playback 1 ok': I, 'playback 1 failed': I, 'playback 2 ok': I, 'playback 2 failed': I,
    'key 1': 'storing: store accepted, cancel input',
    'key 2': 'storing: store refused, cancel input',
    'key 0': 'presenting: cancel input, start deadline 45000, play 3 ar full-notice',
    'key #': 'presenting: cancel input, play 3 ar invalid',
    'input timeout': 'presenting: play 3 ar choice',
    deadline: end('error', 'deadline'),
    hangup: end('abandoned', 'hangup'),
    'decision-stored': I, 'decision-store-failed': I, 'recording-started': I, 'recording-failed': I,
  },
  'storing an accept': {
    ...DEAF,
    deadline: end('error', 'deadline'),
    hangup: end('abandoned', 'hangup'),
    'decision-stored': 'recording: record',
    'decision-store-failed': 'confirming: play 2 ar refused',
    'recording-started': I, 'recording-failed': I,
  },
  'storing a refusal': {
    ...DEAF,
    deadline: end('refused', 'key-refuse'),
    hangup: end('abandoned', 'hangup'),
    'decision-stored': 'confirming: play 2 ar refused',
    'decision-store-failed': 'confirming: play 2 ar refused',
    'recording-started': I, 'recording-failed': I,
  },
  'storing a silence': {
    ...DEAF,
    deadline: end('no-input', 'attempts-exhausted'),
    hangup: end('abandoned', 'hangup'),
    'decision-stored': 'confirming: play 4 ar refused',
    'decision-store-failed': 'confirming: play 4 ar refused',
    'recording-started': I, 'recording-failed': I,
  },
  recording: {
    ...DEAF,
    deadline: end('error', 'deadline'),
    hangup: end('abandoned', 'hangup'),
    'decision-stored': I, 'decision-store-failed': I,
    'recording-started': 'confirming: play 2 ar accepted',
    'recording-failed': 'confirming: play 2 ar refused',
  },
  'confirming a recorded accept (playing 2)': {
    'start (answered)': I, 'start (ringing)': I, answered: I, 'answer-failed': I,
    'playback 1 ok': I, 'playback 1 failed': I,
    'playback 2 ok': end('accepted', 'key-accept'),
    'playback 2 failed': end('accepted', 'key-accept'),
    'key 1': I, 'key 2': I, 'key 0': I, 'key #': I,
    'input timeout': I,
    deadline: end('accepted', 'key-accept', 2),
    hangup: end('abandoned', 'hangup', 2),
    'decision-stored': I, 'decision-store-failed': I, 'recording-started': I, 'recording-failed': I,
  },
  'confirming an accept not stored (playing 2)': {
    'start (answered)': I, 'start (ringing)': I, answered: I, 'answer-failed': I,
    'playback 1 ok': I, 'playback 1 failed': I,
    'playback 2 ok': end('error', 'ledger-failed'),
    'playback 2 failed': end('error', 'ledger-failed'),
    'key 1': I, 'key 2': I, 'key 0': I, 'key #': I,
    'input timeout': I,
    deadline: end('error', 'deadline', 2),
    hangup: end('abandoned', 'hangup', 2),
    'decision-stored': I, 'decision-store-failed': I, 'recording-started': I, 'recording-failed': I,
  },
  done: {
    'start (answered)': I, 'start (ringing)': I, answered: I, 'answer-failed': I,
    'playback 1 ok': I, 'playback 1 failed': I, 'playback 2 ok': I, 'playback 2 failed': I,
    'key 1': I, 'key 2': I, 'key 0': I, 'key #': I,
    'input timeout': I, deadline: I, hangup: I,
    'decision-stored': I, 'decision-store-failed': I, 'recording-started': I, 'recording-failed': I,
  },
};

const CELLS = (Object.keys(ROWS) as RowName[]).flatMap((row) => (Object.keys(EVENTS) as EventName[]).map((event) => [row, event, MATRIX[row][event]] as const));

describe('consent flow: every phase × every event', () => {
  test.each(CELLS)('When in %s and "%s" arrives, then: %s', (row, event, expected) => {
    const before = run(ROWS[row]).state;
    expect(shown(before, decide(before, EVENTS[event]))).toBe(expected);
  });

  test('When every cell is run, then every phase is a row and a recording is requested in one cell only: an accept stored', () => {
    const phases = (Object.keys(ROWS) as RowName[]).map((row) => run(ROWS[row]).state.phase);
    expect([...new Set(phases)].sort()).toEqual(['answering', 'awaiting', 'confirming', 'done', 'idle', 'presenting', 'recording', 'storing']);
    const recording = CELLS.filter(([row, event]) => decide(run(ROWS[row]).state, EVENTS[event]).effects.some((e) => e.type === 'start-recording'));
    expect(recording.map(([row, event]) => `${row} × ${event}`)).toEqual(['storing an accept × decision-stored']);
  });
});

describe('consent flow: paths', () => {
  test('When the call is not answered, then it is answered before any prompt', () => {
    const t = run([{ type: 'start', answered: false }]);
    expect(t.effects.map((e) => e.type)).toEqual(['start-timer', 'answer']);
    const t2 = decide(t.state, { type: 'answered' });
    expect(plays(t2.effects)).toEqual(['ar:notice']);
  });

  test('When the answer fails, then the call continues with error', () => {
    const t = run([{ type: 'start', answered: false }, { type: 'answer-failed' }]);
    expect(finishOf(t.effects)).toMatchObject({ outcome: 'error', reason: 'answer-failed' });
  });

  test('When the call starts, then the notice plays in Arabic then French and the deadline starts', () => {
    const t = run([{ type: 'start', answered: true }]);
    expect(t.effects[0]).toEqual({ type: 'start-timer', timer: 'deadline', ms: 60000 });
    expect(plays(t.effects)).toEqual(['ar:notice']);
    const t2 = decide(t.state, { type: 'playback-finished', id: 1, ok: true });
    expect(plays(t2.effects)).toEqual(['fr:notice']);
    const t3 = decide(t2.state, { type: 'playback-finished', id: 2, ok: true });
    expect(t3.effects).toEqual([{ type: 'start-timer', timer: 'input', ms: 5000 }]);
  });

  test('When the order is French first, then French plays first', () => {
    const t = run([{ type: 'start', answered: true }], { ...settings, languages: ['fr', 'ar'] });
    expect(plays(t.effects)).toEqual(['fr:notice']);
  });

  test('When 1 is pressed during the Arabic part, then the decision is stored in Arabic (its write first, the prompt stopped next), and only then recording starts', () => {
    const t = run([{ type: 'start', answered: true }, { type: 'digit', digit: '1' }]);
    expect(t.effects).toEqual([
      { type: 'store-decision', decision: { outcome: 'accepted', digit: '1' }, lang: 'ar', attempts: 0 },
      { type: 'stop-playback', id: 1 },
    ]);
    const t2 = decide(t.state, { type: 'decision-stored' });
    expect(t2.effects).toEqual([{ type: 'start-recording' }]);
    const t3 = decide(t2.state, { type: 'recording-started', path: '/r/a.wav' });
    expect(plays(t3.effects)).toEqual(['ar:accepted']);
    const t4 = decide(t3.state, { type: 'playback-finished', id: 2, ok: true });
    expect(finishOf(t4.effects)).toEqual({ outcome: 'accepted', reason: 'key-accept', lang: 'ar', digit: '1', attempts: 0, recordingPath: '/r/a.wav' });
  });

  test('When 2 is pressed during the French part, then the call is refused in French, not recorded, and continues', () => {
    const t = run([
      { type: 'start', answered: true },
      { type: 'playback-finished', id: 1, ok: true },
      { type: 'digit', digit: '2' },
      { type: 'decision-stored' },
    ]);
    expect(plays(t.effects)).toEqual(['fr:refused']);
    const end = decide(t.state, { type: 'playback-finished', id: 3, ok: true });
    expect(finishOf(end.effects)).toMatchObject({ outcome: 'refused', lang: 'fr', recordingPath: null });
  });

  test('When a key comes after every part played, then the default language is used', () => {
    const t = run([...reach.awaiting, { type: 'digit', digit: '2' }]);
    expect(t.effects).toContainEqual({ type: 'cancel-timer', timer: 'input' });
    expect(t.state).toMatchObject({ lang: 'ar' });
  });

  test('When 0 is pressed, then the full notice and the choice play in that language, then accept works', () => {
    const t = run([{ type: 'start', answered: true }, { type: 'playback-finished', id: 1, ok: true }, { type: 'digit', digit: '0' }]);
    expect(plays(t.effects)).toEqual(['fr:full-notice']);
    expect(t.effects).toContainEqual({ type: 'start-timer', timer: 'deadline', ms: 45000 });
    const t2 = decide(t.state, { type: 'playback-finished', id: 3, ok: true });
    expect(plays(t2.effects)).toEqual(['fr:choice']);
    const t3 = decide(t2.state, { type: 'digit', digit: '1' });
    expect(t3.effects).toContainEqual({ type: 'store-decision', decision: { outcome: 'accepted', digit: '1' }, lang: 'fr', attempts: 0 });
  });

  test.each(['*', '#', '5', 'A', 'D', '12', ''])('When the invalid key "%s" is pressed, then "invalid" and the choice play and an attempt is counted', (digit) => {
    const t = run([{ type: 'start', answered: true }, { type: 'digit', digit }]);
    expect(plays(t.effects)).toEqual(['ar:invalid']);
    expect(t.state).toMatchObject({ attempts: 1 });
    const t2 = decide(t.state, { type: 'playback-finished', id: 2, ok: true });
    expect(plays(t2.effects)).toEqual(['ar:choice']);
  });

  test('When an invalid key is followed by 1, then the call is accepted', () => {
    const t = run([{ type: 'start', answered: true }, { type: 'digit', digit: '9' }, { type: 'digit', digit: '1' }]);
    expect(t.effects).toContainEqual({ type: 'store-decision', decision: { outcome: 'accepted', digit: '1' }, lang: 'ar', attempts: 1 });
  });

  test('When nobody presses anything, then the choice is repeated in every language and after 3 attempts the result is no-input, not recorded', () => {
    let t = run(reach.awaiting);
    t = { ...decide(t.state, { type: 'timeout', timer: 'input' }) };
    expect(plays(t.effects)).toEqual(['ar:choice']);
    t = decide(t.state, { type: 'playback-finished', id: 3, ok: true });
    expect(plays(t.effects)).toEqual(['fr:choice']);
    t = decide(t.state, { type: 'playback-finished', id: 4, ok: true });
    t = decide(t.state, { type: 'timeout', timer: 'input' });
    t = decide(t.state, { type: 'playback-finished', id: 5, ok: true });
    t = decide(t.state, { type: 'playback-finished', id: 6, ok: true });
    t = decide(t.state, { type: 'timeout', timer: 'input' });
    expect(t.effects).toEqual([{ type: 'store-decision', decision: { outcome: 'no-input', digit: null }, lang: null, attempts: 3 }]);
    t = decide(t.state, { type: 'decision-stored' });
    expect(plays(t.effects)).toEqual(['ar:refused']);
    t = decide(t.state, { type: 'playback-finished', id: 7, ok: true });
    t = decide(t.state, { type: 'playback-finished', id: 8, ok: true });
    expect(finishOf(t.effects)).toMatchObject({ outcome: 'no-input', reason: 'attempts-exhausted' });
    expect(t.effects.some((e) => e.type === 'start-recording')).toBe(false);
  });

  test('When three invalid keys are pressed, then the result is no-input', () => {
    const t = run([{ type: 'start', answered: true }, { type: 'digit', digit: '#' }, { type: 'digit', digit: '*' }, { type: 'digit', digit: '7' }]);
    expect(t.effects).toContainEqual({ type: 'store-decision', decision: { outcome: 'no-input', digit: null }, lang: 'ar', attempts: 3 });
  });

  test('When a stale playback finishes after a barge-in, then it is ignored', () => {
    const t = run([{ type: 'start', answered: true }, { type: 'digit', digit: '0' }]);
    const t2 = decide(t.state, { type: 'playback-finished', id: 1, ok: true });
    expect(t2.effects).toEqual([]);
    expect(t2.state).toBe(t.state);
  });

  test('When a notice prompt cannot be played, then the call continues unrecorded with error', () => {
    const t = run([{ type: 'start', answered: true }, { type: 'playback-finished', id: 1, ok: false }]);
    expect(finishOf(t.effects)).toMatchObject({ outcome: 'error', reason: 'prompt-failed' });
  });

  test('When the accept cannot be stored, then nothing is recorded and the caller hears "not recorded"', () => {
    const t = run([...reach.storing, { type: 'decision-store-failed' }]);
    expect(has(t.effects, 'start-recording')).toBe(false);
    expect(plays(t.effects)).toEqual(['ar:refused']);
    const end = decide(t.state, { type: 'playback-finished', id: 2, ok: true });
    expect(finishOf(end.effects)).toMatchObject({ outcome: 'error', reason: 'ledger-failed', recordingPath: null });
  });

  test('When a refusal cannot be stored, then the call is still refused and continues', () => {
    const t = run([{ type: 'start', answered: true }, { type: 'digit', digit: '2' }, { type: 'decision-store-failed' }]);
    const end = decide(t.state, { type: 'playback-finished', id: 2, ok: true });
    expect(finishOf(end.effects)).toMatchObject({ outcome: 'refused' });
  });

  test('When MixMonitor fails, then the caller hears "not recorded" and the result is error', () => {
    const t = run([...reach.recording, { type: 'recording-failed' }]);
    expect(plays(t.effects)).toEqual(['ar:refused']);
    const end = decide(t.state, { type: 'playback-finished', id: 2, ok: true });
    expect(finishOf(end.effects)).toMatchObject({ outcome: 'error', reason: 'recording-failed', recordingPath: null });
  });

  test('When the confirmation prompt fails, then the decision stands', () => {
    const t = run([...reach.confirming, { type: 'playback-finished', id: 2, ok: false }]);
    expect(finishOf(t.effects)).toMatchObject({ outcome: 'accepted', recordingPath: '/r/x.wav' });
  });

  test.each([
    ['presenting', 'error', null],
    ['awaiting', 'error', null],
    ['storing', 'error', null],
    ['recording', 'error', null],
    ['confirming', 'accepted', '/r/x.wav'],
  ] as const)('When the deadline passes while %s, then the call continues as %s', (phase, outcome, recordingPath) => {
    const t = run([...reach[phase], { type: 'timeout', timer: 'deadline' }]);
    expect(finishOf(t.effects)).toMatchObject({ outcome, recordingPath });
  });

  test('When the deadline passes after a refusal, then the refusal stands', () => {
    const t = run([{ type: 'start', answered: true }, { type: 'digit', digit: '2' }, { type: 'timeout', timer: 'deadline' }]);
    expect(finishOf(t.effects)?.outcome).toBe('refused');
  });

  test('When the caller hangs up during the notice, then playback and timers are cancelled and nothing else happens', () => {
    const t = run([{ type: 'start', answered: true }, { type: 'hangup' }]);
    expect(t.effects).toEqual([
      { type: 'stop-playback', id: 1 },
      { type: 'cancel-timer', timer: 'input' },
      { type: 'cancel-timer', timer: 'deadline' },
      { type: 'finish', summary: { outcome: 'abandoned', reason: 'hangup', lang: null, digit: null, attempts: 0, recordingPath: null } },
    ]);
    for (const e of Object.values(EVENTS)) expect(decide(t.state, e).effects).toEqual([]);
  });

  test('When the caller hangs up right after pressing 1, then a later "stored" does not start a recording', () => {
    const t = run([...reach.storing, { type: 'hangup' }, { type: 'decision-stored' }]);
    expect(t.effects).toEqual([]);
    expect(t.state).toMatchObject({ phase: 'done', summary: { outcome: 'abandoned' } });
  });

  test('When digits flood in while the decision is being stored, then they are ignored', () => {
    let t = run(reach.storing);
    for (const d of '1212120*#ABCD') t = decide(t.state, { type: 'digit', digit: d });
    expect(t.effects).toEqual([]);
    expect(t.state).toMatchObject({ decision: { outcome: 'accepted', digit: '1' } });
  });

  test('When 0 is pressed a second time, then the deadline is not extended again', () => {
    const t = run([{ type: 'start', answered: true }, { type: 'digit', digit: '0' }, { type: 'digit', digit: '0' }]);
    expect(plays(t.effects)).toEqual(['ar:full-notice']);
    expect(t.effects.some((e) => e.type === 'start-timer')).toBe(false);
  });

  test('When maxAttempts is 1, then the first silence ends as no-input', () => {
    const s = { ...settings, maxAttempts: 1 };
    const t = run([...reach.awaiting, { type: 'timeout', timer: 'input' }], s);
    expect(t.effects).toEqual([{ type: 'store-decision', decision: { outcome: 'no-input', digit: null }, lang: null, attempts: 1 }]);
  });
});
