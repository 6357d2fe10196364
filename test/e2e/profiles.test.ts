/**
 * Campaign profiles against the real sandbox: one service speaking for three controllers (a bank in
 * Arabic and French chosen by its numbers, an insurer in French only chosen by the routine's
 * argument, a public service in Tamazight, Arabic and French whose Tamazight prompts are studio
 * recordings the test makes and imports), an unknown profile, a reload during a call and a broken
 * reload, the report by profile and check-config naming what a profile lacks.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/load';
import { profileSetOf } from '../../src/config/profiles';
import { PROMPT_NAMES, type PromptName } from '../../src/domain/vocabulary';
import { noticeVersion, promptFile } from '../../src/prompts';
import { placeCallTo, placeOutboundCall, REPO, runCli, sandbox, ServiceProcess, TestAmi, wavSeconds, type CallScript } from '../support';

const dir = mkdtempSync(join(tmpdir(), 'civr-profiles-'));
const configFile = join(dir, 'consent-ivr.yaml');
const INPUT_TIMEOUT_MS = 4000;

/** The three controllers of the test; `insurerController` changes on the reload. */
function profilesYaml(insurerController: string): string {
  return `extends: ${resolve(REPO, 'config/sandbox.yaml')}
profiles:
  bank:
    numbers: ["_0522XXXXXX"]
    legal:
      controller: Banque Atlas SA
      cndpReference: D-111-2026
      purposes: { fr: la qualité du service, ar: جَوْدَةِ الخِدْمَةِ }
      recipients: { fr: le service qualité de la banque, ar: مَصْلَحَةِ الجَوْدَةِ }
      retention: { fr: six mois, ar: سِتَّةِ أَشْهُرٍ }
      rights: { fr: écrivez à dpo@banque.example, ar: رَاسِلُونَا عَلَى dpo@banque.example }
    ledger: { retentionDays: 180 }
  insurer:
    flow: { languages: [fr], defaultLanguage: fr }
    legal:
      controller: ${insurerController}
      cndpReference: D-222-2026
      purposes: { fr: "la formation, l'évaluation et la qualité du service" }
      recipients: { fr: l'équipe qualité de l'assureur }
      retention: { fr: six mois }
      rights: { fr: écrivez à dpo@assureur.example }
    ledger: { retentionDays: 183 }
  public:
    flow: { languages: [zgh, ar, fr], defaultLanguage: ar }
    legal:
      controller: Service Public Test
      cndpReference: D-333-2026
      purposes: { fr: la qualité de l'accueil, ar: جَوْدَةِ الاِسْتِقْبَالِ }
      recipients: { fr: le service de l'accueil, ar: مَصْلَحَةِ الاِسْتِقْبَالِ }
      retention: { fr: un an, ar: سَنَةٍ وَاحِدَةٍ }
      rights: { fr: écrivez à dpo@service.example, ar: رَاسِلُونَا عَلَى dpo@service.example }
    ledger: { retentionDays: 365 }
`;
}

let ami: TestAmi;
let app: ServiceProcess;
const started = new Date();

const cli = (args: string[]) => runCli(['--config', configFile, ...args], {}, 60000);
const profile = (name: string) => {
  const p = profileSetOf(loadConfig(configFile, { ...process.env, CONSENT_IVR_PROMPTS_SOUNDS_DIR: sandbox().soundsDir }, { secrets: [] }).config).get(name);
  if (!p) throw new Error(`no profile ${name}`);
  return p;
};
const seconds = (name: string, lang: string, prompt: PromptName) => wavSeconds(promptFile(sandbox().soundsDir, profile(name).prompts.folder, lang, prompt));
const call = (number: string, script: CallScript) => placeCallTo(ami, number, { app: app.name, ...script });
const plays = (uid: string) => app.callLines(uid).filter((l) => l.message === 'play').map((l) => `${String(l.lang)}:${String(l.prompt)}`);

async function shown(uid: string): Promise<Record<string, unknown>> {
  const r = await cli(['ledger', 'show', uid, '--json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** The studio recordings of the Tamazight prompts, as an artist's files: a tone between silences, FLAC for one. */
function artistFiles(): string {
  const out = join(dir, 'zgh-studio');
  mkdirSync(out, { recursive: true });
  PROMPT_NAMES.forEach((prompt, i) => {
    const file = join(out, prompt === 'notice' ? `${prompt}.flac` : `${prompt}.wav`);
    const tone = prompt === 'notice' ? '2.5' : '1';
    execFileSync('sox', ['-n', '-r', '44100', '-c', '2', '-b', '16', file, 'synth', tone, 'sine', String(300 + i * 40), 'vol', '0.3', 'pad', '0.5', '0.5']);
  });
  return out;
}

beforeAll(async () => {
  sandbox();
  writeFileSync(configFile, profilesYaml('Assurance Horizon SA'));
  const imported = await cli(['prompts', 'import', '--profile', 'public', '--lang', 'zgh', artistFiles()]);
  expect(imported).toMatchObject({ code: 0 });
  const built = await cli(['prompts', 'build']);
  expect(built).toMatchObject({ code: 0 });
  ami = new TestAmi();
  await ami.start();
  app = await ServiceProcess.start({ config: configFile, env: { CONSENT_IVR_FLOW_INPUT_TIMEOUT_MS: String(INPUT_TIMEOUT_MS), CONSENT_IVR_FLOW_MAX_CALL_MS: '120000' } });
}, 240000);

afterAll(async () => {
  const code = await app?.stop();
  app?.saveLog('profiles');
  expect(app?.leaks()).toEqual([]);
  ami?.close();
  expect(code).toBe(0);
});

describe('campaign profiles', () => {
  test('When an inbound call dials a number of the bank\'s pattern without naming a profile, then it runs in the bank\'s profile and its notice', async () => {
    const c = await call('0522123456', { w1: 1.5, k1: '1', talk: seconds('bank', 'ar', 'accepted') + 3, agentSecs: 4 });
    const uid = await c.uniqueId;
    expect(await c.result).toMatchObject({ result: 'accepted', lang: 'ar', profile: 'bank', languages: 'ar.fr' });
    await app.callEnded(uid);
    expect(await shown(uid)).toMatchObject({ profile: 'bank', noticeVersion: noticeVersion(profile('bank')).version, language: 'ar', outcome: 'accepted' });
    expect(plays(uid)[0]).toBe('ar:notice');
  });

  test('When the routine names the insurer on a number the bank claims, then the argument wins: French only, the insurer\'s notice', async () => {
    const c = await call('0522000001', { profile: 'insurer', w1: 1.5, k1: '2', talk: 6 });
    const uid = await c.uniqueId;
    expect(await c.result).toMatchObject({ result: 'refused', lang: 'fr', profile: 'insurer', languages: 'fr' });
    await app.callEnded(uid);
    expect(plays(uid).every((p) => p.startsWith('fr:'))).toBe(true);
    expect(await shown(uid)).toMatchObject({ profile: 'insurer', noticeVersion: noticeVersion(profile('insurer')).version });
  });

  test('When an outbound call names the insurer as the routine\'s second argument, then the customer hears French only and the record is the insurer\'s', async () => {
    const c = await placeOutboundCall(ami, { app: app.name, profile: 'insurer', w1: 1.5, k1: '1', talk: seconds('insurer', 'fr', 'accepted') + 3 });
    const r = await c.result;
    expect(r).toMatchObject({ result: 'accepted', lang: 'fr', profile: 'insurer' });
    const uid = String(r.id);
    await app.callEnded(uid);
    expect(plays(uid).every((p) => p.startsWith('fr:'))).toBe(true);
    expect(await shown(uid)).toMatchObject({ direction: 'outbound', profile: 'insurer', noticeVersion: noticeVersion(profile('insurer')).version });
  });

  test('When the caller of the public service presses 1 during the third part, then the parts played Tamazight, Arabic, French and the language is French; its bundle names that controller', async () => {
    const third = seconds('public', 'zgh', 'notice') + seconds('public', 'ar', 'notice') + 1.5;
    const c = await call('0537000000', { profile: 'public', w1: third, k1: '1', talk: seconds('public', 'fr', 'accepted') + 3, agentSecs: 4 });
    const uid = await c.uniqueId;
    expect(await c.result).toMatchObject({ result: 'accepted', lang: 'fr', profile: 'public', languages: 'zgh.ar.fr' });
    await app.callEnded(uid);
    expect(plays(uid).slice(0, 3)).toEqual(['zgh:notice', 'ar:notice', 'fr:notice']);
    const record = await shown(uid);
    expect(record).toMatchObject({ profile: 'public', language: 'fr', noticeVersion: noticeVersion(profile('public')).version });
    const bundleFile = join(dir, 'public.bundle.json');
    expect((await cli(['ledger', 'evidence', uid, '--out', bundleFile])).code).toBe(0);
    const bundle = JSON.parse(readFileSync(bundleFile, 'utf8')) as { notice: { version: string; profile?: string; controller?: string; prompts: { lang: string; text: string; audioSha256: string | null }[] } };
    expect(bundle.notice).toMatchObject({ version: record.noticeVersion, profile: 'public', controller: 'Service Public Test' });
    expect(bundle.notice.prompts.filter((p) => p.lang === 'zgh').every((p) => p.text === '' && p.audioSha256 !== null)).toBe(true);
    expect(bundle.notice.prompts.some((p) => p.lang === 'fr' && p.text.includes('Service Public Test'))).toBe(true);
  }, 120000);

  test('When the routine names a profile the service does not know (with CR/LF and quotes in it), then nothing is recorded, the call goes on with error/unknown-profile and the name is logged escaped', async () => {
    const odd = 'nosuch"\r\nAction: Hangup';
    const c = await call('0522123457', { profile: odd, w1: 1, k1: '1', talk: 3, agentSecs: 2 });
    const uid = await c.uniqueId;
    expect(await c.result).toMatchObject({ result: 'error', reason: 'unknown-profile', recording: '' });
    const line = await app.waitForLog((l) => l.call === uid && l.message === 'unknown campaign profile: the call goes on unrecorded', 10000, 'the unknown profile error');
    expect(line).toMatchObject({ level: 'error', profile: 'nosuch"\\u000d\\u000aAction: Hangup' });
    // No line of the output was split by the name's CR/LF.
    expect(app.raw.some((raw) => raw.startsWith('Action: Hangup') || raw.includes('\r'))).toBe(false);
    expect((await cli(['ledger', 'show', uid, '--json'])).code).not.toBe(0);
  });

  test('When the configuration is reloaded while a call is in its notice, then that call keeps its profile version and the next call has the new one; a broken reload keeps the one in force', async () => {
    const before = noticeVersion(profile('insurer')).version;
    const notice = seconds('insurer', 'fr', 'notice');
    const first = await call('0600000001', { profile: 'insurer', w1: notice + 2.5, k1: '2', talk: 4 });
    const firstId = await first.uniqueId;
    await app.waitForLog((l) => l.call === firstId && l.message === 'play' && l.prompt === 'notice', 20000, 'the first call in its notice');
    writeFileSync(configFile, profilesYaml('Assurance Nouvelle SA'));
    expect((await cli(['prompts', 'build', '--profile', 'insurer'])).code).toBe(0);
    const after = noticeVersion(profile('insurer')).version;
    expect(after).not.toBe(before);
    app.signal('SIGHUP');
    const reloaded = await app.waitForLog((l) => l.message === 'configuration reloaded: new calls take the profiles now in force', 10000, 'the reload');
    const reloadedAt = app.lines.indexOf(reloaded);
    expect((reloaded.notices as Record<string, string>).insurer).toBe(after);
    expect(await first.result).toMatchObject({ result: 'refused', profile: 'insurer' });
    await app.callEnded(firstId);
    // The reload came while the first call was still deciding: its decision is logged after it.
    const decision = app.lines.findIndex((l) => l.call === firstId && l.message === 'decision');
    expect(decision).toBeGreaterThan(reloadedAt);
    expect(await shown(firstId)).toMatchObject({ noticeVersion: before });

    const second = await call('0600000002', { profile: 'insurer', w1: 1.5, k1: '2', talk: 4 });
    const secondId = await second.uniqueId;
    await second.result;
    await app.callEnded(secondId);
    expect(await shown(secondId)).toMatchObject({ noticeVersion: after });

    writeFileSync(configFile, `${profilesYaml('Assurance Nouvelle SA')}  "bad name!": {}\n`);
    app.signal('SIGHUP');
    const refused = await app.waitForLog((l) => l.message === 'reload refused: the new configuration is not valid; the one in force is kept', 10000, 'the refused reload');
    expect(String(refused.error)).toContain('profiles');
    const third = await call('0600000003', { profile: 'insurer', w1: 1.5, k1: '2', talk: 4 });
    const thirdId = await third.uniqueId;
    expect(await third.result).toMatchObject({ result: 'refused', profile: 'insurer' });
    await app.callEnded(thirdId);
    writeFileSync(configFile, profilesYaml('Assurance Nouvelle SA'));
    expect(await shown(thirdId)).toMatchObject({ noticeVersion: after });
  }, 150000);

  test('When the report is asked by profile, then its figures are the calls placed in each profile', async () => {
    const r = await cli(['report', '--by', 'profile', '--format', 'json', '--since', started.toISOString()]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { groups: { key: string; calls: number; outcomes: Record<string, number> }[] };
    const of = (key: string) => report.groups.find((g) => g.key === key);
    expect(of('bank')).toMatchObject({ calls: 1, outcomes: { accepted: 1 } });
    expect(of('insurer')).toMatchObject({ calls: 5, outcomes: { refused: 4, accepted: 1 } });
    expect(of('public')).toMatchObject({ calls: 1, outcomes: { accepted: 1 } });
  });

  test('When a profile lacks a text in one of its languages, then check-config names the profile, the language and the prompt', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, `extends: ${configFile}\nprofiles:\n  north:\n    flow: { languages: [es, fr], defaultLanguage: es }\n    prompts:\n      texts:\n        es: { notice: "Esta llamada puede ser grabada." }\n`);
    const r = await runCli(['--config', broken, 'check-config', '--json'], {}, 60000);
    expect(r.code).not.toBe(0);
    const findings = JSON.parse(r.stdout) as { level: string; key: string; message: string }[];
    expect(findings).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'error', key: 'profiles.north.prompts.texts.es.choice', message: expect.stringContaining('profile north, language es, prompt choice') })]));
    expect(findings.some((f) => f.key.startsWith('profiles.north.prompts.texts.es.notice'))).toBe(false);
  });
});
