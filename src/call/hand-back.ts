/**
 * How a call goes back to the dialplan: the service continues it at
 * consent-ivr-result,<result>_<lang>_<reason>,1 (dialplans/consent-ivr.conf), which sets the
 * CONSENT_* variables and returns from the Gosub routine. Every part comes from a fixed list.
 */
import type { Language, Outcome } from '../domain/vocabulary';
import type { Reason } from './flow/types';
import type { DialplanTarget } from '../ports/call-control';

export const RESULT_CONTEXT = 'consent-ivr-result';

/** Why a call was handed back without running the flow: the service stopping, or a call found after a restart. */
export const HAND_BACK_REASONS = ['shutdown', 'recovered'] as const;
export type HandBackReason = Reason | (typeof HAND_BACK_REASONS)[number];

export function resultTarget(outcome: Outcome, lang: Language | null, reason: HandBackReason): DialplanTarget {
  return { context: RESULT_CONTEXT, extension: `${outcome}_${lang ?? ''}_${reason}`, priority: 1 };
}
