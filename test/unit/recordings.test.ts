/**
 * Protected recordings below the service: recipients files and key ids, the keyring of the profiles,
 * the sealer encrypting with the real age tools into real files (each step cut short and done again),
 * rotation, and `decryptRecording`'s refusals when someone with write access to the store (but not the
 * controller's key) swaps or deletes what opens a recording. The ledger is the in-memory store; the
 * same run against Redis and Asterisk in test/e2e/recordings.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { AgeCli } from '../../src/adapters/age/age-cli';
import { inspectRecording, sealEvent } from '../../src/evidence/seal';
import { Sealer } from '../../src/evidence/sealer';
import { ChainAppender, serialiseRecord, sha256Hex, STAGE, type AppendItem } from '../../src/ledger';
import { checkRecordingKey } from '../../src/ledger/queues';
import { createLogger } from '../../src/observability/logger';
import type { Clock } from '../../src/ports/clock';
import type { ConsentRecord } from '../../src/ports/ledger';
import { decryptRecording, DecryptRefused, keyIdOf, parseRecipients, Protector, RecipientsError, type Keyring, type Recipients } from '../../src/recordings';
import { MemoryLedgerStore } from '../support/memory-ledger-store';
import { testRecord, testRecording } from '../support/records';

const quiet = createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));
const clock: Clock = {
  now: () => new Date('2026-11-30T12:00:00Z'),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};
const age = new AgeCli();

function keygen(file: string): string {
  execFileSync('age-keygen', ['-o', file], { stdio: 'ignore' });
  return execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim();
}

/** A closed 16-bit 8 kHz mono WAV of `seconds` of a 1 kHz tone. */
function writeWav(path: string, seconds: number): void {
  const samples = Math.round(8000 * seconds);
  const b = Buffer.alloc(44 + samples * 2);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + samples * 2, 4);
  b.write('WAVEfmt ', 8, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i += 1) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000)), 44 + i * 2);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, b, { mode: 0o640 });
}

describe('recipients files', () => {
  const a = 'age1' + 'q'.repeat(58);
  const b = 'age1' + 'p'.repeat(58);

  test('When a file lists public keys with comments, blank lines and a repeat, then each key is taken once and the key id does not depend on their order', () => {
    const r = parseRecipients(`# the DPO\n${a}\n\n  ${b}  \n${a}\n`, 'f');
    expect(r.recipients).toEqual([a, b]);
    expect(r.keyId).toMatch(/^age-[0-9a-f]{16}$/);
    expect(parseRecipients(`${b}\n${a}\n`, 'f').keyId).toBe(r.keyId);
    expect(keyIdOf([a])).not.toBe(r.keyId);
  });

  test('When a file holds a private key, a line that is no key, or no key at all, then it is refused, naming the file and the line', () => {
    expect(() => parseRecipients(`${a}\nAGE-SECRET-KEY-1${'Q'.repeat(58)}\n`, '/etc/k')).toThrow(/\/etc\/k: line 2 is a private key: this file takes public keys/);
    expect(() => parseRecipients('ssh-rsa AAAA\n', '/etc/k')).toThrow(/line 1 is not an age public key/);
    expect(() => parseRecipients('# nothing\n', '/etc/k')).toThrow(RecipientsError);
    expect(() => parseRecipients(`${'age1' + 'q'.repeat(57)}\n`, '/etc/k')).toThrow(/line 1 is not an age public key/);
  });
});

describe('the key a store holds for a recording', () => {
  const ok = { uniqueId: 'c.1', keyId: 'age-0123456789abcdef', recipient: 'age1' + 'q'.repeat(58), wrapped: '-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n', server: 'srv', file: '2026/11/30/c.1.wav.age', atMs: 1 };

  test('When an entry is what the service writes, or the tombstone of an erasure, then it reads; anything else is a problem, never a key', () => {
    expect(checkRecordingKey('c.1', JSON.stringify(ok))).toEqual({ ok });
    expect(checkRecordingKey('c.1', JSON.stringify({ uniqueId: 'c.1', destroyedAtMs: 5 }))).toEqual({ ok: { uniqueId: 'c.1', destroyedAtMs: 5 } });
    expect(checkRecordingKey('c.2', JSON.stringify(ok))).toEqual({ problem: 'uniqueId differs from its field' });
    expect(checkRecordingKey('c.1', JSON.stringify({ ...ok, file: '../../etc/passwd' }))).toEqual({ problem: 'file is not a path inside recording.dir' });
    expect(checkRecordingKey('c.1', JSON.stringify({ ...ok, wrapped: 'AGE-SECRET-KEY-1' }))).toEqual({ problem: 'wrapped is not an armored age file' });
    expect(checkRecordingKey('c.1', JSON.stringify({ ...ok, written: { sha256: 'x' } }))).toEqual({ problem: 'written is not what an encryption wrote' });
  });
});

describe('the sealer encrypting with age', () => {
  let dir: string;
  let rec: string;
  let recipients: Recipients;
  let rotated: Recipients;
  let identity: string;
  let newIdentity: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'civr-rec-'));
    rec = join(dir, 'rec');
    identity = join(dir, 'dpo.key');
    newIdentity = join(dir, 'dpo-2027.key');
    recipients = parseRecipients(keygen(identity), 'recipients.txt');
    rotated = parseRecipients(keygen(newIdentity), 'recipients-2027.txt');
  });

  const record = (uid: string, over: Partial<ConsentRecord> = {}): ConsentRecord =>
    testRecord({ uniqueId: uid, outcome: 'accepted', recording: testRecording(join(rec, '2026/11/30', `${uid}.wav`), 'srv', '2026-11-30T11:59:00.000Z'), ...over });

  /** A sealer over one store, its ledger appending through the store's chain; `failAppend` makes the next N appends fail. */
  function setup(store: MemoryLedgerStore, keys: { current: Recipients | null }, opts: { failAppend?: number; failClear?: number } = {}) {
    let failAppend = opts.failAppend ?? 0;
    let failClear = opts.failClear ?? 0;
    const appender = new ChainAppender(store);
    const keyring: Keyring = { of: () => keys.current, any: true, keyIds: {} };
    const protector = new Protector({ keys: store, cipher: age, keyring: () => keyring, clock }, 'srv');
    const sealer = new Sealer(
      {
        evidence: {
          markUnsealed: (s, u) => store.markUnsealed(s, u),
          readUnsealed: (s) => store.readUnsealed(s),
          clearUnsealed: async (s, id) => {
            if (failClear-- > 0) throw new Error('Redis went away');
            await store.clearUnsealed(s, id);
          },
        },
        ledger: {
          appendEvent: async (i: AppendItem) => {
            if (failAppend-- > 0) throw new Error('Redis went away');
            await appender.submit(i).done;
          },
          find: async () => null,
        },
        channels: { liveChannelIds: async () => new Set<string>() },
        files: { inspect: (p) => inspectRecording(p, 'wav') },
        clock,
        protector,
      },
      { serverId: 'srv', log: store.log, recordingDir: rec, pollMs: 1000, settleMs: 0 },
      quiet,
    );
    return sealer;
  }

  async function decided(store: MemoryLedgerStore, r: ConsentRecord): Promise<void> {
    const json = serialiseRecord(r);
    const item: AppendItem = {
      eventId: `d:${r.uniqueId}`,
      body: JSON.stringify({ type: 'outcome', at: r.enteredAt, uniqueId: r.uniqueId, outcome: r.outcome, recordDigest: sha256Hex(json) }),
      record: { uniqueId: r.uniqueId, json, stage: STAGE.outcome, enteredMs: Date.parse(r.enteredAt), callerPseudonym: r.callerPseudonym, callerIndex: 'add' },
    };
    await new ChainAppender(store).submit(item).done;
  }

  const seals = (store: MemoryLedgerStore) => store.state.entries.map((e) => JSON.parse(e.body) as Record<string, unknown>).filter((b) => b.type === 'seal');
  const ctx = (store: MemoryLedgerStore) => ({ store, serverId: 'srv', recordingDir: rec, cipher: age });

  test('When a closed recording is sealed, then the file becomes <file>.age, the seal states the encrypted file and the plaintext, the key is kept, and decrypt gives the WAV back', async () => {
    const store = new MemoryLedgerStore('pbx1');
    const r = record('c.1');
    await decided(store, r);
    const path = r.recording?.file?.path as string;
    writeWav(path, 3);
    const plain = await inspectRecording(path, 'wav');
    const sealer = setup(store, { current: recipients });
    sealer.track(r);
    expect(await sealer.pass()).toBe(1);
    expect(existsSync(path)).toBe(false);
    expect(readFileSync(`${path}.age`).subarray(0, 21).toString('latin1')).toBe('age-encryption.org/v1');
    const [seal] = seals(store);
    const enc = await inspectRecording(`${path}.age`, 'age');
    expect(seal).toMatchObject({ file: '2026/11/30/c.1.wav.age', sha256: enc?.sha256, size: enc?.size, durationMs: 3000, encryption: { format: 'age', keyId: recipients.keyId, plaintext: { sha256: plain?.sha256, size: plain?.size } } });
    const key = await store.recordingKey('c.1');
    expect(key).toMatchObject({ keyId: recipients.keyId, recipient: (seal?.encryption as { recipient: string }).recipient, file: '2026/11/30/c.1.wav.age', written: { sha256: enc?.sha256 } });
    const out = join(dir, 'c.1.wav');
    const d = await decryptRecording(ctx(store), 'c.1', identity, out);
    expect(d).toMatchObject({ bytes: plain?.size, durationMs: 3000, keyId: recipients.keyId });
    expect((await inspectRecording(out, 'wav'))?.sha256).toBe(plain?.sha256);
  });

  test('When the seal cannot be appended after the encryption, then the plaintext stays; the next pass seals the same encrypted file without encrypting again', async () => {
    const store = new MemoryLedgerStore('pbx2');
    const r = record('c.2');
    await decided(store, r);
    const path = r.recording?.file?.path as string;
    writeWav(path, 1);
    const sealer = setup(store, { current: recipients }, { failAppend: 1 });
    sealer.track(r);
    expect(await sealer.pass()).toBe(0);
    expect(existsSync(path)).toBe(true);
    const first = await store.recordingKey('c.2');
    const firstFile = readFileSync(`${path}.age`);
    expect(await sealer.pass()).toBe(1);
    expect(existsSync(path)).toBe(false);
    expect(await store.recordingKey('c.2')).toEqual(first);
    expect(readFileSync(`${path}.age`).equals(firstFile)).toBe(true);
    expect(seals(store)).toHaveLength(1);
  });

  test('When the service stops after removing the plaintext and before forgetting the recording, then the next start seals it from its key (once) and forgets it', async () => {
    const store = new MemoryLedgerStore('pbx3');
    const r = record('c.3');
    await decided(store, r);
    const path = r.recording?.file?.path as string;
    writeWav(path, 1);
    const before = setup(store, { current: recipients }, { failClear: 1 });
    before.track(r);
    await expect(before.pass()).resolves.toBe(0); // the pass failed at its end: the recording is still listed
    expect(existsSync(path)).toBe(false);
    expect((await store.readUnsealed('srv')).items.map((u) => u.uniqueId)).toEqual(['c.3']);
    const after = setup(store, { current: recipients });
    expect(await after.recover()).toBe(1);
    expect((await store.readUnsealed('srv')).items).toEqual([]);
    expect(seals(store)).toHaveLength(1);
  });

  test('When the call was erased before its recording was encrypted, then no key is stored, nothing is sealed and the plaintext is removed', async () => {
    const store = new MemoryLedgerStore('pbx4');
    const r = record('c.4');
    const path = r.recording?.file?.path as string;
    writeWav(path, 1);
    await store.destroyRecordingKey('c.4', 1, true);
    const sealer = setup(store, { current: recipients });
    sealer.track(r);
    expect(await sealer.pass()).toBe(0);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.age`)).toBe(false);
    expect(await store.recordingKey('c.4')).toEqual({ uniqueId: 'c.4', destroyedAtMs: 1 });
    expect(seals(store)).toEqual([]);
  });

  test('When the controller\'s key is rotated, then new recordings take the new key id and the old ones keep theirs, each opened by its own identity only', async () => {
    const store = new MemoryLedgerStore('pbx5');
    const keys = { current: recipients as Recipients | null };
    const sealer = setup(store, keys);
    const [older, newer] = [record('c.5'), record('c.6')];
    for (const r of [older, newer]) await decided(store, r);
    writeWav(older.recording?.file?.path as string, 1);
    sealer.track(older);
    expect(await sealer.pass()).toBe(1);
    keys.current = rotated;
    writeWav(newer.recording?.file?.path as string, 1);
    sealer.track(newer);
    expect(await sealer.pass()).toBe(1);
    expect(seals(store).map((s) => (s.encryption as { keyId: string }).keyId)).toEqual([recipients.keyId, rotated.keyId]);
    await expect(decryptRecording(ctx(store), 'c.5', identity, join(dir, 'c5.wav'))).resolves.toMatchObject({ keyId: recipients.keyId });
    await expect(decryptRecording(ctx(store), 'c.6', newIdentity, join(dir, 'c6.wav'))).resolves.toMatchObject({ keyId: rotated.keyId });
    await expect(decryptRecording(ctx(store), 'c.6', identity, join(dir, 'c6-old.wav'))).rejects.toMatchObject({ reason: 'identity' });
  });

  test('When someone who can write to the store swaps a recording\'s key for one of their own or deletes it, then decrypt refuses and writes nothing', async () => {
    const store = new MemoryLedgerStore('pbx6');
    const r = record('c.7');
    await decided(store, r);
    writeWav(r.recording?.file?.path as string, 1);
    const sealer = setup(store, { current: recipients });
    sealer.track(r);
    expect(await sealer.pass()).toBe(1);
    const genuine = await store.recordingKey('c.7');
    if (!genuine || 'destroyedAtMs' in genuine) throw new Error('no key');
    // Their own data key, wrapped to the controller's recipients: it opens, but not to the sealed recipient.
    const theirs = await age.newKey();
    const forged = { ...genuine, recipient: theirs.recipient, wrapped: await age.wrap(theirs.identity, recipients.recipients) };
    store.shared.recordingKeys.set('c.7', forged);
    const out = join(dir, 'c7.wav');
    await expect(decryptRecording(ctx(store), 'c.7', identity, out)).rejects.toMatchObject({ reason: 'key-mismatch' });
    // The same, with the sealed recipient left in place: the key opens to another recipient.
    store.shared.recordingKeys.set('c.7', { ...forged, recipient: genuine.recipient });
    await expect(decryptRecording(ctx(store), 'c.7', identity, out)).rejects.toMatchObject({ reason: 'key-mismatch' });
    store.shared.recordingKeys.delete('c.7');
    await expect(decryptRecording(ctx(store), 'c.7', identity, out)).rejects.toThrow(/holds no key for its recording \(destroyed, or lost with Redis\)/);
    expect(existsSync(out)).toBe(false);
    store.shared.recordingKeys.set('c.7', genuine);
    await expect(decryptRecording(ctx(store), 'c.7', identity, out)).resolves.toMatchObject({ uniqueId: 'c.7' });
    await expect(decryptRecording(ctx(store), 'c.7', identity, out)).rejects.toBeInstanceOf(DecryptRefused);
  });

  test('When a recording is not sealed or not encrypted, then decrypt says so', async () => {
    const store = new MemoryLedgerStore('pbx7');
    const r = record('c.8');
    await decided(store, r);
    await expect(decryptRecording(ctx(store), 'c.8', identity, join(dir, 'c8.wav'))).rejects.toMatchObject({ reason: 'not-sealed' });
    await new ChainAppender(store).submit(sealEvent('c.8', Date.parse(r.enteredAt), { server: 'srv', file: '2026/11/30/c.8.wav', sha256: 'ab'.repeat(32), size: 44, durationMs: 0, reason: 'call-end' }, clock.now())).done;
    await expect(decryptRecording(ctx(store), 'c.8', identity, join(dir, 'c8.wav'))).rejects.toMatchObject({ reason: 'not-encrypted' });
    await expect(decryptRecording(ctx(store), 'nope', identity, join(dir, 'n.wav'))).rejects.toMatchObject({ reason: 'unknown' });
  });
});
