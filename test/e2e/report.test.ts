/**
 * `consent-ivr report` against the sandbox, after calls with known outcomes: the JSON and CSV figures
 * are the ledger's; the HTML, opened in a real headless browser (Debian's chromium), shows its chart
 * and totals, in French and in Arabic (right to left), with screenshots kept in the sandbox's logs;
 * days are those of the --tz zone; an empty period gives a "no calls" page; bad dates and zones are
 * usage errors.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { placeCall, promptSeconds, RunningApp, runCli, sandbox, startApp, TestAmi } from '../support';

let ami: TestAmi;
let app: RunningApp;
let env: Record<string, string>;
let work: string;
const since = new Date(Date.now() - 60_000).toISOString();

const cli = (args: string[]) => runCli(args, env, 120_000);

/** Opens a page in headless chromium: its DOM after rendering, and a screenshot. */
function browse(file: string, screenshot: string): string {
  const common = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1280,1600'];
  const shot = spawnSync('chromium', [...common, `--screenshot=${screenshot}`, `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
  expect(shot.status).toBe(0);
  const dom = spawnSync('chromium', [...common, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
  expect(dom.status).toBe(0);
  return dom.stdout;
}

beforeAll(async () => {
  sandbox();
  work = mkdtempSync(join(tmpdir(), 'civr-report-'));
  env = {
    CONSENT_IVR_REDIS_KEY_PREFIX: `report-${Math.random().toString(36).slice(2, 8)}:`,
    CONSENT_IVR_RECORDING_DIR: mkdtempSync(join(sandbox().recordingsDir, 'report-')),
    CONSENT_IVR_FLOW_INPUT_TIMEOUT_MS: '1500',
    CONSENT_IVR_FLOW_MAX_ATTEMPTS: '2',
  };
  ami = new TestAmi();
  await ami.start();
  app = await startApp(env);
  const talk = Math.ceil(promptSeconds('ar', 'accepted') + 3);
  const calls = await Promise.all([
    placeCall(ami, { app: app.name, w1: 1.5, k1: '1', talk }),
    placeCall(ami, { app: app.name, w1: 1.5, k1: '1', talk }),
    placeCall(ami, { app: app.name, w1: 1.5, k1: '2', talk }),
    // Silence: no key at all, until no-input.
    placeCall(ami, { app: app.name, w1: 110, hangupAfter: 1 }, 120_000),
    // The full notice first (key 0 during the Arabic part), then accept.
    placeCall(ami, { app: app.name, w1: 1.5, k1: '0', w2: Math.ceil(promptSeconds('ar', 'full-notice') + 2), k2: '1', talk }, 180_000),
  ]);
  const results = await Promise.all(calls.map((c) => c.result));
  expect(results.map((r) => r.result).sort()).toEqual(['accepted', 'accepted', 'accepted', 'no-input', 'refused']);
}, 240_000);

afterAll(async () => {
  if (app) expect(await app.stop()).toBe(0);
  ami?.close();
});

interface Figures {
  key: string;
  calls: number;
  outcomes: Record<string, number>;
  languages: Record<string, number>;
  fullNotice: number;
}

test('When the report is asked as JSON and CSV, then its figures are the ledger\'s', async () => {
  const list = await cli(['ledger', 'list', '--since', since, '--json']);
  expect(list.code).toBe(0);
  const records = JSON.parse(list.stdout) as {
    uniqueId: string;
    callerPseudonym: string;
    recordingPath: string | null;
    outcome: string;
    language: string | null;
    fullNotice: boolean | null;
    enteredAt: string;
  }[];
  expect(records).toHaveLength(5);
  const count = (f: (r: (typeof records)[number]) => boolean) => records.filter(f).length;

  const json = await cli(['report', '--since', since, '--format', 'json', '--by', 'day', '--tz', 'UTC']);
  expect(json.code).toBe(0);
  const report = JSON.parse(json.stdout) as { total: Figures; groups: Figures[]; ledger: { ok: boolean }; zone: string };
  expect(report.total).toMatchObject({
    calls: 5,
    outcomes: { accepted: count((r) => r.outcome === 'accepted'), refused: count((r) => r.outcome === 'refused'), 'no-input': count((r) => r.outcome === 'no-input') },
    fullNotice: count((r) => r.fullNotice === true),
  });
  // Every language the callers answered in, by code in order, then those with none.
  const codes = [...new Set(records.map((r) => r.language).filter((l): l is string => l !== null))].sort();
  expect(report.total.languages).toEqual(Object.fromEntries([...codes.map((c) => [c, count((r) => r.language === c)]), ['none', count((r) => r.language === null)]]));
  expect(report.total.fullNotice).toBe(1);
  expect(report.zone).toBe('UTC');
  expect(report.groups.map((g) => [g.key, g.calls])).toEqual([...new Set(records.map((r) => r.enteredAt.slice(0, 10)))].map((d) => [d, count((r) => r.enteredAt.startsWith(d))]));
  expect(report.ledger.ok).toBe(true);
  // In another zone, the days are that zone's.
  const tokyo = await cli(['report', '--since', since, '--format', 'json', '--by', 'day', '--tz', 'Asia/Tokyo']);
  expect(tokyo.code).toBe(0);
  const dayIn = (iso: string) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo' }).format(new Date(iso));
  const tokyoDays = [...new Set(records.map((r) => dayIn(r.enteredAt)))].sort();
  expect((JSON.parse(tokyo.stdout) as { groups: Figures[] }).groups.map((g) => [g.key, g.calls])).toEqual(tokyoDays.map((d) => [d, count((r) => dayIn(r.enteredAt) === d)]));
  // Aggregates only: no pseudonym, call id or recording of any of these calls.
  const personal = records.flatMap((r) => [r.uniqueId, r.callerPseudonym, r.recordingPath]).filter((v): v is string => !!v);
  expect(personal.length).toBeGreaterThanOrEqual(13);
  expect(personal.filter((v) => json.stdout.includes(v))).toEqual([]);

  const csv = await cli(['report', '--since', since, '--format', 'csv', '--by', 'language']);
  expect(csv.code).toBe(0);
  const [header, ...rows] = csv.stdout.trim().split('\n');
  const cols = (header ?? '').split(',');
  const total = (rows.find((r) => r.startsWith('total,')) ?? '').split(',');
  const at = (name: string) => Number(total[cols.indexOf(name)]);
  expect([at('calls'), at('accepted'), at('refused'), at('no_input'), at('full_notice')]).toEqual([5, 3, 1, 1, 1]);
  expect(personal.filter((v) => csv.stdout.includes(v))).toEqual([]);
}, 120_000);

test('When the HTML report is opened in a headless browser, then it shows the chart and the totals, in French and in Arabic (right to left)', async () => {
  const logs = join(sandbox().stateDir, 'logs');
  for (const lang of ['fr', 'ar'] as const) {
    const file = join(work, `report-${lang}.html`);
    const r = await cli(['report', '--since', since, '--lang', lang, '--tz', 'Africa/Casablanca', '--out', file]);
    expect(r.code).toBe(0);
    const shot = join(logs, `report-${lang}.png`);
    const dom = browse(file, shot);
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    expect(dom).toContain(`<html lang="${lang}" dir="${lang === 'ar' ? 'rtl' : 'ltr'}">`);
    expect(dom).toMatch(/<figure id="chart"><svg[^>]*>.*<rect/s);
    expect(dom).toContain(lang === 'fr' ? 'Rapport de consentement' : 'تقرير الموافقة');
    expect(dom).toContain(lang === 'fr' ? 'Acceptés<b>3 · 60,0 %</b>' : 'موافقة<b>3 · 60,0 %</b>');
    expect(dom).toContain(lang === 'fr' ? 'vérifié' : 'تم التحقق منه');
    expect(dom).toContain('<span id="zone"><bdi dir="ltr">Africa/Casablanca</bdi></span>');
    expect(readFileSync(file, 'utf8')).not.toMatch(/<script|src=|<link/);
  }
}, 180_000);

test('When a period has no calls, then the report is a clear "no calls" page; bad dates are a usage error (exit 2)', async () => {
  const file = join(work, 'empty.html');
  const r = await cli(['report', '--since', '2001-01-01', '--until', '2001-01-02', '--out', file]);
  expect(r.code).toBe(0);
  expect(readFileSync(file, 'utf8')).toContain('Aucun appel dans cette période.');
  const bad = await cli(['report', '--since', 'yesterday']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/consent-ivr report: --since: "yesterday" is not a date/);
  const by = await cli(['report', '--by', 'hour']);
  expect(by.code).toBe(2);
  expect(by.stderr).toContain('--by: "hour" is not one of day, week, month, number, language, direction, profile');
  const tz = await cli(['report', '--tz', 'Mars/Olympus']);
  expect(tz.code).toBe(2);
  expect(tz.stderr).toContain('--tz: "Mars/Olympus" is not a time zone');
}, 60_000);
