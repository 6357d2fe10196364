/** The evidence slice: what other parts of src/ may use of it. */
export { EvidenceError, callEntries, collectEvidence, sealFields } from './bundle';
export { describeCall } from './summary';
export { proveConsistency } from './consistency';
export { parseSigner, verifierOf, type SignerKey, type VerifierKey } from './checkpoint';
export { Checkpointer, type SignResult } from './checkpointer';
export { inspectRecording, relativeToDir, sealOf } from './seal';
export { Sealer } from './sealer';
export { KeyFileError, readVerifierFiles } from './signing-keys';
export { readCheckpointFile, verifyLedger, type VerifyReport } from './verify';
export { verifyBundle } from './bundle-check';
export { verifyConsistencyFile } from './consistency';
export { fingerprint, formatVerifier } from './checkpoint';
export { generateKeyFiles } from './signing-keys';
export { wireEvidence, type EvidencePart, type EvidenceWiring } from './wire';
export type { ProtectedSeal, SealProtector } from './sealer';
