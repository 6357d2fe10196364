/**
 * Signed notes and log checkpoints in the C2SP formats (https://c2sp.org/signed-note,
 * https://c2sp.org/tlog-checkpoint) with Ed25519 keys, byte-compatible with Go's
 * golang.org/x/mod/sumdb/note. Pure apart from {@link generateSigner}, which draws a random seed.
 *
 * A note is its text followed by a blank line and one or more signature lines:
 *
 *     <text, ending in "\n">
 *     <empty line>
 *     — <key name> <base64(4-byte key id || 64-byte Ed25519 signature over the text)>
 *
 * Key ID = SHA-256(name || "\n" || 0x01 || public key)[0:4]. Keys are written as
 * `<name>+<key id hex>+<base64(0x01 || public key)>` (verifier) and
 * `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>` (signer).
 *
 * A checkpoint is the text `<origin>\n<tree size>\n<base64 root hash>\n[<extension line>\n]*`.
 *
 * Everything read from outside (notes, checkpoint texts, key strings) is checked strictly and rejected
 * with {@link NoteError}; base64 must be canonical standard encoding with padding.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

export class NoteError extends Error {
  constructor(
    readonly reason: 'malformed' | 'unknown-key' | 'bad-signature',
    message: string,
  ) {
    super(message);
    this.name = 'NoteError';
  }
}

export interface SignerKey {
  name: string;
  /** 8 lowercase hex digits. */
  keyId: string;
  /** 32-byte Ed25519 seed (the private key). */
  seed: Buffer;
  /** 32-byte Ed25519 public key. */
  publicKey: Buffer;
}

export interface VerifierKey {
  name: string;
  /** 8 lowercase hex digits. */
  keyId: string;
  /** 32-byte Ed25519 public key. */
  publicKey: Buffer;
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
  extensions: string[];
}

/** Largest note (or checkpoint text) accepted or produced, in UTF-8 bytes. */
export const MAX_NOTE_BYTES = 1024 * 1024;
/** Most signature lines a note may carry. */
export const MAX_SIGNATURES = 100;

const ALG_ED25519 = 0x01;
const SIG_PREFIX = '\u2014 ';
const PRIVATE_PREFIX = 'PRIVATE+KEY+';
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const KEY_ID_RE = /^[0-9a-f]{8}$/;
const HASH_BYTES = 32;

function malformed(message: string): NoteError {
  return new NoteError('malformed', message);
}

/** A short, quoted rendering of untrusted text for error messages. */
function show(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

/** Strict standard base64 (with padding, canonical trailing bits); null when `s` is not. */
function decodeBase64(s: string): Buffer | null {
  if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return null;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? bytes : null;
}

/** True when `s` has no lone surrogates (so it is exactly representable as UTF-8). */
function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/** Why `s` is not acceptable note text material (well-formed UTF-8, no control characters but "\n"), or null. */
function textProblem(s: string): string | null {
  if (!isWellFormed(s)) return 'is not valid UTF-8';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return `contains control character U+${c.toString(16).padStart(4, '0')}`;
  }
  return null;
}

/** Why `name` is not a valid key name (non-empty, no whitespace, no "+", no control characters), or null. */
function nameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'key name is empty';
  if (!isWellFormed(name)) return 'key name is not valid UTF-8';
  if (/[\s\u0085]/u.test(name)) return `key name ${show(name)} contains whitespace`;
  if (name.includes('+')) return `key name ${show(name)} contains "+"`;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return `key name ${show(name)} contains a control character`;
  }
  return null;
}

function checkName(name: unknown): asserts name is string {
  const problem = nameProblem(name);
  if (problem !== null) throw malformed(problem);
}

function isBytes(b: unknown, length: number): b is Buffer {
  return b instanceof Uint8Array && b.length === length;
}

function computeKeyId(name: string, publicKey: Buffer): string {
  return createHash('sha256')
    .update(Buffer.from(name, 'utf8'))
    .update(Buffer.from([0x0a, ALG_ED25519]))
    .update(publicKey)
    .digest()
    .subarray(0, 4)
    .toString('hex');
}

function privateKeyObject(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(publicKey: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

function publicKeyOfSeed(seed: Buffer): Buffer {
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  if (spki.length !== SPKI_ED25519_PREFIX.length + 32 || !spki.subarray(0, SPKI_ED25519_PREFIX.length).equals(SPKI_ED25519_PREFIX)) {
    throw new Error('unexpected Ed25519 SubjectPublicKeyInfo encoding');
  }
  return Buffer.from(spki.subarray(SPKI_ED25519_PREFIX.length));
}

function signerFromSeed(name: string, seed: Buffer): SignerKey {
  checkName(name);
  const s = Buffer.from(seed);
  const publicKey = publicKeyOfSeed(s);
  return { name, keyId: computeKeyId(name, publicKey), seed: s, publicKey };
}

/** Throws unless `k` is internally consistent: valid name, 32-byte seed whose public key and key ID match. */
function checkSigner(k: SignerKey): void {
  checkName(k.name);
  if (!isBytes(k.seed, 32)) throw malformed('signer seed must be 32 bytes');
  const publicKey = publicKeyOfSeed(Buffer.from(k.seed));
  if (!isBytes(k.publicKey, 32) || !publicKey.equals(Buffer.from(k.publicKey))) throw malformed(`signer ${show(k.name)}: public key does not match the seed`);
  if (k.keyId !== computeKeyId(k.name, publicKey)) throw malformed(`signer ${show(k.name)}: key ID does not match the key`);
}

/** Throws unless `k` is internally consistent: valid name, 32-byte public key, matching key ID. */
function checkVerifier(k: VerifierKey): void {
  checkName(k.name);
  if (!isBytes(k.publicKey, 32)) throw malformed(`verifier ${show(k.name)}: public key must be 32 bytes`);
  if (typeof k.keyId !== 'string' || !KEY_ID_RE.test(k.keyId)) throw malformed(`verifier ${show(k.name)}: key ID must be 8 lowercase hex digits`);
  if (k.keyId !== computeKeyId(k.name, Buffer.from(k.publicKey))) throw malformed(`verifier ${show(k.name)}: key ID does not match the key`);
}

/** Splits `<name>+<key id>+<base64(0x01 || 32 bytes)>` and checks the pieces; returns the 32 key bytes. */
function parseKeyParts(s: string, what: string): { name: string; keyId: string; key: Buffer } {
  const p1 = s.indexOf('+');
  const p2 = p1 < 0 ? -1 : s.indexOf('+', p1 + 1);
  if (p2 < 0) throw malformed(`${what}: expected <name>+<key id>+<key>`);
  const name = s.slice(0, p1);
  const keyId = s.slice(p1 + 1, p2);
  const key64 = s.slice(p2 + 1);
  checkName(name);
  if (!/^[0-9a-fA-F]{8}$/.test(keyId)) throw malformed(`${what}: key ID ${show(keyId)} is not 8 hex digits`);
  const raw = decodeBase64(key64);
  if (raw === null) throw malformed(`${what}: key is not valid base64`);
  if (raw.length === 0 || raw[0] !== ALG_ED25519) throw malformed(`${what}: unsupported key algorithm (only Ed25519, 0x01)`);
  if (raw.length !== 33) throw malformed(`${what}: Ed25519 key must be 32 bytes`);
  return { name, keyId: keyId.toLowerCase(), key: Buffer.from(raw.subarray(1)) };
}

/** A new signer key with a random seed. */
export function generateSigner(name: string): SignerKey {
  checkName(name);
  return signerFromSeed(name, randomBytes(32));
}

export function formatSigner(k: SignerKey): string {
  checkSigner(k);
  return `${PRIVATE_PREFIX}${k.name}+${k.keyId}+${Buffer.concat([Buffer.from([ALG_ED25519]), k.seed]).toString('base64')}`;
}

export function parseSigner(text: string): SignerKey {
  if (typeof text !== 'string') throw malformed('signer key must be a string');
  const s = text.trim();
  if (!s.startsWith(PRIVATE_PREFIX)) throw malformed('signer key must start with PRIVATE+KEY+');
  const { name, keyId, key } = parseKeyParts(s.slice(PRIVATE_PREFIX.length), 'signer key');
  const signer = signerFromSeed(name, key);
  if (signer.keyId !== keyId) throw malformed(`signer key ${show(name)}: key ID ${keyId} does not match the key (expected ${signer.keyId})`);
  return signer;
}

export function verifierOf(k: SignerKey): VerifierKey {
  checkSigner(k);
  return { name: k.name, keyId: k.keyId, publicKey: Buffer.from(k.publicKey) };
}

export function formatVerifier(k: VerifierKey): string {
  checkVerifier(k);
  return `${k.name}+${k.keyId}+${Buffer.concat([Buffer.from([ALG_ED25519]), k.publicKey]).toString('base64')}`;
}

export function parseVerifier(text: string): VerifierKey {
  if (typeof text !== 'string') throw malformed('verifier key must be a string');
  const { name, keyId, key } = parseKeyParts(text.trim(), 'verifier key');
  const expected = computeKeyId(name, key);
  if (expected !== keyId) throw malformed(`verifier key ${show(name)}: key ID ${keyId} does not match the key (expected ${expected})`);
  return { name, keyId, publicKey: key };
}

/** SHA-256 of the verifier key text, hex: what a report or bundle names the key by. */
export function fingerprint(k: VerifierKey): string {
  return createHash('sha256').update(formatVerifier(k), 'utf8').digest('hex');
}

/** Signs `text` (non-empty, ending in "\n", no blank lines, no control characters but "\n"); returns the whole note. */
export function signNote(text: string, k: SignerKey): string {
  if (typeof text !== 'string' || text.length === 0) throw malformed('note text is empty');
  if (!text.endsWith('\n')) throw malformed('note text must end with a newline');
  if (text.startsWith('\n') || text.includes('\n\n')) throw malformed('note text must not contain blank lines');
  const problem = textProblem(text);
  if (problem !== null) throw malformed(`note text ${problem}`);
  checkSigner(k);
  const message = Buffer.from(text, 'utf8');
  const signature = sign(null, message, privateKeyObject(Buffer.from(k.seed)));
  const blob = Buffer.concat([Buffer.from(k.keyId, 'hex'), signature]).toString('base64');
  const note = `${text}\n${SIG_PREFIX}${k.name} ${blob}\n`;
  if (Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES) throw malformed(`note would exceed ${MAX_NOTE_BYTES} bytes`);
  return note;
}

interface SignatureLine {
  name: string;
  keyId: string;
  signature: Buffer;
}

/** Splits a note into its text and parsed signature lines; throws NoteError('malformed') on any structural fault. */
function splitNote(note: string): { text: string; lines: SignatureLine[] } {
  if (typeof note !== 'string') throw malformed('note must be a string');
  // UTF-8 never takes fewer bytes than UTF-16 code units, so the cheap length check comes first.
  if (note.length > MAX_NOTE_BYTES || Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES) throw malformed(`note exceeds ${MAX_NOTE_BYTES} bytes`);
  const problem = textProblem(note);
  if (problem !== null) throw malformed(`note ${problem}`);
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw malformed('note has no blank line before its signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block.length === 0) throw malformed('note has no signatures');
  if (!block.endsWith('\n')) throw malformed('note must end with a newline');
  const rawLines = block.slice(0, -1).split('\n');
  if (rawLines.length > MAX_SIGNATURES) throw malformed(`note has more than ${MAX_SIGNATURES} signatures`);
  const lines = rawLines.map((line, i): SignatureLine => {
    const where = `signature line ${i + 1}`;
    if (!line.startsWith(SIG_PREFIX)) throw malformed(`${where} does not start with "\u2014 "`);
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) throw malformed(`${where} has no signature`);
    const name = rest.slice(0, space);
    const problem = nameProblem(name);
    if (problem !== null) throw malformed(`${where}: ${problem}`);
    const blob = decodeBase64(rest.slice(space + 1));
    if (blob === null) throw malformed(`${where}: signature is not valid base64`);
    if (blob.length < 5) throw malformed(`${where}: signature is too short`);
    return { name, keyId: blob.subarray(0, 4).toString('hex'), signature: Buffer.from(blob.subarray(4)) };
  });
  return { text, lines };
}

/**
 * Splits and checks a note against the given keys: every signature line by a known key (same name AND key
 * id) must verify; at least one must be by a known key. Signature lines by unknown keys are reported, not
 * errors.
 *
 * Throws NoteError('malformed') for bad structure (or an invalid or ambiguous `keys` list),
 * NoteError('bad-signature') if a known key's signature fails, NoteError('unknown-key') if no signature is
 * by a known key (the message names the signers found).
 */
export function openNote(note: string, keys: readonly VerifierKey[]): { text: string; signedBy: VerifierKey[]; unknown: { name: string; keyId: string }[] } {
  const known = new Map<string, { key: VerifierKey; object: KeyObject }>();
  for (const k of keys) {
    checkVerifier(k);
    const id = `${k.name}+${k.keyId}`;
    const prior = known.get(id);
    if (prior !== undefined) {
      if (!Buffer.from(prior.key.publicKey).equals(Buffer.from(k.publicKey))) throw malformed(`verifier keys are ambiguous: two different keys are named ${show(id)}`);
      continue;
    }
    known.set(id, { key: k, object: publicKeyObject(Buffer.from(k.publicKey)) });
  }

  const { text, lines } = splitNote(note);
  const message = Buffer.from(text, 'utf8');
  const signedBy: VerifierKey[] = [];
  const unknown: { name: string; keyId: string }[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const id = `${line.name}+${line.keyId}`;
    const entry = known.get(id);
    if (entry === undefined) {
      if (!seen.has(id)) unknown.push({ name: line.name, keyId: line.keyId });
      seen.add(id);
      continue;
    }
    if (line.signature.length !== 64 || !verify(null, message, entry.object, line.signature)) {
      throw new NoteError('bad-signature', `signature by ${show(id)} does not verify`);
    }
    if (!seen.has(id)) signedBy.push(entry.key);
    seen.add(id);
  }
  if (signedBy.length === 0) {
    const found = unknown.map((u) => show(`${u.name}+${u.keyId}`)).join(', ');
    throw new NoteError('unknown-key', `note is not signed by any known key; signed by ${found}`);
  }
  return { text, signedBy, unknown };
}

/** Why `s` is not a valid single checkpoint line, or null. */
function lineProblem(s: unknown): string | null {
  if (typeof s !== 'string' || s.length === 0) return 'is empty';
  if (s.includes('\n')) return 'contains a newline';
  return textProblem(s);
}

/** The checkpoint text (ends with "\n"). */
export function formatCheckpoint(c: Checkpoint): string {
  const originProblem = lineProblem(c.origin);
  if (originProblem !== null) throw malformed(`checkpoint origin ${originProblem}`);
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw malformed(`checkpoint size ${String(c.size)} is not a non-negative safe integer`);
  if (!isBytes(c.root, HASH_BYTES)) throw malformed(`checkpoint root hash must be ${HASH_BYTES} bytes`);
  c.extensions.forEach((e, i) => {
    const problem = lineProblem(e);
    if (problem !== null) throw malformed(`checkpoint extension line ${i + 1} ${problem}`);
  });
  const text = [c.origin, String(c.size), Buffer.from(c.root).toString('base64'), ...c.extensions].map((l) => `${l}\n`).join('');
  if (Buffer.byteLength(text, 'utf8') > MAX_NOTE_BYTES) throw malformed(`checkpoint exceeds ${MAX_NOTE_BYTES} bytes`);
  return text;
}

export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== 'string') throw malformed('checkpoint must be a string');
  if (text.length > MAX_NOTE_BYTES || Buffer.byteLength(text, 'utf8') > MAX_NOTE_BYTES) throw malformed(`checkpoint exceeds ${MAX_NOTE_BYTES} bytes`);
  if (!text.endsWith('\n')) throw malformed('checkpoint must end with a newline');
  const problem = textProblem(text);
  if (problem !== null) throw malformed(`checkpoint ${problem}`);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed(`checkpoint has ${lines.length} line(s); expected origin, size and root hash`);
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw malformed('checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw malformed(`checkpoint size ${show(sizeText)} is not a decimal number without leading zeros`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw malformed(`checkpoint size ${show(sizeText)} is too large`);
  const root = decodeBase64(rootText);
  if (root === null) throw malformed('checkpoint root hash is not valid base64');
  if (root.length !== HASH_BYTES) throw malformed(`checkpoint root hash is ${root.length} bytes; expected ${HASH_BYTES}`);
  extensions.forEach((e, i) => {
    if (e.length === 0) throw malformed(`checkpoint extension line ${i + 1} is empty`);
  });
  return { origin, size, root, extensions };
}
