/**
 * The typed configuration of consent-ivr. Every key has a default and a description; the YAML file
 * `config/consent-ivr.yaml` documents them for administrators. Every leaf key can be overridden by an
 * environment variable named CONSENT_IVR_<PATH> (see envNameFor in load.ts), e.g. ari.url →
 * CONSENT_IVR_ARI_URL, flow.inputTimeoutMs → CONSENT_IVR_FLOW_INPUT_TIMEOUT_MS.
 *
 * Secrets (ARI password, AMI secret, pseudonym key) are never read from the YAML itself: they come from
 * an environment variable or from a file named in the YAML.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { LANGUAGE_CODE, MAX_LANGUAGES, PROFILE_NAME, SERVER_ID } from '../domain/vocabulary';

/** Characters MixMonitor options may contain: letters and the option arguments used in practice. */
const MIXMONITOR_OPTIONS = /^[A-Za-z0-9()]*$/;

/** A language code of the notice (see LANGUAGE_CODE). */
export const languageCode = z.string().regex(LANGUAGE_CODE, 'a language code: ISO 639 letters, optionally BCP 47 subtags (ar, fr, zgh, shi-Tfng, es-MA)');

export const promptTexts = z
  .strictObject({
    notice: z.string().optional().describe('Short notice: who records, why, and the keys 1 / 2 / 0'),
    'full-notice': z.string().optional().describe('Full notice of Law 09-08 art. 5, then the keys again'),
    choice: z.string().optional().describe('The keys again, after an invalid key or silence'),
    invalid: z.string().optional().describe('Said after an invalid key'),
    accepted: z.string().optional().describe('Confirmation: this call will be recorded'),
    refused: z.string().optional().describe('Confirmation: this call will not be recorded'),
    withdrawn: z.string().optional().describe('After the withdrawal key during the conversation: the recording has stopped, the call goes on'),
    'not-recorded': z.string().optional().describe('The withdrawal key on a call that is not recorded: this call is not recorded'),
    'agent-recorded': z.string().optional().describe('Whispered to the agent before the caller is connected: the caller accepted, the call is recorded'),
    'agent-not-recorded': z.string().optional().describe('Whispered to the agent before the caller is connected: the call is not recorded'),
  })
  .describe('Texts of one language (a prompt without a text needs a studio recording); {controller}, {cndpReference}, {purposes}, {recipients}, {retention} and {rights} are replaced from the legal section');

/** A text given in each language the notice may be spoken in. */
const localized = z.record(languageCode, z.string()).default({});

const secretFile = z.string().describe('File holding the secret (the environment variable wins)');

const defaultServerId = () => (SERVER_ID.test(hostname()) ? hostname() : 'server');

const withdrawalSection = z
  .strictObject({
    partialRecording: z
      .enum(['delete', 'keep'])
      .default('delete')
      .describe('What becomes of the part recorded before a withdrawal: delete the file, or keep it (the ledger stores when it ends)'),
    pollMs: z.number().int().min(100).max(60000).default(1000).describe('How often withdrawals queued by the dialplan (AstDB) are taken into the ledger'),
  })
  .prefault({});

const flowSection = z
  .strictObject({
    languages: z
      .array(languageCode)
      .min(1)
      .max(MAX_LANGUAGES)
      .default(['ar', 'fr'])
      .refine((l) => new Set(l).size === l.length, 'languages must not repeat')
      .describe('Languages of the notice, in the order they are played'),
    defaultLanguage: languageCode.default('ar').describe('Language used when a key is pressed after every part has played'),
    inputTimeoutMs: z.number().int().min(500).default(4000).describe('Wait for a key after the prompt ends'),
    maxAttempts: z.number().int().min(1).max(10).default(3).describe('Presentations of the choice before no-input'),
    maxCallMs: z.number().int().min(5000).default(90000).describe('Every call leaves Stasis within this time'),
    fullNoticeExtensionMs: z.number().int().min(0).default(60000).describe('Once per call, key 0 moves the deadline to this long after the key'),
    shutdownGraceMs: z.number().int().min(0).default(15000).describe('On SIGTERM, time given to flows in progress before they continue unrecorded'),
  })
  .prefault({});

const promptsSection = z
  .strictObject({
    soundsDir: z.string().default('/usr/share/asterisk/sounds').describe('Asterisk sounds directory (prompts go in <lang>/<folder>/)'),
    folder: z.string().regex(/^[A-Za-z0-9_-]+$/).default('consent-ivr').describe('Sub-folder of each language for the prompts'),
    voices: z
      .record(languageCode, z.string().min(1))
      .default({})
      .describe('Synthetic voice per language for `prompts build`, forced: an espeak-ng voice (fr), mb-<voice> for MBROLA through espeak-ng (mb-fr4), pico:<language> for Pico (pico:fr-FR); unset: the best one installed'),
    wordsPerMinute: z.number().int().min(80).max(400).default(175).describe('espeak-ng speed (its own and the MBROLA voices; Pico has one speed)'),
    toolPath: z
      .array(z.string().min(1))
      .default([])
      .describe('Folders searched before PATH for espeak-ng, mbrola and pico2wave; each is a bin/ folder whose voices are in ../share/mbrola and ../share/pico/lang (one setting of the service)'),
    texts: z.record(languageCode, promptTexts).describe('All spoken texts, per language'),
  });

const legalSection = z
  .strictObject({
    controller: z.string().default('').describe('Identity of the controller (who records), as spoken in every language'),
    cndpReference: z.string().default('').describe('CNDP declaration receipt or authorisation number'),
    purposes: localized.describe('Purposes of the recording'),
    recipients: localized.describe('Who receives the recordings'),
    retention: localized.describe('Retention period, as said to the caller'),
    rights: localized.describe('Rights of access, rectification and opposition, and how to use them (contact)'),
  })
  .prefault({});

/** A section of a profile: keys of the top-level section, validated once merged onto it (profiles.ts). */
const overrides = z.record(z.string(), z.unknown()).optional();

/**
 * A campaign profile: what differs from the top level (the default profile) for one controller or
 * campaign. Its sections are merged onto the top level's and validated as the top level's are.
 */
export const profileSection = z.strictObject({
  legal: overrides.describe('Keys of legal: this controller, its declaration, purposes, recipients, retention, rights'),
  prompts: overrides.describe('Keys of prompts (texts, voices, wordsPerMinute); the folder is <prompts.folder>/<profile>'),
  flow: overrides.describe('Keys of flow: languages (1 to 5, in the order played), defaultLanguage, timeouts'),
  withdrawal: overrides.describe('Keys of withdrawal: partialRecording'),
  ledger: z
    .strictObject({ retentionDays: z.number().int().positive().optional().describe("This profile's records and recordings are purged after this many days") })
    .optional(),
  recording: z
    .strictObject({
      encryption: z
        .strictObject({ recipientsFile: z.string().min(1).describe("This controller's age recipients file: its recordings are encrypted to its keys") })
        .optional(),
    })
    .optional(),
  numbers: z
    .array(z.string().min(1))
    .default([])
    .describe("Dialled numbers that select this profile when the routine names none: exact numbers or Asterisk patterns (_0522XXXXXX)"),
});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      id: z
        .string()
        .regex(SERVER_ID, "letters, digits, '.', '_' and '-' only (at most 64)")
        .default(defaultServerId)
        .describe('This server: every record says which server holds its recording, and deleting it is that server\'s work (default: the host name)'),
      deletionPollMs: z.number().int().min(100).max(3_600_000).default(5000).describe('How often the service carries out the recording deletions queued for this server (erase, purge)'),
    })
    .prefault({}),
  ari: z
    .strictObject({
      url: z.url().default('http://127.0.0.1:8088').describe('Base URL of Asterisk HTTP (without /ari)'),
      user: z.string().min(1).default('consent-ivr').describe('ARI user (ari.conf)'),
      passwordFile: secretFile.default('/etc/consent-ivr/ari-password'),
      app: z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
        .default('consent-ivr')
        .describe('Stasis application name; the dialplan calls Stasis(<app>)'),
      requestTimeoutMs: z.number().int().positive().default(3000).describe('Bound on one ARI request'),
    })
    .prefault({}),
  ami: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1').describe('AMI host (keep it on loopback)'),
      port: z.number().int().min(1).max(65535).default(5038).describe('AMI port'),
      user: z.string().min(1).default('consent-ivr').describe('AMI user (needs write=system,call)'),
      secretFile: secretFile.default('/etc/consent-ivr/ami-secret'),
      actionTimeoutMs: z.number().int().positive().default(3000).describe('Bound on one AMI action'),
    })
    .prefault({}),
  redis: z
    .strictObject({
      mode: z.enum(['single', 'sentinel', 'cluster']).default('single').describe('Redis topology'),
      url: z.string().default('redis://127.0.0.1:6379/0').describe('single: redis:// URL'),
      sentinels: z.array(z.string()).default([]).describe('sentinel: host:port list'),
      sentinelName: z.string().default('mymaster').describe('sentinel: master group name'),
      clusterNodes: z.array(z.string()).default([]).describe('cluster: host:port seed list'),
      keyPrefix: z.string().default('consent-ivr:').describe('Prefix of every key the app writes'),
      writeTimeoutMs: z.number().int().positive().default(1500).describe('Bound on a ledger write before the journal takes it (a Redis that is not connected sends it there at once)'),
      commandTimeoutMs: z.number().int().positive().default(2000).describe('Bound on any one Redis command (reads, CLI scans)'),
      connectTimeoutMs: z.number().int().positive().default(2000).describe('Bound on establishing a Redis connection'),
      reconnectMaxDelayMs: z.number().int().positive().default(2000).describe('Cap of the backoff between reconnect attempts (the app reconnects forever)'),
    })
    .prefault({}),
  ledger: z
    .strictObject({
      journalPath: z.string().default('/var/lib/consent-ivr/journal/ledger.jsonl').describe('Local append-only journal used when Redis is unavailable'),
      retentionDays: z.number().int().positive().default(180).describe('Records and recordings older than this are purged'),
      pseudonymKeyFile: secretFile.default('/etc/consent-ivr/pseudonym-key'),
      replayIntervalMs: z.number().int().min(100).default(5000).describe('Pause between attempts to replay the journal into Redis while it has entries'),
      log: z
        .string()
        .regex(SERVER_ID, "letters, digits, '.', '_' and '-' only (at most 64)")
        .optional()
        .describe("This instance's log in the ledger: instances append to their own log, never contending (default: server.id; give each instance on one server its own)"),
      signingKeyFile: secretFile.default('/etc/consent-ivr/ledger-signing-key').describe('Ed25519 key that signs the checkpoints (consent-ivr keys generate); never in Redis'),
      trustedKeyFiles: z
        .array(z.string())
        .default([])
        .describe('Public keys (consent-ivr keys public) whose checkpoints verify besides the signing key: the keys used before a rotation, or the other instances\' keys'),
      checkpointIntervalMs: z.number().int().min(1000).max(3_600_000).default(60_000).describe('How often the service signs a checkpoint of its log while entries are added (and at shutdown)'),
      checkpointFile: z.string().default('/var/lib/consent-ivr/checkpoints.jsonl').describe('Local file every signed checkpoint is appended to (one JSON object per line)'),
    })
    .prefault({}),
  recording: z
    .strictObject({
      dir: z.string().default('/var/spool/asterisk/recording/consent-ivr').describe('Directory MixMonitor writes into (as Asterisk sees it)'),
      format: z.enum(['wav', 'wav49', 'gsm', 'sln']).default('wav').describe('File extension / format'),
      options: z
        .string()
        .regex(MIXMONITOR_OPTIONS, 'letters, digits and parentheses only')
        .default('b')
        .describe('MixMonitor options; b records only the bridged conversation'),
      sealPollMs: z.number().int().min(200).max(60_000).default(2000).describe('How often the service looks for closed recordings to seal (SHA-256, size and duration into the ledger)'),
      encryption: z
        .strictObject({
          recipientsFile: z
            .string()
            .min(1)
            .optional()
            .describe("age recipients file (one age1… public key per line): closed recordings are encrypted to these keys and the plaintext removed; unset: not encrypted"),
          age: z.string().min(1).default('age').describe('The age program (its folder also holds age-keygen)'),
        })
        .prefault({}),
    })
    .prefault({}),
  withdrawal: withdrawalSection,
  flow: flowSection,
  prompts: promptsSection,
  legal: legalSection,
  profiles: z
    .record(z.string().regex(PROFILE_NAME, "letters, digits, '-' and '_' only (at most 32)"), profileSection)
    .default({})
    .refine((p) => !Object.hasOwn(p, 'default'), "'default' is the top level's profile: set its keys at the top level")
    .describe('Campaign profiles: one controller or campaign each (Gosub(consent-ivr,s,1(<name>)) or profiles.<name>.numbers)'),
  logging: z
    .strictObject({
      level: z.enum(['error', 'warn', 'info', 'debug']).default('info').describe('Log level'),
      format: z.enum(['json', 'text']).default('json').describe('json: one JSON object per line'),
    })
    .prefault({}),
  api: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Serve the control API for agent desktops and CRMs (call status, withdraw, pause, resume)'),
      host: z.string().default('127.0.0.1').describe('Listen address (loopback by default)'),
      port: z.number().int().min(0).max(65535).default(9465).describe('Listen port'),
      maxConnections: z
        .number()
        .int()
        .min(1)
        .max(1024)
        .default(64)
        .describe('Sockets open at once at most (agent desktops and CRMs); more are closed as soon as accepted, so that the API never takes the files the calls need'),
      tokenFile: secretFile.default('/etc/consent-ivr/api-token'),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Serve /metrics, /healthz and /readyz'),
      host: z.string().default('127.0.0.1').describe('Listen address (loopback by default)'),
      port: z.number().int().min(0).max(65535).default(9464).describe('Listen port'),
    })
    .prefault({}),
});

export type ConfigFile = z.infer<typeof configSchema>;

export interface Secrets {
  ariPassword: string;
  amiSecret: string;
  pseudonymKey: string;
  /** Bearer token of the control API (empty when the API is disabled). */
  apiToken: string;
  /** Checkpoint signing key (consent-ivr keys generate), empty when not read. */
  signingKey: string;
}

/** The log this instance appends to. */
export function logIdOf(config: Pick<ConfigFile, 'ledger' | 'server'>): string {
  return config.ledger.log ?? config.server.id;
}

export interface Config extends ConfigFile {
  /** Absolute path of the file the configuration came from. */
  source: string;
  secrets: Secrets;
}
