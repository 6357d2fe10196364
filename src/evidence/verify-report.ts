/** What `consent-ivr ledger verify` reports (verify.ts), per log and for this server's recordings. */
import type { VerifierKey } from './checkpoint';
import type { VerifyResult } from '../ledger';
import type { HoldsReport } from './verify-holds';

export type { HoldProblem, HoldProblemKind, HoldsReport } from './verify-holds';

export interface VerifyOptions {
  /** Public keys whose checkpoints are trusted. */
  keys: VerifierKey[];
  /** Checkpoints kept elsewhere (an auditor's copy): note files, or checkpoint files (JSON Lines). */
  checkpointFiles: string[];
  /**
   * The host's checkpoint file (ledger.checkpointFile): what this host signed, the ground truth against
   * which Redis is checked. Read when it exists; null: none.
   */
  hostCheckpointFile: string | null;
  /** ledger.checkpointIntervalMs: entries left unsigned much longer than this are a problem. */
  checkpointIntervalMs: number;
  /** Check this server's recording files against their seals. */
  recordings: boolean;
  /** recording.format, to read durations. */
  recordingFormat: string;
}

export type CheckpointProblemKind = 'truncated' | 'mismatch' | 'unknown-key' | 'bad-signature' | 'malformed' | 'unverifiable' | 'unsigned' | 'unregistered';

export interface CheckpointProblem {
  log: string | null;
  /** 'ledger' (kept in Redis) or the file it came from. */
  source: string;
  size: number | null;
  kind: CheckpointProblemKind;
  message: string;
}

export interface RecordProblem {
  uniqueId: string;
  seq: number | null;
  message: string;
}

/** What a log lost against what was signed: the largest signed size it no longer extends. */
export interface LogLoss {
  /** Entries signed (the largest checkpoint the log no longer extends). */
  signed: number;
  /** Where that checkpoint is kept ('ledger', or a file). */
  source: string;
  /** Entries the log holds now (from its start). */
  now: number;
  /** The log holds entries that differ from the signed ones (not only fewer). */
  rewritten: boolean;
}

export interface LogReport {
  log: string;
  chain: VerifyResult;
  /** Set when the log no longer extends a checkpoint: Redis lost or someone rewrote it. */
  loss: LogLoss | null;
  /**
   * The last loss an administrator accepted (`ledger accept-loss`): the checkpoints this host and Redis
   * kept from before it are not compared with the log (copies given with --checkpoint still are).
   */
  acceptedLoss: { at: string | null; signed: number; size: number; reason: string | null; checkpointsBefore: number } | null;
  records: { checked: number; unverifiable: number; problem: RecordProblem | null; problems: number };
  checkpoints: {
    /** Checkpoints whose root was recomputed from the entries and matched. */
    checked: number;
    /** Checkpoints of entries since purged (their signature is checked, their entries are gone). */
    beforeTrim: number;
    latest: { size: number; signedBy: string[] } | null;
    problems: CheckpointProblem[];
  };
}

export interface RecordingFinding {
  uniqueId: string | null;
  file: string;
  message: string;
}

export interface RecordingsReport {
  server: string;
  /** Sealed files found intact. */
  intact: number;
  changed: RecordingFinding[];
  missing: RecordingFinding[];
  /** Sealed files gone on purpose (erased, purged): expected. */
  expectedMissing: RecordingFinding[];
  /** Files no seal names (and not waiting for one). */
  unexpected: RecordingFinding[];
  /** Recordings not sealed yet (call in progress, file not closed yet). */
  waiting: number;
}

export interface VerifyReport {
  ok: boolean;
  logs: LogReport[];
  /** Problems of checkpoints from files that name no log of this ledger, or none of ours. */
  checkpointProblems: CheckpointProblem[];
  recordings: RecordingsReport | null;
  /** The legal holds in force against their entries in the chain. */
  holds: HoldsReport;
}
