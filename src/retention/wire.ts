/** The retention slice in the service: this server's share of the recording deletions (erase, purge). */
import type { Config } from '../config/schema';
import type { DeletionQueue } from '../ledger';
import type { Logger } from '../observability/logger';
import { systemClock } from '../ports/clock';
import type { RecordingFiles } from '../ports/midcall';
import type { ServiceObserver } from '../ports/observer';
import { DeletionWorker } from './deletions';

export function wireRetention(config: Config, queue: DeletionQueue, files: RecordingFiles, log: Logger, observe: ServiceObserver): DeletionWorker {
  return new DeletionWorker({ queue, files, clock: systemClock }, { serverId: config.server.id, pollMs: config.server.deletionPollMs }, log.child({ component: 'deletions' }), observe);
}
