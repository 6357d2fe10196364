/**
 * Campaign profiles: one service speaking for several controllers, each with its own notice, legal
 * fields, languages, flow settings, withdrawal rule and retention. The top level of the
 * configuration is the profile named `default`; `profiles.<name>` sets what differs from it, with the
 * same key names, merged onto the top level's sections and validated as they are.
 */
import { z } from 'zod';
import { DEFAULT_PROFILE, longestHandBack, MAX_EXTENSION } from '../domain/vocabulary';
import { matchesNumber, NumberPatternError, overlapOf, parseNumberPattern, type NumberPattern } from '../domain/number-patterns';
import { configSchema, type ConfigFile } from './schema';

export interface Profile {
  /** `default` for the top level. */
  readonly name: string;
  readonly legal: ConfigFile['legal'];
  /** The profile's prompts; `folder` is where its files are: <prompts.folder>/<name> (the top level's own folder for the default). */
  readonly prompts: ConfigFile['prompts'];
  readonly flow: ConfigFile['flow'];
  readonly withdrawal: ConfigFile['withdrawal'];
  readonly retentionDays: number;
  /** The age recipients file its recordings are encrypted to (recording.encryption.recipientsFile); null: not encrypted. */
  readonly recipientsFile: string | null;
  /** Dialled numbers that select it (none for the default: it takes what no other profile claims). */
  readonly numbers: readonly NumberPattern[];
}

/** Keys that are one setting of the service, not of a call: a profile may not set them. */
const SERVICE_WIDE: Record<string, readonly string[]> = {
  prompts: ['soundsDir', 'folder', 'toolPath'],
  flow: ['shutdownGraceMs'],
  withdrawal: ['pollMs'],
};

const SECTIONS = ['legal', 'prompts', 'flow', 'withdrawal'] as const;

export interface ProfileIssue {
  /** Dotted key, e.g. profiles.bank.flow.languages. */
  key: string;
  message: string;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `over` on top of `base`: mappings merge key by key; anything else (lists included) replaces. */
export function mergeMappings(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isMapping(v) && isMapping(out[k]) ? mergeMappings(out[k], v) : v;
  return out;
}

function defaultProfile(cfg: ConfigFile): Profile {
  return { name: DEFAULT_PROFILE, legal: cfg.legal, prompts: cfg.prompts, flow: cfg.flow, withdrawal: cfg.withdrawal, retentionDays: cfg.ledger.retentionDays, recipientsFile: cfg.recording.encryption.recipientsFile ?? null, numbers: [] };
}

function issuesOf(error: z.ZodError, prefix: string): ProfileIssue[] {
  return error.issues.map((i) => {
    const key = [prefix, ...i.path.map(String)].join('.');
    if (i.code === 'unrecognized_keys') return { key: `${key}.${i.keys[0] ?? ''}`, message: `${i.keys.map((k) => `${key}.${k}`).join(', ')}: unknown key` };
    return { key, message: `${key}: ${i.message}` };
  });
}

function resolveOne(cfg: ConfigFile, name: string, raw: ConfigFile['profiles'][string], numbers: NumberPattern[], issues: ProfileIssue[]): Profile | null {
  const prefix = `profiles.${name}`;
  const merged: Record<string, unknown> = {};
  let ok = true;
  for (const section of SECTIONS) {
    const over = raw[section] ?? {};
    for (const key of SERVICE_WIDE[section] ?? []) {
      if (Object.hasOwn(over, key)) {
        issues.push({ key: `${prefix}.${section}.${key}`, message: `${prefix}.${section}.${key}: one setting of the whole service; set it at the top level (${section}.${key})` });
        ok = false;
      }
    }
    const result = configSchema.shape[section].safeParse(mergeMappings(cfg[section] as Record<string, unknown>, over));
    if (!result.success) {
      issues.push(...issuesOf(result.error, `${prefix}.${section}`));
      ok = false;
    } else {
      merged[section] = result.data;
    }
  }
  if (!ok) return null;
  const prompts = merged.prompts as ConfigFile['prompts'];
  return {
    name,
    legal: merged.legal as ConfigFile['legal'],
    prompts: { ...prompts, folder: `${cfg.prompts.folder}/${name}` },
    flow: merged.flow as ConfigFile['flow'],
    withdrawal: merged.withdrawal as ConfigFile['withdrawal'],
    retentionDays: raw.ledger?.retentionDays ?? cfg.ledger.retentionDays,
    recipientsFile: raw.recording?.encryption?.recipientsFile ?? cfg.recording.encryption.recipientsFile ?? null,
    numbers,
  };
}

/** A profile's numbers that parse; each one that does not is an issue. */
function numbersOf(name: string, raw: ConfigFile['profiles'][string], issues: ProfileIssue[]): NumberPattern[] {
  const numbers: NumberPattern[] = [];
  raw.numbers.forEach((text, i) => {
    try {
      numbers.push(parseNumberPattern(text));
    } catch (e) {
      if (!(e instanceof NumberPatternError)) throw e;
      issues.push({ key: `profiles.${name}.numbers.${i}`, message: `profiles.${name}.numbers.${i}: ${e.message}` });
    }
  });
  return numbers;
}

interface Claim {
  profile: string;
  pattern: NumberPattern;
  index: number;
}

/** Two profiles claiming one number: each pair once, with a number both match. */
function overlaps(claims: readonly Claim[]): ProfileIssue[] {
  const out: ProfileIssue[] = [];
  for (let i = 0; i < claims.length; i += 1) {
    for (let j = i + 1; j < claims.length; j += 1) {
      const a = claims[i];
      const b = claims[j];
      if (!a || !b) continue;
      const example = overlapOf(a.pattern, b.pattern);
      if (example === null) continue;
      const where = a.profile === b.profile ? `twice in profiles.${a.profile}.numbers` : `by profiles.${a.profile} and profiles.${b.profile}`;
      out.push({
        key: `profiles.${b.profile}.numbers.${b.index}`,
        message: `profiles.${b.profile}.numbers.${b.index}: ${b.pattern.source} and ${a.pattern.source} both match ${example || '(empty)'}: a number is claimed ${where}`,
      });
    }
  }
  return out;
}

/** The profiles of a validated configuration, the default first, or every problem found in them. */
export function resolveProfiles(cfg: ConfigFile): { profiles: Profile[]; issues: ProfileIssue[] } {
  const issues: ProfileIssue[] = [];
  const profiles: Profile[] = [defaultProfile(cfg)];
  const claims: Claim[] = [];
  for (const [name, raw] of Object.entries(cfg.profiles)) {
    const numberIssues: ProfileIssue[] = [];
    const numbers = numbersOf(name, raw, numberIssues);
    raw.numbers.forEach((text, index) => {
      const pattern = numbers.find((n) => n.source === text);
      if (pattern) claims.push({ profile: name, pattern, index });
    });
    const parsed = numbers.length === raw.numbers.length;
    const p = resolveOne(cfg, name, raw, numbers, issues);
    issues.push(...numberIssues);
    if (p && parsed) profiles.push(p);
  }
  for (const p of profiles) {
    const length = longestHandBack(p.name, p.flow.languages);
    if (length > MAX_EXTENSION) {
      const key = p.name === DEFAULT_PROFILE ? 'flow.languages' : `profiles.${p.name}`;
      issues.push({ key, message: `${key}: the profile's name and languages make the dialplan extension its calls go back at ${length} characters long, over Asterisk's ${MAX_EXTENSION}: shorten the name (or the language codes)` });
    }
    if (!p.flow.languages.includes(p.flow.defaultLanguage)) {
      const key = p.name === DEFAULT_PROFILE ? 'flow.defaultLanguage' : `profiles.${p.name}.flow.defaultLanguage`;
      issues.push({ key, message: `${key}: ${p.flow.defaultLanguage} is not one of the profile's languages (${p.flow.languages.join(', ')})` });
    }
  }
  issues.push(...overlaps(claims));
  return { profiles, issues };
}

/** How a call's profile was chosen. */
export type ProfileChoice =
  | { profile: Profile; by: 'argument' | 'number' | 'default' }
  | { profile: null; unknown: string };

/** The profiles of one configuration, and the choice of a call's profile. */
export class ProfileSet {
  private readonly byName: ReadonlyMap<string, Profile>;

  constructor(readonly all: readonly Profile[]) {
    this.byName = new Map(all.map((p) => [p.name, p]));
  }

  get default(): Profile {
    return this.byName.get(DEFAULT_PROFILE) as Profile;
  }

  get(name: string): Profile | undefined {
    return this.byName.get(name);
  }

  /** The profile a record names (records made before profiles name none: the default's). */
  of(name: string | null | undefined): Profile | undefined {
    return this.byName.get(name ?? DEFAULT_PROFILE);
  }

  /**
   * A call's profile: the one the routine's argument names (an unknown name is not replaced by
   * another: the call goes on unrecorded), else the one whose numbers match the dialled number, else
   * the default.
   */
  choose(argument: string | null, dialled: string): ProfileChoice {
    if (argument !== null && argument !== '') {
      const named = this.byName.get(argument);
      return named ? { profile: named, by: 'argument' } : { profile: null, unknown: argument };
    }
    if (dialled !== '') {
      for (const p of this.all) if (p.numbers.some((n) => matchesNumber(n, dialled))) return { profile: p, by: 'number' };
    }
    return { profile: this.default, by: 'default' };
  }
}

const sets = new WeakMap<ConfigFile, ProfileSet>();

/** The profile set of a configuration already validated (loadConfig refused any problem in its profiles). */
export function profileSetOf(cfg: ConfigFile): ProfileSet {
  let set = sets.get(cfg);
  if (!set) {
    const { profiles, issues } = resolveProfiles(cfg);
    if (issues.length > 0) throw new Error(issues[0]?.message ?? 'invalid profile');
    set = new ProfileSet(profiles);
    sets.set(cfg, set);
  }
  return set;
}

/** The longest retention of any profile (days): what nothing may be dropped before (a journal's old entries, a queued request). */
export function longestRetentionDays(cfg: ConfigFile): number {
  return Math.max(cfg.ledger.retentionDays, ...Object.values(cfg.profiles).map((p) => p.ledger?.retentionDays ?? 0));
}
