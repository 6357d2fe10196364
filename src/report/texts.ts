/**
 * The report's own words, in French and Arabic (the languages its texts are written in), and the
 * names of the groups and languages it shows. Pure.
 */
import { NO_LANGUAGE, OTHER, type GroupBy } from './aggregate';
import type { Outcome } from '../domain/vocabulary';

/** The languages the report's texts exist in (the notice's languages are any). */
export const REPORT_LANGS = ['fr', 'ar'] as const;
export type ReportLang = (typeof REPORT_LANGS)[number];

export const T = {
  fr: {
    title: 'Rapport de consentement à l’enregistrement',
    period: 'Période',
    from: 'du',
    to: 'au',
    start: 'début',
    now: 'maintenant',
    zone: 'heure de',
    profile: 'Profil de campagne',
    generated: 'Généré le',
    by: {
      day: 'Par jour',
      week: 'Par semaine',
      month: 'Par mois',
      number: 'Par numéro appelé',
      language: 'Par langue',
      direction: 'Par sens',
      profile: 'Par profil de campagne',
    } as Record<GroupBy, string>,
    group: 'Groupe',
    calls: 'Appels',
    total: 'Total',
    outcomes: { accepted: 'Acceptés', refused: 'Refusés', 'no-input': 'Sans réponse', abandoned: 'Abandonnés', unavailable: 'Service indisponible', error: 'Erreurs' } as Record<Outcome, string>,
    languages: 'Langue de la réponse',
    noLanguage: 'sans langue',
    fullNotice: 'Notice complète demandée',
    withdrawals: 'Retraits (appelant / agent)',
    paused: 'Appels mis en pause',
    decision: 'Temps de décision (médiane / p90)',
    erased: 'Enregistrements effacés (droit d’opposition)',
    purged: 'Enregistrements purgés (durée de conservation)',
    purgedAll: 'Les purges ne sont pas comptées par profil : le rapport sans profil les donne pour tous.',
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
    directions: { inbound: 'entrants', outbound: 'sortants' } as Record<string, string>,
    numbers: { [OTHER]: 'autres numéros', unknown: 'inconnu', outbound: 'appels sortants' } as Record<string, string>,
    seconds: 's',
  },
  ar: {
    title: 'تقرير الموافقة على تسجيل المكالمات',
    period: 'الفترة',
    from: 'من',
    to: 'إلى',
    start: 'البداية',
    now: 'الآن',
    zone: 'بتوقيت',
    profile: 'ملف الحملة',
    generated: 'أُنشئ في',
    by: {
      day: 'حسب اليوم',
      week: 'حسب الأسبوع',
      month: 'حسب الشهر',
      number: 'حسب الرقم المطلوب',
      language: 'حسب اللغة',
      direction: 'حسب الاتجاه',
      profile: 'حسب ملف الحملة',
    } as Record<GroupBy, string>,
    group: 'المجموعة',
    calls: 'المكالمات',
    total: 'المجموع',
    outcomes: { accepted: 'موافقة', refused: 'رفض', 'no-input': 'بدون جواب', abandoned: 'إنهاء المكالمة', unavailable: 'الخدمة غير متاحة', error: 'أخطاء' } as Record<Outcome, string>,
    languages: 'لغة الجواب',
    noLanguage: 'بدون لغة',
    fullNotice: 'طلب الإشعار الكامل',
    withdrawals: 'سحب الموافقة (المتصل / الموظف)',
    paused: 'مكالمات أُوقف تسجيلها مؤقتًا',
    decision: 'مدة القرار (الوسيط / p90)',
    erased: 'تسجيلات محذوفة (حق التعرض)',
    purged: 'تسجيلات محذوفة (مدة الحفظ)',
    purgedAll: 'لا تُحسب عمليات الحذف حسب ملف الحملة: يعطيها التقرير دون تحديد الملف لجميع الملفات.',
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
    directions: { inbound: 'واردة', outbound: 'صادرة' } as Record<string, string>,
    numbers: { [OTHER]: 'أرقام أخرى', unknown: 'غير معروف', outbound: 'مكالمات صادرة' } as Record<string, string>,
    seconds: 'ث',
  },
};

const displayNames = new Map<ReportLang, Intl.DisplayNames | null>();

/**
 * The name of a language in the report's language (Intl.DisplayNames, from the runtime's CLDR data),
 * or null when the runtime has none for it (then the code is shown).
 */
export function languageName(code: string, lang: ReportLang): string | null {
  if (code === NO_LANGUAGE) return T[lang].noLanguage;
  if (!displayNames.has(lang)) {
    try {
      displayNames.set(lang, new Intl.DisplayNames([lang], { type: 'language', fallback: 'none' }));
    } catch {
      displayNames.set(lang, null);
    }
  }
  try {
    const name = displayNames.get(lang)?.of(code);
    return name && name.toLowerCase() !== code.toLowerCase() ? name : null;
  } catch {
    return null;
  }
}

/**
 * A group's label in the report's language, or null when its key is shown as it is (a date, a week,
 * a called number, a profile's name, a language with no name).
 */
export function groupName(key: string, by: GroupBy, lang: ReportLang): string | null {
  switch (by) {
    case 'language':
      return languageName(key, lang);
    case 'direction':
      return T[lang].directions[key] ?? null;
    case 'number':
      return T[lang].numbers[key] ?? null;
    default:
      return null;
  }
}
