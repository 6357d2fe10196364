/**
 * Places benchmark calls (Local/<flow>@consent-bench-in, the scripted caller on the other half; see
 * dialplans/baseline.conf) and collects, per call, the Asterisk timestamps the measurements are made of:
 *
 *   enter      UserEvent ConsentBenchEnter on the inbound half (;2), just before the consent routine
 *   heard      ChannelTalkingStart on the caller half (;1): the first prompt audio reached the caller
 *   dtmfEnd    DTMFEnd Direction: Received on ;2 (Read() and ARI both act on the end of the key)
 *   recStart   MixMonitorStart on ;2
 *   done       UserEvent ConsentBenchDone on ;2, right after the routine returned (the hand-back)
 *   hangup     Hangup of ;2
 *
 * and, from ConsentBenchDone, the call's result and the language of its confirmation (CONSENT_LANG).
 */
import { amiTimestampMs, originateLocal, type AmiEvent, type TestAmi } from '../../test/support';

/** baseline: the dialplan floor; node: the Node floor (node-floor.ts); app: consent-ivr. */
export type Flow = 'app' | 'baseline' | 'node';

const STAMPS = ['enter', 'heard', 'dtmfEnd', 'recStart', 'done', 'hangup'] as const;
type Stamp = (typeof STAMPS)[number];

/**
 * `lags`: for each of the call's two user events, its Timestamp (written by Asterisk's manager when it
 * renders the event) less the time the dialplan raised it (its At field): how late the manager's
 * events, and so the stamps above, run behind the calls.
 */
export type CallRecord = { benchId: string; flow: Flow; base: string | null; uniqueId: string | null; originateFailed: string | null; result: string | null; lang: string | null; lags: number[] } & Record<Stamp, number | null>;

export interface CallScript {
  /** Seconds between the answer and the key. */
  w1: number;
  /** Up to this many seconds added to w1 at random, per call (0: every caller waits exactly w1). */
  w1Jitter: number;
  key: string;
  /** Seconds the agent stays after the routine returned. */
  agentSecs: number;
  /** Seconds the caller "talks" after the key (the agent's hang-up normally ends the call first). */
  talk: number;
}

/**
 * The AMI filter of the benchmark's reader: only the events above (and OriginateResponse). Asterisk
 * then writes nothing else to this connection, so a burst's thousands of other call events cost
 * neither Asterisk's manager thread for this session nor this process.
 */
export const BENCH_EVENT_FILTER = 'Event: (OriginateResponse|ChannelTalkingStart|DTMFEnd|MixMonitorStart|Hangup)[^A-Za-z]|UserEvent: ConsentBench';

const baseOf = (channel: string | undefined) => /^(.*);[12]$/.exec(channel ?? '')?.[1] ?? null;

/** Which stamp an AMI event of a call's Local channel sets (inbound: the ;2 half). */
function stampOf(e: AmiEvent, inbound: boolean): Stamp | null {
  if (e.event === 'ChannelTalkingStart') return inbound ? null : 'heard';
  if (!inbound) return null;
  if (e.event === 'DTMFEnd') return e.direction === 'Received' ? 'dtmfEnd' : null;
  return e.event === 'MixMonitorStart' ? 'recStart' : e.event === 'Hangup' ? 'hangup' : null;
}

/** Routes AMI events to the calls of this benchmark. */
export class CallTracker {
  readonly calls = new Map<string, CallRecord>();
  private readonly byBase = new Map<string, CallRecord>();
  private readonly byAction = new Map<string, CallRecord>();
  /** Called when a call is over (its inbound half hung up, or the originate failed). */
  onFinished: (c: CallRecord) => void = () => undefined;

  constructor(
    private readonly ami: TestAmi,
    private readonly runId: string,
  ) {
    ami.onEvent((e) => this.onEvent(e));
  }

  private onEvent(e: AmiEvent): void {
    const ts = amiTimestampMs(e.timestamp);
    if (e.event === 'UserEvent') {
      const c = this.calls.get(e.benchid ?? '');
      if (!c) return;
      const at = amiTimestampMs(e.at);
      if (ts !== null && at !== null) c.lags.push(ts - at);
      if (e.userevent === 'ConsentBenchEnter') {
        c.enter = ts;
        c.uniqueId = e.uniqueid ?? null;
        c.base = baseOf(e.channel);
        if (c.base) this.byBase.set(c.base, c);
      } else if (e.userevent === 'ConsentBenchDone') {
        c.done = ts;
        c.result = e.result ?? null;
        // Empty from the dialplan floor (it sets no CONSENT_LANG) and from a dialplan loaded before Lang was added.
        c.lang = e.lang || null;
      }
      return;
    }
    if (e.event === 'OriginateResponse') {
      const c = this.byAction.get(e.actionid ?? '');
      this.byAction.delete(e.actionid ?? '');
      if (c && e.response !== 'Success') this.fail(c, `${e.reason ?? ''} ${e.response ?? ''}`.trim());
      return;
    }
    const base = baseOf(e.channel);
    const c = base === null ? undefined : this.byBase.get(base);
    const stamp = c ? stampOf(e, e.channel?.endsWith(';2') ?? false) : null;
    if (!c || !stamp || c[stamp] !== null) return;
    c[stamp] = ts;
    if (stamp === 'hangup') {
      this.byBase.delete(base as string);
      this.onFinished(c);
    }
  }

  private fail(c: CallRecord, why: string): void {
    if (c.originateFailed !== null) return;
    c.originateFailed = why;
    this.onFinished(c);
  }

  /** Places one call; resolves once Asterisk queued the originate. */
  async place(seq: number, flow: Flow, script: CallScript, vars: Record<string, string>): Promise<CallRecord> {
    // A flow's later phases (the steps of --capacity) number their calls from 0 again: keep ids unique.
    const first = `${this.runId}-${flow}-${seq}`;
    const benchId = this.calls.has(first) ? `${first}.${this.calls.size}` : first;
    const c = { benchId, flow, base: null, uniqueId: null, originateFailed: null, result: null, lang: null, lags: [] as number[], ...Object.fromEntries(STAMPS.map((s) => [s, null])) } as CallRecord;
    this.calls.set(benchId, c);
    const variables = {
      __BENCHID: benchId,
      __BENCH_AGENT_SECS: String(script.agentSecs),
      W1: (script.w1 + Math.random() * script.w1Jitter).toFixed(2),
      K1: script.key,
      TALK: String(script.talk),
      ...vars,
    };
    try {
      // The Node floor is reached like consent-ivr: the routine's Stasis(CONSENT_APP).
      await originateLocal(this.ami, flow === 'node' ? 'app' : flow, 'consent-bench-in', 'consent-bench-caller', variables, (id) => this.byAction.set(id, c));
    } catch (e) {
      this.fail(c, (e as Error).message);
    }
    return c;
  }
}

export interface FlowLatencies {
  dtmfToRecordingMs: number[];
  entryToPromptHeardMs: number[];
  flowMs: number[];
  /** The caller's key (DTMFEnd) → the routine returned to the dialplan (ConsentBenchDone). */
  keyToHandBackMs: number[];
  /** The same less the length of the call's confirmation prompt (its language's), when known. */
  handBackOverConfirmationMs: number[];
  /** The calls' user events: the manager's Timestamp less the dialplan's (CallRecord's lags). */
  eventLagMs: number[];
  missing: { dtmf: number; recStart: number; heard: number; done: number };
}

/** The language of a call's confirmation: the one the service reported, else Arabic (the floors play the Arabic one). */
export const confirmationLang = (c: CallRecord): string => c.lang ?? 'ar';

/** `confirmationMs(lang)`: the length of the confirmation prompt in that language (null: unknown). */
export function latencies(calls: CallRecord[], confirmationMs: (lang: string) => number | null = () => null): FlowLatencies {
  const out: FlowLatencies = { dtmfToRecordingMs: [], entryToPromptHeardMs: [], flowMs: [], keyToHandBackMs: [], handBackOverConfirmationMs: [], eventLagMs: [], missing: { dtmf: 0, recStart: 0, heard: 0, done: 0 } };
  const span = (list: number[], from: number | null, to: number | null) => from !== null && to !== null && list.push(to - from);
  for (const c of calls.filter((x) => !x.originateFailed)) {
    out.missing.dtmf += c.dtmfEnd === null ? 1 : 0;
    out.missing.recStart += c.recStart === null ? 1 : 0;
    out.missing.heard += c.heard === null ? 1 : 0;
    out.missing.done += c.done === null ? 1 : 0;
    span(out.dtmfToRecordingMs, c.dtmfEnd, c.recStart);
    span(out.entryToPromptHeardMs, c.enter, c.heard);
    span(out.flowMs, c.enter, c.done);
    span(out.keyToHandBackMs, c.dtmfEnd, c.done);
    out.eventLagMs.push(...c.lags);
    const prompt = confirmationMs(confirmationLang(c));
    if (prompt !== null) span(out.handBackOverConfirmationMs, c.dtmfEnd === null ? null : c.dtmfEnd + prompt, c.done);
  }
  return out;
}
