/**
 * Legal holds: an administrator keeps a call, or every call of one caller, out of reach of the purge
 * and of erasure until the hold is released (`consent-ivr ledger hold|release|holds`, retention/holds.ts).
 * The holds in force are kept in a hash all logs share, one entry per hold; placing and releasing one
 * are chain entries (`hold`, `release`), as is an erasure that overrides holds (`hold-override`), so
 * that `ledger verify` can tell a hold removed from the hash behind the ledger's back. Pure, but for
 * the random hold id and the digest that binds a caller hold's entry to its caller.
 *
 * No caller number is ever kept: a caller hold names the caller's pseudonym in the hash (as the
 * caller index does), and its chain entry only a digest of that pseudonym salted with the hold id.
 */
import { createHash, randomBytes } from 'node:crypto';
import { SERVER_ID } from '../domain/vocabulary';
import { PSEUDONYM_PATTERN } from './pseudonym';
import { isIsoTime } from './record-fields';
import type { QueueRead } from './queues';

export type HoldScope = 'call' | 'caller';

/** A hold in force, as the holds hash keeps it (field: its id). */
export interface Hold {
  /** `h-` and 10 base32 characters. */
  id: string;
  scope: HoldScope;
  /** The call held (scope call); null for a caller hold. */
  uniqueId: string | null;
  /** The caller's pseudonym (scope caller); null for a call hold. Never printed. */
  caller: string | null;
  reason: string;
  /** When it was placed (ISO). */
  at: string;
  /** The log and seq of its entry; seq 0 while it is being placed (its entry is not written yet). */
  log: string;
  seq: number;
}

/** Where a store keeps the holds in force. */
export interface HoldStore {
  /** Adds or replaces a hold (by id). */
  putHold(hold: Hold): Promise<void>;
  /** The holds in force, entry by entry: the valid ones by time placed, and the entries set apart as malformed. */
  readHolds(): Promise<QueueRead<Hold>>;
  removeHold(id: string): Promise<void>;
}

/**
 * The body of a `hold` or `release` entry. A call hold's entry is an event of the call (in its log,
 * indexed under its record: it is in the call's evidence bundle). A caller hold has its own entry in
 * the log of the host that placed it (`subject`, `records`, no `uniqueId`), and a note in the chain of
 * each record of the caller it found (`uniqueId`, no `subject`).
 */
export interface HoldEntryBody {
  type: 'hold' | 'release';
  at: string;
  hold: string;
  scope: HoldScope;
  uniqueId?: string;
  /** A caller hold's own hold entry: holdSubject(hold id, pseudonym). */
  subject?: string;
  /** A caller hold's own entry: the records of the caller it was noted in. */
  records?: number;
  reason: string;
}

/** An erasure that went ahead despite holds: which, and why. */
export interface HoldOverrideBody {
  type: 'hold-override';
  at: string;
  holds: string[];
  reason: string;
}

export const HOLD_ID = /^h-[a-z2-7]{10}$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
export const MAX_HOLD_REASON = 200;
// C0 and C1 controls, DEL, line and paragraph separators, and the bidirectional embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** A new hold id: `h-` and 10 random base32 characters (50 bits). */
export function newHoldId(): string {
  return `h-${[...randomBytes(10)].map((b) => BASE32[b & 31]).join('')}`;
}

/** The reason as kept (trimmed), or what is wrong with it. */
export function checkHoldReason(text: string | undefined): { ok: string } | { problem: string } {
  const reason = (text ?? '').trim();
  if (reason === '') return { problem: 'a reason is required' };
  if ([...reason].length > MAX_HOLD_REASON) return { problem: `at most ${MAX_HOLD_REASON} characters` };
  if (CONTROL.test(reason)) return { problem: 'one line, without control or text-direction characters' };
  return { ok: reason };
}

/** What binds a caller hold's entry to its caller without naming them: SHA-256 of the hold id and the pseudonym. */
export function holdSubject(id: string, pseudonym: string): string {
  return createHash('sha256').update(`consent-ivr/hold/v1\n${id}\n${pseudonym}`, 'utf8').digest('hex');
}

/** The hold or release entry a body is, or null (another entry, or not one the ledger writes). */
export function holdEntryOf(body: string): HoldEntryBody | null {
  let b: Record<string, unknown>;
  try {
    b = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (b === null || typeof b !== 'object') return null;
  if ((b.type !== 'hold' && b.type !== 'release') || typeof b.hold !== 'string' || (b.scope !== 'call' && b.scope !== 'caller')) return null;
  if (typeof b.at !== 'string' || typeof b.reason !== 'string') return null;
  return b as unknown as HoldEntryBody;
}

/** Whether an entry is the hold's own (the one the hash names), not a caller hold's note in a record's chain. */
export function isOwnEntry(b: HoldEntryBody): boolean {
  return b.scope === 'call' || b.uniqueId === undefined;
}

const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max && !CONTROL.test(v);

/** One entry of the holds hash as `putHold` writes it (field: the hold id), or what is wrong with it. */
export function checkHold(field: string, value: unknown): { ok: Hold } | { problem: string } {
  if (typeof value !== 'string') return { problem: 'not text' };
  let v: Record<string, unknown>;
  try {
    const parsed = JSON.parse(value) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { problem: 'not a JSON object' };
    v = parsed as Record<string, unknown>;
  } catch {
    return { problem: 'not JSON' };
  }
  const reason = typeof v.reason === 'string' ? checkHoldReason(v.reason) : { problem: '' };
  const problem =
    (!HOLD_ID.test(field) ? 'the field is not a hold id' : null) ??
    (v.id !== field ? 'id differs from its field' : null) ??
    (v.scope !== 'call' && v.scope !== 'caller' ? 'scope is not call or caller' : null) ??
    (v.scope === 'call' && (!isText(v.uniqueId, 256) || v.caller !== null) ? 'a call hold names a call id and no caller' : null) ??
    (v.scope === 'caller' && (typeof v.caller !== 'string' || !PSEUDONYM_PATTERN.test(v.caller) || v.uniqueId !== null) ? 'a caller hold names a pseudonym and no call' : null) ??
    ('problem' in reason || reason.ok !== v.reason ? 'reason is not a hold reason' : null) ??
    (typeof v.at !== 'string' || !isIsoTime(v.at) ? 'at is not a time' : null) ??
    (typeof v.log !== 'string' || (v.log !== '' && !SERVER_ID.test(v.log)) ? 'log is not a log id' : null) ??
    (typeof v.seq !== 'number' || !Number.isSafeInteger(v.seq) || v.seq < 0 ? 'seq is not an entry number' : null);
  if (problem) return { problem };
  return { ok: { id: field, scope: v.scope as HoldScope, uniqueId: v.uniqueId as string | null, caller: v.caller as string | null, reason: v.reason as string, at: v.at as string, log: v.log as string, seq: v.seq as number } };
}

/** The stored JSON of a hold (fixed field order). */
export function serialiseHold(h: Hold): string {
  return JSON.stringify({ id: h.id, scope: h.scope, uniqueId: h.uniqueId, caller: h.caller, reason: h.reason, at: h.at, log: h.log, seq: h.seq });
}

/** Holds by the time they were placed, then id. */
export function byPlacement(a: Hold, b: Hold): number {
  return Date.parse(a.at) - Date.parse(b.at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
