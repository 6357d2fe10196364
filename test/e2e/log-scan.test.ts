/**
 * The output of the service and of the CLI holds no secret and no raw caller number. The test makes
 * what it scans: an instance of its own (its own Stasis application and ledger log) takes calls from
 * known numbers, the CLI runs against their records, and the output of both is read; no other
 * test's leftovers are needed, so it runs in any order.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pseudonymise } from '../../src/ledger/pseudonym';
import { ledgerRecordWhen, placeCall, promptSeconds, runCli, sandbox, ServiceProcess, startApp, TestAmi, waitChannelsGone } from '../support';

/** Caller numbers of this test's calls (one caller, national and international format); none may appear raw. */
const CALLER_NUMBERS = ['0612345678', '+212612345678'];

let ami: TestAmi;

beforeAll(async () => {
  ami = new TestAmi();
  await ami.start();
});

afterAll(async () => {
  ami?.close();
  await ServiceProcess.killLeftovers();
});

/** The sandbox's secrets (its secrets folder), long enough not to turn up by chance. */
function secrets(): string[] {
  const dir = join(sandbox().stateDir, 'secrets');
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f), 'utf8').trim())
    .filter((s) => s.length >= 8);
}

test('When calls from known numbers are served and the CLI reads their records, then no service log or CLI output holds a secret or a raw caller number', async () => {
  const app = await startApp({ CONSENT_IVR_FLOW_INPUT_TIMEOUT_MS: '1500', CONSENT_IVR_FLOW_MAX_ATTEMPTS: '2' }, `civr-log-scan-${randomUUID().slice(0, 8)}`);
  const outcomes = ['accepted', 'refused'];
  // Each caller stays on past the confirmation prompt, so that the call is handed back to the dialplan.
  const calls = await Promise.all(
    CALLER_NUMBERS.map((callerNum, i) => placeCall(ami, { app: app.name, w1: 1, k1: i === 0 ? '1' : '2', talk: Math.ceil(promptSeconds('ar', i === 0 ? 'accepted' : 'refused') + 3), callerNum })),
  );
  const uids = await Promise.all(calls.map((c) => c.uniqueId));
  expect(await Promise.all(calls.map(async (c) => (await c.result).result))).toEqual(outcomes);
  expect(await waitChannelsGone(uids, 30000)).toEqual([]);
  await Promise.all(uids.map((u, i) => ledgerRecordWhen(u, (r) => r.outcome === outcomes[i])));

  // The CLI commands that handle the credentials (doctor) and print the calls' records (show).
  const cli = [{ args: ['doctor'], ms: 60000 }, ...uids.map((u) => ({ args: ['ledger', 'show', u], ms: 20000 }))];
  const ran = await Promise.all(cli.map(async (c) => ({ what: `consent-ivr ${c.args.join(' ')}`, r: await runCli(c.args, {}, c.ms) })));
  for (const { what, r } of ran.slice(1)) expect({ what, code: r.code }).toEqual({ what, code: 0 });

  expect(await app.stop()).toBe(0); // the whole output, to the end of the drain
  const serviceLog = app.raw.join('\n');
  const outputs = [{ what: `the log of ${app.name}`, text: serviceLog }, ...ran.map(({ what, r }) => ({ what, text: `${r.stdout}\n${r.stderr}` }))];

  // What is scanned is where a leak would be: the calls are in the log, their records in the CLI's output.
  for (const u of uids) expect(serviceLog).toContain(u);
  const pseudonym = pseudonymise(CALLER_NUMBERS[0] as string, readFileSync(join(sandbox().stateDir, 'secrets', 'pseudonym-key'), 'utf8').trim());
  for (const { what, r } of ran.slice(1)) expect({ what, pseudonym: r.stdout.includes(pseudonym) }).toEqual({ what, pseudonym: true });
  const forbidden = secrets();
  expect(forbidden.length).toBeGreaterThanOrEqual(3);

  const found: string[] = [];
  for (const { what, text } of outputs) {
    if (forbidden.some((s) => text.includes(s))) found.push(`${what}: a secret`);
    for (const n of CALLER_NUMBERS) if (text.includes(n)) found.push(`${what}: caller number ${n}`);
  }
  expect(found).toEqual([]);
}, 240000);
