/**
 * The one description of a consent record's stored fields. The stored JSON is flat, in the order of
 * this list; the in-memory record (ConsentRecord, StoredRecord) groups some of its fields into one
 * optional object per concern (the recording, the withdrawal) and holds the pauses as a list. Each
 * part below maps one key of the record to its stored fields and back; serialisation, parsing,
 * validation, the CSV, JSON Lines and text formats and the tests' record factory all read this list.
 *
 * To add a field: add one part (or a field to a part) with `later: true` and `omitNull: true`, at
 * the end so that the stored order of older fields does not move. Records stored before it read it
 * as null, and serialise without it: to the very bytes they were stored and signed as (a bundle's
 * record digest is checked on its serialisation). Fields added before `omitNull` existed are
 * serialised as null.
 */
import { isAbsolute } from 'node:path';
import { LANGUAGE_CODE, OUTCOMES, PROFILE_NAME, SERVER_ID } from '../domain/vocabulary';
import type { Pause, Recording, Withdrawal } from '../ports/ledger';
import { PSEUDONYM_PATTERN } from './pseudonym';
import type { StoredRecord } from './types';

/** A stored field's value in the JSON. */
export type StoredValue = string | number | boolean | null;
/** A record as stored: its flat JSON object, field names in the order of STORED_FIELDS. */
export type StoredJson = Readonly<Record<string, StoredValue>>;

export class InvalidRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRecordError';
  }
}

/** Options of a field's check: an erased record has an empty pseudonym. */
export interface CheckOptions {
  erased?: boolean;
}

export interface StoredField {
  /** Its name in the stored JSON, the CSV header and `ledger show`. */
  readonly name: string;
  /** How a CSV cell reads back: text, a whole number, or true/false. */
  readonly kind: 'text' | 'integer' | 'boolean';
  /** Null is a valid value (an empty CSV cell reads as null). */
  readonly nullable: boolean;
  /** Added after the first records were stored: absent in older records, where it reads as null. */
  readonly later: boolean;
  /** Left out of the stored JSON when null: records stored before it keep their bytes. */
  readonly omitNull: boolean;
  /** Throws InvalidRecordError when the value (absent: undefined) may not be stored. */
  readonly check: (value: unknown, opts: CheckOptions) => void;
  /** The value a stored one reads as (absent: undefined); by default itself, absent reading as null. */
  readonly read?: (value: unknown) => StoredValue;
}

interface Part {
  readonly fields: readonly StoredField[];
  /** The stored values of the part's fields, in their order. */
  readonly store: (r: StoredRecord) => StoredValue[];
  /** The record's key(s) from the stored values (read), in the fields' order. */
  readonly load: (values: readonly StoredValue[]) => Partial<StoredRecord>;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function fail(name: string, why: string): never {
  throw new InvalidRecordError(`${name}: ${why}`);
}

export function isIsoTime(v: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(v) && Number.isFinite(Date.parse(v));
}

type Spec = Partial<Omit<StoredField, 'name' | 'check'>>;

function field(name: string, spec: Spec, check: (v: unknown, opts: CheckOptions) => void): StoredField {
  const later = spec.later ?? false;
  return {
    name,
    kind: spec.kind ?? 'text',
    nullable: spec.nullable ?? later,
    later,
    omitNull: spec.omitNull ?? false,
    read: spec.read,
    check: (v, opts) => (v === undefined && later ? undefined : check(v, opts)),
  };
}

function text(name: string, max: number, spec: Spec = {}, more?: (v: string) => void): StoredField {
  const nullable = spec.nullable ?? spec.later ?? false;
  return field(name, { ...spec, nullable }, (v) => {
    if (v === null && nullable) return;
    if (typeof v !== 'string') fail(name, `must be a string${nullable ? ' or null' : ''}`);
    if (v.length > max) fail(name, `longer than ${max} characters`);
    if (CONTROL.test(v)) fail(name, 'contains control characters');
    more?.(v);
  });
}

function time(name: string, spec: Spec = {}): StoredField {
  const nullable = spec.nullable ?? true;
  return field(name, { ...spec, nullable }, (v) => {
    if (v === null && nullable) return;
    if (typeof v !== 'string' || !isIsoTime(v)) fail(name, `must be an ISO 8601 time with a zone${nullable ? ' or null' : ''}`);
  });
}

/** A field that holds one of a few words, or null. */
function word(name: string, allowed: readonly string[], spec: Spec, why: string): StoredField {
  return field(name, { nullable: true, ...spec }, (v) => {
    if (v === null || v === undefined) return;
    if (typeof v !== 'string' || !allowed.includes(v)) fail(name, why);
  });
}

/** A key of the record stored as one field of the same name. */
function plain(f: StoredField): Part {
  const key = f.name as keyof StoredRecord;
  return { fields: [f], store: (r) => [(r[key] as StoredValue | undefined) ?? null], load: ([v]) => ({ [key]: v }) };
}

const PAUSES_FORMAT = 'must be start/end ISO 8601 spans separated by ";" (only the last may be open)';

function checkPauses(v: string): void {
  const spans = v.split(';');
  const ok = spans.every((span, i) => {
    const [start, end, ...rest] = span.split('/');
    const last = i === spans.length - 1;
    return rest.length === 0 && start !== undefined && isIsoTime(start) && (end === undefined || (end === '' && last) || isIsoTime(end));
  });
  if (!ok) fail('pauses', PAUSES_FORMAT);
}

/** recordingStartedAt, recordingPath, recordingServer: the recording, or null when nothing was recorded. */
const recording: Part = {
  fields: [
    time('recordingStartedAt'),
    text('recordingPath', 4096, { nullable: true }, (v) => {
      if (!isAbsolute(v)) fail('recordingPath', 'must be absolute');
    }),
    field('recordingServer', { later: true }, (v) => {
      if (v !== null && !SERVER_ID.test(String(v))) fail('recordingServer', 'must be a server id (letters, digits, ., _ and -) or null');
    }),
  ],
  store: ({ recording: rec }) => [rec?.startedAt ?? null, rec?.file?.path ?? null, rec?.file?.server ?? null],
  load: ([startedAt, path, server]) => {
    if (startedAt === null && path === null && server === null) return { recording: null };
    if (path === null && server !== null) fail('recordingServer', 'set without a recordingPath');
    const rec: Recording = { startedAt: startedAt as string | null, file: path === null ? null : { path: path as string, server: server as string | null } };
    return { recording: rec };
  },
};

/** withdrawnAt, withdrawnBy, withdrawalRecording: all three set, or all null (no withdrawal). */
const withdrawal: Part = {
  fields: [
    time('withdrawnAt', { later: true }),
    word('withdrawnBy', ['caller', 'agent'], { later: true }, 'must be one of caller, agent or null'),
    word('withdrawalRecording', ['deleted', 'kept', 'none'], { later: true }, 'must be one of deleted, kept, none or null'),
  ],
  store: ({ withdrawal: w }) => (w ? [w.at, w.by, w.recording] : [null, null, null]),
  load: ([at, by, rec]) => {
    if (at === null && by === null && rec === null) return { withdrawal: null };
    if (at === null || by === null || rec === null) fail('withdrawnAt', 'withdrawnAt, withdrawnBy and withdrawalRecording are set together');
    return { withdrawal: { at, by, recording: rec } as Withdrawal };
  },
};

/** pauses: "start/end" spans joined by ';', the last open ("start/") while paused; null when none. */
const pauses: Part = {
  fields: [
    text('pauses', 8192, { later: true }, checkPauses),
  ],
  store: (r) => [r.pauses.length === 0 ? null : r.pauses.map((p) => `${p.start}/${p.end ?? ''}`).join(';')],
  load: ([v]) => {
    if (v === null) return { pauses: [] };
    const list: Pause[] = String(v)
      .split(';')
      .map((span) => {
        const [start, end, ...rest] = span.split('/');
        if (start === undefined || end === undefined || rest.length > 0) fail('pauses', PAUSES_FORMAT);
        return { start, end: end === '' ? null : end };
      });
    return { pauses: list };
  },
};

/** The record's parts in stored order. */
const PARTS: readonly Part[] = [
  plain(text('uniqueId', 256, {}, (v) => v === '' && fail('uniqueId', 'must not be empty'))),
  plain(text('linkedId', 256)),
  // Records stored before outbound calls existed were all inbound.
  plain(
    field('direction', { read: (v) => (v === 'outbound' ? 'outbound' : 'inbound') }, (v) => {
      if (v !== 'inbound' && v !== 'outbound') fail('direction', 'must be inbound or outbound');
    }),
  ),
  plain(
    field('callerPseudonym', { read: (v) => (typeof v === 'string' ? v : '') }, (v, opts) => {
      const ok = PSEUDONYM_PATTERN.test(String(v)) || (opts.erased === true && v === '');
      if (!ok) fail('callerPseudonym', 'must be the 64-hex HMAC of the caller number (see pseudonymise)');
    }),
  ),
  plain(text('calledNumber', 64)),
  plain(word('outcome', OUTCOMES, {}, 'not a known outcome')),
  plain(text('digit', 8, { nullable: true })),
  plain(
    field('language', { nullable: true }, (v) => {
      if (v !== null && v !== undefined && (typeof v !== 'string' || !LANGUAGE_CODE.test(v))) fail('language', 'must be a language code (ar, fr, zgh, es-MA, ...) or null');
    }),
  ),
  plain(
    field('attempts', { kind: 'integer', read: (v) => (typeof v === 'number' ? v : 0) }, (v) => {
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 1000) fail('attempts', 'must be an integer from 0 to 1000');
    }),
  ),
  plain(time('enteredAt', { nullable: false })),
  plain(time('noticeStartedAt')),
  plain(time('decidedAt')),
  recording,
  plain(text('noticeVersion', 128)),
  withdrawal,
  pauses,
  plain(
    field('fullNotice', { kind: 'boolean', later: true }, (v) => {
      if (v !== null && typeof v !== 'boolean') fail('fullNotice', 'must be true, false or null');
    }),
  ),
  plain(time('erasedAt', { later: true })),
  // Records made before campaign profiles name none: they are the default profile's.
  plain(
    field('profile', { later: true, omitNull: true }, (v) => {
      if (v !== null && (typeof v !== 'string' || !PROFILE_NAME.test(v))) fail('profile', "must be a profile name (letters, digits, '-' and '_') or null");
    }),
  ),
];

/** Every stored field, in stored order. */
export const STORED_FIELDS: readonly StoredField[] = PARTS.flatMap((p) => p.fields);
/** Their names: the order of the stored JSON and of the CSV export. */
export const RECORD_FIELDS: readonly string[] = STORED_FIELDS.map((f) => f.name);

/** The stored JSON object of a record, fields in stored order (an erasure time the record lacks is null). */
export function toStored(record: StoredRecord | Omit<StoredRecord, 'erasedAt'>): StoredJson {
  const r = record as StoredRecord;
  const out: Record<string, StoredValue> = {};
  for (const p of PARTS) {
    const values = p.store(r);
    p.fields.forEach((f, i) => {
      const v = values[i] ?? null;
      if (v !== null || !f.omitNull) out[f.name] = v;
    });
  }
  return out;
}

/** The record a stored JSON object holds (absent fields read as null). Throws on fields that do not go together. */
export function fromStored(json: Readonly<Record<string, unknown>>): StoredRecord {
  const out: Partial<StoredRecord> = {};
  for (const p of PARTS) {
    const values = p.fields.map((f) => (f.read ? f.read(json[f.name]) : ((json[f.name] ?? null) as StoredValue)));
    Object.assign(out, p.load(values));
  }
  return out as StoredRecord;
}
