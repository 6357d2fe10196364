/**
 * The consent flow as a pure reducer. Safety rules it enforces:
 * - recording is requested only after an explicit accept key AND after the decision is stored;
 * - silence, invalid keys, failures and the deadline never record and never hang up;
 * - after the flow is done (or the caller hung up) every event is ignored.
 */
import type { Language, PromptName } from '../../domain/vocabulary';
import type { Decision, Effect, FlowEvent, FlowSettings, FlowState, Outcome, PromptItem, Reason, Transition } from './types';

export const KEY_ACCEPT = '1';
export const KEY_REFUSE = '2';
export const KEY_FULL_NOTICE = '0';

/** DTMF symbols Asterisk can report; anything else is treated as an invalid key. */
const DTMF = /^[0-9*#A-D]$/;

export function initialState(settings: FlowSettings): FlowState {
  return {
    settings,
    phase: 'idle',
    current: null,
    queue: [],
    nextPlaybackId: 1,
    lang: null,
    attempts: 0,
    decision: null,
    recordingPath: null,
    outcome: null,
    reason: null,
    extended: false,
  };
}

function inEach(state: FlowState, prompt: PromptName, lang: Language | null): PromptItem[] {
  return lang ? [{ prompt, lang }] : state.settings.languages.map((l) => ({ prompt, lang: l }));
}

/** Starts playing a list of prompts in the given phase. */
function present(state: FlowState, phase: 'presenting' | 'confirming', items: PromptItem[], effects: Effect[]): Transition {
  const [first, ...rest] = items;
  if (!first) return { state: { ...state, phase }, effects };
  const id = state.nextPlaybackId;
  return {
    state: { ...state, phase, current: { ...first, id }, queue: rest, nextPlaybackId: id + 1 },
    effects: [...effects, { type: 'play', id, prompt: first.prompt, lang: first.lang }],
  };
}

function stopCurrent(state: FlowState): Effect[] {
  return state.current ? [{ type: 'stop-playback', id: state.current.id }] : [];
}

function finish(state: FlowState, outcome: Outcome, reason: Reason, effects: Effect[] = []): Transition {
  const done: FlowState = { ...state, phase: 'done', current: null, queue: [], outcome, reason };
  return {
    state: done,
    effects: [
      ...effects,
      ...stopCurrent(state),
      { type: 'cancel-timer', timer: 'input' },
      { type: 'cancel-timer', timer: 'deadline' },
      {
        type: 'finish',
        summary: {
          outcome,
          reason,
          lang: state.lang,
          digit: state.decision?.digit ?? null,
          attempts: state.attempts,
          recordingPath: outcome === 'accepted' ? state.recordingPath : null,
        },
      },
    ],
  };
}

/**
 * The decision is stored first: on an accept the write, then MixMonitor, is the path the caller
 * waits on, so the runner starts it before the other effects (stopping the prompt, timers).
 */
function decide_(state: FlowState, decision: Decision, effects: Effect[]): Transition {
  const next: FlowState = { ...state, phase: 'storing', current: null, queue: [], decision };
  return {
    state: next,
    effects: [{ type: 'store-decision', decision, lang: state.lang, attempts: state.attempts }, ...effects],
  };
}

/** One presentation of the choice ended without a valid key. */
function failedAttempt(state: FlowState, items: PromptItem[], effects: Effect[]): Transition {
  const attempts = state.attempts + 1;
  const next = { ...state, attempts, current: null, queue: [] };
  if (attempts >= state.settings.maxAttempts) return decide_(next, { outcome: 'no-input', digit: null }, effects);
  return present(next, 'presenting', items, effects);
}

function onKey(state: FlowState, digit: string, lang: Language, effects: Effect[]): Transition {
  const s: FlowState = { ...state, lang, current: null, queue: [] };
  switch (digit) {
    case KEY_ACCEPT:
      return decide_(s, { outcome: 'accepted', digit }, effects);
    case KEY_REFUSE:
      return decide_(s, { outcome: 'refused', digit }, effects);
    case KEY_FULL_NOTICE: {
      // The full notice is long: give the caller time to hear it, once per call.
      const extend: Effect[] = s.extended ? [] : [{ type: 'start-timer', timer: 'deadline', ms: s.settings.fullNoticeExtensionMs }];
      return present({ ...s, extended: true }, 'presenting', [{ prompt: 'full-notice', lang }, { prompt: 'choice', lang }], [...effects, ...extend]);
    }
    default:
      return failedAttempt(s, [{ prompt: 'invalid', lang }, { prompt: 'choice', lang }], effects);
  }
}

function confirm(state: FlowState, prompt: 'accepted' | 'refused', outcome: Outcome, reason: Reason): Transition {
  const s: FlowState = { ...state, outcome, reason };
  return present(s, 'confirming', inEach(s, prompt, s.lang), []);
}

function reasonFor(decision: Decision): Reason {
  if (decision.outcome === 'accepted') return 'key-accept';
  if (decision.outcome === 'refused') return 'key-refuse';
  return 'attempts-exhausted';
}

export function decide(state: FlowState, event: FlowEvent): Transition {
  const none: Transition = { state, effects: [] };
  if (state.phase === 'done') return none;

  // Events that mean the same in every phase.
  if (event.type === 'hangup') return finish(state, 'abandoned', 'hangup');
  if (event.type === 'timeout' && event.timer === 'deadline') {
    if (state.phase === 'idle') return none;
    // The deadline never records: an accepted call counts only if its recording already started.
    const d = state.decision;
    if (d && d.outcome !== 'accepted') return finish(state, d.outcome, reasonFor(d));
    if (d && state.recordingPath && state.outcome === 'accepted') return finish(state, 'accepted', 'key-accept');
    return finish(state, 'error', 'deadline');
  }

  switch (state.phase) {
    case 'idle': {
      if (event.type !== 'start') return none;
      const timer: Effect = { type: 'start-timer', timer: 'deadline', ms: state.settings.maxCallMs };
      if (!event.answered) return { state: { ...state, phase: 'answering' }, effects: [timer, { type: 'answer' }] };
      return present(state, 'presenting', inEach(state, 'notice', null), [timer]);
    }

    case 'answering':
      if (event.type === 'answered') return present(state, 'presenting', inEach(state, 'notice', null), []);
      if (event.type === 'answer-failed') return finish(state, 'error', 'answer-failed');
      return none;

    case 'presenting': {
      if (event.type === 'playback-finished') {
        if (event.id !== state.current?.id) return none;
        if (!event.ok) return finish(state, 'error', 'prompt-failed');
        const rest = { ...state, current: null };
        if (state.queue.length > 0) return present(rest, 'presenting', state.queue, []);
        return {
          state: { ...rest, phase: 'awaiting' },
          effects: [{ type: 'start-timer', timer: 'input', ms: state.settings.inputTimeoutMs }],
        };
      }
      if (event.type === 'digit') {
        // Barge-in: the part playing when the key came is the caller's language.
        const lang = state.lang ?? state.current?.lang ?? state.settings.defaultLanguage;
        return onKey(state, DTMF.test(event.digit) ? event.digit : '?', lang, stopCurrent(state));
      }
      return none;
    }

    case 'awaiting': {
      if (event.type === 'digit') {
        const lang = state.lang ?? state.settings.defaultLanguage;
        return onKey(state, DTMF.test(event.digit) ? event.digit : '?', lang, [{ type: 'cancel-timer', timer: 'input' }]);
      }
      if (event.type === 'timeout' && event.timer === 'input') {
        return failedAttempt(state, inEach(state, 'choice', state.lang), []);
      }
      return none;
    }

    case 'storing': {
      const d = state.decision;
      if (!d) return none;
      if (event.type === 'decision-stored') {
        if (d.outcome === 'accepted') return { state: { ...state, phase: 'recording' }, effects: [{ type: 'start-recording' }] };
        return confirm(state, 'refused', d.outcome, reasonFor(d));
      }
      if (event.type === 'decision-store-failed') {
        // Without stored evidence of the accept, nothing is recorded.
        if (d.outcome === 'accepted') return confirm(state, 'refused', 'error', 'ledger-failed');
        return confirm(state, 'refused', d.outcome, reasonFor(d));
      }
      return none;
    }

    case 'recording':
      if (event.type === 'recording-started') {
        return confirm({ ...state, recordingPath: event.path }, 'accepted', 'accepted', 'key-accept');
      }
      if (event.type === 'recording-failed') return confirm(state, 'refused', 'error', 'recording-failed');
      return none;

    case 'confirming': {
      if (event.type !== 'playback-finished' || event.id !== state.current?.id) return none;
      // A failed confirmation prompt does not change the decision.
      if (state.queue.length > 0) return present({ ...state, current: null }, 'confirming', state.queue, []);
      return finish({ ...state, current: null }, state.outcome ?? 'error', state.reason ?? 'deadline');
    }
  }
  return none;
}
