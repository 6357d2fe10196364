/**
 * The consent ledger: `pseudonymise` turns a caller number into the pseudonym the records carry; the
 * durable ledger writes through a store whose interface is in types.ts. It talks to Redis only through
 * that interface (the wiring, createLedger, is the app's: src/app/ledger.ts), but it does file I/O of
 * its own: the journal, the host's checkpoint file, the recordings it seals, verifies and deletes.
 */
export { pseudonymise, normaliseNumber, ANONYMOUS, MIN_KEY_LENGTH } from './pseudonym';
export { DAY_MS, DurableLedger, type ReplayResult } from './durable-ledger';
export type { StoredRecord } from './types';
