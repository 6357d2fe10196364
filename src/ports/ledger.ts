/** Durable evidence of consent decisions. Implemented over Redis (with a local journal) by src/ledger. */
import type { Language } from '../config/schema';
import type { Outcome } from '../flow/types';

export interface ConsentRecord {
  /** The channel's UNIQUEID; the record's key. */
  uniqueId: string;
  linkedId: string;
  /** HMAC-SHA256 of the normalised caller number; never the number itself. */
  callerPseudonym: string;
  /** Dialled number (DID). */
  calledNumber: string;
  /** Null while the call is still in the flow. */
  outcome: Outcome | null;
  digit: string | null;
  language: Language | null;
  attempts: number;
  enteredAt: string;
  noticeStartedAt: string | null;
  decidedAt: string | null;
  recordingStartedAt: string | null;
  recordingPath: string | null;
  noticeVersion: string;
}

export type StoredIn = 'redis' | 'journal';

export interface Ledger {
  /** Stores a decision durably (Redis, or the local journal). Rejects when it could be stored nowhere. */
  recordDecision(record: ConsentRecord): Promise<StoredIn>;
  /** Stores the final state of a call (outcome, recording). Same durability as recordDecision. */
  recordOutcome(record: ConsentRecord): Promise<StoredIn>;
  /** The stored record of a call, or null when there is none (or it cannot be read now). */
  find(uniqueId: string): Promise<ConsentRecord | null>;
}
