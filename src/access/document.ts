/**
 * The letter as a small document (headings, paragraphs, lists, tables), rendered as one
 * self-contained HTML page (no script, font or style from elsewhere; it prints on A4) and as plain
 * text. The page's direction is its language's (textDirection: Arabic right to left). Inside a
 * sentence, Latin items (dates, ids, file names, addresses) are kept left to right and texts from
 * the configuration (a controller's name, a purpose) take their own direction: <bdi> in HTML, the
 * Unicode isolates in the text of a right-to-left letter, as the evidence summary does. Pure.
 */
import { textDirection } from '../domain/vocabulary';

/** A piece of a line: words of the letter, a Latin item, or a text that sets its own direction. */
export type Inline = string | { ltr: string } | { auto: string };
export type Line = readonly Inline[];

export type Block =
  | { kind: 'h1' | 'h2' | 'h3' | 'p'; line: Line }
  | { kind: 'ul'; items: readonly Line[] }
  | { kind: 'table'; head: readonly string[]; rows: readonly (readonly Line[])[] };

export interface Doc {
  lang: string;
  title: string;
  blocks: readonly Block[];
}

const LRI = '\u2066';
const FSI = '\u2068';
const PDI = '\u2069';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function inlineHtml(i: Inline): string {
  if (typeof i === 'string') return esc(i);
  if ('ltr' in i) return `<bdi dir="ltr">${esc(i.ltr)}</bdi>`;
  return `<bdi>${esc(i.auto)}</bdi>`;
}

const lineHtml = (l: Line) => l.map(inlineHtml).join('');

function blockHtml(b: Block): string {
  switch (b.kind) {
    case 'ul':
      return `<ul>${b.items.map((i) => `<li>${lineHtml(i)}</li>`).join('')}</ul>`;
    case 'table': {
      const head = `<tr>${b.head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr>`;
      const rows = b.rows.map((r) => `<tr>${r.map((c) => `<td>${lineHtml(c)}</td>`).join('')}</tr>`).join('');
      return `<table><thead>${head}</thead><tbody>${rows}</tbody></table>`;
    }
    default:
      return `<${b.kind}>${lineHtml(b.line)}</${b.kind}>`;
  }
}

const CSS = `
@page { size: A4; margin: 18mm; }
body { font-family: "DejaVu Sans", "Noto Sans", "Noto Sans Arabic", Arial, sans-serif; color: #222; margin: 28px; font-size: 14px; line-height: 1.5; max-width: 52em; }
h1 { font-size: 21px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 22px 0 6px; border-bottom: 1px solid #ccc; }
h3 { font-size: 15px; margin: 16px 0 4px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 12px; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: start; vertical-align: top; }
thead th { background: #f6f6f6; }
@media print { body { margin: 0; } table { page-break-inside: auto; } }
`;

export function docHtml(d: Doc): string {
  return `<!DOCTYPE html>
<html lang="${esc(d.lang)}" dir="${textDirection(d.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(d.title)}</title>
<style>${CSS}</style>
</head>
<body>
${d.blocks.map(blockHtml).join('\n')}
</body>
</html>
`;
}

function inlineText(i: Inline, rtl: boolean): string {
  if (typeof i === 'string') return i;
  if ('ltr' in i) return rtl ? `${LRI}${i.ltr}${PDI}` : i.ltr;
  return rtl ? `${FSI}${i.auto}${PDI}` : i.auto;
}

/** Wraps a paragraph at about `width` characters (words are never cut). */
export function wrap(text: string, width = 78): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/ +/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out;
}

function blockText(b: Block, rtl: boolean, colon: string): string {
  const text = (l: Line) => l.map((i) => inlineText(i, rtl)).join('');
  switch (b.kind) {
    case 'h1':
    case 'h2': {
      const t = text(b.line);
      return `${t}\n${(b.kind === 'h1' ? '=' : '-').repeat(Math.min(78, [...t].length))}`;
    }
    case 'h3':
      return text(b.line);
    case 'ul':
      return b.items.map((i) => wrap(text(i), 76).map((l, n) => `${n === 0 ? '- ' : '  '}${l}`).join('\n')).join('\n');
    case 'table':
      // A row as "- name: value", then one "  name: value" line per column (no alignment to keep in two directions).
      return b.rows.map((r) => r.map((c, i) => `${i === 0 ? '- ' : '  '}${b.head[i] ?? ''}${colon}${text(c)}`).join('\n')).join('\n\n');
    default:
      return wrap(text(b.line)).join('\n');
  }
}

export function docText(d: Doc): string {
  const rtl = textDirection(d.lang) === 'rtl';
  const colon = d.lang === 'fr' ? '\u00a0: ' : ': ';
  return `${d.blocks.map((b) => blockText(b, rtl, colon)).join('\n\n')}\n`;
}
