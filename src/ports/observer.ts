/**
 * What happens to calls, for whoever watches: the metrics (observability/metrics.ts) and, in tests,
 * hooks that wait for an event. One observer is handed down to the per-call runners; several are
 * combined with `composeObservers`. Every method is optional, and observing never changes a call.
 */
import type { Language, Outcome } from '../domain/vocabulary';
import type { StoredIn, WithdrawnBy } from './ledger';

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

/** What the service's background work reports, besides what happens to calls. */
export interface ServiceObserver extends CallObserver {
  /** A closed recording's seal was stored; `reason`: why the recording closed. */
  sealed?(reason: string): void;
  /** A checkpoint was signed; it took this long. */
  checkpointSigned?(ms: number): void;
  /** The checkpointer refused to sign `log`: it is not a consistent extension of what was signed. */
  checkpointRefused?(log: string): void;
  /** The log in Redis went back from `from` entries to `to` (Redis lost them); appends go on. */
  ledgerRegressed?(log: string, from: number, to: number): void;
  /** The recording deletions waiting, per server. */
  deletionsPending?(stats: { server: string; count: number; oldestAgeMs: number | null }[]): void;
  /** The legal holds in force (ledger hold), counted by the deletion worker's pass. */
  legalHolds?(count: number): void;
  /** A recording was withdrawn during the conversation. */
  withdrawn?(by: WithdrawnBy): void;
  /** The agent paused or resumed a recording. */
  paused?(kind: 'pause' | 'resume'): void;
  /**
   * A queue entry was set apart, once per entry: not one the service writes (bad JSON, wrong shape), or
   * about a call whose record cannot be read. `queue`: deletions, unsealed, withdrawals or pauses.
   */
  queueEntryMalformed?(queue: string): void;
}

const METHODS = ['callStarted', 'decided', 'stored', 'recordingStarted', 'callEnded', 'sealed', 'checkpointSigned', 'checkpointRefused', 'ledgerRegressed', 'deletionsPending', 'legalHolds', 'withdrawn', 'paused', 'queueEntryMalformed'] as const;
type Method = (typeof METHODS)[number];

/** One observer that tells each of `observers` (absent ones are skipped), in the order given. */
export function composeObservers(...observers: (ServiceObserver | null | undefined)[]): ServiceObserver {
  const all = observers.filter((o): o is ServiceObserver => o !== null && o !== undefined);
  const tell = (m: Method) => (...args: unknown[]) => {
    for (const o of all) (o[m] as ((...a: unknown[]) => void) | undefined)?.apply(o, args);
  };
  return Object.fromEntries(METHODS.map((m) => [m, tell(m)])) as ServiceObserver;
}
