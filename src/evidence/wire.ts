/**
 * The evidence slice in the service: the sealer (every recording started here is sealed once closed)
 * and the checkpointer (this log's tree signed at intervals, against the host's checkpoint file).
 */
import { logIdOf, type Config } from '../config/schema';
import type { CheckpointStore, DurableLedger, EvidenceStore } from '../ledger';
import type { Logger } from '../observability/logger';
import { systemClock } from '../ports/clock';
import type { Ledger } from '../ports/ledger';
import type { ServiceObserver } from '../ports/observer';
import type { SignerKey, VerifierKey } from './checkpoint';
import { Checkpointer } from './checkpointer';
import { inspectRecording } from './seal';
import { Sealer, type SealerPorts, type SealProtector } from './sealer';

export interface EvidenceWiring {
  config: Config;
  stores: { evidence: EvidenceStore; checkpoints: CheckpointStore; durable: DurableLedger };
  channels: SealerPorts['channels'];
  signer: SignerKey;
  trusted: VerifierKey[];
  log: Logger;
  observe: ServiceObserver;
  /** Encrypts closed recordings before their seal (recordings/protect.ts). */
  protector?: SealProtector | null;
}

export interface EvidencePart {
  /** The ledger the calls write through: an outcome naming a recording puts it in the sealer's care. */
  callLedger: Ledger;
  /** A recording was stopped during the call (withdrawal, or the dialplan's StopMixMonitor). */
  closed(uniqueId: string, reason: 'withdrawal' | 'stop'): void;
  sealBacklog(): number;
  checkpointRefused(): boolean;
  /** At start-up, before calls: seals (and encrypts) what Asterisk closed while the service was down. */
  recover(): Promise<number>;
  start(): void;
  /** Seals what has closed, then signs a last checkpoint. */
  stop(): Promise<void>;
}

export function wireEvidence({ config, stores, channels, signer, trusted, log, observe, protector }: EvidenceWiring): EvidencePart {
  const { durable } = stores;
  const sealer = new Sealer(
    { evidence: stores.evidence, ledger: durable, channels, files: { inspect: (path) => inspectRecording(path, config.recording.format) }, clock: systemClock, protector },
    { serverId: config.server.id, log: logIdOf(config), recordingDir: config.recording.dir, pollMs: config.recording.sealPollMs },
    log.child({ component: 'seal' }),
    observe,
  );
  durable.onRegression((from, to) => observe.ledgerRegressed?.(logIdOf(config), from, to));
  const checkpointer = new Checkpointer(stores.checkpoints, signer, {
    intervalMs: config.ledger.checkpointIntervalMs,
    file: config.ledger.checkpointFile,
    clock: systemClock,
    logger: log.child({ component: 'checkpoint' }),
    trusted,
    observer: observe,
  });
  const callLedger: Ledger = {
    recordDecision: (r) => durable.recordDecision(r),
    recordOutcome: (r) => {
      sealer.track(r);
      return durable.recordOutcome(r);
    },
    recordWithdrawal: (r, id) => durable.recordWithdrawal(r, id),
    recordPause: (k, r, id) => durable.recordPause(k, r, id),
    find: (id) => durable.find(id),
  };
  return {
    callLedger,
    closed: (uniqueId, reason) => sealer.closed(uniqueId, reason),
    sealBacklog: () => sealer.backlog,
    checkpointRefused: () => checkpointer.health().state === 'refused',
    recover: () => sealer.recover(),
    start: () => {
      sealer.start();
      checkpointer.start();
    },
    stop: async () => {
      await sealer.pass();
      await sealer.stop();
      const last = await checkpointer.stop();
      if (last.status === 'signed') log.info('checkpoint signed at shutdown', { size: last.size });
    },
  };
}
