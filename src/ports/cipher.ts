/**
 * Encryption of recordings, implemented over the age tools by adapters/age. A recording is encrypted
 * to a key of its own (a fresh age identity); that identity is then encrypted ("wrapped") to the
 * controller's recipients and kept in the ledger, so that destroying the wrapped key makes every copy
 * of the file unreadable.
 */
/** An X25519 age recipient (a public key, as age-keygen prints it). */
export const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

/** A recording's own key: an age identity (AGE-SECRET-KEY-1…) and its public recipient (age1…). */
export interface DataKey {
  identity: string;
  recipient: string;
}

export interface RecordingCipher {
  /** A new data key. */
  newKey(): Promise<DataKey>;
  /** The data key's identity encrypted to every recipient (ASCII-armored age). */
  wrap(identity: string, recipients: readonly string[]): Promise<string>;
  /** The identity out of a wrapped key, with an identity file of one of its recipients. */
  unwrap(wrapped: string, identityFile: string): Promise<string>;
  /** The public recipient of an identity. */
  recipientOf(identity: string): Promise<string>;
  /** Streams `input` encrypted to `recipient` into `output`; resolves once all of it is written. */
  encrypt(recipient: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void>;
  /** Streams the file `path` decrypted with `identity` into `output`. */
  decrypt(identity: string, path: string, output: NodeJS.WritableStream): Promise<void>;
}

/** The cipher refused: a wrong identity, a damaged file, the tool missing. The message is the user's. */
export class CipherError extends Error {
  constructor(
    message: string,
    readonly reason: 'no-match' | 'damaged' | 'tool' | 'identity',
  ) {
    super(message);
    this.name = 'CipherError';
  }
}
