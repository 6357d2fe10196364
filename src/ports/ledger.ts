/** Durable evidence of consent decisions. Implemented over Redis (with a local journal) by src/ledger. */
import type { Language, Outcome } from '../domain/vocabulary';
import type { Direction } from './call-control';

/** Who withdrew consent during the conversation: the caller, or the agent on the caller's behalf. */
export type WithdrawnBy = 'caller' | 'agent';
/** What became of the part recorded before a withdrawal ('none': nothing had been recorded). */
export type WithdrawalRecording = 'deleted' | 'kept' | 'none';

export interface ConsentRecord {
  /** The channel's UNIQUEID; the record's key. */
  uniqueId: string;
  linkedId: string;
  direction: Direction;
  /** HMAC-SHA256 of the subject's normalised number (the caller, or the dialled customer); never the number. */
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
  /** The server (server.id) whose disk holds the recording; null when none, or for records made before. */
  recordingServer: string | null;
  noticeVersion: string;
  /** When consent was withdrawn during the conversation (the recording ends there), or null. */
  withdrawnAt: string | null;
  withdrawnBy: WithdrawnBy | null;
  withdrawalRecording: WithdrawalRecording | null;
  /**
   * Spans the recording was paused (silence in the file), "start/end" in ISO 8601, ';'-separated;
   * the last has no end while paused (or when the recording stopped during the pause). Null: none.
   */
  pauses: string | null;
  /** The caller asked for the full notice (key 0). Absent or null in records made before it was kept. */
  fullNotice?: boolean | null;
}

export type StoredIn = 'redis' | 'journal';

export interface Ledger {
  /** Stores a decision durably (Redis, or the local journal). Rejects when it could be stored nowhere. */
  recordDecision(record: ConsentRecord): Promise<StoredIn>;
  /** Stores the final state of a call (outcome, recording). Same durability as recordDecision. */
  recordOutcome(record: ConsentRecord): Promise<StoredIn>;
  /**
   * Stores a withdrawal (the record with its withdrawal fields set). `eventId` identifies the
   * withdrawal: storing the same one twice keeps one event.
   */
  recordWithdrawal(record: ConsentRecord, eventId: string): Promise<StoredIn>;
  /** Stores a pause or resume (the record with its pauses updated), once per `eventId`. */
  recordPause(kind: 'pause' | 'resume', record: ConsentRecord, eventId: string): Promise<StoredIn>;
  /**
   * The stored record of a call, or null when there is none (or it cannot be read now). `erasedAt`
   * is set when its caller's personal data was erased.
   */
  find(uniqueId: string): Promise<(ConsentRecord & { erasedAt?: string | null }) | null>;
}
