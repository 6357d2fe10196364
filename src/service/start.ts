/**
 * `consent-ivr start`: composes the slices (calls, mid-call actions, evidence, retention) over the
 * ledger, AMI and ARI, with the metrics listener, and stops them in order.
 */
import type { Server } from 'node:http';
import { AgeCli } from '../adapters/age/age-cli';
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
import { keyringOf, Protector, RecipientsError, type Keyring } from '../recordings';
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
  const { signer, trusted, campaigns: firstCampaigns } = preflight(config, log);
  let campaigns: Campaigns = firstCampaigns;
  let keyring = recipientsOf(config);
  const cipher = await cipherFor(config, keyring);
  const ledger = await openLedger(config, log, () => cataloguesOf(campaigns));
  const ami = await connectAmi(config, log, () => void ledger.close().catch(() => undefined));
  const ari = newAri(config, log);
  const health = healthOfParts();
  const metrics = config.metrics.enabled ? new Metrics(health) : null;
  const observe = composeObservers(metrics, observer);
  const recorder = new AmiRecorder(ami);
  const variables = new AmiChannelVariables(ami);
  const files = recordingFiles(config.recording.dir);
  const protector = new Protector({ keys: ledger.evidence, cipher, keyring: () => keyring, clock: systemClock }, config.server.id);
  const evidence = wireEvidence({ config, stores: ledger, channels: ari, signer, trusted, log, observe, protector });
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
    listeners: () => ({ ari: ari.emitterListeners(), ami: ami.emitterListeners(), redis: ledger.emitterListeners() }),
  });

  const server: Server | null = metrics ? await metrics.listen(config.metrics.host, config.metrics.port) : null;
  if (metrics) log.info('metrics listening', { host: config.metrics.host, port: metrics.port });
  if (keyring.any) log.info('recordings are encrypted to the controllers\' keys', { keyIds: keyring.keyIds });
  await recoverRecordings(evidence, ledger, log);
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
    const freshKeys = recipientsOf(next);
    campaigns = fresh;
    keyring = freshKeys;
    app.useProfiles(fresh.calls);
    for (const catalogue of cataloguesOf(fresh)) {
      ledger.evidence.saveNotice(catalogue).catch((e: Error) => log.warn('notice texts not stored yet; will try again', { profile: catalogue.profile, error: e.message }));
    }
    // The recipients files are read again (new recordings take the new keys); the rest of recording needs a restart.
    const section = (c: Config, k: string) => JSON.stringify(k === 'recording' ? { ...c.recording, encryption: { ...c.recording.encryption, recipientsFile: null } } : (c as unknown as Record<string, unknown>)[k]);
    const needRestart = Object.keys(next).filter((k) => !RELOADED.has(k) && section(next, k) !== section(config, k));
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

/** Each profile's recipients, or a ConfigError naming the file that does not read. */
function recipientsOf(config: Config): Keyring {
  try {
    return keyringOf(config);
  } catch (e) {
    if (e instanceof RecipientsError) throw new ConfigError(`recording.encryption.recipientsFile: ${e.message}`, 'recording.encryption.recipientsFile');
    throw e;
  }
}

/** How long the start-up recovery waits for Redis before leaving the work to the seal passes. */
const RECOVERY_WAIT_MS = 5000;

/** Before anything else: what Asterisk closed while the service was down is sealed, and encrypted where its profile says. */
async function recoverRecordings(evidence: { recover(): Promise<number> }, ledger: { state(): 'up' | 'down' }, log: Logger): Promise<void> {
  // Redis holds the list of recordings waiting and takes their keys: give its connection a moment.
  for (let waited = 0; ledger.state() !== 'up' && waited < RECOVERY_WAIT_MS; waited += 50) await new Promise((r) => setTimeout(r, 50));
  try {
    const n = await evidence.recover();
    if (n > 0) log.info('recordings closed while the service was down are sealed', { recordings: n });
  } catch (e) {
    log.error('recordings closed while the service was down are not sealed yet; the seal passes will', { error: (e as Error).message });
  }
}

/** The age tools, checked at start-up when some profile encrypts. */
async function cipherFor(config: Config, keyring: Keyring): Promise<AgeCli> {
  const cipher = new AgeCli(config.recording.encryption.age);
  if (keyring.any) await cipher.newKey().catch((e: Error) => Promise.reject(new ConfigError(`recording.encryption.age: ${e.message}`, 'recording.encryption.age')));
  return cipher;
}
