/**
 * Dialled-number patterns in Asterisk's extension syntax, for choosing a campaign profile by the
 * number called: an exact number (`0522123456`), or `_` then a pattern where `X` is a digit 0-9, `Z`
 * 1-9, `N` 2-9, `[15-7]` one of the characters listed (ranges allowed), `.` one or more characters
 * and `!` zero or more (both only at the end). `-` is ignored (for readability) in exact numbers and
 * patterns alike, and in the number dialled, as Asterisk does: `0522-12-34-56` is `0522123456`, and
 * `_0522XXXXXX` matches a dialled `0522-123-456` as the same line of extensions.conf would.
 * Pure: no I/O.
 */

export class NumberPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NumberPatternError';
  }
}

/** One position of a pattern: the characters it accepts (null: any). */
type Position = ReadonlySet<string> | null;

export interface NumberPattern {
  /** As written in the configuration. */
  readonly source: string;
  /** Positions, each matching exactly one character. */
  readonly positions: readonly Position[];
  /** What may follow the positions: nothing, one or more characters ('.'), zero or more ('!'). */
  readonly tail: 'none' | 'one-or-more' | 'zero-or-more';
}

/** Characters a dialled number may hold (what the routine's FILTER lets through). */
const NUMBER_CHAR = /^[-0-9A-Za-z+*#._]$/;
const MAX_PATTERN = 80;

function digits(from: number, to: number): Set<string> {
  const out = new Set<string>();
  for (let d = from; d <= to; d += 1) out.add(String(d));
  return out;
}

function bracket(text: string, source: string): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] as string;
    const next = text[i + 1];
    const end = text[i + 2];
    if (next === '-' && end !== undefined) {
      if (c > end) throw new NumberPatternError(`${source}: range ${c}-${end} goes backwards`);
      for (let code = c.charCodeAt(0); code <= end.charCodeAt(0); code += 1) out.add(String.fromCharCode(code));
      i += 2;
    } else {
      out.add(c);
    }
  }
  if (out.size === 0) throw new NumberPatternError(`${source}: empty brackets []`);
  for (const c of out) if (!NUMBER_CHAR.test(c)) throw new NumberPatternError(`${source}: ${JSON.stringify(c)} cannot be part of a number`);
  return out;
}

/** Parses a number or pattern; throws NumberPatternError saying what is wrong. */
export function parseNumberPattern(source: string): NumberPattern {
  if (source.length === 0 || source.length > MAX_PATTERN) throw new NumberPatternError(`${JSON.stringify(source)}: a number or pattern of 1 to ${MAX_PATTERN} characters`);
  if (!source.startsWith('_')) {
    for (const c of source) if (!NUMBER_CHAR.test(c) || c === '_') throw new NumberPatternError(`${JSON.stringify(source)}: ${JSON.stringify(c)} cannot be part of a number (a pattern starts with _)`);
    const chars = [...source].filter((c) => c !== '-');
    if (chars.length === 0) throw new NumberPatternError(`${JSON.stringify(source)}: no number in it`);
    return { source, positions: chars.map((c) => new Set([c])), tail: 'none' };
  }
  const positions: Position[] = [];
  let tail: NumberPattern['tail'] = 'none';
  const body = source.slice(1);
  for (let i = 0; i < body.length; i += 1) {
    const c = body[i] as string;
    if (tail !== 'none') throw new NumberPatternError(`${source}: '.' and '!' may only end a pattern`);
    const upper = c.toUpperCase();
    if (upper === 'X') positions.push(digits(0, 9));
    else if (upper === 'Z') positions.push(digits(1, 9));
    else if (upper === 'N') positions.push(digits(2, 9));
    else if (c === '.') tail = 'one-or-more';
    else if (c === '!') tail = 'zero-or-more';
    else if (c === '-') continue;
    else if (c === '[') {
      const close = body.indexOf(']', i);
      if (close < 0) throw new NumberPatternError(`${source}: '[' without ']'`);
      positions.push(bracket(body.slice(i + 1, close), source));
      i = close;
    } else if (NUMBER_CHAR.test(c) && c !== '_') positions.push(new Set([c]));
    else throw new NumberPatternError(`${source}: ${JSON.stringify(c)} cannot be part of a number pattern`);
  }
  if (positions.length === 0 && tail === 'none') throw new NumberPatternError(`${source}: an empty pattern`);
  return { source, positions, tail };
}

/** Whether the pattern matches the whole of `number` (its '-' ignored). */
export function matchesNumber(pattern: NumberPattern, number: string): boolean {
  const chars = [...number].filter((c) => c !== '-');
  const n = pattern.positions.length;
  if (chars.length < n) return false;
  for (let i = 0; i < n; i += 1) {
    const at = pattern.positions[i];
    if (at && !at.has(chars[i] as string)) return false;
  }
  const rest = chars.length - n;
  return pattern.tail === 'zero-or-more' || (pattern.tail === 'one-or-more' ? rest >= 1 : rest === 0);
}

function first(set: Position, other: Position = null): string | null {
  const candidates = [...(set ?? digits(0, 9))].sort();
  for (const c of candidates) if (!other || other.has(c)) return c;
  if (!set && other) return [...other].sort()[0] ?? null;
  return null;
}

/** The positions of `p` from `i`, with its tail written out as positions when it needs some. */
function restOf(p: NumberPattern, i: number): { positions: Position[]; open: boolean } {
  const positions = p.positions.slice(i) as Position[];
  if (p.tail === 'one-or-more') positions.push(null);
  return { positions, open: p.tail !== 'none' };
}

/**
 * A number both patterns match, or null when no number is matched by both: two profiles may not
 * claim the same number. The number returned is the smallest such (digits first), as an example.
 */
export function overlapOf(a: NumberPattern, b: NumberPattern): string | null {
  const ra = restOf(a, 0);
  const rb = restOf(b, 0);
  let example = '';
  const len = Math.max(ra.positions.length, rb.positions.length);
  for (let i = 0; i < len; i += 1) {
    const pa = ra.positions[i];
    const pb = rb.positions[i];
    if (pa === undefined && !ra.open) return null;
    if (pb === undefined && !rb.open) return null;
    const c = first(pa === undefined ? null : pa, pb === undefined ? null : pb);
    if (c === null) return null;
    example += c;
  }
  return example;
}
