/**
 * Routes calls and their events to one CallRunner per channel. Holds no per-call logic itself; what
 * happens to the calls is told to the ports' observer by the runners, and time comes from the ports'
 * clock.
 */
import type { Outcome } from '../domain/vocabulary';
import { safe, type Logger } from '../observability/logger';
import type { CallEvent, CallSource, IncomingCall } from '../ports/call-control';
import { CallRunner, type CallProfile, type RunnerPorts, type RunnerSettings } from './call-runner';
import { resultTarget } from './hand-back';

/** The campaign profiles calls may run in, and how a call's is chosen (config/profiles.ts). */
export interface CallProfiles {
  choose(argument: string | null, dialled: string): { profile: CallProfile; by: 'argument' | 'number' | 'default' } | { profile: null; unknown: string };
}

/** Settings of every call, whatever its profile. */
export type ServiceSettings = Omit<RunnerSettings, 'profile'>;

/** At most this much of an unknown profile name reaches the log (control characters escaped). */
const MAX_LOGGED_NAME = 64;

/** How long a channel whose flow ended is remembered (it may still be listed in Stasis for a moment). */
const ENDED_MEMORY_MS = 5000;
/** After the grace period, how long the calls ended by force are given to be handed back. */
const FORCE_END_WAIT_MS = 3000;

export class ConsentApp {
  private readonly runners = new Map<string, CallRunner>();
  /** playback id → channel id, for PlaybackFinished events. */
  private readonly playbackOwner = new Map<string, string>();
  private accepting = true;
  /** Channels whose flow ended recently (they may still be listed in Stasis for a moment). */
  private readonly ended = new Set<string>();

  constructor(
    source: CallSource,
    private readonly ports: RunnerPorts,
    private readonly settings: ServiceSettings,
    private profiles: CallProfiles,
    private readonly log: Logger,
    private readonly pseudonymise: (number: string) => string,
  ) {
    source.onCall((call) => this.onCall(call));
    source.onEvent((event) => this.onEvent(event));
  }

  /** New calls run in these profiles; calls in progress keep the profile they entered with. */
  useProfiles(profiles: CallProfiles): void {
    this.profiles = profiles;
  }

  get activeCalls(): number {
    return this.runners.size;
  }

  has(channelId: string): boolean {
    return this.runners.has(channelId);
  }

  private onCall(call: IncomingCall): void {
    if (this.runners.has(call.channelId)) return;
    const pseudonym = this.pseudonymise(call.subjectNumber);
    const log = this.log.child({ call: call.channelId, caller: pseudonym.slice(0, 16), direction: call.direction });
    if (!this.accepting) {
      log.info('shutting down: continuing the call without the consent flow');
      void this.ports.calls
        .continueInDialplan(call.channelId, resultTarget('unavailable', null, 'shutdown'))
        .catch((e: Error) => log.error('could not continue the call', { error: e.message }));
      return;
    }
    const choice = this.profiles.choose(call.profile, call.direction === 'inbound' ? call.calledNumber : '');
    if (choice.profile === null) {
      // The name comes from the dialplan: it is logged cut, its control characters escaped, never as it is.
      log.error('unknown campaign profile: the call goes on unrecorded', { profile: safe(choice.unknown.slice(0, MAX_LOGGED_NAME)) });
      void this.ports.calls
        .continueInDialplan(call.channelId, resultTarget('error', null, 'unknown-profile'))
        .catch((e: Error) => log.error('could not continue the call', { error: e.message }));
      return;
    }
    const runner = new CallRunner(call, pseudonym, this.ports, { ...this.settings, profile: choice.profile }, log.child({ profile: choice.profile.name }), {
      onPlaybackStarted: (playbackId) => this.playbackOwner.set(playbackId, call.channelId),
    });
    this.runners.set(call.channelId, runner);
    log.info('call entered the consent flow', { profile: choice.profile.name, by: choice.by });
    runner.start();
  }

  private onEvent(event: CallEvent): void {
    switch (event.type) {
      case 'digit':
        this.runners.get(event.channelId)?.digit(event.digit);
        return;
      case 'playback-finished': {
        const channelId = this.playbackOwner.get(event.playbackId);
        if (channelId === undefined) return;
        this.playbackOwner.delete(event.playbackId);
        this.runners.get(channelId)?.playbackFinished(event.playbackId, event.ok);
        return;
      }
      case 'hangup':
        this.runners.get(event.channelId)?.hangup();
        this.forget(event.channelId);
        return;
      case 'left-stasis': {
        const runner = this.runners.get(event.channelId);
        runner?.leftStasis();
        // Leaving Stasis before the flow ended means someone else moved the channel: stop acting on it.
        if (runner && !runner.isDone) runner.hangup();
        this.forget(event.channelId);
        return;
      }
    }
  }

  private forget(channelId: string): void {
    const runner = this.runners.get(channelId);
    if (!runner) return;
    this.runners.delete(channelId);
    this.ended.add(channelId);
    this.ports.clock.setTimeout(() => this.ended.delete(channelId), ENDED_MEMORY_MS, { background: true });
    for (const [pb, ch] of this.playbackOwner) if (ch === channelId) this.playbackOwner.delete(pb);
  }

  /**
   * After (re)connecting: calls we run go on (their deadline bounds them). A channel in our
   * application that we do not run (left by a previous run) is handed back according to its stored
   * record: a decision already made is honoured (an accepted call whose recording started stays
   * accepted); anything else continues unrecorded as error.
   */
  reconcile(owned: string[], settleMs = 1000): void {
    // A call that entered just now may be listed before its StasisStart reached us: let events settle.
    if (settleMs > 0 && owned.length > 0) {
      this.ports.clock.setTimeout(() => this.reconcile(owned, 0), settleMs, { background: true });
      return;
    }
    for (const channelId of owned) {
      if (this.runners.has(channelId) || this.ended.has(channelId)) continue;
      void this.recover(channelId);
    }
  }

  private async recover(channelId: string): Promise<void> {
    const log = this.log.child({ call: channelId });
    const record = await this.ports.ledger.find(channelId).catch(() => null);
    let outcome: Outcome = 'error';
    if (record?.outcome === 'refused' || record?.outcome === 'no-input') outcome = record.outcome;
    if (record?.outcome === 'accepted') {
      // MixMonitor names its file on the channel once it runs: then the recording did start.
      const file = record.recording?.file?.path ?? (await this.ports.calls.getVariable(channelId, 'MIXMONITOR_FILENAME').catch(() => null));
      if (file) {
        outcome = 'accepted';
        record.recording = { startedAt: record.recording?.startedAt ?? null, file: { path: file, server: null } };
      }
    }
    log.warn('channel found in Stasis without a flow; handing it back', { outcome, stored: record?.outcome ?? null });
    try {
      await this.ports.calls.continueInDialplan(channelId, resultTarget(outcome, record?.language ?? null, 'recovered'));
    } catch (e) {
      log.error('could not continue the channel', { error: (e as Error).message });
      return;
    }
    if (record) {
      await this.ports.ledger.recordOutcome({ ...record, outcome }).catch((e: Error) => log.error('outcome could not be stored', { error: e.message }));
    }
  }

  /** Stops taking new calls; waits up to `graceMs` for flows in progress, then ends the rest unrecorded. */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    const pending = [...this.runners.values()].map((r) => r.done);
    const result = await this.within(Promise.all(pending), graceMs);
    if (result === 'timeout') {
      const left = [...this.runners.values()].filter((r) => !r.isDone);
      this.log.warn('shutdown grace period over; continuing the remaining calls unrecorded', { calls: left.length });
      for (const r of left) r.forceEnd();
      await this.within(Promise.all(left.map((r) => r.done)), FORCE_END_WAIT_MS);
    }
  }

  /** Waits for `work`, but no longer than `ms` on the clock. */
  private async within(work: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = this.ports.clock.setTimeout(() => r('timeout'), ms, { background: true });
    });
    try {
      return await Promise.race([work.then(() => 'done' as const), timeout]);
    } finally {
      timer?.cancel();
    }
  }
}
