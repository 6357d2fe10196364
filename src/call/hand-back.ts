/**
 * How a call goes back to the dialplan: the service continues it at
 * consent-ivr-result,<result>_<lang>_<reason>_<languages>_<profile>,1 (dialplans/consent-ivr.conf),
 * which sets the CONSENT_* variables and returns from the Gosub routine. Every part comes from a
 * fixed list or the validated configuration: language codes and profile names hold no '_' but the
 * profile's, which comes last ('.' joins the languages).
 */
import type { Language, Outcome } from '../domain/vocabulary';
import type { Reason } from './flow/types';
import type { DialplanTarget } from '../ports/call-control';

export const RESULT_CONTEXT = 'consent-ivr-result';

/** Why a call was handed back without running the flow: the service stopping, or a call found after a restart. */
export const HAND_BACK_REASONS = ['shutdown', 'recovered', 'unknown-profile'] as const;
export type HandBackReason = Reason | (typeof HAND_BACK_REASONS)[number];

/** The profile a call ran in, as the dialplan needs it: its name (its prompts' folder) and its languages. */
export interface HandBackProfile {
  name: string;
  languages: readonly Language[];
}

export function resultTarget(outcome: Outcome, lang: Language | null, reason: HandBackReason, profile?: HandBackProfile): DialplanTarget {
  const tail = profile ? `_${profile.languages.join('.')}_${profile.name}` : '';
  return { context: RESULT_CONTEXT, extension: `${outcome}_${lang ?? ''}_${reason}${tail}`, priority: 1 };
}
