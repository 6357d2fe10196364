/**
 * What the ledger keeps of protected recordings (recordings/): how a sealed file is encrypted, and the
 * key that opens it, wrapped to the controller's. Types only.
 */

/** How a sealed recording is encrypted: age, to a key of its own, itself wrapped to the controller's key. */
export interface SealEncryption {
  format: 'age';
  /** The controller's key (the id of its recipients) that the recording's own key is wrapped to. */
  keyId: string;
  /** The public half of the recording's own key: what the wrapped key must open to. */
  recipient: string;
  /** The plaintext as Asterisk closed it (its duration is the seal's `durationMs`). */
  plaintext: { sha256: string; size: number };
}

/**
 * What opens one encrypted recording: its own age identity, encrypted ("wrapped") to the controller's
 * recipients. Kept in the ledger, never next to the file: destroying it (erasure, purge) leaves every
 * copy of the file unreadable, even with the controller's private key.
 */
export interface RecordingKey {
  uniqueId: string;
  keyId: string;
  /** The recording's own public key (age1…). */
  recipient: string;
  /** Its identity, age-encrypted to the controller's recipients (ASCII armor). */
  wrapped: string;
  /** The server whose disk holds the file. */
  server: string;
  /** The encrypted file, relative to recording.dir. */
  file: string;
  atMs: number;
  /** Set once the encrypted file is on disk, durable: what it and its plaintext are (a restart goes on from there). */
  written?: { sha256: string; size: number; plaintextSha256: string; plaintextSize: number; durationMs: number };
}

/** Left where a recording's key was destroyed by an erasure: no key may be stored for that call again. */
export interface DestroyedKey {
  uniqueId: string;
  destroyedAtMs: number;
}

/** Where the keys of encrypted recordings are kept (the ledger's store: Redis). */
export interface RecordingKeyStore {
  /** Stores a recording's key (replacing one not written yet); false, storing nothing, when an erasure destroyed it already. */
  putRecordingKey(k: RecordingKey): Promise<boolean>;
  /** A recording's key; its tombstone when an erasure destroyed it; null when it has none (not encrypted, or purged). */
  recordingKey(uniqueId: string): Promise<RecordingKey | DestroyedKey | null>;
  /**
   * Destroys a recording's key; true when there was one (or an erasure destroyed it before). `tombstone`
   * (an erasure) leaves a mark so that no key can be stored for that call again; a purge leaves none.
   */
  destroyRecordingKey(uniqueId: string, atMs: number, tombstone: boolean): Promise<boolean>;
}
