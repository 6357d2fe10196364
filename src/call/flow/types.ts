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

export type Phase = 'idle' | 'answering' | 'presenting' | 'awaiting' | 'storing' | 'recording' | 'confirming' | 'done';

export interface PromptItem {
  prompt: PromptName;
  lang: Language;
}

export interface Playing extends PromptItem {
  id: number;
}

export interface Decision {
  outcome: 'accepted' | 'refused' | 'no-input';
  digit: string | null;
}

export interface FlowState {
  readonly settings: FlowSettings;
  phase: Phase;
  /** The prompt playing now, if any. */
  current: Playing | null;
  /** Prompts still to play after the current one. */
  queue: PromptItem[];
  nextPlaybackId: number;
  /** The caller's language, set by the first key they press. */
  lang: Language | null;
  /** Presentations of the choice that ended without a valid key. */
  attempts: number;
  decision: Decision | null;
  recordingPath: string | null;
  outcome: Outcome | null;
  reason: Reason | null;
  /** Whether the deadline was already extended for the full notice. */
  extended: boolean;
}

export type FlowEvent =
  | { type: 'start'; answered: boolean }
  | { type: 'answered' }
  | { type: 'answer-failed' }
  | { type: 'playback-finished'; id: number; ok: boolean }
  | { type: 'digit'; digit: string }
  | { type: 'timeout'; timer: TimerName }
  | { type: 'hangup' }
  | { type: 'decision-stored' }
  | { type: 'decision-store-failed' }
  | { type: 'recording-started'; path: string }
  | { type: 'recording-failed' };

export interface Summary {
  outcome: Outcome;
  reason: Reason;
  lang: Language | null;
  digit: string | null;
  attempts: number;
  recordingPath: string | null;
}

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
