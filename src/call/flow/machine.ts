/**
 * The consent flow as a pure reducer. Safety rules it enforces:
 * - recording is requested only after an explicit accept key AND after the decision is stored;
 * - silence, invalid keys, failures and the deadline never record and never hang up;
 * - after the flow is done (or the caller hung up) every event is ignored.
 * Each phase has its own handler, which knows only the events that mean something in that phase;
 * the hang-up and the deadline are handled once, for every phase, by `decide`.
 */
import type { Language, Outcome, PromptName } from '../../domain/vocabulary';
import type { Asking, Decided, Decision, Effect, FlowEvent, FlowSettings, FlowState, PromptItem, Prompts, Reason, Summary, Transition } from './types';

export const KEY_ACCEPT = '1';
export const KEY_REFUSE = '2';
export const KEY_FULL_NOTICE = '0';

/** DTMF symbols Asterisk can report; anything else is treated as an invalid key. */
const DTMF = /^[0-9*#A-D]$/;

type Active = Exclude<FlowState, { phase: 'done' }>;
type ActivePhase = Active['phase'];
type StateOf<P extends ActivePhase> = Extract<Active, { phase: P }>;
type Deadline = Extract<FlowEvent, { type: 'timeout'; timer: 'deadline' }>;
/** What a phase's handler is given: the hang-up and the deadline never reach it. */
type PhaseEvent = Exclude<FlowEvent, { type: 'hangup' } | Deadline>;
/** A phase's handler: the transition an event makes, or null when the event means nothing there (ignored). */
type Handler<P extends ActivePhase> = (state: StateOf<P>, event: PhaseEvent) => Transition | null;
/** Prompts to play in order: one at least. */
type PromptList = [PromptItem, ...PromptItem[]];

export function initialState(settings: FlowSettings): FlowState {
  return { phase: 'idle', settings };
}

/** The choice as it stands before the first prompt. */
function asking(settings: FlowSettings): Asking {
  return { settings, nextPlaybackId: 1, lang: null, attempts: 0, extended: false };
}

/** The part of a presenting or awaiting state that the next state keeps. */
function asked(s: Asking): Asking {
  return { settings: s.settings, nextPlaybackId: s.nextPlaybackId, lang: s.lang, attempts: s.attempts, extended: s.extended };
}

function decided(s: Decided): Decided {
  return { settings: s.settings, nextPlaybackId: s.nextPlaybackId, lang: s.lang, attempts: s.attempts, decision: s.decision };
}

/**
 * A prompt in the caller's language, or in every language in order while they have none. The
 * configuration lists one language at least; the default one would stand in for an empty list.
 */
function inEach(settings: FlowSettings, prompt: PromptName, lang: Language | null): PromptList {
  const [first = settings.defaultLanguage, ...rest] = lang ? [lang] : settings.languages;
  return [{ prompt, lang: first }, ...rest.map((l) => ({ prompt, lang: l }))];
}

/** The first of `items` starts playing; the others wait. */
function play(nextPlaybackId: number, [first, ...queue]: PromptList): { prompts: Prompts; effect: Effect } {
  const id = nextPlaybackId;
  return { prompts: { playing: { ...first, id }, queue, nextPlaybackId: id + 1 }, effect: { type: 'play', id, prompt: first.prompt, lang: first.lang } };
}

/** Presents the choice (again): plays a list of prompts. */
function present(s: Asking, items: PromptList, effects: Effect[]): Transition {
  const { prompts, effect } = play(s.nextPlaybackId, items);
  return { state: { phase: 'presenting', ...s, ...prompts }, effects: [...effects, effect] };
}

function stopPlaying(state: Active): Effect[] {
  return state.phase === 'presenting' || state.phase === 'confirming' ? [{ type: 'stop-playback', id: state.playing.id }] : [];
}

function finish(summary: Summary, effects: Effect[] = []): Transition {
  return {
    state: { phase: 'done', summary },
    effects: [...effects, { type: 'cancel-timer', timer: 'input' }, { type: 'cancel-timer', timer: 'deadline' }, { type: 'finish', summary }],
  };
}

/** What the caller did so far, for a summary. */
function sofar(state: Active): Pick<Summary, 'lang' | 'digit' | 'attempts'> {
  switch (state.phase) {
    case 'idle':
    case 'answering':
      return { lang: null, digit: null, attempts: 0 };
    case 'presenting':
    case 'awaiting':
      return { lang: state.lang, digit: null, attempts: state.attempts };
    case 'storing':
    case 'recording':
      return { lang: state.lang, digit: state.decision.digit, attempts: state.attempts };
    case 'confirming':
      return { lang: state.summary.lang, digit: state.summary.digit, attempts: state.summary.attempts };
  }
}

/** The end of a call that is not recorded. */
function unrecorded(state: Active, outcome: Exclude<Outcome, 'accepted'>, reason: Reason): Summary {
  return { outcome, reason, ...sofar(state), recordingPath: null };
}

/** The end of a call whose decision was a refusal or silence. */
function asDecided(state: StateOf<'storing'>, decision: Exclude<Decision, { outcome: 'accepted' }>): Summary {
  return unrecorded(state, decision.outcome, decision.outcome === 'refused' ? 'key-refuse' : 'attempts-exhausted');
}

/**
 * The decision is stored first: on an accept the write, then MixMonitor, is the path the caller
 * waits on, so the runner starts it before the other effects (stopping the prompt, timers).
 */
function store(s: Asking, decision: Decision, effects: Effect[]): Transition {
  const state: FlowState = { phase: 'storing', settings: s.settings, nextPlaybackId: s.nextPlaybackId, lang: s.lang, attempts: s.attempts, decision };
  return { state, effects: [{ type: 'store-decision', decision, lang: s.lang, attempts: s.attempts }, ...effects] };
}

/** One presentation of the choice ended without a valid key. */
function failedAttempt(s: Asking, items: PromptList, effects: Effect[]): Transition {
  const next = { ...s, attempts: s.attempts + 1 };
  if (next.attempts >= s.settings.maxAttempts) return store(next, { outcome: 'no-input', digit: null }, effects);
  return present(next, items, effects);
}

function onKey(state: Asking, key: string, lang: Language, effects: Effect[]): Transition {
  const s: Asking = { ...state, lang };
  const digit = DTMF.test(key) ? key : '?';
  switch (digit) {
    case KEY_ACCEPT:
      return store(s, { outcome: 'accepted', digit }, effects);
    case KEY_REFUSE:
      return store(s, { outcome: 'refused', digit }, effects);
    case KEY_FULL_NOTICE: {
      // The full notice is long: give the caller time to hear it, once per call.
      const extend: Effect[] = s.extended ? [] : [{ type: 'start-timer', timer: 'deadline', ms: s.settings.fullNoticeExtensionMs }];
      return present({ ...s, extended: true }, [{ prompt: 'full-notice', lang }, { prompt: 'choice', lang }], [...effects, ...extend]);
    }
    default:
      return failedAttempt(s, [{ prompt: 'invalid', lang }, { prompt: 'choice', lang }], effects);
  }
}

/** The result is known: the caller hears it (the prompt in their language, or in each) before the flow ends. */
function confirm(s: Decided, prompt: 'accepted' | 'refused', summary: Summary): Transition {
  const { prompts, effect } = play(s.nextPlaybackId, inEach(s.settings, prompt, s.lang));
  return { state: { phase: 'confirming', ...prompts, summary }, effects: [effect] };
}

const idle: Handler<'idle'> = (state, event) => {
  if (event.type !== 'start') return null;
  const timer: Effect = { type: 'start-timer', timer: 'deadline', ms: state.settings.maxCallMs };
  if (!event.answered) return { state: { phase: 'answering', settings: state.settings }, effects: [timer, { type: 'answer' }] };
  return present(asking(state.settings), inEach(state.settings, 'notice', null), [timer]);
};

const answering: Handler<'answering'> = (state, event) => {
  if (event.type === 'answered') return present(asking(state.settings), inEach(state.settings, 'notice', null), []);
  if (event.type === 'answer-failed') return finish(unrecorded(state, 'error', 'answer-failed'));
  return null;
};

const presenting: Handler<'presenting'> = (state, event) => {
  if (event.type === 'digit') {
    // Barge-in: the part playing when the key came is the caller's language.
    return onKey(asked(state), event.digit, state.lang ?? state.playing.lang, stopPlaying(state));
  }
  if (event.type !== 'playback-finished' || event.id !== state.playing.id) return null;
  if (!event.ok) return finish(unrecorded(state, 'error', 'prompt-failed'), stopPlaying(state));
  const [next, ...rest] = state.queue;
  if (next) return present(asked(state), [next, ...rest], []);
  return { state: { phase: 'awaiting', ...asked(state) }, effects: [{ type: 'start-timer', timer: 'input', ms: state.settings.inputTimeoutMs }] };
};

const awaiting: Handler<'awaiting'> = (state, event) => {
  if (event.type === 'digit') return onKey(asked(state), event.digit, state.lang ?? state.settings.defaultLanguage, [{ type: 'cancel-timer', timer: 'input' }]);
  if (event.type === 'timeout') return failedAttempt(asked(state), inEach(state.settings, 'choice', state.lang), []);
  return null;
};

const storing: Handler<'storing'> = (state, event) => {
  const d = state.decision;
  if (event.type === 'decision-stored') {
    if (d.outcome === 'accepted') return { state: { phase: 'recording', ...decided(state), decision: d }, effects: [{ type: 'start-recording' }] };
    return confirm(state, 'refused', asDecided(state, d));
  }
  if (event.type === 'decision-store-failed') {
    // Without stored evidence of the accept, nothing is recorded.
    return confirm(state, 'refused', d.outcome === 'accepted' ? unrecorded(state, 'error', 'ledger-failed') : asDecided(state, d));
  }
  return null;
};

const recording: Handler<'recording'> = (state, event) => {
  if (event.type === 'recording-started') {
    return confirm(state, 'accepted', { outcome: 'accepted', reason: 'key-accept', ...sofar(state), recordingPath: event.path });
  }
  if (event.type === 'recording-failed') return confirm(state, 'refused', unrecorded(state, 'error', 'recording-failed'));
  return null;
};

const confirming: Handler<'confirming'> = (state, event) => {
  if (event.type !== 'playback-finished' || event.id !== state.playing.id) return null;
  // A failed confirmation prompt does not change the decision.
  const [next, ...rest] = state.queue;
  if (!next) return finish(state.summary);
  const { prompts, effect } = play(state.nextPlaybackId, [next, ...rest]);
  return { state: { phase: 'confirming', ...prompts, summary: state.summary }, effects: [effect] };
};

const PHASES: { [P in ActivePhase]: Handler<P> } = { idle, answering, presenting, awaiting, storing, recording, confirming };

function inPhase<P extends ActivePhase>(phase: P, state: StateOf<P>, event: PhaseEvent): Transition | null {
  return PHASES[phase](state, event);
}

/**
 * How the call ends when the deadline passes (null: before the call started, nothing to end). The
 * deadline never records: an accepted call counts only if its recording already started, and a
 * refusal or silence already decided stands; a call that failed (the accept not stored, MixMonitor
 * not started) and was still hearing so ends as error with the deadline as its reason.
 */
function atDeadline(state: Active): Summary | null {
  switch (state.phase) {
    case 'idle':
      return null;
    case 'storing':
      return state.decision.outcome === 'accepted' ? unrecorded(state, 'error', 'deadline') : asDecided(state, state.decision);
    case 'confirming':
      return state.summary.outcome === 'error' ? { ...state.summary, reason: 'deadline' } : state.summary;
    default:
      return unrecorded(state, 'error', 'deadline');
  }
}

function isDeadline(event: FlowEvent): event is Deadline {
  return event.type === 'timeout' && event.timer === 'deadline';
}

export function decide(state: FlowState, event: FlowEvent): Transition {
  const ignored: Transition = { state, effects: [] };
  if (state.phase === 'done') return ignored;
  if (event.type === 'hangup') return finish(unrecorded(state, 'abandoned', 'hangup'), stopPlaying(state));
  if (isDeadline(event)) {
    const summary = atDeadline(state);
    return summary ? finish(summary, stopPlaying(state)) : ignored;
  }
  return inPhase(state.phase, state, event) ?? ignored;
}
