/**
 * `npm run demo`: consent-ivr in action with two real SIP calls, placed by SIPp through the sandbox's
 * PJSIP endpoint the way a trunk delivers them (SIP signalling, RTP audio, keys as RFC 4733 events):
 *
 *   call 1: the caller presses 1 during the notice (accepts), then talks
 *   call 2: the caller presses 2 during the notice (refuses), then talks
 *
 * For each call: what the dialplan got back from the consent routine, the ledger's record and, for the
 * accepted call, the recording. The sandbox must be up and the service built (`npm run demo` does both).
 */
import { ariApplication, freshExten, ledgerRecordWhen, recordingsOf, requireSandbox, requireSipp, runSipp, ServiceProcess, SIPP_PCAPS, TestAmi, wavSeconds, type AmiEvent } from '../test/support';

/** Calls from the PJSIP endpoint go to Stasis(consent-ivr): the channel sets no CONSENT_APP. */
const APP = 'consent-ivr';
const field = (k: string, v: string) => console.log(`    ${k.padEnd(16)} ${v}`);

async function call(ami: TestAmi, scenario: string, exten: string, title: string): Promise<void> {
  console.log(`\n==> ${title}`);
  field('SIP', `INVITE sip:${exten} (SIPp, ${scenario}: G.711 + telephone-event/8000)`);
  const mine = (e: AmiEvent) => e.channel?.startsWith('PJSIP/') && e.exten === exten;
  const first = ami.waitFor((e) => e.event === 'Newchannel' && mine(e) === true, 30000, 'the call to reach Asterisk');
  first.catch(() => undefined);
  const sipp = await runSipp({ scenario, exten, audio: `${SIPP_PCAPS}/g711a.pcap` });
  const uid = (await first.catch(() => null))?.uniqueid;
  if (!uid) throw new Error(`the call never reached Asterisk (SIPp exit ${sipp.code}; see ${sipp.dir})`);
  const of = (event: string) => ami.events.filter((e) => e.uniqueid === uid && e.event === event);
  // asterisk-manager gives a VarSet's "Variable: NAME" as { NAME: '' }.
  const vars: Record<string, string> = Object.fromEntries(of('VarSet').map((e) => [Object.keys(e.variable ?? {})[0] ?? '', e.value ?? '']));
  field('channel', `${of('Newchannel')[0]?.channel} (UNIQUEID ${uid})`);
  field('keys received', `${of('DTMFEnd').filter((e) => e.direction === 'Received').map((e) => e.digit).join('') || 'none'} (RFC 4733 events decoded by Asterisk)`);
  field('CONSENT_RESULT', `${vars.CONSENT_RESULT ?? ''} (reason ${vars.CONSENT_REASON ?? 'none'})`);
  field('CONSENT_LANG', vars.CONSENT_LANG ?? 'unknown');
  field('CONSENT_ID', `${vars.CONSENT_ID ?? ''} (ledger id)`);
  const rec = await ledgerRecordWhen(uid, (r) => r.outcome !== null, 10000).catch(() => null);
  field('ledger', rec ? `outcome ${rec.outcome}, digit ${rec.digit ?? 'none'}, language ${rec.language ?? 'unknown'} (consent-ivr ledger show ${uid})` : `no record found for ${uid}`);
  const file = recordingsOf(uid)[0];
  field('recording', file ? `${file}, ${wavSeconds(file).toFixed(1)} s (the conversation with the agent, not the notice)` : 'none: nothing of this call was recorded');
  const agent = of('DialEnd')[0]?.dialstatus;
  field('call', agent === 'ANSWER' ? 'went on to the agent, who hung up after a few seconds' : agent ? `agent leg: ${agent}` : 'ended before reaching the agent');
  if (sipp.code !== 0) field('SIPp', `the call did not go as scripted (exit ${sipp.code}; see ${sipp.dir})`);
}

async function main(): Promise<void> {
  const sb = await requireSandbox();
  requireSipp();
  if (await ariApplication(APP)) throw new Error(`another consent-ivr service is already connected to Asterisk as '${APP}' (npm start? a test?): stop it first`);
  console.log(`\n==> Service: starting consent-ivr (Stasis application '${APP}')`);
  const svc = await ServiceProcess.start({ name: APP, env: { CONSENT_IVR_LOGGING_LEVEL: 'info' } });
  field('pid', String(svc.pid));
  const ami = await new TestAmi({ actionTimeoutMs: 10000 }).start();
  try {
    const exten = freshExten(sb.sip.exten.slice(0, 1));
    await call(ami, 'accept.xml', exten, 'Call 1: the caller presses 1 (accept) during the notice, then talks');
    await call(ami, 'refuse.xml', `${exten}1`, 'Call 2: the caller presses 2 (refuse) during the notice, then talks');
  } finally {
    ami.close();
    console.log('\n==> Stopping the service (SIGTERM)');
    await svc.stop();
    field('log', `${sb.stateDir}/logs/app-${svc.name}-${svc.pid}.log`);
    console.log('    The sandbox is still up: bash scripts/sandbox.sh status (npm run sandbox:down stops it)');
  }
}

main().catch((e: Error) => {
  console.error(`demo: error: ${e.message}`);
  process.exit(1);
});
