/** Consent records for tests. */
import type { ConsentRecord } from '../../src/ports/ledger';

/** The record fields added after the first records were stored, all empty (nothing withdrawn, paused or held). */
export const LATER_FIELDS_EMPTY = {
  recordingServer: null,
  withdrawnAt: null,
  withdrawnBy: null,
  withdrawalRecording: null,
  pauses: null,
  fullNotice: null,
} as const satisfies Partial<ConsentRecord>;

/** An accepted, recorded inbound call (2026-11-30); `over` changes any field. */
export function testRecord(over: Partial<ConsentRecord> = {}): ConsentRecord {
  const uniqueId = over.uniqueId ?? '1796032800.5';
  return {
    uniqueId,
    linkedId: uniqueId,
    direction: 'inbound',
    callerPseudonym: 'c'.repeat(64),
    calledNumber: '0522000000',
    outcome: 'accepted',
    digit: '1',
    language: 'ar',
    attempts: 1,
    enteredAt: '2026-11-30T09:59:00.000Z',
    noticeStartedAt: '2026-11-30T09:59:00.100Z',
    decidedAt: '2026-11-30T09:59:04.000Z',
    recordingStartedAt: '2026-11-30T09:59:04.010Z',
    recordingPath: `/rec/2026/11/30/${uniqueId}.wav`,
    noticeVersion: 'v1',
    ...LATER_FIELDS_EMPTY,
    ...over,
  };
}
