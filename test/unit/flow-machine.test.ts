import { decide, initialState } from '../../src/call/flow/machine';
import type { Effect, FlowEvent, FlowSettings, FlowState, Phase } from '../../src/call/flow/types';

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

const allEvents: FlowEvent[] = [
  { type: 'start', answered: true },
  { type: 'answered' },
  { type: 'answer-failed' },
  { type: 'playback-finished', id: 1, ok: true },
  { type: 'playback-finished', id: 1, ok: false },
  { type: 'digit', digit: '1' },
  { type: 'digit', digit: '2' },
  { type: 'digit', digit: '0' },
  { type: 'digit', digit: '#' },
  { type: 'timeout', timer: 'input' },
  { type: 'timeout', timer: 'deadline' },
  { type: 'hangup' },
  { type: 'decision-stored' },
  { type: 'decision-store-failed' },
  { type: 'recording-started', path: '/r/x.wav' },
  { type: 'recording-failed' },
];

describe('consent flow: every phase × every event', () => {
  for (const phase of Object.keys(reach) as Phase[]) {
    test.each(allEvents.map((e) => [JSON.stringify(e), e] as const))(`When in ${phase} and %s arrives, then no recording is requested unless an accept was stored`, (_n, event) => {
      const before = run(reach[phase]).state;
      expect(before.phase).toBe(phase);
      const { state, effects } = decide(before, event);
      const recordingRequested = has(effects, 'start-recording');
      if (recordingRequested) {
        expect(phase).toBe('storing');
        expect(before).toMatchObject({ decision: { outcome: 'accepted' } });
        expect(event.type).toBe('decision-stored');
      }
      // The flow never hangs up: the only way out is `finish`, which continues the call.
      if (state.phase === 'done' && phase !== 'done') expect(finishOf(effects)).toBeDefined();
      if (phase === 'done') expect(effects).toEqual([]);
      if (event.type === 'hangup' && phase !== 'done') expect(finishOf(effects)?.outcome).toBe('abandoned');
    });
  }
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
    ['presenting', 'error'],
    ['awaiting', 'error'],
    ['storing', 'error'],
    ['recording', 'error'],
    ['confirming', 'accepted'],
  ] as const)('When the deadline passes while %s, then the call continues as %s', (phase, outcome) => {
    const t = run([...reach[phase], { type: 'timeout', timer: 'deadline' }]);
    expect(finishOf(t.effects)?.outcome).toBe(outcome);
    if (outcome !== 'accepted') expect(finishOf(t.effects)?.recordingPath).toBeNull();
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
    for (const e of allEvents) expect(decide(t.state, e).effects).toEqual([]);
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
