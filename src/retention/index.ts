/** The retention slice: what other parts of src/ may use of it. */
export { removeRecording, recordingFiles } from './recording-files';
export { eraseCaller, pendingByServer, waitingTotal, type EraseReport, type PendingServer } from './admin';
export { purgeLedger, type ProfilePurge, type PurgeReport } from './purge';
export { DeletionWorker } from './deletions';
export { wireRetention } from './wire';
