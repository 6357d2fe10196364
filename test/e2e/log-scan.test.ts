/**
 * Runs last (test/helpers/sequencer.js): scans the output of every service instance started during
 * this test run for secrets and for the caller numbers the tests used.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sandbox } from '../support';

/** Caller numbers placed by the tests (hostile caller IDs, SIP callers); none may appear raw. */
const CALLER_NUMBERS = ['0612345678', '+212612345678'];

test('When the whole run is over, then no service log holds a secret or a raw caller number', () => {
  const dir = join(sandbox().stateDir, 'logs');
  const logs = readdirSync(dir).filter((f) => f.startsWith('app-') && f.endsWith('.log'));
  expect(logs.length).toBeGreaterThan(3);
  const secretsDir = join(sandbox().stateDir, 'secrets');
  const secrets = readdirSync(secretsDir)
    .map((f) => readFileSync(join(secretsDir, f), 'utf8').trim())
    .filter((s) => s.length >= 8);
  expect(secrets.length).toBeGreaterThanOrEqual(3);
  const found: string[] = [];
  let bytes = 0;
  for (const f of logs) {
    const text = readFileSync(join(dir, f), 'utf8');
    bytes += statSync(join(dir, f)).size;
    for (const s of secrets) if (text.includes(s)) found.push(`${f}: a secret`);
    for (const n of CALLER_NUMBERS) if (text.includes(n)) found.push(`${f}: caller number ${n}`);
  }
  expect(bytes).toBeGreaterThan(1000);
  expect(found).toEqual([]);
});
