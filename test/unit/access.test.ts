/**
 * A person's right of access (`ledger access`), over the in-memory store: two callers with calls in
 * several profiles and two logs, inbound and outbound; the folder holds exactly one caller's records,
 * calls, notices and recordings and nothing of the other's (a stale index entry and a forged link to
 * another call's entry included), its letter names the right controllers and retentions in French and
 * Arabic, it is 0700 with files 0600, a folder that is not new or empty is refused, and the access is
 * logged as one entry without the number. (The same through Redis and the CLI: test/e2e/access.test.ts.)
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { giveAccess, type AccessReport, type RecordingOpener } from '../../src/access';
import { recordingOpenerFor, runAccess } from '../../src/cli/access-command';
import { profileSetOf } from '../../src/config/profiles';
import type { Config } from '../../src/config/schema';
import { verifyLedger } from '../../src/evidence/verify';
import { sealEvent } from '../../src/evidence/seal';
import { ChainAppender } from '../../src/ledger/appender';
import { eventFor } from '../../src/ledger/durable-ledger';
import { parseCsv } from '../../src/ledger/format';
import { pseudonymise } from '../../src/ledger/pseudonym';
import { AdminUsageError, type AdminContext } from '../../src/ledger/query';
import { eraseRecord, serialiseRecord, sha256Hex } from '../../src/ledger/record';
import { STAGE, type NoticeCatalogue, type StoredRecord } from '../../src/ledger/types';
import type { ConsentRecord } from '../../src/ports/ledger';
import { captureIo } from '../support/cli-io';
import { MemoryLedgerStore } from '../support/memory-ledger-store';
import { testConfig, testRecord, testRecording, TEST_PSEUDONYM_KEY } from '../support/records';

const NOW = Date.parse('2026-12-01T03:00:00.000Z');
const A = '06 61 23 45 67';
const B = '0662000000';
const PA = pseudonymise(A, TEST_PSEUDONYM_KEY);
const PB = pseudonymise(B, TEST_PSEUDONYM_KEY);

const legal = (controller: string, cndp: string, fr: string, ar: string) => ({
  controller,
  cndpReference: cndp,
  purposes: { fr: `la qualité du service de ${controller}`, ar: `جودة خدمة ${controller}` },
  recipients: { fr: `le service qualité de ${controller}`, ar: `مصلحة الجودة لدى ${controller}` },
  retention: { fr, ar },
  rights: { fr: `écrivez à dpo@${cndp.toLowerCase()}.ma`, ar: `راسلونا على dpo@${cndp.toLowerCase()}.ma` },
});

let dir: string;
let config: Config;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'civr-access-'));
  config = testConfig(
    {
      server: { id: 'pbx-1' },
      // Unit tests never reach a Redis: the CLI's refusals come before it connects, and this port is closed.
      redis: { url: 'redis://127.0.0.1:1/0' },
      legal: legal('Société Exemple SARL', 'D-000-2026', 'six mois', 'ستة أشهر'),
      profiles: {
        bank: { legal: legal('Banque Exemple', 'A-123-2026', 'trente jours', 'ثلاثون يومًا'), ledger: { retentionDays: 30 } },
        insurer: { legal: legal('Assurances Atlas', 'A-456-2026', 'un an', 'سنة واحدة'), ledger: { retentionDays: 365 } },
        shop: { legal: legal('Boutique Zénith', 'A-789-2026', 'deux mois', 'شهران'), ledger: { retentionDays: 60 } },
      },
    },
    dir,
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function ctx(store: MemoryLedgerStore): AdminContext {
  let id = 0;
  return {
    store,
    now: () => new Date(NOW),
    serverId: 'pbx-1',
    recordingDir: join(dir, 'rec'),
    retentionDays: 180,
    profileRetention: { default: 180, bank: 30, insurer: 365, shop: 60 },
    pseudonymKey: TEST_PSEUDONYM_KEY,
    chunk: 2,
    newId: () => `admin-${(id += 1)}`,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

function call(n: number, pseudonym: string, profile: string | null, over: Partial<ConsentRecord> = {}): ConsentRecord {
  const t = NOW - 10 * 86_400_000 + n * 60_000;
  return testRecord({
    uniqueId: `${Math.floor(t / 1000)}.${n}`,
    callerPseudonym: pseudonym,
    profile,
    enteredAt: iso(t),
    noticeStartedAt: iso(t + 100),
    decidedAt: iso(t + 4000),
    recording: testRecording(`/rec/2026/11/21/${Math.floor(t / 1000)}.${n}.wav`, 'pbx-1', iso(t + 4010)),
    noticeVersion: profile === 'bank' ? 'v-bank' : 'v1',
    ...over,
  });
}

/** The letter's French, with its no-break spaces (before : ; ? !, after n°). */
const nb = (s: string) => s.replace(/ ([:;?!])/g, '\u00a0$1').replace(/n° /g, 'n°\u00a0');

const refused = { outcome: 'refused' as const, digit: '2', recording: null };

/** Two callers' calls over two logs (pbx-1, pbx-2) and four profiles. */
async function ledger() {
  const store = new MemoryLedgerStore('pbx-1', { nowMs: () => NOW });
  const other = store.forLog('pbx-2');
  await store.registerSelf();
  await other.registerSelf();
  const a = {
    inDefault: call(1, PA, null),
    outBank: call(2, PA, 'bank', { direction: 'outbound', calledNumber: '', ...refused }),
    elsewhere: call(3, PA, 'insurer', { recording: testRecording('/rec/x/3.wav', 'pbx-2', iso(NOW)), pauses: [{ start: iso(NOW - 9e8), end: iso(NOW - 8.9e8) }] }),
    withdrawn: call(4, PA, 'bank', { recording: { startedAt: iso(NOW - 9e8), file: null }, withdrawal: { at: iso(NOW - 8e8), by: 'agent', recording: 'deleted' } }),
    erased: call(5, PA, 'bank'),
  };
  const b = { inShop: call(6, PB, 'shop'), outDefault: call(7, PB, null, { direction: 'outbound', calledNumber: '', ...refused }), inBank: call(8, PB, 'bank', refused) };
  const here = new ChainAppender(store);
  const there = new ChainAppender(other);
  const put = (ap: ChainAppender, kind: 'decision' | 'outcome' | 'withdrawal' | 'pause', r: ConsentRecord) => ap.submit(eventFor(kind, r, iso(Date.parse(r.enteredAt) + 5000), `${kind}-${r.uniqueId}`)).done;
  for (const r of [a.inDefault, a.outBank, a.withdrawn, a.erased, b.inShop, b.outDefault, b.inBank]) {
    await put(here, 'decision', r);
    await put(here, 'outcome', r);
  }
  await put(there, 'decision', a.elsewhere);
  await put(there, 'pause', a.elsewhere);
  await put(here, 'withdrawal', a.withdrawn);
  const seal = { server: 'pbx-1', file: '2026/11/21/a.wav', sha256: 'ab'.repeat(32), size: 96044, durationMs: 12_300, reason: 'call-end' as const };
  await here.submit(sealEvent(a.inDefault.uniqueId, Date.parse(a.inDefault.enteredAt), seal, new Date(NOW - 8e8))).done;
  await here.submit(sealEvent(b.inShop.uniqueId, Date.parse(b.inShop.enteredAt), { ...seal, file: 'b.wav', sha256: 'cd'.repeat(32) }, new Date(NOW - 8e8))).done;
  // A's call 5 was erased: its pseudonym is gone, and it is out of their index.
  const erased: StoredRecord = eraseRecord({ ...a.erased, erasedAt: null }, new Date(NOW - 1e8));
  const json = serialiseRecord(erased);
  const body = { type: 'erasure', at: iso(NOW - 1e8), uniqueId: erased.uniqueId, outcome: erased.outcome, recordDigest: sha256Hex(json), recording: 'deleted' };
  await here.submit({ eventId: 'erase-5', body: JSON.stringify(body), record: { uniqueId: erased.uniqueId, json, stage: STAGE.erasure, enteredMs: Date.parse(erased.enteredAt), callerPseudonym: PA, callerIndex: 'remove' } }).done;
  const notice = (version: string, profile: string, controller: string, fr: string, ar: string): NoticeCatalogue => ({
    version,
    profile,
    controller,
    prompts: [
      { lang: 'ar', prompt: 'notice', text: ar, audioSha256: '1'.repeat(64) },
      { lang: 'fr', prompt: 'notice', text: fr, audioSha256: '2'.repeat(64) },
    ],
  });
  await store.saveNotice(notice('v1', 'default', 'Société Exemple SARL', 'Société Exemple SARL enregistre cet appel.', 'تسجل شركة المثال هذه المكالمة.'));
  await store.saveNotice(notice('v-bank', 'bank', 'Banque Exemple', 'Banque Exemple enregistre cet appel.', 'يسجل بنك المثال هذه المكالمة.'));
  return { store, a, b };
}

/** Every file under `root`, relative, with its content. */
function walk(root: string, rel = ''): { path: string; mode: number; text: string }[] {
  return readdirSync(join(root, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? walk(root, r) : [{ path: r, mode: statSync(join(root, r)).mode & 0o777, text: readFileSync(join(root, r), 'utf8') }];
  });
}

/** An opener that writes a fake decrypted copy (mode 0644: the folder makes it 0600). */
function fakeOpener(): RecordingOpener & { calls: string[] } {
  const calls: string[] = [];
  const opener = async (uniqueId: string, outPath: string) => {
    calls.push(uniqueId);
    writeFileSync(outPath, `RIFF decrypted ${uniqueId}`, { mode: 0o644 });
    return { ok: true as const };
  };
  return Object.assign(opener, { calls });
}

const lastBody = (store: MemoryLedgerStore) => JSON.parse(String(store.state.entries[store.state.entries.length - 1]?.body)) as Record<string, unknown>;

async function access(store: MemoryLedgerStore, out: string, opener: RecordingOpener | null = null, number = A): Promise<AccessReport> {
  return giveAccess(ctx(store), number, { outDir: out, profiles: profileSetOf(config), opener });
}

describe('ledger access', () => {
  test("When a caller asks for access, then the folder holds every record of theirs (inbound and outbound, every profile and log) and their recordings, and nothing of another caller's", async () => {
    const { store, a, b } = await ledger();
    // A stale index entry: B's call listed under A; and A's first call's index naming one of B's entries.
    store.state.callers.get(PA)?.add(b.inShop.uniqueId);
    const bEntry = store.state.records.get(b.inShop.uniqueId)?.seq as number;
    store.state.records.get(a.inDefault.uniqueId)?.events.set('forged', bEntry);
    const opener = fakeOpener();
    const out = join(dir, 'access-a');

    const r = await access(store, out, opener);
    const mine = [a.inDefault, a.outBank, a.elsewhere, a.withdrawn].map((x) => x.uniqueId);
    expect(r).toMatchObject({ records: 4, recordings: 1, listed: 0, failures: [], elsewhere: [{ uniqueId: a.elsewhere.uniqueId, server: 'pbx-2' }], unreadable: 0, incomplete: 0 });
    expect(r.profiles.sort()).toEqual(['bank', 'default', 'insurer']);
    expect(opener.calls).toEqual([a.inDefault.uniqueId]);

    const files = walk(out);
    const names = files.map((f) => f.path).sort();
    expect(names).toEqual(
      [...mine.map((id) => `calls/${id}.json`), 'README.txt', 'lettre-ar.html', 'lettre-ar.txt', 'lettre-fr.html', 'lettre-fr.txt', 'records.csv', 'records.json', `recordings/${a.inDefault.uniqueId}.wav`].sort(),
    );
    expect(r.files.sort()).toEqual(names);
    // Nothing of B (their calls, their pseudonym, their number), nor of A's erased call, nor any number.
    const all = files.map((f) => f.text).join('\n');
    for (const x of [...Object.values(b).map((c) => c.uniqueId), PB, a.erased.uniqueId, 'b.wav', 'cd'.repeat(32), 'Boutique Zénith', '662000000', '661234567', '6123']) expect(all).not.toContain(x);

    const records = JSON.parse(readFileSync(join(out, 'records.json'), 'utf8')) as { uniqueId: string; direction: string; profile?: string }[];
    expect(records.map((x) => x.uniqueId)).toEqual(mine);
    expect(records.map((x) => x.direction)).toEqual(['inbound', 'outbound', 'inbound', 'inbound']);
    expect(parseCsv(readFileSync(join(out, 'records.csv'), 'utf8')).map((x) => x.uniqueId)).toEqual(mine);
    expect(readFileSync(join(out, 'recordings', `${a.inDefault.uniqueId}.wav`), 'utf8')).toBe(`RIFF decrypted ${a.inDefault.uniqueId}`);

    // Each call's file: its record, its own entries only (the forged one left out), its notice and its recording.
    const first = JSON.parse(readFileSync(join(out, 'calls', `${a.inDefault.uniqueId}.json`), 'utf8')) as {
      entries: { seq: number; body: { type: string; uniqueId: string } }[];
      notice: NoticeCatalogue;
      recording: { state: string; copy: string; seal: { durationMs: number } };
      summary: { fr: string; ar: string };
    };
    expect(first.entries.map((e) => e.body.type)).toEqual(['decision', 'outcome', 'seal']);
    expect(first.entries.every((e) => e.body.uniqueId === a.inDefault.uniqueId)).toBe(true);
    expect(first.notice.prompts.map((p) => p.text)).toContain('Société Exemple SARL enregistre cet appel.');
    expect(first.recording).toMatchObject({ state: 'copied', copy: `recordings/${a.inDefault.uniqueId}.wav`, seal: { durationMs: 12_300 } });
    expect(first.summary.fr).toContain("a accepté l'enregistrement");
    expect(first.summary.ar).toContain('وافق على التسجيل');
    const entryTypes = (c: ConsentRecord) => (JSON.parse(readFileSync(join(out, 'calls', `${c.uniqueId}.json`), 'utf8')) as typeof first).entries.map((e) => e.body.type);
    expect(entryTypes(a.withdrawn)).toEqual(['decision', 'outcome', 'withdrawal']);
    expect(entryTypes(a.elsewhere)).toEqual(['decision', 'pause']);
    expect(JSON.parse(readFileSync(join(out, 'calls', `${a.outBank.uniqueId}.json`), 'utf8'))).toMatchObject({ notice: { version: 'v-bank', controller: 'Banque Exemple' }, recording: null });
  });

  test('When the letter is written, then it is in French and in Arabic (right to left), names each profile\'s controller, CNDP reference and retention, and the rights of Law 09-08', async () => {
    const { store } = await ledger();
    const out = join(dir, 'access-a');
    await access(store, out);
    const fr = readFileSync(join(out, 'lettre-fr.html'), 'utf8');
    const ar = readFileSync(join(out, 'lettre-ar.html'), 'utf8');
    expect(fr).toMatch(/^<!DOCTYPE html>\n<html lang="fr" dir="ltr">/);
    expect(ar).toMatch(/^<!DOCTYPE html>\n<html lang="ar" dir="rtl">/);
    for (const [controller, cndp, days] of [['Société Exemple SARL', 'D-000-2026', 180], ['Banque Exemple', 'A-123-2026', 30], ['Assurances Atlas', 'A-456-2026', 365]] as const) {
      for (const page of [fr, ar, readFileSync(join(out, 'lettre-fr.txt'), 'utf8'), readFileSync(join(out, 'lettre-ar.txt'), 'utf8')]) {
        expect(page).toContain(controller);
        expect(page).toContain(cndp);
      }
      expect(fr).toContain(`supprimés automatiquement ${days} jours après chaque appel`);
      expect(ar).toContain(`تلقائيًا بعد ${days} يومًا من كل مكالمة`);
    }
    expect(fr).not.toContain('Boutique Zénith'); // B's profile only
    expect(fr).toContain(nb('Durée de conservation annoncée : <bdi>trente jours</bdi>'));
    expect(ar).toContain('مدة الحفظ المعلنة: <bdi>ثلاثون يومًا</bdi>');
    expect(fr).toContain('<bdi>la qualité du service de Banque Exemple</bdi>');
    expect(ar).toContain('<bdi>جودة خدمة Assurances Atlas</bdi>');
    expect(fr).toContain('<bdi>écrivez à dpo@a-123-2026.ma</bdi>');
    for (const words of ['Droit d’accès (article 7)', 'Droit de rectification (article 8)', 'Droit d’opposition (article 9)', 'Effacement :', 'www.cndp.ma', 'loi n° 09-08', 'ne peuvent donc pas vous être communiquées']) expect(fr).toContain(nb(words));
    expect(fr).toContain(nb('<h2>Responsable du traitement : <bdi>Banque Exemple</bdi></h2>'));
    expect(ar).toContain('<h2>المسؤول عن المعالجة: <bdi>Banque Exemple</bdi></h2>');
    for (const words of ['حق الولوج (المادة 7)', 'حق التصحيح (المادة 8)', 'حق التعرض (المادة 9)', 'المحو', 'اللجنة الوطنية لمراقبة حماية المعطيات ذات الطابع الشخصي', 'القانون رقم 09.08', 'لا يمكن تسليمها إليكم']) expect(ar).toContain(words);
    expect(fr).toContain(nb('4 appels vous concernant : 3 appels que vous avez passés, 1 appel que nous vous avons passé'));
    expect(ar).toContain('عدد المكالمات التي تخصكم في سجل الموافقات لدينا: 4');
    // The recordings: one here (no identity: listed), one on another server, one deleted at the withdrawal.
    expect(fr).toContain('Vos enregistrements (1) sont listés dans le fichier');
    expect(fr).toContain(nb('1 enregistrement se trouve sur un autre serveur (<bdi dir="ltr">pbx-2</bdi>) : une copie vous en sera remise séparément.'));
    expect(ar).toContain('عدد التسجيلات الموجودة على خادم آخر (<bdi dir="ltr">pbx-2</bdi>): 1');
    expect(fr).toMatch(/<td>par l’agent, à votre demande<\/td>|<bdi dir="ltr">[^<]+<\/bdi> par l’agent, à votre demande/);
  });

  test('When no identity is given, then the recordings are listed (sealed file, duration, server) and said to be available decrypted, and no recordings folder is made', async () => {
    const { store, a } = await ledger();
    const out = join(dir, 'access-a');
    const r = await access(store, out);
    expect(r).toMatchObject({ recordings: 0, listed: 1, failures: [] });
    expect(existsSync(join(out, 'recordings'))).toBe(false);
    const readme = readFileSync(join(out, 'README.txt'), 'utf8');
    expect(readme).toContain(`  ${a.inDefault.uniqueId}\n    fichier scellé / الملف المختوم: 2026/11/21/a.wav\n    durée / المدة: 12.3 s; serveur / الخادم: pbx-1; SHA-256: ${'ab'.repeat(32)}`);
    expect(readme).toContain('non joint : une copie déchiffrée peut vous être remise');
    expect(readme).toContain(`  ${a.elsewhere.uniqueId}\n    fichier / الملف: /rec/x/3.wav\n    durée / المدة: -; serveur / الخادم: pbx-2`);
    expect(readme).toContain('sur un autre serveur : une copie vous sera remise séparément');
    for (const f of ['lettre-fr.html', 'records.json', 'records.csv', `calls/${a.outBank.uniqueId}.json`]) expect(readme).toContain(f);
    expect(lastBody(store)).toEqual({ type: 'access', at: iso(NOW), records: 4, recordings: 0 });
  });

  test('When the access is served, then one access entry is logged in this host\'s log, with counts and no number or pseudonym, and the ledger still verifies', async () => {
    const { store } = await ledger();
    const before = store.state.entries.length;
    await access(store, join(dir, 'out'), fakeOpener());
    expect(store.state.entries).toHaveLength(before + 1);
    const entry = store.state.entries[before];
    expect(JSON.parse(String(entry?.body))).toEqual({ type: 'access', at: iso(NOW), records: 4, recordings: 1 });
    expect(entry?.body).not.toMatch(/661234567|6123|\+212/);
    expect(entry?.body).not.toContain(PA);
    expect(store.forLog('pbx-2').state.entries.map((e) => (JSON.parse(e.body) as { type: string }).type)).not.toContain('access');
    const v = await verifyLedger(ctx(store), { keys: [], checkpointFiles: [], hostCheckpointFile: null, checkpointIntervalMs: 60_000, recordings: false, recordingFormat: 'wav' });
    for (const log of v.logs) expect({ log: log.log, chain: log.chain.ok, records: log.records.problems }).toEqual({ log: log.log, chain: true, records: 0 });
  });

  test('When the folder is written, then it is 0700 (its sub-folders too) and every file 0600, whatever the umask', async () => {
    const { store } = await ledger();
    const out = join(dir, 'out');
    const umask = process.umask(0o000);
    try {
      await access(store, out, fakeOpener());
    } finally {
      process.umask(umask);
    }
    expect(statSync(out).mode & 0o777).toBe(0o700);
    for (const sub of ['calls', 'recordings']) expect(statSync(join(out, sub)).mode & 0o777).toBe(0o700);
    const files = walk(out);
    expect(files.length).toBeGreaterThan(8);
    for (const f of files) expect([f.path, f.mode.toString(8)]).toEqual([f.path, '600']);
    // No temporary folder is left next to it.
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  test('When --out exists and is not empty, or is a file or a symbolic link, then access refuses before reading anything; an empty folder is taken', async () => {
    const { store } = await ledger();
    const full = join(dir, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'other-person.txt'), 'x');
    const entries = store.state.entries.length;
    await expect(access(store, full)).rejects.toThrow(AdminUsageError);
    await expect(access(store, full)).rejects.toThrow(`--out: ${full} exists and is not empty: give a new or empty folder`);
    expect(readdirSync(full)).toEqual(['other-person.txt']);
    writeFileSync(join(dir, 'file'), 'x');
    await expect(access(store, join(dir, 'file'))).rejects.toThrow('exists and is not a folder');
    const { symlinkSync } = await import('node:fs');
    const empty = join(dir, 'empty');
    mkdirSync(empty, { mode: 0o755 });
    symlinkSync(empty, join(dir, 'link'));
    await expect(access(store, join(dir, 'link'))).rejects.toThrow('is a symbolic link');
    await expect(access(store, `${join(dir, 'link')}/`)).rejects.toThrow('is a symbolic link');
    await expect(access(store, join(dir, 'no', 'such', 'parent'))).rejects.toThrow('does not exist');
    expect(store.state.entries).toHaveLength(entries); // nothing logged
    // An empty folder is taken, and becomes 0700.
    chmodSync(empty, 0o755);
    await access(store, empty);
    expect(statSync(empty).mode & 0o777).toBe(0o700);
    expect(readdirSync(empty)).toContain('lettre-fr.html');
  });

  test('When the caller has no record, then the folder says so in both languages, with the default controller, and the access is logged with 0 records', async () => {
    const { store } = await ledger();
    const out = join(dir, 'nobody');
    const r = await access(store, out, null, '0669999999');
    expect(r).toMatchObject({ records: 0, recordings: 0, profiles: [] });
    expect(JSON.parse(readFileSync(join(out, 'records.json'), 'utf8'))).toEqual([]);
    expect(readFileSync(join(out, 'lettre-fr.html'), 'utf8')).toContain('ne contient aucune donnée associée à votre numéro');
    expect(readFileSync(join(out, 'lettre-fr.html'), 'utf8')).not.toContain('<table>');
    expect(readFileSync(join(out, 'lettre-ar.html'), 'utf8')).toContain('لا يتضمن سجل الموافقات لدينا أي معطيات مرتبطة برقمكم');
    expect(readFileSync(join(out, 'lettre-fr.html'), 'utf8')).toContain('Société Exemple SARL');
    expect(lastBody(store)).toEqual({ type: 'access', at: iso(NOW), records: 0, recordings: 0 });
  });

  test('When the number is anonymous or empty, then access refuses and writes nothing', async () => {
    const { store } = await ledger();
    for (const n of ['anonymous', '', 'Restricted']) await expect(access(store, join(dir, 'x'), null, n)).rejects.toThrow(/anonymous or empty number/);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  test('When a recording cannot be opened, then the folder is written without it, the letter and README say a copy follows, and the entry counts no recording', async () => {
    const { store, a } = await ledger();
    const out = join(dir, 'out');
    const half: RecordingOpener = async (_id, path) => {
      writeFileSync(path, 'partial');
      return { ok: false, reason: 'the identity does not open it' };
    };
    const r = await access(store, out, half);
    expect(r.failures).toEqual([{ uniqueId: a.inDefault.uniqueId, reason: 'the identity does not open it' }]);
    expect(existsSync(join(out, 'recordings', `${a.inDefault.uniqueId}.wav`))).toBe(false);
    expect(readFileSync(join(out, 'README.txt'), 'utf8')).toContain('n’a pas pu être joint : une copie vous sera remise séparément');
    expect(readFileSync(join(out, 'lettre-fr.html'), 'utf8')).toContain('1 enregistrement n’a pas pu être joint à ce dossier');
    expect(lastBody(store)).toMatchObject({ records: 4, recordings: 0 });
    // The command's opener: `recording decrypt`'s checks, its refusals as reasons.
    expect(await recordingOpenerFor(config, '/x', store)('1.1', join(dir, 'y'))).toEqual({ ok: false, reason: expect.stringContaining('call 1.1 is not in the ledger') });
  });

  test('When the access cannot be logged, then no folder is handed over', async () => {
    const { store } = await ledger();
    store.append = async () => {
      throw new Error('Redis went away');
    };
    await expect(access(store, join(dir, 'out'))).rejects.toThrow('Redis went away');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('ledger access command', () => {
  test.each([
    [{ caller: '' }, /--caller: empty number/],
    [{ caller: 'anonymous' }, /anonymous or empty number/],
    [{ identity: '/no/such/identity' }, /--identity: cannot read \/no\/such\/identity/],
    [{ out: '<full>' }, /--out: .* exists and is not empty/],
  ])('When %p, then it exits 2 before connecting to Redis, and prints no number', async (over, message) => {
    const full = join(dir, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'x'), 'x');
    const c = captureIo();
    const opts = { caller: A, out: join(dir, 'new'), ...over };
    if (opts.out === '<full>') opts.out = full;
    expect(await runAccess(config, opts, { io: c.io })).toBe(2);
    expect(c.err()).toMatch(message);
    expect(c.err()).not.toContain('cannot reach Redis');
    expect(c.out() + c.err()).not.toMatch(/6123/);
    expect(existsSync(join(dir, 'new'))).toBe(false);
  });
});
