/** The summary of an evidence bundle, in French and Arabic: what the checked data says, in words. */
import type { StoredRecord } from '../ledger';
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
const LANG_FR: Record<string, string> = { ar: 'arabe', fr: 'français' };
const LANG_AR: Record<string, string> = { ar: 'العربية', fr: 'الفرنسية' };

/** "2026-11-30 14:02:03 UTC" */
function when(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '?';
}

/** The summary of checked data, in French and Arabic (the same text every time for the same data). */
export function summarise(b: Pick<EvidenceBundle, 'uniqueId' | 'log' | 'entries' | 'notice' | 'seal'> & { record: StoredRecord; size: number; keyName: string }): { fr: string; ar: string } {
  const r = b.record;
  const fr: string[] = [];
  const ar: string[] = [];
  const dirFr = r.direction === 'outbound' ? 'sortant' : 'entrant';
  const dirAr = r.direction === 'outbound' ? 'صادرة' : 'واردة';
  fr.push(`Appel ${b.uniqueId} (${dirFr}), reçu le ${when(r.enteredAt)}.`);
  ar.push(`المكالمة ${b.uniqueId} (${dirAr})، بتاريخ ${when(r.enteredAt)}.`);
  if (r.noticeStartedAt) {
    fr.push(`L'avis d'enregistrement (version ${r.noticeVersion}) a commencé le ${when(r.noticeStartedAt)}${b.notice ? `; ses ${b.notice.prompts.length} textes sont joints` : ''}.`);
    ar.push(`بدأ إشعار التسجيل (النسخة ${r.noticeVersion}) في ${when(r.noticeStartedAt)}${b.notice ? `، ونصوصه الـ${b.notice.prompts.length} مرفقة` : ''}.`);
  }
  const outcome = r.outcome ?? 'unknown';
  const keyFr = r.digit ? ` (touche ${r.digit})` : '';
  const keyAr = r.digit ? ` (الزر ${r.digit})` : '';
  fr.push(`La personne ${OUTCOME_FR[outcome] ?? outcome}${keyFr}${r.decidedAt ? ` le ${when(r.decidedAt)}` : ''}${r.language ? `, en ${LANG_FR[r.language] ?? r.language}` : ''}.`);
  ar.push(`الشخص ${OUTCOME_AR[outcome] ?? outcome}${keyAr}${r.decidedAt ? ` في ${when(r.decidedAt)}` : ''}${r.language ? `، باللغة ${LANG_AR[r.language] ?? r.language}` : ''}.`);
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
  }
  if (r.erasedAt) {
    fr.push(`Les données personnelles de cet appel ont été effacées le ${when(r.erasedAt)} (enregistrement supprimé).`);
    ar.push(`مُحيت المعطيات الشخصية لهذه المكالمة في ${when(r.erasedAt)} (حُذف التسجيل).`);
  }
  fr.push(`Preuve : ${b.entries.length} entrée(s) du journal « ${b.log} », incluses dans un point de contrôle de ${b.size} entrées signé par la clé « ${b.keyName} ».`);
  ar.push(`الإثبات: ${b.entries.length} قيد من السجل «${b.log}»، مدرجة في نقطة تحقق من ${b.size} قيدًا موقعة بالمفتاح «${b.keyName}».`);
  return { fr: fr.join(' '), ar: ar.join(' ') };
}

// -------------------------------------------------------------------------------------------- verify
