/**
 * The words of the cover letter of an access folder, in French and in Modern Standard Arabic: what
 * the data is, why it is kept, for how long, who is responsible, and the person's rights under Law
 * 09-08 (access, art. 7; rectification, art. 8; opposition, art. 9), how to ask for erasure and how to
 * complain to the CNDP. Counts are given as "label: n" in Arabic, which needs no agreement of the noun
 * with the number. Pure.
 */
import type { Inline, Line } from './document';

export const LETTER_LANGS = ['fr', 'ar'] as const;
export type LetterLang = (typeof LETTER_LANGS)[number];

/** What became of a call's recording, as the letter says it. */
export type RecordingState = 'none' | 'deleted' | 'listed' | 'copied' | 'elsewhere' | 'failed';

export interface Words {
  title: string;
  prepared: (date: string) => Line;
  greeting: string;
  intro: Line;
  what: string;
  calls: (n: number, inbound: number, outbound: number) => Line;
  each: Line;
  recorded: (m: number) => Line;
  none: Line;
  erased: Line;
  controller: (c: Inline) => Line;
  campaign: (name: string) => Line;
  cndp: (ref: Inline | null) => Line;
  why: string;
  purposes: (p: Inline) => Line;
  evidence: Line;
  recipients: (r: Inline) => Line;
  howLong: string;
  retention: (text: Inline, days: number) => Line;
  notConfigured: Line;
  yourCalls: string;
  head: readonly string[];
  direction: Readonly<Record<'inbound' | 'outbound', string>>;
  outcome: Readonly<Record<string, string>>;
  recording: Readonly<Record<RecordingState, string>>;
  withdrawnBy: Readonly<Record<'caller' | 'agent', string>>;
  recordings: string;
  copies: (m: number) => Line;
  listed: (m: number) => Line;
  elsewhere: (k: number, servers: string) => Line;
  failed: (k: number) => Line;
  rights: string;
  rightsList: readonly Line[];
  contact: Line;
  contactOf: (c: Inline, how: Inline) => Line;
  complaint: Line;
  files: string;
  filesLine: Line;
  closing: string;
  signature: string;
  unknown: string;
}

const ltr = (s: string): Inline => ({ ltr: s });
/** French: the singular for 0 and 1. */
const fr = (n: number, one: string, many: string) => `${n} ${n <= 1 ? one : many}`;

const LAW_FR = 'loi n° 09-08 relative à la protection des personnes physiques à l’égard du traitement des données à caractère personnel';
const LAW_AR = 'القانون رقم 09.08 المتعلق بحماية الأشخاص الذاتيين تجاه معالجة المعطيات ذات الطابع الشخصي';
const CNDP_FR = 'Commission nationale de contrôle de la protection des données à caractère personnel (CNDP)';
const CNDP_AR = 'اللجنة الوطنية لمراقبة حماية المعطيات ذات الطابع الشخصي';

const FR: Words = {
  title: 'Accès à vos données personnelles',
  prepared: (date) => [`Dossier établi le ${date}.`],
  greeting: 'Madame, Monsieur,',
  intro: [
    `Vous nous avez demandé quelles données nous conservons à votre sujet, comme l’article 7 de la ${LAW_FR} vous en donne le droit. Ce dossier les contient toutes. ` +
      'Il a été établi à partir de votre numéro de téléphone, que notre registre ne conserve pas en clair : il n’en garde qu’un pseudonyme, calculé de sorte que le numéro ne puisse pas en être retrouvé.',
  ],
  what: 'Les données que nous conservons',
  calls: (n, inbound, outbound) => [
    `Notre registre des consentements contient ${fr(n, 'appel', 'appels')} vous concernant : ${fr(inbound, 'appel que vous avez passé', 'appels que vous avez passés')}, ${fr(outbound, 'appel que nous vous avons passé', 'appels que nous vous avons passés')}.`,
  ],
  each: [
    'Pour chaque appel, il garde : la date et l’heure, le sens de l’appel, la version de l’avis d’enregistrement qui vous a été présenté (son texte est joint), ' +
      'votre choix (la touche pressée et la langue), si vous avez demandé l’avis complet et, le cas échéant, le retrait de votre consentement et les pauses de l’enregistrement pendant la conversation.',
  ],
  recorded: (m) => [`Un appel n’est enregistré que si vous l’avez accepté. Enregistrements conservés : ${m}.`],
  none: ['Notre registre des consentements ne contient aucune donnée associée à votre numéro.'],
  erased: [
    'Les données que vous nous avez demandé d’effacer, et celles dont la durée de conservation est écoulée, ont été supprimées : elles ne figurent plus dans le registre et ne peuvent donc pas vous être communiquées. ' +
      'Le registre ne garde de ces suppressions qu’une trace qui ne contient aucune donnée personnelle.',
  ],
  controller: (c) => ['Responsable du traitement : ', c],
  campaign: (name) => ['Campagne : ', ltr(name), '.'],
  cndp: (ref) => (ref ? ['Déclaration ou autorisation auprès de la CNDP : ', ref, '.'] : ['Référence de la déclaration auprès de la CNDP : non renseignée.']),
  why: 'Pourquoi ces données sont conservées',
  purposes: (p) => ['Les enregistrements des appels servent à : ', p, '.'],
  evidence: [
    'Votre choix et l’avis qui vous a été présenté sont conservés parce que le responsable du traitement doit pouvoir prouver qu’il vous a informé et qu’il a obtenu votre consentement avant d’enregistrer ' +
      '(loi n° 09-08, articles 4 et 5) ; ils attestent aussi votre refus, le cas échéant.',
  ],
  recipients: (r) => ['Destinataires des enregistrements : ', r, '.'],
  howLong: 'Combien de temps',
  retention: (text, days) => ['Durée de conservation annoncée : ', text, `. Le registre et les enregistrements de ces appels sont supprimés automatiquement ${fr(days, 'jour', 'jours')} après chaque appel.`],
  notConfigured: [
    'Cette campagne est terminée : ce que l’avis vous en a dit (ses finalités, les destinataires, vos droits) figure dans le texte de l’avis joint à chacun de ses appels, dans le dossier ',
    ltr('calls/'),
    '.',
  ],
  yourCalls: 'Vos appels',
  head: ['Date (UTC)', 'Appel', 'Sens', 'Votre choix', 'Enregistrement', 'Retrait du consentement', 'Pauses'],
  direction: { inbound: 'vous avez appelé', outbound: 'nous vous avons appelé' },
  outcome: {
    accepted: 'enregistrement accepté',
    refused: 'enregistrement refusé',
    'no-input': 'aucune touche pressée',
    abandoned: 'appel raccroché avant le choix',
    unavailable: 'service indisponible : non enregistré',
    error: 'erreur : non enregistré',
    none: 'appel en cours',
  },
  recording: {
    none: 'aucun',
    deleted: 'supprimé',
    listed: 'conservé, non joint',
    copied: 'copie jointe',
    elsewhere: 'conservé sur un autre serveur',
    failed: 'conservé ; copie remise à part',
  },
  withdrawnBy: { caller: 'par vous', agent: 'par l’agent, à votre demande' },
  recordings: 'Vos enregistrements',
  copies: (m) => [`Une copie déchiffrée de chacun de ces enregistrements se trouve dans le dossier `, ltr('recordings/'), ` (${fr(m, 'fichier', 'fichiers')}).`],
  listed: (m) => [
    `Vos enregistrements (${m}) sont listés dans le fichier `,
    ltr('README.txt'),
    '. Ils ne sont pas joints à ce dossier : une copie déchiffrée peut vous en être remise par le responsable du traitement, qui les ouvre avec sa clé.',
  ],
  elsewhere: (k, servers) => [`${fr(k, 'enregistrement se trouve', 'enregistrements se trouvent')} sur un autre serveur (`, ltr(servers), ') : une copie vous en sera remise séparément.'],
  failed: (k) => [`${fr(k, 'enregistrement n’a pas pu être joint', 'enregistrements n’ont pas pu être joints')} à ce dossier : une copie vous en sera remise séparément.`],
  rights: 'Vos droits',
  rightsList: [
    ['Droit d’accès (article 7) : c’est l’objet de ce dossier ; vous pouvez le demander à nouveau.'],
    ['Droit de rectification (article 8) : faire corriger, compléter ou mettre à jour des données inexactes ou incomplètes, et faire effacer ou verrouiller celles dont le traitement n’est pas conforme à la loi.'],
    ['Droit d’opposition (article 9) : vous opposer, pour des motifs légitimes, au traitement de vos données ; vous pouvez aussi retirer votre consentement à l’enregistrement, même pendant un appel enregistré.'],
    ['Effacement : vous pouvez demander l’effacement de vos enregistrements et de vos données personnelles ; le registre ne gardera alors de vos appels que votre choix, sans rien qui permette de vous identifier.'],
  ],
  contact: ['Pour exercer ces droits, adressez-vous au responsable du traitement :'],
  contactOf: (c, how) => [c, ' : ', how, '.'],
  complaint: [`Si vous estimez que vos droits ne sont pas respectés, vous pouvez adresser une réclamation à la ${CNDP_FR} : `, ltr('www.cndp.ma'), '.'],
  files: 'Contenu de ce dossier',
  filesLine: ['La liste des fichiers de ce dossier, et ce que contient chacun, est dans le fichier ', ltr('README.txt'), '.'],
  closing: 'Nous vous prions d’agréer, Madame, Monsieur, nos salutations distinguées.',
  signature: 'Le responsable du traitement',
  unknown: 'non précisé',
};

const AR: Words = {
  title: 'الولوج إلى معطياتكم الشخصية',
  prepared: (date) => ['ملف أُعدّ بتاريخ ', ltr(date), '.'],
  greeting: 'سيدتي، سيدي،',
  intro: [
    `طلبتم منا معرفة المعطيات التي نحتفظ بها بشأنكم، وهو حق تخوله لكم المادة 7 من ${LAW_AR}. ويتضمن هذا الملف جميع هذه المعطيات. ` +
      'وقد أُعدّ انطلاقًا من رقم هاتفكم، الذي لا يحتفظ به سجلنا بشكل مقروء: فهو لا يحتفظ إلا باسم مستعار محسوب بطريقة لا تسمح باسترجاع الرقم منه.',
  ],
  what: 'المعطيات التي نحتفظ بها',
  calls: (n, inbound, outbound) => [`عدد المكالمات التي تخصكم في سجل الموافقات لدينا: ${n} (مكالمات أجريتموها: ${inbound}؛ مكالمات أجريناها معكم: ${outbound}).`],
  each: [
    'ويحتفظ السجل عن كل مكالمة بما يلي: التاريخ والساعة، واتجاه المكالمة، ونسخة إشعار التسجيل الذي عُرض عليكم (نصه مرفق)، واختياركم (الزر الذي ضغطتم عليه واللغة)، ' +
      'وما إذا طلبتم الإشعار الكامل، وعند الاقتضاء سحب موافقتكم وفترات توقيف التسجيل مؤقتًا أثناء المحادثة.',
  ],
  recorded: (m) => [`لا تُسجَّل المكالمة إلا إذا وافقتم على ذلك. عدد التسجيلات المحفوظة: ${m}.`],
  none: ['لا يتضمن سجل الموافقات لدينا أي معطيات مرتبطة برقمكم.'],
  erased: [
    'أما المعطيات التي طلبتم محوها، وتلك التي انقضت مدة حفظها، فقد حُذفت: لم تعد موجودة في السجل، ولذلك لا يمكن تسليمها إليكم. ' +
      'ولا يحتفظ السجل من عمليات الحذف هذه إلا بأثر لا يتضمن أي معطيات شخصية.',
  ],
  controller: (c) => ['المسؤول عن المعالجة: ', c],
  campaign: (name) => ['الحملة: ', ltr(name), '.'],
  cndp: (ref) => (ref ? [`رقم التصريح أو الإذن لدى ${CNDP_AR}: `, ref, '.'] : [`مرجع التصريح لدى ${CNDP_AR}: غير محدد.`]),
  why: 'لماذا نحتفظ بهذه المعطيات',
  purposes: (p) => ['تُستعمل تسجيلات المكالمات لأجل: ', p, '.'],
  evidence: [
    'ونحتفظ باختياركم وبالإشعار الذي عُرض عليكم لأن المسؤول عن المعالجة ملزم بأن يثبت أنه أخبركم وحصل على موافقتكم قبل التسجيل (القانون رقم 09.08، المادتان 4 و5)؛ ' +
      'كما يثبتان رفضكم عند الاقتضاء.',
  ],
  recipients: (r) => ['الجهات التي تتلقى التسجيلات: ', r, '.'],
  howLong: 'مدة الحفظ',
  retention: (text, days) => ['مدة الحفظ المعلنة: ', text, `. ويُحذف السجل وتسجيلات هذه المكالمات تلقائيًا بعد ${days} يومًا من كل مكالمة.`],
  notConfigured: ['انتهت هذه الحملة: ما أخبركم به الإشعار بشأنها (أغراضها، والجهات التي تتلقى التسجيلات، وحقوقكم) موجود في نص الإشعار المرفق بكل مكالمة من مكالماتها، في المجلد ', ltr('calls/'), '.'],
  yourCalls: 'مكالماتكم',
  head: ['التاريخ (UTC)', 'المكالمة', 'الاتجاه', 'اختياركم', 'التسجيل', 'سحب الموافقة', 'التوقيف المؤقت'],
  direction: { inbound: 'اتصلتم بنا', outbound: 'اتصلنا بكم' },
  outcome: {
    accepted: 'موافقة على التسجيل',
    refused: 'رفض التسجيل',
    'no-input': 'لم يُضغط أي زر',
    abandoned: 'إنهاء المكالمة قبل الاختيار',
    unavailable: 'الخدمة غير متاحة: لم تُسجَّل',
    error: 'خطأ: لم تُسجَّل',
    none: 'مكالمة جارية',
  },
  recording: {
    none: 'لا يوجد',
    deleted: 'حُذف',
    listed: 'محفوظ، غير مرفق',
    copied: 'نسخة مرفقة',
    elsewhere: 'محفوظ على خادم آخر',
    failed: 'محفوظ؛ تُسلَّم نسخته على حدة',
  },
  withdrawnBy: { caller: 'من طرفكم', agent: 'من طرف الموظف بطلب منكم' },
  recordings: 'تسجيلاتكم',
  copies: (m) => ['توجد في المجلد ', ltr('recordings/'), ` نسخة مفكوكة التشفير من كل تسجيل من هذه التسجيلات (عدد الملفات: ${m}).`],
  listed: (m) => [
    `تسجيلاتكم (عددها: ${m}) مدرجة في الملف `,
    ltr('README.txt'),
    '. وهي غير مرفقة بهذا الملف: يمكن أن يسلّمكم المسؤول عن المعالجة نسخة مفكوكة التشفير منها، إذ يفتحها بمفتاحه.',
  ],
  elsewhere: (k, servers) => ['عدد التسجيلات الموجودة على خادم آخر (', ltr(servers), `): ${k}؛ وستُسلَّم إليكم نسخة منها على حدة.`],
  failed: (k) => [`عدد التسجيلات التي تعذر إرفاقها بهذا الملف: ${k}؛ وستُسلَّم إليكم نسخة منها على حدة.`],
  rights: 'حقوقكم',
  rightsList: [
    ['حق الولوج (المادة 7): وهو موضوع هذا الملف، ويمكنكم طلبه من جديد.'],
    ['حق التصحيح (المادة 8): تصحيح المعطيات غير الصحيحة أو الناقصة أو إتمامها أو تحيينها، ومحو أو إغلاق المعطيات التي تتم معالجتها خلافًا للقانون.'],
    ['حق التعرض (المادة 9): التعرض، لأسباب مشروعة، على معالجة معطياتكم؛ ويمكنكم أيضًا سحب موافقتكم على التسجيل، ولو أثناء مكالمة مسجلة.'],
    ['المحو: يمكنكم طلب محو تسجيلاتكم ومعطياتكم الشخصية؛ ولن يحتفظ السجل حينئذ من مكالماتكم إلا باختياركم، دون أي شيء يسمح بالتعرف عليكم.'],
  ],
  contact: ['لممارسة هذه الحقوق، توجهوا إلى المسؤول عن المعالجة:'],
  contactOf: (c, how) => [c, ': ', how, '.'],
  complaint: [`إذا رأيتم أن حقوقكم لم تُحترم، يمكنكم تقديم شكاية إلى ${CNDP_AR}: `, ltr('www.cndp.ma'), '.'],
  files: 'محتوى هذا الملف',
  filesLine: ['توجد قائمة ملفات هذا المجلد، وما يتضمنه كل منها، في الملف ', ltr('README.txt'), '.'],
  closing: 'وتفضلوا بقبول فائق عبارات التقدير والاحترام.',
  signature: 'المسؤول عن المعالجة',
  unknown: 'غير محدد',
};

export const WORDS: Readonly<Record<LetterLang, Words>> = { fr: FR, ar: AR };
