import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { envNameFor, loadConfig, schemaLeaves } from '../../src/config/load';
import { defaultConfig, SYSTEM_CONFIG } from '../../src/cli/main';
import { checkConfig, checkDialplan, checkTimings, SAMPLE_LEGAL } from '../../src/cli/check-config';
import { configErrorOf } from '../support/records';

const SHIPPED = resolve(__dirname, '../../config/consent-ivr.yaml');
const SANDBOX = resolve(__dirname, '../../config/sandbox.yaml');
const shippedText = readFileSync(SHIPPED, 'utf8');
const secretsEnv = { CONSENT_IVR_ARI_PASSWORD: 'a', CONSENT_IVR_AMI_SECRET: 'b', CONSENT_IVR_PSEUDONYM_KEY: 'c', CONSENT_IVR_API_TOKEN: 'd', CONSENT_IVR_LEDGER_SIGNING_KEY: 'e' };

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'civr-config-'));
}

/** Writes a config made of the shipped file with `edit` applied, returns its path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form edits of a parsed YAML document
type Doc = Record<string, any>;

function withEdit(edit: (doc: Doc) => void): string {
  const doc = parse(shippedText) as Doc;
  edit(doc);
  const file = join(tmp(), 'c.yaml');
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

const errorOf = configErrorOf;

describe('configuration', () => {
  test('When the shipped production file is loaded, then it is valid and every path is where an administrator expects (FHS)', () => {
    const { config } = loadConfig(SHIPPED, secretsEnv);
    expect(config.flow.languages).toEqual(['ar', 'fr']);
    expect(config.recording.dir).toBe('/var/spool/asterisk/recording/consent-ivr');
    expect(config.ledger.journalPath).toBe('/var/lib/consent-ivr/journal/ledger.jsonl');
    expect(config.ledger.checkpointFile).toBe('/var/lib/consent-ivr/checkpoints.jsonl');
    for (const f of [config.ari.passwordFile, config.ami.secretFile, config.ledger.pseudonymKeyFile, config.ledger.signingKeyFile, config.api.tokenFile]) {
      expect(f.startsWith('/etc/consent-ivr/')).toBe(true);
    }
    expect(config.secrets).toEqual({ ariPassword: 'a', amiSecret: 'b', pseudonymKey: 'c', apiToken: 'd', signingKey: 'e' });
    // The same with no file at all: the defaults are the production paths; nothing points into a checkout.
    const bare = join(tmp(), 'bare.yaml');
    writeFileSync(bare, JSON.stringify({ prompts: { texts: (parse(shippedText) as Doc).prompts.texts } }));
    const d = loadConfig(bare, secretsEnv).config;
    expect([d.recording.dir, d.ledger.journalPath, d.ari.passwordFile, d.ledger.signingKeyFile]).toEqual([
      config.recording.dir,
      config.ledger.journalPath,
      config.ari.passwordFile,
      config.ledger.signingKeyFile,
    ]);
    expect(JSON.stringify(d)).not.toContain('.sandbox');
  });

  test('When the sandbox overlay is loaded, then it is the production file with the checkout\'s .sandbox paths, resolved next to the overlay', () => {
    const { config } = loadConfig(SANDBOX, secretsEnv);
    const prod = loadConfig(SHIPPED, secretsEnv).config;
    expect(config.recording.dir).toBe(resolve(__dirname, '../../.sandbox/recordings'));
    expect(config.ledger.signingKeyFile).toBe(resolve(__dirname, '../../.sandbox/secrets/ledger-signing-key'));
    expect(config.prompts.texts).toEqual(prod.prompts.texts);
    expect(config.flow).toEqual(prod.flow);
    // The sandbox names its own (test) controller: check-config passes there, not on the shipped samples.
    expect(config.legal.controller).not.toBe(prod.legal.controller);
    expect(checkConfig(config).filter((f) => f.level === 'error' && f.key.startsWith('legal'))).toEqual([]);
  });

  test('When a file extends another, then mappings merge key by key, lists and values replace, and each file\'s relative paths are its own', () => {
    const dir = tmp();
    const sub = join(dir, 'sub');
    writeFileSync(join(dir, 'base.yaml'), shippedText.replace('retentionDays: 180', 'retentionDays: 90'));
    mkdirSync(sub);
    writeFileSync(join(sub, 'site.yaml'), 'extends: ../base.yaml\nledger:\n  journalPath: j/ledger.jsonl\nflow:\n  languages: [fr]\n  defaultLanguage: fr\n');
    const { config } = loadConfig(join(sub, 'site.yaml'), secretsEnv);
    expect(config.ledger.retentionDays).toBe(90);
    expect(config.ledger.journalPath).toBe(join(sub, 'j/ledger.jsonl'));
    expect(config.flow.languages).toEqual(['fr']);
    writeFileSync(join(dir, 'loop.yaml'), 'extends: loop.yaml\n');
    expect(errorOf(() => loadConfig(join(dir, 'loop.yaml'), secretsEnv)).message).toContain('extends itself');
    writeFileSync(join(dir, 'missing.yaml'), 'extends: nowhere.yaml\n');
    expect(errorOf(() => loadConfig(join(dir, 'missing.yaml'), secretsEnv)).message).toContain('nowhere.yaml: cannot read configuration file');
  });

  test('When systemd passes credentials (LoadCredential=), then secrets come from $CREDENTIALS_DIRECTORY before the configured files', () => {
    const creds = tmp();
    for (const [name, v] of [['ari-password', 'cred-a'], ['ami-secret', 'cred-b'], ['pseudonym-key', 'cred-c'], ['api-token', 'cred-d'], ['ledger-signing-key', 'cred-e']]) {
      writeFileSync(join(creds, name as string), `${v as string}\n`, { mode: 0o600 });
    }
    const { config } = loadConfig(SHIPPED, { CREDENTIALS_DIRECTORY: creds, CONSENT_IVR_API_TOKEN: 'from-env' });
    expect(config.secrets).toEqual({ ariPassword: 'cred-a', amiSecret: 'cred-b', pseudonymKey: 'cred-c', apiToken: 'from-env', signingKey: 'cred-e' });
  });

  test('When no --config is given, then the CLI reads CONSENT_IVR_CONFIG, else the sandbox overlay in a checkout whose sandbox is up, else /etc/consent-ivr', () => {
    expect(defaultConfig({ CONSENT_IVR_CONFIG: '/x/c.yaml' })).toBe('/x/c.yaml');
    const checkout = tmp();
    for (const d of ['scripts', 'config']) mkdirSync(join(checkout, d));
    writeFileSync(join(checkout, 'scripts', 'sandbox.sh'), '');
    writeFileSync(join(checkout, 'config', 'sandbox.yaml'), '');
    expect(defaultConfig({}, checkout)).toBe(SYSTEM_CONFIG); // sandbox never brought up
    mkdirSync(join(checkout, '.sandbox'));
    expect(defaultConfig({}, checkout)).toBe(join(checkout, 'config', 'sandbox.yaml'));
    expect(defaultConfig({}, tmp())).toBe('/etc/consent-ivr/consent-ivr.yaml'); // an installed package
  });

  test('When a value has the wrong type, then the error names the key', () => {
    const e = errorOf(() => loadConfig(withEdit((d) => (d.flow.inputTimeoutMs = 'soon')), secretsEnv));
    expect(e.key).toBe('flow.inputTimeoutMs');
    expect(e.message).toMatch(/flow\.inputTimeoutMs: .*number/);
  });

  test('When a key is unknown, then the error names it', () => {
    const e = errorOf(() => loadConfig(withEdit((d) => (d.flow.inputTimoutMs = 4000)), secretsEnv));
    expect(e.message).toContain('flow.inputTimoutMs: unknown key');
  });

  test('When an unknown section is present, then the error names it', () => {
    const e = errorOf(() => loadConfig(withEdit((d) => (d.recordings = {})), secretsEnv));
    expect(e.message).toContain('recordings: unknown key');
  });

  test('When a required value is missing, then the error names it', () => {
    const e = errorOf(() => loadConfig(withEdit((d) => delete d.prompts.texts), secretsEnv));
    expect(e.key).toBe('prompts.texts');
    expect(e.message).toContain('prompts.texts: required value is missing');
  });

  test('When a language is not a language code, then the error names the key', () => {
    const e = errorOf(() => loadConfig(withEdit((d) => (d.flow.languages = ['ar', 'EN_us'])), secretsEnv));
    expect(e.key).toBe('flow.languages.1');
    expect(e.message).toContain('a language code');
  });

  test('When an enum value is wrong, then the error names the key', () => {
    const e = errorOf(() => loadConfig(withEdit((d) => (d.redis.mode = 'ring')), secretsEnv));
    expect(e.key).toBe('redis.mode');
  });

  test('When MixMonitor options contain a comma, then they are refused', () => {
    const e = errorOf(() => loadConfig(withEdit((d) => (d.recording.options = 'b,/bin/sh')), secretsEnv));
    expect(e.key).toBe('recording.options');
  });

  test('When the file cannot be read, then the error says so with the path', () => {
    const e = errorOf(() => loadConfig('/nonexistent/consent.yaml', secretsEnv));
    expect(e.message).toMatch(/\/nonexistent\/consent\.yaml: cannot read configuration file \(ENOENT\)/);
  });

  test('When the file is not YAML, then the error says so', () => {
    const file = join(tmp(), 'bad.yaml');
    writeFileSync(file, 'ari: [unclosed\n');
    expect(errorOf(() => loadConfig(file, secretsEnv)).message).toContain('not valid YAML');
  });

  test('When a key is repeated, then the file is refused', () => {
    const file = join(tmp(), 'dup.yaml');
    writeFileSync(file, `${shippedText}\nlogging:\n  level: debug\n`);
    expect(errorOf(() => loadConfig(file, secretsEnv)).message).toContain('not valid YAML');
  });

  test('When an environment variable overrides a key, then it wins and is typed', () => {
    const { config } = loadConfig(SHIPPED, {
      ...secretsEnv,
      CONSENT_IVR_FLOW_INPUT_TIMEOUT_MS: '1500',
      CONSENT_IVR_FLOW_LANGUAGES: 'fr,ar',
      CONSENT_IVR_METRICS_ENABLED: 'false',
      CONSENT_IVR_ARI_URL: 'http://10.0.0.1:8088',
    });
    expect(config.flow.inputTimeoutMs).toBe(1500);
    expect(config.flow.languages).toEqual(['fr', 'ar']);
    expect(config.metrics.enabled).toBe(false);
    expect(config.ari.url).toBe('http://10.0.0.1:8088');
  });

  test('When an environment override has the wrong type, then the error names the key and the variable', () => {
    const e = errorOf(() => loadConfig(SHIPPED, { ...secretsEnv, CONSENT_IVR_AMI_PORT: 'five' }));
    expect(e.key).toBe('ami.port');
    expect(e.message).toContain('CONSENT_IVR_AMI_PORT');
  });

  test('When every leaf is listed, then each has an environment name', () => {
    const leaves = schemaLeaves().map((l) => l.path);
    expect(leaves).toContain('flow.inputTimeoutMs');
    expect(leaves).toContain('prompts.texts.ar.full-notice');
    expect(envNameFor('flow.inputTimeoutMs')).toBe('CONSENT_IVR_FLOW_INPUT_TIMEOUT_MS');
    expect(envNameFor('prompts.texts.ar.full-notice')).toBe('CONSENT_IVR_PROMPTS_TEXTS_AR_FULL_NOTICE');
  });

  test('When a secret is neither in the environment nor in a readable file, then the error names the key and the variable', () => {
    const file = withEdit((d) => (d.ari.passwordFile = '/nonexistent/ari-password'));
    const e = errorOf(() => loadConfig(file, { CONSENT_IVR_AMI_SECRET: 'b', CONSENT_IVR_PSEUDONYM_KEY: 'c' }));
    expect(e.key).toBe('ari.passwordFile');
    expect(e.message).toContain('CONSENT_IVR_ARI_PASSWORD');
  });

  test('When only some secrets are asked for, then the files of the others are never read and they stay empty', () => {
    const dir = tmp();
    const file = withEdit((d) => {
      d.ari.passwordFile = join(dir, 'missing-ari');
      d.ami.secretFile = join(dir, 'missing-ami');
    });
    const { config } = loadConfig(file, { CONSENT_IVR_PSEUDONYM_KEY: 'c' }, { secrets: ['pseudonymKey'] });
    expect(config.secrets).toEqual({ ariPassword: '', amiSecret: '', pseudonymKey: 'c', apiToken: '', signingKey: '' });
    // Asked for, the same missing file is an error naming its key.
    expect(errorOf(() => loadConfig(file, { CONSENT_IVR_PSEUDONYM_KEY: 'c' }, { secrets: ['pseudonymKey', 'amiSecret'] })).key).toBe('ami.secretFile');
    // Nothing asked for: nothing read.
    expect(loadConfig(file, {}, { secrets: [] }).config.secrets).toEqual({ ariPassword: '', amiSecret: '', pseudonymKey: '', apiToken: '', signingKey: '' });
  });

  test('When a secret is optional, then it is read from the same places when there, and left empty (no error) when not', () => {
    const dir = tmp();
    const file = withEdit((d) => (d.ledger.signingKeyFile = join(dir, 'missing-key')));
    const opts = { secrets: ['pseudonymKey'] as const, optionalSecrets: ['signingKey'] as const };
    expect(loadConfig(file, { CONSENT_IVR_PSEUDONYM_KEY: 'c' }, opts).config.secrets.signingKey).toBe('');
    writeFileSync(join(dir, 'missing-key'), 'the-key\n', { mode: 0o600 });
    expect(loadConfig(file, { CONSENT_IVR_PSEUDONYM_KEY: 'c' }, opts).config.secrets.signingKey).toBe('the-key');
    expect(loadConfig(file, { CONSENT_IVR_PSEUDONYM_KEY: 'c', CONSENT_IVR_LEDGER_SIGNING_KEY: 'from-env' }, opts).config.secrets.signingKey).toBe('from-env');
  });

  test('When the control API is on, then its token is a secret like the others; when it is off, none is needed', () => {
    const dir = tmp();
    const file = withEdit((d) => (d.api = { tokenFile: join(dir, 'missing-token') }));
    const env = { CONSENT_IVR_ARI_PASSWORD: 'a', CONSENT_IVR_AMI_SECRET: 'b', CONSENT_IVR_PSEUDONYM_KEY: 'c', CONSENT_IVR_LEDGER_SIGNING_KEY: 'e' };
    const e = errorOf(() => loadConfig(file, env));
    expect(e.key).toBe('api.tokenFile');
    expect(e.message).toContain('CONSENT_IVR_API_TOKEN');
    const off = withEdit((d) => (d.api = { enabled: false, tokenFile: join(dir, 'missing-token') }));
    expect(loadConfig(off, env).config.secrets.apiToken).toBe('');
  });

  test('When a secret file is readable by everyone, then a warning says so and the secret is not in it', () => {
    const dir = tmp();
    const secret = join(dir, 'ari');
    writeFileSync(secret, 's3cr3t-value\n');
    chmodSync(secret, 0o644);
    const file = withEdit((d) => (d.ari.passwordFile = secret));
    const { config, warnings } = loadConfig(file, { CONSENT_IVR_AMI_SECRET: 'b', CONSENT_IVR_PSEUDONYM_KEY: 'c', CONSENT_IVR_API_TOKEN: 'd', CONSENT_IVR_LEDGER_SIGNING_KEY: 'e' });
    expect(config.secrets.ariPassword).toBe('s3cr3t-value');
    expect(warnings.join('\n')).toContain('readable by every user');
    expect(warnings.join('\n')).not.toContain('s3cr3t');
  });
});

describe('check-config', () => {
  test('When the shipped sample legal values are left, then each is reported', () => {
    const { config } = loadConfig(SHIPPED, secretsEnv);
    expect(config.legal).toEqual(SAMPLE_LEGAL);
    const keys = checkConfig(config).filter((f) => f.level === 'error').map((f) => f.key);
    expect(keys).toEqual(expect.arrayContaining(['legal.controller', 'legal.cndpReference', 'legal.retention.fr', 'legal.purposes.ar']));
  });

  test('When an Arabic sample legal value is left as shipped before it was vocalised, then it is still reported as the sample', () => {
    const { config } = loadConfig(
      withEdit((d) => {
        const legal = d.legal as { purposes: Record<string, string>; retention: Record<string, string> };
        legal.purposes.ar = 'جودة الخدمة';
        legal.retention.ar = 'ستة أشهر';
      }),
      secretsEnv,
    );
    const keys = checkConfig(config).filter((f) => f.message.startsWith('still the sample')).map((f) => f.key);
    expect(keys).toEqual(expect.arrayContaining(['legal.purposes.ar', 'legal.retention.ar']));
  });

  test('When legal fields are empty, then they are reported as not set', () => {
    const { config } = loadConfig(withEdit((d) => (d.legal = {})), secretsEnv);
    const messages = checkConfig(config).map((f) => `${f.key}: ${f.message}`);
    expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(/legal\.controller: .*not set/), expect.stringMatching(/legal\.cndpReference: .*not set/)]));
  });

  test('When real legal values are given, then no legal finding remains', () => {
    const { config } = loadConfig(
      withEdit((d) => {
        d.legal = {
          controller: 'Banque X',
          cndpReference: 'D-123-2025',
          purposes: { fr: 'qualité', ar: 'الجودة' },
          recipients: { fr: 'service qualité', ar: 'الجودة' },
          retention: { fr: 'trois mois', ar: 'ثلاثة أشهر' },
          rights: { fr: 'dpo@x.ma', ar: 'dpo@x.ma' },
        };
      }),
      secretsEnv,
    );
    expect(checkConfig(config).filter((f) => f.key.startsWith('legal.'))).toEqual([]);
  });

  test('When a profile speaks a language with no text for some prompts, then each is named with the profile, the language and the prompt; a studio recording satisfies it', () => {
    const { config } = loadConfig(
      withEdit((d) => {
        d.profiles = {
          north: {
            flow: { languages: ['es', 'fr'], defaultLanguage: 'es' },
            legal: { purposes: { es: 'la calidad' }, recipients: { es: 'calidad' }, retention: { es: 'seis meses' }, rights: { es: 'dpo@x.es' } },
            prompts: { texts: { es: { notice: 'Esta llamada puede ser grabada por {controller}.' } } },
          },
        };
      }),
      secretsEnv,
    );
    const noAudio = () => false;
    const missing = checkConfig(config, noAudio).filter((f) => f.key.startsWith('profiles.north.prompts.texts.es.'));
    expect(missing.map((f) => f.key.split('.').pop())).toEqual(['full-notice', 'choice', 'invalid', 'accepted', 'refused', 'withdrawn', 'not-recorded', 'agent-recorded', 'agent-not-recorded']);
    expect(missing[0]).toMatchObject({ level: 'error', message: expect.stringContaining('profile north, language es, prompt full-notice: no text and no recording') });
    // The French prompts of the profile come from the top level's texts; recordings stand for the Spanish ones.
    const recorded = checkConfig(config, (p, lang) => p.name === 'north' && lang === 'es');
    expect(recorded.filter((f) => f.key.startsWith('profiles.north.prompts'))).toEqual([]);
    // When the sounds cannot be looked at from here, a missing text is a warning, not an error.
    expect(checkConfig(config, () => null).filter((f) => f.key.startsWith('profiles.north.prompts.texts.es.')).every((f) => f.level === 'warning')).toBe(true);
  });

  test('When a profile leaves a legal field of one of its spoken languages empty, or keeps the sample values, then the finding names the profile', () => {
    const { config } = loadConfig(
      withEdit((d) => {
        d.profiles = { bank: { legal: { controller: 'Société Exemple SARL', purposes: { fr: '' } } } };
      }),
      secretsEnv,
    );
    const keys = checkConfig(config, () => true).filter((f) => f.level === 'error').map((f) => `${f.key}: ${f.message}`);
    expect(keys).toEqual(expect.arrayContaining([expect.stringMatching(/^profiles\.bank\.legal\.controller: still the sample value.*\(profile bank\)/), expect.stringMatching(/^profiles\.bank\.legal\.purposes\.fr: .*not set \(profile bank\)/)]));
  });

  test('When two profiles claim one number, or a pattern does not parse, then loading refuses the configuration naming every problem', () => {
    const e = errorOf(() =>
      loadConfig(
        withEdit((d) => {
          d.profiles = { bank: { numbers: ['_0522XXXXXX'] }, insurer: { numbers: ['0522123456', '_05[9-'] } };
        }),
        secretsEnv,
      ),
    );
    expect(e.message).toContain('profiles.insurer.numbers.0: 0522123456 and _0522XXXXXX both match 0522123456');
    expect(e.message).toContain("profiles.insurer.numbers.1: _05[9-: '[' without ']'");
  });

  test('When the control API listens beyond loopback, then check-config warns (a bearer token over plain HTTP); on loopback or disabled, it does not', () => {
    const apiFindings = (api: Record<string, unknown>) =>
      checkConfig(loadConfig(withEdit((d) => (d.api = { ...(d.api as object), ...api })), secretsEnv).config).filter((f) => f.key === 'api.host');
    expect(apiFindings({ host: '0.0.0.0' })).toEqual([expect.objectContaining({ level: 'warning', message: expect.stringContaining('beyond loopback') })]);
    expect(apiFindings({ host: '10.0.0.5' })).toHaveLength(1);
    expect(apiFindings({ host: '127.0.0.1' })).toEqual([]);
    expect(apiFindings({ host: '::1' })).toEqual([]);
    expect(apiFindings({ host: '0.0.0.0', enabled: false })).toEqual([]);
  });

  test('When api.maxConnections is not set, then it is 64; out of range it is refused', () => {
    expect(loadConfig(SHIPPED, secretsEnv).config.api.maxConnections).toBe(64);
    expect(loadConfig(withEdit((d) => (d.api = { ...(d.api as object), maxConnections: 8 })), secretsEnv).config.api.maxConnections).toBe(8);
    expect(() => loadConfig(withEdit((d) => (d.api = { ...(d.api as object), maxConnections: 0 })), secretsEnv)).toThrow(/api\.maxConnections/);
  });

  test('When a silent caller would outlast maxCallMs, then the timing is reported; when not, nothing is', () => {
    const { config } = loadConfig(SHIPPED, secretsEnv);
    const d = (notice: number) =>
      new Map(['ar', 'fr'].flatMap((l) => [[`${l}/notice`, notice], [`${l}/choice`, 4], [`${l}/refused`, 2]] as [string, number][]));
    // 2×20 + 4 + 2×(8 + 4) + 4 = 72 s < 88 s (maxCallMs 90 s, less 2 s)
    expect(checkTimings(config, d(20))).toEqual([]);
    // 2×30 + 4 + 24 + 4 = 92 s
    expect(checkTimings(config, d(30))).toEqual([expect.objectContaining({ key: 'flow.maxCallMs' })]);
    expect(checkTimings(config, new Map())).toEqual([expect.objectContaining({ key: 'prompts.soundsDir' })]);
  });

  test('When the dialplan hangs up on refusal, then it is reported with the line', () => {
    const dp = [
      '[in]',
      'exten => _X.,1,Gosub(consent-ivr,s,1)',
      ' same => n,GotoIf($["${CONSENT_RESULT}" = "refused"]?bye)',
      ' same => n,Queue(support)',
      ' same => n(bye),Hangup()',
      ' same => n,ExecIf($["${CONSENT_RESULT}" = "no-input"]?Hangup())',
    ].join('\n');
    const findings = checkDialplan('in.conf', dp);
    expect(findings.map((f) => f.key)).toEqual(['in.conf:3', 'in.conf:6']);
  });

  test('When the shipped dialplans are checked, then nothing hangs up on refusal', () => {
    for (const f of ['dialplans/consent-ivr.conf', 'dialplans/example-inbound.conf']) {
      expect(checkDialplan(f, readFileSync(resolve(__dirname, '../..', f), 'utf8'))).toEqual([]);
    }
  });
});
