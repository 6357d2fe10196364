/** Consent records and ledger configurations for tests and benchmarks. */
import { join } from 'node:path';
import { ConfigError, validate } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import type { ConsentRecord } from '../../src/ports/ledger';

/**
 * An accepted, recorded inbound call (2026-11-30): nothing withdrawn or paused, no full notice asked
 * for, its recording on no named server; `over` changes any key of the record.
 */
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
    recording: { startedAt: '2026-11-30T09:59:04.010Z', file: { path: `/rec/2026/11/30/${uniqueId}.wav`, server: null } },
    noticeVersion: 'v1',
    withdrawal: null,
    pauses: [],
    fullNotice: null,
    profile: null,
    ...over,
  };
}

/** The record of a call that was not recorded (refused, by default); `over` changes any key. */
export function unrecordedTestRecord(over: Partial<ConsentRecord> = {}): ConsentRecord {
  return testRecord({ outcome: 'refused', digit: '2', recording: null, ...over });
}

/** A recording's file at `path` on `server` (null: no named server), started at `startedAt`. */
export function testRecording(path: string, server: string | null = null, startedAt: string | null = '2026-11-30T09:59:04.010Z'): NonNullable<ConsentRecord['recording']> {
  return { startedAt, file: { path, server } };
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

/** The ConfigError `fn` throws; any other outcome (no error, another error) throws. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw new Error(`expected a ConfigError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a ConfigError');
}
