/** The retention slice: what other parts of src/ may use of it. */
export { eraseCaller, pendingByServer, purgeLedger, removeRecording, waitingTotal, type EraseReport, type PurgeReport, type PendingServer } from './admin';
export { DeletionWorker } from './deletions';
export { recordingFiles, wireRetention } from './wire';
