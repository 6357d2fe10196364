/** The retention slice: what other parts of src/ may use of it. */
export { removeRecording, recordingFiles } from './recording-files';
export { eraseCaller, pendingByServer, waitingTotal, type EraseReport, type PendingServer } from './admin';
export { purgeLedger, type ProfilePurge, type PurgeReport } from './purge';
export { HoldError, HeldRefusal, holdReason, placeHold, releaseHold, type HoldSelector, type HoldTarget, type PlaceResult, type ReleaseResult } from './holds';
export { HoldGuard, HoldsUnreadableError, type HeldReport } from './hold-guard';
export { DeletionWorker } from './deletions';
export { wireRetention } from './wire';
