/**
 * Places benchmark calls (AMI Originate of Local/<flow>@consent-bench-in, the scripted caller on the
 * other half; see dialplans/baseline.conf) and collects, per call, the Asterisk timestamps of the
 * events that the measurements are made of:
 *
 *   enter      UserEvent ConsentBenchEnter on the inbound half (;2), just before the consent routine
 *   heard      ChannelTalkingStart on the caller half (;1): the first prompt audio reached the caller
 *   dtmfBegin  DTMFBegin  Direction: Received on ;2
 *   dtmfEnd    DTMFEnd    Direction: Received on ;2 (Read() and ARI both act on the end of the key)
 *   recStart   MixMonitorStart on ;2
 *   done       UserEvent ConsentBenchDone on ;2, right after the routine returned
 *   hangup     Hangup of ;2
 */
import { amiTimestampMs, type AmiMessage, type BenchAmi } from './ami';

export type Flow = 'app' | 'baseline';

export interface CallRecord {
  benchId: string;
  flow: Flow;
  /** Local channel name without ";1"/";2". */
  base: string | null;
  /** UNIQUEID of ;2, the channel in the consent flow (the ledger's record key). */
  uniqueId: string | null;
  originateFailed: string | null;
  enter: number | null;
  heard: number | null;
  dtmfBegin: number | null;
  dtmfEnd: number | null;
  recStart: number | null;
  done: number | null;
  hangup: number | null;
  result: string | null;
  reason: string | null;
}

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

function baseOf(channel: string | undefined): string | null {
  if (!channel) return null;
  const m = /^(.*);[12]$/.exec(channel);
  return m ? (m[1] as string) : null;
}

/** Routes AMI events to the calls of this benchmark. */
export class CallTracker {
  readonly calls = new Map<string, CallRecord>();
  private readonly byBase = new Map<string, CallRecord>();
  private readonly byAction = new Map<string, CallRecord>();
  private waiters: { pred: () => boolean; resolve(): void }[] = [];
  /** Called when a call is over (its inbound half hung up, or the originate failed). */
  onFinished: (c: CallRecord) => void = () => undefined;
  finished = 0;

  constructor(
    private readonly ami: BenchAmi,
    private readonly runId: string,
  ) {
    ami.onEvent((e) => this.onEvent(e));
  }

  private onEvent(e: AmiMessage): void {
    const ev = e.Event;
    if (ev === 'UserEvent') {
      const id = e.BenchId;
      const c = id === undefined ? undefined : this.calls.get(id);
      if (!c) return;
      const ts = amiTimestampMs(e.Timestamp);
      if (e.UserEvent === 'ConsentBenchEnter') {
        c.enter = ts;
        c.uniqueId = e.Uniqueid ?? null;
        c.base = baseOf(e.Channel);
        if (c.base) this.byBase.set(c.base, c);
      } else if (e.UserEvent === 'ConsentBenchDone') {
        c.done = ts;
        c.result = e.Result ?? null;
        c.reason = e.Reason ?? null;
      }
      return;
    }
    if (ev === 'OriginateResponse') {
      const c = e.ActionID === undefined ? undefined : this.byAction.get(e.ActionID);
      if (!c) return;
      this.byAction.delete(e.ActionID as string);
      if (e.Response !== 'Success' && c.originateFailed === null) {
        c.originateFailed = `${e.Reason ?? ''} ${e.Response ?? ''}`.trim();
        this.finish(c);
      }
      return;
    }
    const base = baseOf(e.Channel);
    if (!base) return;
    const c = this.byBase.get(base);
    if (!c) return;
    const ts = amiTimestampMs(e.Timestamp);
    const inbound = e.Channel?.endsWith(';2') ?? false;
    switch (ev) {
      case 'ChannelTalkingStart':
        if (!inbound && c.heard === null) c.heard = ts;
        return;
      case 'DTMFBegin':
        if (inbound && e.Direction === 'Received' && c.dtmfBegin === null) c.dtmfBegin = ts;
        return;
      case 'DTMFEnd':
        if (inbound && e.Direction === 'Received' && c.dtmfEnd === null) c.dtmfEnd = ts;
        return;
      case 'MixMonitorStart':
        if (inbound && c.recStart === null) c.recStart = ts;
        return;
      case 'Hangup':
        if (inbound && c.hangup === null) {
          c.hangup = ts;
          this.byBase.delete(base);
          this.finish(c);
        }
        return;
    }
  }

  private finish(c: CallRecord): void {
    this.finished++;
    this.onFinished(c);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred()) return true;
      w.resolve();
      return false;
    });
  }

  /** Places one call; resolves once Asterisk queued the originate. */
  async place(seq: number, flow: Flow, script: CallScript, vars: Record<string, string>): Promise<CallRecord> {
    const benchId = `${this.runId}-${flow}-${seq}`;
    const c: CallRecord = {
      benchId,
      flow,
      base: null,
      uniqueId: null,
      originateFailed: null,
      enter: null,
      heard: null,
      dtmfBegin: null,
      dtmfEnd: null,
      recStart: null,
      done: null,
      hangup: null,
      result: null,
      reason: null,
    };
    this.calls.set(benchId, c);
    const actionId = `o-${benchId}`;
    this.byAction.set(actionId, c);
    const variables: Record<string, string> = {
      __BENCHID: benchId,
      __BENCH_AGENT_SECS: String(script.agentSecs),
      W1: (script.w1 + Math.random() * script.w1Jitter).toFixed(2),
      K1: script.key,
      TALK: String(script.talk),
      ...vars,
    };
    const res = await this.ami.action(
      'Originate',
      {
        Channel: `Local/${flow}@consent-bench-in`,
        Context: 'consent-bench-caller',
        Exten: 's',
        Priority: '1',
        Async: 'true',
        Timeout: '30000',
        Variable: Object.entries(variables)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
      },
      actionId,
    );
    if (res.Response !== 'Success') {
      c.originateFailed = res.Message ?? 'originate refused';
      this.byAction.delete(actionId);
      this.finish(c);
    }
    return c;
  }

  /** Resolves when `pred` holds (checked after every finished call), or after `ms`. Returns whether it holds. */
  waitUntil(pred: () => boolean, ms: number): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        resolve(pred());
      }, ms);
      const done = () => {
        clearTimeout(t);
        resolve(true);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  ofFlow(flow: Flow): CallRecord[] {
    return [...this.calls.values()].filter((c) => c.flow === flow);
  }
}

export interface FlowLatencies {
  dtmfToRecordingMs: number[];
  entryToPromptHeardMs: number[];
  flowMs: number[];
  missing: { dtmf: number; recStart: number; heard: number; done: number };
}

export function latencies(calls: CallRecord[]): FlowLatencies {
  const out: FlowLatencies = { dtmfToRecordingMs: [], entryToPromptHeardMs: [], flowMs: [], missing: { dtmf: 0, recStart: 0, heard: 0, done: 0 } };
  for (const c of calls) {
    if (c.originateFailed) continue;
    if (c.dtmfEnd === null) out.missing.dtmf++;
    if (c.recStart === null) out.missing.recStart++;
    if (c.heard === null) out.missing.heard++;
    if (c.done === null) out.missing.done++;
    if (c.dtmfEnd !== null && c.recStart !== null) out.dtmfToRecordingMs.push(c.recStart - c.dtmfEnd);
    if (c.enter !== null && c.heard !== null) out.entryToPromptHeardMs.push(c.heard - c.enter);
    if (c.enter !== null && c.done !== null) out.flowMs.push(c.done - c.enter);
  }
  return out;
}
