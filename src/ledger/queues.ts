/**
 * The ledger's work queues as a store keeps them, read entry by entry: the recording deletions queued
 * per server, the recordings waiting for their seal, the erasure requests. Anyone who can write to the
 * store can put anything there, so each entry's shape is checked here (not only that it parses) and an
 * entry that is not one the service writes is set apart — never returned as work, never in the way of
 * the entries behind it — for its reader to report (logs, metrics, `ledger pending`). Pure.
 */
import { PROFILE_NAME, SERVER_ID } from '../domain/vocabulary';
import type { DeletionConfirmation, DestroyedKey, PendingDeletion, RecordingKey, SealReason, UnsealedRecording } from './types';

/** The queues of the ledger's store that are read as work (and the legal holds, read as what work must spare: holds.ts). */
export type LedgerQueueName = 'deletions' | 'unsealed' | 'erasures' | 'holds';

/** A queue entry that is not one the service writes: left where it is, reported by its reader. */
export interface MalformedEntry {
  queue: LedgerQueueName;
  /** The store's key of the queue, and the entry's field in it: as found, to be escaped before printing. */
  key: string;
  field: string;
  /** What is wrong with it (our words: safe to print). */
  problem: string;
}

/** A queue read entry by entry: its valid entries, and those set apart. */
export interface QueueRead<T> {
  items: T[];
  malformed: MalformedEntry[];
}

const MAX_ID = 256;
const MAX_PATH = 4096;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const DELETION_REASONS = ['erase', 'purge'] as const;
const SEAL_REASONS: readonly SealReason[] = ['call-end', 'withdrawal', 'stop'];

/** Checks one entry (its field and value): the entry as the service wrote it, or what is wrong with it. */
type Check<T> = (field: string, value: unknown) => { ok: T } | { problem: string };

const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max && !CONTROL.test(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function object(value: unknown): Record<string, unknown> | string {
  if (typeof value !== 'string') return 'not text';
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return 'not JSON';
  }
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : 'not a JSON object';
}

/** The uniqueId of an entry keyed by it: the same as its field, bounded, printable. */
function keyedId(field: string, v: Record<string, unknown>): string | null {
  if (!isText(v.uniqueId, MAX_ID)) return 'uniqueId is not a call id';
  return v.uniqueId === field ? null : 'uniqueId differs from its field';
}

/** A recording deletion as `queueDeletion` writes it (field: the uniqueId). */
export const checkPendingDeletion: Check<PendingDeletion> = (field, value) => {
  const v = object(value);
  if (typeof v === 'string') return { problem: v };
  const problem =
    keyedId(field, v) ??
    (!isText(v.path, MAX_PATH) || !v.path.startsWith('/') ? 'path is not an absolute path' : null) ??
    (!(DELETION_REASONS as readonly unknown[]).includes(v.reason) ? 'reason is not erase or purge' : null) ??
    (!isTime(v.requestedAt) ? 'requestedAt is not a time' : null);
  if (problem) return { problem };
  return { ok: { uniqueId: field, path: v.path as string, reason: v.reason as PendingDeletion['reason'], requestedAt: v.requestedAt as number } };
};

/** A recording waiting for its seal as `markUnsealed` writes it (field: the uniqueId). */
export const checkUnsealed: Check<UnsealedRecording> = (field, value) => {
  const v = object(value);
  if (typeof v === 'string') return { problem: v };
  const problem =
    keyedId(field, v) ??
    (typeof v.log !== 'string' || (v.log !== '' && !SERVER_ID.test(v.log)) ? 'log is not a log id' : null) ??
    (!isText(v.path, MAX_PATH) || !v.path.startsWith('/') ? 'path is not an absolute path' : null) ??
    (!isTime(v.sinceMs) ? 'sinceMs is not a time' : null) ??
    (v.stopped !== undefined && !SEAL_REASONS.includes(v.stopped as SealReason) ? 'stopped is not a reason a recording closes for' : null) ??
    (v.profile !== undefined && (typeof v.profile !== 'string' || !PROFILE_NAME.test(v.profile)) ? 'profile is not a profile name' : null);
  if (problem) return { problem };
  const u: UnsealedRecording = { uniqueId: field, log: v.log as string, path: v.path as string, sinceMs: v.sinceMs as number };
  if (v.stopped !== undefined) u.stopped = v.stopped as SealReason;
  if (v.profile !== undefined) u.profile = v.profile as string;
  return { ok: u };
};

/** An erasure request as `markErased` writes it: caller pseudonym → time (ms, decimal). */
export const checkErasureMark: Check<[string, number]> = (field, value) => {
  if (!isText(field, MAX_ID)) return { problem: 'the pseudonym is not printable text' };
  if (typeof value !== 'string' || !/^[0-9]{1,16}$/.test(value)) return { problem: 'not a time in ms' };
  return { ok: [field, Number(value)] };
};

/**
 * Reads a hash as Redis's HGETALL gives it (field, value, field, value…) entry by entry: the valid
 * entries in the order found, the others set apart. A trailing field without a value is one of those.
 */
export function readEntries<T>(queue: LedgerQueueName, key: string, flat: readonly unknown[], check: Check<T>): QueueRead<T> {
  const out: QueueRead<T> = { items: [], malformed: [] };
  for (let i = 0; i < flat.length; i += 2) {
    const field = String(flat[i]);
    const r = i + 1 < flat.length ? check(field, String(flat[i + 1])) : { problem: 'no value' };
    if ('ok' in r) out.items.push(r.ok);
    else out.malformed.push({ queue, key, field, problem: r.problem });
  }
  return out;
}

/**
 * A deletion's confirmation as `confirmDeletion` writes it, or null when it is not one. Read as "not
 * confirmed": the next erase or purge queues the deletion again, and the server's new confirmation
 * (the file is gone: "missing") replaces the bad one.
 */
export function parseConfirmation(value: unknown): DeletionConfirmation | null {
  const v = object(value);
  if (typeof v === 'string' || typeof v.server !== 'string' || !SERVER_ID.test(v.server) || (v.result !== 'deleted' && v.result !== 'missing') || !isTime(v.atMs)) return null;
  return { server: v.server, result: v.result, atMs: v.atMs };
}

const HEX64 = /^[0-9a-f]{64}$/;
const KEY_ID = /^age-[0-9a-f]{16}$/;
const RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;
const ARMOR = /^-----BEGIN AGE ENCRYPTED FILE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END AGE ENCRYPTED FILE-----\r?\n?$/;
const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * A recording's key as the store holds it (field: the uniqueId): the key `putRecordingKey` wrote, or
 * the tombstone of its destruction. A value of neither shape is a problem: the caller treats the key
 * as unusable, never as absent.
 */
export function checkRecordingKey(field: string, value: unknown): { ok: RecordingKey | DestroyedKey } | { problem: string } {
  const v = object(value);
  if (typeof v === 'string') return { problem: v };
  const id = keyedId(field, v);
  if (id) return { problem: id };
  if (v.destroyedAtMs !== undefined) return isTime(v.destroyedAtMs) ? { ok: { uniqueId: field, destroyedAtMs: v.destroyedAtMs } } : { problem: 'destroyedAtMs is not a time' };
  const w = v.written as Record<string, unknown> | undefined;
  const problem =
    (typeof v.keyId !== 'string' || !KEY_ID.test(v.keyId) ? 'keyId is not a key id' : null) ??
    (typeof v.recipient !== 'string' || !RECIPIENT.test(v.recipient) ? 'recipient is not an age public key' : null) ??
    (typeof v.wrapped !== 'string' || v.wrapped.length > 4096 || !ARMOR.test(v.wrapped) ? 'wrapped is not an armored age file' : null) ??
    (typeof v.server !== 'string' || !SERVER_ID.test(v.server) ? 'server is not a server id' : null) ??
    (!isText(v.file, MAX_PATH) || v.file.startsWith('/') || v.file.split('/').includes('..') ? 'file is not a path inside recording.dir' : null) ??
    (!isTime(v.atMs) ? 'atMs is not a time' : null) ??
    (w !== undefined &&
    (typeof w !== 'object' || w === null || typeof w.sha256 !== 'string' || !HEX64.test(w.sha256) || typeof w.plaintextSha256 !== 'string' || !HEX64.test(w.plaintextSha256) || !isSize(w.size) || !isSize(w.plaintextSize) || !isSize(w.durationMs))
      ? 'written is not what an encryption wrote'
      : null);
  if (problem) return { problem };
  const k: RecordingKey = { uniqueId: field, keyId: v.keyId as string, recipient: v.recipient as string, wrapped: v.wrapped as string, server: v.server as string, file: v.file as string, atMs: v.atMs as number };
  if (w) k.written = { sha256: w.sha256 as string, size: w.size as number, plaintextSha256: w.plaintextSha256 as string, plaintextSize: w.plaintextSize as number, durationMs: w.durationMs as number };
  return { ok: k };
}
