/**
 * `consent-ivr start`: composes the slices (calls, mid-call actions, evidence, retention) over the
 * ledger, AMI and ARI, with the metrics listener, and stops them in order.
 */
import type { Server } from 'node:http';
import { AmiRecorder } from '../adapters/ami/recorder';
import { wireCalls, type ConsentApp } from '../call';
import { ConfigError } from '../config/load';
import { logIdOf, type Config } from '../config/schema';
import { wireEvidence } from '../evidence';
import { pseudonymise } from '../ledger';
import { AmiChannelVariables, wireMidCall } from '../midcall';
import { createLogger, Logger } from '../observability/logger';
import { Metrics } from '../observability/metrics';
import { systemClock } from '../ports/clock';
import { composeObservers, type ServiceObserver } from '../ports/observer';
import { recordingFiles, wireRetention } from '../retention';
import { connectAmi, newAri, openLedger } from './connections';
import { healthOfParts } from './health';
import { preflight } from './preflight';
import { campaignsOf, cataloguesOf, versionsOf, type Campaigns } from './profiles';

export interface Service {
  app: ConsentApp;
  /**
   * Takes a new configuration's profiles and prompts for the calls that enter from now on (calls in
   * progress keep theirs). Throws, keeping the profiles in force, when they cannot be read.
   */
  reload(config: Config): ReloadResult;
  stop(): Promise<void>;
}

export interface ReloadResult {
  /** Each profile's notice version now in force. */
  notices: Record<string, string>;
  /** Sections that changed but take effect only at a restart. */
  needRestart: string[];
}

/** What a reload takes: the profiles (legal, prompts, flow, withdrawal, retention); the rest needs a restart. */
const RELOADED = new Set(['legal', 'prompts', 'flow', 'withdrawal', 'profiles', 'ledger', 'source', 'secrets']);

/** Starts the service. `observer` (tests) is told what happens to calls, besides the metrics. */
export async function startService(config: Config, warnings: string[] = [], log: Logger = createLogger(config.logging), observer?: ServiceObserver): Promise<Service> {
  for (const w of warnings) log.warn(w);
  const first = preflight(config, log);
  const { signer, trusted } = first;
  let campaigns: Campaigns = first.campaigns;
  const ledger = await openLedger(config, log, () => cataloguesOf(campaigns));
  const ami = await connectAmi(config, log, () => void ledger.close().catch(() => undefined));
  const ari = newAri(config, log);
  const health = healthOfParts();
  const metrics = config.metrics.enabled ? new Metrics(health) : null;
  const observe = composeObservers(metrics, observer);
  const recorder = new AmiRecorder(ami);
  const variables = new AmiChannelVariables(ami);
  const files = recordingFiles(config.recording.dir);
  const evidence = wireEvidence({ config, stores: ledger, channels: ari, signer, trusted, log, observe });
  const ports = { calls: ari, recorder, ledger: evidence.callLedger, clock: systemClock, agentChannel: variables, observer: observe };
  const app = wireCalls({ config, source: ari, ports, profiles: campaigns.calls, log, pseudonymise: (n) => pseudonymise(n, config.secrets.pseudonymKey) });
  const deletions = wireRetention(config, ledger.deletions, ledger.holds, files, log, observe);
  const midcall = wireMidCall({ config, profiles: () => campaigns.set, ami, channels: ari, variables, recorder, ledger: ledger.ledger, files, log, observe, onRecordingClosed: evidence.closed });
  health.bind({
    ari: () => ari.state,
    ami: () => ami.state,
    redis: () => ledger.state(),
    journalBacklog: () => ledger.journalBacklog(),
    activeCalls: () => app.activeCalls,
    appendConflicts: () => ledger.durable.appendConflicts(),
    sealBacklog: evidence.sealBacklog,
    checkpointRefused: evidence.checkpointRefused,
  });

  const server: Server | null = metrics ? await metrics.listen(config.metrics.host, config.metrics.port) : null;
  if (metrics) log.info('metrics listening', { host: config.metrics.host, port: metrics.port });
  await midcall.listen();
  await ari.start().catch((e: Error) => {
    for (const close of [() => ami.close(), () => server?.close(), () => midcall.close()]) close();
    void ledger.close();
    throw new ConfigError(e.message, 'ari.user');
  });
  for (const part of [midcall, deletions, evidence]) part.start();
  log.info('consent-ivr ready', { app: config.ari.app, server: config.server.id, log: logIdOf(config), notices: versionsOf(campaigns) });

  const reload = (next: Config): ReloadResult => {
    const fresh = campaignsOf(next);
    campaigns = fresh;
    app.useProfiles(fresh.calls);
    for (const catalogue of cataloguesOf(fresh)) {
      ledger.evidence.saveNotice(catalogue).catch((e: Error) => log.warn('notice texts not stored yet; will try again', { profile: catalogue.profile, error: e.message }));
    }
    const needRestart = Object.keys(next).filter((k) => !RELOADED.has(k) && JSON.stringify((next as unknown as Record<string, unknown>)[k]) !== JSON.stringify((config as unknown as Record<string, unknown>)[k]));
    const ledgerRest = (c: Config) => JSON.stringify({ ...c.ledger, retentionDays: 0 });
    if (ledgerRest(next) !== ledgerRest(config)) needRestart.push('ledger');
    const notices = versionsOf(fresh);
    log.info('configuration reloaded: new calls take the profiles now in force', { profiles: fresh.set.all.length, notices });
    if (needRestart.length > 0) log.warn('these sections changed and take effect only at a restart', { sections: needRestart });
    return { notices, needRestart };
  };

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info('stopping: no new calls; finishing flows in progress', { calls: app.activeCalls });
      await app.drain(config.flow.shutdownGraceMs);
      for (const part of [midcall, deletions, evidence]) await part.stop();
      for (const close of [() => ari.close(), () => ami.close(), () => server?.close(), () => midcall.close()]) close();
      await ledger.close();
      log.info('stopped');
    })();
    return stopping;
  };
  return { app, reload, stop };
}
