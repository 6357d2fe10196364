/**
 * The words of the consent domain, shared by the flow, the ports, the ledger and the configuration:
 * languages the notice is spoken in, the prompts, how a call leaves the flow, and how a server is
 * named. Pure data and types only; this module imports nothing of the project.
 */

/** Languages of the notice. */
export const LANGUAGES = ['ar', 'fr'] as const;
export type Language = (typeof LANGUAGES)[number];

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
