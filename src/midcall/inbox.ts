/**
 * Carries out and stores what the dialplan queued during the conversation (AstDB): withdrawals
 * (already stopped by the dialplan: remove the part recorded if so configured, store) and the
 * agent's pause / resume (mute or unmute the recording over AMI, store; the dialplan waits for the
 * entry to go). It runs every `pollMs`, and at once when `nudge()` is called (the dialplan's user
 * events). An entry stays queued until it is stored, so nothing is lost while the service, AMI or
 * Redis is down; each request is one ledger event however often it is retried. The queue is read entry
 * by entry: an entry the routine does not write, or one about a call whose record cannot be read, is
 * reported once (error line, metric), stays queued, and never holds up the requests behind it.
 */
import { safe, type Logger } from '../observability/logger';
import { pauseEventId, planPause } from './plan/pause';
import { planWithdrawal, withdrawalEventId, type PartialRecording } from './plan/withdrawal';
import { Periodic, type Clock } from '../ports/clock';
import type { ConsentRecord, Ledger } from '../ports/ledger';
import type { MidCallQueue, QueuedAction, QueuedPause, QueuedWithdrawal, RecordingFiles } from '../ports/midcall';
import type { Recorder } from '../ports/recorder';
import type { ServiceObserver } from '../ports/observer';
import { QueueReports } from '../ledger';

export interface MidCallSettings {
  partialRecording: PartialRecording;
  /** What a withdrawal does to the part recorded, by the call's campaign profile (default: partialRecording). */
  partialRecordingOf?: (profile: string | null) => PartialRecording;
  pollMs: number;
  /** A queued request whose call never reaches the ledger is dropped after this long. */
  giveUpAfterMs: number;
}

export interface MidCallPorts {
  queue: MidCallQueue;
  ledger: Ledger;
  files: RecordingFiles;
  recorder: Recorder;
  clock: Clock;
}

export interface MidCallHooks {
  /** Told of each withdrawal and pause stored, and of each queue entry set apart. */
  observer?: Pick<ServiceObserver, 'withdrawn' | 'paused' | 'queueEntryMalformed'>;
  /** A recording was stopped during the call (withdrawal, or a pause that came after the dialplan stopped it). */
  onRecordingClosed?(uniqueId: string, reason: 'withdrawal' | 'stop'): void;
}

export class MidCallInbox {
  private readonly runs: Periodic<number>;
  private again = false;
  private stopped = false;
  /** Per call, the end of what is being carried out about it. */
  private readonly running = new Map<string, Promise<void>>();
  /** Entries set apart, each reported once. */
  private readonly reports: QueueReports;

  constructor(
    private readonly ports: MidCallPorts,
    private readonly settings: MidCallSettings,
    private readonly log: Logger,
    private readonly hooks: MidCallHooks = {},
  ) {
    this.reports = new QueueReports(log, hooks.observer);
    this.runs = new Periodic(ports.clock, settings.pollMs, async () => {
      let stored = 0;
      try {
        do {
          this.again = false;
          stored += await this.pass();
        } while (this.again && !this.stopped);
      } catch (e) {
        this.log.debug('mid-call queue not read', { error: safe((e as Error).message) });
        throw e;
      }
      return stored;
    });
  }

  start(): void {
    this.runs.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.runs.stop();
  }

  /** Something was queued: read the queue now (or right after the pass in progress). */
  nudge(): void {
    if (this.runs.busy) this.again = true;
    else void this.drain().catch(() => undefined); // logged by the run
  }

  /** Passes over the queue until nothing new was asked meanwhile; resolves with the requests stored. Passes never overlap. */
  drain(): Promise<number> {
    return this.runs.runNow();
  }

  private async pass(): Promise<number> {
    const { queue } = this.ports;
    const { items, unreadable } = await queue.pending();
    for (const u of unreadable) {
      this.reports.report(
        { queue: u.queue, key: u.key, field: '', problem: 'not an entry the dialplan writes', value: u.value },
        'mid-call queue entry is not one the dialplan writes; left in AstDB',
      );
    }
    let stored = 0;
    for (const item of items) {
      if (this.stopped) break;
      if ((await this.oneAtATime(item.uniqueId, () => this.settle(item))) === 'stored') stored += 1;
    }
    return stored;
  }

  /** One queued request: read its call's record, carry it out, and take it off the queue once done. */
  private async settle(item: QueuedAction): Promise<'stored' | 'nothing' | 'retry'> {
    const { queue, ledger, clock } = this.ports;
    const log = this.log.child({ call: item.uniqueId });
    let record: ConsentRecord | null;
    try {
      record = await ledger.find(item.uniqueId);
    } catch (e) {
      // The ledger answers null while Redis is away: what throws is a record that cannot be read.
      this.reports.report(
        { queue: item.kind === 'withdrawal' ? 'withdrawals' : 'pauses', key: item.key, field: '', problem: `the call's record cannot be read: ${(e as Error).message}` },
        "mid-call request not carried out: the call's record cannot be read; left in AstDB",
      );
      return 'retry';
    }
    if (!record) {
      if (clock.now().getTime() - item.at.getTime() > this.settings.giveUpAfterMs) {
        log.error('queued request about a call the ledger does not know; dropped', { request: item.kind, at: item.at.toISOString() });
        await queue.remove(item);
      }
      return 'retry'; // Redis down, or the call's record is still in a journal: next pass
    }
    const done = await this.act(item, record, log);
    if (done !== 'retry') await queue.remove(item);
    return done;
  }

  /**
   * Runs `work` once whatever runs for the same call has ended, so that the control API and the
   * queue's pass never carry out requests about one call side by side (both would plan from the
   * record as it was before either stored).
   */
  private oneAtATime<T>(uniqueId: string, work: () => Promise<T>): Promise<T> {
    const run = (this.running.get(uniqueId) ?? Promise.resolve()).then(work);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.running.set(uniqueId, settled);
    void settled.then(() => {
      if (this.running.get(uniqueId) === settled) this.running.delete(uniqueId);
    });
    return run;
  }

  /**
   * Carries out one request about a call (also used by the control API, with requests that were
   * never queued): 'retry' when it could not be done now. `record` is the one the caller read; it is
   * read again in the call's turn, and stands in only when the ledger cannot answer.
   */
  carryOut(item: QueuedAction, record: ConsentRecord, log: Logger = this.log.child({ call: item.uniqueId })): Promise<'stored' | 'nothing' | 'retry'> {
    return this.oneAtATime(item.uniqueId, async () => {
      // The queue's pass may have stored something about this call since the caller read `record`.
      const now = (await this.ports.ledger.find(item.uniqueId).catch(() => null)) ?? record;
      return this.act(item, now, log);
    });
  }

  private act(item: QueuedAction, record: ConsentRecord, log: Logger): Promise<'stored' | 'nothing' | 'retry'> {
    return item.kind === 'withdrawal' ? this.withdrawal(item, record, log) : this.pause(item, record, log);
  }

  private async withdrawal(w: QueuedWithdrawal, record: ConsentRecord, log: Logger): Promise<'stored' | 'nothing' | 'retry'> {
    const plan = planWithdrawal(record, w, this.settings.partialRecordingOf?.(record.profile) ?? this.settings.partialRecording);
    if (plan.kind === 'wait') return 'retry';
    if (plan.kind === 'already-stored') return 'nothing';
    if (plan.removeFile) {
      const removed = await this.ports.files.remove(plan.removeFile).catch((e: Error) => {
        log.error('recording could not be deleted after the withdrawal; will retry', { error: safe(e.message) });
        return null;
      });
      if (removed === null) return 'retry';
      if (removed === 'missing') log.warn('recording of a withdrawn call was already missing');
    }
    const where = await this.ports.ledger.recordWithdrawal(plan.record, withdrawalEventId(w.uniqueId)).catch((e: Error) => {
      log.error('withdrawal could not be stored; will retry', { error: safe(e.message) });
      return null;
    });
    if (where === null) return 'retry';
    log.info('consent withdrawn during the call', { by: w.by, recording: plan.record.withdrawal?.recording, storedIn: where });
    this.hooks.observer?.withdrawn?.(w.by);
    if (plan.record.withdrawal?.recording !== 'none') this.hooks.onRecordingClosed?.(w.uniqueId, 'withdrawal');
    return 'stored';
  }

  private async pause(q: QueuedPause, record: ConsentRecord, log: Logger): Promise<'stored' | 'nothing' | 'retry'> {
    const plan = planPause(record, q, this.ports.clock.now().getTime());
    if (plan.kind === 'wait') return 'retry';
    if (plan.kind === 'drop') {
      log.warn(`${q.kind} not carried out`, { why: plan.why });
      return 'nothing';
    }
    if (plan.kind === 'apply') {
      try {
        await this.ports.recorder.mute(q.channel, plan.mute);
      } catch (e) {
        log.warn(`recording could not be ${plan.mute ? 'muted' : 'unmuted'}; will retry`, { error: safe((e as Error).message) });
        return 'retry';
      }
    }
    if (!plan.record) return 'nothing';
    const where = await this.ports.ledger.recordPause(q.kind, plan.record, pauseEventId(q)).catch((e: Error) => {
      log.error(`${q.kind} could not be stored; will retry`, { error: safe(e.message) });
      return null;
    });
    if (where === null) return 'retry';
    log.info(plan.kind === 'apply' ? `recording ${q.kind === 'pause' ? 'paused' : 'resumed'} by the agent` : 'pause came too late: the dialplan stopped the recording', {
      storedIn: where,
    });
    this.hooks.observer?.paused?.(q.kind);
    if (plan.kind !== 'apply') this.hooks.onRecordingClosed?.(q.uniqueId, 'stop');
    return 'stored';
  }
}
