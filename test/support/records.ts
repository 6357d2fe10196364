/** Consent records and ledger configurations for tests and benchmarks. */
import { join } from 'node:path';
import { validate } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import type { ConsentRecord } from '../../src/ports/ledger';

/** The record fields added after the first records were stored, all empty (nothing withdrawn, paused or held). */
export const LATER_FIELDS_EMPTY = {
  recordingServer: null,
  withdrawnAt: null,
  withdrawnBy: null,
  withdrawalRecording: null,
  pauses: null,
  fullNotice: null,
} as const satisfies Partial<ConsentRecord>;

/** An accepted, recorded inbound call (2026-11-30); `over` changes any field. */
export function testRecord(over: Partial<ConsentRecord> = {}): ConsentRecord {
  const uniqueId = over.uniqueId ?? '1796032800.5';
  return {
    uniqueId,
    linkedId: uniqueId,
    direction: 'inbound',
    callerPseudonym: 'c'.repeat(64),
    calledNumber: '0522000000',
    outcome: 'accepted',
    digit: '1',
    language: 'ar',
    attempts: 1,
    enteredAt: '2026-11-30T09:59:00.000Z',
    noticeStartedAt: '2026-11-30T09:59:00.100Z',
    decidedAt: '2026-11-30T09:59:04.000Z',
    recordingStartedAt: '2026-11-30T09:59:04.010Z',
    recordingPath: `/rec/2026/11/30/${uniqueId}.wav`,
    noticeVersion: 'v1',
    ...LATER_FIELDS_EMPTY,
    ...over,
  };
}

/** Placeholder texts for every prompt, in both languages (the ledger only hashes them). */
export const TEST_PROMPT_TEXTS = { notice: 'n', 'full-notice': 'f', choice: 'c', invalid: 'i', accepted: 'a', refused: 'r', withdrawn: 'w', 'not-recorded': 'x', 'agent-recorded': 'y', 'agent-not-recorded': 'z' };

/** The pseudonym key of test configurations. */
export const TEST_PSEUDONYM_KEY = 'test-pseudonym-key-0123456789abcdef';

/**
 * A validated configuration for tests and benchmarks of the ledger: `settings` over placeholder prompt
 * texts, with placeholder secrets; `dir` holds its (never written) source file.
 */
export function testConfig(settings: Record<string, unknown>, dir: string, secrets: Partial<Config['secrets']> = {}): Config {
  const base = validate({ prompts: { texts: { ar: TEST_PROMPT_TEXTS, fr: TEST_PROMPT_TEXTS } }, ...settings });
  return { ...base, source: join(dir, 'consent-ivr.yaml'), secrets: { ariPassword: 'x', amiSecret: 'x', pseudonymKey: TEST_PSEUDONYM_KEY, apiToken: '', signingKey: '', ...secrets } };
}
