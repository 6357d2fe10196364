/**
 * A withdrawal of consent during the conversation, as the ledger keeps it. Pure: what the record
 * becomes and which file goes, decided from the stored record and the queued withdrawal.
 *
 * The dialplan has already stopped the recording when this runs (see dialplans/consent-ivr.conf):
 * this is the evidence, and the fate of the part recorded before.
 */
import type { ConsentRecord, WithdrawalRecording } from '../../ports/ledger';
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
  if (record.withdrawnAt !== null || record.erasedAt) return { kind: 'already-stored' };
  if (record.outcome === null) return { kind: 'wait' };
  const recorded = record.outcome === 'accepted' && record.recordingPath !== null;
  let fate: WithdrawalRecording = 'none';
  if (recorded) fate = mode === 'delete' ? 'deleted' : 'kept';
  return {
    kind: 'store',
    record: {
      ...record,
      withdrawnAt: w.at.toISOString(),
      withdrawnBy: w.by,
      withdrawalRecording: fate,
      recordingPath: fate === 'deleted' ? null : record.recordingPath,
      recordingServer: fate === 'deleted' ? null : record.recordingServer,
    },
    removeFile: fate === 'deleted' ? record.recordingPath : null,
  };
}

/** The ledger event id of a call's withdrawal: one per call, so storing it twice keeps one. */
export function withdrawalEventId(uniqueId: string): string {
  return `withdrawal:${uniqueId}`;
}
