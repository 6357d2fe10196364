import { createHash, createPublicKey, verify } from 'node:crypto';
import {
  type Checkpoint,
  fingerprint,
  formatCheckpoint,
  formatSigner,
  formatVerifier,
  generateSigner,
  NoteError,
  openNote,
  parseCheckpoint,
  parseSigner,
  parseVerifier,
  signNote,
  type SignerKey,
  verifierOf,
} from '../../src/evidence/checkpoint';

const DASH = '\u2014';

/** Key ID recomputed here from the specification, independently of the module. */
function specKeyId(name: string, publicKey: Buffer): string {
  return createHash('sha256').update(name, 'utf8').update(Buffer.from([0x0a, 0x01])).update(publicKey).digest().subarray(0, 4).toString('hex');
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof NoteError) return e.reason;
    throw e;
  }
  throw new Error('expected a NoteError, nothing was thrown');
}

const root = createHash('sha256').update('consent-ivr test root').digest();
const checkpoint: Checkpoint = { origin: 'consent-ivr.example/ledger', size: 42, root, extensions: [] };
const cpText = formatCheckpoint(checkpoint);

/** Replaces the signature block's first signature bytes by re-encoding them with `edit` applied. */
function editSignature(note: string, edit: (blob: Buffer) => void): string {
  const split = note.lastIndexOf('\n\n');
  const line = note.slice(split + 2, -1);
  const [prefix, name, b64] = line.split(' ') as [string, string, string];
  const blob = Buffer.from(b64, 'base64');
  edit(blob);
  return `${note.slice(0, split + 2)}${prefix} ${name} ${blob.toString('base64')}\n`;
}

describe('signed-note keys', () => {
  test('When a signer is generated, then its key ID is the first 4 bytes of SHA-256(name, "\\n", 0x01, public key)', () => {
    const s = generateSigner('example.org/log');
    expect(s.seed).toHaveLength(32);
    expect(s.publicKey).toHaveLength(32);
    expect(s.keyId).toBe(specKeyId('example.org/log', s.publicKey));
    expect(formatVerifier(verifierOf(s))).toBe(`example.org/log+${s.keyId}+${Buffer.concat([Buffer.from([1]), s.publicKey]).toString('base64')}`);
  });

  test('When signer and verifier keys are formatted and parsed, then they round-trip', () => {
    const s = generateSigner('example.org/log');
    const text = formatSigner(s);
    expect(text.startsWith(`PRIVATE+KEY+example.org/log+${s.keyId}+`)).toBe(true);
    expect(parseSigner(`  ${text}\n`)).toEqual(s);
    const v = verifierOf(s);
    expect(parseVerifier(`\n${formatVerifier(v)}  `)).toEqual(v);
    expect(formatVerifier(parseVerifier(formatVerifier(v)))).toBe(formatVerifier(v));
  });

  test('When names are invalid, then key generation is refused', () => {
    for (const name of ['', 'a b', 'a+b', 'a\tb', 'a\nb', 'a\u00a0b']) expect(reasonOf(() => generateSigner(name))).toBe('malformed');
  });

  test('When key strings are mangled, then parsing fails as malformed', () => {
    const s = generateSigner('example.org/log');
    const v = formatVerifier(verifierOf(s));
    const wrongId = s.keyId === '00000000' ? '00000001' : '00000000';
    const name = 'example.org/log';
    const key = v.slice(`${name}+${s.keyId}+`.length);
    const bad = [
      `${name}+${wrongId}+${key}`, // wrong key id
      `${name}+${s.keyId.slice(1)}+${key}`, // short key id
      `${name}+${s.keyId}+${key.slice(0, -1)}`, // bad base64
      `${name}+${s.keyId}+${Buffer.concat([Buffer.from([2]), s.publicKey]).toString('base64')}`, // other algorithm
      `${name}+${s.keyId}+${Buffer.concat([Buffer.from([1]), s.publicKey.subarray(1)]).toString('base64')}`, // 31-byte key
      `${name}+${s.keyId}`,
      `+${s.keyId}+${key}`,
      'other.org/log' + v.slice(name.length), // name changed: key id no longer matches
    ];
    for (const b of bad) expect(reasonOf(() => parseVerifier(b))).toBe('malformed');
    const sk = formatSigner(s);
    expect(reasonOf(() => parseSigner(sk.replace(s.keyId, wrongId)))).toBe('malformed');
    expect(reasonOf(() => parseSigner(sk.slice('PRIVATE+KEY+'.length)))).toBe('malformed');
    expect(reasonOf(() => parseSigner(v))).toBe('malformed');
  });

  test('When a fingerprint is taken, then it is the SHA-256 of the verifier key text', () => {
    const v = verifierOf(generateSigner('example.org/log'));
    expect(fingerprint(v)).toBe(createHash('sha256').update(formatVerifier(v)).digest('hex'));
    expect(fingerprint(v)).toMatch(/^[0-9a-f]{64}$/);
  });

  test('When a signer object is inconsistent, then it is refused', () => {
    const s = generateSigner('example.org/log');
    const other = generateSigner('example.org/log');
    expect(reasonOf(() => signNote(cpText, { ...s, publicKey: other.publicKey }))).toBe('malformed');
    expect(reasonOf(() => signNote(cpText, { ...s, keyId: other.keyId === s.keyId ? '00000000' : other.keyId }))).toBe('malformed');
    expect(reasonOf(() => verifierOf({ ...s, seed: s.seed.subarray(1) }))).toBe('malformed');
  });
});

describe('fixed key (seed = 32 × 0x01, name consent-ivr-test)', () => {
  const seed = Buffer.alloc(32, 1);
  const name = 'consent-ivr-test';
  // Computed outside this module (Python `cryptography`), from the specifications.
  const expectedVerifier = 'consent-ivr-test+82959ec9+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c';
  const expectedNote =
    'consent-ivr.example/ledger\n42\nGPDbCgslWEwn8fzKeMwYTVrgeG0Lj+itPkX0e+znpY0=\n\n' +
    `${DASH} consent-ivr-test gpWeyTSoxaN8BoO1XAYHNvI7EDYKyqj7uGLopmePOeZ4aU4cxHiksK2hjO7FAQ6XcxHvfpkMXrZ/+qgjHdMc8fvscg4=\n`;
  const signer = parseSigner(`PRIVATE+KEY+${name}+82959ec9+${Buffer.concat([Buffer.from([1]), seed]).toString('base64')}`);

  test('When the fixed signer is parsed, then its verifier text carries the independently computed key ID', () => {
    expect(signer.seed.equals(seed)).toBe(true);
    expect(signer.keyId).toBe(specKeyId(name, signer.publicKey));
    expect(signer.keyId).toBe('82959ec9');
    expect(formatVerifier(verifierOf(signer))).toBe(expectedVerifier);
  });

  test('When the fixed checkpoint is signed, then the note is byte-for-byte the stored one, and verifies with plain node:crypto', () => {
    const note = signNote(cpText, signer);
    expect(note).toBe(expectedNote);
    expect(signNote(cpText, signer)).toBe(note);
    const blob = Buffer.from(note.split(' ').pop()!.trim(), 'base64');
    expect(blob.subarray(0, 4).toString('hex')).toBe(specKeyId(name, signer.publicKey));
    const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), signer.publicKey]), format: 'der', type: 'spki' });
    expect(verify(null, Buffer.from(cpText), pub, blob.subarray(4))).toBe(true);
    const opened = openNote(expectedNote, [parseVerifier(expectedVerifier)]);
    expect(parseCheckpoint(opened.text)).toEqual(checkpoint);
  });

  test('When the Go x/mod/sumdb/note example key and note are used, then they interoperate', () => {
    const skey = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
    const vkey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
    const text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const want = `${text}\n${DASH} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
    const s = parseSigner(skey);
    expect(formatVerifier(verifierOf(s))).toBe(vkey);
    expect(formatSigner(s)).toBe(skey);
    expect(signNote(text, s)).toBe(want);
    expect(openNote(want, [parseVerifier(vkey)]).text).toBe(text);
  });
});

describe('signed notes', () => {
  let a: SignerKey;
  let b: SignerKey;
  beforeAll(() => {
    a = generateSigner('consent-ivr.example/ledger');
    b = generateSigner('witness.example');
  });

  test('When a note is signed, then its verifier opens it and returns the text', () => {
    const note = signNote(cpText, a);
    expect(note.startsWith(`${cpText}\n${DASH} consent-ivr.example/ledger `)).toBe(true);
    const opened = openNote(note, [verifierOf(a)]);
    expect(opened.text).toBe(cpText);
    expect(opened.signedBy).toEqual([verifierOf(a)]);
    expect(opened.unknown).toEqual([]);
  });

  test('When the note is signed by another key, then opening fails with unknown-key naming the signer', () => {
    const note = signNote(cpText, b);
    expect(reasonOf(() => openNote(note, [verifierOf(a)]))).toBe('unknown-key');
    expect(() => openNote(note, [verifierOf(a)])).toThrow(`witness.example+${b.keyId}`);
    expect(reasonOf(() => openNote(note, []))).toBe('unknown-key');
  });

  test('When a key has the same name but a different key ID, then it is unknown, not a bad signature', () => {
    const rotated = generateSigner('consent-ivr.example/ledger');
    expect(reasonOf(() => openNote(signNote(cpText, rotated), [verifierOf(a)]))).toBe('unknown-key');
  });

  test.each([
    ['size changed by one', (t: string) => t.replace('\n42\n', '\n43\n')],
    ['root changed', (t: string) => t.replace(root.toString('base64'), Buffer.alloc(32, 7).toString('base64'))],
    ['origin changed', (t: string) => t.replace('consent-ivr.example/ledger\n', 'consent-ivr.example/other\n')],
    ['extension added', (t: string) => t.replace(/\n\n/, '\nextra\n\n')],
  ])('When the text is tampered (%s), then opening fails with bad-signature', (_label, tamper) => {
    const note = signNote(cpText, a);
    const tampered = tamper(note);
    expect(tampered).not.toBe(note);
    expect(reasonOf(() => openNote(tampered, [verifierOf(a)]))).toBe('bad-signature');
  });

  test('When a signature byte is changed, then opening fails with bad-signature', () => {
    const note = signNote(cpText, a);
    for (const i of [4, 30, 67]) {
      const tampered = editSignature(note, (blob) => {
        blob[i] = (blob[i] ?? 0) ^ 0x01;
      });
      expect(reasonOf(() => openNote(tampered, [verifierOf(a)]))).toBe('bad-signature');
    }
  });

  test('When a known key signature is truncated, then opening fails with bad-signature', () => {
    const note = signNote(cpText, a);
    const split = note.lastIndexOf('\n\n');
    const blob = Buffer.from(note.slice(split + 2, -1).split(' ')[2]!, 'base64').subarray(0, 40);
    const tampered = `${note.slice(0, split + 2)}${DASH} ${a.name} ${blob.toString('base64')}\n`;
    expect(reasonOf(() => openNote(tampered, [verifierOf(a)]))).toBe('bad-signature');
  });

  test('When a second signature is by an unknown key, then it is reported and the note opens', () => {
    const byA = signNote(cpText, a);
    const byB = signNote(cpText, b);
    const both = byA + byB.slice(byB.lastIndexOf('\n\n') + 2);
    const opened = openNote(both, [verifierOf(a)]);
    expect(opened.text).toBe(cpText);
    expect(opened.signedBy).toEqual([verifierOf(a)]);
    expect(opened.unknown).toEqual([{ name: 'witness.example', keyId: b.keyId }]);
  });

  test('When two known keys both sign, then both verify; a bad one among them fails the note', () => {
    const byA = signNote(cpText, a);
    const byB = signNote(cpText, b);
    const sigB = byB.slice(byB.lastIndexOf('\n\n') + 2);
    const both = byA + sigB;
    const opened = openNote(both, [verifierOf(b), verifierOf(a)]);
    expect(opened.signedBy).toEqual([verifierOf(a), verifierOf(b)]);
    expect(opened.unknown).toEqual([]);
    const badB = editSignature(`${cpText}\n${sigB}`, (blob) => {
      blob[10] = (blob[10] ?? 0) ^ 0xff;
    });
    const mixed = byA + badB.slice(badB.lastIndexOf('\n\n') + 2);
    expect(openNote(mixed, [verifierOf(a)]).unknown).toHaveLength(1);
    expect(reasonOf(() => openNote(mixed, [verifierOf(a), verifierOf(b)]))).toBe('bad-signature');
  });

  test('When keys are rotated, then a note signed by the old key verifies while the old key is still listed', () => {
    const oldKey = a;
    const newKey = generateSigner(a.name);
    const oldNote = signNote(cpText, oldKey);
    const newNote = signNote(cpText, newKey);
    const list = [verifierOf(newKey), verifierOf(oldKey)];
    expect(openNote(oldNote, list).signedBy).toEqual([verifierOf(oldKey)]);
    expect(openNote(newNote, list).signedBy).toEqual([verifierOf(newKey)]);
    expect(reasonOf(() => openNote(oldNote, [verifierOf(newKey)]))).toBe('unknown-key');
  });

  test('When the same signature line repeats, then the key is listed once', () => {
    const note = signNote(cpText, a);
    const line = note.slice(note.lastIndexOf('\n\n') + 2);
    expect(openNote(note + line, [verifierOf(a)]).signedBy).toHaveLength(1);
  });

  test.each([
    ['no blank line', (n: string) => n.replace('\n\n', '\n')],
    ['missing trailing newline', (n: string) => n.slice(0, -1)],
    ['bad base64', (n: string) => n.replace(/=\n$/, '!\n')],
    ['base64 padding removed', (n: string) => n.replace(/=\n$/, '\n')],
    ['hyphen instead of em dash', (n: string) => n.replace(DASH, '-')],
    ['no space after the dash', (n: string) => n.replace(`${DASH} `, DASH)],
    ['no signature after the name', (n: string) => n.replace(/ [^ ]+\n$/, '\n')],
    ['extra blank line after signatures', (n: string) => `${n}\n`],
    ['empty signature block', (n: string) => n.slice(0, n.lastIndexOf('\n\n') + 2)],
    ['carriage return', (n: string) => n.replace(/\n/g, '\r\n')],
    ['control character in text', (n: string) => `\u0001${n}`],
    ['lone surrogate', (n: string) => `\ud800${n}`],
    ['signature too short', (n: string) => n.replace(/ [^ ]+\n$/, ' AAAA\n')],
    ['name with +', (n: string) => n.replace(`${DASH} consent-ivr.example/ledger `, `${DASH} a+b `)],
  ])('When a note is malformed (%s), then opening fails as malformed', (_label, mangle) => {
    const note = signNote(cpText, a);
    const bad = mangle(note);
    expect(bad).not.toBe(note);
    expect(reasonOf(() => openNote(bad, [verifierOf(a)]))).toBe('malformed');
  });

  test('When a note is too big or has too many signatures, then it is malformed', () => {
    const note = signNote(cpText, a);
    const line = note.slice(note.lastIndexOf('\n\n') + 2);
    expect(openNote(note + line.repeat(99), [verifierOf(a)]).signedBy).toHaveLength(1);
    expect(reasonOf(() => openNote(note + line.repeat(100), [verifierOf(a)]))).toBe('malformed');
    const big = `${'x'.repeat(1024 * 1024)}\n`;
    expect(reasonOf(() => openNote(`${big}\n${line}`, [verifierOf(a)]))).toBe('malformed');
    expect(reasonOf(() => signNote(big, a))).toBe('malformed');
  });

  test('When the text to sign is unacceptable, then signing is refused', () => {
    for (const text of ['', 'no newline', 'a\n\nb\n', '\nb\n', 'a\n\n', 'tab\there\n']) expect(reasonOf(() => signNote(text, a))).toBe('malformed');
  });

  test('When the verifier list is inconsistent, then opening is refused', () => {
    const note = signNote(cpText, a);
    const v = verifierOf(a);
    expect(reasonOf(() => openNote(note, [{ ...v, keyId: '00000000' }]))).toBe('malformed');
    expect(reasonOf(() => openNote(note, [{ ...v, publicKey: v.publicKey.subarray(1) }]))).toBe('malformed');
    expect(openNote(note, [v, verifierOf(a)]).signedBy).toHaveLength(1);
  });
});

describe('checkpoints', () => {
  test('When a checkpoint is formatted and parsed, then it round-trips', () => {
    expect(cpText).toBe(`consent-ivr.example/ledger\n42\n${root.toString('base64')}\n`);
    expect(parseCheckpoint(cpText)).toEqual(checkpoint);
    const withExt: Checkpoint = { origin: 'o', size: 0, root: Buffer.alloc(32), extensions: ['ext one', '— cosig-like line'] };
    expect(parseCheckpoint(formatCheckpoint(withExt))).toEqual(withExt);
    const max: Checkpoint = { ...checkpoint, size: Number.MAX_SAFE_INTEGER };
    expect(parseCheckpoint(formatCheckpoint(max)).size).toBe(Number.MAX_SAFE_INTEGER);
  });

  test.each([
    ['leading zero', '042'],
    ['negative', '-1'],
    ['plus sign', '+1'],
    ['hex', '0x2a'],
    ['exponent', '1e3'],
    ['fraction', '4.2'],
    ['space', ' 42'],
    ['empty', ''],
    ['beyond the safe integers', '9007199254740992'],
  ])('When the size is invalid (%s), then the checkpoint is malformed', (_label, size) => {
    expect(reasonOf(() => parseCheckpoint(`origin\n${size}\n${root.toString('base64')}\n`))).toBe('malformed');
  });

  test.each([
    ['31-byte root', `origin\n1\n${Buffer.alloc(31).toString('base64')}\n`],
    ['33-byte root', `origin\n1\n${Buffer.alloc(33).toString('base64')}\n`],
    ['unpadded root', `origin\n1\n${root.toString('base64').replace(/=+$/, '')}\n`],
    ['url-safe root', `origin\n1\n${Buffer.alloc(32, 0xfb).toString('base64url')}=\n`],
    ['empty origin', `\n1\n${root.toString('base64')}\n`],
    ['missing root', 'origin\n1\n'],
    ['no trailing newline', `origin\n1\n${root.toString('base64')}`],
    ['empty extension line', `origin\n1\n${root.toString('base64')}\n\n`],
    ['empty extension line in the middle', `origin\n1\n${root.toString('base64')}\na\n\nb\n`],
    ['carriage return', `origin\r\n1\n${root.toString('base64')}\n`],
  ])('When the checkpoint text is bad (%s), then it is malformed', (_label, text) => {
    expect(reasonOf(() => parseCheckpoint(text))).toBe('malformed');
  });

  test('When a checkpoint to format is invalid, then formatting is refused', () => {
    const bad: Checkpoint[] = [
      { ...checkpoint, origin: '' },
      { ...checkpoint, origin: 'a\nb' },
      { ...checkpoint, size: -1 },
      { ...checkpoint, size: 1.5 },
      { ...checkpoint, size: Number.MAX_SAFE_INTEGER + 1 },
      { ...checkpoint, size: Number.NaN },
      { ...checkpoint, root: Buffer.alloc(31) },
      { ...checkpoint, extensions: [''] },
      { ...checkpoint, extensions: ['a\nb'] },
    ];
    for (const c of bad) expect(reasonOf(() => formatCheckpoint(c))).toBe('malformed');
  });

  test('When a checkpoint note is signed and opened, then the parsed checkpoint equals the original', () => {
    const s = generateSigner('consent-ivr.example/ledger');
    const opened = openNote(signNote(formatCheckpoint(checkpoint), s), [verifierOf(s)]);
    expect(parseCheckpoint(opened.text)).toEqual(checkpoint);
  });
});
