/**
 * Types of the consent flow: a pure state machine. `decide(state, event)` returns the next state and
 * the effects the per-call runner must carry out. No I/O, no timers, no clock here.
 */
import type { Language, Outcome, PromptName } from '../../domain/vocabulary';

export type { Outcome } from '../../domain/vocabulary';

/** Why the flow ended the way it did, for logs, the ledger and CONSENT_REASON (finer than the outcome). */
export const REASONS = ['key-accept', 'key-refuse', 'attempts-exhausted', 'hangup', 'answer-failed', 'prompt-failed', 'ledger-failed', 'recording-failed', 'deadline'] as const;
export type Reason = (typeof REASONS)[number];

export type TimerName = 'input' | 'deadline';

export interface FlowSettings {
  languages: readonly Language[];
  defaultLanguage: Language;
  inputTimeoutMs: number;
  maxAttempts: number;
  maxCallMs: number;
  /** Once per call, the full notice moves the deadline to this long after the key. */
  fullNoticeExtensionMs: number;
}

export interface PromptItem {
  prompt: PromptName;
  lang: Language;
}

export interface Playing extends PromptItem {
  id: number;
}

export type Decision = { outcome: 'accepted'; digit: string } | { outcome: 'refused'; digit: string } | { outcome: 'no-input'; digit: null };
export type Accept = Extract<Decision, { outcome: 'accepted' }>;

/** The prompt playing now and those still to play after it. */
export interface Prompts {
  playing: Playing;
  queue: PromptItem[];
  nextPlaybackId: number;
}

/** While the choice is presented: what the caller did so far. */
export interface Asking {
  readonly settings: FlowSettings;
  nextPlaybackId: number;
  /** The caller's language, set by the first key they press. */
  lang: Language | null;
  /** Presentations of the choice that ended without a valid key. */
  attempts: number;
  /** Whether the deadline was already extended for the full notice. */
  extended: boolean;
}

/** Once the caller decided (or stayed silent): the decision, waiting to be acted on. */
export interface Decided {
  readonly settings: FlowSettings;
  nextPlaybackId: number;
  lang: Language | null;
  attempts: number;
  decision: Decision;
}

/** One variant per phase, each with what that phase has and nothing else. */
export type FlowState =
  | { phase: 'idle'; readonly settings: FlowSettings }
  | { phase: 'answering'; readonly settings: FlowSettings }
  | ({ phase: 'presenting' } & Asking & Prompts)
  | ({ phase: 'awaiting' } & Asking)
  | ({ phase: 'storing' } & Decided)
  | ({ phase: 'recording'; decision: Accept } & Decided)
  /** The result is known; the caller hears it before the flow ends with `summary`. */
  | ({ phase: 'confirming'; summary: Summary } & Prompts)
  | { phase: 'done'; summary: Summary };

export type Phase = FlowState['phase'];

export type FlowEvent =
  | { type: 'start'; answered: boolean }
  | { type: 'answered' }
  | { type: 'answer-failed' }
  | { type: 'playback-finished'; id: number; ok: boolean }
  | { type: 'digit'; digit: string }
  | { type: 'timeout'; timer: 'input' }
  | { type: 'timeout'; timer: 'deadline' }
  | { type: 'hangup' }
  | { type: 'decision-stored' }
  | { type: 'decision-store-failed' }
  | { type: 'recording-started'; path: string }
  | { type: 'recording-failed' };

/** How the flow ended; only an accepted call has a recording. */
export type Summary = {
  reason: Reason;
  lang: Language | null;
  digit: string | null;
  attempts: number;
} & ({ outcome: 'accepted'; recordingPath: string } | { outcome: Exclude<Outcome, 'accepted'>; recordingPath: null });

export type Effect =
  | { type: 'answer' }
  | { type: 'play'; id: number; prompt: PromptName; lang: Language }
  | { type: 'stop-playback'; id: number }
  | { type: 'start-timer'; timer: TimerName; ms: number }
  | { type: 'cancel-timer'; timer: TimerName }
  | { type: 'store-decision'; decision: Decision; lang: Language | null; attempts: number }
  | { type: 'start-recording' }
  /** Leave the flow: set the result variables and continue in the dialplan (unless the caller hung up). */
  | { type: 'finish'; summary: Summary };

export interface Transition {
  state: FlowState;
  effects: Effect[];
}
