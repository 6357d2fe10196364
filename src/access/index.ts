/** The access slice (a person's right of access to their data): what other parts of src/ may use of it. */
export { giveAccess, type AccessOptions, type AccessReport } from './access';
export { folderProblem } from './folder';
export type { RecordingOpener } from './write';
