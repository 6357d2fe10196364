/**
 * The summary of an evidence bundle, in French and Arabic: what the checked data says, in words.
 * It is recomputed when a bundle is checked, on whatever runtime checks it, so it depends on the
 * data alone: language names come from the table below (not from the runtime's CLDR data), and
 * what a bundle made before campaign profiles holds gives the very text it was made with.
 */
import { holdEntryOf, type NoticeCatalogue, type StoredRecord } from '../ledger';
import type { EvidenceBundle } from './bundle';

const OUTCOME_FR: Record<string, string> = {
  accepted: "a accepté l'enregistrement",
  refused: "a refusé l'enregistrement",
  'no-input': "n'a pas choisi (aucune touche) : l'appel n'a pas été enregistré",
  abandoned: "a raccroché avant de choisir : l'appel n'a pas été enregistré",
  unavailable: "n'a pas pu être consulté (service indisponible) : l'appel n'a pas été enregistré",
  error: "n'a pas pu être consulté (erreur) : l'appel n'a pas été enregistré",
};
const OUTCOME_AR: Record<string, string> = {
  accepted: 'وافق على التسجيل',
  refused: 'رفض التسجيل',
  'no-input': 'لم يضغط على أي زر: لم تُسجَّل المكالمة',
  abandoned: 'أنهى المكالمة قبل الاختيار: لم تُسجَّل المكالمة',
  unavailable: 'لم يُسأل (الخدمة غير متاحة): لم تُسجَّل المكالمة',
  error: 'لم يُسأل (خطأ): لم تُسجَّل المكالمة',
};
/**
 * Names of the languages a notice is often spoken in here, in French and Arabic. The two built-in
 * languages are named alone (as in every summary before other languages existed); any other code is
 * given after its name, or alone when the table has no name for its language.
 */
const LANGUAGE_NAMES: Record<string, { fr: string; ar: string }> = {
  ar: { fr: 'arabe', ar: 'العربية' },
  fr: { fr: 'français', ar: 'الفرنسية' },
  zgh: { fr: 'amazighe standard marocain', ar: 'التمازيغية المغربية القياسية' },
  shi: { fr: 'chleuh', ar: 'تشلحيت' },
  tzm: { fr: 'amazighe de l’Atlas central', ar: 'الأمازيغية وسط الأطلس' },
  rif: { fr: 'rifain', ar: 'الريفية' },
  es: { fr: 'espagnol', ar: 'الإسبانية' },
  en: { fr: 'anglais', ar: 'الإنجليزية' },
};
const NAMED_ALONE = new Set(['ar', 'fr']);

/**
 * Unicode isolates: text kept apart from the sentence around it for the bidirectional algorithm, as
 * <bdi> does in HTML. Codes and profile names are Latin (left to right, LRI); a controller's name
 * may be in any script, so its own first letter sets its direction (FSI).
 */
const LRI = '\u2066';
const FSI = '\u2068';
const PDI = '\u2069';
const latin = (s: string) => `${LRI}${s}${PDI}`;
const isolated = (s: string) => `${FSI}${s}${PDI}`;

/** The language the caller answered in, as each summary names it. */
function languageNames(code: string): { fr: string; ar: string } {
  const known = LANGUAGE_NAMES[code] ?? LANGUAGE_NAMES[code.split('-')[0] as string];
  if (known && NAMED_ALONE.has(code)) return known;
  if (!known) return { fr: code, ar: latin(code) };
  return { fr: `${known.fr} (${code})`, ar: `${known.ar} (${latin(code)})` };
}

/**
 * The campaign profile: the call's, from its record (records made before profiles have none), and
 * the one the notice's catalogue was stored for when it says another (profiles with the same texts
 * and audio share a notice version, and its catalogue is stored once).
 */
function profileSentences(record: StoredRecord, notice: NoticeCatalogue | null): { fr: string[]; ar: string[] } {
  const fr: string[] = [];
  const ar: string[] = [];
  if (record.profile !== null) {
    fr.push(`Profil de campagne de l'appel : ${record.profile}.`);
    ar.push(`ملف الحملة الخاص بالمكالمة: ${latin(record.profile)}.`);
  }
  const stored = notice?.profile;
  if (typeof stored === 'string' && stored !== record.profile) {
    fr.push(record.profile === null ? `Profil de campagne de l'avis : ${stored}.` : `Le catalogue de cette version de l'avis a été enregistré pour le profil ${stored} (mêmes textes et mêmes fichiers audio).`);
    ar.push(record.profile === null ? `ملف الحملة الخاص بالإشعار: ${latin(stored)}.` : `سُجّل فهرس هذه النسخة من الإشعار لملف الحملة ${latin(stored)} (النصوص نفسها والملفات الصوتية نفسها).`);
  }
  return { fr, ar };
}

/**
 * The controller the notice's catalogue names. The catalogue's field is not part of the notice
 * version; its texts are: the summary says whether the name is in them.
 */
function controllerSentences(notice: NoticeCatalogue | null): { fr: string[]; ar: string[] } {
  const c = typeof notice?.controller === 'string' ? notice.controller.trim() : '';
  if (!notice || c === '') return { fr: [], ar: [] };
  if (Array.isArray(notice.prompts) && notice.prompts.some((p) => typeof p?.text === 'string' && p.text.includes(c))) {
    return { fr: [`Responsable du traitement nommé par l'avis : ${isolated(c)}.`], ar: [`المسؤول عن المعالجة كما يسميه الإشعار: ${isolated(c)}.`] };
  }
  return {
    fr: [`Le catalogue de l'avis nomme ${isolated(c)} responsable du traitement ; ce nom ne figure dans aucun de ses textes.`],
    ar: [`يسمي فهرس الإشعار ${isolated(c)} مسؤولًا عن المعالجة؛ ولا يرد هذا الاسم في أي من نصوصه.`],
  };
}

/**
 * The legal holds placed on the call (or on its caller) and released, in the order of their entries.
 * A bundle made before legal holds has none of these entries: its summary is the text it was made with.
 */
function holdSentences(entries: readonly { body: unknown }[]): { fr: string[]; ar: string[] } {
  const fr: string[] = [];
  const ar: string[] = [];
  for (const e of entries) {
    const h = typeof e.body === 'string' && e.body.includes('"hold"') ? holdEntryOf(e.body) : null;
    if (!h) continue;
    const reasonFr = `(motif : ${isolated(h.reason)})`;
    const reasonAr = `(السبب: ${isolated(h.reason)})`;
    if (h.type === 'hold') {
      fr.push(`Conservation légale (legal hold) ${h.hold} placée le ${when(h.at)} sur ${h.scope === 'call' ? 'cet appel' : 'les appels de cette personne'} ${reasonFr} : ni la purge ni l'effacement ne l'atteignent tant qu'elle dure.`);
      ar.push(`وُضع الحفظ القانوني ${latin(h.hold)} في ${when(h.at)} على ${h.scope === 'call' ? 'هذه المكالمة' : 'مكالمات هذا الشخص'} ${reasonAr}: لا يطالها الحذف الدوري ولا المحو ما دام قائمًا.`);
    } else {
      fr.push(`Conservation légale ${h.hold} levée le ${when(h.at)} ${reasonFr}.`);
      ar.push(`رُفع الحفظ القانوني ${latin(h.hold)} في ${when(h.at)} ${reasonAr}.`);
    }
  }
  return { fr, ar };
}

/** "2026-11-30 14:02:03 UTC" */
function when(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '?';
}

/**
 * What a call's record, notice and seal say, sentence by sentence, in French and Arabic: the
 * summary without its proof (the bundle's summary adds it; `ledger access` tells a caller this).
 */
export function describeCall(b: Pick<EvidenceBundle, 'uniqueId' | 'notice' | 'seal'> & { record: StoredRecord; entries: readonly { body: string }[] }): { fr: string[]; ar: string[] } {
  const r = b.record;
  const fr: string[] = [];
  const ar: string[] = [];
  const dirFr = r.direction === 'outbound' ? 'sortant' : 'entrant';
  const dirAr = r.direction === 'outbound' ? 'صادرة' : 'واردة';
  fr.push(`Appel ${b.uniqueId} (${dirFr}), reçu le ${when(r.enteredAt)}.`);
  ar.push(`المكالمة ${b.uniqueId} (${dirAr})، بتاريخ ${when(r.enteredAt)}.`);
  const profile = profileSentences(r, b.notice);
  fr.push(...profile.fr);
  ar.push(...profile.ar);
  if (r.noticeStartedAt) {
    fr.push(`L'avis d'enregistrement (version ${r.noticeVersion}) a commencé le ${when(r.noticeStartedAt)}${b.notice ? `; ses ${b.notice.prompts.length} textes sont joints` : ''}.`);
    ar.push(`بدأ إشعار التسجيل (النسخة ${r.noticeVersion}) في ${when(r.noticeStartedAt)}${b.notice ? `، ونصوصه الـ${b.notice.prompts.length} مرفقة` : ''}.`);
  }
  const controller = controllerSentences(b.notice);
  fr.push(...controller.fr);
  ar.push(...controller.ar);
  const outcome = r.outcome ?? 'unknown';
  const keyFr = r.digit ? ` (touche ${r.digit})` : '';
  const keyAr = r.digit ? ` (الزر ${r.digit})` : '';
  const lang = r.language ? languageNames(r.language) : null;
  fr.push(`La personne ${OUTCOME_FR[outcome] ?? outcome}${keyFr}${r.decidedAt ? ` le ${when(r.decidedAt)}` : ''}${lang ? `, en ${lang.fr}` : ''}.`);
  ar.push(`الشخص ${OUTCOME_AR[outcome] ?? outcome}${keyAr}${r.decidedAt ? ` في ${when(r.decidedAt)}` : ''}${lang ? `، باللغة ${lang.ar}` : ''}.`);
  if (r.recording?.startedAt) {
    fr.push(`L'enregistrement a commencé le ${when(r.recording.startedAt)}, après l'acceptation.`);
    ar.push(`بدأ التسجيل في ${when(r.recording.startedAt)}، بعد الموافقة.`);
  }
  const w = r.withdrawal;
  if (w) {
    const byFr = w.by === 'agent' ? "par l'agent, à la demande de la personne" : 'par la personne';
    const byAr = w.by === 'agent' ? 'من طرف الموظف بطلب من الشخص' : 'من طرف الشخص';
    fr.push(`Le consentement a été retiré ${byFr} le ${when(w.at)} : l'enregistrement s'est arrêté là${w.recording === 'deleted' ? ' et la partie enregistrée a été supprimée' : ''}.`);
    ar.push(`سُحبت الموافقة ${byAr} في ${when(w.at)}: توقف التسجيل${w.recording === 'deleted' ? ' وحُذف الجزء المسجَّل' : ''}.`);
  }
  if (b.seal) {
    const s = (b.seal.durationMs / 1000).toFixed(1);
    fr.push(`Fichier d'enregistrement scellé le ${when(b.seal.at)} : ${b.seal.size} octets, ${s} s, SHA-256 ${b.seal.sha256}.`);
    ar.push(`خُتم ملف التسجيل في ${when(b.seal.at)}: ${b.seal.size} بايت، ${s} ثانية، SHA-256 ${b.seal.sha256}.`);
    const enc = b.seal.encryption;
    if (enc) {
      fr.push(
        `Ce fichier est chiffré (age) : seule la clé du responsable du traitement ${enc.keyId} l'ouvre, tant que la clé propre à cet enregistrement est gardée au registre. Enregistrement en clair : ${enc.plaintext.size} octets, SHA-256 ${enc.plaintext.sha256}.`,
      );
      ar.push(
        `هذا الملف مُشفَّر (age): لا يفتحه إلا مفتاح المسؤول عن المعالجة ${enc.keyId}، ما دام المفتاح الخاص بهذا التسجيل محفوظاً في السجل. التسجيل غير المشفَّر: ${enc.plaintext.size} بايت، SHA-256 ${enc.plaintext.sha256}.`,
      );
    }
  }
  const holds = holdSentences(b.entries);
  fr.push(...holds.fr);
  ar.push(...holds.ar);
  if (r.erasedAt) {
    fr.push(`Les données personnelles de cet appel ont été effacées le ${when(r.erasedAt)} (enregistrement supprimé).`);
    ar.push(`مُحيت المعطيات الشخصية لهذه المكالمة في ${when(r.erasedAt)} (حُذف التسجيل).`);
  }
  return { fr, ar };
}

/** The summary of checked data, in French and Arabic (the same text every time for the same data). */
export function summarise(b: Pick<EvidenceBundle, 'uniqueId' | 'log' | 'entries' | 'notice' | 'seal'> & { record: StoredRecord; size: number; keyName: string }): { fr: string; ar: string } {
  const { fr, ar } = describeCall(b);
  fr.push(`Preuve : ${b.entries.length} entrée(s) du journal « ${b.log} », incluses dans un point de contrôle de ${b.size} entrées signé par la clé « ${b.keyName} ».`);
  ar.push(`الإثبات: ${b.entries.length} قيد من السجل «${b.log}»، مدرجة في نقطة تحقق من ${b.size} قيدًا موقعة بالمفتاح «${b.keyName}».`);
  return { fr: fr.join(' '), ar: ar.join(' ') };
}

// -------------------------------------------------------------------------------------------- verify
