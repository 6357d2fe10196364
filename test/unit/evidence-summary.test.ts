/**
 * The evidence bundle's summary (French and Arabic): a bundle made before campaign profiles gets the
 * very text it was made with (its check recomputes it), and a newer one names the call's profile,
 * the notice's controller, and any language, with Latin codes and names kept apart from the Arabic
 * sentence around them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { collectEvidence } from '../../src/evidence/bundle';
import { verifyBundle } from '../../src/evidence/bundle-check';
import { generateSigner, verifierOf } from '../../src/evidence/checkpoint';
import { Checkpointer } from '../../src/evidence/checkpointer';
import { summarise } from '../../src/evidence/summary';
import { DurableLedger } from '../../src/ledger/durable-ledger';
import { Journal } from '../../src/ledger/journal';
import { parseStoredRecord } from '../../src/ledger/record';
import type { NoticeCatalogue, RecordingSeal, StoredRecord } from '../../src/ledger/types';
import { createLogger } from '../../src/observability/logger';
import { noticeVersionOf } from '../../src/prompts/build';
import type { ConsentRecord } from '../../src/ports/ledger';
import { testRecord } from '../support/records';
import { MemoryLedgerStore } from '../support/memory-ledger-store';
import before from './fixtures/summaries-before-profiles.json';

const LRI = '\u2066';
const FSI = '\u2068';
const PDI = '\u2069';

const entries = [
  { seq: 1, prev: '0'.repeat(64), hash: '1'.repeat(64), body: '{}', proof: [] },
  { seq: 2, prev: '1'.repeat(64), hash: '2'.repeat(64), body: '{}', proof: [] },
];
const oldNotice: NoticeCatalogue = {
  version: 'v1',
  prompts: [
    { lang: 'ar', prompt: 'notice', text: 'نص', audioSha256: null },
    { lang: 'fr', prompt: 'notice', text: 'texte', audioSha256: null },
  ],
};
const seal: RecordingSeal & { at: string } = { server: 'pbx1', file: 'x.wav', size: 1000, durationMs: 12300, sha256: 'a'.repeat(64), reason: 'call-end', at: '2026-11-30T10:05:00.000Z' };

function stored(over: Partial<StoredRecord> = {}): StoredRecord {
  return { ...testRecord(), erasedAt: null, fullNotice: null, ...over };
}

function summary(record: StoredRecord, notice: NoticeCatalogue | null, s: typeof seal | null = null, log = 'pbx1'): { fr: string; ar: string } {
  return summarise({ uniqueId: record.uniqueId, log, entries, notice, seal: s, record, size: 40, keyName: 'centre' });
}

describe('evidence summary', () => {
  test('When a bundle was made before profiles (no profile in its record or catalogue, ar or fr), then its summary is the text it was made with', () => {
    const a = stored({ fullNotice: true, withdrawal: { at: '2026-11-30T10:01:00.000Z', by: 'agent', recording: 'deleted' } });
    const b = stored({ uniqueId: '1796032800.6', outcome: 'no-input', digit: null, language: 'fr', decidedAt: null, recording: null, erasedAt: '2026-12-01T08:00:00.000Z' });
    const c = stored({ uniqueId: '1796032800.7', outcome: 'abandoned', digit: null, language: null, decidedAt: null, recording: null });
    expect(summary(a, oldNotice, seal)).toEqual(before.a);
    expect(summary(b, null, null, '')).toEqual(before.b);
    expect(summary(c, oldNotice)).toEqual(before.c);
  });

  test('When the record has a profile and the catalogue a controller named in its texts, then the summary names both', () => {
    const notice: NoticeCatalogue = {
      ...oldNotice,
      profile: 'bank',
      controller: 'Banque Exemple SA',
      prompts: [{ lang: 'fr', prompt: 'notice', text: 'Banque Exemple SA souhaite enregistrer cet appel.', audioSha256: null }],
    };
    const s = summary(stored({ profile: 'bank' }), notice);
    expect(s.fr).toContain("reçu le 2026-11-30 09:59:00 UTC. Profil de campagne de l'appel : bank. L'avis d'enregistrement");
    expect(s.fr).toContain(`Responsable du traitement nommé par l'avis : ${FSI}Banque Exemple SA${PDI}.`);
    expect(s.ar).toContain(`ملف الحملة الخاص بالمكالمة: ${LRI}bank${PDI}.`);
    expect(s.ar).toContain(`المسؤول عن المعالجة كما يسميه الإشعار: ${FSI}Banque Exemple SA${PDI}.`);
    // The catalogue's profile is the call's: said once.
    expect(s.fr.match(/profil/gi)).toHaveLength(1);
  });

  test('When the catalogue names a controller its texts do not, or another profile (a shared notice version), then the summary says so', () => {
    const notice: NoticeCatalogue = { ...oldNotice, profile: 'default', controller: 'شركة المثال' };
    const s = summary(stored({ profile: 'bank' }), notice);
    expect(s.fr).toContain(`Le catalogue de l'avis nomme ${FSI}شركة المثال${PDI} responsable du traitement ; ce nom ne figure dans aucun de ses textes.`);
    expect(s.ar).toContain(`يسمي فهرس الإشعار ${FSI}شركة المثال${PDI} مسؤولًا عن المعالجة`);
    expect(s.fr).toContain('Le catalogue de cette version de l\'avis a été enregistré pour le profil default');
    expect(s.ar).toContain(`لملف الحملة ${LRI}default${PDI}`);
    // A record from before profiles with a catalogue that names one: the catalogue's is given as the notice's.
    const old = summary(stored(), { ...oldNotice, profile: 'default' });
    expect(old.fr).toContain("Profil de campagne de l'avis : default.");
    expect(old.fr).not.toContain("de l'appel");
    // An empty controller (unset in the configuration) is not named.
    expect(summary(stored({ profile: 'bank' }), { ...oldNotice, profile: 'bank', controller: '' }).fr).not.toContain('responsable');
  });

  test('When the caller answered in another language, then it is named with its code, the code kept left to right in Arabic', () => {
    const zgh = summary(stored({ language: 'zgh', profile: 'souss' }), null);
    expect(zgh.fr).toContain(', en amazighe standard marocain (zgh).');
    expect(zgh.ar).toContain(`، باللغة التمازيغية المغربية القياسية (${LRI}zgh${PDI}).`);
    expect(summary(stored({ language: 'shi-Tfng' }), null).fr).toContain(', en chleuh (shi-Tfng).');
    expect(summary(stored({ language: 'es' }), null).ar).toContain(`، باللغة الإسبانية (${LRI}es${PDI}).`);
    const other = summary(stored({ language: 'kab' }), null);
    expect(other.fr).toContain(', en kab.');
    expect(other.ar).toContain(`، باللغة ${LRI}kab${PDI}.`);
  });

  test('The summary is the same whatever language names the runtime has (it is recomputed where the bundle is checked)', () => {
    const record = stored({ language: 'zgh', profile: 'souss' });
    const expected = summary(record, null);
    const original = Intl.DisplayNames;
    try {
      (Intl as { DisplayNames: unknown }).DisplayNames = class {
        constructor() {
          throw new Error('no language names here');
        }
      };
      expect(summary(record, null)).toEqual(expected);
    } finally {
      (Intl as { DisplayNames: unknown }).DisplayNames = original;
    }
  });
});

describe('evidence bundle with a profile and a controller', () => {
  const quiet = createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));
  const clock = { now: () => new Date('2026-11-30T12:00:00Z'), setTimeout: () => ({ cancel: () => undefined }) };
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'civr-summary-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A call written through the ledger with `notice` stored, a checkpoint signed, and its bundle collected. */
  async function bundleOf(record: ConsentRecord, notice: NoticeCatalogue) {
    const store = new MemoryLedgerStore('pbx1');
    const journal = await Journal.open(join(dir, 'j.jsonl'));
    const ledger = new DurableLedger(store, journal, { writeTimeoutMs: 1000, retentionDays: 180, replayIntervalMs: 60_000, clock, logger: quiet });
    await store.saveNotice(notice);
    await ledger.recordDecision(record);
    await ledger.recordOutcome(record);
    const signer = generateSigner('centre');
    await new Checkpointer(store, signer, { intervalMs: 60_000, file: join(dir, 'cp.jsonl'), clock, logger: quiet }).signNow();
    const bundle = await collectEvidence(store, record.uniqueId, [verifierOf(signer)], clock.now());
    await ledger.close();
    await journal.close();
    return { bundle, key: verifierOf(signer) };
  }

  const prompts = [
    { lang: 'zgh', prompt: 'notice', text: 'ⴱⴰⵏⴽ Banque Exemple SA', audioSha256: null },
    { lang: 'fr', prompt: 'notice', text: 'Banque Exemple SA souhaite enregistrer cet appel.', audioSha256: null },
  ];

  test('When a call of a profile is bundled, then the summary names the profile and the controller, and the bundle verifies; a controller changed with its summary says it is not in the texts', async () => {
    const version = noticeVersionOf(prompts);
    const record = testRecord({ uniqueId: '1796032800.9', language: 'zgh', profile: 'bank', noticeVersion: version, recording: null });
    const { bundle, key } = await bundleOf(record, { version, profile: 'bank', controller: 'Banque Exemple SA', prompts });
    expect(bundle.summary.fr).toContain("Profil de campagne de l'appel : bank.");
    expect(bundle.summary.fr).toContain(`Responsable du traitement nommé par l'avis : ${FSI}Banque Exemple SA${PDI}.`);
    expect(bundle.summary.fr).toContain('en amazighe standard marocain (zgh)');
    expect(verifyBundle(JSON.parse(JSON.stringify(bundle)), key)).toMatchObject({ ok: true, problems: [] });

    // The catalogue's controller is not part of the notice version, its texts are: changed, the
    // summary no longer matches; a summary made again for it says the name is in none of the texts.
    const changed = JSON.parse(JSON.stringify(bundle)) as typeof bundle;
    changed.notice = { ...(changed.notice as NoticeCatalogue), controller: 'Autre Société' };
    const check = verifyBundle(changed, key);
    expect(check.problems).toEqual(['summary (fr): does not say what the checked data says', 'summary (ar): does not say what the checked data says']);
    const size = check.checkpoint?.size ?? 0;
    changed.summary = summarise({ ...changed, record: parseStoredRecord(JSON.stringify(changed.record)), size, keyName: key.name });
    expect(changed.summary.fr).toContain(`Le catalogue de l'avis nomme ${FSI}Autre Société${PDI} responsable du traitement ; ce nom ne figure dans aucun de ses textes.`);
    expect(verifyBundle(changed, key).ok).toBe(true);
  });

  test('When a call made before profiles is bundled with a catalogue stored before them, then the summary has no profile or controller and the bundle verifies', async () => {
    const version = noticeVersionOf(prompts);
    const record = testRecord({ uniqueId: '1796032800.8', language: 'ar', profile: null, noticeVersion: version, recording: null });
    const { bundle, key } = await bundleOf(record, { version, prompts });
    expect(bundle.record).not.toHaveProperty('profile');
    expect(bundle.summary.fr).not.toMatch(/profil|responsable/i);
    expect(verifyBundle(JSON.parse(JSON.stringify(bundle)), key)).toMatchObject({ ok: true, problems: [] });
  });
});
