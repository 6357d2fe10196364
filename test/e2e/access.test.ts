/**
 * `consent-ivr ledger access` against a real Redis of its own (a redis-server on a free port in a
 * temporary folder; never the shared sandbox's), through the command function and through the real
 * entry point (src/cli/main.ts compiled): one caller's records and recordings, and nothing of
 * another caller's, in a folder of 0700 with files of 0600; the access logged without the number;
 * the ledger still verifying; an erased caller given nothing. (Decrypted copies of the recordings,
 * --identity, are the recordings' tests'.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { RedisServer } from '../support';
import { pseudonymise } from '../../src/ledger';
import { parseCsv } from '../../src/ledger/format';
import { runAccess } from '../../src/cli/access-command';
import { runVerify } from '../../src/cli/evidence-commands';
import { runErase } from '../../src/cli/retention-commands';
import type { ConsentRecord } from '../../src/ports/ledger';
import { testRecording, TEST_PROMPT_TEXTS, TEST_PSEUDONYM_KEY as KEY } from '../support/records';
import { captureIo } from '../support/cli-io';
import { fakeRecording, ledgerRecord, LedgerCases, seedLedger, type LedgerCase } from '../support/ledger-cases';

const REPO = resolve(__dirname, '../..');

const DAY = 86_400_000;
const NOW = Math.floor(Date.now() / 1000) * 1000;
/** The campaign profiles of these cases: the default (the top level) and `bank`, each its own controller and retention. */
const LEGAL = {
  controller: 'Société Exemple SARL',
  cndpReference: 'D-000-2026',
  purposes: { fr: 'la qualité du service', ar: 'جودة الخدمة' },
  recipients: { fr: 'le service qualité', ar: 'مصلحة الجودة' },
  retention: { fr: 'six mois', ar: 'ستة أشهر' },
  rights: { fr: 'écrivez à dpo@exemple.ma', ar: 'راسلونا على dpo@exemple.ma' },
};
const PROFILES = {
  bank: { legal: { controller: 'Banque Exemple', cndpReference: 'A-123-2026', retention: { fr: 'trente jours', ar: 'ثلاثون يومًا' } }, ledger: { retentionDays: 30 } },
  shop: { legal: { controller: 'Boutique Zénith', cndpReference: 'A-789-2026' }, ledger: { retentionDays: 60 } },
};

const cases = new LedgerCases('access');
let redis: RedisServer;
let raw: Redis;
let work: string;

beforeAll(async () => {
  await cases.start();
  ({ redis, raw, work } = cases);
});

afterAll(() => cases.stop());

type Env = LedgerCase;
const env = (): Env => cases.env(180, { server: { id: 'pbx-1' }, legal: LEGAL, profiles: PROFILES });
const publicKeyFile = (e: { dir: string }): string => cases.publicKeyFile(e);
const rec = ledgerRecord;
/** Writes records through the real ledger, with its clock at each record's time, and signs the log. */
const seed = (e: Env, records: ConsentRecord[]): Promise<void> => seedLedger(e, records, NOW);

type Entry = [string, string[]];

async function chainOf(e: Env): Promise<Entry[]> {
  return (await raw.xrange(`${e.prefix}{ledger:main}:chain`, '-', '+')) as Entry[];
}

const bodyOf = ([, f]: Entry) => String(f[f.indexOf('body') + 1]);

/** Every file under `root`, relative, with its mode and content. */
function walk(root: string, rel = ''): { path: string; mode: number; text: string }[] {
  return readdirSync(join(root, rel), { withFileTypes: true }).flatMap((d) => {
    const r = rel ? `${rel}/${d.name}` : d.name;
    return d.isDirectory() ? walk(root, r) : [{ path: r, mode: statSync(join(root, r)).mode & 0o777, text: readFileSync(join(root, r), 'utf8') }];
  });
}

/** Two callers: A (inbound default, recorded; outbound bank; inbound refused) and B (inbound shop, recorded; refused). */
function twoCallers(e: Env, t0: number): { a: ConsentRecord[]; b: ConsentRecord[]; numbers: { a: string; b: string } } {
  const numbers = { a: '06 61 23 45 67', b: '0662000000' };
  const a = [
    rec(1, t0, 'accepted', numbers.a, { recording: testRecording(fakeRecording(e, 'a1.wav'), 'pbx-1', new Date(t0 + 4500).toISOString()) }),
    rec(2, t0 + 1000, 'refused', '+212661234567', { direction: 'outbound', calledNumber: '', profile: 'bank' }),
    rec(3, t0 + 2000, 'refused', '00212661234567'),
  ];
  const b = [
    rec(4, t0 + 3000, 'accepted', numbers.b, { profile: 'shop', recording: testRecording(fakeRecording(e, 'b1.wav'), 'pbx-1', new Date(t0 + 7500).toISOString()) }),
    rec(5, t0 + 4000, 'refused', numbers.b, { profile: 'bank' }),
  ];
  return { a, b, numbers };
}

describe('ledger access', () => {
  test("When a caller asks for access, then the folder gives their records and recordings and nothing of another caller's, the access is logged without the number, and the ledger still verifies", async () => {
    const e = env();
    const { a, b, numbers } = twoCallers(e, NOW - DAY);
    await seed(e, [...a, ...b]);
    const before = (await chainOf(e)).length;

    const out = join(e.dir, 'access-a');
    const c = captureIo();
    const io = { ...c.io, stdin: Readable.from([`${numbers.a}\n`]) };
    expect(await runAccess(e.config, { caller: '-', out }, { io })).toBe(0);
    expect(c.out()).toContain(`access: 3 record(s) of this caller (profiles default, bank) written to ${out}`);
    expect(c.out()).toContain("recordings: 1 listed in README.txt (without --identity: they can be provided decrypted with the controller's identity)");
    expect(c.out() + c.err()).not.toMatch(/6123|661234567/);
    expect(c.err()).toBe('');

    const files = walk(out);
    expect(files.map((f) => f.path).sort()).toEqual(
      [...a.map((r) => `calls/${r.uniqueId}.json`), 'README.txt', 'lettre-ar.html', 'lettre-ar.txt', 'lettre-fr.html', 'lettre-fr.txt', 'records.csv', 'records.json'].sort(),
    );
    for (const f of files) expect([f.path, f.mode.toString(8)]).toEqual([f.path, '600']);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    expect(statSync(join(out, 'calls')).mode & 0o777).toBe(0o700);
    const all = files.map((f) => f.text).join('\n');
    for (const x of [...b.map((r) => r.uniqueId), pseudonymise(numbers.b, KEY), 'b1.wav', 'Boutique Zénith', '662000000', '661234567', '6123']) expect(all).not.toContain(x);

    const records = JSON.parse(readFileSync(join(out, 'records.json'), 'utf8')) as { uniqueId: string; direction: string }[];
    expect(records.map((r) => r.uniqueId)).toEqual(a.map((r) => r.uniqueId));
    expect(records.map((r) => r.direction)).toEqual(['inbound', 'outbound', 'inbound']);
    expect(parseCsv(readFileSync(join(out, 'records.csv'), 'utf8')).map((r) => r.uniqueId)).toEqual(a.map((r) => r.uniqueId));
    const first = JSON.parse(readFileSync(join(out, 'calls', `${a[0]?.uniqueId}.json`), 'utf8')) as { entries: { body: { type: string; uniqueId: string } }[] };
    expect(first.entries.map((x) => x.body.type)).toEqual(['decision', 'outcome']);
    expect(first.entries.every((x) => x.body.uniqueId === a[0]?.uniqueId)).toBe(true);
    expect(readFileSync(join(out, 'README.txt'), 'utf8')).toContain(`  ${a[0]?.uniqueId}\n`);

    // The letter: both languages, each profile's controller and retention.
    const fr = readFileSync(join(out, 'lettre-fr.html'), 'utf8');
    const ar = readFileSync(join(out, 'lettre-ar.html'), 'utf8');
    expect(ar).toMatch(/<html lang="ar" dir="rtl">/);
    for (const page of [fr, ar]) for (const x of ['Société Exemple SARL', 'D-000-2026', 'Banque Exemple', 'A-123-2026']) expect(page).toContain(x);
    expect(fr).toContain('180 jours après chaque appel');
    expect(fr).toContain('30 jours après chaque appel');
    expect(ar).toContain('بعد 30 يومًا من كل مكالمة');

    // One access entry in this host's log: counts, no number, no pseudonym.
    const chain = await chainOf(e);
    expect(chain).toHaveLength(before + 1);
    const last = bodyOf(chain[chain.length - 1] as Entry);
    expect(JSON.parse(last)).toEqual({ type: 'access', at: expect.any(String), records: 3, recordings: 0 });
    expect(last).not.toMatch(/661234567|6123/);
    expect(last).not.toContain(pseudonymise(numbers.a, KEY));
    const v = captureIo();
    expect(await runVerify(e.config, {}, { io: v.io })).toBe(0);
    expect(v.out()).toMatch(/ledger verified/);

    // The same folder again: refused, and left as it is.
    const again = captureIo();
    expect(await runAccess(e.config, { caller: numbers.a, out }, { io: again.io })).toBe(2);
    expect(again.err()).toMatch(/--out: .* exists and is not empty/);
    expect(walk(out)).toHaveLength(files.length);
  });

  test('When the caller was erased, then access gives none of their records, and the letter says erased data is gone', async () => {
    const e = env();
    const { a, numbers } = twoCallers(e, NOW - DAY);
    await seed(e, a);
    expect(await runErase(e.config, { caller: numbers.a }, { io: captureIo().io })).toBe(0);
    const out = join(e.dir, 'access-erased');
    const c = captureIo();
    expect(await runAccess(e.config, { caller: numbers.a, out, json: true }, { io: c.io })).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ records: 0, recordings: 0, profiles: [], outDir: out, log: 'main' });
    expect(JSON.parse(readFileSync(join(out, 'records.json'), 'utf8'))).toEqual([]);
    const fr = readFileSync(join(out, 'lettre-fr.html'), 'utf8');
    expect(fr).toContain('ne contient aucune donnée associée à votre numéro');
    expect(fr).toContain('ne peuvent donc pas vous être communiquées');
    for (const r of a) expect(walk(out).map((f) => f.text).join('\n')).not.toContain(r.uniqueId);
  });

  test('When the caller is anonymous, then access refuses with exit 2 and writes nothing', async () => {
    const e = env();
    const c = captureIo();
    expect(await runAccess(e.config, { caller: 'anonymous', out: join(e.dir, 'x') }, { io: c.io })).toBe(2);
    expect(c.err()).toMatch(/anonymous or empty number/);
    expect(readdirSync(e.dir)).not.toContain('x');
  });
});

describe('ledger access through the real entry point', () => {
  test('When dist-like main.js runs "ledger access --caller -" with the number on stdin, then it writes the folder, prints no number, and refuses a folder that is not empty', async () => {
    const e = env();
    const { a, b, numbers } = twoCallers(e, NOW - DAY);
    await seed(e, [...a, ...b]);
    const outDir = join(work, 'build');
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'pipe' });
    const main = join(outDir, 'cli/main.js');
    const yaml = join(e.dir, 'consent-ivr.yaml');
    writeFileSync(
      yaml,
      JSON.stringify({
        prompts: { texts: { ar: TEST_PROMPT_TEXTS, fr: TEST_PROMPT_TEXTS } },
        server: { id: 'pbx-1' },
        redis: { url: redis.url, keyPrefix: e.prefix },
        ledger: { log: 'main', journalPath: join(e.dir, 'j.jsonl'), checkpointFile: e.config.ledger.checkpointFile, trustedKeyFiles: [publicKeyFile(e)] },
        recording: { dir: e.recordings },
        legal: LEGAL,
        profiles: PROFILES,
        // Whoever runs the ledger commands need not hold these secrets.
        ari: { passwordFile: join(e.dir, 'no-such-ari-password') },
        ami: { secretFile: join(e.dir, 'no-such-ami-secret') },
      }),
    );
    const childEnv = {
      PATH: process.env.PATH ?? '',
      NODE_PATH: join(REPO, 'node_modules'),
      CONSENT_IVR_PSEUDONYM_KEY: KEY,
    };
    const folder = join(e.dir, 'access-b');
    const run = (args: string[], input: string) => spawnSync(process.execPath, [main, '--config', yaml, 'ledger', 'access', ...args], { env: childEnv, encoding: 'utf8', input });
    const r = run(['--caller', '-', '--out', folder], `${numbers.b}\n`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('access: 2 record(s) of this caller (profiles shop, bank)');
    expect(r.stdout + r.stderr).not.toContain('662000000');
    const files = walk(folder);
    for (const f of files) expect([f.path, f.mode.toString(8)]).toEqual([f.path, '600']);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    const all = files.map((f) => f.text).join('\n');
    for (const x of [...a.map((x) => x.uniqueId), pseudonymise(numbers.a, KEY), 'a1.wav', 'Société Exemple SARL', '661234567']) expect(all).not.toContain(x);
    for (const x of b) expect(all).toContain(x.uniqueId);
    expect(readFileSync(join(folder, 'lettre-fr.html'), 'utf8')).toContain('Boutique Zénith');

    const refused = run(['--caller', '-', '--out', folder], `${numbers.b}\n`);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--out: .* exists and is not empty/);
    const bodies = (await chainOf(e)).map((x) => JSON.parse(bodyOf(x)) as { type: string });
    expect(bodies.filter((x) => x.type === 'access')).toHaveLength(1);
  }, 120000);
});
