/**
 * Runs the consent flow for one call: feeds events to the pure state machine and carries out the
 * effects it returns through the ports. It owns the call's timers and playbacks and drops them all
 * when the flow ends; once the flow has ended, a late result (a recording that started after the
 * caller hung up) is undone rather than acted on. Where the call stands is the flow's state alone:
 * the runner keeps only what it saw happen (the times, the recording) and writes the ledger record
 * from both.
 */
import { UNIQUE_ID, type Language } from '../domain/vocabulary';
import { decide, initialState } from './flow/machine';
import type { Decision, Effect, FlowEvent, FlowSettings, FlowState, Phase, Summary, TimerName } from './flow/types';
import type { Logger } from '../observability/logger';
import { isUncertain, type CallControl, type IncomingCall } from '../ports/call-control';
import type { Clock } from '../ports/clock';
import type { ConsentRecord, Ledger } from '../ports/ledger';
import type { ChannelVariables } from '../ports/midcall';
import type { CallObserver } from '../ports/observer';
import type { Recorder } from '../ports/recorder';
import { resultTarget } from './hand-back';

/** Tries to hand a call back to the dialplan (about 30 s in all with the backoff). */
const HAND_BACK_ATTEMPTS = 10;

export interface RunnerPorts {
  calls: CallControl;
  recorder: Recorder;
  ledger: Ledger;
  clock: Clock;
  /** Sets the result on the agent's channel of an outbound call. */
  agentChannel: Pick<ChannelVariables, 'set'>;
  /** Told what happens to the call (timings from `clock`); none when absent. */
  observer?: CallObserver;
}

/** What a call takes from its campaign profile when it enters: it keeps it to the end (a reload does not change it). */
export interface CallProfile {
  name: string;
  flow: FlowSettings;
  /** The profile's prompts, under each language's sounds folder. */
  promptFolder: string;
  noticeVersion: string;
}

export interface RunnerSettings {
  profile: CallProfile;
  recording: { dir: string; format: string; options: string };
  /** This server's id (server.id): recorded with each recording, whose deletion is this server's work. */
  serverId: string;
}

/** What the router of calls needs to know of a runner (observations go to the ports' observer). */
export interface RunnerHooks {
  /** Called when a playback starts, so that its PlaybackFinished event can be routed back here. */
  onPlaybackStarted?(playbackId: string, runner: CallRunner): void;
}

/**
 * Recording file name from server-side data only: <dir>/YYYY/MM/DD/<uniqueid>.<format>. A UNIQUEID
 * (domain/vocabulary.ts, with or without a system name) is a safe file name as it is; anything else is
 * made one.
 */
export function recordingPath(dir: string, uniqueId: string, format: string, at: Date): string {
  const safeId = UNIQUE_ID.test(uniqueId) ? uniqueId : uniqueId.replace(/[^A-Za-z0-9.-]/g, '_');
  const y = at.getUTCFullYear();
  const m = String(at.getUTCMonth() + 1).padStart(2, '0');
  const d = String(at.getUTCDate()).padStart(2, '0');
  return `${dir.replace(/\/+$/, '')}/${y}/${m}/${d}/${safeId}.${format}`;
}

/** What the runner saw happen to a call, besides where its flow stands: when, and the recording it started. */
interface CallFacts {
  readonly entered: Date;
  /** When the notice started playing (its first part). */
  readonly noticeStarted: Date | null;
  /** The caller asked for the full notice (key 0). */
  readonly fullNotice: boolean;
  readonly decided: Date | null;
  readonly recording: { readonly path: string; readonly server: string; readonly started: Date } | null;
}

/** What the flow says of the caller when a record is written: the decision, then the end. */
type FlowResult = Pick<Summary, 'outcome' | 'digit' | 'lang' | 'attempts'>;

/** The call's ledger record as it stands: the call, what the runner saw (`facts`) and what the flow says (`result`). */
function recordOf(call: IncomingCall, callerPseudonym: string, profile: CallProfile, facts: CallFacts, result: FlowResult): ConsentRecord {
  return {
    uniqueId: call.channelId,
    linkedId: call.linkedId,
    direction: call.direction,
    callerPseudonym,
    calledNumber: call.calledNumber.replace(/[^0-9A-Za-z+*#_-]/g, '').slice(0, 40),
    outcome: result.outcome,
    digit: result.digit,
    language: result.lang,
    attempts: result.attempts,
    enteredAt: facts.entered.toISOString(),
    noticeStartedAt: facts.noticeStarted?.toISOString() ?? null,
    decidedAt: facts.decided?.toISOString() ?? null,
    recording: facts.recording ? { startedAt: facts.recording.started.toISOString(), file: { path: facts.recording.path, server: facts.recording.server } } : null,
    noticeVersion: profile.noticeVersion,
    withdrawal: null,
    pauses: [],
    fullNotice: facts.fullNotice,
    profile: profile.name,
  };
}

export class CallRunner {
  private state: FlowState;
  private readonly timers = new Map<TimerName, { cancel(): void }>();
  /** ARI playback id → the flow's playback number. */
  private readonly playbacks = new Map<string, number>();
  private facts: CallFacts;
  private readonly observer: CallObserver;
  /** Whether the channel is still in Stasis: once the flow ended, a channel gone is not handed back again. */
  private channel: 'in-stasis' | 'gone' = 'in-stasis';
  readonly done: Promise<Summary>;
  private resolveDone!: (s: Summary) => void;

  constructor(
    readonly call: IncomingCall,
    private readonly callerPseudonym: string,
    private readonly ports: RunnerPorts,
    private readonly settings: RunnerSettings,
    readonly log: Logger,
    private readonly hooks: RunnerHooks = {},
  ) {
    this.state = initialState(settings.profile.flow);
    this.observer = ports.observer ?? {};
    this.facts = { entered: ports.clock.now(), noticeStarted: null, fullNotice: false, decided: null, recording: null };
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
  }

  private record(result: FlowResult): ConsentRecord {
    return recordOf(this.call, this.callerPseudonym, this.settings.profile, this.facts, result);
  }

  /** Milliseconds since the call entered the flow, on the clock. */
  private sinceEntry(at: Date): number {
    return at.getTime() - this.facts.entered.getTime();
  }

  get channelId(): string {
    return this.call.channelId;
  }

  get isDone(): boolean {
    return this.state.phase === 'done';
  }

  get phase(): Phase {
    return this.state.phase;
  }

  ownsPlayback(playbackId: string): boolean {
    return this.playbacks.has(playbackId);
  }

  start(): void {
    this.observer.callStarted?.();
    this.dispatch({ type: 'start', answered: this.call.answered });
  }

  digit(digit: string): void {
    this.dispatch({ type: 'digit', digit });
  }

  playbackFinished(playbackId: string, ok: boolean): void {
    const id = this.playbacks.get(playbackId);
    if (id === undefined) return;
    this.playbacks.delete(playbackId);
    this.dispatch({ type: 'playback-finished', id, ok });
  }

  hangup(): void {
    this.channel = 'gone';
    this.dispatch({ type: 'hangup' });
  }

  /** The channel left Stasis (normally because it was handed back). */
  leftStasis(): void {
    this.channel = 'gone';
  }

  /** Ends the flow from outside (shutdown, reconciliation): continue unrecorded unless already accepted. */
  forceEnd(): void {
    this.dispatch({ type: 'timeout', timer: 'deadline' });
  }

  private dispatch(event: FlowEvent): void {
    if (this.state.phase === 'done') return;
    const before = this.state.phase;
    const { state, effects } = decide(this.state, event);
    this.state = state;
    if (event.type !== 'digit' || before !== state.phase) {
      this.log.debug('flow', { event: event.type, from: before, to: state.phase });
    }
    for (const effect of effects) this.execute(effect);
  }

  private later(p: Promise<unknown>, onError: (e: Error) => void): void {
    p.catch((e: unknown) => onError(e instanceof Error ? e : new Error(String(e))));
  }

  private execute(effect: Effect): void {
    const { calls, clock } = this.ports;
    switch (effect.type) {
      case 'answer':
        this.later(
          calls.answer(this.channelId).then(() => this.dispatch({ type: 'answered' })),
          (e) => {
            // A loaded Asterisk answers late: go on; a prompt on a channel it did not answer is refused outright.
            const late = isUncertain(e);
            this.log.warn(late ? 'answer not confirmed in time; going on as answered' : 'answer failed', { error: e.message });
            this.dispatch({ type: late ? 'answered' : 'answer-failed' });
          },
        );
        return;

      case 'play': {
        const playbackId = `${this.channelId}-p${effect.id}`;
        this.playbacks.set(playbackId, effect.id);
        if (effect.prompt === 'notice' && !this.facts.noticeStarted) this.facts = { ...this.facts, noticeStarted: clock.now() };
        if (effect.prompt === 'full-notice') this.facts = { ...this.facts, fullNotice: true };
        this.hooks.onPlaybackStarted?.(playbackId, this);
        this.log.debug('play', { prompt: effect.prompt, lang: effect.lang });
        this.later(calls.play(this.channelId, playbackId, `${this.settings.profile.promptFolder}/${effect.prompt}`, effect.lang), (e) => {
          // Slow, not refused: the prompt plays late and its PlaybackFinished comes; keys count meanwhile.
          const late = isUncertain(e);
          this.log.warn(late ? 'prompt not confirmed in time; waiting for Asterisk to play it' : 'prompt could not be played', { prompt: effect.prompt, lang: effect.lang, error: e.message });
          if (!late) this.playbackFinished(playbackId, false);
        });
        return;
      }

      case 'stop-playback': {
        const playbackId = `${this.channelId}-p${effect.id}`;
        this.playbacks.delete(playbackId);
        this.later(calls.stopPlayback(playbackId), (e) => this.log.debug('stop playback failed', { error: e.message }));
        return;
      }

      case 'start-timer': {
        this.timers.get(effect.timer)?.cancel();
        this.timers.set(
          effect.timer,
          clock.setTimeout(() => {
            this.timers.delete(effect.timer);
            this.dispatch({ type: 'timeout', timer: effect.timer });
          }, effect.ms),
        );
        return;
      }

      case 'cancel-timer':
        this.timers.get(effect.timer)?.cancel();
        this.timers.delete(effect.timer);
        return;

      case 'store-decision':
        this.storeDecision(effect.decision, effect.lang, effect.attempts);
        return;

      case 'start-recording':
        this.startRecording();
        return;

      case 'finish':
        this.finish(effect.summary);
        return;
    }
  }

  private storeDecision(decision: Decision, lang: Language | null, attempts: number): void {
    const decidedAt = this.ports.clock.now();
    this.facts = { ...this.facts, decided: decidedAt };
    // The write goes out before the log line and the observer: it is on the caller's path.
    this.later(
      this.ports.ledger.recordDecision(this.record({ outcome: decision.outcome, digit: decision.digit, lang, attempts })).then((where) => {
        this.observer.stored?.('decision', where);
        if (where === 'journal') this.log.warn('decision stored in the local journal (ledger unavailable)');
        this.dispatch({ type: 'decision-stored' });
      }),
      (e) => {
        this.observer.stored?.('decision', 'failed');
        this.log.error('decision could not be stored', { error: e.message });
        this.dispatch({ type: 'decision-store-failed' });
      },
    );
    this.log.info('decision', { decision: decision.outcome, lang, attempts });
    this.observer.decided?.(decision.outcome, this.sinceEntry(decidedAt));
  }

  private startRecording(): void {
    const { recording } = this.settings;
    const file = recordingPath(recording.dir, this.call.channelId, recording.format, this.ports.clock.now());
    this.later(
      this.ports.recorder.start({ channel: this.call.channelName, file, options: recording.options }).then(({ mixMonitorId }) => {
        if (this.state.phase !== 'recording') {
          // The call ended (or the deadline passed) while MixMonitor was starting: undo it.
          this.log.warn('recording started after the flow ended; stopping it');
          this.later(this.ports.recorder.stop(this.call.channelName, mixMonitorId), (e) =>
            this.log.error('could not stop a late recording', { error: e.message }),
          );
          return;
        }
        const startedAt = this.ports.clock.now();
        this.facts = { ...this.facts, recording: { path: file, server: this.settings.serverId, started: startedAt } };
        if (this.facts.decided) this.observer.recordingStarted?.(startedAt.getTime() - this.facts.decided.getTime());
        this.log.info('recording started', { mixMonitorId });
        this.dispatch({ type: 'recording-started', path: file });
      }),
      (e) => {
        this.log.error('recording could not be started', { error: e.message });
        this.dispatch({ type: 'recording-failed' });
      },
    );
  }

  private finish(summary: Summary): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    this.log.info('consent flow ended', { outcome: summary.outcome, reason: summary.reason, lang: summary.lang, attempts: summary.attempts });

    const handOver =
      summary.outcome === 'abandoned'
        ? Promise.resolve()
        : this.handBack(summary).catch((e: Error) => this.log.error('could not hand the call back to the dialplan', { error: e.message }));
    void handOver.then(() => {
      this.observer.callEnded?.(summary, this.sinceEntry(this.ports.clock.now()));
      this.resolveDone(summary);
    });
    this.later(
      this.ports.ledger.recordOutcome(this.record(summary)).then((where) => {
        this.observer.stored?.('outcome', where);
        if (where === 'journal') this.log.warn('outcome stored in the local journal (ledger unavailable)');
      }),
      (e) => {
        this.observer.stored?.('outcome', 'failed');
        this.log.error('outcome could not be stored', { error: e.message });
      },
    );
  }

  /**
   * Outbound: the agent's side runs Dial, which waits while the customer is asked. The result is
   * set on that channel too (through AMI, never ARI), before the customer's channel goes back to
   * the dialplan and Dial bridges them: what follows Dial, its hangup handler and the CDR can read
   * it. Only on a channel of this same call (the linkedid Dial gives the customer's channel is the
   * agent's): the channel's name comes from the routine's arguments, and a name that is not this
   * call's (an injected one) gets nothing. A failure is logged; it never holds the call up.
   */
  private async tellAgentChannel(summary: Summary): Promise<void> {
    const agent = this.call.agentChannel;
    if (this.call.direction !== 'outbound' || !agent) return;
    const calls = this.ports.calls;
    const [ours, theirs] = await Promise.all([calls.linkedIdOf(this.channelId), calls.linkedIdOf(agent)]).catch((e: Error) => {
      this.log.warn('result not set on the agent channel: its call could not be checked', { error: e.message });
      return [null, null];
    });
    if (ours === null) return;
    if (theirs !== ours) {
      this.log.warn('result not set on the agent channel: that channel is not part of this call', { agentCall: theirs === null ? 'none' : 'another' });
      return;
    }
    const vars = {
      CONSENT_RESULT: summary.outcome,
      CONSENT_REASON: summary.reason,
      CONSENT_LANG: summary.lang ?? '',
      CONSENT_ID: this.call.channelId,
      CONSENT_RECORDING: summary.recordingPath ?? '',
      CONSENT_PROFILE: this.settings.profile.name,
    };
    await this.ports.agentChannel.set(agent, vars).catch((e: Error) => this.log.warn('result not set on the agent channel', { error: e.message }));
  }

  /**
   * Continues the call where the dialplan sets the CONSENT_* variables and returns, retried (Asterisk
   * busy, connection lost) until it works, the channel is gone or HAND_BACK_ATTEMPTS is reached.
   */
  private async handBack(summary: Summary): Promise<void> {
    await this.tellAgentChannel(summary);
    const { name, flow } = this.settings.profile;
    const target = resultTarget(summary.outcome, summary.lang, summary.reason, { name, languages: flow.languages });
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ports.calls.continueInDialplan(this.channelId, target);
        return;
      } catch (e) {
        const status = (e as { status?: number }).status;
        if (status === 404 || this.channel === 'gone' || attempt >= HAND_BACK_ATTEMPTS) throw e;
        this.log.warn('hand-back failed; retrying', { attempt, error: (e as Error).message });
        await new Promise((r) => this.ports.clock.setTimeout(() => r(undefined), Math.min(250 * 2 ** (attempt - 1), 4000)));
      }
    }
  }
}
