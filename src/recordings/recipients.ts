/**
 * The controllers' keys: each campaign profile's age recipients file (recording.encryption.recipientsFile,
 * one `age1…` public key per line, as age-keygen prints it; `#` comments and blank lines allowed), and
 * its key id, which names that set of recipients in every seal and wrapped key made with it. A new file
 * (a rotation) is a new key id: new recordings take it, the old ones keep theirs.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AGE_RECIPIENT } from '../ports/cipher';

export interface Recipients {
  /** "age-" and 16 hex digits of SHA-256 over the sorted recipients. */
  keyId: string;
  recipients: readonly string[];
  file: string;
}

export class RecipientsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecipientsError';
  }
}

/** Most recipients one file may name (the DPO, a sealed backup key, a few more). */
export const MAX_RECIPIENTS = 20;

export function keyIdOf(recipients: readonly string[]): string {
  const sorted = [...new Set(recipients)].sort();
  return `age-${createHash('sha256').update(sorted.join('\n')).digest('hex').slice(0, 16)}`;
}

/** Parses a recipients file's text; `file` names it in the errors. */
export function parseRecipients(text: string, file: string): Recipients {
  const recipients: string[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (AGE_RECIPIENT.test(line)) {
      if (!recipients.includes(line)) recipients.push(line);
    } else if (line.startsWith('AGE-SECRET-KEY-')) {
      problems.push(`line ${i + 1} is a private key: this file takes public keys (age1…) only; keep the private key offline and remove it from this server`);
    } else {
      problems.push(`line ${i + 1} is not an age public key (age1 followed by 58 letters and digits, as age-keygen prints it)`);
    }
  });
  if (problems.length > 0) throw new RecipientsError(`${file}: ${problems.join('; ')}`);
  if (recipients.length === 0) throw new RecipientsError(`${file}: no recipient: one age public key (age1…) per line`);
  if (recipients.length > MAX_RECIPIENTS) throw new RecipientsError(`${file}: ${recipients.length} recipients; at most ${MAX_RECIPIENTS}`);
  return { keyId: keyIdOf(recipients), recipients, file };
}

export function readRecipients(file: string): Recipients {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RecipientsError(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseRecipients(text, file);
}
