/**
 * This server's share of erasure and retention: the recording deletions that `ledger erase` and
 * `ledger purge` (run on any host) queued for it, because its disk holds the recordings. Every
 * `pollMs` the service deletes them (inside recording.dir only) and confirms each, "missing" when the
 * file was already gone; the next erase or purge then finalises the record. While this server is
 * down its deletions wait in the ledger. It also reports the queues of every server, for /metrics.
 * Each queue is read entry by entry: one that is not a deletion the ledger queued (bad JSON, wrong
 * shape) is reported once (error line, metric) and left in place, and the others are done. Each pass
 * also counts the legal holds in force, for /metrics (an entry of the holds that is not a hold is
 * reported the same way).
 */
import { safe, type Logger } from '../observability/logger';
import { Periodic, type Clock } from '../ports/clock';
import type { RecordingFiles } from '../ports/midcall';
import type { ServiceObserver } from '../ports/observer';
import type { DeletionQueue, HoldStore, PendingDeletion } from '../ledger';
import { QueueReports } from '../ledger';

export interface PendingStats {
  server: string;
  count: number;
  oldestAgeMs: number | null;
}

export interface DeletionWorkerPorts {
  queue: DeletionQueue;
  files: RecordingFiles;
  clock: Clock;
  /** The legal holds in force, counted for the metric. */
  holds?: Pick<HoldStore, 'readHolds'>;
}

export class DeletionWorker {
  private readonly runs: Periodic<number>;
  private stopped = false;
  private readonly reports: QueueReports;

  constructor(
    private readonly ports: DeletionWorkerPorts,
    private readonly settings: { serverId: string; pollMs: number },
    private readonly log: Logger,
    private readonly observer: Pick<ServiceObserver, 'deletionsPending' | 'queueEntryMalformed' | 'legalHolds'> = {},
  ) {
    this.reports = new QueueReports(log, observer);
    this.runs = new Periodic(ports.clock, settings.pollMs, () =>
      this.work().catch((e: Error) => {
        this.log.debug('recording deletions not read', { error: safe(e.message) });
        throw e;
      }),
    );
  }

  start(): void {
    this.runs.start(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.runs.stop();
  }

  /** One pass: this server's deletions, then every server's queue and the holds for the metrics. Resolves with the deletions confirmed. */
  pass(): Promise<number> {
    return this.runs.runNow();
  }

  private async work(): Promise<number> {
    const { queue, files, clock } = this.ports;
    const server = this.settings.serverId;
    let confirmed = 0;
    for (const d of await this.read(server)) {
      if (this.stopped) break;
      const log = this.log.child({ call: d.uniqueId });
      let result: 'deleted' | 'missing';
      try {
        result = (await files.remove(d.path)) === 'removed' ? 'deleted' : 'missing';
      } catch (e) {
        log.error('queued recording deletion failed; will retry', { reason: d.reason, error: safe((e as Error).message) });
        continue;
      }
      await queue.confirmDeletion(server, d.uniqueId, result, clock.now().getTime());
      confirmed += 1;
      if (result === 'missing') log.warn('queued recording deletion: the file was already missing', { reason: d.reason });
      else log.info('recording deleted for the ledger', { reason: d.reason });
    }
    const now = clock.now().getTime();
    const stats: PendingStats[] = [];
    for (const s of await queue.deletionServers()) {
      const pending = await this.read(s);
      stats.push({ server: s, count: pending.length, oldestAgeMs: pending[0] ? now - pending[0].requestedAt : null });
    }
    this.observer.deletionsPending?.(stats);
    if (this.ports.holds) {
      const { items, malformed } = await this.ports.holds.readHolds();
      for (const m of malformed) this.reports.report({ queue: m.queue, key: m.key, field: m.field, problem: m.problem });
      this.observer.legalHolds?.(items.length);
    }
    return confirmed;
  }

  /** A server's valid deletions; the entries set apart are reported (once each). */
  private async read(server: string): Promise<PendingDeletion[]> {
    const { items, malformed } = await this.ports.queue.readDeletions(server);
    for (const m of malformed) this.reports.report({ queue: m.queue, key: m.key, field: m.field, problem: m.problem });
    return items;
  }
}
