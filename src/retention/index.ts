/** The retention slice: what other parts of src/ may use of it. */
export { removeRecording, recordingFiles } from './recording-files';
export { eraseCaller, pendingByServer, purgeLedger, waitingTotal, type EraseReport, type PurgeReport, type PendingServer } from './admin';
export { DeletionWorker } from './deletions';
export { wireRetention } from './wire';
