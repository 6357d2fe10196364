/**
 * Calls without SIP: AMI Originate of a Local channel whose other half runs a scripted caller
 * (test/dialplans/, dialplans/baseline.conf).
 */
import { randomUUID } from 'node:crypto';
import type { AmiEvent, TestAmi } from './ami';
import { activeChannels, stasisChannels } from './sandbox';
import { until } from './wait';

/** What the scripted caller (and agent) of test/dialplans/ do; every field is optional. */
export interface CallScript {
  /** Seconds to wait, then keys to send, in up to three steps. */
  w1?: number;
  k1?: string;
  w2?: number;
  k2?: string;
  w3?: number;
  k3?: string;
  /** Hang up right after step N instead of talking. */
  hangupAfter?: 1 | 2 | 3;
  /** Seconds the caller "talks" (a 1 kHz tone) after the keys. */
  talk?: number;
  /** Seconds the agent stays on the line. */
  agentSecs?: number;
  /** Keys during the conversation: after W4 s of talk K4 (e.g. *9), after W5 more K5. */
  w4?: number;
  k4?: string;
  w5?: number;
  k5?: string;
  /** The agent presses agentK after agentW s on the line, then agentK2 after agentW2 more. */
  agentW?: number;
  agentK?: string;
  agentW2?: number;
  agentK2?: string;
  /** Dial this agent instead of the Local test agent (e.g. PJSIP/sipp-agent). */
  agentDial?: string;
  /** Reach the agent through the test queue (Queue) instead of Dial. */
  viaQueue?: boolean;
  /** Caller ID number / name, any bytes (sent URI-encoded, decoded in the dialplan). */
  callerNum?: string;
  callerName?: string;
  /** Already URI-encoded, e.g. %FF%FE for bytes that are not UTF-8. */
  callerNameUri?: string;
  /** Append 1,280 digits to the caller number in the dialplan. */
  callerLong?: boolean;
  /** Stasis application (ari.app) of the service instance the call goes to. */
  app?: string;
  /** The campaign profile given to the routine (any bytes: sent URI-encoded). */
  profile?: string;
}

/** Channel variable of each script field ("__": inherited by the channels Dial and Queue make). */
const VARS: Record<keyof CallScript, string> = {
  w1: 'W1',
  k1: 'K1',
  w2: 'W2',
  k2: 'K2',
  w3: 'W3',
  k3: 'K3',
  hangupAfter: 'HANGUP_AFTER',
  talk: 'TALK',
  agentSecs: '__AGENT_SECS',
  w4: 'W4',
  k4: 'K4',
  w5: 'W5',
  k5: 'K5',
  agentW: '__AGENT_W',
  agentK: '__AGENT_K',
  agentW2: '__AGENT_W2',
  agentK2: '__AGENT_K2',
  agentDial: 'AGENT_DIAL',
  viaQueue: 'VIA_QUEUE',
  callerNum: '__TEST_CALLER_NUM',
  callerName: '__TEST_CALLER_NAME',
  callerNameUri: '__TEST_CALLER_NAME',
  callerLong: '__TEST_CALLER_LONG',
  app: '__CONSENT_APP',
  profile: 'TEST_PROFILE',
};

function scriptVars(script: CallScript, inherit: boolean): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(script) as [keyof CallScript, unknown][]) {
    if (v === undefined || v === false) continue;
    const name = inherit && !VARS[k].startsWith('__') ? `__${VARS[k]}` : VARS[k];
    vars[name] = v === true ? '1' : k === 'callerNum' || k === 'callerName' || k === 'profile' ? encodeURIComponent(String(v)) : String(v);
  }
  return vars;
}

/**
 * Originates Local/<exten>@<context> with its other half at s@<other>, with channel variables (one
 * header, which Asterisk splits on commas: values must hold none). `onId` gets the action id, for
 * matching the OriginateResponse.
 */
export async function originateLocal(ami: TestAmi, exten: string, context: string, other: string, vars: Record<string, string>, onId?: (id: string) => void): Promise<void> {
  await ami.action(
    'Originate',
    {
      Channel: `Local/${exten}@${context}`,
      Context: other,
      Exten: 's',
      Priority: '1',
      Async: 'true',
      Timeout: '30000',
      Variable: Object.entries(vars)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    },
    onId,
  );
}

export interface PlacedCall {
  testId: string;
  /** UNIQUEID of the inbound channel (the one in Stasis), known once it entered the routine. */
  uniqueId: Promise<string>;
  /** The user event the dialplan emits when the call is over on the test's side. */
  result: Promise<AmiEvent>;
}

const newTestId = () => randomUUID().replace(/-/g, '').slice(0, 12);

/** An inbound test call: Local/s@consent-test-in (the routine) with the scripted caller on the other half. */
export async function placeCall(ami: TestAmi, script: CallScript, resultTimeoutMs = 90000): Promise<PlacedCall> {
  const testId = newTestId();
  const uniqueId = ami.userEvent('ConsentTestEnter', testId, 30000).then((e) => e.unique as string);
  const result = ami.userEvent('ConsentTest', testId, resultTimeoutMs);
  await originateLocal(ami, 's', 'consent-test-in', 'consent-test-caller', { __TESTID: testId, ...scriptVars(script, false) });
  return { testId, uniqueId, result };
}

/** An inbound test call to a dialled number (Local/<number>@consent-test-did), in the profile `script.profile` names or the number chooses. */
export async function placeCallTo(ami: TestAmi, number: string, script: CallScript, resultTimeoutMs = 90000): Promise<PlacedCall> {
  const testId = newTestId();
  const uniqueId = ami.userEvent('ConsentTestEnter', testId, 30000).then((e) => e.unique as string);
  const result = ami.userEvent('ConsentTest', testId, resultTimeoutMs);
  await originateLocal(ami, number, 'consent-test-did', 'consent-test-caller', { __TESTID: testId, ...scriptVars(script, false) });
  return { testId, uniqueId, result };
}

/**
 * An outbound test call: the agent's side (Local/s@consent-test-out) dials a customer with the
 * outbound routine; the customer runs the script. The result is the agent dialplan's ConsentTestOut.
 */
export async function placeOutboundCall(ami: TestAmi, script: CallScript, resultTimeoutMs = 90000): Promise<Omit<PlacedCall, 'uniqueId'>> {
  const testId = newTestId();
  const result = ami.userEvent('ConsentTestOut', testId, resultTimeoutMs);
  // Inherited: the customer's channel is made by Dial, two channels away from the originate.
  await originateLocal(ami, 's', 'consent-test-out', 'consent-test-agent-voice', { __TESTID: testId, ...scriptVars(script, true) });
  return { testId, result };
}

/** Waits until none of the channels (by UNIQUEID, the last field of a concise line) exists; returns those left. */
export async function waitChannelsGone(uniqueIds: string[], ms = 20000): Promise<string[]> {
  const ids = new Set(uniqueIds);
  const left = () => activeChannels().filter((l) => ids.has(l.split('!').pop() ?? ''));
  await until(() => left().length === 0, ms, 250);
  return left();
}

/**
 * The calls (UNIQUEIDs of their channels) still in Asterisk once `ms` have passed, or still in the Stasis
 * application `app`: what a test finds left behind by its own calls.
 */
export async function callsLeft(app: string, uniqueIds: string[], ms = 20000): Promise<string[]> {
  const inAsterisk = (await waitChannelsGone(uniqueIds, ms)).map((l) => l.split('!').pop() ?? l);
  const inStasis = new Set(await stasisChannels(app));
  return [...new Set([...inAsterisk, ...uniqueIds.filter((u) => inStasis.has(u))])];
}
