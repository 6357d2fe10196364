/**
 * The consent report as JSON, CSV or one self-contained HTML page (inline SVG, no script, font or
 * style from elsewhere), in French or Arabic (right to left, digits as used in Morocco). Pure.
 */
import { OUTCOMES, type Outcome } from '../domain/vocabulary';
import { share, type GroupBy, type GroupFigures } from './aggregate';

export type ReportLang = 'fr' | 'ar';

/** What ties the report to the ledger: each log's verified head and latest signed checkpoint. */
export interface LedgerState {
  ok: boolean;
  logs: { log: string; entries: number; headSeq: number | null; headHash: string | null; checkpoint: { size: number; signedBy: string[] } | null }[];
}

export interface Report {
  by: GroupBy;
  since: string | null;
  until: string | null;
  generatedAt: string;
  groups: GroupFigures[];
  total: GroupFigures;
  /** Records deleted by purges run in the period (from the ledger's purge entries). */
  purged: number;
  ledger: LedgerState;
}

const COLORS: Record<Outcome, string> = {
  accepted: '#2e7d32',
  refused: '#c62828',
  'no-input': '#f9a825',
  abandoned: '#6d4c41',
  unavailable: '#546e7a',
  error: '#6a1b9a',
};

const T = {
  fr: {
    title: 'Rapport de consentement à l’enregistrement',
    period: 'Période',
    from: 'du',
    to: 'au',
    start: 'début',
    now: 'maintenant',
    generated: 'Généré le',
    by: { day: 'Par jour', week: 'Par semaine', month: 'Par mois', number: 'Par numéro appelé', language: 'Par langue', direction: 'Par sens' } as Record<GroupBy, string>,
    group: 'Groupe',
    calls: 'Appels',
    total: 'Total',
    outcomes: { accepted: 'Acceptés', refused: 'Refusés', 'no-input': 'Sans réponse', abandoned: 'Abandonnés', unavailable: 'Service indisponible', error: 'Erreurs' } as Record<Outcome, string>,
    languages: 'Langue (ar / fr)',
    fullNotice: 'Notice complète demandée',
    withdrawals: 'Retraits (appelant / agent)',
    paused: 'Appels mis en pause',
    decision: 'Temps de décision (médiane / p90)',
    erased: 'Enregistrements effacés (droit d’opposition)',
    purged: 'Enregistrements purgés (durée de conservation)',
    ledger: 'Registre',
    verified: 'vérifié',
    broken: 'VÉRIFICATION ÉCHOUÉE',
    log: 'journal',
    entries: 'entrées',
    head: 'tête',
    checkpoint: 'point de contrôle signé',
    none: 'aucun',
    empty: 'Aucun appel dans cette période.',
    aggregates: 'Chiffres agrégés uniquement : aucun numéro, pseudonyme ni enregistrement n’y figure.',
    chart: 'Issues par groupe (part des appels)',
    groups: { inbound: 'entrants', outbound: 'sortants', none: 'sans langue', ar: 'arabe', fr: 'français', other: 'autres numéros', unknown: 'inconnu' } as Record<string, string>,
    seconds: 's',
    utc: 'UTC',
  },
  ar: {
    title: 'تقرير الموافقة على تسجيل المكالمات',
    period: 'الفترة',
    from: 'من',
    to: 'إلى',
    start: 'البداية',
    now: 'الآن',
    generated: 'أُنشئ في',
    by: { day: 'حسب اليوم', week: 'حسب الأسبوع', month: 'حسب الشهر', number: 'حسب الرقم المطلوب', language: 'حسب اللغة', direction: 'حسب الاتجاه' } as Record<GroupBy, string>,
    group: 'المجموعة',
    calls: 'المكالمات',
    total: 'المجموع',
    outcomes: { accepted: 'موافقة', refused: 'رفض', 'no-input': 'بدون جواب', abandoned: 'إنهاء المكالمة', unavailable: 'الخدمة غير متاحة', error: 'أخطاء' } as Record<Outcome, string>,
    languages: 'اللغة (عربية / فرنسية)',
    fullNotice: 'طلب الإشعار الكامل',
    withdrawals: 'سحب الموافقة (المتصل / الموظف)',
    paused: 'مكالمات أُوقف تسجيلها مؤقتًا',
    decision: 'مدة القرار (الوسيط / p90)',
    erased: 'تسجيلات محذوفة (حق التعرض)',
    purged: 'تسجيلات محذوفة (مدة الحفظ)',
    ledger: 'السجل',
    verified: 'تم التحقق منه',
    broken: 'فشل التحقق',
    log: 'سجل',
    entries: 'قيود',
    head: 'الرأس',
    checkpoint: 'نقطة تحقق موقعة',
    none: 'لا شيء',
    empty: 'لا توجد مكالمات في هذه الفترة.',
    aggregates: 'أرقام إجمالية فقط: لا يتضمن أي رقم هاتف أو اسم مستعار أو تسجيل.',
    chart: 'النتائج حسب المجموعة (نسبة المكالمات)',
    groups: { inbound: 'واردة', outbound: 'صادرة', none: 'بدون لغة', ar: 'العربية', fr: 'الفرنسية', other: 'أرقام أخرى', unknown: 'غير معروف' } as Record<string, string>,
    seconds: 'ث',
    utc: 'UTC',
  },
};

// ---------------------------------------------------------------------------------------------- JSON

export function reportJson(r: Report): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

// ----------------------------------------------------------------------------------------------- CSV

const CSV_HEADER = [
  'group',
  'calls',
  ...OUTCOMES.flatMap((o) => [o.replace('-', '_'), `${o.replace('-', '_')}_share`]),
  'lang_ar',
  'lang_fr',
  'lang_none',
  'inbound',
  'outbound',
  'full_notice',
  'withdrawn_by_caller',
  'withdrawn_by_agent',
  'paused_calls',
  'pauses',
  'erased',
  'decision_n',
  'decision_median_s',
  'decision_p90_s',
];

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvRow(g: GroupFigures, key: string): string {
  const sec = (ms: number | null) => (ms === null ? null : ms / 1000);
  return [
    key,
    g.calls,
    ...OUTCOMES.flatMap((o) => [g.outcomes[o], share(g.outcomes[o], g.calls)]),
    g.languages.ar,
    g.languages.fr,
    g.languages.none,
    g.directions.inbound,
    g.directions.outbound,
    g.fullNotice,
    g.withdrawals.caller,
    g.withdrawals.agent,
    g.pausedCalls,
    g.pauses,
    g.erased,
    g.decision.n,
    sec(g.decision.medianMs),
    sec(g.decision.p90Ms),
  ]
    .map(csvCell)
    .join(',');
}

/** One row per group, then the total. */
export function reportCsv(r: Report): string {
  return `${[CSV_HEADER.join(','), ...r.groups.map((g) => csvRow(g, g.key)), csvRow(r.total, 'total')].join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------- HTML

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(lang: ReportLang): { n: (v: number) => string; pct: (v: number | null) => string; sec: (ms: number | null) => string } {
  // Morocco writes Arabic text with Western digits: ar-MA formats with them.
  const nf = new Intl.NumberFormat(lang === 'ar' ? 'ar-MA' : 'fr-MA');
  const pf = new Intl.NumberFormat(lang === 'ar' ? 'ar-MA' : 'fr-MA', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  return {
    n: (v) => nf.format(v),
    pct: (v) => (v === null ? '–' : `${pf.format(v)} %`),
    sec: (ms) => (ms === null ? '–' : `${pf.format(ms / 1000)} ${T[lang].seconds}`),
  };
}

function groupLabel(key: string, lang: ReportLang): string {
  return T[lang].groups[key] ?? key;
}

/** Latin text (dates, numbers, ids) kept left to right inside an Arabic page. */
function ltr(text: string): string {
  return `<bdi dir="ltr">${esc(text)}</bdi>`;
}

/** A group's label for HTML: a translated name, or the key kept left to right. */
function groupHtml(key: string, lang: ReportLang): string {
  const t = T[lang].groups[key];
  return t ? esc(t) : ltr(key);
}

/** Stacked horizontal bars: each group's outcomes as shares of its calls. */
function chart(r: Report, lang: ReportLang): string {
  const t = T[lang];
  const rows = r.groups.slice(0, 60);
  const rtl = lang === 'ar';
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
    parts.push(`<text x="${labelX}" y="${y + 14}" text-anchor="${rtl ? 'start' : 'end'}" class="lbl">${esc(groupLabel(g.key, lang))}</text>`);
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

function figuresRow(g: GroupFigures, label: string, lang: ReportLang, cls = ''): string {
  const f = fmt(lang);
  const cells = [
    `<th scope="row">${label}</th>`,
    `<td class="num">${f.n(g.calls)}</td>`,
    ...OUTCOMES.map((o) => `<td class="num">${f.n(g.outcomes[o])}<br><small>${f.pct(share(g.outcomes[o], g.calls))}</small></td>`),
    `<td class="num">${f.n(g.languages.ar)} / ${f.n(g.languages.fr)}</td>`,
    `<td class="num">${f.n(g.fullNotice)}</td>`,
    `<td class="num">${f.n(g.withdrawals.caller)} / ${f.n(g.withdrawals.agent)}</td>`,
    `<td class="num">${f.n(g.pausedCalls)}</td>`,
    `<td class="num">${f.sec(g.decision.medianMs)} / ${f.sec(g.decision.p90Ms)}</td>`,
    `<td class="num">${f.n(g.erased)}</td>`,
  ];
  return `<tr${cls ? ` class="${cls}"` : ''}>${cells.join('')}</tr>`;
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

export function reportHtml(r: Report, lang: ReportLang): string {
  const t = T[lang];
  const f = fmt(lang);
  const period = `${t.from} ${r.since ? ltr(r.since) : t.start} ${t.to} ${r.until ? ltr(r.until) : t.now} (${t.utc})`;
  const ledger = r.ledger.logs
    .map((l) => {
      const cp = l.checkpoint ? `${t.checkpoint} ${f.n(l.checkpoint.size)} (${esc(l.checkpoint.signedBy.join(', '))})` : `${t.checkpoint}: ${t.none}`;
      return `<li>${t.log} <code dir="ltr">${esc(l.log || '-')}</code>: ${f.n(l.entries)} ${t.entries}, ${t.head} <code dir="ltr">${esc(l.headHash ? `${String(l.headSeq)}:${l.headHash.slice(0, 16)}…` : '-')}</code>; ${cp}</li>`;
    })
    .join('');
  const tot = r.total;
  const cards = [
    [t.calls, f.n(tot.calls)],
    ...OUTCOMES.filter((o) => o === 'accepted' || o === 'refused' || o === 'no-input' || o === 'abandoned').map((o) => [t.outcomes[o], `${f.n(tot.outcomes[o])} · ${f.pct(share(tot.outcomes[o], tot.calls))}`]),
    [t.decision, `${f.sec(tot.decision.medianMs)} / ${f.sec(tot.decision.p90Ms)}`],
    [t.purged, f.n(r.purged)],
  ]
    .map(([k, v]) => `<div class="card">${esc(String(k))}<b>${esc(String(v))}</b></div>`)
    .join('');
  const head = `<tr><th scope="col">${t.group}</th><th scope="col">${t.calls}</th>${OUTCOMES.map((o) => `<th scope="col">${t.outcomes[o]}</th>`).join('')}<th scope="col">${t.languages}</th><th scope="col">${t.fullNotice}</th><th scope="col">${t.withdrawals}</th><th scope="col">${t.paused}</th><th scope="col">${t.decision}</th><th scope="col">${t.erased}</th></tr>`;
  const body =
    tot.calls === 0
      ? `<p class="empty" id="empty">${t.empty}</p>`
      : `<div class="totals" id="totals">${cards}</div>
<h2>${t.chart}</h2>
<figure id="chart">${chart(r, lang)}</figure>
<h2>${t.by[r.by]}</h2>
<table id="figures"><thead>${head}</thead><tbody>${r.groups.map((g) => figuresRow(g, groupHtml(g.key, lang), lang)).join('')}${figuresRow(tot, esc(t.total), lang, 'total')}</tbody></table>`;
  return `<!DOCTYPE html>
<html lang="${lang}" dir="${lang === 'ar' ? 'rtl' : 'ltr'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t.title}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${t.title}</h1>
<p class="meta">${t.period} ${period} · ${t.by[r.by]} · ${t.generated} ${ltr(r.generatedAt)}</p>
<p class="meta">${t.ledger}: <span class="${r.ledger.ok ? 'ok' : 'bad'}" id="ledger-state">${r.ledger.ok ? t.verified : t.broken}</span></p>
<ul class="meta">${ledger}</ul>
${body}
<p class="foot">${t.aggregates}</p>
</body>
</html>
`;
}
