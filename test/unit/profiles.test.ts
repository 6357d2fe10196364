/**
 * Campaign profiles (src/config/profiles.ts) and the dialled-number patterns that select them
 * (src/domain/number-patterns.ts): what a profile may set and how it merges onto the top level, what
 * is refused and with which key, which number matches which pattern, when two profiles claim one
 * number, and how a call's profile is chosen.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { checkConfig } from '../../src/cli/check-config';
import { loadConfig, validate } from '../../src/config/load';
import { ProfileSet, profileSetOf, resolveProfiles, type Profile } from '../../src/config/profiles';
import { configSchema, type ConfigFile } from '../../src/config/schema';
import { REASONS } from '../../src/call/flow/types';
import { HAND_BACK_REASONS, resultTarget } from '../../src/call/hand-back';
import { longestHandBack, MAX_EXTENSION, MAX_REASON_LENGTH, OUTCOMES } from '../../src/domain/vocabulary';
import { matchesNumber, NumberPatternError, overlapOf, parseNumberPattern } from '../../src/domain/number-patterns';
import { configErrorOf } from '../support/records';

const SHIPPED = resolve(__dirname, '../../config/consent-ivr.yaml');
const CAMPAIGNS = resolve(__dirname, '../../config/examples/campaigns.yaml');
const ADMIN = resolve(__dirname, '../../docs/admin.md');
type Doc = Record<string, unknown>;
const shipped = (): Doc => parse(readFileSync(SHIPPED, 'utf8')) as Doc;

/** The shipped configuration with these profiles (and top-level changes), validated as the service does. */
function withProfiles(profiles: Doc, top: Doc = {}): ConfigFile {
  return validate({ ...shipped(), ...top, profiles });
}

/** The problems resolveProfiles finds (the schema itself accepts the file). */
function issuesOf(profiles: Doc, top: Doc = {}): { key: string; message: string }[] {
  return resolveProfiles(configSchema.parse({ ...shipped(), ...top, profiles })).issues;
}

const refusal = configErrorOf;

function profile(cfg: ConfigFile, name: string): Profile {
  const p = profileSetOf(cfg).get(name);
  if (!p) throw new Error(`no profile ${name}`);
  return p;
}

describe('campaign profiles: merging onto the top level', () => {
  test('When a configuration has no profiles, then it has one, the default, which is the top level', () => {
    const cfg = validate(shipped());
    const set = profileSetOf(cfg);
    expect(set.all.map((p) => p.name)).toEqual(['default']);
    expect(set.default).toMatchObject({ legal: cfg.legal, prompts: cfg.prompts, flow: cfg.flow, withdrawal: cfg.withdrawal, retentionDays: cfg.ledger.retentionDays, numbers: [] });
  });

  test('When a profile sets some keys, then they replace the top level\'s, mappings merge key by key (per language too), lists replace, and everything else is the top level\'s', () => {
    const cfg = withProfiles({
      bank: {
        legal: { controller: 'Banque Exemple', purposes: { fr: 'la preuve des opérations' } },
        prompts: { texts: { fr: { notice: 'Bonjour {controller}.' } }, wordsPerMinute: 160 },
        flow: { languages: ['fr', 'ar'], defaultLanguage: 'fr', maxCallMs: 90000 },
        withdrawal: { partialRecording: 'keep' },
        ledger: { retentionDays: 90 },
        numbers: ['_05220001XX'],
      },
    });
    const top = profile(cfg, 'default');
    const bank = profile(cfg, 'bank');
    expect(profileSetOf(cfg).all.map((p) => p.name)).toEqual(['default', 'bank']);
    expect(bank.legal.controller).toBe('Banque Exemple');
    expect(bank.legal.cndpReference).toBe(top.legal.cndpReference);
    expect(bank.legal.purposes).toEqual({ ...top.legal.purposes, fr: 'la preuve des opérations' });
    expect(bank.legal.rights).toEqual(top.legal.rights);
    expect(bank.prompts.texts.fr).toEqual({ ...top.prompts.texts.fr, notice: 'Bonjour {controller}.' });
    expect(bank.prompts.texts.ar).toEqual(top.prompts.texts.ar);
    expect(bank.prompts.wordsPerMinute).toBe(160);
    expect(bank.prompts.voices).toEqual(top.prompts.voices);
    expect(bank.flow).toEqual({ ...top.flow, languages: ['fr', 'ar'], defaultLanguage: 'fr', maxCallMs: 90000 });
    expect(bank.withdrawal).toEqual({ ...top.withdrawal, partialRecording: 'keep' });
    expect(bank.retentionDays).toBe(90);
    expect(bank.numbers.map((n) => n.source)).toEqual(['_05220001XX']);
    // Its prompts are in its own folder under the top level's; the sounds directory is the service's.
    expect(bank.prompts.folder).toBe(`${top.prompts.folder}/bank`);
    expect(bank.prompts.soundsDir).toBe(top.prompts.soundsDir);
    // The top level is unchanged by its profiles.
    expect(top.legal.controller).toBe(validate(shipped()).legal.controller);
    expect(top.flow.languages).toEqual(['ar', 'fr']);
  });

  test('When a profile sets no retention, then it keeps the top level\'s', () => {
    const cfg = withProfiles({ a: {} }, { ledger: { ...(shipped().ledger as Doc), retentionDays: 30 } });
    expect(profile(cfg, 'a').retentionDays).toBe(30);
  });
});

describe('campaign profiles: what is refused, and the key named', () => {
  test.each([
    ['prompts', 'soundsDir', '/tmp/sounds'],
    ['prompts', 'folder', 'elsewhere'],
    ['flow', 'shutdownGraceMs', 1000],
    ['withdrawal', 'pollMs', 500],
  ])('When a profile sets the service-wide %s.%s, then it is refused, naming profiles.<name>.%s.%s', (section, key, value) => {
    const e = refusal(() => withProfiles({ bank: { [section]: { [key]: value } } }));
    expect(e.key).toBe(`profiles.bank.${section}.${key}`);
    expect(e.message).toContain(`profiles.bank.${section}.${key}: one setting of the whole service`);
    expect(e.message).toContain(`(${section}.${key})`);
  });

  test('When a profile sets a ledger key other than retentionDays, or a section profiles do not have, then it is refused, naming it', () => {
    expect(refusal(() => withProfiles({ bank: { ledger: { journalPath: '/tmp/j' } } })).key).toBe('profiles.bank.ledger.journalPath');
    expect(refusal(() => withProfiles({ bank: { recording: { dir: '/tmp' } } })).key).toBe('profiles.bank.recording.dir');
    expect(refusal(() => withProfiles({ bank: { recording: { encryption: { recipientsFile: '/etc/bank.age', age: '/bin/age' } } } })).key).toBe('profiles.bank.recording.encryption.age');
    expect(refusal(() => withProfiles({ bank: { ari: {} } })).key).toBe('profiles.bank.ari');
  });

  test('When a profile sets an unknown key or a value of the wrong kind in a section, then it is refused, naming it under profiles.<name>', () => {
    const unknown = refusal(() => withProfiles({ bank: { flow: { inputTimoutMs: 4000 } } }));
    expect(unknown.key).toBe('profiles.bank.flow.inputTimoutMs');
    expect(unknown.message).toContain('profiles.bank.flow.inputTimoutMs: unknown key');
    expect(refusal(() => withProfiles({ bank: { flow: { maxAttempts: 0 } } })).key).toBe('profiles.bank.flow.maxAttempts');
    expect(refusal(() => withProfiles({ bank: { withdrawal: { partialRecording: 'shred' } } })).key).toBe('profiles.bank.withdrawal.partialRecording');
    expect(refusal(() => withProfiles({ bank: { prompts: { texts: { fr: { notise: 'x' } } } } })).key).toBe('profiles.bank.prompts.texts.fr.notise');
    expect(refusal(() => withProfiles({ bank: { ledger: { retentionDays: 0 } } })).key).toBe('profiles.bank.ledger.retentionDays');
  });

  test('When a profile\'s language is not a language code, then it is refused, naming the list entry', () => {
    const e = refusal(() => withProfiles({ bank: { flow: { languages: ['fr', 'FR_fr'], defaultLanguage: 'fr' } } }));
    expect(e.key).toBe('profiles.bank.flow.languages.1');
    expect(e.message).toContain('a language code');
    expect(refusal(() => withProfiles({ bank: { flow: { defaultLanguage: 'Arabic' } } })).key).toBe('profiles.bank.flow.defaultLanguage');
    expect(refusal(() => withProfiles({ bank: { prompts: { texts: { 'f r': { notice: 'x' } } } } })).key).toMatch(/^profiles\.bank\.prompts\.texts/);
  });

  test('When a profile has no language, more than five, or one twice, then it is refused; one to five distinct codes are taken in their order', () => {
    expect(refusal(() => withProfiles({ a: { flow: { languages: [] } } })).key).toBe('profiles.a.flow.languages');
    expect(refusal(() => withProfiles({ a: { flow: { languages: ['ar', 'fr', 'zgh', 'es', 'en', 'de'] } } })).key).toBe('profiles.a.flow.languages');
    expect(refusal(() => withProfiles({ a: { flow: { languages: ['ar', 'fr', 'ar'] } } })).key).toBe('profiles.a.flow.languages');
    const cfg = withProfiles({ a: { flow: { languages: ['zgh', 'ar', 'fr', 'es', 'shi-Tfng'] } }, b: { flow: { languages: ['fr'], defaultLanguage: 'fr' } } });
    expect(profile(cfg, 'a').flow.languages).toEqual(['zgh', 'ar', 'fr', 'es', 'shi-Tfng']);
    expect(profile(cfg, 'b').flow.languages).toEqual(['fr']);
  });

  test('When a profile\'s defaultLanguage is not one of its languages (set or inherited), then it is refused, naming profiles.<name>.flow.defaultLanguage; at the top level, flow.defaultLanguage', () => {
    const inherited = refusal(() => withProfiles({ insurer: { flow: { languages: ['fr'] } } }));
    expect(inherited.key).toBe('profiles.insurer.flow.defaultLanguage');
    expect(inherited.message).toContain("ar is not one of the profile's languages (fr)");
    expect(refusal(() => withProfiles({ a: { flow: { defaultLanguage: 'zgh' } } })).key).toBe('profiles.a.flow.defaultLanguage');
    expect(refusal(() => withProfiles({}, { flow: { languages: ['fr'], defaultLanguage: 'ar' } })).key).toBe('flow.defaultLanguage');
  });

  test('When a profile is named default, then it is refused: the top level is that profile', () => {
    const e = refusal(() => withProfiles({ default: { legal: { controller: 'X' } } }));
    expect(e.key).toBe('profiles');
    expect(e.message).toContain("'default' is the top level's profile");
  });

  test.each(['bank name', 'bänk', 'bank.fr', 'bank/fr', '', 'b'.repeat(33), 'bank:1'])('When a profile is named %j, then it is refused, naming it', (name) => {
    const e = refusal(() => withProfiles({ [name]: {} }));
    expect(e.key).toBe(`profiles.${name}`);
  });

  test('Names of letters, digits, \'-\' and \'_\', up to 32, are profile names', () => {
    const names = ['bank', 'Bank-2', 'public_service', 'x', '0', 'b'.repeat(32)];
    const cfg = withProfiles(Object.fromEntries(names.map((n) => [n, {}])));
    expect(profileSetOf(cfg).all.map((p) => p.name).sort()).toEqual(['default', ...names].sort());
  });

  test('When a number pattern is malformed, then it is refused, naming the list entry', () => {
    const e = refusal(() => withProfiles({ bank: { numbers: ['0522000100', '_0522[1-'] } }));
    expect(e.key).toBe('profiles.bank.numbers.1');
    expect(e.message).toContain("'[' without ']'");
  });

  test('When several things are wrong, then every one is found and the load names each', () => {
    const issues = issuesOf({ a: { flow: { shutdownGraceMs: 1 } }, b: { prompts: { soundsDir: '/x' }, numbers: ['_['] } });
    expect(issues.map((i) => i.key)).toEqual(['profiles.a.flow.shutdownGraceMs', 'profiles.b.prompts.soundsDir', 'profiles.b.numbers.0']);
    const message = refusal(() => withProfiles({ a: { flow: { shutdownGraceMs: 1 } }, b: { prompts: { soundsDir: '/x' } } })).message;
    expect(message).toContain('profiles.a.flow.shutdownGraceMs: one setting of the whole service');
    expect(message).toContain('; profiles.b.prompts.soundsDir: one setting of the whole service');
  });
});

describe('the extension a profile\'s calls go back at', () => {
  test('Every reason a call is handed back with is within the length the configuration counts on', () => {
    for (const r of [...REASONS, ...HAND_BACK_REASONS]) expect(r.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
  });

  test('The longest extension is counted from the longest outcome, language and reason', () => {
    const languages = ['zgh', 'ar', 'fr'];
    const worst = OUTCOMES.flatMap((o) => [...REASONS, ...HAND_BACK_REASONS].flatMap((r) => languages.map((l) => resultTarget(o, l, r, { name: 'public', languages }).extension.length)));
    expect(Math.max(...worst)).toBeLessThanOrEqual(longestHandBack('public', languages));
  });

  test('When a profile\'s name and languages would not fit in an Asterisk extension, then it is refused, saying so', () => {
    const long = 'x'.repeat(32);
    const e = refusal(() => validate({ ...shipped(), profiles: { [long]: { flow: { languages: ['zgh', 'shi', 'ar', 'fr', 'es'], defaultLanguage: 'ar' } } } }));
    expect(e.message).toContain(`profiles.${long}: the profile's name and languages make the dialplan extension`);
    expect(e.message).toContain(`over Asterisk's ${MAX_EXTENSION}`);
    expect(() => validate({ ...shipped(), profiles: { [long]: { flow: { languages: ['zgh', 'ar', 'fr'], defaultLanguage: 'ar' } } } })).not.toThrow();
  });

  test('When a profile\'s name breaks the rule, then the error says the rule', () => {
    expect(refusal(() => validate({ ...shipped(), profiles: { 'bad name': {} } })).message).toContain("letters, digits, '-' and '_' only");
  });
});

describe('dialled-number patterns (Asterisk syntax)', () => {
  const m = (pattern: string, number: string) => matchesNumber(parseNumberPattern(pattern), number);

  test.each([
    // exact numbers
    ['0522123456', '0522123456', true],
    ['0522123456', '05221234567', false],
    ['0522123456', '052212345', false],
    ['+212522123456', '+212522123456', true],
    // X: 0-9, Z: 1-9, N: 2-9, lower case too
    ['_0522XXXXXX', '0522000000', true],
    ['_0522XXXXXX', '0522999999', true],
    ['_0522XXXXXX', '0523000000', false],
    ['_0522XXXXXX', '052200000', false],
    ['_0522XXXXXX', '05220000000', false],
    ['_0522XXXXXX', '0522A00000', false],
    ['_0522xxxxxx', '0522123456', true],
    ['_Z', '0', false],
    ['_Z', '1', true],
    ['_z', '9', true],
    ['_N', '1', false],
    ['_N', '2', true],
    ['_n', '9', true],
    // [..]: the characters listed, ranges allowed
    ['_0522[1-3]X', '052215', true],
    ['_0522[1-3]X', '052235', true],
    ['_0522[1-3]X', '052245', false],
    ['_0522[1-3]X', '052205', false],
    ['_05[2357]X', '0571', true],
    ['_05[2357]X', '0561', false],
    ['_05[25-7]X', '0561', true],
    // '.': one or more of anything, '!': zero or more
    ['_0522.', '05221', true],
    ['_0522.', '0522123456789', true],
    ['_0522.', '0522', false],
    ['_0522!', '0522', true],
    ['_0522!', '05221234', true],
    ['_0522!', '052', false],
    ['_+212.', '+212522000100', true],
    // '-' is ignored, in patterns, in exact numbers and in the number dialled (as Asterisk does)
    ['_0522-XX-XX-XX', '0522123456', true],
    ['_0522-XXX-XXX', '0522123456', true],
    ['_05-22-XXXXXX', '0522123456', true],
    ['0522-12-34-56', '0522123456', true],
    ['0522123456', '0522-12-34-56', true],
    ['_0522XXXXXX', '0522-123-456', true],
  ])('%s matches %s: %s', (pattern, number, expected) => {
    expect(m(pattern, number)).toBe(expected);
  });

  test.each([
    ['', 'a number or pattern of 1 to 80 characters'],
    ['1'.repeat(81), 'a number or pattern of 1 to 80 characters'],
    ['_', 'an empty pattern'],
    ['_-', 'an empty pattern'],
    ['---', 'no number in it'],
    ['_05.X', "'.' and '!' may only end a pattern"],
    ['_05!X', "'.' and '!' may only end a pattern"],
    ['_05..', "'.' and '!' may only end a pattern"],
    ['_05[12', "'[' without ']'"],
    ['_05[]X', 'empty brackets'],
    ['_05[3-1]', 'range 3-1 goes backwards'],
    ['_05[1 ]', 'cannot be part of a number'],
    ['0522 123456', 'cannot be part of a number'],
    ['05_22', 'cannot be part of a number (a pattern starts with _)'],
    ['_05;1', 'cannot be part of a number pattern'],
    ['_05,1', 'cannot be part of a number pattern'],
  ])('%j is refused: %s', (pattern, message) => {
    expect(() => parseNumberPattern(pattern)).toThrow(NumberPatternError);
    expect(() => parseNumberPattern(pattern)).toThrow(message);
  });
});

describe('two profiles claiming one number', () => {
  const overlap = (a: string, b: string) => overlapOf(parseNumberPattern(a), parseNumberPattern(b));

  test.each([
    ['_0522XXXXXX', '0522123456', '0522123456'],
    ['_0522XXXXXX', '_052[1-3]XXXXXX', '0522000000'],
    ['_05XX', '_0.', '0500'],
    ['_0522.', '0522000100', '0522000100'],
    ['_0522!', '0522', '0522'],
    ['_X.', '_0522[5-9]', '05225'],
    ['_+212.', '+212522000100', '+212522000100'],
    ['_0522-XXX-XXX', '0522-000-100', '0522000100'],
    ['_NXX', '_ZXX', '200'],
  ])('%s and %s overlap, both matching %s', (a, b, example) => {
    expect(overlap(a, b)).toBe(example);
    expect(overlap(b, a)).toBe(example);
    expect(m2(a, example) && m2(b, example)).toBe(true);
  });

  test.each([
    ['_0522XXXXXX', '_0523XXXXXX'],
    ['_05XX', '_05XXX'],
    ['_0522XXXXXX', '05221234567'],
    ['_0522.', '0522'],
    ['_X.', '5'],
    ['_N', '_[01]'],
    ['_Z', '0'],
    ['_05[2-4]X', '_05[5-9]X'],
    ['0522123456', '0522123457'],
  ])('%s and %s do not overlap', (a, b) => {
    expect(overlap(a, b)).toBeNull();
    expect(overlap(b, a)).toBeNull();
  });

  function m2(pattern: string, number: string): boolean {
    return matchesNumber(parseNumberPattern(pattern), number);
  }

  test('When two profiles claim one number, then the configuration is refused, naming both patterns, both profiles and a number they both match', () => {
    const e = refusal(() => withProfiles({ bank: { numbers: ['_0522XXXXXX'] }, other: { numbers: ['0600000000', '0522000100'] } }));
    expect(e.key).toBe('profiles.other.numbers.1');
    expect(e.message).toContain('0522000100 and _0522XXXXXX both match 0522000100');
    expect(e.message).toContain('claimed by profiles.bank and profiles.other');
  });

  test('When one profile lists a number twice, then it is refused too, saying so', () => {
    const e = refusal(() => withProfiles({ bank: { numbers: ['_05220001XX', '0522000150'] } }));
    expect(e.key).toBe('profiles.bank.numbers.1');
    expect(e.message).toContain('twice in profiles.bank.numbers');
  });

  test('When profiles claim neighbouring numbers that no number matches twice, then the configuration loads', () => {
    const cfg = withProfiles({ a: { numbers: ['_0522XXXXXX'] }, b: { numbers: ['_0523XXXXXX'] }, c: { numbers: ['_05XX'] }, d: { numbers: ['_05XXX'] } });
    expect(profileSetOf(cfg).all.map((p) => p.name)).toEqual(['default', 'a', 'b', 'c', 'd']);
  });
});

describe('choosing a call\'s profile', () => {
  const cfg = withProfiles({
    bank: { numbers: ['_05220001XX', '0800001234'] },
    insurer: { flow: { languages: ['fr'], defaultLanguage: 'fr' } },
    city: { numbers: ['0537000000'] },
  });
  const set: ProfileSet = profileSetOf(cfg);

  test('The routine\'s argument wins over the dialled number', () => {
    expect(set.choose('insurer', '0522000150')).toMatchObject({ profile: { name: 'insurer' }, by: 'argument' });
    expect(set.choose('city', '0522000150')).toMatchObject({ profile: { name: 'city' }, by: 'argument' });
    expect(set.choose('default', '0522000150')).toMatchObject({ profile: { name: 'default' }, by: 'argument' });
  });

  test('An argument naming no profile is unknown: no other profile is taken in its place, whatever the number', () => {
    expect(set.choose('bnak', '0522000150')).toEqual({ profile: null, unknown: 'bnak' });
    expect(set.choose('BANK', '')).toEqual({ profile: null, unknown: 'BANK' });
    expect(set.choose('bank,outbound', '')).toEqual({ profile: null, unknown: 'bank,outbound' });
  });

  test('With no argument (or an empty one), the profile whose numbers match the dialled number', () => {
    expect(set.choose(null, '0522000150')).toMatchObject({ profile: { name: 'bank' }, by: 'number' });
    expect(set.choose('', '0800001234')).toMatchObject({ profile: { name: 'bank' }, by: 'number' });
    expect(set.choose(null, '0537000000')).toMatchObject({ profile: { name: 'city' }, by: 'number' });
  });

  test('With no argument and no number matching (or none dialled), the default', () => {
    expect(set.choose(null, '0522000200')).toMatchObject({ profile: { name: 'default' }, by: 'default' });
    expect(set.choose(null, '')).toMatchObject({ profile: { name: 'default' }, by: 'default' });
    expect(set.choose('', '05370000001')).toMatchObject({ profile: { name: 'default' }, by: 'default' });
  });

  test('A record\'s profile is found by name; a record made before profiles names none and is the default\'s', () => {
    expect(set.of('bank')?.name).toBe('bank');
    expect(set.of(null)?.name).toBe('default');
    expect(set.of(undefined)?.name).toBe('default');
    expect(set.of('gone')).toBeUndefined();
  });
});

describe('the worked examples: config/examples/campaigns.yaml and docs/admin.md', () => {
  const { config } = loadConfig(CAMPAIGNS, {}, { secrets: [] });
  const set = profileSetOf(config);

  test('The file extends the production configuration, found relative to its own folder: its top level is the default profile', () => {
    const production = loadConfig(SHIPPED, {}, { secrets: [] }).config;
    expect(config.source).toBe(CAMPAIGNS);
    expect(set.default.legal).toEqual(production.legal);
    expect(set.default.flow).toEqual(production.flow);
    expect(config.recording).toEqual(production.recording);
  });

  test('Its three profiles resolve with their languages, retention, prompt folders and numbers', () => {
    expect(set.all.map((p) => p.name)).toEqual(['default', 'bank', 'insurer', 'public-service']);
    const summary = Object.fromEntries(
      set.all.map((p) => [p.name, { languages: p.flow.languages, defaultLanguage: p.flow.defaultLanguage, retentionDays: p.retentionDays, folder: p.prompts.folder, numbers: p.numbers.map((n) => n.source) }]),
    );
    expect(summary).toEqual({
      default: { languages: ['ar', 'fr'], defaultLanguage: 'ar', retentionDays: 180, folder: 'consent-ivr', numbers: [] },
      bank: { languages: ['ar', 'fr'], defaultLanguage: 'ar', retentionDays: 180, folder: 'consent-ivr/bank', numbers: ['_05220001XX', '0800001234'] },
      insurer: { languages: ['fr'], defaultLanguage: 'fr', retentionDays: 180, folder: 'consent-ivr/insurer', numbers: [] },
      'public-service': { languages: ['zgh', 'ar', 'fr'], defaultLanguage: 'ar', retentionDays: 90, folder: 'consent-ivr/public-service', numbers: ['0537000000'] },
    });
    // Six months at most for the insurer (CNIL): 180 days is under the shortest six months (181 days).
    expect(profile(config, 'insurer').retentionDays).toBeLessThanOrEqual(181);
    // Each names its own controller; the Tamazight prompts are recordings: no zgh text is configured.
    expect(new Set(set.all.map((p) => p.legal.controller)).size).toBe(4);
    expect(profile(config, 'public-service').prompts.texts.zgh).toBeUndefined();
    expect(profile(config, 'public-service').flow.maxCallMs).toBe(120000);
  });

  test('The bank and the public service are chosen by their numbers, the insurer by the routine\'s argument', () => {
    expect(set.choose(null, '0522000150')).toMatchObject({ profile: { name: 'bank' }, by: 'number' });
    expect(set.choose(null, '0800001234')).toMatchObject({ profile: { name: 'bank' }, by: 'number' });
    expect(set.choose(null, '0537000000')).toMatchObject({ profile: { name: 'public-service' }, by: 'number' });
    expect(set.choose('insurer', '')).toMatchObject({ profile: { name: 'insurer' }, by: 'argument' });
    expect(set.choose('insurer', '0522000150')).toMatchObject({ profile: { name: 'insurer' }, by: 'argument' });
    expect(set.choose(null, '0522000200')).toMatchObject({ profile: { name: 'default' }, by: 'default' });
  });

  test('check-config finds nothing to fix in the three profiles once the Tamazight recordings are there; without them, it names each missing one by profile, language and prompt', () => {
    const full = { ...config, secrets: { ariPassword: '', amiSecret: '', pseudonymKey: '', apiToken: '', signingKey: '' } };
    expect(checkConfig(full, () => true).filter((f) => f.key.startsWith('profiles.'))).toEqual([]);
    const missing = checkConfig(full, (_p, lang) => lang !== 'zgh').filter((f) => f.key.startsWith('profiles.'));
    expect(missing.length).toBe(10);
    for (const f of missing) {
      expect(f.level).toBe('error');
      expect(f.key).toMatch(/^profiles\.public-service\.prompts\.texts\.zgh\./);
      expect(f.message).toMatch(/^profile public-service, language zgh, prompt [a-z-]+: no text and no recording/);
    }
  });

  test('The YAML snippets of admin.md\'s "Several controllers and campaigns" each validate, and together are the file\'s profiles', () => {
    const text = readFileSync(ADMIN, 'utf8');
    const start = text.indexOf('\n## Several controllers and campaigns\n');
    expect(start).toBeGreaterThan(0);
    const end = text.indexOf('\n## ', start + 1);
    const section = text.slice(start, end < 0 ? undefined : end);
    const snippets = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1] as string) as Doc);
    expect(snippets.length).toBe(3);
    const fromDocs: Doc = {};
    for (const snippet of snippets) {
      expect(Object.keys(snippet)).toEqual(['profiles']);
      const profiles = snippet.profiles as Doc;
      expect(Object.keys(profiles)).toHaveLength(1);
      validate({ ...shipped(), profiles });
      Object.assign(fromDocs, profiles);
    }
    const file = parse(readFileSync(CAMPAIGNS, 'utf8')) as Doc;
    expect(file.extends).toBe('../consent-ivr.yaml');
    expect(fromDocs).toEqual(file.profiles);
  });
});
