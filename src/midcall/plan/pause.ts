/**
 * The agent's pause and resume of a recording, as the ledger keeps them: pure. A pause mutes the
 * recording (silence in the file) and opens a span in the record's `pauses`; a resume closes it.
 *
 * The dialplan waits a short while (LATE_MS) for the service to carry a request out. A request
 * found later than that was given up by the dialplan: a pause then stopped the recording there
 * (kept as a span with no end), and a resume did not happen (the caller was told it is still paused).
 */
import type { ConsentRecord, Pause } from '../../ports/ledger';
import type { QueuedPause } from '../../ports/midcall';

/** How long the dialplan waits for the service (2 s) plus a margin for clocks and the queue read. */
export const LATE_MS = 2500;

export type PausePlan =
  /** Mute (or unmute) the recording, then store `record` (null: nothing new to store), then dequeue. */
  | { kind: 'apply'; mute: boolean; record: ConsentRecord | null }
  /** Do not touch the recording; store `record`, then dequeue. */
  | { kind: 'record-only'; record: ConsentRecord | null }
  /** Nothing to do but dequeue (why, for the log). */
  | { kind: 'drop'; why: string }
  /** The call's final state is not stored yet: try again later. */
  | { kind: 'wait' };

const isOpen = (pauses: readonly Pause[]) => pauses.length > 0 && pauses[pauses.length - 1]?.end === null;

export function planPause(record: ConsentRecord & { erasedAt?: string | null }, q: QueuedPause, nowMs: number): PausePlan {
  if (record.erasedAt) return { kind: 'drop', why: 'the caller was erased' };
  if (record.outcome === null) return { kind: 'wait' };
  if (record.outcome !== 'accepted' || !record.recording?.file) return { kind: 'drop', why: 'the call is not recorded' };
  if (record.withdrawal !== null) return { kind: 'drop', why: 'consent was withdrawn: nothing resumes the recording' };
  const late = nowMs - q.at.getTime() > LATE_MS;
  const at = q.at.toISOString();
  if (q.kind === 'pause') {
    // Already open: the pause was stored, and the queue entry outlived it (stopped in between).
    const next = isOpen(record.pauses) ? null : { ...record, pauses: [...record.pauses, { start: at, end: null }] };
    return late ? { kind: 'record-only', record: next } : { kind: 'apply', mute: true, record: next };
  }
  if (late) return { kind: 'drop', why: 'the resume came too late: the dialplan told the agent it is still paused' };
  const next = isOpen(record.pauses) ? { ...record, pauses: record.pauses.map((p) => (p.end === null ? { ...p, end: at } : p)) } : null;
  return { kind: 'apply', mute: false, record: next };
}

/** The ledger event id of one pause or resume (one per request). */
export function pauseEventId(q: QueuedPause): string {
  return `${q.kind}:${q.uniqueId}:${q.at.getTime()}`;
}
