/** Validation, canonical serialisation and erasure of consent records. Pure. The fields: record-fields.ts. */
import { createHash } from 'node:crypto';
import { withoutFile, type ConsentRecord } from '../ports/ledger';
import { fromStored, STORED_FIELDS, toStored } from './record-fields';
import type { StoredRecord } from './types';

export { InvalidRecordError, RECORD_FIELDS, fromStored, toStored, type StoredJson, type StoredValue } from './record-fields';

/**
 * Checks a record before it is stored. Strict on purpose: a wiring mistake (say, a raw number where the
 * pseudonym belongs) must fail loudly rather than reach the ledger.
 */
export function validateRecord(record: ConsentRecord | StoredRecord, opts: { erased?: boolean } = {}): void {
  const stored = toStored(record);
  for (const f of STORED_FIELDS) f.check(stored[f.name], opts);
}

/** The stored JSON of a record: fixed field order, so equal records give equal bytes and digests. */
export function serialiseRecord(record: ConsentRecord | StoredRecord): string {
  return JSON.stringify(toStored(record));
}

/** The record of a stored JSON (fields it lacks read as null). Throws on JSON that is not a record's. */
export function parseStoredRecord(json: string): StoredRecord {
  const v = JSON.parse(json) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SyntaxError('a stored record is a JSON object');
  return fromStored(v as Record<string, unknown>);
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}


/** The record with its personal fields removed: the pseudonym and the recording's file. */
export function eraseRecord(record: StoredRecord, at: Date): StoredRecord {
  return { ...record, callerPseudonym: '', recording: withoutFile(record.recording), erasedAt: at.toISOString() };
}
