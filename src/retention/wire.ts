/** The retention slice in the service: this server's share of the recording deletions (erase, purge), and the count of legal holds. */
import type { Config } from '../config/schema';
import type { DeletionQueue, HoldStore } from '../ledger';
import type { Logger } from '../observability/logger';
import { systemClock } from '../ports/clock';
import type { RecordingFiles } from '../ports/midcall';
import type { ServiceObserver } from '../ports/observer';
import { DeletionWorker } from './deletions';

export function wireRetention(config: Config, queue: DeletionQueue, holds: HoldStore, files: RecordingFiles, log: Logger, observe: ServiceObserver): DeletionWorker {
  return new DeletionWorker({ queue, files, clock: systemClock, holds }, { serverId: config.server.id, pollMs: config.server.deletionPollMs }, log.child({ component: 'deletions' }), observe);
}
