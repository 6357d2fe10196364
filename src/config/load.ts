/**
 * Loads config/consent-ivr.yaml, applies environment overrides, validates it against the schema and
 * reads the secrets. Every failure is a ConfigError whose message names the offending key.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { mergeMappings, resolveProfiles } from './profiles';
import { BUILT_IN_LANGUAGES } from '../domain/vocabulary';
import { Config, ConfigFile, configSchema, languageCode, Secrets } from './schema';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const ENV_PREFIX = 'CONSENT_IVR_';

/** Keys that hold a path; a relative path is taken relative to the configuration file's folder. */
const PATH_KEYS = [
  'ari.passwordFile',
  'ami.secretFile',
  'ledger.journalPath',
  'ledger.pseudonymKeyFile',
  'recording.dir',
  'prompts.soundsDir',
  'api.tokenFile',
  'ledger.signingKeyFile',
  'ledger.checkpointFile',
  'recording.encryption.recipientsFile',
] as const;
/** Path keys of each campaign profile (profiles.<name>.…), resolved as PATH_KEYS are. */
const PROFILE_PATH_KEYS = ['recording.encryption.recipientsFile'] as const;

/** Makes a profile's relative paths absolute, relative to `baseDir`. */
function resolveProfilePaths(profiles: unknown, baseDir: string): void {
  if (typeof profiles !== 'object' || profiles === null) return;
  for (const p of Object.values(profiles as Record<string, unknown>)) {
    if (typeof p !== 'object' || p === null) continue;
    for (const key of PROFILE_PATH_KEYS) {
      const v = getPath(p, key);
      if (typeof v === 'string' && v !== '' && !isAbsolute(v)) setPath(p as Record<string, unknown>, key, resolve(baseDir, v));
    }
  }
}
/** Keys holding a list of paths, each resolved as PATH_KEYS are. */
const PATH_LIST_KEYS = ['ledger.trustedKeyFiles', 'prompts.toolPath'] as const;

/**
 * Where each secret comes from, first found wins: the environment variable; the systemd credential
 * of that name (LoadCredential=, in $CREDENTIALS_DIRECTORY); the configured file.
 */
const SECRETS: { field: keyof Secrets; env: string; credential: string; fileKey: (typeof PATH_KEYS)[number] }[] = [
  { field: 'ariPassword', env: `${ENV_PREFIX}ARI_PASSWORD`, credential: 'ari-password', fileKey: 'ari.passwordFile' },
  { field: 'amiSecret', env: `${ENV_PREFIX}AMI_SECRET`, credential: 'ami-secret', fileKey: 'ami.secretFile' },
  { field: 'pseudonymKey', env: `${ENV_PREFIX}PSEUDONYM_KEY`, credential: 'pseudonym-key', fileKey: 'ledger.pseudonymKeyFile' },
  { field: 'apiToken', env: `${ENV_PREFIX}API_TOKEN`, credential: 'api-token', fileKey: 'api.tokenFile' },
  { field: 'signingKey', env: `${ENV_PREFIX}LEDGER_SIGNING_KEY`, credential: 'ledger-signing-key', fileKey: 'ledger.signingKeyFile' },
];

/** ari.passwordFile → CONSENT_IVR_ARI_PASSWORD_FILE */
export function envNameFor(path: string): string {
  return ENV_PREFIX + path.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/-/g, '_').toUpperCase();
}

type LeafKind = 'string' | 'number' | 'boolean' | 'array';

interface ZodInternals {
  _zod: { def: { type: string; innerType?: unknown; shape?: Record<string, unknown>; in?: unknown; keyType?: unknown; valueType?: unknown } };
}

function unwrap(schema: unknown): ZodInternals {
  let s = schema as ZodInternals;
  for (;;) {
    const def = s._zod.def;
    if (def.innerType && ['default', 'prefault', 'optional', 'nullable', 'readonly'].includes(def.type)) {
      s = def.innerType as ZodInternals;
    } else if (def.type === 'pipe' && def.in) {
      s = def.in as ZodInternals;
    } else {
      return s;
    }
  }
}

/** Every leaf key of the schema with the kind of value an environment variable must be turned into. */
export function schemaLeaves(schema: unknown = configSchema, prefix = ''): { path: string; kind: LeafKind }[] {
  const s = unwrap(schema);
  const def = s._zod.def;
  // A map by language (texts, legal fields) has variables for the built-in languages; other maps
  // (profiles) have no fixed keys to name variables after.
  if (def.type === 'record') {
    if (def.keyType !== languageCode) return [];
    return BUILT_IN_LANGUAGES.flatMap((lang) => schemaLeaves(def.valueType, `${prefix}.${lang}`));
  }
  if (def.type === 'object' && def.shape) {
    return Object.entries(def.shape).flatMap(([k, v]) => schemaLeaves(v, prefix ? `${prefix}.${k}` : k));
  }
  const kind: LeafKind =
    def.type === 'number' ? 'number' : def.type === 'boolean' ? 'boolean' : def.type === 'array' ? 'array' : 'string';
  return [{ path: prefix, kind }];
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (next === undefined || next === null) cur[p] = {};
    else if (typeof next !== 'object' || Array.isArray(next)) {
      throw new ConfigError(`${path}: cannot override, ${parts.slice(0, parts.indexOf(p) + 1).join('.')} is not a section`, path);
    }
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1] as string] = value;
}

function getPath(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function fromEnv(raw: string, kind: LeafKind, envName: string, path: string): unknown {
  switch (kind) {
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${path}: ${envName} must be a number, got "${raw}"`, path);
      return n;
    }
    case 'boolean':
      if (!['true', 'false'].includes(raw)) throw new ConfigError(`${path}: ${envName} must be true or false, got "${raw}"`, path);
      return raw === 'true';
    case 'array':
      return raw.split(',').map((v) => v.trim()).filter((v) => v !== '');
    default:
      return raw;
  }
}

function describeIssue(issue: z.core.$ZodIssue): { key: string; message: string } {
  const key = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (key ? `${key}.${k}` : k));
    return { key: keys[0] ?? key, message: `${keys.join(', ')}: unknown key` };
  }
  // A key of a map (a profile's name, a language code) that its rule refuses: say the rule.
  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0]?.message ?? issue.message;
    return { key, message: `${key}: not a valid name here (${inner})` };
  }
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) {
    return { key, message: `${key}: required value is missing` };
  }
  return { key, message: `${key || '(top level)'}: ${issue.message}` };
}

/** Problems of the profiles named in one error, at most. */
const MAX_PROFILE_ISSUES = 20;

export function validate(raw: unknown, source = '(inline)'): ConfigFile {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const first = result.error.issues[0];
    const { key, message } = first ? describeIssue(first) : { key: '', message: 'invalid configuration' };
    const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problem(s))` : '';
    throw new ConfigError(`${source}: ${message}${more}`, key);
  }
  // Every problem of the profiles at once: each names its profile, and fixing one at a time is slow.
  const { issues } = resolveProfiles(result.data);
  const [problem] = issues;
  if (problem) {
    const shown = issues.slice(0, MAX_PROFILE_ISSUES).map((i) => i.message);
    const more = issues.length > MAX_PROFILE_ISSUES ? `; and ${issues.length - MAX_PROFILE_ISSUES} more problem(s)` : '';
    throw new ConfigError(`${source}: ${shown.join('; ')}${more}`, problem.key);
  }
  return result.data;
}

function resolvePaths(cfg: ConfigFile, baseDir: string): void {
  for (const key of PATH_KEYS) {
    const v = getPath(cfg, key);
    if (typeof v === 'string' && v !== '' && !isAbsolute(v)) setPath(cfg as unknown as Record<string, unknown>, key, resolve(baseDir, v));
  }
  cfg.ledger.trustedKeyFiles = cfg.ledger.trustedKeyFiles.map((f) => (isAbsolute(f) ? f : resolve(baseDir, f)));
  cfg.prompts.toolPath = cfg.prompts.toolPath.map((f) => (isAbsolute(f) ? f : resolve(baseDir, f)));
  resolveProfilePaths(cfg.profiles, baseDir);
}

export interface LoadResult {
  config: Config;
  /** Non-fatal findings, e.g. a secret file readable by other users. */
  warnings: string[];
}

/** Every secret, for the service; a command that needs fewer names them (least privilege). */
export const ALL_SECRETS: readonly (keyof Secrets)[] = SECRETS.map((s) => s.field);

/**
 * Reads the secrets asked for; the others are left empty and their files are never opened. An
 * `optional` secret that is nowhere (no variable, credential or readable file) is left empty too.
 */
function readSecrets(cfg: ConfigFile, env: NodeJS.ProcessEnv, warnings: string[], wanted: readonly (keyof Secrets)[], optional: readonly (keyof Secrets)[]): Secrets {
  const out: Secrets = { ariPassword: '', amiSecret: '', pseudonymKey: '', apiToken: '', signingKey: '' };
  for (const s of SECRETS) {
    const isOptional = optional.includes(s.field) && !wanted.includes(s.field);
    if (!wanted.includes(s.field) && !isOptional) continue;
    if (s.field === 'apiToken' && !cfg.api.enabled) continue;
    const fromEnvValue = env[s.env];
    if (fromEnvValue !== undefined && fromEnvValue !== '') {
      out[s.field] = fromEnvValue;
      continue;
    }
    const credentials = env.CREDENTIALS_DIRECTORY;
    const credential = credentials ? join(credentials, s.credential) : null;
    const file = credential && existsSync(credential) ? credential : (getPath(cfg, s.fileKey) as string);
    if (!file) throw new ConfigError(`${s.fileKey}: no secret: set ${s.env} or ${s.fileKey}`, s.fileKey);
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
      const mode = statSync(file).mode;
      if (mode & 0o004) warnings.push(`${s.fileKey}: ${file} is readable by every user; chmod 600 it`);
    } catch (e) {
      if (isOptional) continue;
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError(`${s.fileKey}: cannot read secret file ${file} (${code}); set ${s.env} or fix the path`, s.fileKey);
    }
    if (text === '') throw new ConfigError(`${s.fileKey}: secret file ${file} is empty`, s.fileKey);
    out[s.field] = text;
  }
  return out;
}

/** Reads one YAML file as a mapping. */
function readYaml(source: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (e) {
    throw new ConfigError(`${source}: cannot read configuration file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    throw new ConfigError(`${source}: not valid YAML: ${err?.message.split('\n')[0] ?? 'parse error'}`);
  }
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${source}: the top level must be a mapping of sections`);
  return raw;
}

/** Makes the relative paths a file sets absolute, relative to that file's folder. */
function resolveRawPaths(raw: Record<string, unknown>, baseDir: string): void {
  for (const key of PATH_KEYS) {
    const v = getPath(raw, key);
    if (typeof v === 'string' && v !== '' && !isAbsolute(v)) setPath(raw, key, resolve(baseDir, v));
  }
  for (const key of PATH_LIST_KEYS) {
    const list = getPath(raw, key);
    if (Array.isArray(list)) setPath(raw, key, list.map((f) => (typeof f === 'string' && f !== '' && !isAbsolute(f) ? resolve(baseDir, f) : f)));
  }
  resolveProfilePaths(raw.profiles, baseDir);
}

/**
 * A configuration file with its `extends:` chain: the file it names (relative to its folder) is read
 * first and this one's keys go on top. Each file's relative paths are taken relative to its own folder.
 */
function readLayered(source: string, seen: string[] = []): Record<string, unknown> {
  if (seen.includes(source)) throw new ConfigError(`${source}: extends itself (${[...seen, source].join(' → ')})`);
  if (seen.length >= 5) throw new ConfigError(`${source}: too many levels of extends`);
  const raw = readYaml(source);
  const parent = raw.extends;
  delete raw.extends;
  resolveRawPaths(raw, dirname(source));
  if (parent === undefined) return raw;
  if (typeof parent !== 'string' || parent === '') throw new ConfigError(`${source}: extends: must name a configuration file`, 'extends');
  return mergeMappings(readLayered(resolve(dirname(source), parent), [...seen, source]), raw);
}

/**
 * Reads (with its `extends:` chain), overrides from the environment, validates, resolves paths and
 * reads the secrets named in `opts.secrets` (all of them unless told otherwise), and those named in
 * `opts.optionalSecrets` where this host has them.
 */
export function loadConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: { secrets?: readonly (keyof Secrets)[]; optionalSecrets?: readonly (keyof Secrets)[] } = {},
): LoadResult {
  const source = resolve(file);
  const raw = readLayered(source);
  for (const leaf of schemaLeaves()) {
    const name = envNameFor(leaf.path);
    const v = env[name];
    if (v !== undefined) setPath(raw, leaf.path, fromEnv(v, leaf.kind, name, leaf.path));
  }
  const cfg = validate(raw, source);
  resolvePaths(cfg, dirname(source));
  const warnings: string[] = [];
  const secrets = readSecrets(cfg, env, warnings, opts.secrets ?? ALL_SECRETS, opts.optionalSecrets ?? []);
  return { config: { ...cfg, source, secrets }, warnings };
}
