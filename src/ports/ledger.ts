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
  /** What was recorded of the call; null when nothing was. */
  recording: Recording | null;
  noticeVersion: string;
  /** The withdrawal of consent during the conversation (the recording ends there); null when none. */
  withdrawal: Withdrawal | null;
  /** Spans the recording was paused (silence in the file), in order; the last is open while paused. */
  pauses: Pause[];
  /** The caller asked for the full notice (key 0). Null in records made before it was kept. */
  fullNotice: boolean | null;
  /** The campaign profile the call ran in; null in records made before profiles (the default's). */
  profile: string | null;
}

export interface Recording {
  /** When the recording started; null when only its file is known (a call handed back after a restart). */
  startedAt: string | null;
  /** Its file; null once the file was removed (a withdrawal that deleted it, an erasure). */
  file: RecordingFile | null;
}

export interface RecordingFile {
  path: string;
  /** The server (server.id) whose disk holds it; null for records made before servers were named. */
  server: string | null;
}

export interface Withdrawal {
  at: string;
  by: WithdrawnBy;
  /** What became of the part recorded before it. */
  recording: WithdrawalRecording;
}

/** A span the recording was paused, ISO 8601 times; `end` is null while it lasts (or when the recording stopped during it). */
export interface Pause {
  start: string;
  end: string | null;
}

export type StoredIn = 'redis' | 'journal';

export interface Ledger {
  /** Stores a decision durably (Redis, or the local journal). Rejects when it could be stored nowhere. */
  recordDecision(record: ConsentRecord): Promise<StoredIn>;
  /** Stores the final state of a call (outcome, recording). Same durability as recordDecision. */
  recordOutcome(record: ConsentRecord): Promise<StoredIn>;
  /**
   * Stores a withdrawal (the record with its withdrawal set). `eventId` identifies the
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

/** The recording once its file was removed: its start time stays (null when it has none left). */
export function withoutFile(recording: Recording | null): Recording | null {
  return recording?.startedAt ? { startedAt: recording.startedAt, file: null } : null;
}
