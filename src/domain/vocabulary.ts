/**
 * The words of the consent domain, shared by the flow, the ports, the ledger and the configuration:
 * languages the notice is spoken in, the prompts, how a call leaves the flow, and how a server is
 * named. Pure data and types only; this module imports nothing of the project.
 */

/**
 * A language of the notice: an ISO 639 code, optionally with BCP 47 subtags (`ar`, `fr`, `zgh`,
 * `shi-Tfng`, `es-MA`). Languages are data: a profile lists the ones its notice is spoken in.
 * The code names the sounds folder (<soundsDir>/<lang>/...) and is part of the dialplan extension
 * a call is handed back at, so it holds letters, digits and '-' only (never '_').
 */
export type Language = string;
export const LANGUAGE_CODE = /^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,3}$/;
/** The languages whose texts ship with consent-ivr (config/consent-ivr.yaml). */
export const BUILT_IN_LANGUAGES = ['ar', 'fr'] as const;
/** A notice has at least one part and at most this many (one per language). */
export const MAX_LANGUAGES = 5;

/** Scripts written right to left (ISO 15924 codes), whichever language uses them. */
const RIGHT_TO_LEFT_SCRIPTS = new Set(['Arab', 'Hebr', 'Syrc', 'Thaa', 'Nkoo', 'Adlm', 'Rohg', 'Mand', 'Samr', 'Yezi']);

/**
 * Writing direction of a language, from its script: the one its code names (`shi-Arab`), else the
 * likely one the runtime's Unicode CLDR data gives (Intl.Locale maximize: Arabic, Persian, Urdu in
 * Arabic script; Tamazight `zgh` and Tachelhit `shi` in Tifinagh; French in Latin), else the
 * runtime's own direction of the language (textInfo). Unknown: left to right.
 */
export function textDirection(lang: Language): 'rtl' | 'ltr' {
  try {
    const locale = new Intl.Locale(lang) as Intl.Locale & { textInfo?: { direction?: string }; getTextInfo?: () => { direction?: string } };
    const script = locale.maximize().script;
    if (script !== undefined) return RIGHT_TO_LEFT_SCRIPTS.has(script) ? 'rtl' : 'ltr';
    const info = locale.getTextInfo?.() ?? locale.textInfo;
    return info?.direction === 'rtl' ? 'rtl' : 'ltr';
  } catch {
    return 'ltr';
  }
}

/**
 * A campaign profile's name: letters, digits, '-' and '_' (at most 32: it ends the dialplan extension
 * a call is handed back at, see MAX_EXTENSION). The top level of the
 * configuration is the profile named `default`.
 */
export const PROFILE_NAME = /^[A-Za-z0-9_-]{1,32}$/;
export const DEFAULT_PROFILE = 'default';

/**
 * A call goes back to the dialplan at the extension <outcome>_<lang>_<reason>_<languages>_<profile>
 * (call/hand-back.ts), and Asterisk keeps at most this many characters of an extension: a profile
 * whose name and languages would not fit is refused when the configuration is read.
 */
export const MAX_EXTENSION = 79;
/** The longest reason a call is handed back with (call/flow and call/hand-back; a unit test holds them to it). */
export const MAX_REASON_LENGTH = 20;

/** The longest extension a profile's calls can be handed back at. */
export function longestHandBack(profile: string, languages: readonly Language[]): number {
  const outcome = Math.max(...OUTCOMES.map((o) => o.length));
  const lang = Math.max(...languages.map((l) => l.length));
  return outcome + 1 + lang + 1 + MAX_REASON_LENGTH + 1 + languages.join('.').length + 1 + profile.length;
}

/** Every prompt the application plays (or the dialplan whispers), one audio file per language. */
export const PROMPT_NAMES = [
  'notice',
  'full-notice',
  'choice',
  'invalid',
  'accepted',
  'refused',
  'withdrawn',
  'not-recorded',
  'agent-recorded',
  'agent-not-recorded',
] as const;
export type PromptName = (typeof PROMPT_NAMES)[number];

/** How a call left the flow; appears in logs, the CONSENT_RESULT variable and the ledger. */
export const OUTCOMES = ['accepted', 'refused', 'no-input', 'abandoned', 'unavailable', 'error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Server ids name a server in records and deletion queues: letters, digits, '.', '_' and '-'. */
export const SERVER_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Asterisk's system name (asterisk.conf `systemname`), as this project accepts it: a letter or a
 * digit, then letters, digits, '.', '_' and '-', at most 64 in all. Asterisk allows more; a name
 * outside this set would reach file names, AstDB keys and AMI actions, so it is refused (doctor says so).
 */
const SYSTEM_NAME_SOURCE = '[A-Za-z0-9][A-Za-z0-9._-]{0,63}';
export const SYSTEM_NAME = new RegExp(`^${SYSTEM_NAME_SOURCE}$`);

/**
 * A channel's UNIQUEID as Asterisk makes it: "<epoch>.<sequence>", or "<systemname>-<epoch>.<sequence>"
 * when asterisk.conf sets `systemname` (which sites with several servers on one ledger must do, or
 * their UNIQUEIDs collide). The one definition of what a UNIQUEID may be: the AstDB queues, the control
 * API's routes and recording file names use it. Safe as a file name, an AstDB key and an AMI field
 * (no '/', no space, no control character, never '.' or '..').
 */
export const UNIQUE_ID_SOURCE = `(?:${SYSTEM_NAME_SOURCE}-)?[0-9]{1,20}\\.[0-9]{1,12}`;
export const UNIQUE_ID = new RegExp(`^${UNIQUE_ID_SOURCE}$`);

/** The system name a UNIQUEID carries ('' for none), or null when it is not a UNIQUEID. */
export function systemNameOf(uniqueId: string): string | null {
  if (!UNIQUE_ID.test(uniqueId)) return null;
  const dash = uniqueId.lastIndexOf('-');
  return dash < 0 ? '' : uniqueId.slice(0, dash);
}
