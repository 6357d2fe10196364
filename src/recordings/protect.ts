/**
 * Encrypting a closed recording, for the sealer (evidence/sealer.ts): the plaintext streams through age
 * to a key made for this recording alone, into a temporary file that is fsync'd and renamed to
 * `<file>.age`; that key, wrapped to the controller's recipients, is stored in the ledger before the
 * encryption starts and marked written once the file is durable; the plaintext is removed only after
 * the seal naming the encrypted file is in the ledger. Each step can be cut short by a crash and done
 * again: a written key whose file is on disk is used as it is, anything else starts over.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { temporaryNameFor } from '../files/output-file';
import type { DestroyedKey, EvidenceStore, RecordingKey, SealEncryption } from '../ledger';
import type { RecordingCipher } from '../ports/cipher';
import type { Clock } from '../ports/clock';
import type { Keyring } from './keyring';

/** The encrypted file, as its seal states it. */
export interface ProtectedFile {
  /** Absolute path of the encrypted file. */
  path: string;
  sha256: string;
  size: number;
  /** The plaintext's duration. */
  durationMs: number;
  encryption: SealEncryption;
}

/** A closed plaintext to encrypt. */
export interface ProtectJob {
  uniqueId: string;
  path: string;
  profile: string | null;
  /** What the sealer found the plaintext to be; the encryption reads it again and must find the same. */
  plaintext: { sha256: string; size: number; durationMs: number };
  /** The encrypted file's path relative to recording.dir. */
  relativePath(path: string): string | null;
}

export type ProtectResult = ProtectedFile | 'erased';

export interface ProtectorPorts {
  keys: Pick<EvidenceStore, 'putRecordingKey' | 'recordingKey'>;
  cipher: RecordingCipher;
  keyring: () => Keyring;
  clock: Clock;
}

/** The name of a recording's encrypted file. */
export const encryptedPathOf = (path: string): string => `${path}.age`;

const isDestroyed = (k: RecordingKey | DestroyedKey | null): k is DestroyedKey => k !== null && 'destroyedAtMs' in k;

/** SHA-256 and size of what goes through. */
class Digest extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  sha256 = '';
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: (e?: Error | null) => void): void {
    this.sha256 = this.hash.digest('hex');
    cb();
  }
}

async function hashOf(path: string): Promise<{ sha256: string; size: number } | null> {
  const d = new Digest();
  try {
    await pipeline(createReadStream(path), d, new PassThrough().resume());
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return { sha256: d.sha256, size: d.size };
}

async function syncPath(path: string, flags: string): Promise<void> {
  const h = await fsp.open(path, flags);
  try {
    await h.sync();
  } catch {
    // a folder some file systems cannot fsync: the file itself is on disk
  } finally {
    await h.close();
  }
}

export class Protector {
  constructor(
    private readonly ports: ProtectorPorts,
    private readonly serverId: string,
  ) {}

  /** True when this profile's recordings are encrypted. */
  encrypts(profile: string | null | undefined): boolean {
    return this.ports.keyring().of(profile) !== null;
  }

  /** Encrypts a closed plaintext, or finds it done already; 'erased' when the call's key was destroyed (nothing to keep). */
  async protect(job: ProtectJob): Promise<ProtectResult> {
    const recipients = this.ports.keyring().of(job.profile);
    if (!recipients) throw new Error('no recipients for this profile');
    const agePath = encryptedPathOf(job.path);
    const file = job.relativePath(agePath);
    if (file === null) throw new Error('the encrypted file would be outside recording.dir');
    const existing = await this.ports.keys.recordingKey(job.uniqueId);
    if (isDestroyed(existing)) return 'erased';
    const done = existing?.written && existing.written.plaintextSha256 === job.plaintext.sha256 ? await this.resumable(existing, agePath) : null;
    if (done) return done;

    const { identity, recipient } = await this.ports.cipher.newKey();
    const key: RecordingKey = {
      uniqueId: job.uniqueId,
      keyId: recipients.keyId,
      recipient,
      wrapped: await this.ports.cipher.wrap(identity, recipients.recipients),
      server: this.serverId,
      file,
      atMs: this.ports.clock.now().getTime(),
    };
    // Stored before the file exists: an encrypted file is never without what opens it.
    if (!(await this.ports.keys.putRecordingKey(key))) return 'erased';
    const written = await this.encryptFile(job.path, agePath, recipient);
    if (written.plain.sha256 !== job.plaintext.sha256 || written.plain.size !== job.plaintext.size) {
      await fsp.rm(agePath, { force: true });
      throw new Error('the recording changed while it was encrypted; it will be encrypted again');
    }
    key.written = { sha256: written.sha256, size: written.size, plaintextSha256: written.plain.sha256, plaintextSize: written.plain.size, durationMs: job.plaintext.durationMs };
    if (!(await this.ports.keys.putRecordingKey(key))) {
      await fsp.rm(agePath, { force: true });
      return 'erased';
    }
    return this.sealed(key, agePath);
  }

  /**
   * The encrypted file of a recording whose plaintext is gone, when its encryption was done (the
   * service stopped after removing the plaintext and before it forgot the recording): its seal, to
   * append again (a seal already in the ledger is not added twice). Null when there is none.
   */
  async resume(uniqueId: string, path: string): Promise<ProtectedFile | null> {
    const key = await this.ports.keys.recordingKey(uniqueId);
    if (!key || isDestroyed(key) || !key.written) return null;
    return this.resumable(key, encryptedPathOf(path));
  }

  /** Removes the plaintext once its seal is in the ledger. */
  async removePlaintext(path: string): Promise<void> {
    await fsp.rm(path, { force: true });
    await syncPath(dirname(path), 'r').catch(() => undefined);
  }

  private async resumable(key: RecordingKey, agePath: string): Promise<ProtectedFile | null> {
    const on = await hashOf(agePath);
    if (!on || !key.written || on.sha256 !== key.written.sha256 || on.size !== key.written.size) return null;
    return this.sealed(key, agePath);
  }

  private sealed(key: RecordingKey, agePath: string): ProtectedFile {
    const w = key.written;
    if (!w) throw new Error('key not written');
    return { path: agePath, sha256: w.sha256, size: w.size, durationMs: w.durationMs, encryption: { format: 'age', keyId: key.keyId, recipient: key.recipient, plaintext: { sha256: w.plaintextSha256, size: w.plaintextSize } } };
  }

  /** Streams the plaintext through age into a temporary file, fsync'd, renamed to `agePath`, the folder fsync'd. */
  private async encryptFile(path: string, agePath: string, recipient: string): Promise<{ sha256: string; size: number; plain: { sha256: string; size: number } }> {
    const tmp = temporaryNameFor(agePath);
    const plain = new Digest();
    const cipherText = new Digest();
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o640 });
    try {
      const reading = pipeline(createReadStream(path), plain);
      const output = new PassThrough();
      const writing = pipeline(output, cipherText, out);
      const encrypting = this.ports.cipher.encrypt(recipient, plain, output).catch((e: Error) => {
        output.destroy(e); // nothing more comes: the writing ends too
        throw e;
      });
      const [read, encrypted, wrote] = await Promise.allSettled([reading, encrypting, writing]);
      for (const r of [read, encrypted, wrote]) if (r.status === 'rejected') throw r.reason;
      await syncPath(tmp, 'r+');
      await fsp.rename(tmp, agePath);
    } catch (e) {
      out.destroy();
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await syncPath(dirname(agePath), 'r').catch(() => undefined);
    return { sha256: cipherText.sha256, size: cipherText.size, plain: { sha256: plain.sha256, size: plain.size } };
  }
}
