/** Validation, canonical serialisation and erasure of consent records. Pure. */
import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { LANGUAGES, OUTCOMES, SERVER_ID } from '../domain/vocabulary';
import type { ConsentRecord } from '../ports/ledger';
import { PSEUDONYM_PATTERN } from './pseudonym';
import type { StoredRecord } from './types';

/** Field order of the stored JSON and of the CSV export. */
export const RECORD_FIELDS = [
  'uniqueId',
  'linkedId',
  'direction',
  'callerPseudonym',
  'calledNumber',
  'outcome',
  'digit',
  'language',
  'attempts',
  'enteredAt',
  'noticeStartedAt',
  'decidedAt',
  'recordingStartedAt',
  'recordingPath',
  'recordingServer',
  'noticeVersion',
  'withdrawnAt',
  'withdrawnBy',
  'withdrawalRecording',
  'pauses',
  'fullNotice',
  'erasedAt',
] as const satisfies readonly (keyof StoredRecord)[];

const TIME_FIELDS = ['enteredAt', 'noticeStartedAt', 'decidedAt', 'recordingStartedAt', 'withdrawnAt', 'erasedAt'] as const;
/** Fields added after the first records were stored: a record written before them reads them as null. */
const LATER_FIELDS = new Set<string>(['withdrawnAt', 'erasedAt']);
export const DIRECTIONS = ['inbound', 'outbound'] as const;
const WITHDRAWN_BY = ['caller', 'agent'] as const;
const WITHDRAWAL_RECORDING = ['deleted', 'kept', 'none'] as const;

export class InvalidRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRecordError';
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function text(r: Record<string, unknown>, field: string, max: number, nullable: boolean): void {
  const v = r[field];
  if (v === null && nullable) return;
  if (typeof v !== 'string') throw new InvalidRecordError(`${field}: must be a string${nullable ? ' or null' : ''}`);
  if (v.length > max) throw new InvalidRecordError(`${field}: longer than ${max} characters`);
  if (CONTROL.test(v)) throw new InvalidRecordError(`${field}: contains control characters`);
}

/** An optional field that holds one of a few words, or null. */
function oneOf(r: Record<string, unknown>, field: string, allowed: readonly string[]): void {
  const v = r[field];
  if (v === null || v === undefined) return;
  if (typeof v !== 'string' || !allowed.includes(v)) throw new InvalidRecordError(`${field}: must be one of ${allowed.join(', ')} or null`);
}

function isIsoTime(v: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(v) && Number.isFinite(Date.parse(v));
}

/**
 * Checks a record before it is stored. Strict on purpose: a wiring mistake (say, a raw number where the
 * pseudonym belongs) must fail loudly rather than reach the ledger.
 */
export function validateRecord(record: ConsentRecord | StoredRecord, opts: { erased?: boolean } = {}): void {
  const r = record as unknown as Record<string, unknown>;
  text(r, 'uniqueId', 256, false);
  if (record.uniqueId === '') throw new InvalidRecordError('uniqueId: must not be empty');
  text(r, 'linkedId', 256, false);
  text(r, 'calledNumber', 64, false);
  text(r, 'noticeVersion', 128, false);
  text(r, 'digit', 8, true);
  text(r, 'recordingPath', 4096, true);
  const pseudonymOk = PSEUDONYM_PATTERN.test(String(record.callerPseudonym)) || (opts.erased === true && record.callerPseudonym === '');
  if (!pseudonymOk) throw new InvalidRecordError('callerPseudonym: must be the 64-hex HMAC of the caller number (see pseudonymise)');
  if (!(DIRECTIONS as readonly string[]).includes(record.direction)) throw new InvalidRecordError('direction: must be inbound or outbound');
  if (r.recordingServer !== null && r.recordingServer !== undefined && !SERVER_ID.test(String(r.recordingServer))) {
    throw new InvalidRecordError('recordingServer: must be a server id (letters, digits, ., _ and -) or null');
  }
  oneOf(r, 'withdrawnBy', WITHDRAWN_BY);
  oneOf(r, 'withdrawalRecording', WITHDRAWAL_RECORDING);
  if (r.pauses !== null && r.pauses !== undefined) {
    text(r, 'pauses', 8192, false);
    const spans = String(r.pauses).split(';');
    const ok = spans.every((span, i) => {
      const [start, end, ...rest] = span.split('/');
      const last = i === spans.length - 1;
      return rest.length === 0 && start !== undefined && isIsoTime(start) && (end === undefined || (end === '' && last) || isIsoTime(end));
    });
    if (!ok) throw new InvalidRecordError('pauses: must be start/end ISO 8601 spans separated by ";" (only the last may be open)');
  }
  if (r.fullNotice !== null && r.fullNotice !== undefined && typeof r.fullNotice !== 'boolean') throw new InvalidRecordError('fullNotice: must be true, false or null');
  if (record.outcome !== null && !OUTCOMES.includes(record.outcome)) throw new InvalidRecordError('outcome: not a known outcome');
  if (record.language !== null && !(LANGUAGES as readonly string[]).includes(record.language)) {
    throw new InvalidRecordError('language: not a configured language');
  }
  if (!Number.isInteger(record.attempts) || record.attempts < 0 || record.attempts > 1000) {
    throw new InvalidRecordError('attempts: must be an integer from 0 to 1000');
  }
  for (const f of TIME_FIELDS) {
    const v = r[f];
    if (v === undefined && LATER_FIELDS.has(f)) continue;
    if (v === null && f !== 'enteredAt') continue;
    if (typeof v !== 'string' || !isIsoTime(v)) throw new InvalidRecordError(`${f}: must be an ISO 8601 time with a zone${f === 'enteredAt' ? '' : ' or null'}`);
  }
  if (record.recordingPath !== null && !isAbsolute(record.recordingPath)) throw new InvalidRecordError('recordingPath: must be absolute');
}

/** The stored JSON of a record: fixed field order, so equal records give equal bytes and digests. */
export function serialiseRecord(record: ConsentRecord | StoredRecord): string {
  const src = record as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of RECORD_FIELDS) out[f] = src[f] ?? null;
  out.attempts = record.attempts;
  return JSON.stringify(out);
}

export function parseStoredRecord(json: string): StoredRecord {
  const v = JSON.parse(json) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of RECORD_FIELDS) out[f] = v[f] ?? null;
  out.attempts = typeof v.attempts === 'number' ? v.attempts : 0;
  out.callerPseudonym = typeof v.callerPseudonym === 'string' ? v.callerPseudonym : '';
  // Records stored before outbound calls existed were all inbound.
  out.direction = v.direction === 'outbound' ? 'outbound' : 'inbound';
  return out as unknown as StoredRecord;
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** The record with its personal fields removed: the pseudonym and the recording. */
export function eraseRecord(record: StoredRecord, at: Date): StoredRecord {
  return { ...record, callerPseudonym: '', recordingPath: null, recordingServer: null, erasedAt: at.toISOString() };
}
