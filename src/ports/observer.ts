/**
 * What happens to calls, for whoever watches: the metrics (observability/metrics.ts) and, in tests,
 * hooks that wait for an event. One observer is handed down to the per-call runners; several are
 * combined with `composeObservers`. Every method is optional, and observing never changes a call.
 */
import type { Language, Outcome } from '../domain/vocabulary';
import type { StoredIn } from './ledger';

/** The caller's decision as the flow knows it (no-input: the choice was presented and nobody pressed a key). */
export type DecisionOutcome = Extract<Outcome, 'accepted' | 'refused' | 'no-input'>;

/** How a call left the flow. */
export interface CallEnd {
  outcome: Outcome;
  lang: Language | null;
  attempts: number;
}

export interface CallObserver {
  /** A call entered the consent flow. */
  callStarted?(): void;
  /** The caller decided (or stayed silent) this long after entering the flow; reported before it is stored. */
  decided?(decision: DecisionOutcome, msSinceEntry: number): void;
  /** A ledger write of a call settled: where it went, or 'failed' (stored nowhere). */
  stored?(kind: 'decision' | 'outcome', where: StoredIn | 'failed'): void;
  /** MixMonitor was confirmed this long after the caller's accept. */
  recordingStarted?(msSinceDecision: number): void;
  /** The call left the flow (its result handed to the dialplan) this long after entering it. */
  callEnded?(end: CallEnd, durationMs: number): void;
}

/** One observer that tells each of `observers` (absent ones are skipped), in the order given. */
export function composeObservers(...observers: (CallObserver | null | undefined)[]): CallObserver {
  const all = observers.filter((o): o is CallObserver => o !== null && o !== undefined);
  return {
    callStarted: () => all.forEach((o) => o.callStarted?.()),
    decided: (decision, ms) => all.forEach((o) => o.decided?.(decision, ms)),
    stored: (kind, where) => all.forEach((o) => o.stored?.(kind, where)),
    recordingStarted: (ms) => all.forEach((o) => o.recordingStarted?.(ms)),
    callEnded: (end, ms) => all.forEach((o) => o.callEnded?.(end, ms)),
  };
}
