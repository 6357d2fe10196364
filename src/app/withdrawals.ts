/**
 * Takes the withdrawals the dialplan queued (AstDB) into the ledger, every `pollMs`: removes the
 * part already recorded when so configured, stores the withdrawal, then removes the queue entry.
 * An entry stays queued until its withdrawal is stored, so nothing is lost while the service, AMI
 * or Redis is down, and the ledger keeps one withdrawal per call however often it is retried.
 */
import { safe, type Logger } from '../logging/logger';
import { planWithdrawal, withdrawalEventId, type PartialRecording } from '../midcall/withdrawal';
import type { Clock } from '../ports/clock';
import type { Ledger, WithdrawnBy } from '../ports/ledger';
import type { RecordingFiles, WithdrawalQueue } from '../ports/midcall';

export interface WithdrawalSettings {
  partialRecording: PartialRecording;
  pollMs: number;
  /** A queued withdrawal whose call never reaches the ledger is dropped after this long. */
  giveUpAfterMs: number;
}

export interface WithdrawalPorts {
  queue: WithdrawalQueue;
  ledger: Ledger;
  files: RecordingFiles;
  clock: Clock;
}

export interface WithdrawalHooks {
  onStored?(by: WithdrawnBy, msSinceWithdrawal: number): void;
}

export class WithdrawalInbox {
  private timer: { cancel(): void } | null = null;
  private running: Promise<number> | null = null;
  private stopped = false;
  /** Keys already reported as unreadable, so each is logged once. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly ports: WithdrawalPorts,
    private readonly settings: WithdrawalSettings,
    private readonly log: Logger,
    private readonly hooks: WithdrawalHooks = {},
  ) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.ports.clock.setTimeout(() => {
      this.timer = null;
      void this.drain()
        .catch((e: Error) => this.log.debug('withdrawal queue not read', { error: safe(e.message) }))
        .finally(() => this.schedule());
    }, this.settings.pollMs);
  }

  /** One pass over the queue; resolves with the number of withdrawals stored. Passes never overlap. */
  drain(): Promise<number> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<number> {
    const { queue, ledger, files, clock } = this.ports;
    const { items, unreadable } = await queue.pending();
    for (const key of unreadable) {
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      this.log.error('withdrawal queue entry is not one the dialplan writes; left in AstDB', { key: safe(key) });
    }
    let stored = 0;
    for (const w of items) {
      if (this.stopped) break;
      const log = this.log.child({ call: w.uniqueId });
      const record = await ledger.find(w.uniqueId);
      if (!record) {
        if (clock.now().getTime() - w.at.getTime() > this.settings.giveUpAfterMs) {
          log.error('withdrawal of a call the ledger does not know; dropped', { withdrawnAt: w.at.toISOString() });
          await queue.remove(w.key);
        }
        continue; // Redis down, or the call's record is still in a journal: next pass
      }
      const plan = planWithdrawal(record, w, this.settings.partialRecording);
      if (plan.kind === 'wait') continue;
      if (plan.kind === 'store') {
        if (plan.removeFile) {
          const removed = await files.remove(plan.removeFile).catch((e: Error) => {
            log.error('recording could not be deleted after the withdrawal; will retry', { error: safe(e.message) });
            return null;
          });
          if (removed === null) continue;
          if (removed === 'missing') log.warn('recording of a withdrawn call was already missing');
        }
        const where = await ledger.recordWithdrawal(plan.record, withdrawalEventId(w.uniqueId)).catch((e: Error) => {
          log.error('withdrawal could not be stored; will retry', { error: safe(e.message) });
          return null;
        });
        if (where === null) continue;
        stored += 1;
        log.info('consent withdrawn during the call', { by: w.by, recording: plan.record.withdrawalRecording, storedIn: where });
        this.hooks.onStored?.(w.by, clock.now().getTime() - w.at.getTime());
      }
      await queue.remove(w.key);
    }
    return stored;
  }
}
