/**
 * A withdrawal of consent during the conversation, as the ledger keeps it. Pure: what the record
 * becomes and which file goes, decided from the stored record and the queued withdrawal.
 *
 * The dialplan has already stopped the recording when this runs (see dialplans/consent-ivr.conf):
 * this is the evidence, and the fate of the part recorded before.
 */
import { withoutFile, type ConsentRecord, type WithdrawalRecording } from '../../ports/ledger';
import type { QueuedWithdrawal } from '../../ports/midcall';

export type PartialRecording = 'delete' | 'keep';

export type WithdrawalPlan =
  /** Store `record`; first remove `removeFile` when it is set. */
  | { kind: 'store'; record: ConsentRecord; removeFile: string | null }
  /** Already stored (the queue entry outlived its storing): only remove the entry. */
  | { kind: 'already-stored' }
  /** The call's final state is not stored yet (a journal still holds it): try again later. */
  | { kind: 'wait' };

export function planWithdrawal(record: ConsentRecord & { erasedAt?: string | null }, w: QueuedWithdrawal, mode: PartialRecording): WithdrawalPlan {
  // Erased meanwhile (recording deleted, personal fields gone): nothing is left to withdraw.
  if (record.withdrawal !== null || record.erasedAt) return { kind: 'already-stored' };
  if (record.outcome === null) return { kind: 'wait' };
  const file = record.recording?.file ?? null;
  const recorded = record.outcome === 'accepted' && file !== null;
  let fate: WithdrawalRecording = 'none';
  if (recorded) fate = mode === 'delete' ? 'deleted' : 'kept';
  return {
    kind: 'store',
    record: {
      ...record,
      withdrawal: { at: w.at.toISOString(), by: w.by, recording: fate },
      recording: fate === 'deleted' ? withoutFile(record.recording) : record.recording,
    },
    removeFile: fate === 'deleted' ? (file?.path ?? null) : null,
  };
}

/** The ledger event id of a call's withdrawal: one per call, so storing it twice keeps one. */
export function withdrawalEventId(uniqueId: string): string {
  return `withdrawal:${uniqueId}`;
}
