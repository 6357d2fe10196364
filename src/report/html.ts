/**
 * The consent report as one self-contained HTML page (inline SVG, no script, font or style from
 * elsewhere), in French or Arabic: the page's direction is the language's (textDirection), digits
 * are Western as used in Morocco, language names are the runtime's (Intl.DisplayNames) in the
 * page's language, and codes, dates and names without a translation are kept left to right. Pure.
 */
import { OUTCOMES, textDirection, type Outcome } from '../domain/vocabulary';
import { NO_LANGUAGE, share, type GroupFigures } from './aggregate';
import { reportLanguages, type Report } from './render';
import { groupName, languageName, T, type ReportLang } from './texts';

const COLORS: Record<Outcome, string> = {
  accepted: '#2e7d32',
  refused: '#c62828',
  'no-input': '#f9a825',
  abandoned: '#6d4c41',
  unavailable: '#546e7a',
  error: '#6a1b9a',
};

/** Unicode's left-to-right isolate and its end: SVG text has no <bdi>. */
const LRI = '\u2066';
const PDI = '\u2069';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Formats {
  n: (v: number) => string;
  pct: (v: number | null) => string;
  sec: (ms: number | null) => string;
}

function fmt(lang: ReportLang): Formats {
  // Morocco writes Arabic text with Western digits: ar-MA formats with them.
  const nf = new Intl.NumberFormat(`${lang}-MA`);
  const pf = new Intl.NumberFormat(`${lang}-MA`, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  return {
    n: (v) => nf.format(v),
    pct: (v) => (v === null ? '–' : `${pf.format(v)} %`),
    sec: (ms) => (ms === null ? '–' : `${pf.format(ms / 1000)} ${T[lang].seconds}`),
  };
}

/** Latin text (dates, numbers, codes, ids) kept left to right whatever the page's direction. */
function ltr(text: string): string {
  return `<bdi dir="ltr">${esc(text)}</bdi>`;
}

/** A group's label for HTML: its name in the page's language, or the key kept left to right. */
function groupHtml(key: string, r: Report, lang: ReportLang): string {
  const name = groupName(key, r.by, lang);
  return name !== null ? esc(name) : ltr(key);
}

/** A language's name with its code as a tooltip (the code alone when the runtime has no name), as a column head. */
function languageHtml(code: string, lang: ReportLang): string {
  const name = languageName(code, lang);
  if (code === NO_LANGUAGE) return esc(name ?? code);
  return name !== null ? `<span title="${esc(code)}">${esc(name)}</span>` : ltr(code);
}

/** Stacked horizontal bars: each group's outcomes as shares of its calls. */
function chart(r: Report, lang: ReportLang): string {
  const t = T[lang];
  const rows = r.groups.slice(0, 60);
  const rtl = textDirection(lang) === 'rtl';
  const labelW = 150;
  const barW = 520;
  const rowH = 22;
  const width = labelW + barW + 20;
  const height = rows.length * rowH + 8;
  const parts: string[] = [];
  rows.forEach((g, i) => {
    const y = i * rowH + 4;
    // In a right-to-left page, "start" is the right edge: labels sit right of the bars and run leftwards.
    const labelX = rtl ? width - 8 : labelW - 8;
    const name = groupName(g.key, r.by, lang);
    const label = name ?? (rtl ? `${LRI}${g.key}${PDI}` : g.key);
    parts.push(`<text x="${labelX}" y="${y + 14}" text-anchor="${rtl ? 'start' : 'end'}" class="lbl">${esc(label)}</text>`);
    let x = 0;
    for (const o of OUTCOMES) {
      const w = g.calls > 0 ? (g.outcomes[o] / g.calls) * barW : 0;
      if (w <= 0) continue;
      const left = rtl ? width - labelW - x - w : labelW + x;
      parts.push(`<rect x="${left.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${COLORS[o]}"><title>${esc(t.outcomes[o])}: ${g.outcomes[o]}</title></rect>`);
      x += w;
    }
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(t.chart)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
  // The legend in HTML, so that long labels wrap instead of running into each other (and follow the page's direction).
  const legend = OUTCOMES.map((o) => `<li><span class="swatch" style="background:${COLORS[o]}"></span>${esc(t.outcomes[o])}</li>`).join('');
  return `${svg}<ul class="legend">${legend}</ul>`;
}

/** The languages' columns: every language of the report, then calls with none. */
function languageColumns(r: Report): string[] {
  return [...reportLanguages(r), NO_LANGUAGE];
}

function figuresRow(r: Report, g: GroupFigures, label: string, lang: ReportLang, cls = ''): string {
  const f = fmt(lang);
  const cells = [
    `<th scope="row">${label}</th>`,
    `<td class="num">${f.n(g.calls)}</td>`,
    ...OUTCOMES.map((o) => `<td class="num">${f.n(g.outcomes[o])}<br><small>${f.pct(share(g.outcomes[o], g.calls))}</small></td>`),
    ...languageColumns(r).map((l) => `<td class="num">${f.n(g.languages[l] ?? 0)}</td>`),
    `<td class="num">${f.n(g.fullNotice)}</td>`,
    `<td class="num">${f.n(g.withdrawals.caller)} / ${f.n(g.withdrawals.agent)}</td>`,
    `<td class="num">${f.n(g.pausedCalls)}</td>`,
    `<td class="num">${f.sec(g.decision.medianMs)} / ${f.sec(g.decision.p90Ms)}</td>`,
    `<td class="num">${f.n(g.erased)}</td>`,
  ];
  return `<tr${cls ? ` class="${cls}"` : ''}>${cells.join('')}</tr>`;
}

/** The table's head: two rows, the languages' columns under one heading. */
function tableHead(r: Report, lang: ReportLang): string {
  const t = T[lang];
  const both = (text: string) => `<th scope="col" rowspan="2">${text}</th>`;
  const langs = languageColumns(r);
  const first = [
    both(t.group),
    both(t.calls),
    ...OUTCOMES.map((o) => both(t.outcomes[o])),
    `<th scope="colgroup" colspan="${langs.length}">${t.languages}</th>`,
    both(t.fullNotice),
    both(t.withdrawals),
    both(t.paused),
    both(t.decision),
    both(t.erased),
  ];
  const second = langs.map((l) => `<th scope="col" class="lang">${languageHtml(l, lang)}</th>`);
  return `<tr>${first.join('')}</tr><tr>${second.join('')}</tr>`;
}

const CSS = `
@page { size: A4; margin: 14mm; }
body { font-family: "DejaVu Sans", "Noto Sans", "Noto Sans Arabic", Arial, sans-serif; color: #222; margin: 24px; font-size: 13px; }
h1 { font-size: 20px; margin: 0 0 6px; }
.meta { color: #555; margin: 0 0 14px; }
.ok { color: #2e7d32; font-weight: bold; }
.bad { color: #c62828; font-weight: bold; }
.totals { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0 18px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.card b { display: block; font-size: 18px; }
table { border-collapse: collapse; width: 100%; margin: 12px 0; page-break-inside: auto; }
th, td { border: 1px solid #ddd; padding: 4px 6px; text-align: start; vertical-align: top; }
th[scope="row"] { white-space: nowrap; }
th.lang { font-weight: normal; }
td.num { text-align: end; white-space: nowrap; }
tr.total th, tr.total td { font-weight: bold; background: #f4f4f4; }
thead th { background: #fafafa; font-size: 12px; }
small { color: #666; }
svg { max-width: 100%; height: auto; page-break-inside: avoid; }
svg .lbl { font-size: 11px; fill: #333; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 6px 18px; padding: 0; margin: 6px 0 0; font-size: 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-inline-end: 6px; vertical-align: -1px; }
.empty { font-size: 18px; margin: 40px 0; }
.foot { color: #666; font-size: 11px; margin-top: 16px; }
@media print { body { margin: 0; } .card { break-inside: avoid; } }
`;

/** The lines under the title: the period and its zone, the profile, the grouping, when; the ledger's state. */
function metaHtml(r: Report, lang: ReportLang, f: Formats): string {
  const t = T[lang];
  const period = `${t.from} ${r.since ? ltr(r.since) : t.start} ${t.to} ${r.until ? ltr(r.until) : t.now} (${t.zone} <span id="zone">${ltr(r.zone)}</span>)`;
  const profile = r.profile === null ? '' : ` · ${t.profile} <span id="profile">${ltr(r.profile)}</span>`;
  const logs = r.ledger.logs
    .map((l) => {
      const cp = l.checkpoint ? `${t.checkpoint} ${f.n(l.checkpoint.size)} (${esc(l.checkpoint.signedBy.join(', '))})` : `${t.checkpoint}: ${t.none}`;
      return `<li>${t.log} <code dir="ltr">${esc(l.log || '-')}</code>: ${f.n(l.entries)} ${t.entries}, ${t.head} <code dir="ltr">${esc(l.headHash ? `${String(l.headSeq)}:${l.headHash.slice(0, 16)}…` : '-')}</code>; ${cp}</li>`;
    })
    .join('');
  return `<p class="meta">${t.period} ${period}${profile} · ${t.by[r.by]} · ${t.generated} ${ltr(r.generatedAt)}</p>
<p class="meta">${t.ledger}: <span class="${r.ledger.ok ? 'ok' : 'bad'}" id="ledger-state">${r.ledger.ok ? t.verified : t.broken}</span></p>
<ul class="meta">${logs}</ul>`;
}

/** The totals, the chart and the table; a "no calls" line for an empty period. */
function bodyHtml(r: Report, lang: ReportLang, f: Formats): string {
  const t = T[lang];
  const tot = r.total;
  if (tot.calls === 0) return `<p class="empty" id="empty">${t.empty}</p>`;
  const cards = [
    [t.calls, f.n(tot.calls)],
    ...OUTCOMES.filter((o) => o === 'accepted' || o === 'refused' || o === 'no-input' || o === 'abandoned').map((o) => [t.outcomes[o], `${f.n(tot.outcomes[o])} · ${f.pct(share(tot.outcomes[o], tot.calls))}`]),
    [t.decision, `${f.sec(tot.decision.medianMs)} / ${f.sec(tot.decision.p90Ms)}`],
    [t.purged, r.purged === null ? '–' : f.n(r.purged)],
  ]
    .map(([k, v]) => `<div class="card">${esc(String(k))}<b>${esc(String(v))}</b></div>`)
    .join('');
  const rows = r.groups.map((g) => figuresRow(r, g, groupHtml(g.key, r, lang), lang)).join('');
  return `<div class="totals" id="totals">${cards}</div>
<h2>${t.chart}</h2>
<figure id="chart">${chart(r, lang)}</figure>
<h2>${t.by[r.by]}</h2>
<table id="figures"><thead>${tableHead(r, lang)}</thead><tbody>${rows}${figuresRow(r, tot, esc(t.total), lang, 'total')}</tbody></table>`;
}

export function reportHtml(r: Report, lang: ReportLang): string {
  const t = T[lang];
  const f = fmt(lang);
  const purgedNote = r.purged === null && r.total.calls > 0 ? `\n<p class="foot">${t.purgedAll}</p>` : '';
  return `<!DOCTYPE html>
<html lang="${lang}" dir="${textDirection(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t.title}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${t.title}</h1>
${metaHtml(r, lang, f)}
${bodyHtml(r, lang, f)}${purgedNote}
<p class="foot">${t.aggregates}</p>
</body>
</html>
`;
}
