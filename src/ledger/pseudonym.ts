/**
 * Caller pseudonyms: HMAC-SHA256 of the normalised number under a secret key. The raw number is never
 * stored or logged; the same caller gets the same pseudonym whatever format the trunk delivers.
 */
import { createHmac } from 'node:crypto';

/** What every caller without a usable number normalises to (so they share one pseudonym). */
export const ANONYMOUS = 'anonymous';

/** Caller ID values Asterisk and trunks use when the number is withheld or unknown. */
const WITHHELD = new Set(['', 'anonymous', 'unknown', 'unavailable', 'restricted', 'private', 'withheld', 'unknown caller']);

/**
 * Normalises a caller number:
 * - spaces, dashes, dots and parentheses are removed;
 * - an international `00` prefix becomes `+`;
 * - a Moroccan national number `0XXXXXXXXX` becomes `+212XXXXXXXXX`, and so does `212XXXXXXXXX`
 *   (trunks often drop the `+`);
 * - empty, withheld or digit-less values become {@link ANONYMOUS}.
 */
export function normaliseNumber(raw: string): string {
  const trimmed = raw.trim();
  if (WITHHELD.has(trimmed.toLowerCase())) return ANONYMOUS;
  let n = trimmed.replace(/[\s\-.()]/g, '');
  if (!/[0-9]/.test(n)) return ANONYMOUS;
  if (n.startsWith('00')) n = `+${n.slice(2)}`;
  else if (/^0[0-9]{9}$/.test(n)) n = `+212${n.slice(1)}`;
  else if (/^212[0-9]{9}$/.test(n)) n = `+${n}`;
  return n;
}

export function isAnonymous(raw: string): boolean {
  return normaliseNumber(raw) === ANONYMOUS;
}

/** Shortest pseudonym key accepted (the app's createLedger refuses to start with a shorter one). */
export const MIN_KEY_LENGTH = 16;

/** HMAC-SHA256 (hex) of the normalised number under `key`. */
export function pseudonymise(number: string, key: string): string {
  if (key.length < MIN_KEY_LENGTH) throw new Error(`pseudonym key is missing or shorter than ${MIN_KEY_LENGTH} characters`);
  return createHmac('sha256', key).update(normaliseNumber(number), 'utf8').digest('hex');
}

export const PSEUDONYM_PATTERN = /^[0-9a-f]{64}$/;
