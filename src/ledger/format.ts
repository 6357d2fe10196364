/**
 * Output formats of the ledger CLI: CSV (RFC 4180) and JSON Lines for auditors, and a text table.
 * Pure; `parseCsv` / `parseJsonl` are the exact inverses of the writers.
 *
 * CSV cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR, other than a
 * plain signed number such as +212…) are written with a leading apostrophe; so is any cell that itself
 * starts with an apostrophe. `parseCsv` removes it again.
 */
import { RECORD_FIELDS, STORED_FIELDS, fromStored, toStored, type StoredValue } from './record-fields';
import { parseStoredRecord, serialiseRecord } from './record';
import type { StoredRecord } from './types';

function neutralise(cell: string): string {
  if (cell.startsWith("'")) return `'${cell}`;
  if (/^[=+\-@\t\r]/.test(cell) && !/^[+-]?\d+$/.test(cell)) return `'${cell}`;
  return cell;
}

function quote(cell: string): string {
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

export function csvHeader(): string {
  return `${RECORD_FIELDS.join(',')}\r\n`;
}

export function csvRow(r: StoredRecord): string {
  const src = toStored(r);
  return `${RECORD_FIELDS.map((f) => {
    const v = src[f];
    return quote(neutralise(v === null || v === undefined ? '' : String(v)));
  }).join(',')}\r\n`;
}

/** A CSV cell's stored value (the writer's apostrophe removed). */
function cellValue(cell: string, kind: 'text' | 'integer' | 'boolean', nullable: boolean): StoredValue {
  const v = cell.startsWith("'") ? cell.slice(1) : cell;
  if (v === '' && nullable) return null;
  if (kind === 'integer') return Number(v);
  if (kind === 'boolean' && (v === 'true' || v === 'false')) return v === 'true';
  return v;
}

/** Splits CSV text into rows of cells (quoted cells may hold commas, quotes and line breaks). */
export function splitCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else cell += c;
      i += 1;
      continue;
    }
    if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 1;
    } else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
    i += 1;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/**
 * The headers an export may have: today's, and those of exports made before the fields that records
 * made earlier lack (omitNull: profile), whose cells read as empty.
 */
const CSV_HEADERS: readonly string[] = (() => {
  const headers = [RECORD_FIELDS.join(',')];
  for (let n = STORED_FIELDS.length; n > 0 && STORED_FIELDS[n - 1]?.omitNull === true; n -= 1) headers.push(RECORD_FIELDS.slice(0, n - 1).join(','));
  return headers;
})();

/** Parses an export back into records. Throws on a header that is not the export's. */
export function parseCsv(text: string): StoredRecord[] {
  const [header, ...rows] = splitCsv(text);
  if (!header || !CSV_HEADERS.includes(header.join(','))) throw new Error('not a consent-ivr ledger CSV export (header differs)');
  return rows.map((cells) => fromStored(Object.fromEntries(STORED_FIELDS.map((f, i) => [f.name, cellValue(cells[i] ?? '', f.kind, f.nullable)]))));
}

export function jsonlRow(r: StoredRecord): string {
  return `${serialiseRecord(r)}\n`;
}

export function parseJsonl(text: string): StoredRecord[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(parseStoredRecord);
}

/** Escapes control characters, so a tampered record cannot drive the terminal. */
export function printable(v: unknown): string {
  // eslint-disable-next-line no-control-regex
  return String(v).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export const TEXT_HEADER = `${['ENTERED (UTC)', 'UNIQUEID', 'DIR', 'OUTCOME', 'KEY', 'LANG', 'TRIES', 'RECORDING', 'WITHDRAWN', 'ERASED', 'PROFILE'].join('\t')}\n`;

export function textRow(r: StoredRecord): string {
  return `${[
    r.enteredAt,
    r.uniqueId,
    r.direction === 'outbound' ? 'out' : 'in',
    r.outcome ?? '(in flow)',
    r.digit ?? '-',
    r.language ?? '-',
    String(r.attempts),
    r.recording?.file ? 'yes' : 'no',
    r.withdrawal ? `by ${r.withdrawal.by}` : 'no',
    r.erasedAt ? 'yes' : 'no',
    r.profile ?? 'default',
  ]
    .map(printable)
    .join('\t')}\n`;
}

/** `show`: one field per line. */
export function textRecord(r: StoredRecord, meta: { seq: number }): string {
  const src = toStored(r);
  const width = Math.max(...RECORD_FIELDS.map((f) => f.length)) + 2;
  const lines = RECORD_FIELDS.map((f) => `${f.padEnd(width)}${src[f] === null || src[f] === undefined ? '-' : printable(src[f])}`);
  lines.push(`${'chainSeq'.padEnd(width)}${meta.seq}`);
  return `${lines.join('\n')}\n`;
}
