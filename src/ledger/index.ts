/**
 * The ledger slice: consent records, the hash-chained logs and their Merkle tree, the journal and the
 * durable write path, and the queues other servers read. It talks to Redis only through the store
 * interfaces of types.ts (opened over Redis by src/service/ledger.ts); its own file I/O is the journal.
 * Other parts of src/ use it through this index only.
 */
export { pseudonymise, normaliseNumber, ANONYMOUS, MIN_KEY_LENGTH } from './pseudonym';
export { DAY_MS, DurableLedger, type ReplayResult } from './durable-ledger';
export type { StoredRecord } from './types';
export { ChainAppender, entryLeaf } from './appender';
export { ChainVerifier, EMPTY_HEAD, GENESIS, entryHash, entryId, type VerifyResult } from './chain';
export { TEXT_HEADER, csvHeader, csvRow, jsonlRow, printable, textRecord, textRow } from './format';
export { Frontier } from './merkle';
export { LogTree, TreeError, verifyConsistency, verifyInclusion } from './merkle-proofs';
export { isAnonymous } from './pseudonym';
export { QueueReports } from './queue-reports';
export { checkErasureMark, checkPendingDeletion, checkRecordingKey, checkUnsealed, parseConfirmation, readEntries, type MalformedEntry, type QueueRead } from './queues';
export { eraseRecord, parseStoredRecord, serialiseRecord, sha256Hex, toStored, validateRecord, type StoredJson } from './record';
export { INDEX_ONLY, RECORD_STAGES, STAGE, nextWriter, type AdminStore, type AppendItem, type AppendResult, type CallHead, type ChainEntry, type ChainHead, type CheckpointStore, type DeletionConfirmation, type DeletionQueue, type DeletionReason, type EventBody, type EvidenceStore, type LogHead, type NoticeCatalogue, type PendingDeletion, type RecordRow, type RecordWriter, type RecordingFateNote, type RecordingSeal, type RecordingKey, type DestroyedKey, type SealEncryption, type ScannedRecord, type SealReason, type StoredChainEntry, type StoredCheckpoint, type TrimRequest, type UnsealedRecording } from './types';
export { AdminUsageError, adminContextDefaults, findRecord, listRecords, type AdminContext, type RecordFilter } from './query';
export { Journal } from './journal';
export { byPlacement, checkHold, checkHoldReason, holdEntryOf, holdSubject, HOLD_ID, isOwnEntry, MAX_HOLD_REASON, newHoldId, serialiseHold, type Hold, type HoldEntryBody, type HoldOverrideBody, type HoldScope, type HoldStore } from './holds';
