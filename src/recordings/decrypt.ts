/**
 * `consent-ivr recording decrypt`: a sealed, encrypted recording given back as the WAV Asterisk wrote,
 * to the holder of the controller's private key. Everything is checked before a byte is written: the
 * call's record (an erased or purged call's key is destroyed: nobody can open it), its seal, the key
 * the ledger keeps (it must open to the recipient the seal names), the encrypted file against its
 * seal; and the plaintext against the seal's plaintext hash before it takes the output's name.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sealOf } from '../evidence';
import { temporaryNameFor } from '../files/output-file';
import { parseStoredRecord, type AdminStore, type RecordingSeal, type StoredRecord } from '../ledger';
import { CipherError, type RecordingCipher } from '../ports/cipher';

export interface DecryptContext {
  store: AdminStore;
  serverId: string;
  recordingDir: string;
  cipher: RecordingCipher;
}

export type RefusalReason = 'unknown' | 'erased' | 'withdrawn' | 'not-sealed' | 'not-encrypted' | 'elsewhere' | 'shredded' | 'key-mismatch' | 'changed' | 'identity' | 'damaged' | 'exists';

/** Why a recording is not given: the message is the user's (no caller data in it). */
export class DecryptRefused extends Error {
  constructor(
    message: string,
    readonly reason: RefusalReason,
  ) {
    super(message);
    this.name = 'DecryptRefused';
  }
}

export interface Decrypted {
  uniqueId: string;
  out: string;
  bytes: number;
  durationMs: number;
  keyId: string;
  sealedAt: string;
}

type Sealed = { uniqueId: string; at: string } & RecordingSeal;

/** The call's record and the log it is in, or null when no log has it. */
async function findRecord(store: AdminStore, uniqueId: string): Promise<{ log: string; record: StoredRecord } | null> {
  for (const log of await store.logs()) {
    const row = await store.forLog(log).getRecord(uniqueId);
    if (row) return { log, record: parseStoredRecord(row.json) };
  }
  return null;
}

/** The call's seal, from its own entries in its log. */
async function findSeal(store: AdminStore, uniqueId: string): Promise<Sealed | null> {
  const seqs = await store.eventSeqs(uniqueId);
  for (const e of await store.chainEntries(seqs)) {
    const s = e ? sealOf(e.body) : null;
    if (s && s.uniqueId === uniqueId) return s;
  }
  return null;
}

/** A pass-through that hashes and counts what goes through it (read both once it has ended). */
function counted(): { stream: Transform; sha256(): string; bytes(): number } {
  const hash = createHash('sha256');
  let bytes = 0;
  let digest = '';
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      digest = hash.digest('hex');
      cb();
    },
  });
  return { stream, sha256: () => digest, bytes: () => bytes };
}

async function digestOf(path: string): Promise<{ sha256: string; size: number } | null> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return { sha256: hash.digest('hex'), size };
}

/** What `decryptRecording` checks before it decrypts: the seal and the key, or why not. */
export async function openable(ctx: DecryptContext, uniqueId: string): Promise<{ seal: Sealed & { encryption: NonNullable<RecordingSeal['encryption']> }; wrapped: string; path: string }> {
  const found = await findRecord(ctx.store, uniqueId);
  if (!found) throw new DecryptRefused(`call ${uniqueId} is not in the ledger (never recorded, or purged after its retention: its key was destroyed with it)`, 'unknown');
  const { record, log } = found;
  if (record.erasedAt) throw new DecryptRefused(`call ${uniqueId} was erased at ${record.erasedAt}: its recording's key was destroyed, and no one can decrypt any copy of it`, 'erased');
  if (record.withdrawal?.recording === 'deleted') throw new DecryptRefused(`call ${uniqueId}: the caller withdrew consent at ${record.withdrawal.at} and the recording was deleted`, 'withdrawn');
  const seal = await findSeal(ctx.store.forLog(log), uniqueId);
  if (!seal) throw new DecryptRefused(`call ${uniqueId} has no sealed recording (none was made, or the server holding it has not closed and sealed it yet)`, 'not-sealed');
  const enc = seal.encryption;
  if (!enc) throw new DecryptRefused(`call ${uniqueId}: its recording is not encrypted (${seal.file} on server ${seal.server}); it needs no decryption`, 'not-encrypted');
  if (seal.server !== ctx.serverId) throw new DecryptRefused(`call ${uniqueId}: its recording is on server ${seal.server}; run this command there (this is ${ctx.serverId})`, 'elsewhere');
  const key = await ctx.store.recordingKey(uniqueId);
  if (!key) throw new DecryptRefused(`call ${uniqueId}: the ledger holds no key for its recording (destroyed, or lost with Redis): it cannot be decrypted`, 'shredded');
  if ('destroyedAtMs' in key) throw new DecryptRefused(`call ${uniqueId}: its recording's key was destroyed at ${new Date(key.destroyedAtMs).toISOString()}: it cannot be decrypted`, 'shredded');
  if (key.recipient !== enc.recipient || key.keyId !== enc.keyId) {
    throw new DecryptRefused(`call ${uniqueId}: the key the ledger holds is not the one its seal names (the store was altered); not decrypted`, 'key-mismatch');
  }
  return { seal: { ...seal, encryption: enc }, wrapped: key.wrapped, path: join(ctx.recordingDir, seal.file) };
}

/** Decrypts a call's recording into `out` (mode 0600), checked against its seal at both ends. */
export async function decryptRecording(ctx: DecryptContext, uniqueId: string, identityFile: string, out: string, opts: { force?: boolean } = {}): Promise<Decrypted> {
  if (!opts.force && (await fsp.lstat(out).catch(() => null))) throw new DecryptRefused(`${out} exists; choose another name or give --force`, 'exists');
  const { seal, wrapped, path } = await openable(ctx, uniqueId);
  const onDisk = await digestOf(path);
  if (!onDisk) throw new DecryptRefused(`call ${uniqueId}: ${seal.file} is missing from ${ctx.recordingDir}`, 'changed');
  if (onDisk.sha256 !== seal.sha256 || onDisk.size !== seal.size) throw new DecryptRefused(`call ${uniqueId}: ${seal.file} differs from its seal of ${seal.at}; not decrypted`, 'changed');
  let identity: string;
  try {
    identity = await ctx.cipher.unwrap(wrapped, identityFile);
  } catch (e) {
    if (e instanceof CipherError && e.reason === 'no-match') throw new DecryptRefused(`this identity is not one of the recipients of key ${seal.encryption.keyId} (the controller's key this recording was encrypted to)`, 'identity');
    if (e instanceof CipherError) throw new DecryptRefused(`${identityFile}: ${e.message}`, 'identity');
    throw e;
  }
  if ((await ctx.cipher.recipientOf(identity)) !== seal.encryption.recipient) {
    throw new DecryptRefused(`call ${uniqueId}: the key the ledger holds does not open to the recipient its seal names; not decrypted`, 'key-mismatch');
  }
  return writePlaintext(ctx.cipher, identity, path, out, seal);
}

async function writePlaintext(cipher: RecordingCipher, identity: string, path: string, out: string, seal: Sealed & { encryption: NonNullable<RecordingSeal['encryption']> }): Promise<Decrypted> {
  const tmp = temporaryNameFor(out);
  const { stream: counting, sha256, bytes } = counted();
  const file = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
  const writing = pipeline(counting, file);
  try {
    await cipher.decrypt(identity, path, counting).catch((e: Error) => {
      counting.destroy(e);
      throw e;
    });
    await writing;
    if (sha256() !== seal.encryption.plaintext.sha256 || bytes() !== seal.encryption.plaintext.size) {
      throw new DecryptRefused(`call ${seal.uniqueId}: the decrypted recording differs from the plaintext its seal states; not written`, 'damaged');
    }
    const h = await fsp.open(tmp, 'r+');
    await h.sync().finally(() => h.close());
    await fsp.chmod(tmp, 0o600);
    await fsp.rename(tmp, out);
  } catch (e) {
    await writing.catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    if (e instanceof CipherError) throw new DecryptRefused(`call ${seal.uniqueId}: ${e.message}`, 'damaged');
    throw e;
  }
  return { uniqueId: seal.uniqueId, out, bytes: bytes(), durationMs: seal.durationMs, keyId: seal.encryption.keyId, sealedAt: seal.at };
}

/**
 * A copy of a call's recording that is not encrypted (a profile without recipients), checked against
 * its seal, written 0600 as a decryption is: for the right of access.
 */
export async function copyPlainRecording(ctx: Omit<DecryptContext, 'cipher'>, uniqueId: string, out: string): Promise<Decrypted> {
  const found = await findRecord(ctx.store, uniqueId);
  if (!found) throw new DecryptRefused(`call ${uniqueId} is not in the ledger`, 'unknown');
  if (found.record.erasedAt) throw new DecryptRefused(`call ${uniqueId} was erased at ${found.record.erasedAt}`, 'erased');
  const seal = await findSeal(ctx.store.forLog(found.log), uniqueId);
  if (!seal) throw new DecryptRefused(`call ${uniqueId} has no sealed recording`, 'not-sealed');
  if (seal.encryption) throw new DecryptRefused(`call ${uniqueId}: its recording is encrypted; decrypt it with the controller's identity`, 'not-encrypted');
  if (seal.server !== ctx.serverId) throw new DecryptRefused(`call ${uniqueId}: its recording is on server ${seal.server}; run this command there`, 'elsewhere');
  const path = join(ctx.recordingDir, seal.file);
  const tmp = temporaryNameFor(out);
  const { stream: counting, sha256, bytes } = counted();
  try {
    await pipeline(createReadStream(path), counting, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
    if (sha256() !== seal.sha256 || bytes() !== seal.size) throw new DecryptRefused(`call ${uniqueId}: ${seal.file} differs from its seal of ${seal.at}; not copied`, 'changed');
    await fsp.rename(tmp, out);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new DecryptRefused(`call ${uniqueId}: ${seal.file} is missing from ${ctx.recordingDir}`, 'changed');
    throw e;
  }
  return { uniqueId, out, bytes: bytes(), durationMs: seal.durationMs, keyId: '', sealedAt: seal.at };
}
