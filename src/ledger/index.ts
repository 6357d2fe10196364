/**
 * The consent ledger's logic, with no I/O of its own beyond the journal: `pseudonymise` turns a caller
 * number into the pseudonym the records carry; the durable ledger writes through a store whose
 * interface is in types.ts. The wiring to Redis (createLedger) is the app's: src/app/ledger.ts.
 */
export { pseudonymise, normaliseNumber, ANONYMOUS, MIN_KEY_LENGTH } from './pseudonym';
export { DAY_MS, DurableLedger, type ReplayResult } from './durable-ledger';
export type { StoredRecord } from './types';
