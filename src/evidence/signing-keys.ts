/**
 * Checkpoint key files: the signing key (private, 0600, never in Redis) and public keys (verifier texts,
 * shareable) — written by `consent-ivr keys generate`, read by the service, verify and the evidence check.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { formatSigner, formatVerifier, generateSigner, parseSigner, parseVerifier, verifierOf, type SignerKey, type VerifierKey } from './checkpoint';

export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

/** Public keys from files (one verifier text per non-empty line; '#' starts a comment line). */
export function readVerifierFiles(files: readonly string[]): VerifierKey[] {
  const out: VerifierKey[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new KeyFileError(`${file}: cannot read public key file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    if (lines.length === 0) throw new KeyFileError(`${file}: no public key in it`);
    for (const line of lines) {
      try {
        out.push(line.startsWith('PRIVATE+KEY+') ? verifierOf(parseSigner(line)) : parseVerifier(line));
      } catch (e) {
        throw new KeyFileError(`${file}: not a consent-ivr public key (${(e as Error).message})`);
      }
    }
  }
  return out;
}

/** Writes a file that must not exist yet, with `mode`, and syncs it. */
function writeNew(path: string, text: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KeyFileError(code === 'EEXIST' ? `${path} exists already; a key is never overwritten (move it away first)` : `${path}: cannot create (${code ?? 'error'})`);
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Generates a key pair: the private key file (0600) and its public key file (0644). */
export function generateKeyFiles(name: string, privatePath: string, publicPath: string): { signer: SignerKey; verifier: VerifierKey } {
  if (existsSync(privatePath)) throw new KeyFileError(`${privatePath} exists already; a key is never overwritten (move it away first)`);
  let signer: SignerKey;
  try {
    signer = generateSigner(name);
  } catch (e) {
    throw new KeyFileError(`--name: ${(e as Error).message}`);
  }
  const verifier = verifierOf(signer);
  writeNew(privatePath, `${formatSigner(signer)}\n`, 0o600);
  writeNew(publicPath, `${formatVerifier(verifier)}\n`, 0o644);
  return { signer, verifier };
}
