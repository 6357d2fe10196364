/**
 * README.txt of an access folder, in French and Arabic: every file and what it holds, and the
 * recordings not in the folder (their sealed file, duration and server), one line each. Pure.
 */
import { when } from './letter';
import type { RecordingState } from './letter-texts';

/** A call's recording as the folder gives it. */
export interface RecordingEntry {
  uniqueId: string;
  state: RecordingState;
  /** The server holding the file (this one for records made before servers were named). */
  server: string;
  /** The sealed file (relative to recording.dir), else the record's path. */
  file: string;
  sealed: boolean;
  durationMs: number | null;
  sha256: string | null;
  /** The copy in the folder (recordings/…), when one was made. */
  copy: string | null;
  /** Why no copy could be made (state failed). */
  reason?: string;
}

const FILES: readonly [string, string, string][] = [
  ['README.txt', 'Ce fichier : la liste des fichiers du dossier.', 'هذا الملف: قائمة ملفات المجلد.'],
  ['lettre-fr.html, lettre-fr.txt', 'Lettre d’accompagnement, en français (page web et texte).', 'رسالة مرافقة باللغة الفرنسية (صفحة ويب ونص).'],
  ['lettre-ar.html, lettre-ar.txt', 'Lettre d’accompagnement, en arabe (page web et texte).', 'رسالة مرافقة باللغة العربية (صفحة ويب ونص).'],
  ['records.json, records.csv', 'Vos fiches de consentement, une par appel, telles que le registre les conserve (JSON et CSV).', 'سجلات موافقتكم، سجل لكل مكالمة، كما يحتفظ بها السجل (بصيغتي JSON وCSV).'],
];

const CALLS: [string, string] = [
  'Un fichier par appel : son résumé, ses entrées du registre (décision, issue, retrait, pauses, scellement de l’enregistrement…) et le texte de l’avis qui vous a été présenté.',
  'ملف لكل مكالمة: ملخصها، وقيودها في السجل (القرار، والنتيجة، وسحب الموافقة، والتوقيف المؤقت، وختم التسجيل…)، ونص الإشعار الذي عُرض عليكم.',
];

const COPIES: [string, string] = ['Copies déchiffrées de vos enregistrements.', 'نسخ مفكوكة التشفير من تسجيلاتكم.'];

const NOT_HERE: Record<'listed' | 'elsewhere' | 'failed', [string, string]> = {
  listed: ['non joint : une copie déchiffrée peut vous être remise', 'غير مرفق: يمكن أن تُسلَّم إليكم نسخة مفكوكة التشفير منه'],
  elsewhere: ['sur un autre serveur : une copie vous sera remise séparément', 'على خادم آخر: ستُسلَّم إليكم نسخة منه على حدة'],
  failed: ['n’a pas pu être joint : une copie vous sera remise séparément', 'تعذر إرفاقه: ستُسلَّم إليكم نسخة منه على حدة'],
};

function indent(text: string): string {
  return `    ${text}`;
}

function recordingLine(r: RecordingEntry): string[] {
  const state = r.state === 'listed' || r.state === 'elsewhere' || r.state === 'failed' ? NOT_HERE[r.state] : null;
  if (!state) return [];
  const duration = r.durationMs === null ? '-' : `${(r.durationMs / 1000).toFixed(1)} s`;
  return [
    `  ${r.uniqueId}`,
    indent(r.sealed ? `fichier scellé / الملف المختوم: ${r.file}` : `fichier / الملف: ${r.file}`),
    indent(`durée / المدة: ${duration}; serveur / الخادم: ${r.server}${r.sha256 ? `; SHA-256: ${r.sha256}` : ''}`),
    indent(state[0]),
    indent(state[1]),
  ];
}

/** The README of a folder holding `files` (relative paths), made at `generatedAt`. */
export function readmeText(files: readonly string[], recordings: readonly RecordingEntry[], generatedAt: string): string {
  const lines: string[] = [
    `Dossier d’accès à vos données personnelles, établi le ${when(generatedAt)}.`,
    `ملف الولوج إلى معطياتكم الشخصية، أُعدّ بتاريخ ${when(generatedAt)}.`,
    '',
    'Fichiers / الملفات',
    '',
  ];
  for (const [name, frText, arText] of FILES) lines.push(name, indent(frText), indent(arText), '');
  const calls = files.filter((f) => f.startsWith('calls/'));
  if (calls.length > 0) lines.push('calls/', indent(CALLS[0]), indent(CALLS[1]), ...calls.map((f) => `  ${f}`), '');
  const copies = files.filter((f) => f.startsWith('recordings/'));
  if (copies.length > 0) lines.push('recordings/', indent(COPIES[0]), indent(COPIES[1]), ...copies.map((f) => `  ${f}`), '');
  const notHere = recordings.flatMap(recordingLine);
  if (notHere.length > 0) lines.push('Enregistrements non joints / التسجيلات غير المرفقة', '', ...notHere, '');
  return `${lines.join('\n')}`;
}
